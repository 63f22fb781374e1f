use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::settlement::*, state::*};

/// The agent accepts the poster's rejection of disputed milestone `index`: it returns to the
/// poster's associated token account at once, without waiting for the arbiter.
#[derive(Accounts)]
pub struct ConcedeDispute<'info> {
    /// The agent's authority.
    pub authority: Signer<'info>,
    /// The job and the accounts a refund touches.
    pub refund: Refund<'info>,
    /// The job's agent.
    #[account(address = refund.job.load()?.agent, has_one = authority @ AgentrailError::Unauthorized)]
    pub agent: Box<Account<'info, Agent>>,
}

impl ConcedeDispute<'_> {
    fn validate(&self, index: u8) -> Result<()> {
        self.refund.require_canonical_destination()?;
        self.refund.job.load()?.check_disputed(index).map(|_| ())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index))]
    pub fn concede_dispute(ctx: Context<Self>, index: u8) -> Result<()> {
        let index_usize = usize::from(index);
        ctx.accounts.refund.refund(|i, _| i == index_usize, None, RefundCause::Conceded(index))?;
        Ok(())
    }
}
