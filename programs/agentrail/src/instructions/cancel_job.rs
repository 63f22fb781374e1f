use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::vault::*, state::*};

/// The poster cancels a job before any milestone was submitted; everything funded returns.
#[derive(Accounts)]
pub struct CancelJob<'info> {
    pub poster: Signer<'info>,
    pub refund: Refund<'info>,
}

impl CancelJob<'_> {
    fn validate(&self) -> Result<()> {
        let job = &self.refund.job;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        require!(matches!(job.status, JobStatus::Created | JobStatus::Funded), AgentrailError::InvalidJobStatus);
        require!(job.milestones.iter().all(|m| m.state == MilestoneState::Pending), AgentrailError::AlreadyStarted);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn cancel_job(ctx: Context<Self>) -> Result<()> {
        ctx.accounts.refund.refund(|_, _| true, Some(JobStatus::Cancelled))?;
        Ok(())
    }
}
