//! The keeper's HTTP server: Prometheus metrics, health, and a read-only API over jobs,
//! receipts, inclusion proofs and consistency proofs.

use std::sync::Arc;

use agentrail_client::bundle::ReceiptBundle;
use agentrail_client::receipt::{ReceiptJson, SignedReceipt};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use solana_sdk::signer::Signer;

use crate::service::Keeper;

type Shared = Arc<Keeper>;

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// A failure inside the keeper. The answer names no detail (an RPC or database error may
/// carry their URLs, API keys included, in any spelling), only an id under which the keeper's
/// log has the whole error.
pub fn internal(k: &Keeper, e: anyhow::Error) -> Response {
    let id = failure_id(k, &e);
    error(StatusCode::INTERNAL_SERVER_ERROR, format!("the keeper could not answer (request {id}: its log has why)"))
}

/// Logs `e` (scrubbed) under a new id, and returns the id.
pub fn failure_id(k: &Keeper, e: &anyhow::Error) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = format!("{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    tracing::warn!(request = %id, error = %k.scrub(e), "request failed");
    id
}

/// The routes.
pub fn router(keeper: Shared) -> Router {
    let console = if keeper.config.console.enabled { crate::console::router() } else { Router::new() };
    let (api, listen) = (keeper.config.api.clone(), keeper.config.listen.clone());
    let routes = Router::new()
        .merge(console)
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/jobs/{job}", get(job))
        .route("/jobs/{job}/receipts", get(job_receipts))
        .route("/receipts/{index}", get(receipt))
        .route("/consistency", get(consistency))
        .route("/notifications", get(notifications))
        .route("/events", get(events))
        .with_state(keeper);
    crate::http_server::guarded(routes, &api, &listen)
}

/// Real state, not a constant: ok only when a scan completed recently (the RPC answers and the
/// loop is not wedged) and the keeper can pay its fees. 503 otherwise, naming why.
async fn health(State(k): State<Shared>) -> Response {
    let now = crate::store::unix_now();
    let last_scan = k.metrics.last_scan_unix.get();
    let scan_age = (last_scan > 0).then(|| now - last_scan);
    let balance = k.metrics.balance_lamports.get();
    let mut problems = Vec::new();
    match scan_age {
        None => problems.push("no scan has completed yet".to_string()),
        Some(age) if age > k.health_max_scan_age() => problems.push(format!("last scan {age} s ago")),
        Some(_) => {}
    }
    if k.metrics.log_diverged.get() != 0 {
        problems.push("the local receipt log diverged from the anchored one; anchoring stopped".to_string());
    }
    if last_scan > 0 && u64::try_from(balance).unwrap_or(0) < k.config.low_balance_lamports {
        problems.push(format!("balance {balance} lamports is below {}", k.config.low_balance_lamports));
    }
    let body = json!({
        "ok": problems.is_empty(), "problems": problems, "keeper": k.payer.pubkey().to_string(),
        "last_scan_age_secs": scan_age, "balance_lamports": balance, "log_size": k.log.size().await,
        "pending_intents": k.metrics.pending_intents.get(), "anchor_lag_seconds": k.metrics.anchor_lag_seconds.get(),
    });
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

async fn metrics(State(k): State<Shared>) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], k.metrics.render()).into_response()
}

async fn job(State(k): State<Shared>, Path(job): Path<String>) -> Response {
    let Ok(key) = job.parse::<solana_sdk::pubkey::Pubkey>() else {
        return error(StatusCode::BAD_REQUEST, format!("{job:?} is not a job address"));
    };
    match k.job_view(&key).await {
        Ok(Some(v)) => Json(v).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("this keeper does not serve job {job}")),
        Err(e) => internal(&k, e),
    }
}

async fn job_receipts(State(k): State<Shared>, Path(job): Path<String>) -> Response {
    let rows = match k.log.store().receipts_for_job(&job).await {
        Ok(r) => r,
        Err(e) => return internal(&k, e),
    };
    let list: Vec<_> = rows
        .iter()
        .filter_map(|r| {
            SignedReceipt::decode(&r.body)
                .ok()
                .map(|s| json!({ "index": r.leaf_index, "receipt": ReceiptJson::from(&s) }))
        })
        .collect();
    Json(list).into_response()
}

async fn receipt(State(k): State<Shared>, Path(index): Path<u64>) -> Response {
    let row = match k.log.store().receipt(index).await {
        Ok(Some(r)) => r,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("no receipt {index}")),
        Err(e) => return internal(&k, e),
    };
    let signed = match SignedReceipt::decode(&row.body) {
        Ok(s) => s,
        Err(e) => return internal(&k, anyhow::anyhow!("stored receipt {index}: {e}")),
    };
    // prove against the first anchored checkpoint that contains it, else the current tree
    let checkpoints = match k.log.store().checkpoints().await {
        Ok(c) => c,
        Err(e) => return internal(&k, e),
    };
    let (size, day) = match checkpoints.iter().find(|c| c.size > index) {
        Some(c) => (c.size, Some(c.day)),
        None => (k.log.size().await, None),
    };
    let (root, proof) = match (k.log.root_at(size).await, k.log.inclusion_proof(index, size).await) {
        (Ok(r), Ok(p)) => (r, p),
        (Err(e), _) | (_, Err(e)) => return internal(&k, e),
    };
    Json(ReceiptBundle {
        receipt: ReceiptJson::from(&signed),
        index,
        tree_size: size,
        root: hex::encode(root),
        proof: proof.iter().map(hex::encode).collect(),
        log_authority: k.payer.pubkey().to_string(),
        day,
    })
    .into_response()
}

/// `?from=&to=` sizes of the consistency proof.
#[derive(Deserialize)]
struct Range {
    from: u64,
    to: u64,
}

async fn consistency(State(k): State<Shared>, Query(r): Query<Range>) -> Response {
    match (k.log.consistency_proof(r.from, r.to).await, k.log.root_at(r.from).await, k.log.root_at(r.to).await) {
        (Ok(p), Ok(a), Ok(b)) => Json(json!({
            "from": r.from, "to": r.to, "from_root": hex::encode(a), "to_root": hex::encode(b),
            "proof": p.iter().map(hex::encode).collect::<Vec<_>>(),
        }))
        .into_response(),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => error(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct NotificationsQuery {
    job: Option<String>,
    limit: Option<u32>,
}

/// The newest notifications (at most 100, or `limit`), of one job with `job`: what was awaited,
/// and each webhook delivery's status, attempts and last error.
async fn notifications(State(k): State<Shared>, Query(q): Query<NotificationsQuery>) -> Response {
    let limit = q.limit.unwrap_or(100).min(1_000);
    match k.log.store().notifications(q.job.as_deref(), limit).await {
        Ok(rows) => Json(
            rows.iter()
                .map(|n| {
                    json!({
                        "id": n.id, "job": n.job, "milestone": n.milestone, "kind": n.kind,
                        "status": n.status, "attempts": n.attempts, "error": n.error,
                        "created_at": n.created_at, "delivered_at": n.delivered_at,
                        "payload": serde_json::from_str::<serde_json::Value>(&n.payload).unwrap_or_default(),
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => internal(&k, e),
    }
}

/// Server-sent events: each decision awaited, as it is recorded (`event:` its kind, `data:`
/// the webhook's JSON), with a keep-alive comment every 15 s. A subscriber too slow to keep up
/// is told how many it missed (`event: lagged`) and can read them at `/notifications`.
async fn events(State(k): State<Shared>) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // each subscriber holds a connection and a place in the broadcast: bounded
    if k.notifier.subscribers() >= k.config.api.max_subscribers {
        return error(StatusCode::SERVICE_UNAVAILABLE, "too many event subscribers; retry later");
    }
    let rx = k.notifier.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(payload) => {
                let kind = payload["kind"].as_str().unwrap_or("notification").to_string();
                Event::default().event(kind).data(payload.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                Event::default().event("lagged").data(n.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, std::convert::Infallible>(event), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))).into_response()
}
