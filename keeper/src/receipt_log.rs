//! The keeper's receipt log: the Merkle tree in memory, the receipts in the store. The tree is
//! rebuilt from the store at start-up, and resynchronised when another keeper sharing the
//! store appended first. Appends are made durable in groups: one writer task commits every
//! receipt queued while the previous commit ran in one transaction (one fsync for many), and
//! each append returns only once its receipt is durable.

use std::sync::Arc;

use agentrail_client::merkle::{Hash, MerkleTree, leaf_hash};
use agentrail_client::receipt::SignedReceipt;
use anyhow::{Result, anyhow, bail};
use tokio::sync::{RwLock, mpsc, oneshot};

use crate::store::{ClaimLost, StepFence, Store, StoredReceipt};

/// Most receipts committed in one transaction.
const MAX_GROUP: usize = 512;

/// The append-only log.
pub struct Log {
    tree: Arc<RwLock<MerkleTree>>,
    store: Store,
    appends: mpsc::Sender<Append>,
}

/// One receipt waiting for the writer, and where to say its index.
struct Append {
    body: Vec<u8>,
    job: String,
    milestone: u8,
    now: i64,
    /// The step claim it is stored under, if any.
    fence: Option<StepFence>,
    done: oneshot::Sender<Result<u64, AppendError>>,
}

/// Why an append failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    /// The step's claim was lost: nothing was stored (see [`ClaimLost`]).
    #[error("the step's claim was lost; the receipt was not stored")]
    ClaimLost,
    /// Anything else (a second receipt for a milestone, the store down).
    #[error("{0}")]
    Failed(String),
}

/// Appends receipts other writers (keepers sharing the store) stored since the tree was last
/// read.
async fn sync(store: &Store, tree: &RwLock<MerkleTree>) -> Result<()> {
    let mut tree = tree.write().await;
    for r in store.receipts_from(tree.size()).await? {
        let hash = leaf_hash(&r.body);
        if hex::encode(hash) != r.hash || r.leaf_index != tree.size() {
            bail!("stored receipt {} is corrupt or out of order", r.leaf_index);
        }
        tree.append_hash(hash);
    }
    Ok(())
}

/// The writer: takes every receipt queued while the previous group was committed, commits them
/// together, and answers each.
async fn writer(store: Store, tree: Arc<RwLock<MerkleTree>>, mut queue: mpsc::Receiver<Append>) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        if let Ok(indices) = commit(&store, &tree, &group).await {
            for (one, index) in group.into_iter().zip(indices) {
                let _ = one.done.send(Ok(index));
            }
            continue;
        }
        // the group failed as a whole: each on its own, so one bad receipt (a second receipt
        // for a milestone) fails alone
        for one in group {
            let result = commit(&store, &tree, std::slice::from_ref(&one)).await;
            let result = result.map(|i| i[0]).map_err(|e| match e.downcast_ref::<ClaimLost>() {
                Some(_) => AppendError::ClaimLost,
                None => AppendError::Failed(format!("{e:#}")),
            });
            let _ = one.done.send(result);
        }
    }
}

/// Commits `group` at the next indices, retrying after another writer (a keeper sharing the
/// store) took them; returns the indices.
async fn commit(store: &Store, tree: &RwLock<MerkleTree>, group: &[Append]) -> Result<Vec<u64>> {
    for _ in 0..3 {
        let mut t = tree.write().await;
        let start = t.size();
        let hashes: Vec<Hash> = group.iter().map(|a| leaf_hash(&a.body)).collect();
        let rows: Vec<StoredReceipt> = group
            .iter()
            .zip(&hashes)
            .enumerate()
            .map(|(k, (a, hash))| StoredReceipt {
                leaf_index: start + k as u64,
                job: a.job.clone(),
                milestone: a.milestone,
                hash: hex::encode(hash),
                body: a.body.clone(),
                created_at: a.now,
            })
            .collect();
        let fences: Vec<Option<StepFence>> = group.iter().map(|a| a.fence.clone()).collect();
        match store.append_receipts_fenced(&rows, &fences).await {
            Ok(()) => {
                let indices: Vec<u64> = rows.iter().map(|r| r.leaf_index).collect();
                for hash in hashes {
                    t.append_hash(hash);
                }
                return Ok(indices);
            }
            // not a lost race for the indices: retrying cannot help
            Err(e) if e.downcast_ref::<ClaimLost>().is_some() => return Err(e),
            Err(_) => {}
        }
        drop(t);
        sync(store, tree).await?;
    }
    bail!("could not append the receipts: the store keeps refusing them")
}

impl Log {
    /// Loads every stored receipt, checking each one's hash, and starts the writer.
    pub async fn load(store: Store) -> Result<Self> {
        let tree = Arc::new(RwLock::new(MerkleTree::new()));
        sync(&store, &tree).await?;
        let (appends, queue) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(writer(store.clone(), tree.clone(), queue));
        Ok(Log { tree, store, appends })
    }

    /// Appends receipts other writers stored since the tree was last read.
    pub async fn sync(&self) -> Result<()> {
        sync(&self.store, &self.tree).await
    }

    /// Appends a signed receipt; returns its index once it is durable.
    pub async fn append(&self, receipt: &SignedReceipt, job: &str, milestone: u8, now: i64) -> Result<u64> {
        self.append_fenced(receipt, job, milestone, now, None).await?.map_err(|e| anyhow!(e))
    }

    /// Appends a step's receipt under the step's claim `fence`: stored, and the step marked
    /// done, in one transaction, only while the claim holds (`Ok(Err(ClaimLost))` otherwise).
    /// The outer error is the writer having stopped.
    pub async fn append_fenced(
        &self,
        receipt: &SignedReceipt,
        job: &str,
        milestone: u8,
        now: i64,
        fence: Option<StepFence>,
    ) -> Result<Result<u64, AppendError>> {
        let (done, answer) = oneshot::channel();
        let append = Append { body: receipt.encode(), job: job.into(), milestone, now, fence, done };
        self.appends.send(append).await.map_err(|_| anyhow!("the receipt log's writer stopped"))?;
        answer.await.map_err(|_| anyhow!("the receipt log's writer stopped"))
    }

    /// Current size.
    pub async fn size(&self) -> u64 {
        self.tree.read().await.size()
    }

    /// Root at `size`.
    pub async fn root_at(&self, size: u64) -> Result<Hash> {
        Ok(self.tree.read().await.root_at(size)?)
    }

    /// Inclusion proof of `index` in the tree of `size`.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        Ok(self.tree.read().await.inclusion_proof(index, size)?)
    }

    /// Consistency proof from `from` to `to`.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        Ok(self.tree.read().await.consistency_proof(from, to)?)
    }

    /// The store behind the log.
    pub fn store(&self) -> &Store {
        &self.store
    }
}
