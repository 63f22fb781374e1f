use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::MilestoneDisputed, instructions::settlement::*, state::*};

/// The poster rejects submitted approval milestone `index` while its review window is open.
/// Without an arbiter its amount and fee return to the poster at once; with one it goes into
/// dispute (the agent may concede, the arbiter decides, or the job's default rule does). With
/// `cancel`, every other unreleased milestone returns too: the job is cancelled, or, while a
/// dispute is open, ends when the dispute does. After the window the milestone is owed.
#[derive(Accounts)]
pub struct RejectMilestone<'info> {
    /// The job's poster.
    pub poster: Signer<'info>,
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
}

impl RejectMilestone<'_> {
    fn validate(&self, index: u8, now: i64) -> Result<()> {
        let job = self.refund.job.load()?;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        job.check_rejectable(index, now)
    }

    /// Handler.
    pub fn reject_milestone(ctx: Context<Self>, index: u8, cancel: bool) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        ctx.accounts.validate(index, now)?;
        let refund = &mut ctx.accounts.refund;
        let index_usize = usize::from(index);
        let arbiter = refund.job.load()?.arbiter();
        if let Some(arbiter) = arbiter {
            let decide_by = {
                let mut job = refund.job.load_mut()?;
                job.dispute(index, now)?;
                job.milestone(index)?.dispute_end(job.dispute_window)?
            };
            refund.track_record.load_mut()?.record_dispute();
            emit!(MilestoneDisputed { job: refund.job.key(), index, arbiter, decide_by });
            if cancel {
                // the disputed milestone stays for its dispute; the job ends when that does
                refund.refund(|i, _| i != index_usize, None, RefundCause::NoVerdict)?;
            }
        } else if cancel {
            refund.refund(|_, _| true, Some(JobStatus::Cancelled), RefundCause::Rejected(index))?;
        } else {
            refund.refund(|i, _| i == index_usize, None, RefundCause::Rejected(index))?;
        }
        Ok(())
    }
}
