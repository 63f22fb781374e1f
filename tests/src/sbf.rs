//! The SBF runner: the program's real `.so` in `litesvm` (the agave 4.2.2 runtime), with logs
//! and compute units.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use litesvm::LiteSVM;
use solana_sdk::{
    clock::Clock,
    instruction::{Instruction, InstructionError},
    signature::Keypair,
    signer::Signer,
    transaction::TransactionError,
};
use solana_transaction::Transaction;

use crate::{AccountState, Chain, Failure, Sent, unique_limit};

/// Where the SBF build leaves the program: `$AGENTRAIL_SO`, else `target/deploy/agentrail.so`
/// (written by `scripts/build-sbf.sh` and by `anchor build`).
pub fn so_path() -> PathBuf {
    std::env::var_os("AGENTRAIL_SO")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace().join("target/deploy/agentrail.so"))
}

/// `litesvm` running the program's `.so`.
pub struct Sbf {
    svm: LiteSVM,
    payer: Keypair,
    nonce: u32,
}

impl Sbf {
    /// Starts a fresh SVM with the SPL programs and the program loaded. Panics with the path
    /// when the `.so` is missing: the SBF pass never pretends to have run.
    pub fn start() -> Self {
        let path = so_path();
        let mut svm = LiteSVM::new();
        svm.add_program_from_file(agentrail::ID, &path)
            .unwrap_or_else(|e| panic!("cannot load {} ({e}); build it with scripts/build-sbf.sh", path.display()));
        let payer = crate::env::test_key(0);
        svm.airdrop(&payer.pubkey(), 1_000_000_000_000).expect("airdrop");
        Sbf { svm, payer, nonce: 0 }
    }
}

impl Chain for Sbf {
    fn payer(&self) -> &Keypair {
        &self.payer
    }

    fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Sent, Failure> {
        self.nonce += 1;
        let mut all = vec![unique_limit(self.nonce)];
        all.extend_from_slice(ixs);
        let mut keys: Vec<&Keypair> = vec![&self.payer];
        keys.extend_from_slice(signers);
        let tx =
            Transaction::new_signed_with_payer(&all, Some(&self.payer.pubkey()), &keys, self.svm.latest_blockhash());
        match self.svm.send_transaction(tx) {
            Ok(meta) => Ok(Sent { compute_units: Some(meta.compute_units_consumed), logs: meta.logs }),
            Err(failed) => {
                let code = match failed.err {
                    TransactionError::InstructionError(_, InstructionError::Custom(c)) => Some(c),
                    _ => None,
                };
                Err(Failure { code, message: format!("{:?}\n{}", failed.err, failed.meta.logs.join("\n")) })
            }
        }
    }

    fn account(&mut self, key: &Pubkey) -> Option<AccountState> {
        let acc = self.svm.get_account(key)?;
        // litesvm keeps closed accounts as empty system accounts; the chain does not
        if acc.lamports == 0 {
            return None;
        }
        Some(AccountState { lamports: acc.lamports, owner: acc.owner, data: acc.data, executable: acc.executable })
    }

    fn set_account(&mut self, key: &Pubkey, a: AccountState) {
        let acc = solana_account_v4::Account {
            lamports: a.lamports,
            data: a.data,
            owner: a.owner,
            executable: a.executable,
            rent_epoch: 0,
        };
        self.svm.set_account(*key, acc).expect("set account");
    }

    fn now(&mut self) -> i64 {
        self.svm.get_sysvar::<Clock>().unix_timestamp
    }

    fn set_time(&mut self, unix_timestamp: i64) {
        let mut clock = self.svm.get_sysvar::<Clock>();
        clock.unix_timestamp = unix_timestamp;
        self.svm.set_sysvar(&clock);
    }
}
