use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AgentMetadataUpdated, instructions::AgentAuthority, state::*};

impl AgentAuthority<'_> {
    /// Replaces the agent's metadata URI.
    pub fn update_agent_metadata(ctx: Context<Self>, metadata_uri: String) -> Result<()> {
        Agent::check_uri(&metadata_uri)?;
        let accounts = ctx.accounts;
        require!(accounts.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        accounts.touch()?;
        emit!(AgentMetadataUpdated { agent: accounts.agent.key(), metadata_uri: metadata_uri.clone() });
        accounts.agent.metadata_uri = metadata_uri;
        Ok(())
    }
}
