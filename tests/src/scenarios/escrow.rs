//! Milestone escrow: funding, submission, approval, rejection, optimistic release, refunds,
//! closing, and the attacks on each.

use agentrail::errors::AgentrailError;
use agentrail::instructions::{CreateJobArgs, PublishVersionArgs, UpdateConfigArgs};
use agentrail::state::{
    Agent, AgentStatus, ClosedJob, Job, JobStatus, MilestoneSpec, MilestoneState, Semver, TRACK_RECORD_SHARDS,
    TrackRecord,
};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::Discriminator;
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;
use crate::tokens::*;

/// What every escrow scenario starts from: an agent, a poster holding tokens, a keeper, the
/// token accounts of every party, and a created (not yet funded) job.
pub struct Fixture {
    pub env: Env,
    pub poster: Keypair,
    pub keeper: Keypair,
    pub agent_authority: Keypair,
    /// The agent's payout wallet.
    pub payout: Keypair,
    pub agent: Pubkey,
    pub mint: Pubkey,
    pub token_program: Pubkey,
    pub keys: JobKeys,
    /// The treasury's associated token account for the mint (fees arrive there when swept).
    pub treasury_token: Pubkey,
    pub total: u64,
    /// The job's arbiter, when it named one ([`Fixture::arbitrated`]).
    pub arbiter: Option<Keypair>,
    /// What the agent and the poster claimed of what the vault held for them, to accounts
    /// other than the ones the fixture watches ([`Fixture::claim`]).
    pub claimed: (u64, u64),
}

/// Tokens the poster starts with.
pub const POSTER_TOKENS: u64 = 1_000_000_000;
/// Default milestones: one released at once, two that need approval.
pub const SPECS: [(u64, bool); 3] = [(100_000_000, false), (200_000_000, true), (300_000_000, true)];
/// Default review window.
pub const REVIEW: i64 = 3_600;
/// Default step timeout: how long a started first step shields the job from cancellation.
pub const STEP_TIMEOUT: i64 = 600;
/// The terms every fixture job pins.
pub const TERMS_HASH: [u8; 32] = [0x7e; 32];

fn specs(list: &[(u64, bool)]) -> Vec<MilestoneSpec> {
    list.iter().map(|&(amount, requires_approval)| MilestoneSpec { amount, requires_approval }).collect()
}

/// `create_job` arguments: milestones `list`, deadline `T0 + DAY`, the default review window,
/// step timeout and terms.
pub fn job_args(nonce: u64, list: &[(u64, bool)], keeper: Pubkey, min_stage: u8) -> CreateJobArgs {
    CreateJobArgs {
        nonce,
        milestones: specs(list),
        keeper,
        min_stage,
        deadline: T0 + DAY,
        review_window: REVIEW,
        terms_hash: TERMS_HASH,
        terms_uri: format!("https://terms.example/jobs/{nonce}.json"),
        step_timeout: STEP_TIMEOUT,
        arbiter: None,
        dispute_window: 0,
        dispute_default_bps: 0,
        record_shard: (nonce % u64::from(TRACK_RECORD_SHARDS)) as u8,
    }
}

/// `authority` (the agent's authority or signing key) accepts the job at `keys` as it is now,
/// signing the transaction.
pub fn accept(env: &mut Env, authority: &Keypair, keys: &JobKeys) -> Result<crate::Sent, crate::Failure> {
    let digest = env.fetch::<Job>(&keys.job).consent_digest(&keys.job);
    env.send(&[escrow::accept_job(&authority.pubkey(), keys, digest)], &[authority])
}

impl Fixture {
    /// A created job over `token_program` with milestones `list`, deadline `T0 + DAY`.
    pub fn created(chain: Box<dyn Chain>, token_program: Pubkey, list: &[(u64, bool)], min_stage: u8) -> Self {
        Fixture::created_with(chain, token_program, list, min_stage, None)
    }

    /// A funded job on classic SPL Token with milestones `list` that names an arbiter, who has
    /// `window` seconds to decide a dispute, after which the agent gets `default_bps`.
    pub fn arbitrated(chain: Box<dyn Chain>, list: &[(u64, bool)], window: i64, default_bps: u16) -> Self {
        let mut f = Fixture::created_with(chain, TOKEN, list, 0, Some((window, default_bps)));
        f.fund().expect("fund job");
        f
    }

    /// [`Fixture::created`]; with `dispute` = (window, default share in bps), the job names a
    /// fresh arbiter.
    pub fn created_with(
        chain: Box<dyn Chain>,
        token_program: Pubkey,
        list: &[(u64, bool)],
        min_stage: u8,
        dispute: Option<(i64, u16)>,
    ) -> Self {
        let mut f = Fixture::unaccepted(chain, token_program, list, min_stage, dispute);
        // the agent accepts the job's terms: what every scenario but the consent ones assumes
        let authority = f.agent_authority.insecure_clone();
        accept(&mut f.env, &authority, &f.keys).expect("accept job");
        f
    }

    /// [`Fixture::created_with`] but the agent has not accepted the job.
    pub fn unaccepted(
        chain: Box<dyn Chain>,
        token_program: Pubkey,
        list: &[(u64, bool)],
        min_stage: u8,
        dispute: Option<(i64, u16)>,
    ) -> Self {
        let mut env = Env::new(chain);
        let (agent_authority, payout, agent) = env.register_agent("solver");
        for stage in 1..=min_stage {
            env.attest(&agent, stage, 30 * DAY).unwrap();
        }
        let (poster, keeper) = (env.funded(), env.funded());
        let mint = env.create_mint(token_program, None);
        let poster_token = env.token_account(&poster.pubkey(), &mint, &token_program);
        env.token_account(&payout.pubkey(), &mint, &token_program);
        let treasury = env.treasury.pubkey();
        let treasury_token = env.token_account(&treasury, &mint, &token_program);
        env.mint_to(&mint, &token_program, &poster_token, POSTER_TOKENS);
        let mut args = job_args(7, list, keeper.pubkey(), min_stage);
        let arbiter = dispute.map(|(window, default_bps)| {
            let arbiter = env.next_key();
            (args.arbiter, args.dispute_window, args.dispute_default_bps) =
                (Some(arbiter.pubkey()), window, default_bps);
            arbiter
        });
        let create = escrow::create_job(&poster.pubkey(), &agent, 1, &mint, &token_program, args);
        env.send(&[create], &[&poster]).expect("create job");
        let job_key = pda::job(&poster.pubkey(), 7);
        let job: Job = env.fetch(&job_key);
        let keys = JobKeys::new(job_key, &job, &env.fetch::<Agent>(&agent));
        let total = job.total();
        Fixture {
            env,
            poster,
            keeper,
            agent_authority,
            payout,
            agent,
            mint,
            token_program,
            keys,
            treasury_token,
            total,
            arbiter,
            claimed: (0, 0),
        }
    }

    /// [`Fixture::created`] with the default milestones on classic SPL Token, then funded.
    pub fn funded(chain: Box<dyn Chain>) -> Self {
        let mut f = Fixture::created(chain, TOKEN, &SPECS, 0);
        f.fund().expect("fund job");
        f
    }

    /// The poster funds the job with its exact total.
    pub fn fund(&mut self) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::fund_job(&self.keys, self.total);
        self.env.send(&[ix], &[&self.poster])
    }

    /// The keeper submits milestone `index`.
    pub fn submit(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::submit_milestone(&self.keeper.pubkey(), &self.keys, index, [index + 1; 32]);
        let keeper = self.keeper.insecure_clone();
        self.env.send(&[ix], &[&keeper])
    }

    /// The keeper starts milestone `index`'s step at the current time, which then moves past
    /// the step's timeout: the step may be failed.
    pub fn start_and_time_out(&mut self, index: u8) {
        self.start(index).expect("start the step");
        let now = self.env.chain.now();
        self.env.chain.set_time(now + STEP_TIMEOUT);
    }

    /// The keeper gives up on milestone `index` (with `cancel`, on the whole job).
    pub fn fail(&mut self, index: u8, cancel: bool) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::fail_milestone(&self.keeper.pubkey(), &self.keys, index, cancel, [9; 32]);
        let keeper = self.keeper.insecure_clone();
        self.env.send(&[ix], &[&keeper])
    }

    /// The keeper marks milestone `index`'s step started.
    pub fn start(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::start_milestone(&self.keeper.pubkey(), &self.keys.job, index);
        let keeper = self.keeper.insecure_clone();
        self.env.send(&[ix], &[&keeper])
    }

    /// The poster rejects milestone `index`.
    pub fn reject(&mut self, index: u8, cancel: bool) -> Result<crate::Sent, crate::Failure> {
        let poster = self.poster.insecure_clone();
        self.env.send(&[escrow::reject_milestone(&self.keys, index, cancel)], &[&poster])
    }

    /// The poster cancels the job.
    pub fn cancel(&mut self) -> Result<crate::Sent, crate::Failure> {
        let poster = self.poster.insecure_clone();
        self.env.send(&[escrow::cancel_job(&self.keys)], &[&poster])
    }

    /// Anyone releases milestone `index` after its review.
    pub fn release(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        self.env.send(&[escrow::release_after_review(&self.keys, index)], &[])
    }

    /// Anyone sweeps the job's earned fees to the treasury.
    pub fn sweep(&mut self) -> Result<crate::Sent, crate::Failure> {
        let treasury = self.env.treasury.pubkey();
        let ix = escrow::sweep_fees(&treasury, &self.mint, &self.token_program, &[self.keys.job]);
        self.env.send(&[ix], &[])
    }

    /// Anyone refunds after the deadline.
    pub fn refund(&mut self) -> Result<crate::Sent, crate::Failure> {
        self.env.send(&[escrow::refund_expired(&self.keys)], &[])
    }

    /// The admin pauses or resumes the protocol.
    pub fn pause(&mut self, paused: bool) {
        let admin = self.env.admin.pubkey();
        let ix = ix::update_config(&admin, UpdateConfigArgs { paused: Some(paused), ..Default::default() });
        self.env.send(&[ix], &[]).expect("pause switch");
    }

    /// `who` (the poster or the payout wallet) claims what the vault holds for it to a fresh
    /// token account of its own; returns that account.
    pub fn claim(&mut self, who: &Keypair) -> Result<Pubkey, crate::Failure> {
        let (mint, tp) = (self.mint, self.token_program);
        let to = self.env.plain_token_account(&who.pubkey(), &mint, &tp);
        let before = self.job();
        self.env.send(&[escrow::claim_held(&who.pubkey(), &self.keys, &to)], &[who])?;
        let after = self.job();
        self.claimed.0 += before.held_for_agent - after.held_for_agent;
        self.claimed.1 += before.held_for_poster - after.held_for_poster;
        Ok(to)
    }

    /// The poster approves milestone `index`.
    pub fn approve(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        let poster = self.poster.insecure_clone();
        self.env.send(&[escrow::approve_milestone(&self.keys, index)], &[&poster])
    }

    /// The agent's track record in the job's mint: (jobs, released, rejected, failed, refunded, volume).
    pub fn record(&mut self) -> (u64, u64, u64, u64, u64, u128) {
        let r: TrackRecord = self.env.fetch(&self.keys.track_record);
        assert_eq!((r.agent, r.mint), (self.agent, self.mint));
        (r.jobs, r.released, r.rejected, r.failed, r.refunded, r.volume())
    }

    /// The job's current state.
    pub fn job(&mut self) -> Job {
        self.env.fetch(&self.keys.job)
    }

    /// Token balances: (poster, payee, treasury, vault).
    pub fn balances(&mut self) -> (u64, u64, u64, u64) {
        let k = self.keys.clone();
        (
            self.env.balance(&k.poster_token),
            self.env.balance(&k.payee_token),
            self.env.balance(&self.treasury_token),
            self.env.balance(&k.vault),
        )
    }

    /// Checks the job's books against the token balances: nothing created or lost. The vault
    /// holds the unsettled milestones and the fees not yet swept; the treasury what was swept.
    #[track_caller]
    pub fn assert_conserved(&mut self) {
        let job = self.job();
        assert!(job.balanced(), "job accounting out of balance: {job:?}");
        let (poster, payee, treasury, vault) = self.balances();
        assert_eq!(Some(vault), job.vault_owes(), "vault holds what the job still owes and its unswept fees");
        // what the vault holds for a party counts as the party's; what it claimed went to an
        // account of its choosing ([`Fixture::claim`])
        let (agent_claimed, poster_claimed) = self.claimed;
        assert_eq!(
            payee + job.held_for_agent + agent_claimed,
            job.released,
            "payee received exactly the released amounts"
        );
        assert_eq!(treasury, job.fees_swept, "treasury received exactly the swept fees");
        assert_eq!(
            poster + job.funded + job.held_for_poster + poster_claimed,
            POSTER_TOKENS + job.refunded,
            "poster paid funded minus refunds"
        );
    }
}

/// The whole happy path to the token unit: instant release, approval, rejection, close.
pub fn escrow_happy_path(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 0);
    let job = f.job();
    assert_eq!(
        (job.status, job.fee_bps, job.agent_version_seq, job.keeper),
        (JobStatus::Created, FEE_BPS, 1, f.keeper.pubkey())
    );
    let expected: u64 = SPECS.iter().map(|(a, _)| a + fee(*a)).sum();
    assert_eq!(f.total, expected);
    f.fund().unwrap();
    assert_eq!(f.balances(), (POSTER_TOKENS - expected, 0, 0, expected));
    assert_eq!((f.job().status, f.job().funded), (JobStatus::Funded, expected));

    f.submit(0).unwrap();
    let (m0, m1, m2) = (SPECS[0].0, SPECS[1].0, SPECS[2].0);
    // the fee is earned but stays in the vault: a release writes nothing protocol-wide
    assert_eq!(f.balances(), (POSTER_TOKENS - expected, m0, 0, expected - m0));
    assert_eq!((f.job().fees_earned, f.job().fees_swept), (fee(m0), 0));
    assert_eq!(f.job().milestones()[0].state, MilestoneState::Released);
    assert_eq!(f.job().milestones()[0].result_hash, [1; 32]);
    f.assert_conserved();

    f.env.chain.set_time(T0 + 10);
    f.submit(1).unwrap();
    let m = f.job().milestones()[1];
    assert_eq!((m.state, m.submitted_at), (MilestoneState::Submitted, T0 + 10));
    assert_eq!(f.balances().1, m0, "approval milestone waits");
    f.approve(1).unwrap();
    assert_eq!(f.balances().1, m0 + m1);
    f.assert_conserved();

    f.submit(2).unwrap();
    let poster = f.poster.insecure_clone();
    f.env.send(&[escrow::reject_milestone(&f.keys, 2, false)], &[&poster]).unwrap();
    let job = f.job();
    assert_eq!((job.status, job.milestones()[2].state), (JobStatus::Completed, MilestoneState::Refunded));
    let fees = fee(m0) + fee(m1);
    assert_eq!(f.balances(), (POSTER_TOKENS - expected + m2 + fee(m2), m0 + m1, 0, fees));
    f.assert_conserved();
    // the agent's track record: one funded job, two milestones paid, one rejected
    assert_eq!(f.record(), (1, 2, 1, 0, 0, u128::from(m0 + m1)));

    // closing would hand the vault to the poster: refused until the fees are swept
    assert_code(f.env.send(&[escrow::close_job(&f.keys)], &[&poster]), AgentrailError::FeesNotSwept);
    f.sweep().unwrap(); // by anyone (the payer here signs nothing else)
    assert_eq!(f.balances(), (POSTER_TOKENS - expected + m2 + fee(m2), m0 + m1, fees, 0));
    f.assert_conserved();
    assert_code(f.sweep(), AgentrailError::NothingToSweep);

    let tombstone_rent = f.env.rent(ClosedJob::SPACE);
    let rent = f.env.lamports(&f.keys.job) + f.env.lamports(&f.keys.vault) - tombstone_rent;
    let before = f.env.lamports(&poster.pubkey());
    f.env.send(&[escrow::close_job(&f.keys)], &[&poster]).unwrap();
    assert!(!f.env.exists(&f.keys.vault));
    assert_eq!(f.env.lamports(&poster.pubkey()), before + rent, "all rent but the tombstone's returns to the poster");
    assert_tombstone(&mut f);
}

/// Token-2022 mints without dangerous extensions work end to end.
pub fn escrow_token_2022(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN_2022, &[(5_000_000, false)], 0);
    f.fund().unwrap();
    f.submit(0).unwrap();
    assert_eq!(f.balances().1, 5_000_000);
    assert_eq!(f.job().status, JobStatus::Completed);
    f.assert_conserved();
}

/// Each refused Token-2022 extension is named in the error.
pub fn escrow_refuses_dangerous_mints(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(1, false)], 0);
    for (n, ext) in Refused::ALL.into_iter().enumerate() {
        let mint = f.env.create_mint(TOKEN_2022, Some(ext));
        let args = job_args(100 + n as u64, &[(1_000, false)], f.keeper.pubkey(), 0);
        let poster = f.poster.insecure_clone();
        let r = f.env.send(&[escrow::create_job(&poster.pubkey(), &f.agent, 1, &mint, &TOKEN_2022, args)], &[&poster]);
        let code = match ext {
            Refused::PermanentDelegate => AgentrailError::MintPermanentDelegate,
            Refused::TransferHook => AgentrailError::MintTransferHook,
            Refused::TransferFee => AgentrailError::MintTransferFee,
            Refused::NonTransferable => AgentrailError::MintNonTransferable,
            Refused::DefaultFrozen => AgentrailError::MintDefaultFrozen,
            Refused::ConfidentialTransfer => AgentrailError::MintConfidential,
            Refused::Pausable => AgentrailError::MintPausable,
        };
        assert_code(r, code);
    }
}

/// Creation checks: milestone count, zero and overflowing amounts, deadline, review window,
/// agent status, required certification, protocol pause.
pub fn escrow_create_guards(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(1, false)], 0);
    let poster = f.poster.insecure_clone();
    let base = job_args(1, &[(1_000, true)], f.keeper.pubkey(), 0);
    let try_create = |f: &mut Fixture, args: CreateJobArgs| {
        let ix = escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, args);
        f.env.send(&[ix], &[&poster])
    };
    let with = |change: &dyn Fn(&mut CreateJobArgs)| {
        let mut a = base.clone();
        change(&mut a);
        a
    };
    assert_code(try_create(&mut f, with(&|a| a.milestones.clear())), AgentrailError::MilestoneCount);
    assert_code(try_create(&mut f, with(&|a| a.milestones = specs(&[(1, false); 17]))), AgentrailError::MilestoneCount);
    assert_code(try_create(&mut f, with(&|a| a.milestones = specs(&[(0, false)]))), AgentrailError::ZeroAmount);
    let half = u64::MAX / 2;
    assert_code(
        try_create(&mut f, with(&|a| a.milestones = specs(&[(half, false), (half, false)]))),
        AgentrailError::Overflow,
    );
    assert_code(try_create(&mut f, with(&|a| a.deadline = T0)), AgentrailError::DeadlineInPast);
    assert_code(try_create(&mut f, with(&|a| a.review_window = -1)), AgentrailError::InvalidReviewWindow);
    assert_code(try_create(&mut f, with(&|a| a.review_window = 91 * DAY)), AgentrailError::InvalidReviewWindow);
    // an approval milestone that could never be submitted, or whose approval is void
    assert_code(try_create(&mut f, with(&|a| a.review_window = 0)), AgentrailError::ApprovalNeverSubmittable);
    assert_code(try_create(&mut f, with(&|a| a.review_window = DAY)), AgentrailError::ApprovalNeverSubmittable);
    assert_code(
        try_create(&mut f, with(&|a| (a.deadline, a.review_window) = (T0 + 100, REVIEW))),
        AgentrailError::ApprovalNeverSubmittable,
    );
    // the poster cannot size the windows to close on a working agent: one whole step's time,
    // then the review window, must fit before the deadline (audit L-3)
    let tight = T0 + STEP_TIMEOUT + REVIEW;
    assert_code(
        try_create(&mut f, with(&|a| (a.deadline, a.review_window) = (tight - 1, REVIEW))),
        AgentrailError::ApprovalNeverSubmittable,
    );
    try_create(&mut f, with(&|a| (a.nonce, a.deadline, a.review_window) = (3, tight + 1, REVIEW))).unwrap();
    // ... while a job without approval milestones needs no window at all
    try_create(&mut f, with(&|a| (a.nonce, a.milestones, a.review_window) = (2, specs(&[(5, false)]), 0))).unwrap();
    assert_code(try_create(&mut f, with(&|a| a.step_timeout = 59)), AgentrailError::InvalidStepTimeout);
    assert_code(try_create(&mut f, with(&|a| a.step_timeout = 7 * DAY + 1)), AgentrailError::InvalidStepTimeout);
    assert_code(try_create(&mut f, with(&|a| a.terms_uri = "u".repeat(201))), AgentrailError::TermsUriLength);
    // a track-record shard the agent does not have
    assert_code(try_create(&mut f, with(&|a| a.record_shard = TRACK_RECORD_SHARDS)), AgentrailError::WrongTrackRecord);
    // never attested: the certification account does not exist yet
    assert_code(try_create(&mut f, with(&|a| a.min_stage = 1)), ErrorCode::AccountNotInitialized);
    f.env.attest(&f.agent, 1, DAY).unwrap();
    assert_code(try_create(&mut f, with(&|a| a.min_stage = 6)), AgentrailError::InvalidStage);
    assert_code(try_create(&mut f, with(&|a| a.min_stage = 2)), AgentrailError::CertificationTooLow);
    let authority = f.agent_authority.insecure_clone();
    f.env.send(&[ix::set_agent_status(&authority.pubkey(), &f.agent, AgentStatus::Paused)], &[&authority]).unwrap();
    assert_code(try_create(&mut f, base.clone()), AgentrailError::AgentNotActive);
    f.env.send(&[ix::set_agent_status(&authority.pubkey(), &f.agent, AgentStatus::Active)], &[&authority]).unwrap();
    let admin = f.env.admin.pubkey();
    f.env
        .send(&[ix::update_config(&admin, UpdateConfigArgs { paused: Some(true), ..Default::default() })], &[])
        .unwrap();
    assert_code(try_create(&mut f, base.clone()), AgentrailError::ProtocolPaused);
    f.env
        .send(&[ix::update_config(&admin, UpdateConfigArgs { paused: Some(false), ..Default::default() })], &[])
        .unwrap();
    try_create(&mut f, with(&|a| a.min_stage = 1)).unwrap();
    // the same nonce cannot be used twice
    assert_fails(try_create(&mut f, base));
}

/// Funding: only the poster, only the exact expected total, only once.
pub fn escrow_fund_guards(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 0);
    let poster = f.poster.insecure_clone();
    assert_code(f.env.send(&[escrow::fund_job(&f.keys, f.total - 1)], &[&poster]), AgentrailError::JobChanged);
    assert_code(f.env.send(&[escrow::fund_job(&f.keys, f.total + 1)], &[&poster]), AgentrailError::JobChanged);
    let stranger = f.env.funded();
    let stranger_token = f.env.token_account(&stranger.pubkey(), &f.mint, &TOKEN);
    f.env.mint_to(&f.mint, &TOKEN, &stranger_token, f.total);
    let mut keys = f.keys.clone();
    keys.poster = stranger.pubkey();
    keys.poster_token = stranger_token;
    assert_code(f.env.send(&[escrow::fund_job(&keys, f.total)], &[&stranger]), ErrorCode::ConstraintSeeds);
    assert_code(f.submit(0), AgentrailError::InvalidJobStatus);
    f.fund().unwrap();
    assert_code(f.fund(), AgentrailError::InvalidJobStatus);
    f.assert_conserved();
}

/// Wrong signer for every role.
pub fn escrow_wrong_signers(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let stranger = f.env.funded();
    let submit = escrow::submit_milestone(&stranger.pubkey(), &f.keys, 0, [1; 32]);
    assert_code(f.env.send(&[submit], &[&stranger]), AgentrailError::NotKeeperOrAgent);
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    let mut as_stranger = f.keys.clone();
    as_stranger.poster = stranger.pubkey();
    assert_code(f.env.send(&[escrow::approve_milestone(&as_stranger, 1)], &[&stranger]), AgentrailError::Unauthorized);
    assert_code(
        f.env.send(&[escrow::reject_milestone(&as_stranger, 1, true)], &[&stranger]),
        AgentrailError::Unauthorized,
    );
    assert_code(f.env.send(&[escrow::cancel_job(&as_stranger)], &[&stranger]), AgentrailError::Unauthorized);
    // the agent itself cannot approve its own work
    let agent_authority = f.agent_authority.insecure_clone();
    let mut as_agent = f.keys.clone();
    as_agent.poster = agent_authority.pubkey();
    assert_code(
        f.env.send(&[escrow::approve_milestone(&as_agent, 1)], &[&agent_authority]),
        AgentrailError::Unauthorized,
    );
    assert_eq!(f.job().milestones()[1].state, MilestoneState::Submitted);
    f.assert_conserved();
}

/// Wrong vault, mint, agent, payee, track record and refund accounts are refused.
pub fn escrow_wrong_accounts(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let keeper = f.keeper.insecure_clone();
    let other_mint = f.env.create_mint(TOKEN, None);
    let stranger = f.env.funded();
    let stranger_token = f.env.token_account(&stranger.pubkey(), &f.mint, &TOKEN);
    let (_, _, other_agent) = f.env.register_agent("other");
    let other_vault = pda::vault(&pda::job(&f.poster.pubkey(), 8));
    // a real track record of another agent in the same mint, created by a job with it
    let poster = f.poster.insecure_clone();
    let other = escrow::create_job(
        &poster.pubkey(),
        &other_agent,
        1,
        &f.mint,
        &TOKEN,
        job_args(9, &[(1, false)], keeper.pubkey(), 0),
    );
    f.env.send(&[other], &[&poster]).unwrap();
    let other_record =
        pda::track_record(&other_agent, &f.mint, f.env.fetch::<Job>(&pda::job(&poster.pubkey(), 9)).record_shard);
    // another shard of this agent's record in this mint: a job of the same agent that names a
    // different shard
    let mut sibling = job_args(10, &[(1, false)], keeper.pubkey(), 0);
    sibling.record_shard = (f.job().record_shard + 1) % TRACK_RECORD_SHARDS;
    let other_shard = pda::track_record(&f.agent, &f.mint, sibling.record_shard);
    f.env.send(&[escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, sibling)], &[&poster]).unwrap();
    let shard = f.job().record_shard;
    let cases: Vec<(JobKeys, u32)> = vec![
        (JobKeys { vault: other_vault, ..f.keys.clone() }, ErrorCode::AccountNotInitialized.into()),
        (JobKeys { vault: f.keys.poster_token, ..f.keys.clone() }, ErrorCode::ConstraintSeeds.into()),
        (JobKeys { mint: other_mint, ..f.keys.clone() }, ErrorCode::ConstraintHasOne.into()),
        (JobKeys { agent: other_agent, ..f.keys.clone() }, ErrorCode::ConstraintHasOne.into()),
        (JobKeys { payee_token: stranger_token, ..f.keys.clone() }, ErrorCode::ConstraintAssociated.into()),
        (JobKeys { payee_token: f.keys.poster_token, ..f.keys.clone() }, ErrorCode::ConstraintAssociated.into()),
        (JobKeys { token_program: TOKEN_2022, ..f.keys.clone() }, ErrorCode::ConstraintHasOne.into()),
        // another agent's record, another shard, or the job's agent in another mint: never
        // written by this job
        (JobKeys { track_record: other_record, ..f.keys.clone() }, AgentrailError::WrongTrackRecord.into()),
        (JobKeys { track_record: other_shard, ..f.keys.clone() }, AgentrailError::WrongTrackRecord.into()),
        // a record that does not exist: a system account, not the program's (AccountLoader)
        (
            JobKeys { track_record: pda::track_record(&f.agent, &other_mint, shard), ..f.keys.clone() },
            ErrorCode::AccountOwnedByWrongProgram.into(),
        ),
    ];
    for (keys, code) in cases {
        let r = f.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &keys, 0, [1; 32])], &[&keeper]);
        assert_code(r, code);
    }
    f.env.chain.set_time(T0 + DAY + 1);
    let wrong_refund = JobKeys { poster_token: stranger_token, ..f.keys.clone() };
    assert_code(f.env.send(&[escrow::refund_expired(&wrong_refund)], &[]), ErrorCode::ConstraintTokenOwner);
    assert_eq!(f.balances().3, f.total, "nothing left the vault");
    f.assert_conserved();
}

/// Double submit, double release, out-of-order submission, release after refund.
pub fn escrow_no_double_spend(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    assert_code(f.submit(1), AgentrailError::MilestoneOutOfOrder);
    assert_code(f.submit(9), AgentrailError::InvalidMilestone);
    f.submit(0).unwrap();
    assert_code(f.submit(0), AgentrailError::MilestoneNotPending);
    assert_code(f.approve(0), AgentrailError::MilestoneNotSubmitted);
    f.submit(1).unwrap();
    assert_code(f.submit(1), AgentrailError::MilestoneNotPending);
    f.approve(1).unwrap();
    assert_code(f.approve(1), AgentrailError::MilestoneNotSubmitted);
    f.env.chain.set_time(T0 + REVIEW + 10);
    assert_code(f.env.send(&[escrow::release_after_review(&f.keys, 1)], &[]), AgentrailError::MilestoneNotSubmitted);
    f.submit(2).unwrap();
    // its review window ends in silence long before the deadline: owed, never refunded
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    f.release(2).unwrap();
    assert_code(f.release(2), AgentrailError::InvalidJobStatus);
    assert_code(f.approve(2), AgentrailError::InvalidJobStatus);
    assert_code(f.refund(), AgentrailError::InvalidJobStatus);
    let job = f.job();
    assert_eq!((job.status, job.released), (JobStatus::Completed, SPECS.iter().map(|s| s.0).sum()));
    f.assert_conserved();
}

/// Refunds: not before the deadline; afterwards anyone, even while paused, with a frozen payee.
pub fn escrow_refund_after_deadline(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    assert_code(f.env.send(&[escrow::refund_expired(&f.keys)], &[]), AgentrailError::DeadlineNotReached);
    f.env.chain.set_time(T0 + DAY);
    assert_code(f.env.send(&[escrow::refund_expired(&f.keys)], &[]), AgentrailError::DeadlineNotReached);
    // everything that could block a release is in place
    let (mint, payee) = (f.mint, f.keys.payee_token);
    f.env.freeze(&payee, &mint, &TOKEN);
    let authority = f.agent_authority.insecure_clone();
    f.env.send(&[ix::set_agent_status(&authority.pubkey(), &f.agent, AgentStatus::Paused)], &[&authority]).unwrap();
    let admin = f.env.admin.pubkey();
    f.env
        .send(&[ix::update_config(&admin, UpdateConfigArgs { paused: Some(true), ..Default::default() })], &[])
        .unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(f.submit(1), AgentrailError::AgentNotActive);
    let before = f.balances().0;
    f.env.send(&[escrow::refund_expired(&f.keys)], &[]).unwrap();
    let owed: u64 = SPECS[1..].iter().map(|(a, _)| a + fee(*a)).sum();
    assert_eq!(f.balances().0, before + owed, "the rest returns, pro rata");
    assert_eq!(f.job().status, JobStatus::Expired);
    f.assert_conserved();
    assert_eq!(f.record(), (1, 1, 0, 0, 2, u128::from(SPECS[0].0)), "expiry is no verdict on the work");
}

/// A frozen payee account blocks only its own release, never the poster's money.
pub fn escrow_frozen_payee(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let (mint, payee) = (f.mint, f.keys.payee_token);
    f.env.freeze(&payee, &mint, &TOKEN);
    // the release is recorded and its amount held for the agent, not lost or blocked
    f.submit(0).unwrap();
    let job = f.job();
    assert_eq!((job.milestones()[0].state, job.held_for_agent), (MilestoneState::Released, SPECS[0].0));
    assert_eq!(f.balances().1, 0, "nothing reached the frozen account");
    f.assert_conserved();
    // the payout wallet claims it to another account it owns
    let payout = f.payout.insecure_clone();
    let other = f.claim(&payout).unwrap();
    assert_eq!((f.env.balance(&other), f.job().held_for_agent), (SPECS[0].0, 0));
    f.assert_conserved();
}

/// The poster's silence through the review window lets anyone release; not a second earlier.
pub fn escrow_optimistic_release(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    f.env.chain.set_time(T0 + 100);
    f.submit(1).unwrap();
    f.env.chain.set_time(T0 + 100 + REVIEW - 1);
    assert_code(f.env.send(&[escrow::release_after_review(&f.keys, 1)], &[]), AgentrailError::ReviewWindowOpen);
    f.env.chain.set_time(T0 + 100 + REVIEW);
    f.env.send(&[escrow::release_after_review(&f.keys, 1)], &[]).unwrap();
    assert_eq!(f.balances().1, SPECS[0].0 + SPECS[1].0);
    // an approval milestone cannot be submitted when its review would outlast the deadline
    f.env.chain.set_time(T0 + DAY - REVIEW + 1);
    assert_code(f.submit(2), AgentrailError::ReviewOutlastsDeadline);
    f.env.chain.set_time(T0 + DAY - REVIEW);
    f.submit(2).unwrap();
    f.assert_conserved();
}

/// The fee recorded at creation applies even after the admin raises it.
pub fn escrow_fee_fixed_at_creation(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let admin = f.env.admin.pubkey();
    f.env
        .send(&[ix::update_config(&admin, UpdateConfigArgs { fee_bps: Some(1_000), ..Default::default() })], &[])
        .unwrap();
    f.submit(0).unwrap();
    assert_eq!(f.job().fees_earned, fee(SPECS[0].0));
    assert_eq!(f.job().fee_bps, FEE_BPS);
    f.sweep().unwrap();
    assert_eq!(f.balances().2, fee(SPECS[0].0));
    f.assert_conserved();
}

/// No release while the agent is paused or retired or the protocol is paused; refunds work.
pub fn escrow_release_needs_active_agent(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let authority = f.agent_authority.insecure_clone();
    let agent = f.agent;
    let set = |s| ix::set_agent_status(&authority.pubkey(), &agent, s);
    f.env.send(&[set(AgentStatus::Paused)], &[&authority]).unwrap();
    assert_code(f.submit(0), AgentrailError::AgentNotActive);
    f.env.send(&[set(AgentStatus::Active)], &[&authority]).unwrap();
    // while paused the work is recorded (owed) but nothing moves; anyone releases it afterwards
    f.pause(true);
    f.submit(0).unwrap();
    assert_eq!((f.job().milestones()[0].state, f.balances().1), (MilestoneState::Submitted, 0));
    assert_code(f.release(0), AgentrailError::ProtocolPaused);
    f.pause(false);
    f.release(0).unwrap();
    assert_eq!(f.balances().1, SPECS[0].0);
    f.submit(1).unwrap();
    f.env.send(&[set(AgentStatus::Retired)], &[&authority]).unwrap();
    assert_code(f.approve(1), AgentrailError::AgentNotActive);
    let poster = f.poster.insecure_clone();
    f.env.send(&[escrow::reject_milestone(&f.keys, 1, true)], &[&poster]).unwrap();
    assert_eq!(f.job().status, JobStatus::Cancelled);
    f.assert_conserved();
}

/// A revocation of the pinned certification, by any authorised certifier (here one that never
/// attested the agent), stops new work and never pay already owed: a submitted approval
/// milestone is still released after its review, and the refund after the deadline leaves it
/// to the agent. A missing certification is refused; re-certifying does not restore the pin.
pub fn escrow_revoked_certification(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 1);
    f.fund().unwrap();
    let job = f.job();
    assert_eq!((job.min_stage, job.pinned_stage, job.cert_epoch), (1, 1, 0));
    let keeper = f.keeper.insecure_clone();
    let no_cert = JobKeys { certification: None, ..f.keys.clone() };
    let r = f.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &no_cert, 0, [1; 32])], &[&keeper]);
    assert_code(r, AgentrailError::CertificationRequired);
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    let other = f.env.funded();
    f.env.send(&[ix::add_certifier(&f.env.admin.pubkey(), other.pubkey())], &[]).unwrap();
    let cert = pda::certification(&f.agent, 1);
    f.env.send(&[ix::revoke_certification(&other.pubkey(), &cert, [4; 32])], &[&other]).unwrap();
    f.env.attest(&f.agent, 1, DAY).unwrap();
    // re-certified under a new epoch: the job's pin stays broken, no new work is accepted
    assert_code(f.submit(2), AgentrailError::CertificationRevoked);
    // the work submitted before the revocation is owed once the review ends in silence
    f.env.chain.set_time(T0 + REVIEW);
    let payee_before = f.balances().1;
    f.release(1).unwrap();
    assert_eq!(f.balances().1, payee_before + SPECS[1].0, "owed pay released after the revocation");
    f.env.chain.set_time(T0 + DAY + 1);
    let poster_before = f.balances().0;
    f.refund().unwrap();
    assert_eq!(f.balances().0, poster_before + gross(SPECS[2].0), "only the unstarted milestone returns");
    let states: Vec<_> = f.job().milestones().iter().map(|m| m.state).collect();
    assert_eq!(states, [MilestoneState::Released, MilestoneState::Released, MilestoneState::Refunded]);
    assert_eq!(f.job().status, JobStatus::Expired);
    f.assert_conserved();
}

/// An owed milestone stays the agent's through a revocation and the deadline: the refund after
/// the deadline does not take it, and it is released whenever anyone asks.
pub fn escrow_owed_pay_outlives_a_revocation(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 1);
    f.fund().unwrap();
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    let certifier = f.env.certifier.insecure_clone();
    let cert = pda::certification(&f.agent, 1);
    f.env.send(&[ix::revoke_certification(&certifier.pubkey(), &cert, [4; 32])], &[&certifier]).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    f.refund().unwrap();
    assert_eq!(f.job().milestones()[1].state, MilestoneState::Submitted, "owed: not refunded");
    let payee_before = f.balances().1;
    f.release(1).unwrap();
    assert_eq!(f.balances().1, payee_before + SPECS[1].0);
    assert_eq!(f.job().status, JobStatus::Completed);
    f.assert_conserved();
}

/// Cancel before any submission only; reject with cancel returns everything left.
pub fn escrow_cancel_rules(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let poster = f.poster.insecure_clone();
    f.submit(0).unwrap();
    assert_code(f.env.send(&[escrow::cancel_job(&f.keys)], &[&poster]), AgentrailError::AlreadyStarted);
    assert_code(
        f.env.send(&[escrow::reject_milestone(&f.keys, 1, false)], &[&poster]),
        AgentrailError::MilestoneNotSubmitted,
    );
    f.submit(1).unwrap();
    f.env.send(&[escrow::reject_milestone(&f.keys, 1, true)], &[&poster]).unwrap();
    let job = f.job();
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(job.milestones()[1..].iter().all(|m| m.state == MilestoneState::Refunded));
    assert_code(f.submit(2), AgentrailError::InvalidJobStatus);
    f.assert_conserved();
}

/// An unfunded job cancels without moving tokens, and closes.
pub fn escrow_cancel_unfunded(chain: Box<dyn Chain>) {
    let mut g = Fixture::created(chain, TOKEN, &SPECS, 0);
    let poster = g.poster.insecure_clone();
    g.env.send(&[escrow::cancel_job(&g.keys)], &[&poster]).unwrap();
    assert_eq!((g.job().status, g.job().refunded), (JobStatus::Cancelled, 0));
    assert_eq!(g.record(), (0, 0, 0, 0, 0, 0), "an unfunded job writes no record");
    g.env.send(&[escrow::close_job(&g.keys)], &[&poster]).unwrap();
    assert_tombstone(&mut g);
}

/// Closing: only finished jobs, only by the poster; tokens sent to the vault are swept back.
pub fn escrow_close_rules(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let poster = f.poster.insecure_clone();
    assert_code(f.env.send(&[escrow::close_job(&f.keys)], &[&poster]), AgentrailError::InvalidJobStatus);
    f.env.send(&[escrow::cancel_job(&f.keys)], &[&poster]).unwrap();
    let stranger = f.env.funded();
    let as_stranger = JobKeys { poster: stranger.pubkey(), ..f.keys.clone() };
    assert_code(f.env.send(&[escrow::close_job(&as_stranger)], &[&stranger]), ErrorCode::ConstraintSeeds);
    let (mint, vault) = (f.mint, f.keys.vault);
    f.env.mint_to(&mint, &TOKEN, &vault, 42);
    f.env.send(&[escrow::close_job(&f.keys)], &[&poster]).unwrap();
    assert_eq!(f.balances().0, POSTER_TOKENS + 42);
    assert!(!f.env.exists(&f.keys.vault));
    assert_tombstone(&mut f);
    assert_fails(f.env.send(&[escrow::close_job(&f.keys)], &[&poster]));
}

/// A closed job's account is a [`ClosedJob`] tombstone: the discriminator alone.
#[track_caller]
fn assert_tombstone(f: &mut Fixture) {
    let account = f.env.chain.account(&f.keys.job).expect("the tombstone stays");
    assert_eq!((account.owner, account.data.as_slice()), (agentrail::ID, ClosedJob::DISCRIMINATOR));
}

/// The keeper gives up on the current pending step: only the job's keeper, only that
/// milestone, only to the poster's account, never twice, even while paused or after the deadline.
pub fn escrow_keeper_fails_milestone(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 0);
    assert_code(f.fail(0, false), AgentrailError::InvalidJobStatus);
    f.fund().unwrap();
    // only a started step, and only once its time ran out with nothing submitted
    assert_code(f.fail(0, false), AgentrailError::NotStarted);
    f.start(0).unwrap();
    f.env.chain.set_time(T0 + STEP_TIMEOUT - 1);
    assert_code(f.fail(0, false), AgentrailError::StepInProgress);
    f.env.chain.set_time(T0 + STEP_TIMEOUT);
    // wrong signers: a stranger, the poster, the agent
    let stranger = f.env.funded();
    let (poster, authority) = (f.poster.insecure_clone(), f.agent_authority.insecure_clone());
    for who in [&stranger, &poster, &authority] {
        let ix = escrow::fail_milestone(&who.pubkey(), &f.keys, 0, true, [9; 32]);
        assert_code(f.env.send(&[ix], &[who]), AgentrailError::Unauthorized);
    }
    // wrong accounts: the refund must go to the poster's account for the job's mint
    let keeper = f.keeper.insecure_clone();
    let stranger_token = f.env.token_account(&stranger.pubkey(), &f.mint, &TOKEN);
    let other_mint = f.env.create_mint(TOKEN, None);
    let cases: Vec<(JobKeys, u32)> = vec![
        (JobKeys { poster_token: stranger_token, ..f.keys.clone() }, ErrorCode::ConstraintTokenOwner.into()),
        (JobKeys { poster_token: f.keys.payee_token, ..f.keys.clone() }, ErrorCode::ConstraintTokenOwner.into()),
        (JobKeys { mint: other_mint, ..f.keys.clone() }, ErrorCode::ConstraintHasOne.into()),
        (JobKeys { vault: f.keys.poster_token, ..f.keys.clone() }, ErrorCode::ConstraintDuplicateMutableAccount.into()),
        (JobKeys { vault: f.keys.payee_token, ..f.keys.clone() }, ErrorCode::ConstraintSeeds.into()),
    ];
    for (keys, code) in cases {
        let ix = escrow::fail_milestone(&keeper.pubkey(), &keys, 0, false, [9; 32]);
        assert_code(f.env.send(&[ix], &[&keeper]), code);
    }
    // only the milestone being worked on
    assert_code(f.fail(1, false), AgentrailError::MilestoneOutOfOrder);
    assert_code(f.fail(9, false), AgentrailError::InvalidMilestone);
    assert_eq!(f.balances().3, f.total, "nothing left the vault");
    let (poster_before, ..) = f.balances();
    f.fail(0, false).unwrap();
    assert_eq!(f.balances().0, poster_before + gross(SPECS[0].0));
    assert_eq!(f.job().milestones()[0].state, MilestoneState::Refunded);
    // replay, and no submission of a failed milestone
    assert_code(f.fail(0, false), AgentrailError::MilestoneNotPending);
    assert_code(f.submit(0), AgentrailError::MilestoneNotPending);
    // the job goes on with the next step; a submitted milestone is the poster's to reject
    f.submit(1).unwrap();
    assert_code(f.fail(1, true), AgentrailError::MilestoneNotPending);
    f.approve(1).unwrap();
    f.start(2).unwrap();
    // refunds are never blocked: works while the protocol is paused and after the deadline
    let admin = f.env.admin.pubkey();
    let pause = |paused| ix::update_config(&admin, UpdateConfigArgs { paused: Some(paused), ..Default::default() });
    f.env.send(&[pause(true)], &[]).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    let (poster_before, payee_before, ..) = f.balances();
    f.fail(2, true).unwrap();
    let job = f.job();
    assert_eq!((job.status, job.refunded), (JobStatus::Cancelled, gross(SPECS[0].0) + gross(SPECS[2].0)));
    // the vault keeps only the approved milestone's fee, for the sweep
    assert_eq!(f.balances(), (poster_before + gross(SPECS[2].0), payee_before, 0, fee(SPECS[1].0)));
    assert_code(f.fail(2, true), AgentrailError::InvalidJobStatus);
    assert_code(f.env.send(&[escrow::refund_expired(&f.keys)], &[]), AgentrailError::InvalidJobStatus);
    f.assert_conserved();
    assert_eq!(f.record(), (1, 1, 0, 2, 0, u128::from(SPECS[1].0)), "two steps given up on, one paid");
}

/// Failing the last pending milestone settles the job: it completes, nothing else moves.
pub fn escrow_fail_last_milestone_completes(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(100_000_000, false), (50_000_000, false)], 0);
    f.fund().unwrap();
    f.submit(0).unwrap();
    let (_, payee_before, ..) = f.balances();
    f.start_and_time_out(1);
    f.fail(1, false).unwrap();
    let job = f.job();
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!((job.released, f.balances().1, f.balances().3), (100_000_000, payee_before, fee(100_000_000)));
    f.assert_conserved();
}

// ---- the program audit's findings (shared/reviews/program-audit.md), one scenario each ----

/// Audit 2: the review window binds the poster. No rejection once it ended in silence; a
/// milestone accepted by silence is paid even when nobody cranked it before the deadline, and
/// one submitted at the last allowed moment still has a release window (it has no end).
pub fn escrow_review_window_binds_the_poster(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    f.env.chain.set_time(T0 + 10);
    f.submit(1).unwrap();
    f.env.chain.set_time(T0 + 10 + REVIEW);
    assert_code(f.reject(1, false), AgentrailError::ReviewWindowClosed);
    assert_code(f.reject(1, true), AgentrailError::ReviewWindowClosed);
    f.approve(1).unwrap();
    // submitted at the last moment the deadline allows, then nobody cranks before the deadline
    f.env.chain.set_time(T0 + DAY - REVIEW);
    f.submit(2).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(f.reject(2, false), AgentrailError::ReviewWindowClosed);
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    f.env.chain.set_time(T0 + 30 * DAY);
    f.release(2).unwrap();
    let job = f.job();
    assert_eq!((job.status, job.milestones()[2].state), (JobStatus::Completed, MilestoneState::Released));
    assert_eq!(f.balances().1, SPECS.iter().map(|s| s.0).sum::<u64>(), "the agent is paid for all three");
    f.assert_conserved();
}

/// Audit 2, the rejection inside the window still works and refunds at once.
pub fn escrow_reject_inside_the_window(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    f.env.chain.set_time(T0 + REVIEW - 1);
    let before = f.balances().0;
    f.reject(1, false).unwrap();
    assert_eq!(f.balances().0, before + gross(SPECS[1].0));
    assert_code(f.reject(1, false), AgentrailError::MilestoneNotSubmitted);
    f.assert_conserved();
}

/// Audit 3: started work is protected. Once the keeper marked the first step started, the
/// poster cannot cancel until the step timeout passes without a submission; only the keeper
/// starts, only the current milestone, once, before the deadline.
pub fn escrow_started_step_blocks_cancel(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(100_000_000, false)], 0);
    assert_code(f.start(0), AgentrailError::InvalidJobStatus);
    f.fund().unwrap();
    let stranger = f.env.funded();
    let poster = f.poster.insecure_clone();
    for who in [&stranger, &poster] {
        let ix = escrow::start_milestone(&who.pubkey(), &f.keys.job, 0);
        assert_code(f.env.send(&[ix], &[who]), AgentrailError::Unauthorized);
    }
    assert_code(f.start(1), AgentrailError::InvalidMilestone);
    f.env.chain.set_time(T0 + 5);
    f.start(0).unwrap();
    assert_eq!(f.job().milestones()[0].started_at, T0 + 5);
    assert_code(f.start(0), AgentrailError::AlreadyStarted);
    // the poster watches the step finish and tries to cancel before the submission lands
    assert_code(f.cancel(), AgentrailError::StepInProgress);
    f.env.chain.set_time(T0 + 5 + STEP_TIMEOUT - 1);
    assert_code(f.cancel(), AgentrailError::StepInProgress);
    f.submit(0).unwrap();
    assert_eq!(f.balances().1, 100_000_000, "the agent is paid for the step");
    f.assert_conserved();
}

/// Audit 3, the other side: a started step that never gets submitted does not trap the poster.
pub fn escrow_cancel_after_step_timeout(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.start(0).unwrap();
    f.env.chain.set_time(T0 + STEP_TIMEOUT);
    f.cancel().unwrap();
    assert_eq!((f.job().status, f.balances().0), (JobStatus::Cancelled, POSTER_TOKENS));
}

/// No step starts after the deadline, nor out of order.
pub fn escrow_no_start_after_deadline(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    assert_code(f.start(1), AgentrailError::MilestoneOutOfOrder);
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(f.start(0), AgentrailError::DeadlinePassed);
}

/// Audit 4: the mint policy is checked again at funding: a Token-2022 mint closed and
/// re-created with a permanent delegate after `create_job` is refused.
pub fn escrow_mint_recreated_before_funding(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(1, false)], 0);
    let mint = f.env.next_key();
    f.env.create_mint_at(&mint, TOKEN_2022, None, true);
    let poster = f.poster.insecure_clone();
    let args = job_args(50, &[(1_000, false)], f.keeper.pubkey(), 0);
    let create = escrow::create_job(&poster.pubkey(), &f.agent, 1, &mint.pubkey(), &TOKEN_2022, args);
    f.env.send(&[create], &[&poster]).unwrap();
    f.env.close_mint(&mint.pubkey());
    f.env.create_mint_at(&mint, TOKEN_2022, Some(Refused::PermanentDelegate), false);
    let poster_token = f.env.token_account(&poster.pubkey(), &mint.pubkey(), &TOKEN_2022);
    f.env.mint_to(&mint.pubkey(), &TOKEN_2022, &poster_token, 10_000);
    let job_key = pda::job(&poster.pubkey(), 50);
    let job: Job = f.env.fetch(&job_key);
    let keys = JobKeys::new(job_key, &job, &f.env.fetch::<Agent>(&f.agent));
    let r = f.env.send(&[escrow::fund_job(&keys, job.total())], &[&poster]);
    assert_code(r, AgentrailError::MintPermanentDelegate);
    assert_eq!(f.env.balance(&poster_token), 10_000, "nothing moved");
}

/// Audit 5: work is accepted only while the required certification is in force; work accepted
/// before it lapsed is still paid.
pub fn escrow_expiry_judged_at_submission(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 1);
    f.fund().unwrap();
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    // the attestation is renewed with a short life and lapses while milestone 1 awaits review
    f.env.attest(&f.agent, 1, 100).unwrap();
    f.env.chain.set_time(T0 + 200);
    f.approve(1).unwrap();
    assert_code(f.submit(2), AgentrailError::CertificationTooLow);
    f.assert_conserved();
}

/// Audit 5: releases enforce the pinned agent version: a new version ends payments on jobs
/// pinned to the old one, and their owed work returns to the poster after the deadline.
pub fn escrow_version_pin(chain: Box<dyn Chain>) {
    let mut g = Fixture::funded(chain);
    g.submit(0).unwrap();
    g.submit(1).unwrap();
    let authority = g.agent_authority.insecure_clone();
    let args = PublishVersionArgs { version: Semver { major: 2, minor: 0, patch: 0 }, manifest_hash: [2; 32] };
    g.env.send(&[ix::publish_version(&authority.pubkey(), &g.agent, args)], &[&authority]).unwrap();
    assert_code(g.approve(1), AgentrailError::WrongAgentVersion);
    g.env.chain.set_time(T0 + REVIEW);
    assert_code(g.release(1), AgentrailError::WrongAgentVersion);
    g.env.chain.set_time(T0 + DAY + 1);
    let before = g.balances().0;
    g.refund().unwrap();
    assert_eq!(g.balances().0, before + gross(SPECS[1].0) + gross(SPECS[2].0));
    assert_eq!(g.job().status, JobStatus::Expired);
    g.assert_conserved();
}

/// Audit 5: no new work from an agent that moved to another version.
pub fn escrow_no_submission_after_new_version(chain: Box<dyn Chain>) {
    let mut g = Fixture::funded(chain);
    let authority = g.agent_authority.insecure_clone();
    let args = PublishVersionArgs { version: Semver { major: 1, minor: 1, patch: 0 }, manifest_hash: [3; 32] };
    g.env.send(&[ix::publish_version(&authority.pubkey(), &g.agent, args)], &[&authority]).unwrap();
    assert_code(g.submit(0), AgentrailError::WrongAgentVersion);
}

/// Audit 6: permissionless payouts go only to associated token accounts. A delegate the poster
/// once approved on another account cannot route the refund there and drain it.
pub fn escrow_permissionless_payouts_use_atas(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let poster = f.poster.insecure_clone();
    let delegate = f.env.funded();
    let side = f.env.other_token_account(&poster.pubkey(), &f.mint, &TOKEN);
    f.env.approve_delegate(&side, &poster, &delegate.pubkey(), u64::MAX);
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    let owner = f.env.fetch::<Agent>(&f.agent).payout;
    let payee_side = f.env.other_token_account(&owner, &f.mint, &TOKEN);
    f.env.chain.set_time(T0 + REVIEW);
    let to_side = JobKeys { payee_token: payee_side, ..f.keys.clone() };
    assert_code(f.env.send(&[escrow::release_after_review(&to_side, 1)], &[]), ErrorCode::ConstraintAssociated);
    f.release(1).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    let refund_to_side = JobKeys { poster_token: side, ..f.keys.clone() };
    assert_code(f.env.send(&[escrow::refund_expired(&refund_to_side)], &[]), AgentrailError::NotCanonicalAccount);
    let keeper = f.keeper.insecure_clone();
    let fail = escrow::fail_milestone(&keeper.pubkey(), &refund_to_side, 2, false, [0; 32]);
    assert_code(f.env.send(&[fail], &[&keeper]), AgentrailError::NotCanonicalAccount);
    f.refund().unwrap();
    assert_eq!(f.env.balance(&side), 0, "the refund went to the poster's associated account");
}

/// Audit 6, the other side: the poster may send its own refund to any account it owns when it
/// signs (cancel, reject).
pub fn escrow_poster_signed_refund_to_own_account(chain: Box<dyn Chain>) {
    let mut g = Fixture::funded(chain);
    let poster = g.poster.insecure_clone();
    let side = g.env.other_token_account(&poster.pubkey(), &g.mint, &TOKEN);
    g.env.send(&[escrow::cancel_job(&JobKeys { poster_token: side, ..g.keys.clone() })], &[&poster]).unwrap();
    assert_eq!(g.env.balance(&side), g.total);
}

/// Audit 7: a protocol pause cannot turn money owed to an agent into a refund. Work submitted
/// during the pause is recorded; milestones accepted before or during it survive the deadline
/// and are released once the pause ends. Refunds of the rest still work while paused.
pub fn escrow_pause_keeps_owed_pay(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(100_000_000, true), (50_000_000, false), (30_000_000, false)], 0);
    f.fund().unwrap();
    f.submit(0).unwrap();
    f.pause(true);
    assert_code(f.approve(0), AgentrailError::ProtocolPaused);
    f.env.chain.set_time(T0 + REVIEW);
    assert_code(f.release(0), AgentrailError::ProtocolPaused);
    // the keeper cannot submit milestone 1 (0 is not settled) and the deadline passes paused
    f.env.chain.set_time(T0 + DAY + 1);
    let before = f.balances().0;
    f.refund().unwrap();
    assert_eq!(f.balances().0, before + gross(50_000_000) + gross(30_000_000), "only unstarted work returns");
    assert_eq!((f.job().status, f.job().milestones()[0].state), (JobStatus::Funded, MilestoneState::Submitted));
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    f.pause(false);
    f.release(0).unwrap();
    assert_eq!((f.job().status, f.balances().1), (JobStatus::Completed, 100_000_000));
    f.assert_conserved();
}

/// Audit 9: a closed job's address is never reused: the same poster and nonce cannot create a
/// new job there, so nothing off-chain can mistake a new job for the old one.
pub fn escrow_closed_job_address_not_reused(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &[(1_000, false)], 0);
    f.cancel().unwrap();
    let poster = f.poster.insecure_clone();
    f.env.send(&[escrow::close_job(&f.keys)], &[&poster]).unwrap();
    assert_tombstone(&mut f);
    let args = job_args(7, &[(1_000, false)], f.keeper.pubkey(), 0);
    let again = escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, args);
    assert_fails(f.env.send(&[again], &[&poster]));
    assert_tombstone(&mut f);
}

/// The terms are pinned at creation and never change.
pub fn escrow_terms_pinned(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let job = f.job();
    assert_eq!((job.terms_hash, job.terms_uri()), (TERMS_HASH, "https://terms.example/jobs/7.json"));
    assert_eq!(job.step_timeout, STEP_TIMEOUT);
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    f.approve(1).unwrap();
    let after = f.job();
    assert_eq!((after.terms_hash, after.terms_uri()), (job.terms_hash, job.terms_uri()));
}
