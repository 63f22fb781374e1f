use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::CertifierAdded, state::*};

/// The admin authorises a certifier.
#[derive(Accounts)]
#[instruction(certifier: Pubkey)]
pub struct AddCertifier<'info> {
    /// The protocol admin; pays for the certifier account.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The protocol config naming the admin.
    #[account(mut, address = Config::ADDRESS, has_one = admin @ AgentrailError::Unauthorized)]
    pub config: Account<'info, Config>,
    /// The new certifier authorisation for `certifier`.
    #[account(
        init,
        payer = admin,
        space = 8 + Certifier::INIT_SPACE,
        seeds = [seeds::CERTIFIER, certifier.as_ref()],
        bump
    )]
    pub certifier_account: Account<'info, Certifier>,
    /// Creates the certifier account.
    pub system_program: Program<'info, System>,
}

impl AddCertifier<'_> {
    /// Handler.
    pub fn add_certifier(ctx: Context<Self>, certifier: Pubkey) -> Result<()> {
        ctx.accounts.certifier_account.set_inner(Certifier {
            authority: certifier,
            added_at: Clock::get()?.unix_timestamp,
            bump: ctx.bumps.certifier_account,
        });
        let config = &mut ctx.accounts.config;
        config.certifier_count = config.certifier_count.checked_add(1).ok_or(AgentrailError::Overflow)?;
        emit!(CertifierAdded { certifier });
        Ok(())
    }
}
