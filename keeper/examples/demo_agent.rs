//! A tiny agent for demos and end-to-end tests: answers every step with an output and a cost of
//! half the budget. `--mode timeout` never answers in time; `--mode garbage` answers nonsense.
//!
//!     cargo run -p agentrail-keeper --example demo_agent -- 127.0.0.1:7070

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7070".into());
    let mode = match (args.next().as_deref(), args.next()) {
        (Some("--mode"), Some(m)) => m,
        _ => "ok".into(),
    };
    let app = Router::new().route(
        "/step",
        post(move |Json(req): Json<Value>| {
            let mode = mode.clone();
            async move {
                match mode.as_str() {
                    "timeout" => {
                        tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
                        String::new()
                    }
                    "garbage" => "<html>not a step result</html>".into(),
                    _ => {
                        let budget = req["budget"].as_u64().unwrap_or(0);
                        json!({ "output": { "done": req["milestone"], "note": "demo step" }, "cost": budget / 2 }).to_string()
                    }
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("demo agent on http://{addr}/step");
    axum::serve(listener, app).await.expect("serve");
}
