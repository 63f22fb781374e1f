//! A whole Agentrail deployment on a [`Localnet`], set up through the CLI as its users would:
//! config and fee, a certifier, a test mint and a funded poster, demo agents registered and
//! certified, and keeper processes started on demand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use agentrail::state::Job;
use anchor_lang::prelude::Pubkey;
use serde_json::Value;

use crate::env::FEE_BPS;
use crate::localnet::{Localnet, Proc, free_port, tail, wait_until, workspace_bin};

/// Test token decimals.
pub const DECIMALS: u8 = 6;

/// A demo agent: its HTTP process, registry address and payout wallet.
pub struct DemoAgent {
    pub address: Pubkey,
    pub payout: Pubkey,
    /// The owner's (authority's) keypair file; the owner is also the payout wallet.
    pub owner: PathBuf,
    pub endpoint: String,
    pub process: Proc,
    /// The output signing key its registry entry declares, if any.
    pub signing_key: Option<Pubkey>,
    /// Whether it accepts jobs through the keeper (an SDK agent with a signing key: the keeper
    /// carries its ed25519 acceptance); the others' owners accept each job by transaction
    /// when it is posted.
    pub accepts_through_keeper: bool,
    /// For an agent named `executor`: its execution wallet (1 SOL, 10 tokens of the world's
    /// mint) and a second funded wallet it can sign foreign transactions with.
    pub exec_wallets: Option<(Pubkey, Pubkey)>,
}

impl DemoAgent {
    /// How many times the agent was asked to run `job`'s milestone `index`.
    pub fn calls(&self, job: &Pubkey, index: u8) -> u64 {
        let url = self.endpoint.replace("/step", "/stats");
        let stats: Value = reqwest::blocking::get(url).and_then(|r| r.json()).expect("agent stats");
        stats[format!("{job}:{index}")].as_u64().unwrap_or(0)
    }
}

/// A deployment with its actors.
pub struct World {
    pub net: Localnet,
    pub treasury: Pubkey,
    pub certifier: (Pubkey, PathBuf),
    pub poster: (Pubkey, PathBuf),
    pub keeper: (Pubkey, PathBuf),
    pub mint: Pubkey,
    /// Agents by name: their mode (`ok` and `cosigned` on the SDK; `plain`, `garbage`,
    /// `timeout`, `fail-first` the demo agent's), or the name given as `name:mode` to
    /// [`World::new`].
    pub agents: BTreeMap<String, DemoAgent>,
    nonce: std::cell::Cell<u64>,
}

impl World {
    /// Starts a validator and sets everything up with the CLI; one demo agent per `modes`
    /// (a mode, or `name:mode` for a second agent of one mode).
    pub fn new(modes: &[&str]) -> World {
        Self::with_accounts(modes, &[])
    }

    /// [`World::new`] on a validator holding `accounts` (address, owner, data) from genesis.
    pub fn with_accounts(modes: &[&str], accounts: &[(Pubkey, Pubkey, Vec<u8>)]) -> World {
        let net = Localnet::start_with_accounts(accounts);
        let admin = net.admin.clone();
        let (treasury, _) = net.funded_key("treasury", 0);
        net.cli(&admin, &["config", "init", "--treasury", &treasury.to_string(), "--fee-bps", &FEE_BPS.to_string()]);
        let certifier = net.funded_key("certifier", 2);
        net.cli(&admin, &["config", "add-certifier", &certifier.0.to_string()]);
        let poster = net.funded_key("poster", 10);
        let mint: Pubkey = net.cli(&poster.1, &["dev", "create-mint", "--decimals", &DECIMALS.to_string()])["mint"]
            .as_str()
            .expect("mint address")
            .parse()
            .expect("mint pubkey");
        net.cli(&poster.1, &["dev", "mint-to", &mint.to_string(), &poster.0.to_string(), "1000"]);
        // the treasury's token account for the mint, where swept fees arrive (its operator's
        // to create: keepers pay no rent for other people's accounts)
        net.cli(&poster.1, &["dev", "mint-to", &mint.to_string(), &treasury.to_string(), "0"]);
        let keeper = net.funded_key("keeper", 10);
        let files = net.dir.path();
        // the agents' published policy: any keeper, steps of a minute, approvals without an
        // arbiter and short reviews (what the tests' jobs ask)
        let manifest = r#"{"capabilities":["demo"],"price":"half the budget","policy":{"min_step_secs":60,"min_review_secs":0,"min_milestone_amount":0,"no_arbiter_ok":true}}"#;
        std::fs::write(files.join("manifest.json"), manifest).expect("manifest");
        std::fs::write(files.join("other-manifest.json"), r#"{"capabilities":["anything"],"price":"free"}"#)
            .expect("manifest");
        std::fs::write(files.join("evidence.json"), r#"{"stage":"A","review":"static"}"#).expect("evidence");
        let mut agents = BTreeMap::new();
        for entry in modes {
            // `name:mode` registers another agent of a mode under its own name, and
            // `name:mode:MS` one that takes MS milliseconds to answer
            let mut parts = entry.splitn(3, ':');
            let name = parts.next().expect("a name");
            let mode = parts.next().unwrap_or(name);
            let latency = parts.next().unwrap_or("0");
            let port = free_port();
            // honest agents (`ok`) are built on the SDK and need their registry address: they
            // start once registered (the endpoint's port is chosen first); a `cosigned` one also
            // registered a signing key and co-signs its answers with it. The hostile modes, and
            // `plain` (an honest agent that ignores the payment protocol and counts every
            // request it receives, paid or not), are the demo agent's
            let on_sdk = matches!(mode, "ok" | "cosigned");
            let demo = (!on_sdk).then(|| {
                let mut cmd = Command::new(workspace_bin("examples/demo_agent"));
                let demo_mode = if mode == "plain" { "ok" } else { mode };
                cmd.args([format!("127.0.0.1:{port}"), "--mode".into(), demo_mode.to_string()]);
                cmd.args(["--latency".to_string(), format!("{latency}-{latency}")]);
                // an agent named `wrong-manifest` serves another manifest than it registered
                let served = if name == "wrong-manifest" { "other-manifest.json" } else { "manifest.json" };
                cmd.args(["--manifest".to_string(), files.join(served).display().to_string()]);
                let mut process = Proc::spawn(&format!("agent-{name}"), cmd, files.join(format!("agent-{name}.log")));
                process.wait_for_output("demo agent on", Duration::from_secs(20));
                process
            });
            let endpoint = format!("http://127.0.0.1:{port}/step");
            let (payout, owner_key) = net.funded_key(&format!("owner-{name}"), 2);
            let out = net.cli(
                &owner_key,
                &[
                    "agent",
                    "register",
                    "--name",
                    &format!("demo-{name}"),
                    "--manifest",
                    files.join("manifest.json").to_str().expect("utf-8"),
                    "--uri",
                    &endpoint,
                ],
            );
            let address: Pubkey = out["agent"].as_str().expect("agent address").parse().expect("agent pubkey");
            net.cli(
                &certifier.1,
                &[
                    "cert",
                    "attest",
                    &address.to_string(),
                    "--stage",
                    "A",
                    "--evidence",
                    files.join("evidence.json").to_str().expect("utf-8"),
                    "--expires-in",
                    "90d",
                ],
            );
            // the registry declares a signing key for a `cosigned` agent, and for one named
            // `unsigned` (a demo agent, which never co-signs: keepers must refuse its answers)
            let signing_key = (mode == "cosigned" || name == "unsigned").then(|| {
                let (key, file) = net.funded_key(&format!("signing-{name}"), 0);
                let file_s = file.to_str().expect("utf-8").to_string();
                net.cli(&owner_key, &["agent", "set-signing-key", &address.to_string(), "--key", &file_s]);
                (key, file)
            });
            let served = if name == "wrong-manifest" { "other-manifest.json" } else { "manifest.json" };
            // an SDK agent named `executor` works on-chain from its own wallet
            let exec = (name == "executor" && on_sdk).then(|| {
                let (wallet, wallet_file) = net.funded_key(&format!("exec-{name}"), 1);
                let (foreign, foreign_file) = net.funded_key(&format!("foreign-{name}"), 1);
                net.cli(&poster.1, &["dev", "mint-to", &mint.to_string(), &wallet.to_string(), "10"]);
                ((wallet, foreign), (wallet_file, foreign_file))
            });
            let process = demo.unwrap_or_else(|| {
                let mut cmd = Command::new(workspace_bin("examples/paid_agent"));
                cmd.arg(format!("127.0.0.1:{port}"));
                for (flag, value) in [
                    ("--rpc", net.url.clone()),
                    ("--agent", address.to_string()),
                    ("--pay-to", payout.to_string()),
                    ("--mint", mint.to_string()),
                    ("--answers", files.join(format!("answers-{name}.sqlite")).display().to_string()),
                    ("--work-ms", latency.to_string()),
                    ("--manifest", files.join(served).display().to_string()),
                ] {
                    cmd.args([flag.to_string(), value]);
                }
                if let Some((_, file)) = &signing_key {
                    cmd.args(["--signing-key".to_string(), file.display().to_string()]);
                }
                // an agent named `self-submitting` reports its own answers when the keeper has not
                if name == "self-submitting" {
                    let (_, fee_payer) = net.funded_key(&format!("fee-payer-{name}"), 1);
                    cmd.args(["--submit-own-after".to_string(), "5".into()]);
                    cmd.args(["--fee-payer".to_string(), fee_payer.display().to_string()]);
                }
                if let Some((_, (wallet, foreign))) = &exec {
                    cmd.args(["--exec-wallet".to_string(), wallet.display().to_string()]);
                    cmd.args(["--foreign-wallet".to_string(), foreign.display().to_string()]);
                }
                let mut process = Proc::spawn(&format!("agent-{name}"), cmd, files.join(format!("agent-{name}.log")));
                process.wait_for_output("paid agent on", Duration::from_secs(20));
                process
            });
            let signing_key = signing_key.map(|(key, _)| key);
            let exec_wallets = exec.map(|(keys, _)| keys);
            let accepts_through_keeper = on_sdk && signing_key.is_some();
            agents.insert(
                name.to_string(),
                DemoAgent {
                    address,
                    payout,
                    owner: owner_key,
                    endpoint,
                    process,
                    signing_key,
                    accepts_through_keeper,
                    exec_wallets,
                },
            );
        }
        World { net, treasury, certifier, poster, keeper, mint, agents, nonce: std::cell::Cell::new(1) }
    }

    /// The poster creates and funds a job for agent `mode` served by the world's keeper.
    /// `milestones` are CLI flags: `AMOUNT` or `AMOUNT:approve`, in UI units.
    pub fn post_job(&self, mode: &str, milestones: &[&str], deadline_in: &str, review_window: &str) -> Pubkey {
        self.post_job_with(mode, milestones, deadline_in, review_window, &[])
    }

    /// [`World::post_job`] with more `job create` flags (`--arbiter ...`).
    pub fn post_job_with(
        &self,
        mode: &str,
        milestones: &[&str],
        deadline_in: &str,
        review_window: &str,
        extra: &[&str],
    ) -> Pubkey {
        self.create_job(mode, milestones, deadline_in, review_window, extra, true)
    }

    /// The poster creates a job for agent `mode` without funding it (it awaits the poster's funding).
    pub fn post_unfunded_job(&self, mode: &str, milestones: &[&str], deadline_in: &str, review_window: &str) -> Pubkey {
        self.create_job(mode, milestones, deadline_in, review_window, &[], false)
    }

    fn create_job(
        &self,
        mode: &str,
        milestones: &[&str],
        deadline_in: &str,
        review_window: &str,
        extra: &[&str],
        fund: bool,
    ) -> Pubkey {
        let nonce = self.nonce.replace(self.nonce.get() + 1).to_string();
        let agent = self.agents[mode].address.to_string();
        let (mint, keeper) = (self.mint.to_string(), self.keeper.0.to_string());
        let mut args = vec!["job", "create", "--agent", &agent, "--mint", &mint, "--keeper", &keeper];
        for m in milestones {
            args.extend(["--milestone", m]);
        }
        args.extend([
            "--deadline-in",
            deadline_in,
            "--review-window",
            review_window,
            "--min-stage",
            "A",
            "--nonce",
            &nonce,
        ]);
        let agent = &self.agents[mode];
        // an agent that accepts by its own transaction does so before the job is funded, so
        // the keeper never finds it funded and unaccepted
        let accepts_itself = !agent.accepts_through_keeper;
        if fund && !accepts_itself {
            args.push("--fund");
        }
        args.extend(extra);
        let job: Pubkey =
            self.net.cli(&self.poster.1, &args)["job"].as_str().expect("job address").parse().expect("job pubkey");
        if accepts_itself {
            self.net.cli(&agent.owner, &["job", "accept", &job.to_string()]);
            if fund {
                self.net.cli(&self.poster.1, &["job", "fund", &job.to_string()]);
            }
        }
        job
    }

    /// The job account, `None` once closed.
    pub fn job(&self, key: &Pubkey) -> Option<Job> {
        self.net.account(key)
    }

    /// Waits until `check` holds for the job's on-chain state.
    pub fn wait_job(&self, key: &Pubkey, what: &str, timeout: Duration, check: impl Fn(&Job) -> bool) -> Job {
        wait_until(what, timeout, || self.job(key).filter(|j| check(j)))
    }

    /// Token balances of the poster, an agent's payout wallet and the treasury.
    pub fn balances(&self, mode: &str) -> (u64, u64, u64) {
        let b = |owner: &Pubkey| self.net.token_balance(owner, &self.mint);
        (b(&self.poster.0), b(&self.agents[mode].payout), b(&self.treasury))
    }

    /// Starts a keeper process with the world's keeper key.
    pub fn keeper(&self, name: &str, options: KeeperOptions) -> KeeperProc {
        KeeperProc::start(self, name, options)
    }
}

/// What differs between keeper processes in the tests.
#[derive(Clone, Debug, Default)]
pub struct KeeperOptions {
    /// Store URL (default: a SQLite file named after the keeper).
    pub database: Option<String>,
    /// RPC URL (default: the validator's).
    pub rpc_url: Option<String>,
    /// `AGENTRAIL_KEEPER_FAILPOINT`.
    pub failpoint: Option<String>,
    /// `executor.on_failure` (default `leave`).
    pub on_failure: Option<&'static str>,
    /// `sweep_interval` (default `2s`; `0s` leaves fees to the CLI).
    pub sweep_interval: Option<&'static str>,
    /// `anchor_today` (default `true`; production keepers anchor completed days only).
    pub anchor_today: Option<bool>,
    /// `poll_interval` (default `1s`).
    pub poll_interval: Option<&'static str>,
    /// `[notify]` webhook URL and secret (default: none).
    pub webhook: Option<(String, String)>,
    /// The keeper's keypair file (default: the world's keeper).
    pub keypair: Option<PathBuf>,
}

/// A running `agentrail-keeper`.
pub struct KeeperProc {
    pub process: Proc,
    pub api: String,
    pub database: String,
}

impl KeeperProc {
    fn start(world: &World, name: &str, o: KeeperOptions) -> KeeperProc {
        let dir = world.net.dir.path();
        let database =
            o.database.unwrap_or_else(|| format!("sqlite://{}", dir.join(format!("{name}.sqlite")).display()));
        let listen = format!("127.0.0.1:{}", free_port());
        let config = format!(
            r#"rpc_url = "{rpc}"
keypair = "{key}"
database = "{database}"
listen = "{listen}"
poll_interval = "{poll_interval}"
anchor_interval = "2s"
anchor_today = {anchor_today}
sweep_interval = "{sweep_interval}"

[executor]
timeout = "2s"
max_attempts = 3
base_delay = "200ms"
max_delay = "1s"
on_failure = "{on_failure}"
allow = ["127.0.0.1"]
"#,
            rpc = o.rpc_url.unwrap_or_else(|| world.net.url.clone()),
            key = o.keypair.as_ref().unwrap_or(&world.keeper.1).display(),
            on_failure = o.on_failure.unwrap_or("leave"),
            sweep_interval = o.sweep_interval.unwrap_or("2s"),
            anchor_today = o.anchor_today.unwrap_or(true),
            poll_interval = o.poll_interval.unwrap_or("1s"),
        );
        let mut config = config;
        if let Some((url, secret)) = &o.webhook {
            config += &format!(
                "\n[notify]\nwebhook_url = \"{url}\"\nwebhook_secret = \"{secret}\"\nbase_delay = \"1s\"\npublic_api = \"http://{listen}\"\n"
            );
        }
        let config_path = dir.join(format!("{name}.toml"));
        std::fs::write(&config_path, config).expect("keeper config");
        let mut cmd = Command::new(workspace_bin("agentrail-keeper"));
        cmd.arg("--config").arg(&config_path).env("RUST_LOG", "info,agentrail_keeper=debug");
        // every AGENTRAIL_KEEPER_* variable configures the keeper: none leaks in from the caller
        for (var, _) in std::env::vars().filter(|(v, _)| v.starts_with("AGENTRAIL_KEEPER_")) {
            cmd.env_remove(var);
        }
        match &o.failpoint {
            Some(f) => cmd.env("AGENTRAIL_KEEPER_FAILPOINT", f),
            None => cmd.env_remove("AGENTRAIL_KEEPER_FAILPOINT"),
        };
        let mut process = Proc::spawn(name, cmd, dir.join(format!("{name}.log")));
        process.wait_for_output("keeper starting", Duration::from_secs(30));
        KeeperProc { process, api: format!("http://{listen}"), database }
    }

    /// GETs a path of the keeper's API as JSON (`None` on any error: the keeper may be down).
    pub fn get(&self, path: &str) -> Option<Value> {
        let r = reqwest::blocking::get(format!("{}{path}", self.api)).ok()?;
        r.status().is_success().then(|| r.json().ok()).flatten()
    }

    /// GETs a path as (HTTP status, JSON body), whatever the status (`None` when unreachable).
    pub fn get_with_status(&self, path: &str) -> Option<(u16, Value)> {
        let r = reqwest::blocking::get(format!("{}{path}", self.api)).ok()?;
        let status = r.status().as_u16();
        r.json().ok().map(|v| (status, v))
    }

    /// Subscribes to the keeper's server-sent events: each (event, data) arrives on the
    /// returned channel as the keeper sends it.
    pub fn events(&self) -> std::sync::mpsc::Receiver<(String, Value)> {
        let (tx, rx) = std::sync::mpsc::channel();
        let response = reqwest::blocking::Client::builder()
            .timeout(None)
            .build()
            .expect("client")
            .get(format!("{}/events", self.api))
            .send()
            .expect("the event stream");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut event = String::new();
            for line in std::io::BufReader::new(response).lines() {
                let Ok(line) = line else { return };
                if let Some(name) = line.strip_prefix("event: ").or_else(|| line.strip_prefix("event:")) {
                    event = name.trim().to_string();
                } else if let Some(data) = line.strip_prefix("data: ").or_else(|| line.strip_prefix("data:")) {
                    let value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                    if tx.send((std::mem::take(&mut event), value)).is_err() {
                        return;
                    }
                }
            }
        });
        rx
    }

    /// The value of a Prometheus counter or gauge.
    pub fn metric(&self, name: &str) -> f64 {
        let text = reqwest::blocking::get(format!("{}/metrics", self.api)).and_then(|r| r.text()).expect("metrics");
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or_else(|| panic!("metric {name} not exported:\n{text}"))
    }

    /// The receipts the keeper stored for `job`, as its API lists them.
    pub fn receipts(&self, job: &Pubkey) -> Vec<Value> {
        self.get(&format!("/jobs/{job}/receipts")).and_then(|v| v.as_array().cloned()).unwrap_or_default()
    }

    /// Its log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.process.output())
    }
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("json")).expect("write json");
}
