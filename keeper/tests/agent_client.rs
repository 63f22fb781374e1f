//! The HTTP executor against a real agent endpoint on loopback: success, timeouts, garbage,
//! server errors, flaky agents, the allow-list, and hostile agents (huge and trickled bodies,
//! redirects to private addresses, too many signatures).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agentrail_keeper::agent_client::*;
use axum::Router;
use axum::routing::post;
use futures::StreamExt;

async fn agent() -> (String, Arc<AtomicU32>) {
    let flaky = Arc::new(AtomicU32::new(0));
    let counter = flaky.clone();
    let app = Router::new()
        .route("/ok", post(|| async { r#"{"output":{"swapped":"12.5"},"cost":700}"# }))
        .route(
            "/slow",
            post(|| async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                r#"{"output":null,"cost":1}"#
            }),
        )
        .route("/garbage", post(|| async { "<html>oops</html>" }))
        .route("/cosigned", post(|| async { cosigned_answer(&vendor(), 5) }))
        .route(
            "/cosigned-by-other",
            post(|| async { cosigned_answer(&ed25519_dalek::SigningKey::from_bytes(&[22; 32]), 5) }),
        )
        .route("/cosigned-other-cost", post(|| async { cosigned_answer(&vendor(), 4) }))
        .route("/missing-cost", post(|| async { r#"{"output":1}"# }))
        .route("/error", post(|| async { (axum::http::StatusCode::BAD_GATEWAY, "down") }))
        .route("/huge", post(|| async { axum::body::Body::from_stream(huge_stream()) }))
        .route(
            "/redirect",
            post(|| async {
                (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", "http://localhost:1/internal")], "")
            }),
        )
        .route(
            "/many-sigs",
            post(|| async {
                let sig = solana_sdk::bs58::encode([7u8; 64]).into_string();
                serde_json::json!({"output": 1, "cost": 1, "tx_signatures": vec![sig; 17]}).to_string()
            }),
        )
        .route(
            "/echo-key",
            post(|headers: axum::http::HeaderMap| async move {
                let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                serde_json::json!({"output": key, "cost": 1}).to_string()
            }),
        )
        .route(
            "/flaky",
            post(move || {
                let c = counter.clone();
                async move {
                    if c.fetch_add(1, Ordering::SeqCst) < 2 {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy".to_string())
                    } else {
                        (axum::http::StatusCode::OK, r#"{"output":"done","cost":3}"#.to_string())
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), flaky)
}

/// 256 MiB of `[0,0,0,...` in 64 KiB chunks, produced lazily: what a hostile agent streams.
fn huge_stream() -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    let mut first = true;
    futures::stream::iter(0..4096).map(move |_| {
        let mut chunk = vec![b'0'; 65_536];
        for pair in chunk.chunks_mut(2) {
            pair[pair.len() - 1] = b',';
        }
        if std::mem::take(&mut first) {
            chunk.splice(0..0, br#"{"output":["#.iter().copied());
        }
        Ok(chunk)
    })
}

/// Peak resident memory of this process, from `/proc/self/status` (`VmHWM`, KiB).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn vendor() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[21; 32])
}

fn loopback(timeout: Duration) -> HttpExecutor {
    HttpExecutor::new(timeout, vec!["127.0.0.1".into()], DEFAULT_MAX_BODY)
}

fn req(endpoint: String) -> StepRequest {
    let step = agentrail_client::x402::StepRequest {
        schema: agentrail_client::x402::STEP_SCHEMA.into(),
        job: "J".into(),
        milestone: 0,
        agent: "A".into(),
        budget: 1_000,
        mint: "M".into(),
        deadline: 0,
        terms_hash: String::new(),
        terms_uri: String::new(),
        work: None,
        previous_results: vec![],
    };
    StepRequest { step, endpoint, pay_to: "P".into(), net_amount: 975, vendor_key: None }
}

/// The job and terms of [`signed_req`]'s step.
const SIGNED_JOB: [u8; 32] = [31; 32];
const SIGNED_TERMS: [u8; 32] = [32; 32];

/// A step for a job whose agent registered `vendor_key`.
fn signed_req(endpoint: String, vendor_key: Option<&ed25519_dalek::SigningKey>) -> StepRequest {
    let mut r = req(endpoint);
    r.step.job = anchor_lang::prelude::Pubkey::new_from_array(SIGNED_JOB).to_string();
    r.step.terms_hash = hex::encode(SIGNED_TERMS);
    r.vendor_key = vendor_key.map(|k| anchor_lang::prelude::Pubkey::from(k.verifying_key().to_bytes()));
    r
}

/// An answer and its co-signature header, by `key`, over `signed_cost` (an honest agent signs
/// the cost it reports, 5).
fn cosigned_answer(key: &ed25519_dalek::SigningKey, signed_cost: u64) -> ([(String, String); 1], String) {
    use agentrail_client::receipt::OutputClaim;
    use sha2::Digest;
    let body = r#"{"output":"quoted","cost":5}"#.to_string();
    let claim = OutputClaim {
        job: anchor_lang::prelude::Pubkey::new_from_array(SIGNED_JOB),
        milestone: 0,
        terms_hash: SIGNED_TERMS,
        output_hash: sha2::Sha256::digest(body.as_bytes()).into(),
        cost: signed_cost,
    };
    let header =
        agentrail_client::x402::encode_header(&agentrail_client::x402::OutputSignature::from(&claim.sign(key)));
    ([(agentrail_client::x402::OUTPUT_SIGNATURE.to_string(), header)], body)
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(50) }
}

#[tokio::test]
async fn executes_retries_and_classifies_failures() {
    let (base, flaky) = agent().await;
    let ex = loopback(Duration::from_millis(500));

    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/ok")), &policy(3)).await;
    let out = out.unwrap();
    assert_eq!((out.cost, attempts), (700, 1));
    assert!(String::from_utf8(out.body).unwrap().contains("swapped"));

    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/flaky")), &policy(4)).await;
    assert_eq!((out.unwrap().cost, attempts, flaky.load(Ordering::SeqCst)), (3, 3, 3));

    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/slow")), &policy(2)).await;
    assert_eq!((out.unwrap_err(), attempts), (StepError::Timeout(Duration::from_millis(500)), 2));

    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/garbage")), &policy(3)).await;
    assert!(matches!(out, Err(StepError::Garbage(_))) && attempts == 3);
    let (out, _) = run_with_retries(&ex, &req(format!("{base}/missing-cost")), &policy(1)).await;
    assert!(matches!(out, Err(StepError::Garbage(m)) if m.contains("cost")));
    let (out, _) = run_with_retries(&ex, &req(format!("{base}/error")), &policy(1)).await;
    assert_eq!(out.unwrap_err(), StepError::Status(502));
    let (out, _) = run_with_retries(&ex, &req("http://127.0.0.1:1/nothing".into()), &policy(1)).await;
    assert!(matches!(out, Err(StepError::Unreachable(_))));
}

#[tokio::test]
async fn allow_list_stops_calls_before_they_happen() {
    let (base, flaky) = agent().await;
    let ex = HttpExecutor::new(Duration::from_millis(500), vec!["agents.example".into()], DEFAULT_MAX_BODY);
    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/flaky")), &policy(5)).await;
    assert!(matches!(out, Err(StepError::NotAllowed(_))));
    assert_eq!((attempts, flaky.load(Ordering::SeqCst)), (1, 0), "no retry and no request was made");
}

#[tokio::test]
async fn private_destinations_are_refused_unless_allow_listed() {
    let (base, flaky) = agent().await;
    // an empty allow-list means "any public host": loopback, by IP or by name, is refused
    let open = HttpExecutor::new(Duration::from_millis(500), vec![], DEFAULT_MAX_BODY);
    let (out, attempts) = run_with_retries(&open, &req(format!("{base}/flaky")), &policy(3)).await;
    assert!(matches!(out, Err(StepError::PrivateDestination(_))), "{out:?}");
    // (over https: plain http is refused for any host not listed, before any lookup)
    let by_name = base.replace("http://127.0.0.1", "https://localhost");
    let (out, _) = run_with_retries(&open, &req(format!("{by_name}/flaky")), &policy(3)).await;
    assert!(matches!(out, Err(StepError::PrivateDestination(_))), "{out:?}");
    assert_eq!((attempts, flaky.load(Ordering::SeqCst)), (1, 0), "no request reached the agent");
    // an allow-listed agent cannot bounce the keeper elsewhere: redirects are not followed
    let (out, attempts) =
        run_with_retries(&loopback(Duration::from_secs(1)), &req(format!("{base}/redirect")), &policy(3)).await;
    assert_eq!((out.unwrap_err(), attempts), (StepError::Redirect("http://localhost:1/internal".into()), 1));
}

#[tokio::test]
async fn hostile_answers_are_bounded() {
    let (base, _) = agent().await;
    let ex = loopback(Duration::from_secs(20));
    let before = peak_rss_kib();
    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/huge")), &policy(3)).await;
    assert_eq!((out.unwrap_err(), attempts), (StepError::TooLarge(DEFAULT_MAX_BODY), 1), "not retried");
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(grown < 64 * 1024, "a 256 MiB answer raised peak memory by {grown} KiB");
    let (out, _) = run_with_retries(&ex, &req(format!("{base}/many-sigs")), &policy(1)).await;
    assert!(matches!(out, Err(StepError::Garbage(m)) if m.contains("17 transaction signatures")));
}

#[tokio::test]
async fn every_attempt_carries_the_steps_idempotency_key() {
    let (base, _) = agent().await;
    let (out, _) =
        run_with_retries(&loopback(Duration::from_secs(1)), &req(format!("{base}/echo-key")), &policy(1)).await;
    let body = String::from_utf8(out.unwrap().body).unwrap();
    assert!(body.contains(r#""output":"J:0""#), "{body}");
}

/// The manifest is read from the endpoint's origin at the well-known path, and a job's terms
/// from their URL, under the step's rules: capped, http(s) only, never from a destination the
/// allow-list refuses.
#[tokio::test]
async fn manifests_and_terms_come_over_http_capped() {
    let small =
        Router::new().route(agentrail_client::x402::MANIFEST_PATH, axum::routing::get(|| async { r#"{"v":1}"# }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, small).await.unwrap() });
    let ex = loopback(Duration::from_millis(500));
    assert_eq!(ex.manifest(&format!("{base}/agents/ok/step?x=1")).await.unwrap(), br#"{"v":1}"#);

    let big = Router::new().route(
        agentrail_client::x402::MANIFEST_PATH,
        axum::routing::get(|| async { axum::body::Body::from_stream(huge_stream()) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let huge = format!("http://{}/step", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, big).await.unwrap() });
    assert_eq!(ex.manifest(&huge).await, Err(StepError::TooLarge(MAX_MANIFEST_BYTES)));

    // a job's terms come over http(s) only: never a file of the keeper's
    assert!(matches!(ex.document("file:///etc/passwd", 1024).await, Err(StepError::NotAllowed(_))));
    assert_eq!(
        ex.document(&format!("{base}{}", agentrail_client::x402::MANIFEST_PATH), 3).await,
        Err(StepError::TooLarge(3))
    );
    let strict = HttpExecutor::new(Duration::from_millis(500), vec!["agents.example".into()], DEFAULT_MAX_BODY);
    assert!(matches!(strict.manifest(&format!("{base}/step")).await, Err(StepError::NotAllowed(_))));
}

/// An agent that registered a signing key must co-sign each answer with it, over this step's
/// job, milestone, terms, exact body and reported cost; anything else is refused (and retried
/// like any bad answer). An agent without a registered key is not asked for one.
#[tokio::test]
async fn agents_with_a_registered_key_must_cosign_their_answers() {
    let (base, _) = agent().await;
    let ex = loopback(Duration::from_millis(500));
    let key = vendor();
    let out = ex.execute(&signed_req(format!("{base}/cosigned"), Some(&key))).await.unwrap();
    let cosig = out.vendor.expect("the verified co-signature is kept for the receipt");
    assert_eq!(cosig.key.to_bytes(), key.verifying_key().to_bytes());

    let refused = |e: Result<StepOutput, StepError>, why: &str| match e {
        Err(StepError::VendorSignature(m)) => assert!(m.contains(why), "{m}"),
        other => panic!("expected a co-signature refusal ({why}), got {other:?}"),
    };
    refused(ex.execute(&signed_req(format!("{base}/ok"), Some(&key))).await, "sent no AGENTRAIL-OUTPUT-SIGNATURE");
    refused(ex.execute(&signed_req(format!("{base}/cosigned-by-other"), Some(&key))).await, "registered key is");
    refused(ex.execute(&signed_req(format!("{base}/cosigned-other-cost"), Some(&key))).await, "does not cover");
    // the same signature for another job's step (its claim names the other job) is refused
    let mut elsewhere = signed_req(format!("{base}/cosigned"), Some(&key));
    elsewhere.step.job = anchor_lang::prelude::Pubkey::new_from_array([33; 32]).to_string();
    refused(ex.execute(&elsewhere).await, "does not cover");
    assert_eq!(StepError::VendorSignature(String::new()).label(), "vendor_signature");

    // no registered key: answers are taken as before, and a signature is not kept
    let out = ex.execute(&signed_req(format!("{base}/cosigned"), None)).await.unwrap();
    assert_eq!((out.cost, out.vendor), (5, None));
}
