//! Notifications against a real store and a real webhook on loopback: recorded once, streamed,
//! signed, retried after a failure with backoff, never sent after the decision's window closed,
//! and given up after the last attempt.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentrail_keeper::metrics::Metrics;
use agentrail_keeper::notify::{Kind, Notice, Notifier, NotifyConfig, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use agentrail_keeper::store::{Store, unix_now};
use anchor_lang::prelude::Pubkey;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;

/// A webhook that answers the statuses in `script`, then 200, and keeps what it received.
async fn webhook(script: Vec<u16>) -> (String, Arc<Mutex<Vec<(HeaderMap, String)>>>) {
    let got: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let (log, script) = (got.clone(), Arc::new(Mutex::new(script.into_iter())));
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let (log, script) = (log.clone(), script.clone());
            async move {
                log.lock().unwrap().push((headers, body));
                StatusCode::from_u16(script.lock().unwrap().next().unwrap_or(200)).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

fn notice(milestone: u8, until: i64) -> Notice {
    Notice {
        kind: Kind::ApprovalNeeded,
        job: Pubkey::new_from_array([7; 32]),
        milestone,
        decider: Pubkey::new_from_array([8; 32]),
        amount: 1_000,
        mint: Pubkey::new_from_array([9; 32]),
        until,
        receipt: [1; 32],
    }
}

async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("k.sqlite").display())).await.unwrap();
    (store, dir)
}

#[tokio::test]
async fn recorded_once_streamed_signed_retried_and_never_late() {
    let (url, got) = webhook(vec![500]).await;
    let (store, _dir) = store().await;
    let metrics = Metrics::default();
    let config = NotifyConfig {
        webhook_url: url,
        webhook_secret: "k".into(),
        base_delay: "1s".into(),
        max_attempts: 3,
        ..Default::default()
    };
    let notifier = Notifier::new(config).unwrap();
    let mut events = notifier.subscribe();
    let later = unix_now() + 3_600;
    notifier.record(&store, vec![notice(0, later)], &metrics).await.unwrap();
    notifier.record(&store, vec![notice(0, later)], &metrics).await.unwrap();
    let streamed = events.try_recv().expect("streamed when recorded");
    assert!(events.try_recv().is_err(), "recorded and streamed once");
    assert_eq!(store.notifications(None, 10).await.unwrap().len(), 1);

    // first attempt: 500, retried after the backoff, not before
    assert_eq!(notifier.deliver_due(&store, &metrics).await.unwrap(), 1);
    let row = store.notifications(None, 1).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.attempts, row.error.as_deref()), ("pending", 1, Some("HTTP 500")));
    assert_eq!(notifier.deliver_due(&store, &metrics).await.unwrap(), 0, "backing off");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(notifier.deliver_due(&store, &metrics).await.unwrap(), 1);
    let row = store.notifications(None, 1).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("delivered", 2));
    assert_eq!(metrics.notifications.get("approval_needed", "delivered"), 1);

    // what the webhook got: the streamed JSON, signed over its timestamp and body
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (headers, body) in &got {
        let ts: i64 = headers[TIMESTAMP_HEADER].to_str().unwrap().parse().unwrap();
        assert_eq!(headers[SIGNATURE_HEADER].to_str().unwrap(), signature(b"k", ts, body.as_bytes()));
        assert_eq!(serde_json::from_str::<serde_json::Value>(body).unwrap(), streamed);
    }

    // a decision whose window closed before its delivery is never sent
    notifier.record(&store, vec![notice(1, unix_now() - 1)], &metrics).await.unwrap();
    notifier.deliver_due(&store, &metrics).await.unwrap();
    let rows = store.notifications(None, 10).await.unwrap();
    let late = rows.iter().find(|n| n.milestone == 1).unwrap();
    assert_eq!((late.status.as_str(), late.attempts), ("expired", 0));
    assert_eq!(got.len(), 2, "nothing more was sent");
}

#[tokio::test]
async fn a_webhook_that_never_answers_2xx_is_given_up_after_the_last_attempt() {
    let (url, got) = webhook(vec![503; 10]).await;
    let (store, _dir) = store().await;
    let metrics = Metrics::default();
    let config = NotifyConfig {
        webhook_url: url,
        webhook_secret: "k".into(),
        base_delay: "0s".into(),
        max_attempts: 2,
        ..Default::default()
    };
    let notifier = Notifier::new(config).unwrap();
    notifier.record(&store, vec![notice(0, unix_now() + 3_600)], &metrics).await.unwrap();
    notifier.deliver_due(&store, &metrics).await.unwrap();
    notifier.deliver_due(&store, &metrics).await.unwrap();
    assert_eq!(notifier.deliver_due(&store, &metrics).await.unwrap(), 0, "given up");
    let row = store.notifications(None, 1).await.unwrap().remove(0);
    assert_eq!((row.status.as_str(), row.attempts, row.error.as_deref()), ("failed", 2, Some("HTTP 503")));
    assert_eq!(got.lock().unwrap().len(), 2);
    assert_eq!(metrics.notifications.get("approval_needed", "failed"), 1);
}
