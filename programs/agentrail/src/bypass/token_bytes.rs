//! The few fields of SPL Token and Token-2022 accounts that moving money needs, read from
//! their bytes (both programs share the base layouts), instead of parsing the whole account as
//! Anchor's `InterfaceAccount` does on every release and refund; these are used where the
//! account's address is already checked (a job's mint by `has_one`, its vault by hash), so only
//! the field is in question.

use anchor_lang::prelude::*;

/// A mint's decimals: byte 44 of SPL Token's and Token-2022's mint layout (after the mint
/// authority and the supply). Clients read it there too.
pub const MINT_DECIMALS_AT: usize = 36 + 8;
/// A mint's `is_initialized` flag, after its decimals.
const MINT_INITIALIZED_AT: usize = MINT_DECIMALS_AT + 1;
/// A token account's mint: bytes 0..32.
const TOKEN_MINT_AT: usize = 0;
/// A token account's owner: bytes 32..64.
const TOKEN_OWNER_AT: usize = 32;
/// A token account's amount: bytes 64..72 (after its mint and owner).
const TOKEN_AMOUNT_AT: usize = 32 + 32;
/// A token account's state (0 uninitialized, 1 initialized, 2 frozen): after its amount and
/// delegate (`COption<Pubkey>`).
const TOKEN_STATE_AT: usize = TOKEN_AMOUNT_AT + 8 + 36;
/// Bytes of a token account without extensions; a Token-2022 account with extensions follows
/// them with its account type (2) at this offset.
const TOKEN_ACCOUNT_LEN: usize = 165;
/// Bytes of a multisig, the one token-program account of more than 165 bytes without a type.
const MULTISIG_LEN: usize = 355;
/// Token-2022's account type of a token account.
const ACCOUNT_TYPE_ACCOUNT: u8 = 2;

/// A token account's bytes, checked as Anchor's `InterfaceAccount<TokenAccount>` checks them
/// when it parses the account (with the same errors), for the keys the `token::` constraints
/// compare.
pub struct TokenAccountBytes<'a>(std::cell::Ref<'a, &'a mut [u8]>);

impl<'a> TokenAccountBytes<'a> {
    /// `account`'s bytes, if it is an initialized (or frozen) token account of SPL Token or
    /// Token-2022.
    pub fn read<'info: 'a>(account: &'a AccountInfo<'info>) -> Result<Self> {
        if !exists(account) {
            return Err(error!(ErrorCode::AccountNotInitialized).with_pubkeys((*account.key, Pubkey::default())));
        }
        if account.owner != &anchor_spl::token::ID && account.owner != &anchor_spl::token_2022::ID {
            return Err(
                error!(ErrorCode::AccountOwnedByWrongProgram).with_pubkeys((*account.owner, anchor_spl::token::ID))
            );
        }
        let data = account.try_borrow_data()?;
        // what spl-token-2022's `StateWithExtensions::<Account>::unpack` refuses, as it does
        let typed = data.len() == TOKEN_ACCOUNT_LEN || data.get(TOKEN_ACCOUNT_LEN) == Some(&ACCOUNT_TYPE_ACCOUNT);
        if data.len() < TOKEN_ACCOUNT_LEN || data.len() == MULTISIG_LEN || !typed || data[TOKEN_STATE_AT] > 2 {
            return Err(ProgramError::InvalidAccountData.into());
        }
        if data[TOKEN_STATE_AT] == 0 {
            return Err(ProgramError::UninitializedAccount.into());
        }
        Ok(Self(data))
    }

    /// Whether its mint is `mint`.
    pub fn mint_is(&self, mint: &Pubkey) -> bool {
        self.0[TOKEN_MINT_AT..TOKEN_MINT_AT + 32] == *mint.as_ref()
    }

    /// Whether its owner (who may move its tokens) is `owner`.
    pub fn owner_is(&self, owner: &Pubkey) -> bool {
        self.0[TOKEN_OWNER_AT..TOKEN_OWNER_AT + 32] == *owner.as_ref()
    }

    /// Whether a plain transfer into it can succeed: not frozen, and (Token-2022) not
    /// requiring a memo before incoming transfers, which the program never sends.
    pub fn takes_transfers(&self) -> bool {
        self.0[TOKEN_STATE_AT] != STATE_FROZEN && !self.requires_memos()
    }

    /// Whether its `MemoTransfer` extension requires memos on incoming transfers: the
    /// extensions follow the account type as (type, length, value) entries.
    fn requires_memos(&self) -> bool {
        let mut at = TOKEN_ACCOUNT_LEN + 1;
        while let Some(header) = self.0.get(at..at + 4) {
            let kind = u16::from_le_bytes([header[0], header[1]]);
            let len = usize::from(u16::from_le_bytes([header[2], header[3]]));
            if kind == EXTENSION_UNINITIALIZED {
                return false;
            }
            if kind == EXTENSION_MEMO_TRANSFER {
                return self.0.get(at + 4) == Some(&1);
            }
            at += 4 + len;
        }
        false
    }
}

/// A frozen token account's state byte.
const STATE_FROZEN: u8 = 2;
/// Token-2022's extension type of the end of the extensions (padding).
const EXTENSION_UNINITIALIZED: u16 = 0;
/// Token-2022's `MemoTransfer` extension type.
const EXTENSION_MEMO_TRANSFER: u16 = 8;

/// Whether `account`, at a destination whose address the caller already checked, takes a
/// transfer of `mint` for `owner`: it exists (a missing associated account is anyone's to
/// create, so its absence is an error elsewhere, not a reason to hold), is a token account of
/// `token_program` for `mint` owned by `owner`, and takes transfers
/// ([`TokenAccountBytes::takes_transfers`]). `false` is what a party can do to its own
/// account: reassign its owner, have it frozen, require memos.
pub fn takes_transfer_for(account: &AccountInfo, owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> bool {
    account.owner == token_program
        && TokenAccountBytes::read(account).is_ok_and(|t| t.owner_is(owner) && t.mint_is(mint) && t.takes_transfers())
}

/// Whether `account` exists: what Anchor's typed accounts check first (refusing a system-owned
/// account without lamports as `AccountNotInitialized`).
pub fn exists(account: &AccountInfo) -> bool {
    !(account.owner == &anchor_lang::system_program::ID && account.lamports() == 0)
}

/// The decimals of `mint`, an initialized mint of `token_program` (the checks its parse makes).
pub fn mint_decimals(mint: &AccountInfo, token_program: &Pubkey) -> Result<u8> {
    if mint.owner != token_program {
        return Err(error!(ErrorCode::AccountOwnedByWrongProgram).with_account_name("mint"));
    }
    let data = mint.try_borrow_data()?;
    match (data.get(MINT_DECIMALS_AT), data.get(MINT_INITIALIZED_AT)) {
        (Some(decimals), Some(1)) => Ok(*decimals),
        _ => Err(error!(ErrorCode::AccountDidNotDeserialize).with_account_name("mint")),
    }
}

/// What a token account holds: eight bytes read, where `reload` would re-parse the account.
pub fn token_amount(account: &AccountInfo) -> Result<u64> {
    let data = account.try_borrow_data()?;
    let amount = data.get(TOKEN_AMOUNT_AT..TOKEN_AMOUNT_AT + 8).and_then(|b| <[u8; 8]>::try_from(b).ok());
    Ok(u64::from_le_bytes(amount.ok_or(ErrorCode::AccountDidNotDeserialize)?))
}

#[cfg(test)]
mod tests {
    use anchor_lang::solana_program::{program_option::COption, program_pack::Pack};
    use anchor_spl::token::spl_token::state::{Account, AccountState, Mint};

    use super::*;

    fn info<'a>(key: &'a Pubkey, owner: &'a Pubkey, lamports: &'a mut u64, data: &'a mut [u8]) -> AccountInfo<'a> {
        AccountInfo::new(key, false, false, lamports, data, owner, false)
    }

    #[test]
    fn fields_are_read_where_spl_token_packs_them() {
        let (key, program) = (Pubkey::new_unique(), anchor_spl::token::ID);
        let mint = Mint {
            mint_authority: COption::Some(Pubkey::new_unique()),
            supply: u64::MAX - 3,
            decimals: 9,
            is_initialized: true,
            freeze_authority: COption::None,
        };
        let mut bytes = vec![0u8; Mint::LEN];
        mint.pack_into_slice(&mut bytes);
        let mut lamports = 0;
        assert_eq!(mint_decimals(&info(&key, &program, &mut lamports, &mut bytes), &program).unwrap(), 9);
        let other = Pubkey::new_unique();
        assert!(mint_decimals(&info(&key, &other, &mut lamports, &mut bytes), &program).is_err(), "another owner");
        bytes[MINT_INITIALIZED_AT] = 0;
        assert!(mint_decimals(&info(&key, &program, &mut lamports, &mut bytes), &program).is_err(), "uninitialized");
        assert!(mint_decimals(&info(&key, &program, &mut lamports, &mut [0u8; 45]), &program).is_err(), "short");

        let account = Account {
            mint: Pubkey::new_unique(),
            owner: Pubkey::new_unique(),
            amount: 0x0102_0304_0506_0708,
            delegate: COption::Some(Pubkey::new_unique()),
            state: AccountState::Initialized,
            is_native: COption::None,
            delegated_amount: 7,
            close_authority: COption::None,
        };
        let mut bytes = vec![0u8; Account::LEN];
        account.pack_into_slice(&mut bytes);
        assert_eq!(token_amount(&info(&key, &program, &mut lamports, &mut bytes)).unwrap(), account.amount);
        assert!(token_amount(&info(&key, &program, &mut lamports, &mut [0u8; 71])).is_err(), "short");
    }

    #[test]
    fn token_accounts_are_refused_as_their_parse_refuses_them() {
        let (key, mint, owner) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let account = Account {
            mint,
            owner,
            amount: 5,
            delegate: COption::None,
            state: AccountState::Initialized,
            is_native: COption::None,
            delegated_amount: 0,
            close_authority: COption::None,
        };
        let mut base = vec![0u8; Account::LEN];
        account.pack_into_slice(&mut base);
        let (spl, t22, system) = (anchor_spl::token::ID, anchor_spl::token_2022::ID, Pubkey::default());
        let code = |program: &Pubkey, bytes: &[u8], lamports: u64| {
            let (mut bytes, mut lamports) = (bytes.to_vec(), lamports);
            let info = info(&key, program, &mut lamports, &mut bytes);
            match TokenAccountBytes::read(&info) {
                Ok(read) => {
                    assert!(read.mint_is(&mint) && read.owner_is(&owner) && !read.mint_is(&owner));
                    None
                }
                Err(e) => Some(format!("{e:?}")),
            }
        };
        assert_eq!(code(&spl, &base, 1), None, "an SPL Token account");
        let mut typed = base.clone();
        typed.extend([2, 0, 0]);
        assert_eq!(code(&t22, &typed, 1), None, "a Token-2022 account with its type");
        let mut frozen = base.clone();
        frozen[TOKEN_STATE_AT] = 2;
        assert_eq!(code(&spl, &frozen, 1), None, "frozen: still a token account");
        let refused = |program: &Pubkey, bytes: &[u8], lamports: u64, what: &str, expect: &str| {
            let got = code(program, bytes, lamports).unwrap_or_else(|| panic!("{what} accepted"));
            assert!(got.contains(expect), "{what}: {got}");
        };
        refused(&system, &[], 0, "no account", "AccountNotInitialized");
        refused(&crate::ID, &base, 1, "another program's account", "AccountOwnedByWrongProgram");
        refused(&spl, &base[..164], 1, "too short", "InvalidAccountData");
        refused(&spl, &[0u8; MULTISIG_LEN], 1, "a multisig", "InvalidAccountData");
        let mut mint_typed = base.clone();
        mint_typed.extend([1, 0]);
        refused(&t22, &mint_typed, 1, "another account type", "InvalidAccountData");
        let mut uninitialized = base.clone();
        uninitialized[TOKEN_STATE_AT] = 0;
        refused(&spl, &uninitialized, 1, "uninitialized", "UninitializedAccount");
        let mut bad_state = base.clone();
        bad_state[TOKEN_STATE_AT] = 3;
        refused(&spl, &bad_state, 1, "a state past frozen", "InvalidAccountData");
    }
}
