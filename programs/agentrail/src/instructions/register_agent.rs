use anchor_lang::prelude::*;

use crate::{events::AgentRegistered, state::*};

/// Arguments of `register_agent`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct RegisterAgentArgs {
    // strings read without Borsh's up-front allocation (bypass::borsh_string::read_string); the
    // IDL build, which cannot describe a custom reader, describes the same bytes as `string`
    #[cfg_attr(not(feature = "idl-build"), borsh(deserialize_with = "crate::bypass::borsh_string::read_string"))]
    pub name: String,
    #[cfg_attr(not(feature = "idl-build"), borsh(deserialize_with = "crate::bypass::borsh_string::read_string"))]
    pub metadata_uri: String,
    /// SHA-256 of the manifest (capabilities, price model, SLO targets).
    pub manifest_hash: [u8; 32],
    pub version: Semver,
}

/// Registers an agent under the next sequential id. The payout wallet signs to prove control.
#[derive(Accounts)]
pub struct RegisterAgent<'info> {
    /// Owns the agent from now on; pays for its account.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The wallet the agent is paid to; signs so no one registers a wallet they do not control.
    pub payout: Signer<'info>,
    /// The protocol config: the pause switch and the agent counter that numbers the agent.
    #[account(mut, address = Config::ADDRESS)]
    pub config: Account<'info, Config>,
    /// The new agent account, addressed by its number.
    #[account(
        init,
        payer = authority,
        space = 8 + Agent::INIT_SPACE,
        seeds = [seeds::AGENT, &config.agent_count.to_le_bytes()],
        bump
    )]
    pub agent: Account<'info, Agent>,
    /// Creates the agent account.
    pub system_program: Program<'info, System>,
}

impl RegisterAgent<'_> {
    fn validate(&self, args: &RegisterAgentArgs) -> Result<()> {
        self.config.require_live()?;
        Agent::check_name(&args.name)?;
        Agent::check_uri(&args.metadata_uri)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn register_agent(ctx: Context<Self>, args: RegisterAgentArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let config = &mut ctx.accounts.config;
        let id = config.agent_count;
        config.agent_count = id.checked_add(1).ok_or(crate::errors::AgentrailError::Overflow)?;
        let authority = ctx.accounts.authority.key();
        let payout = ctx.accounts.payout.key();
        emit!(AgentRegistered {
            agent: ctx.accounts.agent.key(),
            id,
            authority,
            payout,
            name: args.name.clone(),
            manifest_hash: args.manifest_hash,
            version: args.version,
        });
        ctx.accounts.agent.set_inner(Agent {
            id,
            authority,
            payout,
            name: args.name,
            metadata_uri: args.metadata_uri,
            manifest_hash: args.manifest_hash,
            version: args.version,
            version_seq: 1,
            status: AgentStatus::Active,
            registered_at: now,
            updated_at: now,
            bump: ctx.bumps.agent,
            signing_key: Pubkey::default(),
        });
        Ok(())
    }
}
