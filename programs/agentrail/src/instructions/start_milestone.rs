use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::MilestoneStarted, state::*};

/// The job's keeper marks the step of pending milestone `index` started, before it calls the
/// agent; only once the agent accepted the job. From then the step has the job's step timeout:
/// the keeper cannot fail it before the time runs out (the agent may submit its own work
/// meanwhile), and while no milestone has settled the poster cannot cancel the job either, so
/// nobody can watch a step finish and take the work for free. Once per milestone.
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
