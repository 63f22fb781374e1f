//! The receipt log's group commit on a real SQLite store: many concurrent appends become
//! durable together, at contiguous indices, with the tree matching the store; a receipt the
//! schema refuses (a second one for a milestone) fails alone, the rest of its group lands.

use agentrail_client::merkle::{MerkleTree, leaf_hash};
use agentrail_client::receipt::{Receipt, SignedReceipt};
use agentrail_keeper::receipt_log::Log;
use agentrail_keeper::store::{StepStatus, Store};
use ed25519_dalek::SigningKey;
use solana_sdk::pubkey::Pubkey;

fn signed(job: Pubkey, milestone: u8, cost: u64) -> SignedReceipt {
    let key = SigningKey::from_bytes(&[3; 32]);
    Receipt {
        job,
        milestone,
        agent: Pubkey::new_unique(),
        agent_version_seq: 1,
        keeper: Pubkey::new_from_array(key.verifying_key().to_bytes()),
        inputs_hash: [1; 32],
        output_hash: [2; 32],
        cost,
        guards: vec![],
        tx_signatures: vec![],
        started_at: 1,
        finished_at: 2,
        terms_hash: Some([6; 32]),
    }
    .sign(&key)
    .unwrap()
}

#[tokio::test]
async fn concurrent_appends_commit_in_groups_and_a_bad_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("log.sqlite").display());
    let log = Log::load(Store::open(&url).await.unwrap()).await.unwrap();
    let jobs: Vec<Pubkey> = (0..300).map(|_| Pubkey::new_unique()).collect();
    let receipts: Vec<SignedReceipt> = jobs.iter().map(|j| signed(*j, 0, 1)).collect();
    // one duplicate milestone among them: the schema refuses it
    let duplicate = signed(jobs[7], 0, 2);
    let mut all: Vec<(&SignedReceipt, String)> = receipts.iter().zip(&jobs).map(|(r, j)| (r, j.to_string())).collect();
    all.insert(150, (&duplicate, jobs[7].to_string()));
    let results = futures::future::join_all(all.iter().map(|(r, job)| log.append(r, job, 0, 1_790_000_000))).await;
    let failed: Vec<usize> = results.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect();
    assert_eq!(failed.len(), 1, "exactly the duplicate fails: {failed:?}");
    let mut indices: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok().copied()).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..300).collect::<Vec<u64>>(), "contiguous, each once");
    // durable: a fresh load from the store rebuilds the same tree
    let reloaded = Log::load(Store::open(&url).await.unwrap()).await.unwrap();
    assert_eq!((reloaded.size().await, log.size().await), (300, 300));
    assert_eq!(reloaded.root_at(300).await.unwrap(), log.root_at(300).await.unwrap());
    let mut tree = MerkleTree::new();
    for r in reloaded.store().receipts().await.unwrap() {
        tree.append_hash(leaf_hash(&r.body));
    }
    assert_eq!(tree.root(), log.root_at(300).await.unwrap());
}

/// A step's receipt is stored under its claim: with the claim held, the receipt lands and the
/// step is done in the same transaction (its receipt index recorded); a runner whose claim was
/// taken over stores nothing, even inside a group with others that land.
#[tokio::test]
async fn fenced_appends_store_nothing_for_a_lost_claim() {
    use agentrail_keeper::receipt_log::AppendError;
    use agentrail_keeper::store::StepFence;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("log.sqlite").display());
    let log = Log::load(Store::open(&url).await.unwrap()).await.unwrap();
    let store = log.store().clone();
    let (held, lost) = (Pubkey::new_unique(), Pubkey::new_unique());
    for job in [held, lost] {
        assert!(store.claim_step(&job.to_string(), 0, "runner-a", 60).await.unwrap());
    }
    // another runner took `lost` over (as after a lapsed lease)
    sqlx_take_over(&store, &lost.to_string()).await;
    let fence = |owner: &str| Some(StepFence { owner: owner.into(), attempts: 2 });
    let (a, b, c) = (signed(held, 0, 1), signed(lost, 0, 1), signed(Pubkey::new_unique(), 0, 1));
    let (held_s, lost_s) = (held.to_string(), lost.to_string());
    let (ra, rb, rc) = tokio::join!(
        log.append_fenced(&a, &held_s, 0, 1, fence("runner-a")),
        log.append_fenced(&b, &lost_s, 0, 1, fence("runner-a")),
        log.append_fenced(&c, "plain", 0, 1, None),
    );
    assert!(matches!(rb.unwrap(), Err(AppendError::ClaimLost)), "the lost claim stores nothing");
    let (ia, ic) = (ra.unwrap().unwrap(), rc.unwrap().unwrap());
    assert_eq!(log.size().await, 2, "the others landed");
    let step = store.step(&held.to_string(), 0).await.unwrap().unwrap();
    assert_eq!((step.status, step.attempts, step.receipt_index), (StepStatus::Done, 2, Some(ia)));
    assert!(store.receipt_for(&lost.to_string(), 0).await.unwrap().is_none());
    assert_eq!(
        store.step(&lost.to_string(), 0).await.unwrap().unwrap().status,
        agentrail_keeper::store::StepStatus::Running,
        "still the new runner's"
    );
    assert_ne!(ia, ic);
}

/// Hands the step's claim to another runner, as a takeover after a lapsed lease does.
async fn sqlx_take_over(store: &Store, job: &str) {
    // the lease lapses (a negative lease), then runner-b claims it
    assert!(store.renew_claim(job, 0, "runner-a", -120).await.unwrap());
    assert!(store.claim_step(job, 0, "runner-b", 60).await.unwrap());
}
