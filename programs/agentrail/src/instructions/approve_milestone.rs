use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::settlement::*};

/// The poster approves submitted milestone `index`, releasing it.
#[derive(Accounts)]
pub struct ApproveMilestone<'info> {
    /// The job's poster.
    pub poster: Signer<'info>,
    /// The job and the accounts a release touches.
    pub settlement: Settlement<'info>,
}

impl ApproveMilestone<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        let job = self.settlement.job.load()?;
        require_keys_eq!(self.poster.key(), job.poster, AgentrailError::Unauthorized);
        job.check_approvable(index)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn approve_milestone(ctx: Context<Self>, index: u8) -> Result<()> {
        ctx.accounts.settlement.release(index)
    }
}
