//! The Merkle log against independent RFC 6962 implementations, bit for bit: the RFC vectors
//! as carried by the Go transparency-dev/merkle module, and pymerkle on a 10,000-leaf tree.

use agentrail_client::merkle::*;
use serde_json::Value;

fn h(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap()).unwrap().try_into().unwrap()
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(h).collect()
}

fn load(name: &str) -> Value {
    // read at run time: a binary cached for another clone must not read that clone's files
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR: run with cargo test");
    let path = format!("{dir}/tests/data/{name}");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn rfc6962_vectors() {
    let v = load("rfc6962_vectors.json");
    let mut tree = MerkleTree::new();
    for leaf in v["leaves"].as_array().unwrap() {
        tree.append(&hex::decode(leaf.as_str().unwrap()).unwrap());
    }
    for (i, root) in v["roots"].as_array().unwrap().iter().enumerate() {
        assert_eq!(tree.root_at(i as u64 + 1).unwrap(), h(root), "root of size {}", i + 1);
    }
    for case in v["inclusion"].as_array().unwrap() {
        let (index, size) = (case["index"].as_u64().unwrap(), case["size"].as_u64().unwrap());
        let expected = hashes(&case["proof"]);
        assert_eq!(tree.inclusion_proof(index, size).unwrap(), expected, "inclusion {index}/{size}");
        let root = tree.root_at(size).unwrap();
        verify_inclusion(index, size, &tree.leaf(index).unwrap(), &expected, &root).unwrap();
    }
    for case in v["consistency"].as_array().unwrap() {
        let (s1, s2) = (case["size1"].as_u64().unwrap(), case["size2"].as_u64().unwrap());
        let expected = hashes(&case["proof"]);
        assert_eq!(tree.consistency_proof(s1, s2).unwrap(), expected, "consistency {s1}->{s2}");
        verify_consistency(s1, s2, &tree.root_at(s1).unwrap(), &tree.root_at(s2).unwrap(), &expected).unwrap();
    }
}

fn pymerkle_leaf(i: u64) -> Vec<u8> {
    let mut data: Vec<u8> = (0..i % 37).map(|j| ((i * 7 + j) & 0xff) as u8).collect();
    data.extend_from_slice(&i.to_le_bytes());
    data
}

#[test]
fn pymerkle_random_trees_up_to_10000_leaves() {
    let v = load("pymerkle_vectors.json");
    let mut tree = MerkleTree::new();
    for i in 0..v["leaves"].as_u64().unwrap() {
        tree.append(&pymerkle_leaf(i));
    }
    let cases = v["cases"].as_array().unwrap();
    let roots: Vec<(u64, Hash)> = cases.iter().map(|c| (c["size"].as_u64().unwrap(), h(&c["root"]))).collect();
    for case in cases {
        let size = case["size"].as_u64().unwrap();
        let root = h(&case["root"]);
        assert_eq!(tree.root_at(size).unwrap(), root, "root of size {size}");
        for inc in case["inclusion"].as_array().unwrap() {
            let index = inc["index"].as_u64().unwrap();
            let expected = hashes(&inc["proof"]);
            assert_eq!(tree.inclusion_proof(index, size).unwrap(), expected, "inclusion {index}/{size}");
            verify_inclusion(index, size, &leaf_hash(&pymerkle_leaf(index)), &expected, &root).unwrap();
        }
    }
    // every pair of pymerkle roots is consistent by our proofs
    for (i, &(s1, r1)) in roots.iter().enumerate().step_by(3) {
        for &(s2, r2) in &roots[i..] {
            let proof = tree.consistency_proof(s1, s2).unwrap();
            verify_consistency(s1, s2, &r1, &r2, &proof).unwrap();
        }
    }
}
