//! Moving tokens out of a job's vault, signed by the job PDA, and the accounts shared by every
//! instruction that releases or refunds.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

use crate::{
    errors::AgentrailError,
    events::{MilestoneReleased, MilestonesRefunded},
    state::*,
};

/// Transfers `amount` from the job's vault to `to`, signed by the job PDA.
pub fn pay_from_vault<'info>(
    job: &Account<'info, Job>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    to: AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    let nonce = job.nonce.to_le_bytes();
    let seeds: &[&[u8]] = &[seeds::JOB, job.poster.as_ref(), &nonce, &[job.bump]];
    token_interface::transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: vault.to_account_info(),
                mint: mint.to_account_info(),
                to,
                authority: job.to_account_info(),
            },
            &[seeds],
        ),
        amount,
        mint.decimals,
    )
}

/// Accounts to release a milestone: the agent's payout token account and the treasury's.
#[derive(Accounts)]
pub struct Settlement<'info> {
    #[account(seeds = [seeds::CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(
        mut,
        seeds = [seeds::JOB, job.poster.as_ref(), &job.nonce.to_le_bytes()],
        bump = job.bump,
        has_one = agent,
        has_one = mint,
        has_one = token_program
    )]
    pub job: Box<Account<'info, Job>>,
    pub agent: Box<Account<'info, Agent>>,
    /// The pinned certification; required when the job demanded a stage.
    pub certification: Option<Box<Account<'info, Certification>>>,
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut, seeds = [seeds::VAULT, job.key().as_ref()], bump = job.vault_bump)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, token::mint = mint, token::authority = agent.payout, token::token_program = token_program)]
    pub payee_token: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, token::mint = mint, token::authority = config.treasury, token::token_program = token_program)]
    pub treasury_token: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> Settlement<'info> {
    /// Releases submitted milestone `index`: its amount to the agent, its fee to the treasury.
    /// Refused while the protocol is paused, the agent is not active, or the pinned
    /// certification was revoked.
    pub fn release(&mut self, index: u8) -> Result<()> {
        self.config.require_live()?;
        require!(self.agent.status == AgentStatus::Active, AgentrailError::AgentNotActive);
        if self.job.min_stage > 0 {
            let cert = self.certification.as_ref().ok_or(AgentrailError::CertificationRequired)?;
            require!(
                cert.agent == self.job.agent && cert.version_seq == self.job.agent_version_seq,
                AgentrailError::CertificationRequired
            );
            require!(cert.epoch == self.job.cert_epoch, AgentrailError::CertificationRevoked);
        }
        let (amount, fee) = self.job.release(index)?;
        let payee = self.payee_token.to_account_info();
        pay_from_vault(&self.job, &self.vault, &self.mint, payee, &self.token_program, amount)?;
        if fee > 0 {
            let treasury = self.treasury_token.to_account_info();
            pay_from_vault(&self.job, &self.vault, &self.mint, treasury, &self.token_program, fee)?;
        }
        emit!(MilestoneReleased {
            job: self.job.key(),
            index,
            amount,
            fee,
            payee: self.payee_token.key(),
            status: self.job.status,
        });
        Ok(())
    }
}

/// Accounts to return funds to the poster: any token account of the poster's for the mint,
/// so no frozen or closed payee account can block a refund.
#[derive(Accounts)]
pub struct Refund<'info> {
    #[account(
        mut,
        seeds = [seeds::JOB, job.poster.as_ref(), &job.nonce.to_le_bytes()],
        bump = job.bump,
        has_one = mint,
        has_one = token_program
    )]
    pub job: Box<Account<'info, Job>>,
    pub mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut, seeds = [seeds::VAULT, job.key().as_ref()], bump = job.vault_bump)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut, token::mint = mint, token::authority = job.poster, token::token_program = token_program)]
    pub poster_token: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl<'info> Refund<'info> {
    /// Refunds every unsettled milestone matching `which`, moves the job to `status` when
    /// given, and emits the outcome. Returns what went back to the poster.
    pub fn refund(&mut self, which: impl Fn(usize, &Milestone) -> bool, status: Option<JobStatus>) -> Result<u64> {
        let amount = self.job.refund_where(which)?;
        match status {
            Some(status) => self.job.status = status,
            None => self.job.complete_if_settled(),
        }
        if amount > 0 {
            let to = self.poster_token.to_account_info();
            pay_from_vault(&self.job, &self.vault, &self.mint, to, &self.token_program, amount)?;
        }
        emit!(MilestonesRefunded { job: self.job.key(), amount, status: self.job.status });
        Ok(amount)
    }
}
