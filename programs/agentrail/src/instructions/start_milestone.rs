use anchor_lang::prelude::*;

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
        constraint = { let j = job.load()?; j.is_at(&job.key(), &j.poster) }
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
    pub job: AccountLoader<'info, Job>,
}

impl StartMilestone<'_> {
    /// Handler.
    pub fn start_milestone(ctx: Context<Self>, index: u8) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        ctx.accounts.job.load_mut()?.start(index, now)?;
        emit!(MilestoneStarted { job: ctx.accounts.job.key(), index, started_at: now });
        Ok(())
    }
}
