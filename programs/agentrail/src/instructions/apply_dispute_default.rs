use anchor_lang::prelude::*;

use crate::{instructions::settlement::*, state::*};

/// Anyone applies the job's default rule to disputed milestone `index` once its dispute window
/// ended with the arbiter silent: `dispute_default_bps` to the agent, the rest to the poster.
/// No deadline applies, so a dispute can never be stranded; if the agent may no longer be paid,
/// its share goes to the poster.
#[derive(Accounts)]
pub struct ApplyDisputeDefault<'info> {
    /// The job and the accounts the three shares go to.
    pub dispute: DisputeSettlement<'info>,
}

impl ApplyDisputeDefault<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        self.dispute.settlement.job.load()?.check_default_applies(index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn apply_dispute_default(ctx: Context<Self>, index: u8) -> Result<()> {
        let bps = ctx.accounts.dispute.settlement.job.load()?.dispute_default_bps;
        ctx.accounts.dispute.decide(index, bps, Decider::DefaultRule)
    }
}
