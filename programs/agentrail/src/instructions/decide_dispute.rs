use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, instructions::settlement::*, state::*};

/// The job's arbiter divides disputed milestone `index` within its dispute window: `agent_bps`
/// basis points of its amount (and of its fee) to the agent, the rest back to the poster.
#[derive(Accounts)]
pub struct DecideDispute<'info> {
    /// The job's arbiter.
    pub arbiter: Signer<'info>,
    /// The job and the accounts the three shares go to.
    pub dispute: DisputeSettlement<'info>,
}

impl DecideDispute<'_> {
    fn validate(&self, index: u8, agent_bps: u16) -> Result<()> {
        let job = self.dispute.settlement.job.load()?;
        require!(job.arbiter() == Some(self.arbiter.key()), AgentrailError::Unauthorized);
        require!(agent_bps <= MAX_SHARE_BPS, AgentrailError::InvalidShare);
        job.check_decidable(index, Clock::get()?.unix_timestamp)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(index, agent_bps))]
    pub fn decide_dispute(ctx: Context<Self>, index: u8, agent_bps: u16) -> Result<()> {
        ctx.accounts.dispute.decide(index, agent_bps, Decider::Arbiter)
    }
}
