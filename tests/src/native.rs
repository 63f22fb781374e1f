//! The native runner: the program compiled for the host, inside `solana-program-test`'s bank
//! with the real System, SPL Token and Token-2022 programs.

use anchor_lang::prelude::Pubkey;
use solana_program_test::{BanksClientError, ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    account::{Account, AccountSharedData},
    account_info::AccountInfo,
    clock::Clock,
    entrypoint::ProgramResult,
    instruction::{Instruction, InstructionError},
    signature::Keypair,
    signer::Signer,
    transaction::{Transaction, TransactionError},
};
use tokio::runtime::Runtime;

use crate::{AccountState, Chain, Failure, Sent, unique_limit};

/// Anchor's `entry` wants one lifetime for all its inputs; program-test hands out several.
fn shim<'a, 'b, 'c, 'd>(program_id: &'a Pubkey, accounts: &'b [AccountInfo<'c>], data: &'d [u8]) -> ProgramResult {
    let accounts: &'c [AccountInfo<'c>] = Box::leak(accounts.to_vec().into_boxed_slice());
    let program_id: &'c Pubkey = Box::leak(Box::new(*program_id));
    let data: &'c [u8] = Box::leak(data.to_vec().into_boxed_slice());
    agentrail::entry(program_id, accounts, data)
}

/// `solana-program-test` running the program natively.
pub struct Native {
    rt: Runtime,
    ctx: ProgramTestContext,
    nonce: u32,
}

impl Native {
    /// Starts a fresh bank with the program loaded.
    pub fn start() -> Self {
        Native::start_with(|_| {})
    }

    /// [`Native::start`] with more programs added by `extra` (e.g. one calling ours by CPI).
    pub fn start_with(extra: impl FnOnce(&mut ProgramTest)) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let mut pt = ProgramTest::new("agentrail", agentrail::ID, processor!(shim));
        pt.prefer_bpf(false);
        pt.set_compute_max_units(1_400_000);
        extra(&mut pt);
        let ctx = rt.block_on(pt.start_with_context());
        Native { rt, ctx, nonce: 0 }
    }
}

fn failure(err: BanksClientError) -> Failure {
    let code = match &err {
        BanksClientError::TransactionError(TransactionError::InstructionError(_, InstructionError::Custom(c)))
        | BanksClientError::SimulationError {
            err: TransactionError::InstructionError(_, InstructionError::Custom(c)),
            ..
        } => Some(*c),
        _ => None,
    };
    let abort = match &err {
        BanksClientError::TransactionError(e) | BanksClientError::SimulationError { err: e, .. } => crate::abort_of(e),
        other => Some(format!("{other:?}")),
    };
    Failure { code, abort, message: format!("{err:?}") }
}

impl Chain for Native {
    fn payer(&self) -> &Keypair {
        &self.ctx.payer
    }

    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failure> {
        self.nonce += 1;
        let mut all = vec![unique_limit(self.nonce)];
        all.extend_from_slice(ixs);
        let mut keys: Vec<&Keypair> = vec![&self.ctx.payer];
        keys.extend_from_slice(signers);
        let tx =
            Transaction::new_signed_with_payer(&all, Some(&self.ctx.payer.pubkey()), &keys, self.ctx.last_blockhash);
        self.rt.block_on(self.ctx.banks_client.process_transaction(tx)).map(|()| Sent::default()).map_err(failure)
    }

    fn account(&mut self, key: &Pubkey) -> Option<AccountState> {
        let acc = self.rt.block_on(self.ctx.banks_client.get_account(*key)).expect("banks client")?;
        Some(AccountState { lamports: acc.lamports, owner: acc.owner, data: acc.data, executable: acc.executable })
    }

    fn set_account(&mut self, key: &Pubkey, a: AccountState) {
        let acc =
            Account { lamports: a.lamports, data: a.data, owner: a.owner, executable: a.executable, rent_epoch: 0 };
        self.ctx.set_account(key, &AccountSharedData::from(acc));
    }

    fn now(&mut self) -> i64 {
        let clock: Clock = self.rt.block_on(self.ctx.banks_client.get_sysvar()).expect("clock");
        clock.unix_timestamp
    }

    fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock: Clock = self.rt.block_on(self.ctx.banks_client.get_sysvar()).expect("clock");
        clock.unix_timestamp = unix_timestamp;
        self.ctx.set_sysvar(&clock);
    }
}
