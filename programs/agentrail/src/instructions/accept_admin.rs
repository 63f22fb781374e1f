use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::AdminAccepted, state::*};

/// Step two of an admin transfer: the proposed admin signs to take over.
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    /// The proposed admin, accepting.
    pub new_admin: Signer<'info>,
    /// The protocol config; its admin changes.
    #[account(mut, address = Config::ADDRESS)]
    pub config: Account<'info, Config>,
}

impl AcceptAdmin<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.config.pending_admin == Some(self.new_admin.key()), AgentrailError::NoPendingAdmin);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn accept_admin(ctx: Context<Self>) -> Result<()> {
        let config = &mut ctx.accounts.config;
        let previous = config.admin;
        config.admin = ctx.accounts.new_admin.key();
        config.pending_admin = None;
        emit!(AdminAccepted { previous, admin: config.admin });
        Ok(())
    }
}
