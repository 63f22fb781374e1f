use anchor_lang::prelude::*;

use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::{
    bypass::distinct::distinct, errors::AgentrailError, events::JobClosed, instructions::pay_from_vault, state::*,
};

/// The poster closes a finished job whose earned fees were swept to the treasury
/// ([`Job::check_closable`]; the CLI sweeps in the same transaction): tokens anyone sent to the
/// vault beyond the job's accounting go to the poster, the vault closes, and the job account shrinks to a
/// [`ClosedJob`] tombstone (its discriminator only). The rent above the tombstone's returns to
/// the poster; the tombstone keeps the address taken, so the same poster and nonce can never
/// create a new job there that anything off-chain could mistake for the old one.
#[derive(Accounts)]
pub struct CloseJob<'info> {
    /// The job's poster; receives the swept tokens and the rent.
    // the job's address is checked here, before the job's own constraints, where Anchor
    // checked its `seeds`: by hash (bypass::derived::is_derived)
    #[account(
        mut,
        constraint = job.load()?.is_at(&job.key(), &poster.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub poster: Signer<'info>,
    /// The finished job. Not written through Anchor (it becomes a tombstone in the handler), so
    /// it is declared read-only here and must be passed writable.
    #[account(
        has_one = poster @ AgentrailError::Unauthorized,
        has_one = mint,
        has_one = token_program
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's mint.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// The job's vault; closed here (its address checked by hash).
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        constraint = distinct(&[vault.key(), poster_token.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount,
        constraint = job.load()?.has_vault(&vault.key(), &job.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// Receives anything left in the vault: a token account the poster owns.
    #[account(mut, dup, token::mint = mint, token::authority = poster, token::token_program = token_program)]
    pub poster_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The job's token program.
    pub token_program: Interface<'info, TokenInterface>,
}

impl CloseJob<'_> {
    fn validate(&self) -> Result<()> {
        self.job.load()?.check_closable()?;
        require!(self.job.to_account_info().is_writable, ErrorCode::ConstraintMut);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate())]
    pub fn close_job(ctx: Context<Self>) -> Result<()> {
        let a = ctx.accounts;
        let swept = a.vault.amount;
        if swept > 0 {
            let (vault, mint) = (a.vault.to_account_info(), a.mint.to_account_info());
            pay_from_vault(&a.job, &vault, &mint, a.poster_token.to_account_info(), &a.token_program, swept)?;
        }
        let signer = a.job.load()?.signer();
        crate::bypass::cpi::close_account(
            &a.token_program.key(),
            &a.vault.to_account_info(),
            &a.poster.to_account_info(),
            &a.job.to_account_info(),
            &[&signer.seeds()],
        )?;
        // the job becomes a tombstone: discriminator only, rent-exempt at that size
        let job = a.job.to_account_info();
        job.resize(ClosedJob::SPACE)?;
        job.try_borrow_mut_data()?.copy_from_slice(ClosedJob::DISCRIMINATOR);
        let keep = crate::bypass::pda_account::rent_exempt_minimum(&Rent::get()?, ClosedJob::SPACE);
        let back = job.lamports().checked_sub(keep).ok_or(AgentrailError::Overflow)?;
        **job.try_borrow_mut_lamports()? = keep;
        let poster = a.poster.to_account_info();
        **poster.try_borrow_mut_lamports()? = poster.lamports().checked_add(back).ok_or(AgentrailError::Overflow)?;
        emit!(JobClosed { job: job.key(), swept });
        Ok(())
    }
}
