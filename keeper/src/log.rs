//! The keeper's receipt log: the Merkle tree in memory, the receipts in the store. The tree is
//! rebuilt from the store at start-up, and resynchronised when another keeper sharing the
//! store appended first.

use agentrail_client::merkle::{Hash, MerkleTree, leaf_hash};
use agentrail_client::receipt::SignedReceipt;
use anyhow::{Result, bail};
use tokio::sync::RwLock;

use crate::store::{Store, StoredReceipt};

/// The append-only log.
pub struct Log {
    tree: RwLock<MerkleTree>,
    store: Store,
}

impl Log {
    /// Loads every stored receipt, checking each one's hash.
    pub async fn load(store: Store) -> Result<Self> {
        let log = Log { tree: RwLock::new(MerkleTree::new()), store };
        log.sync().await?;
        Ok(log)
    }

    /// Appends receipts other writers (keepers sharing the store) stored since the tree was
    /// last read.
    pub async fn sync(&self) -> Result<()> {
        let mut tree = self.tree.write().await;
        for r in self.store.receipts_from(tree.size()).await? {
            let hash = leaf_hash(&r.body);
            if hex::encode(hash) != r.hash || r.leaf_index != tree.size() {
                bail!("stored receipt {} is corrupt or out of order", r.leaf_index);
            }
            tree.append_hash(hash);
        }
        Ok(())
    }

    /// Appends a signed receipt; returns its index.
    pub async fn append(&self, receipt: &SignedReceipt, job: &str, milestone: u8, now: i64) -> Result<u64> {
        let body = receipt.encode();
        let hash = leaf_hash(&body);
        for _ in 0..3 {
            let mut tree = self.tree.write().await;
            let index = tree.size();
            let row = StoredReceipt {
                leaf_index: index,
                job: job.into(),
                milestone,
                hash: hex::encode(hash),
                body: body.clone(),
                created_at: now,
            };
            if self.store.append_receipt(&row).await.is_ok() {
                tree.append_hash(hash);
                return Ok(index);
            }
            drop(tree);
            self.sync().await?;
        }
        bail!("could not append the receipt: the store keeps refusing the next index")
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
