//! An agent built on the SDK: it is paid from the escrow before it works, and works once per
//! step. Its work is a stand-in (a short wait and a JSON answer); `GET /stats` reports how many
//! times the work ran for each `job:milestone` (its own counter, for the tests), and `GET /work`
//! the title of the terms' milestone each step arrived with (when the keeper sent it).
//!
//!     cargo run -p agentrail-agent --example paid_agent -- 127.0.0.1:7070 \
//!       --rpc http://127.0.0.1:8899 --agent AGENT --pay-to WALLET --mint MINT \
//!       [--price BASE_UNITS] [--answers FILE] [--work-ms MS] [--manifest FILE] [--signing-key KEYPAIR]
//!
//! With `--signing-key` (a Solana keypair file: the key registered with `agentrail agent
//! set-signing-key`) every answer is co-signed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrail_agent::{AgentConfig, PaidAgent, StepFailure};
use agentrail_client::x402::StepAnswer;
use axum::Json;
use axum::routing::get;

fn usage(what: impl std::fmt::Debug) -> ! {
    eprintln!(
        "usage: paid_agent ADDR --rpc URL --agent PUBKEY --pay-to PUBKEY --mint PUBKEY [--price N] [--answers FILE] [--work-ms MS] [--manifest FILE] [--signing-key KEYPAIR], not {what:?}"
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
    let work_ms: u64 = flags.get("work-ms").map_or(0, |m| m.parse().unwrap_or_else(|_| usage("--work-ms")));
    let runs: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let works: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let (counted, titled) = (runs.clone(), works.clone());
    let agent = PaidAgent::new(config, move |step| {
        let (runs, works) = (counted.clone(), titled.clone());
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
            Ok::<_, StepFailure>(StepAnswer { output, cost: 0, tx_signatures: vec![] })
        }
    })
    .await
    .unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let app = agent.router().merge(
        axum::Router::new()
            .route("/stats", get(move || async move { Json(runs.lock().expect("runs").clone()) }))
            .route("/work", get(move || async move { Json(works.lock().expect("works").clone()) })),
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
