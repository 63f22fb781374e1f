use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::settlement::*, state::*};

/// The poster cancels a job before any milestone was submitted; everything funded returns.
/// Once the keeper marked the first step started (`start_milestone`), cancelling waits until
/// the job's step timeout passes without a submission: the agent may be doing that work.
#[derive(Accounts)]
pub struct CancelJob<'info> {
    /// The job's poster.
    pub poster: Signer<'info>,
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
}

impl CancelJob<'_> {
    fn validate(&self) -> Result<()> {
        let job = self.refund.job.load()?;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        job.check_cancellable(Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn cancel_job(ctx: Context<Self>) -> Result<()> {
        ctx.accounts.refund.refund(|_, _| true, Some(JobStatus::Cancelled), RefundCause::NoVerdict)?;
        Ok(())
    }
}
