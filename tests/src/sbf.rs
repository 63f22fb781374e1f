//! The SBF runner: the program's real `.so` in `litesvm` (the agave 4.2.2 runtime), with logs
//! and compute units.

use std::path::{Path, PathBuf};

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

/// The compute baseline's `.so` (`programs/baseline-transfer`, beside the program's).
pub fn baseline_so() -> PathBuf {
    so_path().with_file_name("agentrail_baseline.so")
}

/// The program's `.so`, checked to be current: the SBF pass and the end-to-end tests refuse a
/// missing binary, and one older than any of the program's sources (it would silently test old
/// code), naming the command that builds it.
pub fn current_so() -> PathBuf {
    let path = so_path();
    if let Err(problem) = check_current(&path, &crate::workspace()) {
        panic!("{problem}; build it with `bash scripts/build-sbf.sh`");
    }
    path
}

/// Whether the `.so` at `so` exists and is at least as new as every source of the program in
/// the workspace at `root` (its crate and the lock file); the problem otherwise.
pub fn check_current(so: &Path, root: &Path) -> Result<(), String> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified());
    let built = modified(so).map_err(|e| format!("cannot read {} ({e})", so.display()))?;
    let program = root.join("programs/agentrail");
    let mut sources = vec![program.join("Cargo.toml"), root.join("Cargo.lock")];
    files_under(&program.join("src"), &mut sources);
    for source in sources {
        let changed = modified(&source).map_err(|e| format!("cannot read {} ({e})", source.display()))?;
        if changed > built {
            return Err(format!("{} is older than {}", so.display(), source.display()));
        }
    }
    Ok(())
}

/// Every file under `dir`, recursively (nothing when it cannot be read).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { files_under(&path, out) } else { out.push(path) }
    }
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
        let path = current_so();
        let mut svm = LiteSVM::new();
        svm.add_program_from_file(agentrail::ID, &path)
            .unwrap_or_else(|e| panic!("cannot load {} ({e}); build it with scripts/build-sbf.sh", path.display()));
        // the compute baseline, when built (scripts/build-sbf.sh builds both): cu-report measures it
        let baseline = baseline_so();
        if baseline.exists() {
            svm.add_program_from_file(agentrail_baseline::ID, &baseline).unwrap_or_else(|e| {
                panic!("cannot load {} ({e}); build it with scripts/build-sbf.sh", baseline.display())
            });
        }
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
            Ok(meta) => Ok(Sent {
                compute_units: Some(meta.compute_units_consumed),
                logs: meta.logs,
                return_data: Some(meta.return_data.data),
            }),
            Err(failed) => {
                let code = match failed.err {
                    TransactionError::InstructionError(_, InstructionError::Custom(c)) => Some(c),
                    _ => None,
                };
                let message = format!("{:?}\n{}", failed.err, failed.meta.logs.join("\n"));
                Err(Failure { code, abort: crate::abort_of(&failed.err), message })
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

#[cfg(test)]
mod tests {
    use std::fs::{self, File};
    use std::time::{Duration, SystemTime};

    use super::check_current;

    fn touch(path: &std::path::Path, at: SystemTime) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        File::create(path).unwrap().set_modified(at).unwrap();
    }

    #[test]
    fn a_so_older_than_any_program_source_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let t0 = SystemTime::now() - Duration::from_secs(3_600);
        let so = root.path().join("target/deploy/agentrail.so");
        assert!(check_current(&so, root.path()).unwrap_err().contains("cannot read"), "missing .so");
        for f in ["Cargo.lock", "programs/agentrail/Cargo.toml", "programs/agentrail/src/state/job.rs"] {
            touch(&root.path().join(f), t0);
        }
        touch(&so, t0 + Duration::from_secs(10));
        check_current(&so, root.path()).unwrap();
        // a source edited after the build, however deep, makes the binary stale
        touch(&root.path().join("programs/agentrail/src/state/job.rs"), t0 + Duration::from_secs(20));
        let problem = check_current(&so, root.path()).unwrap_err();
        assert!(problem.contains("older than") && problem.ends_with("src/state/job.rs"), "{problem}");
        touch(&so, t0 + Duration::from_secs(30));
        check_current(&so, root.path()).unwrap();
        touch(&root.path().join("Cargo.lock"), t0 + Duration::from_secs(40));
        assert!(check_current(&so, root.path()).unwrap_err().ends_with("Cargo.lock"));
    }
}
