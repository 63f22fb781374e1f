//! An agent built on the SDK: it is paid from the escrow before it works, and works once per
//! step. Its work is a stand-in (a short wait and a JSON answer); `GET /stats` reports how many
//! times the work ran for each `job:milestone` (its own counter, for the tests), and `GET /work`
//! the title of the terms' milestone each step arrived with (when the keeper sent it).
//!
//!     cargo run -p agentrail-agent --example paid_agent -- 127.0.0.1:7070 \
//!       --rpc http://127.0.0.1:8899 --agent AGENT --pay-to WALLET --mint MINT \
//!       [--price BASE_UNITS] [--answers FILE] [--work-ms MS] [--manifest FILE] [--signing-key KEYPAIR]
//!       [--submit-own-after SECS --fee-payer KEYPAIR]
//!
//! With `--signing-key` (a Solana keypair file: the key registered with `agentrail agent
//! set-signing-key`) every answer is co-signed, and the agent accepts jobs through keepers (it
//! signs their terms at `/.well-known/agentrail/accept`). With `--submit-own-after SECS` it
//! also submits its own answer, SECS after giving it, when the keeper has not (fees paid by
//! `--fee-payer`).
//!
//! With `--exec-wallet KEYPAIR` it does on-chain work when a step's terms ask for it:
//! `inputs.transfer = {"to": OWNER, "amount": BASE_UNITS, "mode": M}` sends the job's mint from
//! the wallet to OWNER's token account and reports the transaction, which the keeper checks
//! against the milestone's rails. Modes other than `honest` misbehave on purpose, for the
//! tests: `system` also moves a lamport through the System program, `fail` sends a transfer the
//! wallet cannot cover (it lands and fails), `foreign` reports a transaction signed by
//! `--foreign-wallet` instead.
//!
//! It compensates too: `GET /compensations` lists each compensation it ran, in order, with
//! its outcome; one whose inputs say `"fail_first": true` fails its first run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrail_agent::{AgentConfig, PaidAgent, StepFailure};
use agentrail_client::x402::StepAnswer;
use axum::Json;
use axum::routing::get;

fn usage(what: impl std::fmt::Debug) -> ! {
    eprintln!(
        "usage: paid_agent ADDR --rpc URL --agent PUBKEY --pay-to PUBKEY --mint PUBKEY [--price N] [--answers FILE] [--work-ms MS] [--manifest FILE] [--signing-key KEYPAIR [--submit-own-after SECS --fee-payer KEYPAIR]] [--exec-wallet KEYPAIR [--foreign-wallet KEYPAIR]], not {what:?}"
    );
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| usage("no address"));
    let mut flags: BTreeMap<String, String> = BTreeMap::new();
    while let Some(flag) = args.next() {
        match (flag.strip_prefix("--"), args.next()) {
            (Some(name), Some(value)) => {
                flags.insert(name.to_string(), value);
            }
            other => usage(other),
        }
    }
    let get_flag = |name: &str| flags.get(name).cloned().unwrap_or_else(|| usage(format!("missing --{name}")));
    let key = |name: &str| get_flag(name).parse().unwrap_or_else(|_| usage(format!("--{name} is not a public key")));
    let mut config = AgentConfig::new(&get_flag("rpc"), key("agent"), key("pay-to"))
        .mint(key("mint"))
        .price(flags.get("price").map_or(0, |p| p.parse().unwrap_or_else(|_| usage("--price"))))
        .answers(flags.get("answers").map_or("paid-agent-answers.sqlite", String::as_str))
        .resource_url(&format!("http://{addr}/step"));
    if let Some(path) = flags.get("manifest") {
        config = config.manifest(std::fs::read(path).unwrap_or_else(|e| usage(format!("--manifest {path}: {e}"))));
    }
    if let Some(path) = flags.get("signing-key") {
        config =
            config.signing_key(read_signing_key(path).unwrap_or_else(|e| usage(format!("--signing-key {path}: {e}"))));
    }
    // its own submission, after SECS, with fees paid by KEYPAIR's wallet
    if let Some(secs) = flags.get("submit-own-after") {
        let secs: u64 = secs.parse().unwrap_or_else(|_| usage("--submit-own-after"));
        let path = get_flag("fee-payer");
        let payer = read_keypair(&path).unwrap_or_else(|e| usage(format!("--fee-payer {path}: {e}")));
        config = config.submit_own_work(payer, Duration::from_secs(secs));
    }
    let work_ms: u64 = flags.get("work-ms").map_or(0, |m| m.parse().unwrap_or_else(|_| usage("--work-ms")));
    let exec = flags.get("exec-wallet").map(|path| {
        let wallet = read_keypair(path).unwrap_or_else(|e| usage(format!("--exec-wallet {path}: {e}")));
        let foreign = flags
            .get("foreign-wallet")
            .map(|p| read_keypair(p).unwrap_or_else(|e| usage(format!("--foreign-wallet {p}: {e}"))));
        Arc::new(onchain::Executor::new(&get_flag("rpc"), wallet, foreign))
    });
    let runs: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let works: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let (counted, titled) = (runs.clone(), works.clone());
    let agent = PaidAgent::new(config, move |step| {
        let (runs, works, exec) = (counted.clone(), titled.clone(), exec.clone());
        async move {
            let key = step.request.idempotency_key();
            *runs.lock().expect("runs").entry(key.clone()).or_default() += 1;
            if let Some(work) = &step.request.work {
                works.lock().expect("works").insert(key, work.title.clone());
            }
            tokio::time::sleep(Duration::from_millis(work_ms)).await;
            let output = serde_json::json!({
                "job": step.request.job,
                "milestone": step.request.milestone,
                "note": "paid step",
            });
            // on-chain work the terms ask for, done with the execution wallet
            let transfer = step.request.work.as_ref().map(|w| w.inputs["transfer"].clone()).filter(|t| t.is_object());
            let tx_signatures = match (exec, transfer) {
                (Some(exec), Some(transfer)) => vec![exec.run(&step.job, &transfer).await.map_err(StepFailure)?],
                _ => vec![],
            };
            Ok::<_, StepFailure>(StepAnswer { output, cost: 0, tx_signatures })
        }
    })
    .await
    .unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    // compensation: recorded in order; `fail_first` fails the first run of a milestone's
    let undone: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let log = undone.clone();
    agent.on_compensate(move |c| {
        let log = log.clone();
        async move {
            let key = c.request.idempotency_key();
            let mut log = log.lock().expect("compensations");
            let tried = log.iter().any(|(k, _)| *k == key);
            if c.request.work.inputs["fail_first"] == true && !tried {
                log.push((key, "failed".into()));
                return Err(StepFailure("the first compensation attempt fails (fail_first)".into()));
            }
            log.push((key, "compensated".into()));
            let output = serde_json::json!({"undid": c.request.undoes, "note": c.request.work.instructions});
            Ok(StepAnswer { output, cost: 0, tx_signatures: vec![] })
        }
    });
    let app = agent.router().merge(
        axum::Router::new()
            .route("/stats", get(move || async move { Json(runs.lock().expect("runs").clone()) }))
            .route("/work", get(move || async move { Json(works.lock().expect("works").clone()) }))
            .route("/compensations", get(move || async move { Json(undone.lock().expect("compensations").clone()) })),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap_or_else(|e| usage(format!("bind {addr}: {e}")));
    println!("paid agent on http://{addr}/step");
    axum::serve(listener, app).await.expect("serve");
}

/// The ed25519 key in a Solana keypair file (a JSON array of its 64 bytes).
fn read_signing_key(path: &str) -> Result<ed25519_dalek::SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = serde_json::from_str(&text).map_err(|e| format!("not a keypair file: {e}"))?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| "a keypair file holds 64 bytes".to_string())?;
    agentrail_client::signing_key(&bytes).map_err(|e| e.to_string())
}

/// A Solana keypair file's 64 bytes.
fn read_keypair(path: &str) -> Result<solana_sdk::signature::Keypair, String> {
    solana_sdk::signature::read_keypair_file(path).map_err(|e| e.to_string())
}

/// The agent's on-chain work: token transfers from its execution wallet.
mod onchain {
    use agentrail::state::Job;
    use anchor_spl::token_2022::spl_token_2022::instruction::transfer_checked;
    use solana_commitment_config::CommitmentConfig;
    use solana_rpc_client::nonblocking::rpc_client::RpcClient;
    use solana_sdk::signature::{Keypair, Signer};
    use solana_sdk::transaction::Transaction;

    pub struct Executor {
        rpc: RpcClient,
        wallet: Keypair,
        foreign: Option<Keypair>,
    }

    impl Executor {
        pub fn new(rpc: &str, wallet: Keypair, foreign: Option<Keypair>) -> Self {
            Executor { rpc: RpcClient::new_with_commitment(rpc.into(), CommitmentConfig::confirmed()), wallet, foreign }
        }

        /// Does `transfer` ({to, amount, mode}) in `job`'s mint; returns the transaction's
        /// signature once it is confirmed (succeeded or, in `fail` mode, failed).
        pub async fn run(&self, job: &Job, transfer: &serde_json::Value) -> Result<String, String> {
            let to: solana_sdk::pubkey::Pubkey =
                transfer["to"].as_str().and_then(|t| t.parse().ok()).ok_or("inputs.transfer.to is not a key")?;
            let amount: u64 = transfer["amount"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .ok_or("inputs.transfer.amount is not base units")?;
            let mode = transfer["mode"].as_str().unwrap_or("honest");
            let (mint, program) = (job.mint, job.token_program);
            let mint_account = self.rpc.get_account(&mint).await.map_err(|e| e.to_string())?;
            let decimals = *mint_account.data.get(44).ok_or("the mint account is too short")?;
            let ata = |owner| {
                anchor_spl::associated_token::get_associated_token_address_with_program_id(&owner, &mint, &program)
            };
            let me = self.wallet.pubkey();
            let send = |amount| {
                transfer_checked(&program, &ata(me), &mint, &ata(to), &me, &[], amount, decimals)
                    .map_err(|e| e.to_string())
            };
            let (ixs, signer) = match mode {
                "honest" => (vec![send(amount)?], &self.wallet),
                "system" => {
                    (vec![send(amount)?, solana_system_interface::instruction::transfer(&me, &to, 1)], &self.wallet)
                }
                // far more than the wallet holds: the transaction lands and fails
                "fail" => (vec![send(amount.saturating_mul(1_000_000_000))?], &self.wallet),
                "foreign" => {
                    let other = self.foreign.as_ref().ok_or("mode foreign needs --foreign-wallet")?;
                    (vec![solana_system_interface::instruction::transfer(&other.pubkey(), &to, 1)], other)
                }
                other => return Err(format!("unknown transfer mode {other:?}")),
            };
            let blockhash = self.rpc.get_latest_blockhash().await.map_err(|e| e.to_string())?;
            let tx = Transaction::new_signed_with_payer(&ixs, Some(&signer.pubkey()), &[signer], blockhash);
            // no preflight: a transfer that fails must still land, as a failed transaction
            let config =
                solana_rpc_client_api::config::RpcSendTransactionConfig { skip_preflight: true, ..Default::default() };
            let sig = self.rpc.send_transaction_with_config(&tx, config).await.map_err(|e| e.to_string())?;
            for _ in 0..120 {
                if let Ok(Some(_)) = self.rpc.get_signature_status(&sig).await {
                    return Ok(sig.to_string());
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(format!("transaction {sig} did not confirm in 30 s"))
        }
    }
}
