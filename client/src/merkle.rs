//! An append-only RFC 9162 Merkle tree: roots at any past size, inclusion and consistency
//! proofs. Hashing and verification are the program's own ([`agentrail::merkle`]), so client
//! and chain can never disagree.
//!
//! Every complete, aligned subtree is cached level by level, so appending is amortised O(1)
//! and any root or proof costs O(log n) hashes.

pub use agentrail::merkle::{
    Hash, MAX_PROOF_LEN, ProofError, leaf_hash, node_hash, root_from_inclusion, verify_consistency, verify_inclusion,
};

/// SHA-256 of the empty string: the root of the empty tree.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Why a proof cannot be produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// A requested size is larger than the tree.
    SizeTooLarge { requested: u64, size: u64 },
    /// A leaf index is not below the requested size.
    IndexOutOfRange { index: u64, size: u64 },
    /// The older size is larger than the newer one.
    SizesReversed,
}

impl std::fmt::Display for TreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TreeError::SizeTooLarge { requested, size } => {
                write!(f, "size {requested} exceeds the tree's {size} leaves")
            }
            TreeError::IndexOutOfRange { index, size } => write!(f, "leaf {index} is not in a tree of {size} leaves"),
            TreeError::SizesReversed => f.write_str("the first size is larger than the second"),
        }
    }
}

impl std::error::Error for TreeError {}

/// An in-memory append-only Merkle tree of leaf hashes.
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    /// `levels[k][i]`: hash of the complete subtree of leaves `[i << k, (i + 1) << k)`.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends raw leaf data (hashed as a leaf); returns its index.
    pub fn append(&mut self, data: &[u8]) -> u64 {
        self.append_hash(leaf_hash(data))
    }

    /// Appends an already computed leaf hash; returns its index.
    pub fn append_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(hash);
            let len = self.levels[level].len();
            if len % 2 == 1 {
                break;
            }
            hash = node_hash(&self.levels[level][len - 2], &self.levels[level][len - 1]);
            level += 1;
        }
        index
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first().and_then(|l| l.get(index as usize)).copied()
    }

    /// MTH of leaves `[start, start + n)`, with `n >= 1` and `start` aligned as RFC 9162's
    /// recursion always leaves it.
    fn subtree(&self, start: u64, n: u64) -> Hash {
        if n.is_power_of_two() {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][(start >> k) as usize];
        }
        let k = split(n);
        node_hash(&self.subtree(start, k), &self.subtree(start + k, n - k))
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size() { Err(TreeError::SizeTooLarge { requested: size, size: self.size() }) } else { Ok(()) }
    }

    /// Root of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        Ok(if size == 0 { EMPTY_ROOT } else { self.subtree(0, size) })
    }

    /// Root of the whole tree.
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).expect("own size")
    }

    /// Audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size)?;
        if index >= size {
            return Err(TreeError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) {
        if n == 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.subtree(start, k));
        }
    }

    /// Proof that the tree of `size2` leaves extends the tree of `size1` (RFC 9162 2.1.4.1).
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size2)?;
        if size1 > size2 {
            return Err(TreeError::SizesReversed);
        }
        let mut proof = Vec::new();
        if size1 > 0 && size1 < size2 {
            self.subproof(size1, 0, size2, true, &mut proof);
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, start: u64, n: u64, complete: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !complete {
                out.push(self.subtree(start, n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, complete, out);
            out.push(self.subtree(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.subtree(start, k));
        }
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9162's definition, computed naively from the leaves.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn split_is_largest_power_below() {
        assert_eq!((split(2), split(3), split(4), split(5), split(8), split(9)), (1, 2, 2, 4, 4, 8));
    }

    #[test]
    fn roots_and_proofs_agree_with_the_definition_at_every_size() {
        let mut tree = MerkleTree::new();
        let mut leaves = Vec::new();
        assert_eq!(tree.root(), EMPTY_ROOT);
        for i in 0..130u64 {
            tree.append(&i.to_le_bytes());
            leaves.push(leaf_hash(&i.to_le_bytes()));
        }
        for size in 0..=130u64 {
            let root = tree.root_at(size).unwrap();
            assert_eq!(root, mth(&leaves[..size as usize]), "size {size}");
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert!(proof.len() <= 64 - (size - 1).leading_zeros() as usize);
                verify_inclusion(index, size, &leaves[index as usize], &proof, &root).unwrap();
            }
            for old in 0..=size {
                let proof = tree.consistency_proof(old, size).unwrap();
                verify_consistency(old, size, &tree.root_at(old).unwrap(), &root, &proof).unwrap();
            }
        }
    }

    #[test]
    fn bad_requests_are_errors() {
        let mut tree = MerkleTree::new();
        tree.append(b"a");
        assert_eq!(tree.root_at(2), Err(TreeError::SizeTooLarge { requested: 2, size: 1 }));
        assert_eq!(tree.inclusion_proof(1, 1), Err(TreeError::IndexOutOfRange { index: 1, size: 1 }));
        assert_eq!(tree.consistency_proof(1, 0), Err(TreeError::SizesReversed));
    }
}
