//! Chain watching: a websocket subscription to the jobs that name this keeper, so a job that
//! changes (funded, approved, a milestone submitted or released) is handled at once instead of
//! at the next poll. The periodic poll stays the source of truth: a notification that is late,
//! lost or dropped (the connection fell, the queue was full) only costs latency, never
//! correctness. The subscription is re-established with backoff whenever it ends.

use std::sync::Arc;
use std::time::Duration;

use agentrail::state::Job;
use agentrail_client::accounts::JOB_KEEPER_OFFSET;
use anchor_lang::Discriminator;
use futures::StreamExt;
use solana_account_decoder_client_types::{UiAccountData, UiAccountEncoding};
use solana_commitment_config::CommitmentConfig;
use solana_pubsub_client::nonblocking::pubsub_client::PubsubClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_sdk::pubkey::Pubkey;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// Jobs reported changed and not yet handled, at most: beyond it notifications are dropped
/// (and counted); the next poll sees those jobs anyway. Bounded memory under a flood.
pub const QUEUE: usize = 1_024;

/// Longest a connection or a subscription request may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts watching the jobs that name `keeper` over the websocket at `url`; returns the queue of
/// jobs reported changed (address and decoded state).
pub fn spawn(url: String, keeper: Pubkey, metrics: Arc<Metrics>) -> mpsc::Receiver<(Pubkey, Job)> {
    let (changed, queue) = mpsc::channel(QUEUE);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(500);
        loop {
            match watch(&url, &keeper, &changed, &metrics).await {
                // the keeper stopped listening: nothing left to do
                Ok(()) => return,
                Err(e) => {
                    metrics.chain_subscribed.set(0);
                    let shown = agentrail_client::redact::redact_url(&url);
                    tracing::warn!(url = %shown, error = %agentrail_client::redact::redact_in(&e, &[&url]),
                        retry_in = ?backoff, "chain subscription ended; polling only until it is back");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(30));
        }
    });
    queue
}

/// One subscription, until it ends: `Ok` when the receiving side is gone, `Err` (the reason)
/// when the connection or the subscription failed.
async fn watch(
    url: &str,
    keeper: &Pubkey,
    changed: &mpsc::Sender<(Pubkey, Job)>,
    metrics: &Metrics,
) -> Result<(), String> {
    // bounded: a node that accepts the connection and then says nothing must not hold the watch
    let client = tokio::time::timeout(CONNECT_TIMEOUT, PubsubClient::new(url))
        .await
        .map_err(|_| "connecting: timed out".to_string())?
        .map_err(|e| format!("connecting: {e}"))?;
    let config = RpcProgramAccountsConfig {
        filters: Some(vec![
            RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, Job::DISCRIMINATOR.to_vec())),
            RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_KEEPER_OFFSET, keeper.to_bytes().to_vec())),
        ]),
        account_config: RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            commitment: Some(CommitmentConfig::confirmed()),
            ..Default::default()
        },
        ..Default::default()
    };
    let (mut notifications, unsubscribe) =
        tokio::time::timeout(CONNECT_TIMEOUT, client.program_subscribe(&agentrail_client::program_id(), Some(config)))
            .await
            .map_err(|_| "subscribing: timed out".to_string())?
            .map_err(|e| format!("subscribing: {e}"))?;
    metrics.chain_subscribed.set(1);
    tracing::info!("watching this keeper's jobs over the websocket");
    while let Some(note) = notifications.next().await {
        metrics.chain_notifications.inc();
        let Ok(key) = note.value.pubkey.parse::<Pubkey>() else { continue };
        // a job only the program can own; anything else in a notification is ignored
        let owned = note.value.account.owner == agentrail_client::program_id().to_string();
        let data: Option<Vec<u8>> = UiAccountData::decode(&note.value.account.data).filter(|_| owned);
        let job = data.and_then(|data| agentrail_client::accounts::decode::<Job>(&data).ok());
        let Some(job) = job else { continue };
        match changed.try_send((key, job)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => metrics.chain_notifications_dropped.inc(),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                unsubscribe().await;
                return Ok(());
            }
        }
    }
    Err("the node closed the subscription".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_websocket_url_follows_the_rpc_url() {
        use crate::config::websocket_url;
        assert_eq!(websocket_url("http://127.0.0.1:8899").as_deref(), Some("ws://127.0.0.1:8900/"));
        assert_eq!(websocket_url("https://rpc.example/key").as_deref(), Some("wss://rpc.example/key"));
        assert_eq!(websocket_url("https://rpc.example:8443/").as_deref(), Some("wss://rpc.example:8444/"));
        assert_eq!(websocket_url("not a url"), None);
    }
}
