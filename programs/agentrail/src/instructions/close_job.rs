use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, CloseAccount, Mint, TokenAccount, TokenInterface};

use crate::{errors::AgentrailError, events::JobClosed, instructions::pay_from_vault, state::*};

/// The poster closes a finished job: tokens anyone sent to the vault beyond the job's
/// accounting go to the poster, then the vault and the job close and their rent returns.
#[derive(Accounts)]
pub struct CloseJob<'info> {
    #[account(mut)]
    pub poster: Signer<'info>,
    #[account(
        mut,
        close = poster,
        seeds = [seeds::JOB, poster.key().as_ref(), &job.nonce.to_le_bytes()],
        bump = job.bump,
        has_one = poster @ AgentrailError::Unauthorized,
        has_one = mint,
        has_one = token_program
    )]
    pub job: Box<Account<'info, Job>>,
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut, seeds = [seeds::VAULT, job.key().as_ref()], bump = job.vault_bump)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, token::mint = mint, token::authority = poster, token::token_program = token_program)]
    pub poster_token: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl CloseJob<'_> {
    fn validate(&self) -> Result<()> {
        require!(self.job.finished(), AgentrailError::InvalidJobStatus);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn close_job(ctx: Context<Self>) -> Result<()> {
        let a = ctx.accounts;
        let swept = a.vault.amount;
        if swept > 0 {
            pay_from_vault(&a.job, &a.vault, &a.mint, a.poster_token.to_account_info(), &a.token_program, swept)?;
        }
        let nonce = a.job.nonce.to_le_bytes();
        let seeds: &[&[u8]] = &[seeds::JOB, a.job.poster.as_ref(), &nonce, &[a.job.bump]];
        token_interface::close_account(CpiContext::new_with_signer(
            a.token_program.key(),
            CloseAccount {
                account: a.vault.to_account_info(),
                destination: a.poster.to_account_info(),
                authority: a.job.to_account_info(),
            },
            &[seeds],
        ))?;
        emit!(JobClosed { job: a.job.key(), swept });
        Ok(())
    }
}
