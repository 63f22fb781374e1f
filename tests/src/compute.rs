//! Compute units of every instruction, measured on the SBF `.so`, and the budget table that
//! holds them down.

use agentrail::instructions::{
    AnchorCheckpointArgs, AttestStageArgs, CreateJobArgs, MAX_SWEEP_JOBS, PublishVersionArgs, UpdateConfigArgs,
    VerifyReceiptArgs,
};
use agentrail::state::{
    Agent, AgentStatus, Certification, Certifier, Checkpoint, ClosedJob, Config, Job, MilestoneSpec, ReceiptLog,
    Semver, TrackRecord,
};
use agentrail_client::anchors::{self, utc_day};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::events::program_units;
use agentrail_client::merkle::MerkleTree;
use agentrail_client::{instructions as ix, pda};
use anchor_lang::Space;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::env::*;
use crate::scenarios::escrow::{Fixture, REVIEW};
use crate::tokens::TOKEN;
use crate::{Chain, Sent};

/// The committed budget table: `instruction = max compute units` per line.
pub const BUDGETS: &str = include_str!("../compute_budgets.txt");

/// One instruction's measured cost.
#[derive(Clone, Debug)]
pub struct Measurement {
    pub instruction: &'static str,
    pub units: u64,
    /// The transaction's logs (a `cu-trace` build's trace points among them).
    pub logs: Vec<String>,
}

/// Where one instruction's units went, from a `cu-trace` build's trace points: (section,
/// units) in order, from Anchor's dispatch and account checks to the accounts' write-back. Each
/// trace point's own cost (measured by two in a row) is taken out. `None` without trace points.
pub fn breakdown(m: &Measurement) -> Option<Vec<(String, u64)>> {
    let consumed = format!("Program {} consumed ", agentrail::ID);
    let line = m.logs.iter().find(|l| l.starts_with(&consumed))?;
    // "consumed X of M compute units": M is what the instruction started with
    let mut words = line[consumed.len()..].split(' ');
    let used: u64 = words.next()?.parse().ok()?;
    let limit: u64 = words.nth(1)?.parse().ok()?;
    let mut points: Vec<(String, u64)> = Vec::new();
    let mut label = None;
    for l in &m.logs {
        if let Some(name) = l.strip_prefix("Program log: cu: ") {
            label = Some(name.to_string());
        } else if let (Some(left), Some(name)) = (
            l.strip_prefix("Program consumption: ").and_then(|r| r.split(' ').next()?.parse::<u64>().ok()),
            label.take(),
        ) {
            points.push((name, left));
        }
    }
    let (first, second) = (points.first()?.1, points.get(1)?.1);
    let cost = first.checked_sub(second)?;
    let mut out = vec![("dispatch, account loading and checks".to_string(), limit - first)];
    let mut previous = second;
    for (name, left) in &points[2..] {
        let section = if name == "handler end" { "handler (rest)".to_string() } else { name.clone() };
        out.push((section, previous.saturating_sub(*left).saturating_sub(cost)));
        previous = *left;
    }
    let end = points.iter().rev().find(|(n, _)| n == "handler end")?.1;
    out.push(("write-back of the accounts, return".to_string(), used.saturating_sub(limit - end)));
    out.push((format!("(trace points: {} × {cost}, not in the figures above)", points.len()), 0));
    Some(out)
}

/// Parses [`BUDGETS`] into (instruction, budget) pairs.
pub fn budgets() -> Vec<(String, u64)> {
    BUDGETS
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, cu) = l.split_once('=').unwrap_or_else(|| panic!("bad budget line {l:?}"));
            (name.trim().to_string(), cu.trim().parse().unwrap_or_else(|_| panic!("bad budget {l:?}")))
        })
        .collect()
}

/// Account types and their sizes (8-byte discriminator included) with rent-exempt minimums.
pub fn account_sizes() -> Vec<(&'static str, usize)> {
    vec![
        ("Config", 8 + Config::INIT_SPACE),
        ("Certifier", 8 + Certifier::INIT_SPACE),
        ("Agent (max strings)", 8 + Agent::INIT_SPACE),
        ("Certification", 8 + Certification::INIT_SPACE),
        ("Job (any milestones and terms URI)", Job::SPACE),
        ("ReceiptLog", 8 + ReceiptLog::INIT_SPACE),
        ("Checkpoint", 8 + Checkpoint::INIT_SPACE),
        ("TrackRecord", TrackRecord::SPACE),
        ("ClosedJob (tombstone)", ClosedJob::SPACE),
    ]
}

struct Recorder<'a> {
    env: &'a mut Env,
    out: Vec<Measurement>,
}

impl Recorder<'_> {
    fn run(&mut self, instruction: &'static str, ixs: &[Instruction], signers: &[&Keypair]) -> Sent {
        let sent = self.env.send(ixs, signers).unwrap_or_else(|f| panic!("{instruction} failed: {}", f.message));
        let units = program_units(&sent.logs).unwrap_or_else(|| panic!("{instruction}: no compute units in the logs"));
        self.out.push(Measurement { instruction, units, logs: sent.logs.clone() });
        sent
    }
}

/// What the baseline (`programs/baseline-transfer`: one Anchor instruction moving tokens out of
/// a PDA's vault, signed by the PDA) consumes on chains from `start`, which must have it loaded
/// (the SBF chain does once `scripts/build-sbf.sh` built it).
pub fn measure_baseline(start: fn() -> Box<dyn Chain>) -> u64 {
    use agentrail_baseline::{HOLDER, ID as BASELINE};
    use anchor_lang::{InstructionData, ToAccountMetas};
    let mut env = Env::bare(start());
    let mint = env.create_mint(TOKEN, None);
    let (authority, receiver) = (env.funded(), env.funded());
    let holder = solana_sdk::pubkey::Pubkey::find_program_address(&[HOLDER, authority.pubkey().as_ref()], &BASELINE).0;
    let init = Instruction {
        program_id: BASELINE,
        accounts: agentrail_baseline::accounts::InitHolder {
            authority: authority.pubkey(),
            holder,
            system_program: anchor_lang::system_program::ID,
        }
        .to_account_metas(None),
        data: agentrail_baseline::instruction::InitHolder {}.data(),
    };
    env.send(&[init], &[&authority]).unwrap_or_else(|f| panic!("baseline init_holder failed: {}", f.message));
    let vault = env.other_token_account(&holder, &mint, &TOKEN);
    let to = env.other_token_account(&receiver.pubkey(), &mint, &TOKEN);
    env.mint_to(&mint, &TOKEN, &vault, 1_000_000);
    let pay = Instruction {
        program_id: BASELINE,
        accounts: agentrail_baseline::accounts::Pay { holder, mint, vault, to, token_program: TOKEN }
            .to_account_metas(None),
        data: agentrail_baseline::instruction::Pay { amount: 250_000 }.data(),
    };
    let sent = env.send(&[pay], &[]).unwrap_or_else(|f| panic!("baseline pay failed: {}", f.message));
    assert_eq!(env.balance(&to), 250_000, "the baseline moved the tokens");
    agentrail_client::events::units_of(&BASELINE, &sent.logs).expect("the baseline's compute units in the logs")
}

/// Runs every instruction once on its happy path, on chains from `start`, and reports what
/// each consumed.
pub fn measure(start: fn() -> Box<dyn Chain>) -> Vec<Measurement> {
    let mut env = Env::bare(start());
    let admin = env.admin.pubkey();
    let (treasury, certifier) = (env.treasury.pubkey(), env.certifier.insecure_clone());
    let mut out = Vec::new();
    let mut r = Recorder { env: &mut env, out: std::mem::take(&mut out) };
    r.run("initialize_config", &[ix::initialize_config(&admin, treasury, FEE_BPS)], &[]);
    r.run(
        "update_config",
        &[ix::update_config(&admin, UpdateConfigArgs { fee_bps: Some(FEE_BPS), ..Default::default() })],
        &[],
    );
    r.run("add_certifier", &[ix::add_certifier(&admin, certifier.pubkey())], &[]);
    let spare = test_key(1_000);
    r.env.send(&[ix::add_certifier(&admin, spare.pubkey())], &[]).unwrap();
    r.run("remove_certifier", &[ix::remove_certifier(&admin, &spare.pubkey())], &[]);

    let (authority, payout, next) = (r.env.funded(), r.env.funded(), r.env.funded());
    let agent = pda::agent(0);
    r.run(
        "register_agent",
        &[ix::register_agent(&authority.pubkey(), &payout.pubkey(), 0, Env::agent_args("solver"))],
        &[&authority, &payout],
    );
    let v = PublishVersionArgs { version: Semver { major: 1, minor: 1, patch: 0 }, manifest_hash: [2; 32] };
    r.run("publish_version", &[ix::publish_version(&authority.pubkey(), &agent, v)], &[&authority]);
    r.run("set_agent_status", &[ix::set_agent_status(&authority.pubkey(), &agent, AgentStatus::Paused)], &[&authority]);
    r.env.send(&[ix::set_agent_status(&authority.pubkey(), &agent, AgentStatus::Active)], &[&authority]).unwrap();
    r.run(
        "update_agent_metadata",
        &[ix::update_agent_metadata(&authority.pubkey(), &agent, "https://a.example/v2".into())],
        &[&authority],
    );
    r.run("set_payout", &[ix::set_payout(&authority.pubkey(), &agent, &payout.pubkey())], &[&authority, &payout]);
    r.run(
        "set_signing_key",
        &[ix::set_signing_key(&authority.pubkey(), &agent, Some(&next.pubkey()))],
        &[&authority, &next],
    );
    r.run(
        "transfer_agent_authority",
        &[ix::transfer_agent_authority(&authority.pubkey(), &agent, &next.pubkey())],
        &[&authority, &next],
    );
    let attest = |stage| AttestStageArgs { stage, attestation_hash: [stage; 32], expires_at: T0 + DAY };
    r.run(
        "attest_stage (first, creates)",
        &[ix::attest_stage(&certifier.pubkey(), &agent, 2, attest(1))],
        &[&certifier],
    );
    r.run("attest_stage", &[ix::attest_stage(&certifier.pubkey(), &agent, 2, attest(2))], &[&certifier]);
    let cert = pda::certification(&agent, 2);
    r.run("revoke_certification", &[ix::revoke_certification(&certifier.pubkey(), &cert, [9; 32])], &[&certifier]);
    r.run("propose_admin", &[ix::propose_admin(&admin, next.pubkey())], &[]);
    r.run("accept_admin", &[ix::accept_admin(&next.pubkey())], &[&next]);

    let keeper = r.env.funded();
    r.run("create_receipt_log", &[anchors::create_receipt_log(&keeper.pubkey(), true)], &[&keeper]);
    let mut tree = MerkleTree::new();
    for i in 0..(1u64 << 20) {
        tree.append(&i.to_le_bytes());
    }
    let day = utc_day(T0);
    let first =
        AnchorCheckpointArgs { day, size: 1 << 19, root: tree.root_at(1 << 19).unwrap(), consistency_proof: None };
    r.run("anchor_checkpoint (first)", &[anchors::anchor_checkpoint(&keeper.pubkey(), first)], &[&keeper]);
    r.env.chain.set_time(T0 + DAY);
    let size = 1 << 20;
    let second = AnchorCheckpointArgs {
        day: day + 1,
        size,
        root: tree.root(),
        consistency_proof: Some(tree.consistency_proof(1 << 19, size).unwrap()),
    };
    r.run(
        "anchor_checkpoint (with consistency proof)",
        &[anchors::anchor_checkpoint(&keeper.pubkey(), second)],
        &[&keeper],
    );
    let index = 777_777;
    let proof = tree.inclusion_proof(index, size).unwrap();
    assert_eq!(proof.len(), 20);
    let verify =
        VerifyReceiptArgs { trusted_authority: keeper.pubkey(), leaf_hash: tree.leaf(index).unwrap(), index, proof };
    r.run("verify_receipt (depth 20)", &[anchors::verify_receipt(day + 1, verify)], &[]);
    out = std::mem::take(&mut r.out);
    out.extend(measure_escrow(start()));
    out.extend(measure_disputes(start()));
    out
}

/// The dispute instructions on a job with an arbiter and three approval milestones.
fn measure_disputes(chain: Box<dyn Chain>) -> Vec<Measurement> {
    let specs = [(10_000_000, true), (20_000_000, true), (30_000_000, true)];
    let mut f = Fixture::arbitrated(chain, &specs, 2 * REVIEW, 2_500);
    let (poster, keeper, arbiter) = (f.poster.insecure_clone(), f.keeper.insecure_clone(), f.arbiter.take().unwrap());
    let authority = f.agent_authority.insecure_clone();
    let keys = f.keys.clone();
    let mut r = Recorder { env: &mut f.env, out: Vec::new() };
    let dispute = |r: &mut Recorder, index: u8, label: Option<&'static str>| {
        let submit = escrow::submit_milestone(&keeper.pubkey(), &keys, index, [index; 32]);
        r.env.send(&[submit], &[&keeper]).unwrap();
        let reject = escrow::reject_milestone(&keys, index, false);
        match label {
            Some(label) => drop(r.run(label, &[reject], &[&poster])),
            None => drop(r.env.send(&[reject], &[&poster]).unwrap()),
        }
    };
    dispute(&mut r, 0, Some("reject_milestone (opens a dispute)"));
    let decide = escrow::decide_dispute(&arbiter.pubkey(), &keys, 0, 6_000);
    r.run("decide_dispute (split)", &[decide], &[&arbiter]);
    dispute(&mut r, 1, None);
    r.run("concede_dispute", &[escrow::concede_dispute(&authority.pubkey(), &keys, 1)], &[&authority]);
    dispute(&mut r, 2, None);
    r.env.chain.set_time(T0 + 2 * REVIEW);
    r.run("apply_dispute_default (split)", &[escrow::apply_dispute_default(&keys, 2)], &[]);
    r.out
}

fn measure_escrow(chain: Box<dyn Chain>) -> Vec<Measurement> {
    let specs = [(10_000_000, false), (20_000_000, true), (30_000_000, true), (40_000_000, true)];
    let mut f = Fixture::created(chain, TOKEN, &specs, 0);
    let poster = f.poster.insecure_clone();
    let keeper = f.keeper.insecure_clone();
    let authority = f.agent_authority.insecure_clone();
    let keys = f.keys.clone();
    let mut r = Recorder { env: &mut f.env, out: Vec::new() };
    r.run("fund_job", &[escrow::fund_job(&keys, f.total)], &[&poster]);
    r.run("start_milestone", &[escrow::start_milestone(&keeper.pubkey(), &keys.job, 0)], &[&keeper]);
    r.run("submit_milestone (releases)", &[escrow::submit_milestone(&keeper.pubkey(), &keys, 0, [1; 32])], &[&keeper]);
    r.run(
        "submit_milestone (awaits approval)",
        &[escrow::submit_milestone(&keeper.pubkey(), &keys, 1, [2; 32])],
        &[&keeper],
    );
    r.run("approve_milestone", &[escrow::approve_milestone(&keys, 1)], &[&poster]);
    r.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &keys, 2, [3; 32])], &[&keeper]).unwrap();
    r.env.chain.set_time(T0 + REVIEW);
    r.run("release_after_review", &[escrow::release_after_review(&keys, 2)], &[]);
    r.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &keys, 3, [4; 32])], &[&keeper]).unwrap();
    r.run("reject_milestone", &[escrow::reject_milestone(&keys, 3, false)], &[&poster]);
    let treasury = r.env.treasury.pubkey();
    let (mint, tp) = (f.mint, f.token_program);
    r.run("sweep_fees (1 job)", &[escrow::sweep_fees(&treasury, &mint, &tp, &[keys.job])], &[]);
    r.run("close_job", &[escrow::close_job(&keys)], &[&poster]);

    let job_args = |nonce| CreateJobArgs {
        nonce,
        milestones: vec![MilestoneSpec { amount: 1_000_000, requires_approval: true }; 16],
        keeper: keeper.pubkey(),
        min_stage: 0,
        deadline: T0 + 2 * DAY,
        review_window: REVIEW,
        terms_hash: [3; 32],
        terms_uri: "https://terms.example/jobs/16-milestones.json".into(),
        step_timeout: 600,
        arbiter: None,
        dispute_window: 0,
        dispute_default_bps: 0,
        // every job in one shard: only the first creates it
        record_shard: 0,
    };
    let agent = f.agent;
    let create = |nonce| escrow::create_job(&poster.pubkey(), &agent, 1, &mint, &tp, job_args(nonce));
    let job_keys = |nonce| {
        let job = pda::job(&poster.pubkey(), nonce);
        JobKeys { job, vault: pda::vault(&job), track_record: pda::track_record(&agent, &mint, 0), ..keys.clone() }
    };
    // a funded 16-milestone job; its creation is measured when `label` names it
    let funded_job = |r: &mut Recorder, nonce, label: Option<&'static str>| {
        match label {
            Some(label) => drop(r.run(label, &[create(nonce)], &[&poster])),
            None => drop(r.env.send(&[create(nonce)], &[&poster]).unwrap()),
        }
        let k = job_keys(nonce);
        r.env.send(&[escrow::fund_job(&k, 16 * (1_000_000 + 25_000))], &[&poster]).unwrap();
        k
    };
    // the agent accepts (after funding, so the acceptance counts the job): signing itself, or
    // through its keeper with an ed25519 instruction
    let accept = |r: &mut Recorder, k: &JobKeys, label: Option<&'static str>| {
        let job: agentrail::state::Job = r.env.fetch(&k.job);
        let ix = escrow::accept_job(&authority.pubkey(), k, job.consent_digest(&k.job));
        match label {
            Some(label) => drop(r.run(label, &[ix], &[&authority])),
            None => drop(r.env.send(&[ix], &[&authority]).unwrap()),
        }
    };
    let cancel = funded_job(&mut r, 20, Some("create_job (16 milestones, new shard)"));
    accept(&mut r, &cancel, Some("accept_job (signed by the agent)"));
    // the common case: the job's shard of its agent's record exists (only an agent's first job
    // in a mint and shard creates it); the program checks each created address by trying bumps
    // from 255 down, so the cost depends on where the job's and the vault's bumps fall
    let bumps = |nonce| {
        let job = pda::job(&poster.pubkey(), nonce);
        let find = |seeds: &[&[u8]]| anchor_lang::prelude::Pubkey::find_program_address(seeds, &agentrail::ID).1;
        (
            find(&[agentrail::state::seeds::JOB, poster.pubkey().as_ref(), &nonce.to_le_bytes()]),
            find(&[agentrail::state::seeds::VAULT, job.as_ref()]),
        )
    };
    // both at the first bump tried, as half of all addresses are
    let first = (23..).find(|n| bumps(*n) == (255, 255)).expect("a nonce at bumps 255");
    r.run("create_job (16 milestones)", &[create(first)], &[&poster]);
    // an unlucky one: the vault found six bumps down
    let unlucky = (23..).find(|n| bumps(*n) == (255, 249)).expect("a nonce with its vault at bump 249");
    r.run("create_job (16 milestones, vault at bump 249)", &[create(unlucky)], &[&poster]);
    r.run("cancel_job", &[escrow::cancel_job(&cancel)], &[&poster]);
    let fail = funded_job(&mut r, 22, None);
    let job: agentrail::state::Job = r.env.fetch(&fail.job);
    let relayed = agentrail_client::consent::Acceptance::sign(
        fail.job,
        &job,
        &ed25519_dalek::SigningKey::from_bytes(authority.secret_bytes()),
    );
    r.run("accept_job (ed25519, carried by the keeper)", &relayed.instructions(&fail), &[]);
    r.env.send(&[escrow::start_milestone(&keeper.pubkey(), &fail.job, 0)], &[&keeper]).unwrap();
    let now = r.env.chain.now();
    r.env.chain.set_time(now + 600);
    let give_up = escrow::fail_milestone(&keeper.pubkey(), &fail, 0, true, [5; 32]);
    r.run("fail_milestone (cancels 16)", &[give_up], &[&keeper]);
    let expire = funded_job(&mut r, 21, None);
    accept(&mut r, &expire, None);
    r.env.chain.set_time(T0 + 2 * DAY + 1);
    r.run("refund_expired", &[escrow::refund_expired(&expire)], &[]);

    // the most jobs one sweep takes, each with one released milestone's fee
    let one = |nonce| CreateJobArgs {
        nonce,
        milestones: vec![MilestoneSpec { amount: 1_000_000, requires_approval: false }],
        deadline: T0 + 3 * DAY,
        ..job_args(nonce)
    };
    let mut batch = Vec::new();
    for nonce in 100..100 + MAX_SWEEP_JOBS as u64 {
        let k = job_keys(nonce);
        let create = escrow::create_job(&poster.pubkey(), &agent, 1, &mint, &tp, one(nonce));
        r.env.send(&[create, escrow::fund_job(&k, 1_025_000)], &[&poster]).unwrap();
        accept(&mut r, &k, None);
        if nonce == 100 {
            let own = escrow::submit_milestone(&authority.pubkey(), &k, 0, [6; 32]);
            r.run("submit_milestone (by the agent, releases)", &[own], &[&authority]);
        } else {
            r.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &k, 0, [6; 32])], &[&keeper]).unwrap();
        }
        batch.push(k.job);
    }
    r.run("sweep_fees (12 jobs)", &[escrow::sweep_fees(&treasury, &mint, &tp, &batch)], &[]);
    r.out
}
