//! End-to-end harness: a real `solana-test-validator` (agave 4.2.2) serving JSON-RPC on
//! loopback with the program's SBF `.so` deployed, and the binaries of the keeper, the CLI and
//! the demo agent run as separate processes, as operators and users run them.
//!
//! Binaries are found in `AGENTRAIL_BIN_DIR` (default: `$CARGO_TARGET_DIR/release`, else the
//! workspace's `target/release`); the validator at `SOLANA_TEST_VALIDATOR`, else
//! `~/.cache/agave-4.2.2/bin`, else `PATH`. `scripts/test.sh` builds and installs both.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentrail_client::accounts::token_amount;
use anchor_lang::prelude::Pubkey;
use serde_json::Value;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::RpcClient;
use solana_sdk::native_token::LAMPORTS_PER_SOL;
use solana_sdk::signature::{Keypair, write_keypair_file};
use solana_sdk::signer::Signer;

/// A binary of the workspace (`agentrail`, `agentrail-keeper`, `examples/demo_agent`), from
/// `AGENTRAIL_BIN_DIR` (`scripts/test.sh` points it at the debug build), else the release build.
pub fn workspace_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("AGENTRAIL_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| crate::workspace().join("target"), PathBuf::from)
            .join("release")
    });
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --release -p agentrail-cli -p agentrail-keeper --bins --examples` \
         (or set AGENTRAIL_BIN_DIR)",
        path.display()
    );
    path
}

/// The agave 4.2.2 `solana-test-validator` binary.
pub fn validator_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SOLANA_TEST_VALIDATOR") {
        return PathBuf::from(p);
    }
    let cached =
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/agave-4.2.2/bin/solana-test-validator"));
    if let Some(p) = cached.filter(|p| p.exists()) {
        return p;
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("solana-test-validator")).find(|p| p.exists()))
        .expect("solana-test-validator not found: run scripts/install-validator.sh (agave 4.2.2)")
}

/// A child process whose output goes to a log file; killed when dropped, and by the kernel if
/// the test dies first.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `cmd`, sending stdout and stderr to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: PathBuf) -> Proc {
        let out = File::create(&log).expect("create process log");
        cmd.stdout(out.try_clone().expect("clone log")).stderr(out).stdin(Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to SIGKILL this child
        // when the spawning thread (the test) exits.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { name: name.into(), child: Some(child), log }
    }

    /// Everything it has printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until its output contains `needle`.
    pub fn wait_for_output(&mut self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.output().contains(needle) {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{} exited ({status}) before printing {needle:?}:\n{}", self.name, tail(&self.output()));
            }
            assert!(
                start.elapsed() < timeout,
                "{} did not print {needle:?} in {timeout:?}:\n{}",
                self.name,
                tail(&self.output())
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// CPU time (user + system) it has used so far, from `/proc`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.child.as_ref()?.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // fields after the parenthesised command name; utime and stime are the 14th and 15th
        let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf has no preconditions.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Some(ticks as f64 / per_second as f64)
    }

    /// Peak resident memory so far (`VmHWM`), in KiB, from `/proc`.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// `kill -9`: no chance to clean up or record anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for a graceful exit; returns whether it exited successfully.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let Some(mut c) = self.child.take() else { return false };
        // SAFETY: sending a signal to our own child's pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            if start.elapsed() > timeout {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The last lines of a log, for failure messages.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Polls `check` until it returns `Some`, or panics naming `what`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

static PORT_BLOCK: AtomicU16 = AtomicU16::new(0);

/// A validator on loopback, with its own ledger and key files in a temporary directory.
pub struct Localnet {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub rpc: RpcClient,
    /// Upgrade authority of the program and the genesis mint (funds everything).
    pub admin: PathBuf,
    pub validator: Proc,
}

impl Localnet {
    /// Starts a fresh validator with the program deployed as upgradeable by `admin`, and
    /// waits until it serves RPC and has produced a few blocks.
    pub fn start() -> Localnet {
        Self::start_with_accounts(&[])
    }

    /// [`Localnet::start`] with `accounts` (address, owner, data) present from genesis, the
    /// way an oracle's accounts are on a real cluster (rent-exempt, not executable).
    pub fn start_with_accounts(accounts: &[(Pubkey, Pubkey, Vec<u8>)]) -> Localnet {
        let so = crate::sbf::current_so();
        let dir = tempfile::tempdir().expect("tempdir");
        let admin = dir.path().join("admin.json");
        let admin_key = Keypair::new();
        write_keypair_file(&admin_key, &admin).expect("write admin key");
        // a block of ports per validator so tests in parallel never collide
        // below the kernel's ephemeral range (32768 and up here), where `free_port` and every
        // outgoing connection take their ports: a validator port there can be taken first
        let slot = PORT_BLOCK.fetch_add(1, Ordering::SeqCst) % 10;
        let block = 10_000 + (std::process::id() as u16 % 14) * 1_600 + slot * 160;
        let rpc_port = block;
        let mut cmd = Command::new(validator_bin());
        cmd.current_dir(dir.path()).args([
            "--ledger",
            "ledger",
            "--reset",
            "--quiet",
            "--bind-address",
            "127.0.0.1",
            "--rpc-port",
            &rpc_port.to_string(),
            "--faucet-port",
            &(block + 2).to_string(),
            "--gossip-port",
            &(block + 3).to_string(),
            "--dynamic-port-range",
            &format!("{}-{}", block + 10, block + 140),
            "--mint",
            &admin_key.pubkey().to_string(),
            "--upgradeable-program",
            &agentrail::ID.to_string(),
            so.to_str().expect("utf-8 path"),
            admin.to_str().expect("utf-8 path"),
        ]);
        for (i, (address, owner, data)) in accounts.iter().enumerate() {
            use base64::Engine;
            let file = dir.path().join(format!("account-{i}.json"));
            let json = serde_json::json!({
                "pubkey": address.to_string(),
                "account": {
                    "lamports": 1_000_000_000u64, "owner": owner.to_string(), "executable": false, "rentEpoch": 0,
                    "space": data.len(), "data": [base64::engine::general_purpose::STANDARD.encode(data), "base64"],
                },
            });
            std::fs::write(&file, json.to_string()).expect("account file");
            cmd.args(["--account", &address.to_string(), file.to_str().expect("utf-8 path")]);
        }
        let mut validator = Proc::spawn("solana-test-validator", cmd, dir.path().join("validator.log"));
        let url = format!("http://127.0.0.1:{rpc_port}");
        let rpc = RpcClient::new_with_commitment(url.clone(), CommitmentConfig::confirmed());
        let start = Instant::now();
        while !rpc.get_block_height().is_ok_and(|h| h >= 2) {
            if start.elapsed() > Duration::from_secs(120) {
                validator.kill9();
                panic!("the validator did not serve RPC in 120 s:\n{}", tail(&validator.output()));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Localnet { dir, url, rpc, admin, validator }
    }

    /// A new keypair file `name.json` holding `sol` SOL from the faucet.
    pub fn funded_key(&self, name: &str, sol: u64) -> (Pubkey, PathBuf) {
        let key = Keypair::new();
        let path = self.dir.path().join(format!("{name}.json"));
        write_keypair_file(&key, &path).expect("write key");
        if sol > 0 {
            let sig = self.rpc.request_airdrop(&key.pubkey(), sol * LAMPORTS_PER_SOL).expect("airdrop");
            wait_until(&format!("airdrop to {name}"), Duration::from_secs(30), || {
                self.rpc.confirm_transaction(&sig).ok().filter(|ok| *ok)
            });
        }
        (key.pubkey(), path)
    }

    /// Runs the CLI as `signer`; returns its output whatever the exit status.
    pub fn cli_output(&self, signer: &Path, args: &[&str]) -> Output {
        Command::new(workspace_bin("agentrail"))
            .args(["--url", &self.url, "--keypair", signer.to_str().expect("utf-8 path"), "--commitment", "confirmed"])
            .args(args)
            .env_remove("AGENTRAIL_URL")
            .env_remove("AGENTRAIL_KEYPAIR")
            .output()
            .expect("run agentrail")
    }

    /// Runs the CLI with `--json` as `signer`, requires success, and returns the JSON it printed.
    pub fn cli(&self, signer: &Path, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cli_output(signer, &all);
        assert!(
            out.status.success(),
            "agentrail {} failed: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("agentrail {} printed no JSON ({e}): {}", args.join(" "), String::from_utf8_lossy(&out.stdout))
        })
    }

    /// `owner`'s balance of `mint` in base units (0 when the token account does not exist).
    /// The cluster's clock (unix seconds), as the program reads it.
    pub fn cluster_time(&self) -> i64 {
        let clock = self.rpc.get_account(&solana_sdk::sysvar::clock::ID).expect("clock sysvar");
        // the Clock sysvar's fifth field (after slot, epoch start, epoch, leader schedule epoch)
        i64::from_le_bytes(clock.data[32..40].try_into().expect("clock is 40 bytes"))
    }

    pub fn token_balance(&self, owner: &Pubkey, mint: &Pubkey) -> u64 {
        let program = self.rpc.get_account(mint).expect("mint account").owner;
        self.token_amount(&agentrail_client::pda::ata(owner, mint, &program))
    }

    /// The amount in token account `account` (0 when it does not exist).
    pub fn token_amount(&self, account: &Pubkey) -> u64 {
        let acc = self.rpc.get_account_with_commitment(account, CommitmentConfig::confirmed()).expect("token account");
        acc.value.map_or(0, |a| token_amount(&a.data).expect("a token account"))
    }

    /// A decoded program account, `None` when it does not exist (or was closed).
    pub fn account<T: agentrail_client::accounts::ProgramAccount>(&self, key: &Pubkey) -> Option<T> {
        let acc =
            self.rpc.get_account_with_commitment(key, CommitmentConfig::confirmed()).expect("get account").value?;
        Some(agentrail_client::accounts::decode(&acc.data).expect("decode account"))
    }
}

/// How the RPC proxy treats traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    Pass,
    /// Cut every connection as soon as it sends anything.
    Drop,
    /// Hold each request this many milliseconds before forwarding it.
    Delay(u64),
    /// Cut the connection of every `sendTransaction` request (the transaction never reaches
    /// the validator); everything else passes: a node that loses broadcasts.
    DropSends,
    /// Forward every request but lose its answer (the connection closes instead): the
    /// ambiguous case, where the node did it and the caller cannot know.
    LoseAnswers,
}

/// A TCP proxy on loopback in front of the validator's RPC port that can drop or delay
/// requests on command: the RPC endpoint failing, without faking the RPC API.
pub struct RpcProxy {
    pub url: String,
    fault: Arc<AtomicU64>,
    /// Connections cut or requests delayed so far.
    pub faults: Arc<AtomicU64>,
    /// Requests seen so far, by JSON-RPC method.
    methods: Arc<std::sync::Mutex<std::collections::HashMap<String, u64>>>,
}

const PASS: u64 = 0;
const DROP: u64 = u64::MAX;
const DROP_SENDS: u64 = u64::MAX - 1;
const LOSE_ANSWERS: u64 = u64::MAX - 2;

impl RpcProxy {
    /// Listens on a free port and forwards to `upstream` (`host:port`).
    pub fn start(upstream: &str) -> RpcProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let fault = Arc::new(AtomicU64::new(PASS));
        let faults = Arc::new(AtomicU64::new(0));
        let methods = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
        let (f, n, m, upstream) = (fault.clone(), faults.clone(), methods.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (f, n, m, upstream) = (f.clone(), n.clone(), m.clone(), upstream.clone());
                std::thread::spawn(move || proxy_connection(client, &upstream, &f, &n, &m));
            }
        });
        RpcProxy { url, fault, faults, methods }
    }

    /// How many `method` requests passed through so far.
    pub fn requests(&self, method: &str) -> u64 {
        self.methods.lock().expect("proxy counts").get(method).copied().unwrap_or(0)
    }

    /// Switches how traffic is treated from now on (open connections included).
    pub fn set(&self, fault: Fault) {
        self.fault.store(
            match fault {
                Fault::Pass => PASS,
                Fault::Drop => DROP,
                Fault::Delay(ms) => ms.clamp(1, LOSE_ANSWERS - 1),
                Fault::DropSends => DROP_SENDS,
                Fault::LoseAnswers => LOSE_ANSWERS,
            },
            Ordering::SeqCst,
        );
    }
}

/// Counts the JSON-RPC methods a chunk of request bytes names (`"method":"..."`; the keeper's
/// requests are small enough to arrive whole).
fn count_methods(chunk: &[u8], methods: &std::sync::Mutex<std::collections::HashMap<String, u64>>) {
    const KEY: &[u8] = b"\"method\":\"";
    let mut rest = chunk;
    while let Some(at) = rest.windows(KEY.len()).position(|w| w == KEY) {
        rest = &rest[at + KEY.len()..];
        let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
        let name = String::from_utf8_lossy(&rest[..end]).into_owned();
        *methods.lock().expect("proxy counts").entry(name).or_default() += 1;
        rest = &rest[end..];
    }
}

fn proxy_connection(
    mut client: TcpStream,
    upstream: &str,
    fault: &Arc<AtomicU64>,
    faults: &Arc<AtomicU64>,
    methods: &std::sync::Mutex<std::collections::HashMap<String, u64>>,
) {
    let Ok(mut server) = TcpStream::connect(upstream) else { return };
    let (Ok(mut client_r), Ok(mut server_w)) = (client.try_clone(), server.try_clone()) else { return };
    // answers flow back untouched unless they are to be lost; requests are where the other
    // faults are injected
    let (f, n) = (fault.clone(), faults.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            let got = match server.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(got) => got,
            };
            if f.load(Ordering::SeqCst) == LOSE_ANSWERS {
                n.fetch_add(1, Ordering::SeqCst);
                break;
            }
            if client.write_all(&buf[..got]).is_err() {
                break;
            }
        }
        let _ = client.shutdown(Shutdown::Both);
    });
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match client_r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        count_methods(&buf[..n], methods);
        match fault.load(Ordering::SeqCst) {
            PASS => {}
            DROP => {
                faults.fetch_add(1, Ordering::SeqCst);
                break;
            }
            DROP_SENDS if buf[..n].windows(15).any(|w| w == b"sendTransaction") => {
                faults.fetch_add(1, Ordering::SeqCst);
                break;
            }
            DROP_SENDS | LOSE_ANSWERS => {}
            ms => {
                faults.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(ms));
            }
        }
        if server_w.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = client_r.shutdown(Shutdown::Both);
    let _ = server_w.shutdown(Shutdown::Both);
}
