//! Merkle log speed: building and rooting a million-leaf tree, generating and verifying proofs,
//! and encoding plus hashing receipts.

use agentrail_client::merkle::{MerkleTree, leaf_hash, verify_consistency, verify_inclusion};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const MILLION: u64 = 1_000_000;

fn leaves(n: u64) -> Vec<[u8; 32]> {
    (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
}

fn build(c: &mut Criterion) {
    let hashes = leaves(MILLION);
    let mut g = c.benchmark_group("tree");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MILLION));
    g.bench_function("append_1m_leaf_hashes_and_root", |b| {
        b.iter(|| {
            let mut t = MerkleTree::new();
            for h in &hashes {
                t.append_hash(*h);
            }
            t.root()
        })
    });
    g.bench_function("hash_and_append_1m_leaves_and_root", |b| {
        b.iter(|| {
            let mut t = MerkleTree::new();
            for i in 0..MILLION {
                t.append(&i.to_le_bytes());
            }
            t.root()
        })
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let mut t = MerkleTree::new();
    for h in leaves(MILLION) {
        t.append_hash(h);
    }
    let (size, old) = (MILLION - 3, 654_321);
    let root = t.root_at(size).unwrap();
    let old_root = t.root_at(old).unwrap();
    let mut g = c.benchmark_group("proofs_1m");
    g.bench_function("root_at_arbitrary_size", |b| b.iter(|| t.root_at(size - 7).unwrap()));
    g.bench_function("inclusion_generate", |b| b.iter(|| t.inclusion_proof(123_457, size).unwrap()));
    let inc = t.inclusion_proof(123_457, size).unwrap();
    let leaf = t.leaf(123_457).unwrap();
    g.bench_function("inclusion_verify", |b| b.iter(|| verify_inclusion(123_457, size, &leaf, &inc, &root).unwrap()));
    g.bench_function("consistency_generate", |b| b.iter(|| t.consistency_proof(old, size).unwrap()));
    let con = t.consistency_proof(old, size).unwrap();
    g.bench_function("consistency_verify", |b| {
        b.iter(|| verify_consistency(old, size, &old_root, &root, &con).unwrap())
    });
    g.finish();
}

criterion_group!(benches, build, proofs);
criterion_main!(benches);
