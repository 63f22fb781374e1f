//! A step holds its slot for a bounded time however many transactions its agent reports
//! (review H3): the reported transactions are waited for together, one status request a
//! round, against a real JSON-RPC server on loopback that knows none of them.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use agentrail_keeper::config::Config;

#[tokio::test]
async fn sixteen_made_up_signatures_hold_a_step_for_one_wait_not_sixteen() {
    let (rpc, calls) = common::rpc_node(vec![]).await;
    let (k, _dir) = common::keeper_with(Config::default(), &rpc).await;
    let signatures: Vec<[u8; 64]> = (1..=16u8).map(|i| [i; 64]).collect();
    let reported: Vec<String> = signatures.iter().map(|s| solana_sdk::bs58::encode(s).into_string()).collect();
    let wait = Duration::from_secs(2);
    let began = Instant::now();
    let effects = k.reported_effects(&signatures, &reported, true, wait).await;
    let took = began.elapsed();
    assert!(effects.iter().all(Option::is_none), "none of them exists");
    // one wait for all sixteen (polling each in turn for its own wait would take 16 times it)
    assert!(took >= wait.saturating_sub(Duration::from_millis(600)) && took < wait * 2, "took {took:?}");
    // one status request a round (rounds of half a second), never a transaction read
    let rounds = wait.as_millis() / 500 + 1;
    let made = calls.load(Ordering::SeqCst) as u128;
    assert!((1..=rounds + 1).contains(&made), "{made} RPC calls for {rounds} rounds");
}
