use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::StageAttested, state::*};

/// Arguments of `attest_stage`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct AttestStageArgs {
    /// 1 = A (static review) … 5 = E (soak).
    pub stage: u8,
    /// SHA-256 of the evidence bundle.
    pub attestation_hash: [u8; 32],
    /// Unix seconds after which the attestation no longer counts.
    pub expires_at: i64,
}

/// An authorised certifier attests a stage for the agent's current version.
#[derive(Accounts)]
pub struct AttestStage<'info> {
    /// An authorised certifier; pays for a new certification account.
    #[account(mut)]
    pub certifier: Signer<'info>,
    /// The certifier's authorisation, proving it is one.
    #[account(seeds = [seeds::CERTIFIER, certifier.key().as_ref()], bump = certifier_account.bump)]
    pub certifier_account: Account<'info, Certifier>,
    /// The agent whose current version is certified.
    #[account(seeds = [seeds::AGENT, &agent.id.to_le_bytes()], bump = agent.bump)]
    pub agent: Account<'info, Agent>,
    /// The certification of the agent's current version, created with its first stage.
    #[account(
        init_if_needed,
        payer = certifier,
        space = 8 + Certification::INIT_SPACE,
        seeds = [seeds::CERTIFICATION, agent.key().as_ref(), &agent.version_seq.to_le_bytes()],
        bump
    )]
    pub certification: Account<'info, Certification>,
    /// Creates the certification account.
    pub system_program: Program<'info, System>,
}

impl AttestStage<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.agent.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn attest_stage(ctx: Context<Self>, args: AttestStageArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let agent = &ctx.accounts.agent;
        let certification = &mut ctx.accounts.certification;
        if certification.version_seq == 0 {
            certification.agent = agent.key();
            certification.version_seq = agent.version_seq;
            certification.manifest_hash = agent.manifest_hash;
            certification.bump = ctx.bumps.certification;
        }
        let certifier = ctx.accounts.certifier.key();
        certification.attest(
            args.stage,
            Attestation {
                certifier,
                attestation_hash: args.attestation_hash,
                issued_at: now,
                expires_at: args.expires_at,
            },
            now,
        )?;
        emit!(StageAttested {
            agent: agent.key(),
            version_seq: agent.version_seq,
            stage: args.stage,
            certifier,
            attestation_hash: args.attestation_hash,
            expires_at: args.expires_at,
        });
        Ok(())
    }
}
