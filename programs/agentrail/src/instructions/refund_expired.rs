use anchor_lang::prelude::*;

use crate::{instructions::settlement::*, state::*};

/// After the deadline anyone returns everything not owed to the agent to the poster's
/// associated token account. Nothing the agent, the keeper or a payee account does can block
/// it, and it works while paused. Milestones the agent is owed (accepted on submission or by the
/// poster's silent review) stay for `release_after_review`, unless the agent may no longer be
/// paid because of its own choice (not active, another version): then they return too. A
/// certifier's revocation never returns them.
#[derive(Accounts)]
pub struct RefundExpired<'info> {
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
    /// The job's agent, to tell whether owed milestones can still be paid ([`AgentStanding`]).
    /// CHECK: the job's own agent (`address`); owner and discriminator checked by the read
    #[account(address = refund.job.load()?.agent)]
    pub agent: UncheckedAccount<'info>,
}

impl RefundExpired<'_> {
    /// Which milestones return: see [`Job::refundable_after_deadline`].
    fn validate(&self, now: i64) -> Result<MilestoneSet> {
        self.refund.require_canonical_destination()?;
        cu_trace!("cu: refund_expired: canonical destination");
        let job = self.refund.job.load()?;
        job.refundable_after_deadline(now, job.ineligibility(AgentStanding::read(&self.agent)?).is_some())
    }

    /// Handler.
    pub fn refund_expired(ctx: Context<Self>) -> Result<()> {
        let refundable = ctx.accounts.validate(Clock::get()?.unix_timestamp)?;
        cu_trace!("cu: refund_expired: eligibility");
        // the job expires only when nothing owed stays behind for release_after_review
        let expired = Some(JobStatus::Expired);
        ctx.accounts.refund.refund(|i, _| refundable.contains(i), expired, RefundCause::NoVerdict)?;
        Ok(())
    }
}
