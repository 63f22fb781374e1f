//! A receipt together with its inclusion proof and the checkpoint it is anchored in: the file a
//! keeper hands out and anyone can verify, offline and against the chain.

use serde::{Deserialize, Serialize};

use crate::merkle::{self, Hash};
use crate::receipt::{ReceiptJson, SignedReceipt};

/// A receipt with everything needed to check it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBundle {
    pub receipt: ReceiptJson,
    /// The receipt's index in its keeper's log.
    pub index: u64,
    /// Size of the tree the proof is for (the anchored checkpoint's size).
    pub tree_size: u64,
    /// Root of that tree, hex.
    pub root: String,
    /// RFC 9162 audit path, hex, leaf to root.
    pub proof: Vec<String>,
    /// The keeper operator whose log holds it (base58).
    pub log_authority: String,
    /// UTC day of the checkpoint with `tree_size` and `root`, once anchored.
    pub day: Option<u32>,
}

/// What an offline check established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub receipt: SignedReceipt,
    pub leaf: Hash,
    pub root: Hash,
}

fn hex32(what: &str, s: &str) -> Result<Hash, String> {
    hex::decode(s).ok().and_then(|b| b.try_into().ok()).ok_or_else(|| format!("{what} is not 32 bytes of hex"))
}

impl ReceiptBundle {
    /// Checks the receipt's encoding and signatures and its inclusion proof against the bundle's
    /// root. Does not consult the chain: compare `root` with the anchored checkpoint for that.
    pub fn verify_offline(&self) -> Result<Verified, String> {
        let receipt = SignedReceipt::try_from(&self.receipt).map_err(|e| e.to_string())?;
        receipt.verify().map_err(|e| e.to_string())?;
        // the log proves something about a keeper only if it is that keeper's own log
        let keeper = receipt.receipt.keeper.to_string();
        if self.log_authority != keeper {
            return Err(format!(
                "the receipt was signed by keeper {keeper} but the bundle's log belongs to {}; only the keeper's own log counts",
                self.log_authority
            ));
        }
        let root = hex32("root", &self.root)?;
        let proof = self
            .proof
            .iter()
            .enumerate()
            .map(|(i, p)| hex32(&format!("proof[{i}]"), p))
            .collect::<Result<Vec<_>, _>>()?;
        let leaf = receipt.hash();
        merkle::verify_inclusion(self.index, self.tree_size, &leaf, &proof, &root)
            .map_err(|e| format!("inclusion proof does not verify: {e:?}"))?;
        Ok(Verified { receipt, leaf, root })
    }
}
