//! Prints test vectors from the Rust client as JSON, for the TypeScript client's tests
//! (`web/tests/encodings.test.mjs`): PDAs, every instruction the console builds with its
//! accounts and data, a decoded `Job` account, receipts of both versions, and Merkle proofs.
//! Usage: `cargo run -p agentrail-client --example ts_vectors > web/build/vectors.json`.

use agentrail::state::Job;
use agentrail_client::accounts::zero_copy_bytes;
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::merkle::MerkleTree;
use agentrail_client::pda;
use agentrail_client::receipt::{GuardCheck, Receipt, ReceiptJson};
use anchor_lang::Discriminator;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use serde_json::{Value, json};

/// A fixed key per label, so the vectors are the same on every run.
fn key(label: u8) -> Pubkey {
    Pubkey::new_from_array([label; 32])
}

fn ix_json(name: &str, ix: &Instruction) -> Value {
    json!({
        "name": name,
        "program": ix.program_id.to_string(),
        "accounts": ix.accounts.iter().map(|m| json!([m.pubkey.to_string(), m.is_signer, m.is_writable])).collect::<Vec<_>>(),
        "data": hex::encode(&ix.data),
    })
}

fn keys_json(k: &JobKeys) -> Value {
    json!({
        "job": k.job.to_string(), "poster": k.poster.to_string(), "agent": k.agent.to_string(),
        "mint": k.mint.to_string(), "token_program": k.token_program.to_string(), "vault": k.vault.to_string(),
        "certification": k.certification.map(|c| c.to_string()), "payee_token": k.payee_token.to_string(),
        "poster_token": k.poster_token.to_string(), "track_record": k.track_record.to_string(),
    })
}

/// Every instruction of the program as the Rust client builds it, and the accounts (Borsh bytes
/// as the program writes them) that Anchor's TypeScript client reads to derive the rest: the
/// TypeScript test builds each one with Anchor's own client from its arguments and the accounts
/// it cannot derive, and compares.
fn anchor_vectors() -> Value {
    use agentrail::instructions::*;
    use agentrail::state::{AgentStatus, Config, MilestoneSpec, ReceiptLog, Semver};
    use agentrail_client::{anchors, instructions as ix};
    use anchor_lang::AccountSerialize;

    let (admin, poster, agent, mint, payout, arbiter, keeper) =
        (key(9), key(1), key(2), key(3), key(4), key(5), key(6));
    let (authority, certifier, treasury, other) = (key(10), key(11), key(12), key(13));
    let token_program = anchor_spl::token::ID;
    let nonce = 77;
    let job_key = pda::job(&poster, nonce);
    let mut job = agentrail_client::fixtures::funded_job(&[(1_000_000, true), (2_500_000, false)]);
    (job.poster, job.agent, job.mint, job.token_program, job.nonce, job.keeper) =
        (poster, agent, mint, token_program, nonce, keeper);
    (job.arbiter, job.record_shard, job.min_stage, job.agent_version_seq) = (arbiter, 3, 2, 5);
    let mut agent_state = agentrail_client::fixtures::agent();
    (agent_state.payout, agent_state.authority, agent_state.version_seq) = (payout, authority, 5);
    let config = Config {
        admin,
        pending_admin: Some(other),
        treasury,
        fee_bps: 250,
        paused: false,
        agent_count: 3,
        certifier_count: 1,
        bump: 255,
    };
    let log = ReceiptLog {
        authority: keeper,
        require_consistency: true,
        size: 5,
        root: [4; 32],
        latest_day: Some(20_420),
        checkpoints: 1,
        bump: 255,
    };
    fn account(address: Pubkey, data: Vec<u8>) -> Value {
        json!({ "address": address.to_string(), "data": hex::encode(data) })
    }
    fn borsh(state: &impl AccountSerialize) -> Vec<u8> {
        let mut data = Vec::new();
        state.try_serialize(&mut data).expect("an account serializes");
        data
    }
    let accounts = json!([
        account(job_key, zero_copy_bytes(&job)),
        account(agent, borsh(&agent_state)),
        account(pda::config(), borsh(&config)),
        account(pda::receipt_log(&keeper), borsh(&log)),
    ]);
    let keys = JobKeys::new(job_key, &job, &agent_state);
    let version = Semver { major: 1, minor: 2, patch: 3 };
    let create = |min_stage| CreateJobArgs {
        nonce,
        milestones: vec![MilestoneSpec { amount: 5, requires_approval: true }],
        keeper,
        min_stage,
        deadline: 1_800_000_000,
        review_window: 3_600,
        terms_hash: [7; 32],
        terms_uri: "https://terms.example/77.json".into(),
        step_timeout: 600,
        arbiter: Some(arbiter),
        dispute_window: 7_200,
        dispute_default_bps: 5_000,
        record_shard: 2,
    };
    let register = RegisterAgentArgs { name: "a".into(), metadata_uri: "u".into(), manifest_hash: [1; 32], version };
    let attest = AttestStageArgs { stage: 2, attestation_hash: [2; 32], expires_at: 1_900_000_000 };
    let day = 20_421;
    let checkpoint = AnchorCheckpointArgs { day, size: 9, root: [3; 32], consistency_proof: Some(vec![[5; 32]]) };
    let verify = VerifyReceiptArgs { trusted_authority: keeper, leaf_hash: [6; 32], index: 2, proof: vec![[8; 32]] };
    let built = [
        ("initialize_config", ix::initialize_config(&admin, treasury, 250)),
        ("update_config", ix::update_config(&admin, UpdateConfigArgs { paused: Some(true), ..Default::default() })),
        ("propose_admin", ix::propose_admin(&admin, other)),
        ("accept_admin", ix::accept_admin(&other)),
        ("add_certifier", ix::add_certifier(&admin, certifier)),
        ("remove_certifier", ix::remove_certifier(&admin, &certifier)),
        ("register_agent", ix::register_agent(&authority, &payout, 3, register)),
        (
            "publish_version",
            ix::publish_version(&authority, &agent, PublishVersionArgs { version, manifest_hash: [9; 32] }),
        ),
        ("set_agent_status", ix::set_agent_status(&authority, &agent, AgentStatus::Paused)),
        ("update_agent_metadata", ix::update_agent_metadata(&authority, &agent, "https://a.example".into())),
        ("set_payout", ix::set_payout(&authority, &agent, &other)),
        ("set_signing_key", ix::set_signing_key(&authority, &agent, Some(&other))),
        ("set_signing_key", ix::set_signing_key(&authority, &agent, None)),
        ("transfer_agent_authority", ix::transfer_agent_authority(&authority, &agent, &other)),
        ("attest_stage", ix::attest_stage(&certifier, &agent, 5, attest)),
        ("revoke_certification", ix::revoke_certification(&certifier, &pda::certification(&agent, 5), [4; 32])),
        ("create_job", escrow::create_job(&poster, &agent, 5, &mint, &token_program, create(0))),
        ("create_job", escrow::create_job(&poster, &agent, 5, &mint, &token_program, create(2))),
        ("fund_job", escrow::fund_job(&keys, 3_512_345)),
        ("accept_job", escrow::accept_job_relayed(&authority, &keys, [5; 32])),
        ("start_milestone", escrow::start_milestone(&keeper, &job_key, 0)),
        ("submit_milestone", escrow::submit_milestone(&keeper, &keys, 0, [1; 32])),
        ("approve_milestone", escrow::approve_milestone(&keys, 0)),
        ("reject_milestone", escrow::reject_milestone(&keys, 0, true)),
        ("fail_milestone", escrow::fail_milestone(&keeper, &keys, 1, false, [2; 32])),
        ("release_after_review", escrow::release_after_review(&keys, 0)),
        ("concede_dispute", escrow::concede_dispute(&authority, &keys, 0)),
        ("decide_dispute", escrow::decide_dispute(&arbiter, &keys, 0, 2_500)),
        ("apply_dispute_default", escrow::apply_dispute_default(&keys, 0)),
        ("claim_held", escrow::claim_held(&poster, &keys, &other)),
        ("cancel_job", escrow::cancel_job(&keys)),
        ("refund_expired", escrow::refund_expired(&keys)),
        ("sweep_fees", escrow::sweep_fees(&treasury, &mint, &token_program, &[job_key])),
        ("close_job", escrow::close_job(&keys)),
        ("create_receipt_log", anchors::create_receipt_log(&keeper, true)),
        ("anchor_checkpoint", anchors::anchor_checkpoint(&keeper, checkpoint)),
        ("verify_receipt", anchors::verify_receipt(day, verify)),
    ];
    json!({
        "accounts": accounts,
        "instructions": built.iter().map(|(name, ix)| ix_json(name, ix)).collect::<Vec<_>>(),
    })
}

fn main() {
    let (poster, agent, mint, payout, arbiter) = (key(1), key(2), key(3), key(4), key(5));
    let token_program = anchor_spl::token::ID;
    let job_key = pda::job(&poster, 7);
    let mut job: Job = agentrail_client::fixtures::funded_job(&[(1_000_000, true), (2_500_000, false)]);
    (job.poster, job.agent, job.mint, job.token_program, job.nonce) = (poster, agent, mint, token_program, 7);
    job.arbiter = arbiter;
    job.set_terms_uri("https://terms.example/jobs/\u{e9}t\u{e9}.json").expect("a short URI");
    job.milestones_mut()[0].fee = 12_345;
    job.milestones_mut()[0].result_hash = [9; 32];
    let mut agent_state = agentrail_client::fixtures::agent();
    agent_state.payout = payout;
    let plain = JobKeys::new(job_key, &job, &agent_state);
    let mut certified_job = job;
    (certified_job.min_stage, certified_job.agent_version_seq) = (2, 3);
    let certified = JobKeys::new(job_key, &certified_job, &agent_state);

    let mut instructions = Vec::new();
    for (label, k) in [("plain", &plain), ("certified", &certified)] {
        instructions
            .push(json!({ "keys": label, "ix": ix_json("approve_milestone", &escrow::approve_milestone(k, 1)) }));
        instructions
            .push(json!({ "keys": label, "ix": ix_json("reject_milestone", &escrow::reject_milestone(k, 0, false)) }));
        instructions.push(
            json!({ "keys": label, "ix": ix_json("reject_milestone:cancel", &escrow::reject_milestone(k, 1, true)) }),
        );
        instructions.push(
            json!({ "keys": label, "ix": ix_json("decide_dispute", &escrow::decide_dispute(&arbiter, k, 0, 2_500)) }),
        );
        instructions.push(json!({ "keys": label, "ix": ix_json("fund_job", &escrow::fund_job(k, 3_512_345)) }));
        instructions
            .push(json!({ "keys": label, "ix": ix_json("release_after_review", &escrow::release_after_review(k, 1)) }));
        instructions.push(json!({ "keys": label, "ix": ix_json("cancel_job", &escrow::cancel_job(k)) }));
        instructions.push(json!({ "keys": label, "ix": ix_json("refund_expired", &escrow::refund_expired(k)) }));
    }

    let log = pda::receipt_log(&key(6));
    let pdas = json!({
        "config": pda::config().to_string(),
        "certifier": [key(7).to_string(), pda::certifier(&key(7)).to_string()],
        "agent": [42, pda::agent(42).to_string()],
        "certification": [agent.to_string(), 3, pda::certification(&agent, 3).to_string()],
        "job": [poster.to_string(), 7, job_key.to_string()],
        "vault": [job_key.to_string(), pda::vault(&job_key).to_string()],
        "track_record": [agent.to_string(), mint.to_string(), 2, pda::track_record(&agent, &mint, 2).to_string()],
        "receipt_log": [key(6).to_string(), log.to_string()],
        "checkpoint": [log.to_string(), 20_421, pda::checkpoint(&log, 20_421).to_string()],
        "ata": [payout.to_string(), mint.to_string(), pda::ata(&payout, &mint, &token_program).to_string()],
    });

    let job_bytes = zero_copy_bytes(&job);
    assert_eq!(&job_bytes[..8], Job::DISCRIMINATOR);

    // receipts: version 2 co-signed, version 1 plain; a tampered copy is the TS test's to make
    let keeper = ed25519_dalek::SigningKey::from_bytes(&[11u8; 32]);
    let vendor = ed25519_dalek::SigningKey::from_bytes(&[12u8; 32]);
    let receipt = |terms: Option<[u8; 32]>| Receipt {
        job: job_key,
        milestone: 1,
        agent,
        agent_version_seq: 3,
        keeper: Pubkey::from(keeper.verifying_key().to_bytes()),
        inputs_hash: [1; 32],
        output_hash: [2; 32],
        cost: 9_007_199_254_740_993, // above 2^53: exact only when parsed as a big integer
        guards: vec![
            GuardCheck::bounded("manifest", true, "matches".into()),
            GuardCheck::bounded("rails:max_outflow", false, "3 000 000 > 2 000 000 — ünïcode".into()),
        ],
        tx_signatures: vec![[7; 64]],
        started_at: 1_764_000_000,
        finished_at: -5,
        terms_hash: terms,
    };
    let v2 = receipt(Some([3; 32])).sign(&keeper).expect("signs").cosign(&vendor);
    let v1 = receipt(None).sign(&keeper).expect("signs");
    let receipts: Vec<Value> = [v2, v1]
        .iter()
        .map(|s| json!({ "json": ReceiptJson::from(s), "cost": s.receipt.cost.to_string(), "encoded": hex::encode(s.encode()), "hash": hex::encode(s.hash()) }))
        .collect();

    let mut tree = MerkleTree::new();
    for i in 0..13u64 {
        tree.append(&i.to_le_bytes());
    }
    let hexes = |v: Vec<[u8; 32]>| v.into_iter().map(hex::encode).collect::<Vec<_>>();
    let inclusion: Vec<Value> = [(0, 1), (4, 7), (12, 13), (5, 8)]
        .iter()
        .map(|&(i, n)| {
            json!({ "index": i, "size": n, "leaf": hex::encode(tree.leaf(i).unwrap()), "root": hex::encode(tree.root_at(n).unwrap()),
                    "proof": hexes(tree.inclusion_proof(i, n).unwrap()) })
        })
        .collect();
    let consistency: Vec<Value> = [(1, 13), (4, 8), (5, 13), (7, 7), (0, 3)]
        .iter()
        .map(|&(a, b)| {
            json!({ "from": a, "to": b, "from_root": hex::encode(tree.root_at(a).unwrap()), "to_root": hex::encode(tree.root_at(b).unwrap()),
                    "proof": hexes(tree.consistency_proof(a, b).unwrap()) })
        })
        .collect();

    // an event as the program logs it: `Program data: ` + base64(discriminator ‖ Borsh fields)
    let event = agentrail::events::MilestoneReleased {
        job: job_key,
        index: 1,
        amount: 2_500_000,
        fee: 12_345,
        payee: payout,
        status: agentrail::state::JobStatus::Completed,
    };
    let logs = vec![
        format!("Program {} invoke [1]", agentrail_client::program_id()),
        "Program log: Instruction: ApproveMilestone".to_string(),
        format!(
            "Program data: {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, anchor_lang::Event::data(&event))
        ),
        format!("Program {} success", agentrail_client::program_id()),
    ];

    let anchor = anchor_vectors();

    let out = json!({
        "program": agentrail_client::program_id().to_string(),
        "anchor": anchor,
        "pdas": pdas,
        "job_keys": { "plain": keys_json(&plain), "certified": keys_json(&certified) },
        "job_fields": { "arbiter": arbiter.to_string(), "payout": payout.to_string(), "min_stage": 2, "agent_version_seq": 3 },
        "instructions": instructions,
        "job_account": { "key": job_key.to_string(), "data": hex::encode(&job_bytes), "total": job.total().to_string(),
                          "fee0": job.milestones()[0].fee, "status": agentrail_client::escrow::job_status_name(job.status),
                          "terms_uri": job.terms_uri(), "requires_approval": job.milestones().iter().map(|m| m.needs_approval()).collect::<Vec<_>>(),
                          "funded": job.funded.to_string() },
        "receipts": receipts,
        "event": { "logs": logs, "name": "MilestoneReleased", "job": job_key.to_string(), "amount": "2500000", "payee": payout.to_string() },
        "inclusion": inclusion,
        "consistency": consistency,
    });
    println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
}
