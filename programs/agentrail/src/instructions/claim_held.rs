use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;

use crate::{
    bypass::distinct::distinct,
    bypass::token_bytes::{self, TokenAccountBytes},
    errors::AgentrailError,
    events::HeldClaimed,
    instructions::settlement::{check_conserved, pay_from_vault},
    state::*,
};

/// A party takes what the job's vault holds for it ([`Job::hold`]: its account could not take
/// its award or refund when it was settled) to any token account it owns now: the poster, or
/// the agent's payout wallet. Works at any time, paused or not, deadline or not: it is already
/// the party's.
#[derive(Accounts)]
pub struct ClaimHeld<'info> {
    /// The job's poster or its agent's payout wallet.
    pub claimant: Signer<'info>,
    /// The job holding it.
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        has_one = agent,
        has_one = mint,
        has_one = token_program,
        constraint = distinct(&[job.key(), vault.key(), destination.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's agent: its payout wallet.
    /// CHECK: the job's own agent (`has_one`); owner and discriminator checked by its read
    pub agent: UncheckedAccount<'info>,
    /// The job's vault (its address checked by hash).
    /// CHECK: the job's vault PDA, a token account only the job signs for
    #[account(
        mut,
        dup,
        constraint = token_bytes::exists(&vault) @ anchor_lang::error::ErrorCode::AccountNotInitialized,
        constraint = job.load()?.has_vault(&vault.key(), &job.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub vault: UncheckedAccount<'info>,
    /// Any token account of the claimant's for the job's mint.
    /// CHECK: a token account, checked as Anchor parses one and as its `token::` constraints would
    #[account(
        mut,
        dup,
        constraint = TokenAccountBytes::read(&destination)?.owner_is(&claimant.key())
            @ anchor_lang::error::ErrorCode::ConstraintTokenOwner,
        constraint = TokenAccountBytes::read(&destination)?.mint_is(&mint.key())
            @ anchor_lang::error::ErrorCode::ConstraintTokenMint,
        constraint = destination.owner == &token_program.key()
            @ anchor_lang::error::ErrorCode::ConstraintTokenTokenProgram
    )]
    pub destination: UncheckedAccount<'info>,
    /// The job's mint (its decimals read by the transfer).
    /// CHECK: the job's own mint (`has_one`)
    pub mint: UncheckedAccount<'info>,
    /// The job's token program.
    pub token_program: Interface<'info, TokenInterface>,
}

impl ClaimHeld<'_> {
    /// The parties the claimant is: poster, agent, or both (a poster that is its agent's
    /// payout wallet); refused when it is neither.
    fn parties(&self) -> Result<(bool, bool)> {
        let claimant = self.claimant.key();
        let poster = claimant == self.job.load()?.poster;
        let agent = claimant == AgentStanding::read(&self.agent)?.payout;
        require!(poster || agent, AgentrailError::NotEntitled);
        Ok((poster, agent))
    }

    /// Handler.
    pub fn claim_held(ctx: Context<Self>) -> Result<()> {
        let a = ctx.accounts;
        let (as_poster, as_agent) = a.parties()?;
        let claims = [(as_poster, Party::Poster), (as_agent, Party::Agent)];
        let mut taken = Vec::with_capacity(2);
        {
            let mut job = a.job.load_mut()?;
            for (is, party) in claims {
                if is && job.held_for(party) > 0 {
                    taken.push((party, job.take_held(party)?));
                }
            }
            require!(!taken.is_empty(), AgentrailError::NothingHeld);
        }
        let total = taken.iter().try_fold(0u64, |t, (_, n)| t.checked_add(*n)).ok_or(AgentrailError::Overflow)?;
        let to = a.destination.to_account_info();
        pay_from_vault(&a.job, &a.vault.to_account_info(), &a.mint.to_account_info(), to, &a.token_program, total)?;
        check_conserved(&a.job, &a.vault.to_account_info())?;
        for (party, amount) in taken {
            emit!(HeldClaimed { job: a.job.key(), party: party.name().into(), amount, to: a.destination.key() });
        }
        Ok(())
    }
}
