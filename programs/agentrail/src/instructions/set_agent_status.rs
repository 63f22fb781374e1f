use anchor_lang::prelude::*;

use crate::{events::AgentStatusChanged, instructions::AgentAuthority, state::*};

impl AgentAuthority<'_> {
    /// Pauses, resumes or retires an agent. Retirement is final.
    pub fn set_agent_status(ctx: Context<Self>, status: AgentStatus) -> Result<()> {
        let accounts = ctx.accounts;
        accounts.agent.transition(status)?;
        accounts.touch()?;
        emit!(AgentStatusChanged { agent: accounts.agent.key(), status });
        Ok(())
    }
}
