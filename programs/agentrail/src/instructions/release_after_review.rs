use anchor_lang::prelude::*;

use crate::instructions::vault::*;

/// Anyone releases submitted milestone `index` once the poster stayed silent for the whole
/// review window (optimistic settlement).
#[derive(Accounts)]
pub struct ReleaseAfterReview<'info> {
    pub settlement: Settlement<'info>,
}

impl ReleaseAfterReview<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        self.settlement.job.check_review_elapsed(index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn release_after_review(ctx: Context<Self>, index: u8) -> Result<()> {
        ctx.accounts.settlement.release(index)
    }
}
