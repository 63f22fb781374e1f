//! The accounts every owner-only agent instruction shares.

use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, state::*};

/// An agent and its authority's signature.
#[derive(Accounts)]
pub struct AgentAuthority<'info> {
    /// The agent's authority.
    pub authority: Signer<'info>,
    /// The agent it owns.
    #[account(
        mut,
        seeds = [seeds::AGENT, &agent.id.to_le_bytes()],
        bump = agent.bump,
        has_one = authority @ AgentrailError::Unauthorized
    )]
    pub agent: Account<'info, Agent>,
}

impl AgentAuthority<'_> {
    /// Stamps the agent's `updated_at` with the current time.
    pub fn touch(&mut self) -> Result<()> {
        self.agent.updated_at = Clock::get()?.unix_timestamp;
        Ok(())
    }
}
