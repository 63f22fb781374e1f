//! RFC 9162 (RFC 6962) Merkle tree hashing and proof verification, shared by the program and
//! every client. SHA-256 runs as a syscall on-chain and in software elsewhere.

use solana_sha256_hasher::hashv;

/// A 32-byte SHA-256 digest.
pub type Hash = [u8; 32];

/// Longest proof ever accepted: a tree of 2^64 leaves has depth 64.
pub const MAX_PROOF_LEN: usize = 64;

/// Why a proof does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    IndexOutOfRange,
    /// The older size is larger than the newer one.
    SizesReversed,
    /// The proof has more or fewer hashes than the sizes allow.
    WrongLength,
    /// The proof is well formed but does not lead to the expected root(s).
    RootMismatch,
}

/// `SHA-256(0x00 || data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    hashv(&[&[0u8][..], data]).to_bytes()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // The prefix and the left child in one piece: the runtime prices SHA-256 per piece, with a
    // floor for short ones, so two pieces cost less than three.
    let mut prefixed = [0u8; 33];
    prefixed[0] = 1;
    prefixed[1..].copy_from_slice(left);
    hashv(&[&prefixed[..], right]).to_bytes()
}

/// Recomputes the root of a tree of `size` leaves from leaf `index`'s hash and its audit path
/// (RFC 9162 section 2.1.3.2).
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange);
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength);
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Checks that leaf `index` with hash `leaf` is in the tree of `size` leaves with `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if root_from_inclusion(index, size, leaf, proof)? == *root { Ok(()) } else { Err(ProofError::RootMismatch) }
}

/// Checks that the tree of `size2` leaves with `root2` extends the tree of `size1` leaves with
/// `root1` (RFC 9162 section 2.1.4.2).
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesReversed);
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength);
    }
    if size1 == size2 {
        return match (proof.is_empty(), root1 == root2) {
            (false, _) => Err(ProofError::WrongLength),
            (true, false) => Err(ProofError::RootMismatch),
            (true, true) => Ok(()),
        };
    }
    if size1 == 0 {
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength) };
    }
    let (first, rest) =
        if size1.is_power_of_two() { (root1, proof) } else { proof.split_first().ok_or(ProofError::WrongLength)? };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr == *root1 && sr == *root2 { Ok(()) } else { Err(ProofError::RootMismatch) }
}
