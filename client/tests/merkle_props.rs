//! Malformed proofs are rejected, never panicked on; every corruption of a valid proof fails.

use agentrail_client::merkle::*;
use proptest::prelude::*;

fn tree(n: u64) -> MerkleTree {
    let mut t = MerkleTree::new();
    for i in 0..n {
        t.append(&i.to_be_bytes());
    }
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_never_panics(index: u64, size: u64, s1: u64, s2: u64,
                                    proof in prop::collection::vec(any::<[u8; 32]>(), 0..80),
                                    leaf: [u8; 32], root: [u8; 32], root2: [u8; 32]) {
        let _ = verify_inclusion(index, size, &leaf, &proof, &root);
        let _ = verify_consistency(s1, s2, &root, &root2, &proof);
        prop_assert!(verify_inclusion(index, size, &leaf, &proof[proof.len().min(MAX_PROOF_LEN)..], &root).is_err()
            || proof.len() <= MAX_PROOF_LEN);
    }

    #[test]
    fn corrupted_inclusion_proofs_fail(n in 2u64..300, seed: u64, bit in 0usize..256, extra: [u8; 32]) {
        let t = tree(n);
        let index = seed % n;
        let leaf = t.leaf(index).unwrap();
        let root = t.root();
        let proof = t.inclusion_proof(index, n).unwrap();
        prop_assert!(verify_inclusion(index, n, &leaf, &proof, &root).is_ok());
        if !proof.is_empty() {
            let mut flipped = proof.clone();
            let at = (seed as usize / 7) % flipped.len();
            flipped[at][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(index, n, &leaf, &flipped, &root).is_err());
            prop_assert!(verify_inclusion(index, n, &leaf, &proof[..proof.len() - 1], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(extra);
        prop_assert!(verify_inclusion(index, n, &leaf, &longer, &root).is_err());
        prop_assert!(verify_inclusion((index + 1) % n, n, &leaf, &proof, &root).is_err() || n == 1);
        prop_assert!(verify_inclusion(index, n * 2, &leaf, &proof, &root).is_err());
    }

    #[test]
    fn corrupted_consistency_proofs_fail(n in 3u64..300, seed: u64, bit in 0usize..256, extra: [u8; 32]) {
        let t = tree(n);
        let m = 1 + seed % (n - 1);
        let (r1, r2) = (t.root_at(m).unwrap(), t.root());
        let proof = t.consistency_proof(m, n).unwrap();
        prop_assert!(verify_consistency(m, n, &r1, &r2, &proof).is_ok());
        let mut flipped = proof.clone();
        let at = (seed as usize / 3) % flipped.len();
        flipped[at][bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(m, n, &r1, &r2, &flipped).is_err());
        prop_assert!(verify_consistency(m, n, &r1, &r2, &proof[..proof.len() - 1]).is_err());
        let mut longer = proof.clone();
        longer.push(extra);
        prop_assert!(verify_consistency(m, n, &r1, &r2, &longer).is_err());
        prop_assert!(verify_consistency(m, n, &r2, &r1, &proof).is_err());
        prop_assert!(verify_consistency(n, m, &r2, &r1, &proof).is_err());
    }
}
