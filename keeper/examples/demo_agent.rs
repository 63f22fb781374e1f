//! A tiny agent for demos, end-to-end tests and the keeper's scale benchmark: answers every step
//! with an output and a cost of half the budget. Modes, from `--mode` for `/step` or from the
//! path for `/agents/<mode>/step` (one process serves many agents):
//! - `ok`: answers after `--latency` (e.g. `100-500`, milliseconds, spread per call);
//! - `timeout`: never answers in time;
//! - `garbage`: answers nonsense;
//! - `fail-first`: answers nonsense for milestone 0 only;
//! - `trickle`: sends a valid-looking answer one byte every 300 ms, forever;
//! - `huge`: sends a 50 MB body;
//! - `redirect`: redirects to `http://127.0.0.1:<port>/agents/ok/step` (a private address).
//!
//! `GET /stats` reports how many times each `job:milestone` was called; `GET /answers` when each
//! was last answered (unix milliseconds, `ok` answers only); `GET /.well-known/agentrail.json`
//! serves the file given with `--manifest` (the keeper checks it against the registry).
//!
//!     cargo run -p agentrail-keeper --example demo_agent -- 127.0.0.1:7070 [--mode MODE] [--latency 100-500] [--manifest FILE]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

const MODES: [&str; 7] = ["ok", "timeout", "garbage", "fail-first", "trickle", "huge", "redirect"];

#[derive(Clone)]
struct Agent {
    mode: String,
    /// Answer latency range for `ok` answers, milliseconds.
    latency: (u64, u64),
    port: u16,
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
    answers: Arc<Mutex<BTreeMap<String, u128>>>,
}

fn usage(what: impl std::fmt::Debug) -> ! {
    eprintln!(
        "usage: demo_agent [ADDR] [--mode {}] [--latency MIN-MAX] [--manifest FILE], not {what:?}",
        MODES.join("|")
    );
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let addr = match args.peek() {
        Some(a) if !a.starts_with("--") => args.next().expect("peeked"),
        _ => "127.0.0.1:7070".into(),
    };
    let (mut mode, mut latency, mut manifest) = ("ok".to_string(), (0, 0), None::<Vec<u8>>);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--mode", Some(m)) if MODES.contains(&m.as_str()) => mode = m,
            ("--manifest", Some(path)) => {
                manifest = Some(std::fs::read(&path).unwrap_or_else(|e| usage(format!("--manifest {path}: {e}"))));
            }
            ("--latency", Some(l)) => {
                let parsed = l.split_once('-').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
                latency = parsed.filter(|(a, b)| a <= b).unwrap_or_else(|| usage(&l));
            }
            other => usage(other),
        }
    }
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    let agent = Agent { mode, latency, port, calls: Arc::default(), answers: Arc::default() };
    let app = Router::new()
        .route(
            "/step",
            post(|State(a): State<Agent>, Json(req): Json<Value>| async move { a.step(&a.mode, req).await }),
        )
        .route(
            "/agents/{mode}/step",
            post(|State(a): State<Agent>, Path(mode): Path<String>, Json(req): Json<Value>| async move {
                a.step(&mode, req).await
            }),
        )
        .route("/stats", get(|State(a): State<Agent>| async move { Json(json!(*a.calls.lock().expect("calls"))) }))
        .route(
            agentrail_client::x402::MANIFEST_PATH,
            get(move || async move {
                match manifest {
                    Some(m) => ([(header::CONTENT_TYPE, "application/json")], m).into_response(),
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
        .route(
            "/answers",
            get(|State(a): State<Agent>| async move { Json(json!(*a.answers.lock().expect("answers"))) }),
        )
        .with_state(agent);
    println!("demo agent on http://{addr}/step");
    axum::serve(listener, app).await.expect("serve");
}

impl Agent {
    /// Answers one step in `mode`.
    async fn step(&self, mode: &str, req: Value) -> Response {
        let key = format!("{}:{}", req["job"].as_str().unwrap_or("?"), req["milestone"]);
        let n = {
            let mut calls = self.calls.lock().expect("calls");
            let n = calls.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let garbage = || "<html>not a step result</html>".into_response();
        match mode {
            "timeout" => {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
                garbage()
            }
            "garbage" => garbage(),
            "fail-first" if req["milestone"] == 0 => garbage(),
            "huge" => {
                // 50 MB of a JSON string: the keeper must stop reading at its cap
                let mut body = Vec::with_capacity(50 << 20);
                body.extend_from_slice(b"{\"output\":\"");
                body.resize((50 << 20) - 2, b'a');
                body.extend_from_slice(b"\"}");
                ([(header::CONTENT_TYPE, "application/json")], body).into_response()
            }
            "trickle" => {
                let bytes = futures::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some((Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b" ")), ()))
                });
                ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(bytes)).into_response()
            }
            "redirect" => {
                let to = format!("http://127.0.0.1:{}/agents/ok/step", self.port);
                (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response()
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(self.latency_for(&key, n))).await;
                let at =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
                self.answers.lock().expect("answers").insert(key, at);
                let budget = req["budget"].as_u64().unwrap_or(0);
                Json(json!({ "output": { "done": req["milestone"], "note": "demo step" }, "cost": budget / 2 }))
                    .into_response()
            }
        }
    }

    /// A latency in the configured range, spread by the call (FNV-1a of its key and count):
    /// reproducible from run to run, without a random number generator.
    fn latency_for(&self, key: &str, n: u64) -> u64 {
        let (low, high) = self.latency;
        if high == low {
            return low;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes().chain(n.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        low + h % (high - low + 1)
    }
}
