use anchor_lang::prelude::*;

use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::{
    errors::AgentrailError,
    events::FeesSwept,
    instructions::settlement::{check_conserved, pay_from_vault},
    state::*,
};

/// Most jobs one sweep takes: 12 (job, vault) pairs and the compute-budget instructions fit
/// one legacy transaction (1,232 bytes); the bound also bounds the sweep's compute.
pub const MAX_SWEEP_JOBS: usize = 12;

/// Anyone moves the fees a batch of jobs earned from their vaults to the treasury's associated
/// token account for the mint. Releases leave fees in the job's vault so they write only the
/// job's own accounts; this is the one instruction that writes the treasury, once per batch
/// instead of once per release. The jobs come as writable (job, vault) pairs in the remaining
/// accounts, all in this instruction's mint. The destination is fixed by the config, so a
/// sweeper can neither redirect fees nor take anything else from a vault; it works while the
/// protocol is paused (it only moves what the treasury already earned).
#[derive(Accounts)]
pub struct SweepFees<'info> {
    /// The protocol config: the treasury that receives the fees (read only).
    #[account(address = Config::ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    /// The mint every job of the batch is paid in.
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    /// Receives the fees: the treasury's associated token account for the mint.
    #[account(
        mut,
        // the only mutable account here: `dup` skips Anchor's hashed duplicate check (bypass::distinct)
        dup,
        associated_token::mint = mint,
        associated_token::authority = config.treasury,
        associated_token::token_program = token_program
    )]
    pub treasury_token: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The mint's token program.
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> SweepFees<'info> {
    fn validate(&self, batch: &[AccountInfo<'info>]) -> Result<()> {
        let pairs = batch.len() / 2;
        require!(
            pairs * 2 == batch.len() && (1..=MAX_SWEEP_JOBS).contains(&pairs) && batch.iter().all(|a| a.is_writable),
            AgentrailError::InvalidSweepBatch
        );
        Ok(())
    }

    /// Sweeps one job: checks that it is a job in this mint and that `vault_info` is its vault,
    /// moves its unswept fees and persists the job. Returns what moved (0 when already swept).
    fn sweep_one(&self, job_info: &'info AccountInfo<'info>, vault_info: &'info AccountInfo<'info>) -> Result<u64> {
        // owner and discriminator checked here: only the program creates jobs
        let job: AccountLoader<'info, Job> = AccountLoader::try_from(job_info)?;
        let amount = {
            let mut books = job.load_mut()?;
            require!(
                books.mint == self.mint.key() && books.token_program == self.token_program.key(),
                AgentrailError::InvalidSweepBatch
            );
            // the vault is the job's PDA; a token account someone else made for the job PDA is not
            require!(books.has_vault(vault_info.key, job_info.key), AgentrailError::WrongVault);
            books.sweep()
        };
        if amount == 0 {
            // already swept (a duplicate in the batch, or another sweeper got there first)
            return Ok(0);
        }
        let treasury = self.treasury_token.to_account_info();
        pay_from_vault(&job, vault_info, &self.mint.to_account_info(), treasury, &self.token_program, amount)?;
        check_conserved(&job, vault_info)?;
        emit!(FeesSwept { job: job.key(), amount, treasury_token: self.treasury_token.key() });
        Ok(amount)
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(ctx.remaining_accounts))]
    pub fn sweep_fees(ctx: Context<'info, Self>) -> Result<()> {
        let mut total: u64 = 0;
        for pair in ctx.remaining_accounts.chunks_exact(2) {
            let swept = ctx.accounts.sweep_one(&pair[0], &pair[1])?;
            total = total.checked_add(swept).ok_or(AgentrailError::Overflow)?;
        }
        require!(total > 0, AgentrailError::NothingToSweep);
        Ok(())
    }
}
