//! What each money instruction write-locks, asserted so that no protocol-wide writable account
//! slips back onto the settlement path. Solana caps the compute that transactions writing one
//! account may use per block (12M CU), so an account every release writes caps the whole
//! protocol; the README's "Throughput" section computes the ceilings from these sets.
//!
//! Two views are checked: the program's declared accounts (the committed IDL, which `cargo idl
//! --check` keeps equal to the code) and the instructions the client builds (what the CLI and
//! the keeper actually send).

use std::collections::{BTreeMap, BTreeSet};

use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{fixtures, pda};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

/// Whose an account is, for lock contention: a job's own accounts contend with nothing else;
/// an agent's payout account and record shard with that agent's other settlements; a
/// protocol-wide account with everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    /// The job and its vault.
    Job,
    /// The poster's own accounts (its wallet paying rent, its token account).
    Poster,
    /// The agent's payout token account in the job's mint.
    AgentPayee,
    /// The job's shard of the agent's track record.
    AgentRecordShard,
    /// A claimant's own token account (the poster's, or the agent's payout wallet's).
    Claimant,
    /// Shared by every job: the config, the treasury.
    Protocol,
}

/// The scope of each writable account name in the IDL.
fn scope(name: &str) -> Scope {
    match name {
        "job" | "vault" => Scope::Job,
        "poster" | "poster_token" => Scope::Poster,
        "payee_token" => Scope::AgentPayee,
        "track_record" => Scope::AgentRecordShard,
        "destination" => Scope::Claimant,
        "config" | "treasury_token" => Scope::Protocol,
        other => panic!("writable account `{other}` has no scope here: decide whose it is and add it"),
    }
}

/// The money instructions and exactly the accounts each writes.
const MONEY: [(&str, &[&str]); 16] = [
    ("create_job", &["poster", "job", "vault", "track_record"]),
    ("fund_job", &["job", "poster_token", "vault", "track_record"]),
    ("submit_milestone", &["job", "vault", "payee_token", "track_record"]),
    ("approve_milestone", &["job", "vault", "payee_token", "track_record"]),
    ("release_after_review", &["job", "vault", "payee_token", "track_record"]),
    ("reject_milestone", &["job", "vault", "poster_token", "track_record"]),
    ("fail_milestone", &["job", "vault", "poster_token", "track_record"]),
    ("cancel_job", &["job", "vault", "poster_token", "track_record"]),
    ("refund_expired", &["job", "vault", "poster_token", "track_record"]),
    ("concede_dispute", &["job", "vault", "poster_token", "track_record"]),
    ("decide_dispute", &["job", "vault", "payee_token", "track_record", "poster_token"]),
    ("apply_dispute_default", &["job", "vault", "payee_token", "track_record", "poster_token"]),
    ("start_milestone", &["job"]),
    ("accept_job", &["job", "track_record"]),
    ("claim_held", &["job", "vault", "destination"]),
    // the job is written by the handler (it becomes a tombstone); the IDL marks it writable
    ("close_job", &["poster", "job", "vault", "poster_token"]),
];

/// Writable account names of every instruction in the committed IDL, composites flattened.
fn idl_writable() -> BTreeMap<String, Vec<String>> {
    fn flatten(accounts: &serde_json::Value, out: &mut Vec<String>) {
        for a in accounts.as_array().expect("accounts array") {
            match a.get("accounts") {
                Some(inner) => flatten(inner, out),
                None if a["writable"].as_bool() == Some(true) => out.push(a["name"].as_str().unwrap().to_string()),
                None => {}
            }
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../idl/agentrail.json");
    let idl: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    idl["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ix| {
            let mut names = Vec::new();
            flatten(&ix["accounts"], &mut names);
            (ix["name"].as_str().unwrap().to_string(), names)
        })
        .collect()
}

#[test]
fn money_instructions_write_only_their_jobs_and_agents_accounts() {
    let idl = idl_writable();
    for (name, expected) in MONEY {
        let got = idl.get(name).unwrap_or_else(|| panic!("{name} is not in the IDL"));
        assert_eq!(got, expected, "{name} writes a different set of accounts");
        let protocol: Vec<_> = got.iter().filter(|n| scope(n) == Scope::Protocol).collect();
        assert!(protocol.is_empty(), "{name} writes protocol-wide accounts {protocol:?}");
    }
    // the one instruction that writes the treasury, once per batch of jobs
    assert_eq!(idl["sweep_fees"], ["treasury_token"]);
    // every instruction that moves a job's tokens is listed above (a new one must be added)
    for (name, writable) in &idl {
        let moves_job_funds = writable.iter().any(|n| n == "vault");
        let listed = MONEY.iter().any(|(m, _)| m == name);
        assert!(!moves_job_funds || listed, "{name} writes a vault but is not in MONEY");
    }
}

/// Writable keys of built instructions, less the signers passed (their own wallets).
fn writable(ix: &Instruction, signers: &[Pubkey]) -> BTreeSet<Pubkey> {
    ix.accounts.iter().filter(|m| m.is_writable && !signers.contains(&m.pubkey)).map(|m| m.pubkey).collect()
}

#[test]
fn built_instructions_write_only_their_jobs_and_agents_accounts() {
    let job = fixtures::funded_job(&[(100, false), (200, true)]);
    let key = pda::job(&job.poster, job.nonce);
    let agent = fixtures::agent();
    let keys = JobKeys::new(key, &job, &agent);
    assert_eq!(keys.track_record, pda::track_record(&job.agent, &job.mint, job.record_shard));
    let own: BTreeSet<Pubkey> =
        [keys.job, keys.vault, keys.payee_token, keys.poster_token, keys.track_record].into_iter().collect();
    let (keeper, poster, arbiter) = (job.keeper, job.poster, Pubkey::new_unique());
    let built = [
        ("fund", escrow::fund_job(&keys, 300), poster),
        ("submit", escrow::submit_milestone(&keeper, &keys, 0, [1; 32]), keeper),
        ("approve", escrow::approve_milestone(&keys, 0), poster),
        ("release", escrow::release_after_review(&keys, 0), Pubkey::default()),
        ("reject", escrow::reject_milestone(&keys, 0, true), poster),
        ("fail", escrow::fail_milestone(&keeper, &keys, 0, false, [0; 32]), keeper),
        ("cancel", escrow::cancel_job(&keys), poster),
        ("refund", escrow::refund_expired(&keys), Pubkey::default()),
        ("concede", escrow::concede_dispute(&arbiter, &keys, 0), arbiter),
        ("decide", escrow::decide_dispute(&arbiter, &keys, 0, 5_000), arbiter),
        ("default", escrow::apply_dispute_default(&keys, 0), Pubkey::default()),
        ("start", escrow::start_milestone(&keeper, &keys.job, 0), keeper),
        ("close", escrow::close_job(&keys), poster),
    ];
    for (name, ix, signer) in built {
        let foreign: Vec<_> = writable(&ix, &[signer]).difference(&own).copied().collect();
        assert!(foreign.is_empty(), "{name} writes accounts outside its job and agent: {foreign:?}");
    }
    // a sweep writes the treasury's account and the swept jobs' own accounts, nothing else
    let treasury = Pubkey::new_unique();
    let other = Pubkey::new_unique();
    let sweep = escrow::sweep_fees(&treasury, &job.mint, &job.token_program, &[key, other]);
    let expected: BTreeSet<Pubkey> =
        [pda::ata(&treasury, &job.mint, &job.token_program), key, keys.vault, other, pda::vault(&other)]
            .into_iter()
            .collect();
    assert_eq!(writable(&sweep, &[]), expected);
}
