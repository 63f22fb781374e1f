use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AgentPayoutChanged, state::*};

/// Changes the payout wallet. The new wallet signs, proving its owner controls it.
#[derive(Accounts)]
pub struct SetPayout<'info> {
    /// The agent's authority.
    pub authority: Signer<'info>,
    /// The new payout wallet; signs so no one names a wallet they do not control.
    pub new_payout: Signer<'info>,
    /// The agent whose payout changes.
    #[account(
        mut,
        seeds = [seeds::AGENT, &agent.id.to_le_bytes()],
        bump = agent.bump,
        has_one = authority @ AgentrailError::Unauthorized
    )]
    pub agent: Account<'info, Agent>,
}

impl SetPayout<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn set_payout(ctx: Context<Self>) -> Result<()> {
        let agent = &mut ctx.accounts.agent;
        agent.payout = ctx.accounts.new_payout.key();
        agent.updated_at = Clock::get()?.unix_timestamp;
        emit!(AgentPayoutChanged { agent: agent.key(), payout: agent.payout });
        Ok(())
    }
}
