//! Keeper throughput: receipts built, signed, encoded and hashed per second, and receipts made
//! durable in the embedded store (SQLite, WAL, synchronous=FULL) and appended to the Merkle log
//! per second, one at a time and 256 at once (group commit) — the keeper's own work per
//! milestone, without the network.

use agentrail_client::merkle::leaf_hash;
use agentrail_client::receipt::{GuardCheck, Receipt};
use agentrail_keeper::receipt_log::Log;
use agentrail_keeper::store::Store;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use solana_sdk::pubkey::Pubkey;

fn receipt(keeper: &SigningKey, milestone: u8) -> Receipt {
    Receipt {
        job: Pubkey::new_unique(),
        milestone,
        agent: Pubkey::new_unique(),
        agent_version_seq: 3,
        keeper: Pubkey::new_from_array(keeper.verifying_key().to_bytes()),
        inputs_hash: [7; 32],
        output_hash: [9; 32],
        cost: 1_250_000,
        guards: ["cost within budget", "before deadline", "agent active", "certified at stage B"]
            .iter()
            .map(|n| GuardCheck { name: n.to_string(), passed: true, detail: "ok".into() })
            .collect(),
        tx_signatures: vec![[5; 64]],
        started_at: 1_790_000_000,
        finished_at: 1_790_000_004,
        terms_hash: Some([6; 32]),
    }
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[42; 32]);
    let mut g = c.benchmark_group("keeper");
    g.throughput(Throughput::Elements(1));
    g.bench_function("receipt: build + sign + encode + leaf hash", |b| {
        b.iter(|| {
            let signed = receipt(&key, 1).sign(&key).expect("sign");
            leaf_hash(&signed.encode())
        })
    });

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let log = rt.block_on(async { Log::load(Store::open(&url).await.expect("store")).await.expect("log") });
    let mut n = 0u64;
    g.bench_function("receipt: durable append to SQLite + Merkle log", |b| {
        b.iter_batched(
            || {
                n += 1;
                (receipt(&key, 0).sign(&key).expect("sign"), format!("job-{n}"))
            },
            |(signed, job)| rt.block_on(log.append(&signed, &job, 0, 1_790_000_000)).expect("append"),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();

    // what a busy keeper sees: many steps finishing at once, their receipts made durable in
    // groups (one transaction, one fsync, for everything queued meanwhile)
    const CONCURRENT: u64 = 256;
    let mut g = c.benchmark_group("keeper");
    g.throughput(Throughput::Elements(CONCURRENT));
    g.bench_function("receipts: 256 concurrent durable appends (group commit)", |b| {
        b.iter_batched(
            || {
                (0..CONCURRENT)
                    .map(|_| {
                        n += 1;
                        (receipt(&key, 0).sign(&key).expect("sign"), format!("job-{n}"))
                    })
                    .collect::<Vec<_>>()
            },
            |batch| {
                rt.block_on(futures::future::join_all(
                    batch.iter().map(|(signed, job)| log.append(signed, job, 0, 1_790_000_000)),
                ))
                .into_iter()
                .for_each(|r| {
                    r.expect("append");
                })
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
