use anchor_lang::prelude::*;

use crate::{events::AgentVersionPublished, instructions::AgentAuthority, state::*};

/// Arguments of `publish_version`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct PublishVersionArgs {
    pub version: Semver,
    pub manifest_hash: [u8; 32],
}

impl AgentAuthority<'_> {
    /// Publishes a strictly greater version. Its certification starts empty.
    pub fn publish_version(ctx: Context<Self>, args: PublishVersionArgs) -> Result<()> {
        let accounts = ctx.accounts;
        accounts.agent.publish(args.version, args.manifest_hash)?;
        accounts.touch()?;
        let agent = &accounts.agent;
        emit!(AgentVersionPublished {
            agent: agent.key(),
            version: agent.version,
            version_seq: agent.version_seq,
            manifest_hash: agent.manifest_hash,
        });
        Ok(())
    }
}
