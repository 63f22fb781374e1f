use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::CertifierRemoved, state::*};

/// The admin withdraws a certifier's authorisation; its account closes to the admin.
/// Attestations it already made stand until they expire or are revoked.
#[derive(Accounts)]
pub struct RemoveCertifier<'info> {
    /// The protocol admin; receives the certifier account's rent.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The protocol config naming the admin.
    #[account(mut, address = Config::ADDRESS, has_one = admin @ AgentrailError::Unauthorized)]
    pub config: Account<'info, Config>,
    /// The authorisation withdrawn and closed.
    #[account(
        mut,
        close = admin,
        seeds = [seeds::CERTIFIER, certifier_account.authority.as_ref()],
        bump = certifier_account.bump
    )]
    pub certifier_account: Account<'info, Certifier>,
}

impl RemoveCertifier<'_> {
    /// Handler.
    pub fn remove_certifier(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.certifier_count = config.certifier_count.checked_sub(1).ok_or(AgentrailError::Overflow)?;
        emit!(CertifierRemoved { certifier: ctx.accounts.certifier_account.authority });
        Ok(())
    }
}
