//! SPL Token and Token-2022 set-up for the scenarios: mints (with extensions), token accounts,
//! balances, freezing.

use agentrail_client::accounts::token_amount;
use agentrail_client::pda;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token_2022::spl_token_2022::{
    self,
    extension::{ExtensionType, confidential_transfer, default_account_state, pausable, transfer_fee, transfer_hook},
    state::{AccountState, Mint},
};
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;
use solana_system_interface::instruction as system;

use crate::env::Env;

/// Classic SPL Token program id.
pub const TOKEN: Pubkey = anchor_spl::token::ID;
/// Token-2022 program id.
pub const TOKEN_2022: Pubkey = anchor_spl::token_2022::ID;
/// Decimals of every test mint (USDC-like).
pub const DECIMALS: u8 = 6;

/// A Token-2022 mint extension that escrow must refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    PermanentDelegate,
    TransferHook,
    TransferFee,
    NonTransferable,
    DefaultFrozen,
    ConfidentialTransfer,
    Pausable,
}

impl Refused {
    /// Every refused extension.
    pub const ALL: [Refused; 7] = [
        Refused::PermanentDelegate,
        Refused::TransferHook,
        Refused::TransferFee,
        Refused::NonTransferable,
        Refused::DefaultFrozen,
        Refused::ConfidentialTransfer,
        Refused::Pausable,
    ];

    fn extension_type(self) -> ExtensionType {
        match self {
            Refused::PermanentDelegate => ExtensionType::PermanentDelegate,
            Refused::TransferHook => ExtensionType::TransferHook,
            Refused::TransferFee => ExtensionType::TransferFeeConfig,
            Refused::NonTransferable => ExtensionType::NonTransferable,
            Refused::DefaultFrozen => ExtensionType::DefaultAccountState,
            Refused::ConfidentialTransfer => ExtensionType::ConfidentialTransferMint,
            Refused::Pausable => ExtensionType::Pausable,
        }
    }

    fn init(self, mint: &Pubkey, authority: &Pubkey) -> Instruction {
        let tp = &TOKEN_2022;
        match self {
            Refused::PermanentDelegate => {
                spl_token_2022::instruction::initialize_permanent_delegate(tp, mint, authority)
            }
            Refused::TransferHook => {
                transfer_hook::instruction::initialize(tp, mint, Some(*authority), Some(Pubkey::new_unique()))
            }
            Refused::TransferFee => transfer_fee::instruction::initialize_transfer_fee_config(
                tp,
                mint,
                Some(authority),
                Some(authority),
                50,
                1_000,
            ),
            Refused::NonTransferable => spl_token_2022::instruction::initialize_non_transferable_mint(tp, mint),
            Refused::DefaultFrozen => {
                default_account_state::instruction::initialize_default_account_state(tp, mint, &AccountState::Frozen)
            }
            Refused::ConfidentialTransfer => {
                confidential_transfer::instruction::initialize_mint(tp, mint, Some(*authority), true, None)
            }
            Refused::Pausable => pausable::instruction::initialize(tp, mint, authority),
        }
        .expect("extension instruction")
    }
}

impl Env {
    /// Creates a mint under `token_program` (mint and freeze authority: the admin), with the
    /// given refused Token-2022 extension if any.
    pub fn create_mint(&mut self, token_program: Pubkey, extension: Option<Refused>) -> Pubkey {
        let mint = self.next_key();
        self.create_mint_at(&mint, token_program, extension, false);
        mint.pubkey()
    }

    /// Creates a mint at `mint`'s address (see [`Env::create_mint`]); with `closable`, a
    /// Token-2022 mint the admin may close while its supply is zero (`MintCloseAuthority`).
    pub fn create_mint_at(
        &mut self,
        mint: &Keypair,
        token_program: Pubkey,
        extension: Option<Refused>,
        closable: bool,
    ) {
        let admin = self.admin.pubkey();
        let mut extensions: Vec<ExtensionType> = extension.map(Refused::extension_type).into_iter().collect();
        if closable {
            extensions.push(ExtensionType::MintCloseAuthority);
        }
        let space = ExtensionType::try_calculate_account_len::<Mint>(&extensions).expect("mint size");
        let rent = self.rent(space);
        let mut ixs = vec![system::create_account(&admin, &mint.pubkey(), rent, space as u64, &token_program)];
        ixs.extend(extension.map(|e| e.init(&mint.pubkey(), &admin)));
        if closable {
            let close = spl_token_2022::instruction::initialize_mint_close_authority(
                &token_program,
                &mint.pubkey(),
                Some(&admin),
            );
            ixs.push(close.expect("close authority"));
        }
        ixs.push(
            spl_token_2022::instruction::initialize_mint2(
                &token_program,
                &mint.pubkey(),
                &admin,
                Some(&admin),
                DECIMALS,
            )
            .expect("initialize mint"),
        );
        self.send(&ixs, &[mint]).expect("create mint");
    }

    /// Creates a token account of `owner` that is not its associated token account.
    pub fn other_token_account(&mut self, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
        let account = self.next_key();
        let admin = self.admin.pubkey();
        let space = if *token_program == TOKEN_2022 {
            ExtensionType::try_calculate_account_len::<spl_token_2022::state::Account>(&[ExtensionType::ImmutableOwner])
                .expect("account size")
        } else {
            spl_token_2022::state::Account::LEN
        };
        let rent = self.rent(space);
        let create = system::create_account(&admin, &account.pubkey(), rent, space as u64, token_program);
        let mut ixs = vec![create];
        if *token_program == TOKEN_2022 {
            ixs.push(
                spl_token_2022::instruction::initialize_immutable_owner(token_program, &account.pubkey()).unwrap(),
            );
        }
        let init = spl_token_2022::instruction::initialize_account3(token_program, &account.pubkey(), mint, owner);
        ixs.push(init.expect("initialize account"));
        self.send(&ixs, &[&account]).expect("create token account");
        account.pubkey()
    }

    /// `owner` lets `delegate` move up to `amount` from its token `account`.
    pub fn approve_delegate(&mut self, account: &Pubkey, owner: &Keypair, delegate: &Pubkey, amount: u64) {
        let ix = spl_token_2022::instruction::approve(&TOKEN, account, delegate, &owner.pubkey(), &[], amount);
        self.send(&[ix.expect("approve")], &[owner]).expect("approve delegate");
    }

    /// Closes a Token-2022 mint with zero supply (its close authority is the admin).
    pub fn close_mint(&mut self, mint: &Pubkey) {
        let admin = self.admin.pubkey();
        let ix =
            spl_token_2022::instruction::close_account(&TOKEN_2022, mint, &admin, &admin, &[]).expect("close mint");
        self.send(&[ix], &[]).expect("close mint");
    }

    /// Creates (idempotently) the associated token account of `owner` and returns it.
    pub fn token_account(&mut self, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
        let payer = self.admin.pubkey();
        let ix = create_associated_token_account_idempotent(&payer, owner, mint, token_program);
        self.send(&[ix], &[]).expect("create token account");
        pda::ata(owner, mint, token_program)
    }

    /// Creates a token account for `owner` at a fresh address (not its associated one).
    pub fn plain_token_account(&mut self, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
        let (admin, account) = (self.admin.pubkey(), self.next_key());
        let space = spl_token_2022::state::Account::LEN;
        let rent = self.rent(space);
        let create = system::create_account(&admin, &account.pubkey(), rent, space as u64, token_program);
        let init = spl_token_2022::instruction::initialize_account3(token_program, &account.pubkey(), mint, owner)
            .expect("initialize account");
        self.send(&[create, init], &[&account]).expect("create plain token account");
        account.pubkey()
    }

    /// Mints `amount` to token account `to`.
    pub fn mint_to(&mut self, mint: &Pubkey, token_program: &Pubkey, to: &Pubkey, amount: u64) {
        let admin = self.admin.pubkey();
        let ix = spl_token_2022::instruction::mint_to(token_program, mint, to, &admin, &[], amount).expect("mint_to");
        self.send(&[ix], &[]).expect("mint to");
    }

    /// Freezes token account `account` (the admin is every test mint's freeze authority).
    pub fn freeze(&mut self, account: &Pubkey, mint: &Pubkey, token_program: &Pubkey) {
        let admin = self.admin.pubkey();
        let ix =
            spl_token_2022::instruction::freeze_account(token_program, account, mint, &admin, &[]).expect("freeze");
        self.send(&[ix], &[]).expect("freeze account");
    }

    /// Token balance of a token account (0 when it does not exist).
    pub fn balance(&mut self, account: &Pubkey) -> u64 {
        self.chain.account(account).map_or(0, |a| token_amount(&a.data).expect("token account"))
    }

    /// Lamports of an account (0 when it does not exist).
    pub fn lamports(&mut self, account: &Pubkey) -> u64 {
        self.chain.account(account).map_or(0, |a| a.lamports)
    }

    /// Rent-exempt minimum for `space` bytes.
    pub fn rent(&mut self, space: usize) -> u64 {
        anchor_lang::prelude::Rent::default().minimum_balance(space)
    }
}
