//! The compute baseline the Agentrail program is measured against: one Anchor 1.2.2
//! instruction that moves tokens out of a vault owned by a PDA, with the checks such an
//! instruction cannot do without (the vault's authority and mint, the signer PDA's seeds from
//! its stored bump) and nothing else. Built by the same SBF build as the program and run by the
//! same runtime, so `cu-report` can print each money instruction as a ratio to it: the ratio does
//! not drift with the toolchain or the runtime. A test fixture; never deployed.

// anchor's macros test features this crate does not declare
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

declare_id!("6YRxkQmEuZvQkiY7GR2sLrsneEKZzFCmnK4yPTeDEaGY");

/// Seed of the PDA that owns the vault.
pub const HOLDER: &[u8] = b"holder";

#[program]
pub mod agentrail_baseline {
    use super::*;

    /// Creates the holder PDA of `authority` (setup, not measured).
    pub fn init_holder(ctx: Context<InitHolder>) -> Result<()> {
        ctx.accounts.holder.set_inner(Holder { authority: ctx.accounts.authority.key(), bump: ctx.bumps.holder });
        Ok(())
    }

    /// Moves `amount` from the holder's vault to `to`, signed by the holder PDA: the measured
    /// instruction.
    pub fn pay(ctx: Context<Pay>, amount: u64) -> Result<()> {
        let holder = &ctx.accounts.holder;
        let seeds: &[&[u8]] = &[HOLDER, holder.authority.as_ref(), &[holder.bump]];
        token_interface::transfer_checked(
            CpiContext::new_with_signer(
                ctx.accounts.token_program.key(),
                TransferChecked {
                    from: ctx.accounts.vault.to_account_info(),
                    mint: ctx.accounts.mint.to_account_info(),
                    to: ctx.accounts.to.to_account_info(),
                    authority: holder.to_account_info(),
                },
                &[seeds],
            ),
            amount,
            ctx.accounts.mint.decimals,
        )
    }
}

/// The PDA that owns a vault.
#[account]
#[derive(InitSpace)]
pub struct Holder {
    pub authority: Pubkey,
    pub bump: u8,
}

#[derive(Accounts)]
pub struct InitHolder<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(init, payer = authority, space = 8 + Holder::INIT_SPACE, seeds = [HOLDER, authority.key().as_ref()], bump)]
    pub holder: Account<'info, Holder>,
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
pub struct Pay<'info> {
    #[account(seeds = [HOLDER, holder.authority.as_ref()], bump = holder.bump)]
    pub holder: Account<'info, Holder>,
    pub mint: InterfaceAccount<'info, Mint>,
    #[account(mut, token::mint = mint, token::authority = holder, token::token_program = token_program)]
    pub vault: InterfaceAccount<'info, TokenAccount>,
    #[account(mut, token::mint = mint, token::token_program = token_program)]
    pub to: InterfaceAccount<'info, TokenAccount>,
    pub token_program: Interface<'info, TokenInterface>,
}
