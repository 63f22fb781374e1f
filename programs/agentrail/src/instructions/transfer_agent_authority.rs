use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AgentAuthorityTransferred, state::*};

/// Hands an agent to a new authority. Both sign, so control can never go to a key nobody holds.
#[derive(Accounts)]
pub struct TransferAgentAuthority<'info> {
    /// The agent's current authority.
    pub authority: Signer<'info>,
    /// The new authority, accepting in the same transaction.
    pub new_authority: Signer<'info>,
    /// The agent handed over.
    #[account(
        mut,
        seeds = [seeds::AGENT, &agent.id.to_le_bytes()],
        bump = agent.bump,
        has_one = authority @ AgentrailError::Unauthorized
    )]
    pub agent: Account<'info, Agent>,
}

impl TransferAgentAuthority<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn transfer_agent_authority(ctx: Context<Self>) -> Result<()> {
        let agent = &mut ctx.accounts.agent;
        let previous = agent.authority;
        agent.authority = ctx.accounts.new_authority.key();
        agent.updated_at = Clock::get()?.unix_timestamp;
        emit!(AgentAuthorityTransferred { agent: agent.key(), previous, authority: agent.authority });
        Ok(())
    }
}
