use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AgentMetadataUpdated, instructions::AgentAuthority, state::*};

/// Arguments of `update_agent_metadata`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct UpdateAgentMetadataArgs {
    /// The new metadata URI.
    // read without Borsh's up-front allocation (bypass::borsh_string::read_string)
    #[cfg_attr(not(feature = "idl-build"), borsh(deserialize_with = "crate::bypass::borsh_string::read_string"))]
    pub metadata_uri: String,
}

impl AgentAuthority<'_> {
    /// Replaces the agent's metadata URI.
    pub fn update_agent_metadata(ctx: Context<Self>, args: UpdateAgentMetadataArgs) -> Result<()> {
        let metadata_uri = args.metadata_uri;
        Agent::check_uri(&metadata_uri)?;
        let accounts = ctx.accounts;
        require!(accounts.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        accounts.touch()?;
        emit!(AgentMetadataUpdated { agent: accounts.agent.key(), metadata_uri: metadata_uri.clone() });
        accounts.agent.metadata_uri = metadata_uri;
        Ok(())
    }
}
