use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::MilestoneSubmitted, instructions::vault::*};

/// The job's keeper reports milestone `index` done with the hash of its receipt. Milestones
/// without approval are released at once; the others wait for the poster.
#[derive(Accounts)]
pub struct SubmitMilestone<'info> {
    pub keeper: Signer<'info>,
    pub settlement: Settlement<'info>,
}

impl SubmitMilestone<'_> {
    fn validate(&self) -> Result<()> {
        require_keys_eq!(self.keeper.key(), self.settlement.job.keeper, AgentrailError::Unauthorized);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn submit_milestone(ctx: Context<Self>, index: u8, result_hash: [u8; 32]) -> Result<()> {
        let settlement = &mut ctx.accounts.settlement;
        settlement.job.submit(index, result_hash, Clock::get()?.unix_timestamp)?;
        let requires_approval = settlement.job.milestone(index)?.requires_approval;
        emit!(MilestoneSubmitted { job: settlement.job.key(), index, result_hash, requires_approval });
        if !requires_approval {
            settlement.release(index)?;
        }
        Ok(())
    }
}
