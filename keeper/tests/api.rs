//! The keeper's read-only API over a real store: receipt bundles verify offline, consistency
//! proofs verify, metrics are Prometheus text, unknown things are 404s.

mod common;

use std::sync::Arc;
use std::time::Duration;

use agentrail_client::bundle::ReceiptBundle;
use agentrail_client::merkle::verify_consistency;
use agentrail_keeper::{api, config::Config, receipt_log::Log, service::Keeper, store::Store};
use common::{keeper, keeper_with, rpc_node};
use solana_sdk::pubkey::Pubkey;

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
/// assets), its refusals of bad input, and an unreachable RPC shown as an error page with the
/// id its log names the failure under.
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
    // what failed is in the log, under the id the page names (the RPC's address is not shown)
    assert!(main.contains("under request <code>") && !main.contains("127.0.0.1:1"), "{main}");
}

/// The keeper's own RPC URL (an API key in it) appears in no page, no API answer and no
/// error, whatever fails: pages carry the console's public RPC, failures only a request id.
#[tokio::test]
async fn the_keepers_rpc_url_is_never_shown() {
    let secret = "http://127.0.0.1:1/v2/SECRETKEY";
    let console =
        agentrail_keeper::config::ConsoleConfig { rpc_url: "https://rpc.public.example".into(), ..Default::default() };
    let config = Config { rpc_url: secret.into(), console, ..Config::default() };
    config.validate().unwrap();
    let (k, _dir) = keeper_with(config, secret).await;
    let base = serve(k).await;
    let job = Pubkey::new_unique();
    let mut seen = Vec::new();
    for path in [
        "/console/receipts/3".to_string(),
        format!("/console/jobs/{job}"),
        format!("/console/agents/{job}"),
        format!("/console/find?q={job}"),
        format!("/console/inbox?who={job}"),
        format!("/jobs/{job}"),
        "/console".to_string(),
    ] {
        let r = reqwest::get(format!("{base}{path}")).await.unwrap();
        let (status, body) = (r.status().as_u16(), r.text().await.unwrap());
        assert!(!body.contains("SECRETKEY") && !body.contains("127.0.0.1:1/"), "{path} ({status}) shows it: {body}");
        seen.push((path, status, body));
    }
    let page = &seen[0].2;
    assert!(page.contains(r#"<meta name="agentrail-rpc" content="https://rpc.public.example">"#), "{page}");
    // the failures say so, with an id the operator finds in the log
    let (_, status, body) = &seen[5];
    assert_eq!(*status, 500, "{body}");
    assert!(body.contains("could not answer (request "), "{body}");
    let (_, status, body) = &seen[1];
    assert_eq!(*status, 502, "{body}");
    assert!(body.contains("under request <code>"), "{body}");
}

/// The server's limits against the open internet: a rate per address (429 with Retry-After),
/// a token on what is not public, host names checked, a time limit on sending headers, a cap on
/// connections and on event subscribers.
#[tokio::test]
async fn the_api_limits_rates_connections_slow_clients_and_private_paths() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = agentrail_keeper::http_server::ApiConfig {
        max_connections: 3,
        header_timeout: "1s".into(),
        requests_per_minute: 600,
        max_subscribers: 1,
        token: "t0ken".into(),
        hosts: vec![],
    };
    let (k, _dir) = keeper_with(Config { api, ..Config::default() }, "http://127.0.0.1:1").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let app = api::router(k.clone());
    tokio::spawn(agentrail_keeper::http_server::serve(listener, app, 3, Duration::from_secs(1), stop, Duration::ZERO));
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    // the token: /metrics and /notifications need it, the public paths do not
    assert_eq!(client.get(format!("{base}/metrics")).send().await.unwrap().status(), 401);
    let wrong = client.get(format!("{base}/metrics")).bearer_auth("t0ke").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = client.get(format!("{base}/metrics")).bearer_auth("t0ken").send().await.unwrap();
    assert_eq!(right.status(), 200);
    assert_eq!(client.get(format!("{base}/notifications")).send().await.unwrap().status(), 401);
    assert_eq!(client.get(format!("{base}/receipts/1")).send().await.unwrap().status(), 200);
    // a keeper on loopback answers only loopback names: a page that rebinds a name of its own
    // to 127.0.0.1 cannot reach it (review M3)
    let rebound = client.get(format!("{base}/receipts/1")).header("host", "evil.example").send().await.unwrap();
    assert_eq!(rebound.status(), 421);
    let by_name = client.get(format!("{base}/receipts/1")).header("host", "localhost:1").send().await.unwrap();
    assert_eq!(by_name.status(), 200);

    // one event subscriber at a time (the first holds its stream open)
    let first = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(client.get(format!("{base}/events")).send().await.unwrap().status(), 503);
    drop(first);

    // a client trickling its headers is cut off after the header timeout
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = [0u8; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(_))), "closed (or answered 408) within the timeout, not held open: {read:?}");

    // the connection cap: three idle connections fill it, a fourth is closed unanswered
    let mut idle = Vec::new();
    for _ in 0..3 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = fourth.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let n = tokio::time::timeout(Duration::from_secs(5), fourth.read(&mut buf)).await.unwrap().unwrap_or(0);
    assert_eq!(n, 0, "refused: {}", String::from_utf8_lossy(&buf[..n]));
    drop(idle);
    // (the idle ones are cut off by the header timeout too; room again after it)
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // the rate: a burst of a tenth of the minute, then 429 naming when to come back
    let mut statuses = Vec::new();
    for _ in 0..80 {
        let r = client.get(format!("{base}/receipts/1")).send().await.unwrap();
        statuses.push((r.status().as_u16(), r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string())));
    }
    assert!(statuses.iter().any(|(s, after)| *s == 429 && after.as_deref() == Some("1")), "{statuses:?}");
}

/// A console page view never makes the keeper fetch: a job page shows the pinned terms only
/// once a step of this keeper read and checked them, never a fetched document's hash, and
/// links the terms address only when it is http(s) (audit M2).
#[tokio::test]
async fn a_page_view_never_makes_the_keeper_fetch() {
    use anchor_lang::AccountSerialize;
    use std::sync::atomic::{AtomicUsize, Ordering};
    const DOC: &str = r#"{"schema":"agentrail.terms/v1","title":"canary terms","milestones":[
        {"title":"quote","instructions":"quote it","acceptance":["fresh"],"amount":"1"}]}"#;
    // the "internal service" a hostile job points its terms at
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let canary = axum::Router::new().route(
        "/terms.json",
        axum::routing::get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { DOC }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let canary_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, canary).await.unwrap() });

    let program = agentrail_client::program_id();
    let agent = agentrail_client::fixtures::agent();
    let mut agent_bytes = Vec::new();
    agent.try_serialize(&mut agent_bytes).unwrap();
    let config = agentrail::state::Config {
        admin: Pubkey::new_unique(),
        pending_admin: None,
        treasury: Pubkey::new_unique(),
        fee_bps: 0,
        paused: false,
        agent_count: 1,
        certifier_count: 0,
        bump: 255,
    };
    let mut config_bytes = Vec::new();
    config.try_serialize(&mut config_bytes).unwrap();
    let (agent_key, hostile_key, scripted_key) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
    let mut hostile = agentrail_client::fixtures::funded_job(&[(1, false)]);
    hostile.agent = agent_key;
    hostile.set_terms_uri(&format!("http://{canary_addr}/terms.json")).unwrap();
    hostile.terms_hash = agentrail_client::terms::terms_hash(DOC.as_bytes());
    let mut scripted = hostile;
    scripted.set_terms_uri("javascript:alert(1)").unwrap();
    let mut clock = vec![0u8; 40];
    clock[32..40].copy_from_slice(&5_000i64.to_le_bytes());
    let zero_copy = agentrail_client::accounts::zero_copy_bytes;
    let (rpc, _) = rpc_node(vec![
        (hostile_key, program, zero_copy(&hostile)),
        (scripted_key, program, zero_copy(&scripted)),
        (agent_key, program, agent_bytes),
        (agentrail_client::pda::config(), program, config_bytes),
        (solana_sdk::sysvar::clock::ID, solana_sdk::sysvar::ID, clock),
    ])
    .await;
    let (k, _dir) = keeper_with(Config::default(), &rpc).await;
    let base = serve(k.clone()).await;
    let page = |key: Pubkey| {
        let url = format!("{base}/console/jobs/{key}");
        async move {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    let (status, html) = page(hostile_key).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the page view fetched the terms address");
    assert!(html.contains("not read by this keeper"), "{html}");
    assert!(!html.contains("canary terms"));
    // a step of this keeper reads and checks them: from then on the page shows them, unfetched
    k.job_terms(&hostile).await.unwrap().expect("the pinned document");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let (_, html) = page(hostile_key).await;
    assert!(html.contains("canary terms") && html.contains(">quote<"), "{html}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "shown from what the step read");
    // an address in another scheme is text, never a link
    let (status, html) = page(scripted_key).await;
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("href=\"javascript:") && html.contains("<code>javascript:alert(1)</code>"), "{html}");
}
