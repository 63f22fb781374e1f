//! What the keeper's integration tests share: a keeper over a real store with receipts in its
//! log, and a JSON-RPC node on loopback serving chosen accounts.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentrail_client::receipt::{GuardCheck, Receipt};
use agentrail_keeper::agent_client::{HttpExecutor, RetryPolicy};
use agentrail_keeper::store::StoredCheckpoint;
use agentrail_keeper::{
    chain::Chain, config::Config, metrics::Metrics, receipt_log::Log, service::Keeper, store::Store,
};
use ed25519_dalek::SigningKey;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

/// A keeper with the default config reading an unreachable chain.
pub async fn keeper() -> (Arc<Keeper>, tempfile::TempDir) {
    keeper_with(Config::default(), "http://127.0.0.1:1").await
}

/// A keeper configured by `config` reading the chain at `rpc`, with seven receipts, five of
/// them anchored.
pub async fn keeper_with(config: Config, rpc: &str) -> (Arc<Keeper>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("k.sqlite").display())).await.unwrap();
    let payer = Keypair::new_from_array([9; 32]);
    let payer_bytes = payer.to_bytes();
    let signing = SigningKey::from_bytes(&[9; 32]);
    let log = Log::load(store).await.unwrap();
    let job = Pubkey::new_unique();
    for i in 0..7u8 {
        let r = Receipt {
            job,
            milestone: i,
            agent: Pubkey::new_unique(),
            agent_version_seq: 1,
            keeper: payer.pubkey(),
            inputs_hash: [i; 32],
            output_hash: [i + 1; 32],
            cost: u64::from(i),
            guards: vec![GuardCheck { name: "budget".into(), passed: true, detail: String::new() }],
            tx_signatures: vec![],
            started_at: 10,
            finished_at: 11,
            terms_hash: Some([8; 32]),
        }
        .sign(&signing)
        .unwrap();
        log.append(&r, &job.to_string(), i, 100 + i64::from(i)).await.unwrap();
    }
    let root = log.root_at(5).await.unwrap();
    log.store()
        .put_checkpoint(&StoredCheckpoint {
            day: 1,
            size: 5,
            root: hex::encode(root),
            signature: "s".into(),
            anchored_at: 1,
        })
        .await
        .unwrap();
    let keeper = Keeper {
        config,
        chain: Chain::new(rpc),
        log,
        // loopback allowed: the terms test serves its document there
        executor: Box::new(HttpExecutor::new(
            Duration::from_secs(1),
            vec!["127.0.0.1".into()],
            agentrail_keeper::agent_client::DEFAULT_MAX_BODY,
        )),
        retry: RetryPolicy { max_attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO },
        payer,
        metrics: Arc::new(Metrics::default()),
        confirm_budget: Duration::from_secs(60),
        steps: agentrail_keeper::step_pool::StepPool::new(4),
        settlements: agentrail_keeper::settlement_queue::SettlementQueue::new(4, 64),
        last_scan: Default::default(),
        job_keys: agentrail_client::escrow::JobKeysCache::new(16),
        receipt_signer: agentrail_client::signing_key(&payer_bytes).unwrap(),
        manifests_checked: Default::default(),
        terms_read: Default::default(),
        notifier: agentrail_keeper::notify::Notifier::new(Default::default()).unwrap(),
        compensations_open: Default::default(),
    };
    (Arc::new(keeper), dir)
}

/// A JSON-RPC node on loopback serving `accounts` (owner, data) to `getAccountInfo` and
/// `getMultipleAccounts` (any other account is missing) and knowing no transaction
/// (`getSignatureStatuses` answers null for each). Returns its URL and a count of the calls
/// it answered.
pub async fn rpc_node(accounts: Vec<(Pubkey, Pubkey, Vec<u8>)>) -> (String, Arc<AtomicUsize>) {
    use base64::Engine;
    use serde_json::{Value, json};
    let accounts: Arc<std::collections::HashMap<String, (Pubkey, Vec<u8>)>> =
        Arc::new(accounts.into_iter().map(|(k, owner, data)| (k.to_string(), (owner, data))).collect());
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let answer = move |axum::Json(call): axum::Json<Value>| {
        let accounts = accounts.clone();
        counter.fetch_add(1, Ordering::SeqCst);
        async move {
            let encode = |key: &Value| {
                accounts.get(key.as_str().unwrap_or_default()).map(|(owner, data)| {
                    json!({
                        "lamports": 1_000_000, "owner": owner.to_string(), "executable": false, "rentEpoch": 0,
                        "space": data.len(),
                        "data": [base64::engine::general_purpose::STANDARD.encode(data), "base64"],
                    })
                })
            };
            let params = &call["params"];
            let value = match call["method"].as_str() {
                Some("getAccountInfo") => json!(encode(&params[0])),
                Some("getMultipleAccounts") => {
                    json!(params[0].as_array().map(|keys| keys.iter().map(encode).collect::<Vec<_>>()))
                }
                Some("getSignatureStatuses") => {
                    json!(params[0].as_array().map(|sigs| sigs.iter().map(|_| Value::Null).collect::<Vec<_>>()))
                }
                other => {
                    return axum::Json(
                        json!({"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": format!("{other:?}")}}),
                    );
                }
            };
            axum::Json(json!({"jsonrpc": "2.0", "id": call["id"], "result": {"context": {"slot": 1}, "value": value}}))
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), calls)
}
