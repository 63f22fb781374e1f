//! The endpoint is bound to the registry per endpoint, not per version (review M1): an agent
//! that moves its endpoint without a new version is checked again at the new one before the
//! keeper sends anything there.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

/// An HTTP server on loopback serving `manifest` at the manifest path and counting every
/// other request (a POST of a step would land there); returns its endpoint and the count.
async fn endpoint(manifest: &'static str) -> (String, Arc<AtomicUsize>) {
    let others = Arc::new(AtomicUsize::new(0));
    let counter = others.clone();
    let app = axum::Router::new()
        .route(agentrail_client::x402::MANIFEST_PATH, axum::routing::get(move || async move { manifest }))
        .fallback(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "" }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/step"), others)
}

#[tokio::test]
async fn a_moved_endpoint_is_checked_again_before_anything_is_sent_there() {
    let (k, _dir) = common::keeper().await;
    const MANIFEST: &str = r#"{"name":"agent"}"#;
    let (first, _) = endpoint(MANIFEST).await;
    let (canary, canary_hits) = endpoint("not the registered manifest").await;
    let key = solana_sdk::pubkey::Pubkey::new_unique();
    let mut agent = agentrail_client::fixtures::agent();
    agent.manifest_hash = Sha256::digest(MANIFEST).into();
    agent.metadata_uri = first.clone();
    let guard = k.endpoint_guard(&key, &agent).await;
    assert!(guard.passed && guard.detail.ends_with(&format!("at {first}")), "{guard:?}");
    // the same version, a new endpoint: checked there, and refused
    agent.metadata_uri = canary.clone();
    let guard = k.endpoint_guard(&key, &agent).await;
    assert!(!guard.passed && guard.name == "manifest_mismatch", "{guard:?}");
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0, "nothing but the manifest was asked of it");
    // and back at the first endpoint it passes again, from what was checked there
    agent.metadata_uri = first;
    assert!(k.endpoint_guard(&key, &agent).await.passed);
}
