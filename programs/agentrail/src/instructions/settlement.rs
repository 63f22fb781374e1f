//! Moving tokens out of a job's vault, signed by the job PDA, and the account sets shared by
//! every instruction that releases ([`Settlement`]), refunds ([`Refund`]) or divides a
//! disputed milestone ([`DisputeSettlement`]).

use anchor_lang::prelude::*;

use crate::bypass::derived;
use anchor_spl::token_interface::TokenInterface;

use crate::{
    bypass::distinct::distinct,
    bypass::token_bytes::{self, TokenAccountBytes},
    errors::AgentrailError,
    events::{AwardHeld, DisputeDecided, MilestoneReleased, MilestonesRefunded},
    state::*,
};

/// Transfers `amount` from the job's vault to `to`, signed by the job PDA; the mint's decimals
/// are read from its bytes ([`token_bytes::mint_decimals`]).
/// No borrow of the job's data may be held across the call: the job signs the transfer, and
/// the runtime refuses an account whose data is borrowed.
pub fn pay_from_vault<'info>(
    job: &AccountLoader<'info, Job>,
    vault: &AccountInfo<'info>,
    mint: &AccountInfo<'info>,
    to: AccountInfo<'info>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    let decimals = token_bytes::mint_decimals(mint, &token_program.key())?;
    let signer = job.load()?.signer();
    let job = job.to_account_info();
    crate::bypass::cpi::transfer_checked(
        &token_program.key(),
        vault,
        mint,
        &to,
        &job,
        amount,
        decimals,
        &[&signer.seeds()],
    )
}

/// Checks the conservation invariant after money moved: the job's books balance and its vault
/// (read after the transfers) still holds everything the job owes: its unsettled milestones
/// and the fees not yet swept.
pub fn check_conserved(job: &AccountLoader<Job>, vault: &AccountInfo) -> Result<()> {
    let owed = job.load()?.check_books()?;
    require!(token_bytes::token_amount(vault)? >= owed, AgentrailError::AccountingBroken);
    Ok(())
}

/// The certification account a job's release or refund was shown, as plain state.
pub(crate) fn as_certification<'a>(cert: &'a Option<Box<Account<'_, Certification>>>) -> Option<&'a Certification> {
    cert.as_deref().map(|c| &**c)
}

/// Accounts to release a milestone: the agent's associated token account (never an account the
/// caller picks). The fee stays in the vault for [`sweep_fees`](crate::instructions::SweepFees):
/// every account a release writes belongs to this job or its agent, so releases of different
/// jobs never wait for each other on a protocol-wide account.
#[derive(Accounts)]
pub struct Settlement<'info> {
    /// The protocol config: its pause switch (read only).
    #[account(address = Config::ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    /// The job being settled. Not re-derived from its seeds: a `Job` (owned by this program,
    /// with its discriminator) is only ever created by `create_job` at its PDA, and the vault's
    /// transfer is signed with those seeds, which the runtime checks against this account.
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        has_one = agent,
        has_one = mint,
        has_one = token_program,
        constraint = distinct(&[job.key(), vault.key(), payee_token.key(), track_record.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's agent: its status, version and payout wallet ([`AgentStanding`], read without
    /// its strings).
    /// CHECK: the job's own agent (`has_one`); owner and discriminator checked by each read
    pub agent: UncheckedAccount<'info>,
    /// The pinned certification: required to submit work when the job demanded a stage.
    /// Releases and decisions do not read it: a revocation stops new work, never pay for work
    /// already submitted, accepted or awarded.
    pub certification: Option<Box<Account<'info, Certification>>>,
    /// The job's mint (its decimals read by each transfer, [`pay_from_vault`]).
    /// CHECK: the job's own mint (`has_one`)
    pub mint: UncheckedAccount<'info>,
    /// The job's vault, holding everything not yet settled (its address checked by hash).
    /// CHECK: the job's vault PDA, a token account only the job signs for
    #[account(
        mut,
        dup,
        constraint = token_bytes::exists(&vault) @ anchor_lang::error::ErrorCode::AccountNotInitialized,
        constraint = job.load()?.has_vault(&vault.key(), &job.key())
            @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub vault: UncheckedAccount<'info>,
    /// Receives the agent's pay: the payout wallet's associated token account (its address
    /// checked by hash, so no caller picks it). When it cannot take the transfer (missing, its
    /// owner reassigned, frozen, requiring memos: all the agent's own doing) the pay is held for
    /// the agent in the vault instead ([`Settlement::pay_or_hold`]): nothing about the agent's
    /// account can block a settlement the poster is owed a share of.
    /// CHECK: its address is checked here, its contents where it is paid
    #[account(
        mut,
        dup,
        constraint = derived::is_associated_token_account(
            &payee_token.key(),
            &AgentStanding::read(&agent)?.payout,
            &mint.key(),
            &token_program.key()
        ) @ anchor_lang::error::ErrorCode::ConstraintAssociated
    )]
    pub payee_token: UncheckedAccount<'info>,
    /// The job's token program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// The job's shard of the agent's track record in the job's mint: the release counts in it.
    #[account(mut, dup, constraint = track_record.load()?.is_shard_for(&*job.load()?) @ AgentrailError::WrongTrackRecord)]
    pub track_record: AccountLoader<'info, TrackRecord>,
}

impl<'info> Settlement<'info> {
    /// Checks that the agent may be paid on this job now: active, at the pinned version
    /// ([`Job::ineligibility`]; certification is judged at submission, not here).
    pub fn check_payable(&self) -> Result<()> {
        match self.job.load()?.ineligibility(AgentStanding::read(&self.agent)?) {
            Some(refusal) => Err(refusal.into()),
            None => Ok(()),
        }
    }

    /// Checks that the agent may do new work on this job at `now`: payable
    /// ([`Self::check_payable`]) and, when the job demanded a stage, its pinned certification
    /// shown, not revoked and holding the stage ([`Job::check_certified_at`]).
    pub fn check_may_submit(&self, now: i64) -> Result<()> {
        self.check_payable()?;
        let job = self.job.load()?;
        let cert = job.pinned_certification(as_certification(&self.certification))?;
        job.check_certified_at(cert, now)
    }

    /// Pays `amount` from the vault to `to`, `party`'s own account at its canonical address, or,
    /// when that account cannot take the transfer ([`token_bytes::takes_transfer_for`]), holds
    /// it for `party` to claim ([`Job::hold`]): a party's account never blocks the other's
    /// share, and the held amount stays counted as the party's.
    pub fn pay_or_hold(&self, party: Party, to: AccountInfo<'info>, amount: u64) -> Result<()> {
        let owner = match party {
            Party::Agent => AgentStanding::read(&self.agent)?.payout,
            Party::Poster => self.job.load()?.poster,
        };
        if token_bytes::takes_transfer_for(&to, &owner, &self.mint.key(), &self.token_program.key()) {
            return pay_from_vault(&self.job, &self.vault, &self.mint, to, &self.token_program, amount);
        }
        self.job.load_mut()?.hold(party, amount)?;
        emit!(AwardHeld { job: self.job.key(), party: party.name().into(), amount, account: to.key() });
        Ok(())
    }

    /// Releases submitted milestone `index`: its amount to the agent; its fee is earned by the
    /// treasury and stays in the vault until swept. Refused while the protocol is paused or the
    /// agent may not be paid ([`Self::check_payable`]).
    pub fn release(&mut self, index: u8) -> Result<()> {
        cu_trace!("cu: up to the release (the handler's own work)");
        self.config.require_live()?;
        self.check_payable()?;
        cu_trace!("cu: release: payable checks");
        let (amount, fee) = self.job.load_mut()?.release(index)?;
        cu_trace!("cu: release: books");
        let payee = self.payee_token.to_account_info();
        self.pay_or_hold(Party::Agent, payee, amount)?;
        cu_trace!("cu: release: transfer (CPI)");
        check_conserved(&self.job, &self.vault)?;
        cu_trace!("cu: release: conservation check");
        self.track_record.load_mut()?.record_release(amount);
        emit!(MilestoneReleased {
            job: self.job.key(),
            index,
            amount,
            fee,
            payee: self.payee_token.key(),
            status: self.job.load()?.status,
        });
        cu_trace!("cu: release: track record, event");
        Ok(())
    }
}

/// Accounts to divide a disputed milestone between the agent and the poster: a release's
/// accounts and the poster's associated token account (no decision is signed by the poster, so
/// the destination is never one a caller picks).
#[derive(Accounts)]
pub struct DisputeSettlement<'info> {
    /// The job and the accounts that pay the agent's share (the treasury's stays in the vault).
    pub settlement: Settlement<'info>,
    /// Receives the poster's share: the poster's associated token account for the mint (its
    /// address checked by hash); held for the poster when it cannot take the transfer, as the
    /// agent's share is ([`Settlement::pay_or_hold`]).
    /// CHECK: its address is checked here, its contents where it is paid
    #[account(
        mut,
        dup,
        constraint = distinct(&[
            poster_token.key(),
            settlement.job.key(),
            settlement.vault.key(),
            settlement.payee_token.key(),
            settlement.track_record.key()
        ]) @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount,
        constraint = derived::is_associated_token_account(
            &poster_token.key(),
            &settlement.job.load()?.poster,
            &settlement.mint.key(),
            &settlement.token_program.key()
        ) @ anchor_lang::error::ErrorCode::ConstraintAssociated
    )]
    pub poster_token: UncheckedAccount<'info>,
}

impl<'info> DisputeSettlement<'info> {
    /// Divides disputed milestone `index` as `decider` ruled: `agent_bps` to the agent. Paying
    /// the agent anything is a release, so it needs releases live and an agent that may be paid;
    /// the arbiter is told when it may not, while the default rule (which nobody may block)
    /// then gives the agent's share to the poster, as a refund after the deadline would.
    pub fn decide(&mut self, index: u8, agent_bps: u16, decider: Decider) -> Result<()> {
        let s = &mut self.settlement;
        let mut agent_bps = agent_bps;
        if agent_bps > 0 && decider == Decider::DefaultRule && s.check_payable().is_err() {
            agent_bps = 0;
        }
        if agent_bps > 0 {
            s.config.require_live()?;
            s.check_payable()?;
        }
        let shares = s.job.load_mut()?.decide(index, agent_bps)?;
        // the fee share is earned by the treasury and stays in the vault until swept
        // each share goes to its party's account, or is held for it: a party's account is looked
        // at only when it has a share, and never blocks the other's
        let payments = [
            (Party::Agent, s.payee_token.to_account_info(), shares.to_agent),
            (Party::Poster, self.poster_token.to_account_info(), shares.to_poster),
        ];
        for (party, to, amount) in payments.into_iter().filter(|(_, _, amount)| *amount > 0) {
            s.pay_or_hold(party, to, amount)?;
        }
        check_conserved(&s.job, &s.vault)?;
        s.track_record.load_mut()?.record_decision(agent_bps, shares.to_agent, decider);
        emit!(DisputeDecided {
            job: s.job.key(),
            index,
            agent_bps,
            to_agent: shares.to_agent,
            fee: shares.fee,
            to_poster: shares.to_poster,
            by_default: decider == Decider::DefaultRule,
            status: s.job.load()?.status,
        });
        Ok(())
    }
}

/// Accounts to return funds to the poster: a token account of the poster's for the mint, so no
/// frozen or closed payee account can block a refund. Instructions the poster does not sign
/// require the poster's associated token account ([`Refund::require_canonical_destination`]).
#[derive(Accounts)]
pub struct Refund<'info> {
    /// The job being refunded (not re-derived: see [`Settlement::job`]).
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        has_one = mint,
        has_one = token_program,
        constraint = distinct(&[job.key(), vault.key(), poster_token.key(), track_record.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's mint (its decimals read by each transfer, [`pay_from_vault`]).
    /// CHECK: the job's own mint (`has_one`)
    pub mint: UncheckedAccount<'info>,
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
    /// Receives the refund: a token account the poster owns for the job's mint.
    /// CHECK: a token account, checked as Anchor parses one and as its `token::` constraints would
    #[account(
        mut,
        dup,
        constraint = TokenAccountBytes::read(&poster_token)?.owner_is(&job.load()?.poster)
            @ anchor_lang::error::ErrorCode::ConstraintTokenOwner,
        constraint = TokenAccountBytes::read(&poster_token)?.mint_is(&mint.key())
            @ anchor_lang::error::ErrorCode::ConstraintTokenMint,
        constraint = poster_token.owner == &token_program.key()
            @ anchor_lang::error::ErrorCode::ConstraintTokenTokenProgram
    )]
    pub poster_token: UncheckedAccount<'info>,
    /// The job's token program (SPL Token or Token-2022).
    pub token_program: Interface<'info, TokenInterface>,
    /// The job's shard of the agent's track record in the job's mint: refunds of funded work
    /// count in it.
    #[account(mut, dup, constraint = track_record.load()?.is_shard_for(&*job.load()?) @ AgentrailError::WrongTrackRecord)]
    pub track_record: AccountLoader<'info, TrackRecord>,
}

impl<'info> Refund<'info> {
    /// Requires the poster's associated token account as the destination: whoever calls a
    /// refund the poster does not sign must not pick an account (one with a delegate, say).
    pub fn require_canonical_destination(&self) -> Result<()> {
        let canonical = derived::is_associated_token_account(
            &self.poster_token.key(),
            &self.job.load()?.poster,
            &self.mint.key(),
            &self.token_program.key(),
        );
        require!(canonical, AgentrailError::NotCanonicalAccount);
        Ok(())
    }

    /// Refunds every unsettled milestone matching `which`, moves the job to `status` (or
    /// `Completed` without one) once every milestone is settled ([`Job::end_if_settled`]),
    /// counts the refunds of a funded job in the track record as `cause`, and emits the
    /// outcome. Returns what went back to the poster.
    pub fn refund(
        &mut self,
        which: impl Fn(usize, &Milestone) -> bool,
        status: Option<JobStatus>,
        cause: RefundCause,
    ) -> Result<u64> {
        cu_trace!("cu: up to the refund (the handler's own work)");
        let (refunds, counts) = {
            let mut job = self.job.load_mut()?;
            let refunds = job.refund_milestones(which)?;
            job.end_if_settled(refunds.all_settled, status);
            (refunds, job.counts_in_record())
        };
        let amount = refunds.total;
        cu_trace!("cu: refund: books");
        // a job the agent never accepted, or one never funded, writes no record
        if counts {
            self.track_record.load_mut()?.record_refunds(refunds.refunded, refunds.disputed, cause);
        }
        cu_trace!("cu: refund: track record");
        if amount > 0 {
            let to = self.poster_token.to_account_info();
            pay_from_vault(&self.job, &self.vault, &self.mint, to, &self.token_program, amount)?;
        }
        cu_trace!("cu: refund: transfer (CPI)");
        check_conserved(&self.job, &self.vault)?;
        cu_trace!("cu: refund: conservation check");
        emit!(MilestonesRefunded { job: self.job.key(), amount, status: self.job.load()?.status });
        Ok(amount)
    }
}
