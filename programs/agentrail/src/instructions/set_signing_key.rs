use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AgentSigningKeyChanged, state::*};

/// Sets, rotates or clears the key the agent co-signs its outputs with. A new key signs the
/// transaction, proving the agent's operator holds it; without one the key is cleared.
#[derive(Accounts)]
pub struct SetSigningKey<'info> {
    /// The agent's authority.
    pub authority: Signer<'info>,
    /// The new signing key, signing to prove control of it; absent to clear the key.
    pub new_key: Option<Signer<'info>>,
    /// The agent whose signing key changes.
    #[account(
        mut,
        seeds = [seeds::AGENT, &agent.id.to_le_bytes()],
        bump = agent.bump,
        has_one = authority @ AgentrailError::Unauthorized
    )]
    pub agent: Account<'info, Agent>,
}

impl SetSigningKey<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn set_signing_key(ctx: Context<Self>) -> Result<()> {
        let signing_key = ctx.accounts.new_key.as_ref().map(|k| k.key());
        let agent = &mut ctx.accounts.agent;
        agent.set_signing_key(signing_key);
        agent.updated_at = Clock::get()?.unix_timestamp;
        emit!(AgentSigningKeyChanged { agent: agent.key(), signing_key });
        Ok(())
    }
}
