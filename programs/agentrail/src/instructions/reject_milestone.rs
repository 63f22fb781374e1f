use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::vault::*, state::*};

/// The poster rejects submitted milestone `index`: its amount and fee return to the poster.
/// With `cancel`, every other unreleased milestone returns too and the job is cancelled.
#[derive(Accounts)]
pub struct RejectMilestone<'info> {
    pub poster: Signer<'info>,
    pub refund: Refund<'info>,
}

impl RejectMilestone<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        let job = &self.refund.job;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        require!(job.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(job.milestone(index)?.state == MilestoneState::Submitted, AgentrailError::MilestoneNotSubmitted);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn reject_milestone(ctx: Context<Self>, index: u8, cancel: bool) -> Result<()> {
        let refund = &mut ctx.accounts.refund;
        if cancel {
            refund.refund(|_, _| true, Some(JobStatus::Cancelled))?;
        } else {
            refund.refund(|i, _| i == usize::from(index), None)?;
        }
        Ok(())
    }
}
