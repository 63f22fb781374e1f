//! A tiny agent for demos and end-to-end tests: answers every step with an output and a cost of
//! half the budget. `--mode timeout` never answers in time; `--mode garbage` answers nonsense;
//! `--mode fail-first` answers nonsense for milestone 0 only.
//! `GET /stats` reports how many times each `job:milestone` was called.
//!
//!     cargo run -p agentrail-keeper --example demo_agent -- 127.0.0.1:7070 [--mode ok|timeout|garbage|fail-first]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

type Calls = Arc<Mutex<BTreeMap<String, u64>>>;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7070".into());
    let mode = match (args.next().as_deref(), args.next()) {
        (Some("--mode"), Some(m)) if ["ok", "timeout", "garbage", "fail-first"].contains(&m.as_str()) => m,
        (None, None) => "ok".into(),
        other => {
            eprintln!("usage: demo_agent [ADDR] [--mode ok|timeout|garbage|fail-first], not {other:?}");
            std::process::exit(2);
        }
    };
    let calls: Calls = Arc::default();
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/step",
            post(move |Json(req): Json<Value>| {
                let mode = mode.clone();
                let key = format!("{}:{}", req["job"].as_str().unwrap_or("?"), req["milestone"]);
                *counter.lock().expect("calls lock").entry(key).or_default() += 1;
                async move {
                    match mode.as_str() {
                        "timeout" => {
                            tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
                            String::new()
                        }
                        "garbage" => "<html>not a step result</html>".into(),
                        "fail-first" if req["milestone"] == 0 => "<html>not a step result</html>".into(),
                        _ => {
                            let budget = req["budget"].as_u64().unwrap_or(0);
                            json!({ "output": { "done": req["milestone"], "note": "demo step" }, "cost": budget / 2 })
                                .to_string()
                        }
                    }
                }
            }),
        )
        .route("/stats", get(move || async move { Json(json!(*calls.lock().expect("calls lock"))) }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("demo agent on http://{addr}/step");
    axum::serve(listener, app).await.expect("serve");
}
