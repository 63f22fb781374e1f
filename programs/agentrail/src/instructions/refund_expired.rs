use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::vault::*, state::*};

/// After the deadline anyone returns everything not yet released to the poster. Nothing the
/// agent, the keeper or a payee account does can block it, and it works while paused.
#[derive(Accounts)]
pub struct RefundExpired<'info> {
    pub refund: Refund<'info>,
}

impl RefundExpired<'_> {
    fn validate(&self) -> Result<()> {
        let job = &self.refund.job;
        require!(matches!(job.status, JobStatus::Created | JobStatus::Funded), AgentrailError::InvalidJobStatus);
        require!(Clock::get()?.unix_timestamp > job.deadline, AgentrailError::DeadlineNotReached);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn refund_expired(ctx: Context<Self>) -> Result<()> {
        ctx.accounts.refund.refund(|_, _| true, Some(JobStatus::Expired))?;
        Ok(())
    }
}
