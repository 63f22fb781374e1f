use anchor_lang::prelude::*;

use crate::{events::ReceiptLogCreated, state::*};

/// A keeper operator creates its receipt log.
#[derive(Accounts)]
pub struct CreateReceiptLog<'info> {
    /// The log authority (the keeper operator); pays for the log.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The new receipt log, one per authority.
    #[account(
        init,
        payer = authority,
        space = 8 + ReceiptLog::INIT_SPACE,
        seeds = [seeds::RECEIPT_LOG, authority.key().as_ref()],
        bump
    )]
    pub log: Account<'info, ReceiptLog>,
    /// Creates the log account.
    pub system_program: Program<'info, System>,
}

impl CreateReceiptLog<'_> {
    /// Handler.
    pub fn create_receipt_log(ctx: Context<Self>, require_consistency: bool) -> Result<()> {
        let authority = ctx.accounts.authority.key();
        ctx.accounts.log.set_inner(ReceiptLog {
            authority,
            require_consistency,
            size: 0,
            root: [0; 32],
            latest_day: None,
            checkpoints: 0,
            bump: ctx.bumps.log,
        });
        emit!(ReceiptLogCreated { log: ctx.accounts.log.key(), authority, require_consistency });
        Ok(())
    }
}
