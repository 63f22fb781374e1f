use anchor_lang::prelude::*;

use crate::{events::CertificationRevoked, state::*};

/// An authorised certifier withdraws every stage of an agent version's certification, with
/// the hash of its reason. Jobs pinned to it stop releasing; refunds still work.
#[derive(Accounts)]
pub struct RevokeCertification<'info> {
    /// An authorised certifier.
    pub certifier: Signer<'info>,
    /// The certifier's authorisation, proving it is one.
    #[account(seeds = [seeds::CERTIFIER, certifier.key().as_ref()], bump = certifier_account.bump)]
    pub certifier_account: Account<'info, Certifier>,
    /// The certification revoked; its revocation epoch moves so jobs pinned to it stop releasing.
    #[account(
        mut,
        seeds = [seeds::CERTIFICATION, certification.agent.as_ref(), &certification.version_seq.to_le_bytes()],
        bump = certification.bump
    )]
    pub certification: Account<'info, Certification>,
}

impl RevokeCertification<'_> {
    /// Handler.
    pub fn revoke_certification(ctx: Context<Self>, reason_hash: [u8; 32]) -> Result<()> {
        let by = ctx.accounts.certifier.key();
        let certification = &mut ctx.accounts.certification;
        certification.revoke(Revocation { by, reason_hash, at: Clock::get()?.unix_timestamp })?;
        emit!(CertificationRevoked {
            agent: certification.agent,
            version_seq: certification.version_seq,
            by,
            reason_hash,
            epoch: certification.epoch,
        });
        Ok(())
    }
}
