use anchor_lang::prelude::*;

use crate::instructions::settlement::*;

/// Anyone releases submitted milestone `index` once it is owed: the poster stayed silent for
/// the whole review window (optimistic settlement), or it needed no approval and was submitted
/// while releases were paused. No deadline applies; pay goes to the payout wallet's associated
/// token account only.
#[derive(Accounts)]
pub struct ReleaseAfterReview<'info> {
    /// The job and the accounts a release touches.
    pub settlement: Settlement<'info>,
}

impl ReleaseAfterReview<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        self.settlement.job.load()?.check_review_elapsed(index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn release_after_review(ctx: Context<Self>, index: u8) -> Result<()> {
        ctx.accounts.settlement.release(index)
    }
}
