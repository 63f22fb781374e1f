use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::MilestoneFailed, instructions::settlement::*, state::*};

/// Arguments of `fail_milestone`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct FailMilestoneArgs {
    /// The pending milestone whose step could not be done.
    pub index: u8,
    /// Also give up on the rest of the job: every unreleased milestone returns and the job
    /// is cancelled.
    pub cancel: bool,
    /// Hash of the keeper's account of the failure (e.g. the step's last error).
    pub reason_hash: [u8; 32],
}

/// The job's keeper gives up on the step of pending milestone `index` once the started step
/// ran out of time with nothing submitted (its retries ran out or its guards refused payment):
/// the milestone's amount and fee return to the poster instead of waiting for the deadline.
/// Until the step's time runs out the agent may still submit its own work, so no keeper (the
/// poster's own included) can take pay for work that was reported. Nothing can go to the keeper
/// or the agent here, and the refund goes to the poster's associated token account (the keeper
/// does not pick it).
#[derive(Accounts)]
pub struct FailMilestone<'info> {
    /// The job's keeper.
    pub keeper: Signer<'info>,
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
}

impl FailMilestone<'_> {
    fn validate(&self, args: &FailMilestoneArgs) -> Result<()> {
        let job = self.refund.job.load()?;
        require_keys_eq!(self.keeper.key(), job.keeper, AgentrailError::Unauthorized);
        self.refund.require_canonical_destination()?;
        job.check_failable(args.index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn fail_milestone(ctx: Context<Self>, args: FailMilestoneArgs) -> Result<()> {
        let refund = &mut ctx.accounts.refund;
        if args.cancel {
            refund.refund(|_, _| true, Some(JobStatus::Cancelled), RefundCause::Failed(args.index))?;
        } else {
            refund.refund(|i, _| i == usize::from(args.index), None, RefundCause::Failed(args.index))?;
        }
        emit!(MilestoneFailed {
            job: refund.job.key(),
            index: args.index,
            keeper: ctx.accounts.keeper.key(),
            reason_hash: args.reason_hash,
            cancelled: args.cancel,
        });
        Ok(())
    }
}
