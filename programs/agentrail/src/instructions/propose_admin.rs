use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AdminProposed, state::*};

/// Step one of an admin transfer: the admin names a successor (or clears it with the
/// admin's own key). Nothing changes until the successor accepts.
#[derive(Accounts)]
pub struct ProposeAdmin<'info> {
    /// The current admin.
    pub admin: Signer<'info>,
    /// The protocol config; records the proposed admin.
    #[account(mut, address = Config::ADDRESS, has_one = admin @ AgentrailError::Unauthorized)]
    pub config: Account<'info, Config>,
}

impl ProposeAdmin<'_> {
    /// Handler.
    pub fn propose_admin(ctx: Context<Self>, proposed: Pubkey) -> Result<()> {
        let config = &mut ctx.accounts.config;
        config.pending_admin = (proposed != config.admin).then_some(proposed);
        emit!(AdminProposed { admin: config.admin, proposed });
        Ok(())
    }
}
