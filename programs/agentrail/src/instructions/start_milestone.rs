use anchor_lang::prelude::*;

use crate::bypass::derived;

use crate::{errors::AgentrailError, events::MilestoneStarted, state::*};

/// The job's keeper marks the step of pending milestone `index` started, before it calls the
/// agent. While no milestone has settled this shields the job from the poster's cancellation
/// until the job's step timeout passes without a submission, so a poster cannot watch a step
/// finish and cancel before its submission lands. Once per milestone.
#[derive(Accounts)]
pub struct StartMilestone<'info> {
    /// The job's keeper.
    // the job's address is checked here, before the job's own constraints, where Anchor
    // checked its `seeds`: by hash (bypass::derived::is_derived)
    #[account(
        constraint = derived::is_derived(&job.key(), &[seeds::JOB, job.poster.as_ref(), &job.nonce.to_le_bytes()], job.bump, &crate::ID)
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub keeper: Signer<'info>,
    /// The job whose step starts.
    #[account(
        mut,
        // the only mutable account here: `dup` skips Anchor's hashed duplicate check (bypass::distinct)
        dup,
        has_one = keeper @ AgentrailError::Unauthorized
    )]
    pub job: Box<Account<'info, Job>>,
}

impl StartMilestone<'_> {
    /// Handler.
    pub fn start_milestone(ctx: Context<Self>, index: u8) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let job = &mut ctx.accounts.job;
        job.start(index, now)?;
        emit!(MilestoneStarted { job: job.key(), index, started_at: now });
        Ok(())
    }
}
