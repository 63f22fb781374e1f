//! A fuzz target for the program: random instructions, account lists and data, sent one
//! transaction at a time to a runtime holding a live escrow (a funded job, its agent, keeper,
//! poster, maybe an arbiter). Each case starts from a valid instruction of any of the program's
//! instructions, built for the current state, and mostly mutates it: data bytes flipped, cut,
//! extended or replaced, another instruction's discriminator, accounts swapped for other live
//! accounts, dropped, duplicated, their signer and writable flags changed; the clock jumps now
//! and then. After every case:
//! - a refusal is the program's own (a custom code or a `ProgramError`), never a panic, an abort,
//!   exhausted compute or a runtime-detected violation ([`crate::abort_of`]), with one exception
//!   the runtime makes on the program's behalf: an account the program creates with Anchor's
//!   `init` (or the `init` of `bypass::pda_account`), passed read-only, is refused by the
//!   runtime as a writable privilege escalation when the program asks the system program to
//!   create it ([`read_only_creation`]);
//! - every job seen so far balances its books, its vault holds exactly what it owes, and the
//!   mint's whole supply is still in the token accounts seen so far: nothing created or lost.
//!
//! Structure-aware and seeded rather than coverage-guided: the program runs inside the SBF
//! virtual machine, where host coverage instrumentation does not reach. A seed and a case
//! number reproduce a finding (`fuzz-sbf --seed S --cases N`).

use std::collections::BTreeSet;

use agentrail::instructions::{
    AnchorCheckpointArgs, AttestStageArgs, PublishVersionArgs, UpdateConfigArgs, VerifyReceiptArgs,
};
use agentrail::state::{AgentStatus, Job, Semver};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{anchors, instructions as ix, pda};
use anchor_lang::AccountDeserialize;
use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::{AccountMeta, Instruction};
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::{DAY, T0};
use crate::scenarios::escrow::{Fixture, POSTER_TOKENS, REVIEW};
use crate::tokens::{TOKEN, TOKEN_2022};
use agentrail_client::accounts::token_amount;

/// Cases run on one chain before a fresh one (new job shape) is started.
const EPOCH: u64 = 250;

/// A small deterministic generator (SplitMix64): the same seed gives the same cases.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0; 32];
        h.iter_mut().for_each(|b| *b = self.byte());
        h
    }
}

/// Whether `failure` is the runtime refusing the program's request to create an account that
/// `ix` passed read-only: Anchor's `init` asks the system program to create the account without
/// checking first that it is writable, and the runtime refuses the call.
fn read_only_creation(failure: &crate::Failure, ix: &Instruction) -> bool {
    failure.abort.as_deref() == Some("PrivilegeEscalation")
        && ix.accounts.iter().any(|m| {
            !m.is_writable && failure.message.contains(&format!("{}'s writable privilege escalated", m.pubkey))
        })
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    pub cases: u64,
    /// Transactions the program accepted.
    pub accepted: u64,
    /// Transactions it refused with an error of its own.
    pub refused: u64,
    /// Cases whose instruction was sent unmutated (valid for some state).
    pub unmutated: u64,
    /// Of the refusals, accounts to create passed read-only ([`read_only_creation`]).
    pub read_only_creations: u64,
    /// Distinct custom error codes seen.
    pub codes: BTreeSet<u32>,
}

impl Report {
    /// Adds another run's counts to these (the threads of one fuzzing run).
    pub fn add(&mut self, other: Report) {
        self.cases += other.cases;
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.unmutated += other.unmutated;
        self.read_only_creations += other.read_only_creations;
        self.codes.extend(other.codes);
    }
}

/// A broken promise: what case, which instruction, what happened.
#[derive(Debug)]
pub struct Finding {
    pub seed: u64,
    pub case: u64,
    pub what: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {} case {}: {}", self.seed, self.case, self.what)
    }
}

/// The live world one epoch of cases runs in.
struct World {
    f: Fixture,
    now: i64,
    /// Everyone the fuzzer can sign for (the payer signs every transaction anyway).
    signers: Vec<Keypair>,
    /// Accounts to draw from when swapping one in.
    pool: Vec<Pubkey>,
    /// Every job account seen, checked after every case.
    jobs: BTreeSet<Pubkey>,
    /// Every token account of the mint seen; together they hold the whole supply.
    tokens: BTreeSet<Pubkey>,
}

impl World {
    fn new(chain: Box<dyn Chain>, rng: &mut Rng) -> Self {
        let n = 1 + rng.below(4) as usize;
        let list: Vec<(u64, bool)> = (0..n).map(|_| (1 + rng.below(200_000_000), rng.chance(50))).collect();
        let f = if rng.chance(50) {
            let any = rng.below(10_001) as u16;
            let default_bps = *rng.pick(&[0, 10_000, any]);
            Fixture::arbitrated(chain, &list, 2 * REVIEW, default_bps)
        } else {
            let mut f = Fixture::created(chain, TOKEN, &list, 0);
            if rng.chance(90) {
                f.fund().expect("fund");
            }
            f
        };
        let mut signers =
            vec![f.poster.insecure_clone(), f.keeper.insecure_clone(), f.agent_authority.insecure_clone()];
        signers.extend(f.arbiter.as_ref().map(Keypair::insecure_clone));
        signers.push(f.env.certifier.insecure_clone());
        signers.push(f.env.treasury.insecure_clone());
        let k = &f.keys;
        let mut pool = vec![
            k.job,
            k.poster,
            k.agent,
            k.mint,
            k.vault,
            k.payee_token,
            k.poster_token,
            k.track_record,
            k.token_program,
            f.treasury_token,
            f.keeper.pubkey(),
            f.agent_authority.pubkey(),
            f.env.admin.pubkey(),
            f.env.certifier.pubkey(),
            pda::config(),
            pda::certifier(&f.env.certifier.pubkey()),
            pda::certification(&f.agent, 1),
            pda::receipt_log(&f.keeper.pubkey()),
            pda::checkpoint(&pda::receipt_log(&f.keeper.pubkey()), anchors::utc_day(T0)),
            pda::program_data(),
            agentrail::ID,
            TOKEN_2022,
            solana_system_interface::program::ID,
            solana_sdk::sysvar::clock::ID,
            solana_sdk::sysvar::rent::ID,
            Pubkey::new_from_array([7; 32]),
        ];
        pool.extend(f.arbiter.as_ref().map(Keypair::pubkey));
        let jobs = BTreeSet::from([k.job]);
        let tokens = BTreeSet::from([k.vault, k.payee_token, k.poster_token, f.treasury_token]);
        World { f, now: T0, signers, pool, jobs, tokens }
    }

    /// A valid instruction of a random kind for the current state.
    fn instruction(&mut self, rng: &mut Rng) -> Instruction {
        let keys: JobKeys = self.f.keys.clone();
        let i = rng.below(5) as u8;
        let cancel = rng.chance(30);
        let keeper = self.f.keeper.pubkey();
        let authority = self.f.agent_authority.pubkey();
        let arbiter = self.f.arbiter.as_ref().map_or(self.f.poster.pubkey(), Keypair::pubkey);
        let admin = self.f.env.admin.pubkey();
        let certifier = self.f.env.certifier.pubkey();
        let agent = self.f.agent;
        let poster = self.f.poster.pubkey();
        match rng.below(35) {
            0..=2 => escrow::submit_milestone(&keeper, &keys, i, rng.hash()),
            3 => escrow::approve_milestone(&keys, i),
            4 => escrow::reject_milestone(&keys, i, cancel),
            5 => escrow::fail_milestone(&keeper, &keys, i, cancel, rng.hash()),
            6 => escrow::release_after_review(&keys, i),
            7 => escrow::concede_dispute(&authority, &keys, i),
            8 => escrow::decide_dispute(&arbiter, &keys, i, *rng.pick(&[0, 5_000, 10_000, 10_001])),
            9 => escrow::apply_dispute_default(&keys, i),
            10 => escrow::start_milestone(&keeper, &keys.job, i),
            11 => escrow::cancel_job(&keys),
            12 => escrow::refund_expired(&keys),
            13 => escrow::sweep_fees(&self.f.env.treasury.pubkey(), &keys.mint, &keys.token_program, &[keys.job]),
            14 => escrow::close_job(&keys),
            15 => escrow::fund_job(&keys, self.f.total),
            16 => {
                let mut args =
                    crate::scenarios::escrow::job_args(8 + rng.below(4), &[(1 + rng.below(1_000), false)], keeper, 0);
                args.deadline = self.now + 1 + rng.below(DAY as u64) as i64;
                escrow::create_job(&keys.poster, &agent, 1, &keys.mint, &keys.token_program, args)
            }
            17 => {
                let paused = rng.chance(50).then(|| rng.chance(40));
                let fee_bps = rng.chance(20).then(|| rng.below(1_200) as u16);
                ix::update_config(&admin, UpdateConfigArgs { paused, fee_bps, treasury: None })
            }
            18 => {
                let version = Semver { major: 1, minor: rng.below(3) as u16, patch: 0 };
                ix::publish_version(&authority, &agent, PublishVersionArgs { version, manifest_hash: rng.hash() })
            }
            19 => ix::set_agent_status(&authority, &agent, *rng.pick(&[AgentStatus::Active, AgentStatus::Paused])),
            20 => {
                let args = AttestStageArgs {
                    stage: 1 + rng.below(6) as u8,
                    attestation_hash: rng.hash(),
                    expires_at: self.now + DAY,
                };
                ix::attest_stage(&certifier, &agent, 1, args)
            }
            21 => ix::revoke_certification(&certifier, &pda::certification(&agent, 1), rng.hash()),
            22 => ix::set_signing_key(&authority, &agent, Some(&keeper)),
            23 => ix::update_agent_metadata(&authority, &agent, "https://agents.example/x".into()),
            24 => anchors::create_receipt_log(&keeper, rng.chance(50)),
            25 => {
                let proof = rng.chance(50).then(|| (0..rng.below(4)).map(|_| rng.hash()).collect());
                let args = AnchorCheckpointArgs {
                    day: anchors::utc_day(self.now) - rng.below(2) as u32,
                    size: rng.below(8),
                    root: rng.hash(),
                    consistency_proof: proof,
                };
                anchors::anchor_checkpoint(&keeper, args)
            }
            26 => {
                let args = VerifyReceiptArgs {
                    trusted_authority: keeper,
                    leaf_hash: rng.hash(),
                    index: rng.below(8),
                    proof: (0..rng.below(4)).map(|_| rng.hash()).collect(),
                };
                anchors::verify_receipt(anchors::utc_day(self.now), args)
            }
            27 => ix::remove_certifier(&admin, &certifier),
            28 => ix::add_certifier(&admin, *rng.pick(&self.pool)),
            29 => ix::propose_admin(&admin, poster),
            30 => ix::accept_admin(&poster),
            31 => ix::initialize_config(&admin, self.f.env.treasury.pubkey(), rng.below(2_000) as u16),
            32 => {
                let args = crate::env::Env::agent_args("fuzzed");
                ix::register_agent(&authority, &poster, rng.below(4), args)
            }
            33 => ix::set_payout(&authority, &agent, &keeper),
            _ => ix::transfer_agent_authority(&authority, &agent, &poster),
        }
    }

    /// `ix`, maybe mutated; whether it was left as built.
    fn mutate(&self, mut ix: Instruction, rng: &mut Rng, discriminators: &[[u8; 8]]) -> (Instruction, bool) {
        let mut changed = false;
        if rng.chance(55) {
            changed = true;
            let data = &mut ix.data;
            match rng.below(6) {
                0 => {
                    for _ in 0..1 + rng.below(4) {
                        if !data.is_empty() {
                            let at = rng.below(data.len() as u64) as usize;
                            data[at] ^= 1 << rng.below(8);
                        }
                    }
                }
                1 => data.truncate(rng.below(data.len() as u64 + 1) as usize),
                2 => {
                    let n = 1 + rng.below(64) as usize;
                    data.extend(rng.bytes(n))
                }
                3 => {
                    let keep = 8.min(data.len());
                    data.truncate(keep);
                    let n = rng.below(300) as usize;
                    data.extend(rng.bytes(n));
                }
                4 => {
                    let d = rng.pick(discriminators);
                    let keep = 8.min(data.len());
                    data[..keep].copy_from_slice(&d[..keep]);
                }
                _ => {
                    // a large length prefix where a vector or string would start
                    if data.len() > 8 {
                        let at = 8 + rng.below(data.len() as u64 - 8) as usize;
                        let end = (at + 4).min(data.len());
                        data[at..end].fill(0xFF);
                    }
                }
            }
        }
        if rng.chance(45) {
            changed = true;
            let metas = &mut ix.accounts;
            for _ in 0..1 + rng.below(3) {
                match rng.below(6) {
                    0 if !metas.is_empty() => {
                        let at = rng.below(metas.len() as u64) as usize;
                        metas[at].pubkey = *rng.pick(&self.pool);
                    }
                    1 if !metas.is_empty() => {
                        let at = rng.below(metas.len() as u64) as usize;
                        metas[at].is_writable = !metas[at].is_writable;
                    }
                    2 if !metas.is_empty() => {
                        let at = rng.below(metas.len() as u64) as usize;
                        metas[at].is_signer = !metas[at].is_signer;
                    }
                    3 if !metas.is_empty() => {
                        metas.remove(rng.below(metas.len() as u64) as usize);
                    }
                    4 if !metas.is_empty() => {
                        let copy = metas[rng.below(metas.len() as u64) as usize].clone();
                        metas.insert(rng.below(metas.len() as u64 + 1) as usize, copy);
                    }
                    _ => metas.push(AccountMeta::new(*rng.pick(&self.pool), false)),
                }
            }
            // only keys the fuzzer holds can sign
            let payer = self.f.env.chain.payer().pubkey();
            for m in metas.iter_mut() {
                if m.is_signer && m.pubkey != payer && !self.signers.iter().any(|k| k.pubkey() == m.pubkey) {
                    m.is_signer = false;
                }
            }
        }
        (ix, !changed)
    }

    /// Sends `ix` with exactly the signers it asks for.
    fn send(&mut self, ix: &Instruction) -> Result<crate::Sent, crate::Failure> {
        let mut signers: Vec<&Keypair> = Vec::new();
        for m in ix.accounts.iter().filter(|m| m.is_signer) {
            if let Some(k) = self.signers.iter().find(|k| k.pubkey() == m.pubkey)
                && !signers.iter().any(|s| s.pubkey() == k.pubkey())
            {
                signers.push(k);
            }
        }
        self.f.env.chain.send(std::slice::from_ref(ix), &signers)
    }

    /// Remembers every job and token account of the mint among `ix`'s accounts.
    fn observe(&mut self, ix: &Instruction) {
        for m in &ix.accounts {
            let Some(acc) = self.f.env.chain.account(&m.pubkey) else { continue };
            if acc.owner == agentrail::ID && Job::try_deserialize(&mut acc.data.as_slice()).is_ok() {
                self.jobs.insert(m.pubkey);
                self.tokens.insert(pda::vault(&m.pubkey));
            } else if (acc.owner == TOKEN || acc.owner == TOKEN_2022)
                && acc.data.len() >= 165
                && acc.data[..32] == self.f.mint.to_bytes()
            {
                self.tokens.insert(m.pubkey);
            }
        }
    }

    /// The conservation promises, over everything seen so far.
    fn check(&mut self) -> Result<(), String> {
        for job_key in self.jobs.clone() {
            let Some(acc) = self.f.env.chain.account(&job_key) else { continue };
            // a closed job is a tombstone of another type: nothing left to owe
            let Ok(job) = Job::try_deserialize(&mut acc.data.as_slice()) else { continue };
            if !job.balanced() {
                return Err(format!("job {job_key} out of balance: {job:?}"));
            }
            let vault = self.balance(&pda::vault(&job_key));
            if Some(vault) != job.vault_owes() {
                return Err(format!("job {job_key}: vault holds {vault}, owes {:?}", job.vault_owes()));
            }
        }
        let held: u64 = self.tokens.clone().iter().map(|t| self.balance(t)).sum();
        if held != POSTER_TOKENS {
            return Err(format!(
                "the mint's supply {POSTER_TOKENS} is not where it was seen: {held} in {:?}",
                self.tokens
            ));
        }
        Ok(())
    }

    fn balance(&mut self, account: &Pubkey) -> u64 {
        self.f.env.chain.account(account).and_then(|a| token_amount(&a.data)).unwrap_or(0)
    }
}

/// Runs `cases` fuzz cases from `seed` on chains from `start`, calling `progress` every
/// thousand cases; the first broken promise stops the run.
pub fn run(
    start: &dyn Fn() -> Box<dyn Chain>,
    seed: u64,
    cases: u64,
    progress: &mut dyn FnMut(&Report),
) -> Result<Report, Finding> {
    let mut rng = Rng::new(seed);
    let mut report = Report::default();
    let mut world: Option<World> = None;
    let mut discriminators = Vec::new();
    for case in 0..cases {
        if case.is_multiple_of(EPOCH) {
            world = Some(World::new(start(), &mut rng));
        }
        let w = world.as_mut().expect("started above");
        if rng.chance(8) {
            let short = 1 + rng.below(600) as i64;
            w.now += *rng.pick(&[short, REVIEW, DAY / 3, 2 * REVIEW + 1, DAY]);
            w.f.env.chain.set_time(w.now);
        }
        let valid = w.instruction(&mut rng);
        if valid.data.len() >= 8 && discriminators.len() < 64 {
            let d: [u8; 8] = valid.data[..8].try_into().expect("eight bytes");
            if !discriminators.contains(&d) {
                discriminators.push(d);
            }
        }
        let (ix, unmutated) = w.mutate(valid, &mut rng, &discriminators);
        report.unmutated += u64::from(unmutated);
        let finding = |what: String| Finding { seed, case, what };
        match w.send(&ix) {
            Ok(_) => {
                report.accepted += 1;
                w.observe(&ix);
            }
            Err(failure) if read_only_creation(&failure, &ix) => {
                report.refused += 1;
                report.read_only_creations += 1;
            }
            Err(failure) => {
                if let Some(abort) = failure.abort {
                    return Err(finding(format!(
                        "not a program error: {abort}\ninstruction: {ix:?}\n{}",
                        failure.message
                    )));
                }
                report.refused += 1;
                report.codes.extend(failure.code);
            }
        }
        w.check().map_err(|e| finding(format!("{e}\nafter instruction: {ix:?}")))?;
        report.cases += 1;
        if report.cases.is_multiple_of(1_000) {
            progress(&report);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use solana_sdk::instruction::InstructionError;
    use solana_sdk::transaction::TransactionError;

    use super::{Rng, World};
    use crate::native::Native;
    use crate::{AccountState, abort_of};

    #[test]
    fn only_the_programs_own_errors_count_as_refusals() {
        let at = |e| TransactionError::InstructionError(1, e);
        assert_eq!(abort_of(&at(InstructionError::Custom(6000))), None);
        assert_eq!(abort_of(&at(InstructionError::InvalidAccountData)), None);
        assert!(abort_of(&at(InstructionError::ProgramFailedToComplete)).is_some());
        assert!(abort_of(&at(InstructionError::ComputationalBudgetExceeded)).is_some());
        assert!(abort_of(&at(InstructionError::PrivilegeEscalation)).is_some());
        assert!(abort_of(&TransactionError::InsufficientFundsForRent { account_index: 2 }).is_some());
    }

    /// The checks catch what they promise to: a token that appears from nowhere in a vault.
    #[test]
    fn a_token_created_out_of_nothing_is_caught() {
        let mut w = World::new(Box::new(Native::start()), &mut Rng::new(5));
        w.check().unwrap();
        let vault = w.f.keys.vault;
        let mut acc: AccountState = w.f.env.chain.account(&vault).expect("vault");
        let amount = u64::from_le_bytes(acc.data[64..72].try_into().unwrap());
        acc.data[64..72].copy_from_slice(&(amount + 1).to_le_bytes());
        w.f.env.chain.set_account(&vault, acc);
        let problem = w.check().unwrap_err();
        assert!(problem.contains("vault holds"), "{problem}");
    }
}
