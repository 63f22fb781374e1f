//! The keeper at scale, on a real validator: many jobs, agents on loopback that answer in
//! 100–500 ms, and (in the second phase) 10% of the agents hostile: one that never answers in
//! time, one that trickles bytes, one that sends 50 MB, one that redirects to 127.0.0.1 and one
//! that answers garbage. Reports, per phase: milestones settled per minute, p50/p99 from the
//! agent's answer to the release seen confirmed on-chain (polled every 250 ms), keeper CPU per
//! settled milestone, peak RSS and SOL spent per milestone.
//!
//!     bash scripts/build-sbf.sh
//!     cargo build --release -p agentrail-cli -p agentrail-keeper --bins --examples
//!     AGENTRAIL_BIN_DIR=target/release SOLANA_TEST_VALIDATOR=... \
//!       cargo run -p agentrail-tests --bin keeper-bench -- [--jobs 500]
//!
//! `--jobs N` splits N jobs evenly over the two phases (default 500: 250 honest alone, then 225
//! honest beside 25 hostile); each job has two milestones paid on submission.

use std::collections::BTreeMap;

use sha2::Digest;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentrail::instructions::{CreateJobArgs, RegisterAgentArgs};
use agentrail::state::{Job, MilestoneSpec, MilestoneState, Semver, fee_for};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{instructions as ix, pda};
use agentrail_tests::localnet::{Localnet, Proc, free_port, wait_until, workspace_bin};
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::{Keypair, Signature, read_keypair_file};
use solana_sdk::signer::Signer;
use solana_sdk::transaction::Transaction;

/// Honest agents, and one hostile agent per hostile mode: 10% of 50.
const HONEST_AGENTS: usize = 45;
const HOSTILE: [&str; 5] = ["timeout", "trickle", "huge", "redirect", "garbage"];
/// Milestones per job, each paid on submission.
const MILESTONES: usize = 2;
/// One milestone: 1 token of 6 decimals.
const AMOUNT: u64 = 1_000_000;
const FEE_BPS: u16 = 250;

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

struct Bench {
    net: Localnet,
    poster: Keypair,
    keeper: (Pubkey, std::path::PathBuf),
    mint: Pubkey,
    agent_port: u16,
    /// (agent address, payout wallet, mode).
    agents: Vec<(Pubkey, Pubkey, &'static str)>,
    nonce: u64,
}

/// What one phase measured.
struct Report {
    name: &'static str,
    jobs: usize,
    hostile_jobs: usize,
    settled: usize,
    minutes: f64,
    p50_ms: u128,
    p99_ms: u128,
    cpu_ms_per_milestone: f64,
    peak_rss_mib: f64,
    lamports_per_milestone: f64,
    /// Calls the keeper made to hostile agents.
    hostile_calls: u64,
}

impl Bench {
    fn setup() -> Bench {
        let net = Localnet::start();
        let admin = net.admin.clone();
        let (treasury, _) = net.funded_key("treasury", 0);
        net.cli(&admin, &["config", "init", "--treasury", &treasury.to_string(), "--fee-bps", &FEE_BPS.to_string()]);
        let (poster_key, poster_path) = net.funded_key("poster", 50);
        let mint: Pubkey = net.cli(&poster_path, &["dev", "create-mint", "--decimals", "6"])["mint"]
            .as_str()
            .expect("mint")
            .parse()
            .expect("mint pubkey");
        net.cli(&poster_path, &["dev", "mint-to", &mint.to_string(), &poster_key.to_string(), "100000"]);
        let keeper = net.funded_key("keeper", 20);
        let poster = read_keypair_file(&poster_path).expect("poster key");

        // one process serves every agent, by path; honest answers take 100-500 ms
        let agent_port = free_port();
        // every agent serves this manifest and registers its hash (the keeper checks it)
        let manifest_path = net.dir.path().join("manifest.json");
        std::fs::write(&manifest_path, br#"{"capabilities":["bench"]}"#).expect("manifest");
        let manifest_hash: [u8; 32] = sha2::Sha256::digest(br#"{"capabilities":["bench"]}"#).into();
        let mut cmd = Command::new(workspace_bin("examples/demo_agent"));
        cmd.args([format!("127.0.0.1:{agent_port}"), "--latency".into(), "100-500".into()]);
        cmd.args(["--manifest".to_string(), manifest_path.display().to_string()]);
        let mut agent_proc = Proc::spawn("agents", cmd, net.dir.path().join("agents.log"));
        agent_proc.wait_for_output("demo agent on", Duration::from_secs(20));
        std::mem::forget(agent_proc); // lives as long as the run (killed with it)

        let mut b = Bench { net, poster, keeper, mint, agent_port, agents: Vec::new(), nonce: 1 };
        let modes = std::iter::repeat_n("ok", HONEST_AGENTS).chain(HOSTILE);
        for (id, mode) in modes.enumerate() {
            let payout = Keypair::new();
            let args = RegisterAgentArgs {
                name: format!("bench-{id}"),
                metadata_uri: format!("http://127.0.0.1:{}/agents/{mode}/step", b.agent_port),
                manifest_hash,
                version: Semver { major: 1, minor: 0, patch: 0 },
            };
            // the poster pays for the agents too: one funded key is enough for a benchmark
            let poster = b.poster.insecure_clone();
            let register = ix::register_agent(&poster.pubkey(), &payout.pubkey(), id as u64, args);
            // the poster creates the payout account, as `job fund` does (the keeper pays for none)
            let ata = create_associated_token_account_idempotent(&poster.pubkey(), &payout.pubkey(), &mint, &TOKEN);
            b.confirm(vec![b.sign(&[register, ata], &[&poster, &payout])]);
            b.agents.push((pda::agent(id as u64), payout.pubkey(), mode));
        }
        println!("set up: {} agents ({} hostile), mint {mint}", b.agents.len(), HOSTILE.len());
        b
    }

    fn sign(&self, ixs: &[Instruction], signers: &[&Keypair]) -> Transaction {
        let blockhash = self.net.rpc.get_latest_blockhash().expect("blockhash");
        Transaction::new_signed_with_payer(ixs, Some(&signers[0].pubkey()), signers, blockhash)
    }

    /// Sends every transaction without waiting, then waits until all are confirmed.
    fn confirm(&self, txs: Vec<Transaction>) {
        let config =
            solana_rpc_client_api::config::RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
        let sigs: Vec<Signature> =
            txs.iter().map(|tx| self.net.rpc.send_transaction_with_config(tx, config).expect("send")).collect();
        for chunk in sigs.chunks(200) {
            wait_until("transactions confirmed", Duration::from_secs(120), || {
                let st = self.net.rpc.get_signature_statuses(chunk).ok()?.value;
                let done = st
                    .iter()
                    .all(|s| s.as_ref().is_some_and(|s| s.satisfies_commitment(CommitmentConfig::confirmed())));
                if let Some(err) = st.iter().flatten().find_map(|s| s.err.clone()) {
                    panic!("a set-up transaction failed: {err}");
                }
                done.then_some(())
            });
        }
    }

    /// Creates and funds `count` jobs for the agents `agents` (indices), round robin.
    fn post_jobs(&mut self, count: usize, agents: &[usize]) -> Vec<(Pubkey, usize)> {
        let poster = self.poster.insecure_clone();
        let mut jobs = Vec::new();
        let mut txs = Vec::new();
        let total = MILESTONES as u64 * (AMOUNT + fee_for(AMOUNT, FEE_BPS));
        for n in 0..count {
            let which = agents[n % agents.len()];
            let (agent, payout, _) = self.agents[which];
            self.nonce += 1;
            let args = CreateJobArgs {
                nonce: self.nonce,
                milestones: vec![MilestoneSpec { amount: AMOUNT, requires_approval: false }; MILESTONES],
                keeper: self.keeper.0,
                min_stage: 0,
                deadline: (now_ms() / 1_000) as i64 + 3_600,
                review_window: 60,
                terms_hash: [0; 32],
                terms_uri: String::new(),
                step_timeout: 600,
                arbiter: None,
                dispute_window: 0,
                dispute_default_bps: 0,
                record_shard: Job::default_record_shard(&pda::job(&poster.pubkey(), self.nonce)),
            };
            let job = pda::job(&poster.pubkey(), self.nonce);
            let keys = JobKeys {
                job,
                poster: poster.pubkey(),
                agent,
                mint: self.mint,
                token_program: TOKEN,
                vault: pda::vault(&job),
                certification: None,
                payee_token: pda::ata(&payout, &self.mint, &TOKEN),
                poster_token: pda::ata(&poster.pubkey(), &self.mint, &TOKEN),
                track_record: pda::track_record(&agent, &self.mint, args.record_shard),
            };
            let create = escrow::create_job(&poster.pubkey(), &agent, 1, &self.mint, &TOKEN, args);
            txs.push(self.sign(&[create], &[&poster]));
            jobs.push((job, which, keys));
        }
        self.confirm(txs);
        // each agent accepts its job (the poster registered them all, so it is their authority),
        // then the poster funds it: the keeper finds every job accepted and funded
        let mut txs = Vec::new();
        for (job, _, keys) in &jobs {
            let state: Job = self.net.account(job).expect("the created job");
            let accept = escrow::accept_job(&poster.pubkey(), keys, state.consent_digest(job));
            txs.push(self.sign(&[accept, escrow::fund_job(keys, total)], &[&poster]));
        }
        self.confirm(txs);
        jobs.into_iter().map(|(job, which, _)| (job, which)).collect()
    }

    /// Runs a keeper over `jobs` until every honest milestone is released (or 10 minutes).
    fn phase(&mut self, name: &'static str, honest: usize, hostile: usize) -> Report {
        let honest_agents: Vec<usize> = (0..HONEST_AGENTS).collect();
        let hostile_agents: Vec<usize> = (HONEST_AGENTS..self.agents.len()).collect();
        let mut jobs = self.post_jobs(honest, &honest_agents);
        if hostile > 0 {
            jobs.extend(self.post_jobs(hostile, &hostile_agents));
        }
        let honest_jobs: Vec<Pubkey> = jobs.iter().filter(|(_, a)| *a < HONEST_AGENTS).map(|(j, _)| *j).collect();
        let dir = self.net.dir.path().to_path_buf();
        let config = format!(
            r#"rpc_url = "{rpc}"
keypair = "{key}"
database = "sqlite://{db}"
listen = "127.0.0.1:{port}"
sweep_interval = "0s"
[executor]
timeout = "2s"
max_attempts = 2
base_delay = "200ms"
max_delay = "1s"
allow = ["127.0.0.1"]
concurrency = 64
"#,
            rpc = self.net.url,
            key = self.keeper.1.display(),
            db = dir.join(format!("{name}.sqlite")).display(),
            port = free_port(),
        );
        let config_path = dir.join(format!("keeper-{name}.toml"));
        std::fs::write(&config_path, config).expect("keeper config");
        let balance_before = self.net.rpc.get_balance(&self.keeper.0).expect("balance");
        let mut cmd = Command::new(workspace_bin("agentrail-keeper"));
        cmd.arg("--config").arg(&config_path).env("RUST_LOG", "warn");
        let started = Instant::now();
        let mut keeper = Proc::spawn(&format!("keeper-{name}"), cmd, dir.join(format!("keeper-{name}.log")));

        // poll the honest jobs; note when each milestone is first seen released
        let mut released: BTreeMap<(Pubkey, usize), u128> = BTreeMap::new();
        let want = honest_jobs.len() * MILESTONES;
        let mut last_progress = Instant::now();
        while released.len() < want && started.elapsed() < Duration::from_secs(600) {
            for chunk in honest_jobs.chunks(100) {
                let accounts = self.net.rpc.get_multiple_accounts(chunk).unwrap_or_default();
                let seen = now_ms();
                for (key, acc) in chunk.iter().zip(accounts) {
                    let Some(job) = acc.and_then(|a| agentrail_client::accounts::decode::<Job>(&a.data).ok()) else {
                        continue;
                    };
                    for (i, m) in job.milestones().iter().enumerate() {
                        if m.state == MilestoneState::Released && !released.contains_key(&(*key, i)) {
                            released.insert((*key, i), seen);
                            last_progress = Instant::now();
                        }
                    }
                }
            }
            if last_progress.elapsed() > Duration::from_secs(120) {
                eprintln!(
                    "no release for 2 minutes; stopping the phase:\n{}",
                    agentrail_tests::localnet::tail(&keeper.output())
                );
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let took = started.elapsed();
        let cpu = keeper.cpu_seconds().unwrap_or(f64::NAN);
        let rss = keeper.peak_rss_kib().unwrap_or(0);
        keeper.terminate(Duration::from_secs(20));
        let balance_after = self.net.rpc.get_balance(&self.keeper.0).expect("balance");

        // the agent's answer times, against the first sighting of each release
        let url = format!("http://127.0.0.1:{}/answers", self.agent_port);
        let answers: BTreeMap<String, u128> = reqwest::blocking::get(&url).and_then(|r| r.json()).expect("answers");
        let mut lat: Vec<u128> = released
            .iter()
            .filter_map(|((job, i), seen)| answers.get(&format!("{job}:{i}")).map(|at| seen.saturating_sub(*at)))
            .collect();
        lat.sort_unstable();
        let pct = |p: f64| lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0);
        // the hostile agents were called (and called again), and nothing was paid to them
        let stats = format!("http://127.0.0.1:{}/stats", self.agent_port);
        let calls: BTreeMap<String, u64> = reqwest::blocking::get(&stats).and_then(|r| r.json()).expect("stats");
        let mut hostile_calls = 0;
        for (job, which) in jobs.iter().filter(|(_, a)| *a >= HONEST_AGENTS) {
            let j: Job = self.net.account(job).expect("hostile job");
            assert!(j.released == 0, "job {job} of hostile agent {} was paid", self.agents[*which].2);
            hostile_calls += calls.get(&format!("{job}:0")).copied().unwrap_or(0);
        }
        assert!(hostile == 0 || hostile_calls >= hostile as u64, "the hostile agents were not called");
        let settled = released.len();
        Report {
            name,
            jobs: jobs.len(),
            hostile_jobs: hostile,
            settled,
            minutes: took.as_secs_f64() / 60.0,
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            cpu_ms_per_milestone: cpu * 1_000.0 / settled.max(1) as f64,
            peak_rss_mib: rss as f64 / 1024.0,
            lamports_per_milestone: balance_before.saturating_sub(balance_after) as f64 / settled.max(1) as f64,
            hostile_calls,
        }
    }
}

const TOKEN: Pubkey = anchor_spl::token::ID;

fn main() {
    let mut args = std::env::args().skip(1);
    let jobs: usize = match (args.next().as_deref(), args.next()) {
        (Some("--jobs"), Some(n)) => n.parse().expect("--jobs takes a number"),
        (None, None) => 500,
        other => {
            eprintln!("usage: keeper-bench [--jobs N], not {other:?}");
            std::process::exit(2);
        }
    };
    let half = jobs / 2;
    let hostile = half / 10;
    let mut b = Bench::setup();
    let reports = [b.phase("honest", half, 0), b.phase("hostile", half - hostile, hostile)];
    println!(
        "\n| phase | jobs (hostile) | calls to hostile agents | milestones settled | per minute | p50 answer→release | p99 | keeper CPU / milestone | peak RSS | SOL / milestone |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &reports {
        println!(
            "| {} | {} ({}) | {} | {} | {:.0} | {} ms | {} ms | {:.2} ms | {:.1} MiB | {:.6} |",
            r.name,
            r.jobs,
            r.hostile_jobs,
            r.hostile_calls,
            r.settled,
            r.settled as f64 / r.minutes,
            r.p50_ms,
            r.p99_ms,
            r.cpu_ms_per_milestone,
            r.peak_rss_mib,
            r.lamports_per_milestone / 1e9,
        );
    }
}
