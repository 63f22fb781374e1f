use anchor_lang::prelude::*;

use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::{
    bypass::distinct::distinct, errors::AgentrailError, events::JobFunded, instructions::settlement::check_conserved,
    mint_policy::check_mint, state::*,
};

/// The poster moves the job's total (milestones plus fees) into its vault. The poster states
/// the total it expects, so a job that differs from what the poster saw is never funded. The
/// mint policy is checked again: a Token-2022 mint closed and re-created with a refused extension
/// since `create_job` is refused here.
#[derive(Accounts)]
pub struct FundJob<'info> {
    /// The job's poster, paying from its token account.
    // the job's address is checked here, before the job's own constraints, where Anchor
    // checked its `seeds`: by hash (bypass::derived::is_derived)
    #[account(
        constraint = job.load()?.is_at(&job.key(), &poster.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub poster: Signer<'info>,
    /// The protocol config: its pause switch.
    #[account(address = Config::ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    /// The job being funded.
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        has_one = poster @ AgentrailError::Unauthorized,
        has_one = mint,
        has_one = token_program,
        constraint = distinct(&[job.key(), poster_token.key(), vault.key(), track_record.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's mint, checked against the mint policy again.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The poster's token account paying the total.
    #[account(mut, dup, token::mint = mint, token::authority = poster, token::token_program = token_program)]
    pub poster_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The job's vault (its address checked by hash).
    #[account(
        mut,
        dup,
        constraint = job.load()?.has_vault(&vault.key(), &job.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The job's token program.
    pub token_program: Interface<'info, TokenInterface>,
    /// The agent's track record in the job's mint: it counts funded jobs the agent accepted.
    #[account(mut, dup, constraint = track_record.load()?.is_shard_for(&*job.load()?) @ AgentrailError::WrongTrackRecord)]
    pub track_record: AccountLoader<'info, TrackRecord>,
}

impl FundJob<'_> {
    fn validate(&self, expected_total: u64) -> Result<()> {
        self.config.require_live()?;
        let job = self.job.load()?;
        job.check_fundable(Clock::get()?.unix_timestamp)?;
        require!(job.total() == expected_total, AgentrailError::JobChanged);
        check_mint(&self.mint.to_account_info())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(expected_total))]
    pub fn fund_job(ctx: Context<Self>, expected_total: u64) -> Result<()> {
        let a = ctx.accounts;
        crate::bypass::cpi::transfer_checked(
            &a.token_program.key(),
            &a.poster_token.to_account_info(),
            &a.mint.to_account_info(),
            &a.vault.to_account_info(),
            &a.poster.to_account_info(),
            expected_total,
            a.mint.decimals,
            &[],
        )?;
        {
            let mut job = a.job.load_mut()?;
            job.funded = expected_total;
            job.status = JobStatus::Funded;
        }
        check_conserved(&a.job, &a.vault.to_account_info())?;
        // a job counts once accepted and funded: here when the agent accepted first
        if a.job.load()?.counts_in_record() {
            let mut record = a.track_record.load_mut()?;
            record.jobs = record.jobs.saturating_add(1);
        }
        emit!(JobFunded { job: a.job.key(), amount: expected_total });
        Ok(())
    }
}
