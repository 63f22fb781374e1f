use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::{errors::AgentrailError, events::JobCreated, mint_policy::check_mint, state::*};

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
    /// Seconds the poster has to review each approval milestone.
    pub review_window: i64,
}

/// Creates a job for an active agent, pinning its version, its certification and the protocol
/// fee in force, and an empty vault owned by the job.
#[derive(Accounts)]
#[instruction(args: CreateJobArgs)]
pub struct CreateJob<'info> {
    #[account(mut)]
    pub poster: Signer<'info>,
    #[account(seeds = [seeds::CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(seeds = [seeds::AGENT, &agent.id.to_le_bytes()], bump = agent.bump)]
    pub agent: Box<Account<'info, Agent>>,
    /// The agent's current version's certification; required when `min_stage > 0`.
    #[account(seeds = [seeds::CERTIFICATION, agent.key().as_ref(), &agent.version_seq.to_le_bytes()], bump = certification.bump)]
    pub certification: Option<Box<Account<'info, Certification>>>,
    #[account(mint::token_program = token_program)]
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = poster,
        space = Job::space(args.milestones.len().min(MAX_MILESTONES)),
        seeds = [seeds::JOB, poster.key().as_ref(), &args.nonce.to_le_bytes()],
        bump
    )]
    pub job: Box<Account<'info, Job>>,
    #[account(
        init,
        payer = poster,
        seeds = [seeds::VAULT, job.key().as_ref()],
        bump,
        token::mint = mint,
        token::authority = job,
        token::token_program = token_program
    )]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl CreateJob<'_> {
    fn validate(&self, args: &CreateJobArgs, now: i64) -> Result<u8> {
        self.config.require_live()?;
        require!(self.agent.status == AgentStatus::Active, AgentrailError::AgentNotActive);
        require!(args.deadline > now, AgentrailError::DeadlineInPast);
        require!((0..=MAX_REVIEW_WINDOW).contains(&args.review_window), AgentrailError::InvalidReviewWindow);
        require!(usize::from(args.min_stage) <= STAGE_COUNT, AgentrailError::InvalidStage);
        check_mint(&self.mint.to_account_info())?;
        let effective = self.certification.as_ref().map_or(0, |c| c.effective_stage(now));
        require!(effective >= args.min_stage, AgentrailError::CertificationTooLow);
        Ok(effective)
    }

    /// Handler.
    pub fn create_job(ctx: Context<Self>, args: CreateJobArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let pinned_stage = ctx.accounts.validate(&args, now)?;
        let fee_bps = ctx.accounts.config.fee_bps;
        let milestones = Job::milestones_from(&args.milestones, fee_bps)?;
        let agent = &ctx.accounts.agent;
        let job = Job {
            poster: ctx.accounts.poster.key(),
            nonce: args.nonce,
            agent: agent.key(),
            agent_version_seq: agent.version_seq,
            keeper: args.keeper,
            mint: ctx.accounts.mint.key(),
            token_program: ctx.accounts.token_program.key(),
            fee_bps,
            min_stage: args.min_stage,
            pinned_stage,
            cert_epoch: ctx.accounts.certification.as_ref().map_or(0, |c| c.epoch),
            deadline: args.deadline,
            review_window: args.review_window,
            created_at: now,
            status: JobStatus::Created,
            funded: 0,
            released: 0,
            fees_paid: 0,
            refunded: 0,
            bump: ctx.bumps.job,
            vault_bump: ctx.bumps.vault,
            milestones,
        };
        emit!(JobCreated {
            job: ctx.accounts.job.key(),
            poster: job.poster,
            agent: job.agent,
            keeper: job.keeper,
            mint: job.mint,
            total: job.total(),
            fee_bps,
            milestones: job.milestones.len() as u8,
            deadline: job.deadline,
        });
        ctx.accounts.job.set_inner(job);
        Ok(())
    }
}
