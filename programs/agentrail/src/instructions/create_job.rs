use anchor_lang::prelude::*;

use crate::bypass::derived;
use anchor_spl::token_interface::{Mint, TokenInterface};

use crate::{
    bypass::pda_account::{create_pda_account, create_token_account_pda, init_zero_copy},
    errors::AgentrailError,
    events::JobCreated,
    mint_policy::check_mint,
    state::*,
};

/// Arguments of `create_job`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct CreateJobArgs {
    /// Any number the poster has not used before; part of the job's address.
    pub nonce: u64,
    /// 1 to 16 milestones, in order.
    pub milestones: Vec<MilestoneSpec>,
    /// The operator allowed to report milestones done.
    pub keeper: Pubkey,
    /// Minimum certification stage of the agent's current version (0 = none).
    pub min_stage: u8,
    /// Unix seconds after which nothing is released and anyone may refund.
    pub deadline: i64,
    /// Seconds the poster has to review each approval milestone: positive, and short enough
    /// that an approval milestone can still be submitted (`now + review_window < deadline`).
    pub review_window: i64,
    /// SHA-256 of the job's terms document (the work of each milestone).
    pub terms_hash: [u8; 32],
    /// Where the terms document can be fetched; at most 200 bytes.
    #[cfg_attr(not(feature = "idl-build"), borsh(deserialize_with = "crate::bypass::borsh_string::read_string"))]
    pub terms_uri: String,
    /// Seconds a started first step shields the job from cancellation (60 s to 7 days).
    pub step_timeout: i64,
    /// Who decides disputed milestones (a person, a multisig, a DAO), never the poster. `None`:
    /// a rejection refunds at once.
    pub arbiter: Option<Pubkey>,
    /// Seconds the arbiter has to decide, from the rejection: 1 hour to 90 days with an
    /// arbiter, 0 without.
    pub dispute_window: i64,
    /// The agent's share, in basis points (0 to 10000), when the arbiter stays silent through
    /// the window: 0 refunds the poster, 10000 pays the agent. 0 without an arbiter.
    pub dispute_default_bps: u16,
    /// Which of the agent's track-record shards in this mint the job counts in (below
    /// [`TRACK_RECORD_SHARDS`]; clients spread jobs with [`Job::default_record_shard`]).
    pub record_shard: u8,
}

/// Creates a job for an active agent, pinning its version, its certification and the protocol
/// fee in force, and an empty vault owned by the job.
#[derive(Accounts)]
pub struct CreateJob<'info> {
    /// Pays for the job and its vault and will fund it.
    #[account(mut)]
    pub poster: Signer<'info>,
    /// The protocol config: pause switch and the fee recorded for this job.
    #[account(address = Config::ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    /// The agent hired; its current version is pinned (its address checked by hash).
    /// CHECK: an `Agent` at its PDA, read for its standing only (AgentStanding::read)
    #[account(
        constraint = {
            let standing = AgentStanding::read(&agent)?;
            derived::is_derived(&agent.key(), &[seeds::AGENT, &standing.id.to_le_bytes()], standing.bump, &crate::ID)
        } @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub agent: UncheckedAccount<'info>,
    /// The agent's current version's certification; required when `min_stage > 0` (its
    /// address checked by hash).
    #[account(
        constraint = derived::is_derived(
            &certification.key(),
            &[seeds::CERTIFICATION, agent.key().as_ref(), &AgentStanding::read(&agent)?.version_seq.to_le_bytes()],
            certification.bump,
            &crate::ID
        ) @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub certification: Option<Box<Account<'info, Certification>>>,
    /// The payment mint; Token-2022 mints with extensions that endanger escrow are refused.
    #[account(mint::token_program = token_program)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The new job. Its address can never be used again, even after `close_job`.
    /// CHECK: created by the handler at the canonical `[JOB, poster, nonce]` PDA (create_pda_account)
    #[account(mut)]
    pub job: UncheckedAccount<'info>,
    /// The job's empty vault, owned by the job.
    /// CHECK: created by the handler at the canonical `[VAULT, job]` PDA (create_token_account_pda)
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// The shard of the agent's track record in this mint that this job counts in (its address
    /// picks it), created with the first job that counts there (that poster pays its rent once);
    /// every settlement of the job counts in it.
    /// CHECK: created at its canonical PDA, or the `TrackRecord` there (CreateJob::track_record)
    #[account(mut)]
    pub track_record: UncheckedAccount<'info>,
    /// The mint's token program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// Creates the job and vault accounts.
    pub system_program: Program<'info, System>,
}

impl CreateJob<'_> {
    fn validate(&self, args: &CreateJobArgs, now: i64, agent: &AgentStanding) -> Result<u8> {
        self.config.require_live()?;
        require!(agent.status == AgentStatus::Active, AgentrailError::AgentNotActive);
        require!(args.deadline > now, AgentrailError::DeadlineInPast);
        require!((0..=MAX_REVIEW_WINDOW).contains(&args.review_window), AgentrailError::InvalidReviewWindow);
        require!(
            (MIN_STEP_TIMEOUT..=MAX_STEP_TIMEOUT).contains(&args.step_timeout),
            AgentrailError::InvalidStepTimeout
        );
        require!(args.terms_uri.len() <= MAX_TERMS_URI_LEN, AgentrailError::TermsUriLength);
        require!(args.record_shard < TRACK_RECORD_SHARDS, AgentrailError::WrongTrackRecord);
        match args.arbiter {
            Some(arbiter) => {
                // the poster as arbiter would decide its own rejections: no third party at all
                require!(arbiter != self.poster.key() && arbiter != Pubkey::default(), AgentrailError::InvalidArbiter);
                require!(
                    (MIN_DISPUTE_WINDOW..=MAX_DISPUTE_WINDOW).contains(&args.dispute_window),
                    AgentrailError::InvalidDisputeWindow
                );
                require!(args.dispute_default_bps <= MAX_SHARE_BPS, AgentrailError::InvalidShare);
            }
            None => {
                require!(args.dispute_window == 0, AgentrailError::InvalidDisputeWindow);
                require!(args.dispute_default_bps == 0, AgentrailError::InvalidShare);
            }
        }
        if args.milestones.iter().any(|m| m.requires_approval) {
            // an approval milestone must be submittable after one whole step (the step's time
            // and then its review window fit before the deadline: the poster cannot size the
            // window to close while the agent works) and its approval must mean something (a
            // zero window would release at once)
            let latest_review_end = now
                .checked_add(args.step_timeout)
                .and_then(|t| t.checked_add(args.review_window))
                .ok_or(AgentrailError::Overflow)?;
            require!(
                args.review_window > 0 && latest_review_end < args.deadline,
                AgentrailError::ApprovalNeverSubmittable
            );
        }
        require!(usize::from(args.min_stage) <= STAGE_COUNT, AgentrailError::InvalidStage);
        check_mint(&self.mint.to_account_info())?;
        let effective = self.certification.as_ref().map_or(0, |c| c.effective_stage(now));
        require!(effective >= args.min_stage, AgentrailError::CertificationTooLow);
        Ok(effective)
    }

    /// Creates the agent's track record shard for this job when it does not exist yet;
    /// otherwise checks that the account there is that shard (the address it was created at).
    fn track_record(&self, shard: u8, rent: &Rent) -> Result<()> {
        let (agent, mint) = (self.agent.key(), self.mint.key());
        let seeds: [&[u8]; 4] = [seeds::TRACK_RECORD, agent.as_ref(), mint.as_ref(), &[shard]];
        let info = self.track_record.to_account_info();
        if info.owner != &anchor_lang::system_program::ID {
            // what `Account<TrackRecord>` would refuse: another owner or another kind of account
            if info.owner != &crate::ID {
                return Err(Error::from(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram)
                    .with_pubkeys((*info.owner, crate::ID)));
            }
            let bump = TrackRecord::stored_bump(&info.try_borrow_data()?)?;
            require!(
                derived::is_derived(info.key, &seeds, bump, &crate::ID),
                anchor_lang::error::ErrorCode::ConstraintSeeds
            );
            return Ok(());
        }
        // first job of this agent in this mint and shard: the shard starts here
        let bump =
            create_pda_account(&self.poster, &info, "track_record", &seeds, TrackRecord::SPACE, rent, &crate::ID)?;
        let mut data = info.try_borrow_mut_data()?;
        let record = init_zero_copy::<TrackRecord>(&mut data)?;
        (record.agent, record.mint, record.shard, record.bump) = (agent, mint, shard, bump);
        Ok(())
    }

    /// Handler.
    pub fn create_job(ctx: Context<Self>, args: CreateJobArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let agent = AgentStanding::read(&ctx.accounts.agent)?;
        let pinned_stage = ctx.accounts.validate(&args, now, &agent)?;
        cu_trace!("cu: create_job: checks");
        let fee_bps = ctx.accounts.config.fee_bps;
        let accounts = ctx.accounts;
        let (poster, job_key) = (accounts.poster.key(), accounts.job.key());
        let job_seeds: [&[u8]; 3] = [seeds::JOB, poster.as_ref(), &args.nonce.to_le_bytes()];
        // read once for the two or three accounts created here
        let rent = Rent::get()?;
        let bump =
            create_pda_account(&accounts.poster, &accounts.job, "job", &job_seeds, Job::SPACE, &rent, &crate::ID)?;
        cu_trace!("cu: create_job: job account (CPI)");
        let vault_bump = create_token_account_pda(
            &accounts.poster,
            &accounts.vault,
            "vault",
            &[seeds::VAULT, job_key.as_ref()],
            &accounts.mint.to_account_info(),
            &accounts.job,
            &accounts.token_program.key(),
            &rent,
        )?;
        cu_trace!("cu: create_job: vault (two CPIs)");
        accounts.track_record(args.record_shard, &rent)?;
        cu_trace!("cu: create_job: track record");
        // written in place: the account is zeroed, so every field not set here starts at zero
        let mut data = accounts.job.try_borrow_mut_data()?;
        let job = init_zero_copy::<Job>(&mut data)?;
        job.set_milestones(&args.milestones, fee_bps)?;
        job.set_terms_uri(&args.terms_uri)?;
        cu_trace!("cu: create_job: milestones");
        (job.poster, job.nonce, job.agent, job.agent_version_seq) =
            (poster, args.nonce, accounts.agent.key(), agent.version_seq);
        (job.keeper, job.mint, job.token_program) = (args.keeper, accounts.mint.key(), accounts.token_program.key());
        (job.fee_bps, job.min_stage, job.pinned_stage) = (fee_bps, args.min_stage, pinned_stage);
        job.cert_epoch = accounts.certification.as_ref().map_or(0, |c| c.epoch);
        (job.deadline, job.review_window, job.created_at) = (args.deadline, args.review_window, now);
        (job.status, job.bump, job.vault_bump, job.record_shard) =
            (JobStatus::Created, bump, vault_bump, args.record_shard);
        (job.arbiter, job.dispute_window, job.dispute_default_bps) =
            (args.arbiter.unwrap_or_default(), args.dispute_window, args.dispute_default_bps);
        (job.terms_hash, job.step_timeout) = (args.terms_hash, args.step_timeout);
        emit!(JobCreated {
            job: job_key,
            poster,
            agent: job.agent,
            keeper: job.keeper,
            mint: job.mint,
            total: job.total(),
            fee_bps,
            milestones: job.milestone_count,
            deadline: job.deadline,
            terms_hash: job.terms_hash,
            arbiter: args.arbiter,
        });
        cu_trace!("cu: create_job: event");
        Ok(())
    }
}
