//! The HTTP executor against a real agent endpoint on loopback: success, timeouts, garbage,
//! server errors, flaky agents, and the allow-list.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use agentrail_keeper::executor::*;
use axum::Router;
use axum::routing::post;

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
        .route("/missing-cost", post(|| async { r#"{"output":1}"# }))
        .route("/error", post(|| async { (axum::http::StatusCode::BAD_GATEWAY, "down") }))
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

fn req(endpoint: String) -> StepRequest {
    StepRequest { job: "J".into(), milestone: 0, agent: "A".into(), budget: 1_000, endpoint }
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy { max_attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(50) }
}

#[tokio::test]
async fn executes_retries_and_classifies_failures() {
    let (base, flaky) = agent().await;
    let ex = HttpExecutor::new(Duration::from_millis(500), vec![]);

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
    let ex = HttpExecutor::new(Duration::from_millis(500), vec!["agents.example".into()]);
    let (out, attempts) = run_with_retries(&ex, &req(format!("{base}/flaky")), &policy(5)).await;
    assert!(matches!(out, Err(StepError::NotAllowed(_))));
    assert_eq!((attempts, flaky.load(Ordering::SeqCst)), (1, 0), "no retry and no request was made");
}
