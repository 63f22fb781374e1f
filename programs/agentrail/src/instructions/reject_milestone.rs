use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::settlement::*, state::*};

/// The poster rejects submitted approval milestone `index` while its review window is open:
/// its amount and fee return to the poster. With `cancel`, every other unreleased milestone
/// returns too and the job is cancelled. After the window the milestone is owed to the agent.
#[derive(Accounts)]
pub struct RejectMilestone<'info> {
    /// The job's poster.
    pub poster: Signer<'info>,
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
}

impl RejectMilestone<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        let job = &self.refund.job;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        job.check_rejectable(index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn reject_milestone(ctx: Context<Self>, index: u8, cancel: bool) -> Result<()> {
        let refund = &mut ctx.accounts.refund;
        if cancel {
            refund.refund(|_, _| true, Some(JobStatus::Cancelled), RefundCause::Rejected(index))?;
        } else {
            refund.refund(|i, _| i == usize::from(index), None, RefundCause::Rejected(index))?;
        }
        Ok(())
    }
}
