//! Agentrail: pay AI agents safely on Solana. Agent registry, staged certification,
//! milestone escrow and daily anchors of the receipt log.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod errors;
pub mod events;
pub mod instructions;
pub mod state;

use instructions::*;
use state::AgentStatus;

declare_id!("4GM9wBrrJvAXEw3J4amxKgkSfqXAraNZLKBgvsyM7Srj");

#[program]
pub mod agentrail {
    use super::*;

    /// Creates the config singleton (upgrade authority only).
    pub fn initialize_config(ctx: Context<InitializeConfig>, args: InitializeConfigArgs) -> Result<()> {
        InitializeConfig::initialize_config(ctx, args)
    }

    /// Changes treasury, protocol fee or the pause switch (admin).
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        UpdateConfig::update_config(ctx, args)
    }

    /// Proposes a new admin (admin).
    pub fn propose_admin(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
        ProposeAdmin::propose_admin(ctx, proposed)
    }

    /// Accepts a pending admin transfer (proposed admin).
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        AcceptAdmin::accept_admin(ctx)
    }

    /// Authorises a certifier (admin).
    pub fn add_certifier(ctx: Context<AddCertifier>, certifier: Pubkey) -> Result<()> {
        AddCertifier::add_certifier(ctx, certifier)
    }

    /// Withdraws a certifier's authorisation (admin).
    pub fn remove_certifier(ctx: Context<RemoveCertifier>) -> Result<()> {
        RemoveCertifier::remove_certifier(ctx)
    }

    /// Registers an agent (authority and payout wallet sign).
    pub fn register_agent(ctx: Context<RegisterAgent>, args: RegisterAgentArgs) -> Result<()> {
        RegisterAgent::register_agent(ctx, args)
    }

    /// Publishes a strictly greater version with a new manifest hash (agent authority).
    pub fn publish_version(ctx: Context<AgentAuthority>, args: PublishVersionArgs) -> Result<()> {
        instructions::publish_version(ctx, args)
    }

    /// Pauses, resumes or retires an agent (agent authority).
    pub fn set_agent_status(ctx: Context<AgentAuthority>, status: AgentStatus) -> Result<()> {
        instructions::set_agent_status(ctx, status)
    }

    /// Replaces an agent's metadata URI (agent authority).
    pub fn update_agent_metadata(ctx: Context<AgentAuthority>, metadata_uri: String) -> Result<()> {
        instructions::update_agent_metadata(ctx, metadata_uri)
    }

    /// Changes an agent's payout wallet (agent authority and the new wallet sign).
    pub fn set_payout(ctx: Context<SetPayout>) -> Result<()> {
        SetPayout::set_payout(ctx)
    }

    /// Hands an agent to a new authority (both sign).
    pub fn transfer_agent_authority(ctx: Context<TransferAgentAuthority>) -> Result<()> {
        TransferAgentAuthority::transfer_agent_authority(ctx)
    }

    /// Attests a certification stage for an agent's current version (certifier).
    pub fn attest_stage(ctx: Context<AttestStage>, args: AttestStageArgs) -> Result<()> {
        AttestStage::attest_stage(ctx, args)
    }

    /// Revokes an agent version's certification with a reason hash (certifier).
    pub fn revoke_certification(ctx: Context<RevokeCertification>, reason_hash: [u8; 32]) -> Result<()> {
        RevokeCertification::revoke_certification(ctx, reason_hash)
    }
}
