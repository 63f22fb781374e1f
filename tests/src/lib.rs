//! Test harness for the Agentrail program: scenarios are written once against [`Chain`] and
//! run by every runtime that implements it (natively with `solana-program-test`, and against the
//! SBF `.so`).

pub mod compute;
pub mod env;
pub mod fuzz;
pub mod http;
pub mod localnet;
pub mod native;
pub mod sbf;
pub mod scenarios;
pub mod tokens;
pub mod world;

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::{AccountMeta, Instruction, InstructionError};
use solana_sdk::signature::Keypair;
use solana_sdk::transaction::TransactionError;

/// The workspace root, from the directory cargo runs the tests in. Read at run time, not baked
/// in with `env!`: clones at other paths share one cached target directory, and a test binary
/// built for one clone must not read another clone's files.
pub fn workspace() -> PathBuf {
    let tests = std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR: run the tests with cargo test");
    PathBuf::from(tests).parent().expect("workspace root").to_path_buf()
}

/// An account as the tests see it, independent of each runtime's account type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountState {
    pub lamports: u64,
    pub owner: Pubkey,
    pub data: Vec<u8>,
    pub executable: bool,
}

/// What a landed transaction reports (runtimes that cannot see logs or units leave them empty).
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub compute_units: Option<u64>,
    pub logs: Vec<String>,
    /// The last instruction's return data (`None` where the runtime does not report it).
    pub return_data: Option<Vec<u8>>,
}

/// Why a transaction failed: the custom error code when there is one, and the runtime's text.
#[derive(Clone, Debug)]
pub struct Failure {
    pub code: Option<u32>,
    pub message: String,
    /// Set when the runtime stopped the transaction rather than the program refusing it: a
    /// panic or abort, exhausted compute, a memory or privilege violation, a transaction-level
    /// error. The program's own refusals (custom codes, `ProgramError`s) leave it `None`.
    pub abort: Option<String>,
}

/// Whether `err` is something other than the program refusing: `None` for a program error (an
/// Anchor or custom code, or a `ProgramError` the program returned), else what went wrong. The
/// compute-budget instruction every test transaction starts with is index 0 and never fails.
// `NotEnoughAccountKeys` is what `ProgramError::NotEnoughAccountKeys` still converts into
#[allow(deprecated)]
pub fn abort_of(err: &TransactionError) -> Option<String> {
    use InstructionError as E;
    match err {
        TransactionError::InstructionError(_, e) => match e {
            // what `ProgramError` converts into: the program returned it
            E::Custom(_)
            | E::InvalidArgument
            | E::InvalidInstructionData
            | E::InvalidAccountData
            | E::AccountDataTooSmall
            | E::InsufficientFunds
            | E::IncorrectProgramId
            | E::MissingRequiredSignature
            | E::AccountAlreadyInitialized
            | E::UninitializedAccount
            | E::NotEnoughAccountKeys
            | E::AccountBorrowFailed
            | E::MaxSeedLengthExceeded
            | E::InvalidSeeds
            | E::BorshIoError
            | E::AccountNotRentExempt
            | E::UnsupportedSysvar
            | E::IllegalOwner
            | E::InvalidAccountOwner
            | E::ArithmeticOverflow
            | E::Immutable
            | E::IncorrectAuthority => None,
            other => Some(format!("{other:?}")),
        },
        other => Some(format!("{other:?}")),
    }
}

/// A Solana runtime the scenarios drive.
pub trait Chain {
    /// Fee payer; also the program's upgrade authority.
    fn payer(&self) -> &Keypair;
    /// Signs with the payer and `signers`, processes the transaction, reports the outcome.
    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failure>;
    /// Reads an account; `None` when it does not exist.
    fn account(&mut self, key: &Pubkey) -> Option<AccountState>;
    /// Writes an account directly (test set-up only).
    fn set_account(&mut self, key: &Pubkey, account: AccountState);
    /// The cluster clock's unix timestamp.
    fn now(&mut self) -> i64;
    /// Moves the cluster clock's unix timestamp (time travel).
    fn set_time(&mut self, unix_timestamp: i64);
}

/// The compute budget program's `SetComputeUnitLimit`, used to make every transaction unique so
/// that a deliberate replay reaches the program instead of the runtime's duplicate filter.
pub fn unique_limit(nonce: u32) -> Instruction {
    let program_id: Pubkey = "ComputeBudget111111111111111111111111111111".parse().expect("static id");
    let mut data = vec![2u8];
    data.extend_from_slice(&(1_000_000 - (nonce % 100_000)).to_le_bytes());
    Instruction { program_id, accounts: Vec::<AccountMeta>::new(), data }
}
