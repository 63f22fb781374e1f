//! The keeper's read-only API over a real store: receipt bundles verify offline, consistency
//! proofs verify, metrics are Prometheus text, unknown things are 404s.

use std::sync::Arc;
use std::time::Duration;

use agentrail_client::bundle::ReceiptBundle;
use agentrail_client::merkle::verify_consistency;
use agentrail_client::receipt::{GuardCheck, Receipt};
use agentrail_keeper::executor::{HttpExecutor, RetryPolicy};
use agentrail_keeper::store::StoredCheckpoint;
use agentrail_keeper::{api, chain::Chain, config::Config, log::Log, metrics::Metrics, service::Keeper, store::Store};
use ed25519_dalek::SigningKey;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

async fn keeper() -> (Arc<Keeper>, tempfile::TempDir) {
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
        config: Config::default(),
        chain: Chain::new("http://127.0.0.1:1"),
        log,
        // loopback allowed: the terms test serves its document there
        executor: Box::new(HttpExecutor::new(
            Duration::from_secs(1),
            vec!["127.0.0.1".into()],
            agentrail_keeper::executor::DEFAULT_MAX_BODY,
        )),
        retry: RetryPolicy { max_attempts: 1, base_delay: Duration::ZERO, max_delay: Duration::ZERO },
        payer,
        metrics: Arc::new(Metrics::default()),
        confirm_budget: Duration::from_secs(60),
        steps: agentrail_keeper::step_pool::StepPool::new(4),
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

async fn serve(k: Arc<Keeper>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api::router(k)).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn receipts_come_with_proofs_that_verify() {
    let (k, _dir) = keeper().await;
    let base = serve(k.clone()).await;
    let client = reqwest::Client::new();
    // a receipt inside the anchored checkpoint is proven against it
    let b: ReceiptBundle = client.get(format!("{base}/receipts/3")).send().await.unwrap().json().await.unwrap();
    assert_eq!((b.index, b.tree_size, b.day), (3, 5, Some(1)));
    let v = b.verify_offline().unwrap();
    assert_eq!(v.root, k.log.root_at(5).await.unwrap());
    // a newer receipt is proven against the current tree, not yet anchored
    let b: ReceiptBundle = client.get(format!("{base}/receipts/6")).send().await.unwrap().json().await.unwrap();
    assert_eq!((b.tree_size, b.day), (7, None));
    b.verify_offline().unwrap();
    // tampering with the bundle is caught
    let mut forged = b.clone();
    forged.index = 5;
    assert!(forged.verify_offline().is_err());
    assert_eq!(client.get(format!("{base}/receipts/70")).send().await.unwrap().status(), 404);

    let c: serde_json::Value =
        client.get(format!("{base}/consistency?from=5&to=7")).send().await.unwrap().json().await.unwrap();
    let h = |v: &serde_json::Value| -> [u8; 32] { hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap() };
    let proof: Vec<[u8; 32]> = c["proof"].as_array().unwrap().iter().map(h).collect();
    verify_consistency(5, 7, &h(&c["from_root"]), &h(&c["to_root"]), &proof).unwrap();
    assert_eq!(client.get(format!("{base}/consistency?from=9&to=7")).send().await.unwrap().status(), 400);

    let job_receipts: serde_json::Value =
        client.get(format!("{base}/jobs/{}/receipts", b.receipt.job)).send().await.unwrap().json().await.unwrap();
    assert_eq!(job_receipts.as_array().unwrap().len(), 7);
    assert_eq!(client.get(format!("{base}/jobs/nope")).send().await.unwrap().status(), 400, "not an address");
}

#[tokio::test]
async fn health_and_metrics() {
    let (k, _dir) = keeper().await;
    k.metrics.releases.inc();
    let metrics = k.metrics.clone();
    let base = serve(k).await;
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    // before any scan the keeper is not known to work
    let (status, health) = get("/health").await;
    assert_eq!((status, health["ok"].as_bool()), (503, Some(false)), "{health}");
    assert!(health["problems"][0].as_str().unwrap().contains("no scan"), "{health}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    metrics.last_scan_unix.set(now);
    metrics.balance_lamports.set(1_000_000_000);
    let (status, health) = get("/health").await;
    assert_eq!((status, health["ok"].as_bool(), health["log_size"].as_u64()), (200, Some(true), Some(7)), "{health}");
    // a keeper that cannot pay its fees, or whose scans stopped, is not healthy
    metrics.balance_lamports.set(1_000);
    let (status, health) = get("/health").await;
    assert!(status == 503 && health["problems"][0].as_str().unwrap().contains("balance"), "{health}");
    metrics.balance_lamports.set(1_000_000_000);
    metrics.last_scan_unix.set(now - 3_600);
    let (status, health) = get("/health").await;
    assert!(status == 503 && health["problems"][0].as_str().unwrap().contains("last scan"), "{health}");
    let text = reqwest::get(format!("{base}/metrics")).await.unwrap().text().await.unwrap();
    assert!(text.contains("agentrail_keeper_releases_total 1"));
}

#[tokio::test]
async fn log_survives_restart_and_detects_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("k.sqlite").display());
    let store = Store::open(&url).await.unwrap();
    let log = Log::load(store.clone()).await.unwrap();
    assert_eq!(log.size().await, 0);
    store
        .append_receipt(&agentrail_keeper::store::StoredReceipt {
            leaf_index: 0,
            job: "J".into(),
            milestone: 0,
            hash: "00".repeat(32),
            body: vec![1, 2, 3],
            created_at: 1,
        })
        .await
        .unwrap();
    let err = Log::load(Store::open(&url).await.unwrap()).await.err().unwrap();
    assert!(err.to_string().contains("corrupt"), "{err}");
}

/// A pinned terms document is fetched once and then served from memory (the console's job
/// pages and every step read it); a document whose hash is not the pinned one is refused and
/// not remembered.
#[tokio::test]
async fn a_pinned_terms_document_is_read_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (k, _dir) = keeper().await;
    const DOC: &str = r#"{"schema":"agentrail.terms/v1","title":"swap","milestones":[
        {"title":"quote","instructions":"quote it","acceptance":["fresh"],"amount":"1.5"}]}"#;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/terms.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { DOC }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut job = agentrail_client::fixtures::job(&[(1, false)]);
    job.set_terms_uri(&format!("http://{addr}/terms.json")).unwrap();
    job.terms_hash = agentrail_client::terms::terms_hash(DOC.as_bytes());
    for _ in 0..3 {
        let terms = k.job_terms(&job).await.unwrap().expect("terms");
        assert_eq!((terms.title.as_str(), terms.milestones[0].title.as_str()), ("swap", "quote"));
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "read once");
    let mut other = job;
    other.terms_hash = [7; 32];
    let refused = k.job_terms(&other).await.unwrap_err();
    assert!(refused.contains("the job pinned"), "{refused}");
    assert!(k.job_terms(&other).await.is_err(), "a refused document is not remembered");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

/// The console's pages that need no chain (a receipt from the store, the bundle checker, the
/// assets), its refusals of bad input, and an unreachable RPC shown as an error page naming it.
#[tokio::test]
async fn console_pages_render_refuse_bad_input_and_name_chain_failures() {
    let (k, _dir) = keeper().await;
    let base = serve(k).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    let page = get("/console/receipts/3").await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"<section id="verify" data-index="3""#), "the browser verifies receipt 3");
    assert!(html.contains("budget") && html.contains("passed"), "its guards are listed");
    assert!(html.contains(r#"<meta name="agentrail-rpc" content="http://127.0.0.1:8899">"#), "the browser's RPC");
    assert_eq!(get("/console/receipts/70").await.unwrap().status(), 404);
    assert_eq!(get("/console/receipts/x").await.unwrap().status(), 400);
    assert_eq!(get("/console/jobs/not-a-key").await.unwrap().status(), 400);
    assert_eq!(get("/console/inbox?who=%3Cscript%3E").await.unwrap().status(), 400);
    let verify = get("/console/verify").await.unwrap().text().await.unwrap();
    assert!(verify.contains(r#"<label for="bundle-input">"#), "the paste box is labelled");
    let js = get("/console/assets/console.js").await.unwrap();
    assert!(js.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert!(js.text().await.unwrap().len() > 100_000, "the bundled client");
    // the chain is unreachable (RPC at 127.0.0.1:1): an error page, not a hang or a panic
    let job = Pubkey::new_unique();
    let failed = get(&format!("/console/jobs/{job}")).await.unwrap();
    assert_eq!(failed.status(), 502);
    let text = failed.text().await.unwrap();
    assert!(text.contains("Could not read the chain"), "{text}");
    let main = &text[text.find("<main").unwrap()..text.find("</main>").unwrap()];
    assert!(
        main.contains("error") || main.contains("refused") || main.contains("connect"),
        "names the failure: {main}"
    );
}
