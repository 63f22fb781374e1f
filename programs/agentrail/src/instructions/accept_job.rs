use anchor_lang::prelude::*;

use crate::{bypass::distinct::distinct, ed25519_proof, errors::AgentrailError, events::JobAccepted, state::*};

/// Arguments of `accept_job`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct AcceptJobArgs {
    /// The job's consent digest as the agent computed and signed it ([`Job::consent_digest`]);
    /// refused unless it is the job's, so an acceptance of other terms never binds this job.
    pub digest: [u8; 32],
}

/// The agent accepts the job: its keeper, arbiter and default rule, terms, amounts, windows
/// and deadline, all pinned by the consent digest. Signed by the agent's authority or signing
/// key, either as a signer of this transaction or through an ed25519 instruction in it over
/// the digest (so a keeper can carry the agent's acceptance in the first step's transaction
/// and the agent needs no SOL). Until it, no step starts, no work is submitted and nothing
/// counts in the agent's record.
#[derive(Accounts)]
pub struct AcceptJob<'info> {
    /// The agent's authority or signing key: a signer of this transaction, or the key an
    /// ed25519 instruction in it verified over the digest.
    /// CHECK: compared with the agent's keys; its signature checked in `validate`
    pub acceptor: UncheckedAccount<'info>,
    /// The job accepted.
    #[account(
        mut,
        // the mutable accounts are marked `dup` and checked here (bypass::distinct)
        dup,
        has_one = agent,
        constraint = distinct(&[job.key(), track_record.key()])
            @ anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount
    )]
    pub job: AccountLoader<'info, Job>,
    /// The job's agent: its keys, status and version.
    pub agent: Box<Account<'info, Agent>>,
    /// The job's shard of the agent's track record: a funded job counts from its acceptance.
    #[account(mut, dup, constraint = track_record.load()?.is_shard_for(&*job.load()?) @ AgentrailError::WrongTrackRecord)]
    pub track_record: AccountLoader<'info, TrackRecord>,
    /// The instructions of this transaction, where an ed25519 acceptance is found.
    /// CHECK: the instructions sysvar (address checked)
    #[account(address = INSTRUCTIONS_SYSVAR)]
    pub instructions: UncheckedAccount<'info>,
}

/// The instructions sysvar's address.
pub const INSTRUCTIONS_SYSVAR: Pubkey = pubkey!("Sysvar1nstructions1111111111111111111111111");

impl AcceptJob<'_> {
    fn validate(&self, args: &AcceptJobArgs) -> Result<()> {
        let acceptor = self.acceptor.key();
        let agent = &self.agent;
        require!(agent.keys().include(&acceptor), AgentrailError::NotTheAgent);
        if let Some(refusal) = self.job.load()?.ineligibility(agent.standing()) {
            return Err(refusal.into());
        }
        // the signature: this transaction's, or the ed25519 program's verdict over the digest
        let signed = self.acceptor.is_signer
            || ed25519_proof::signed_in_transaction(&self.instructions.to_account_info(), &acceptor, &args.digest)?;
        require!(signed, AgentrailError::AcceptanceUnsigned);
        Ok(())
    }

    /// Handler.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn accept_job(ctx: Context<Self>, args: AcceptJobArgs) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        let key = ctx.accounts.job.key();
        let counts = {
            let mut job = ctx.accounts.job.load_mut()?;
            job.accept(&key, &args.digest, now)?;
            job.counts_in_record()
        };
        // a job funded before its acceptance counts now (one funded after counts at funding)
        if counts {
            let mut record = ctx.accounts.track_record.load_mut()?;
            record.jobs = record.jobs.saturating_add(1);
        }
        emit!(JobAccepted {
            job: key,
            agent: ctx.accounts.agent.key(),
            acceptor: ctx.accounts.acceptor.key(),
            digest: args.digest,
            accepted_at: now,
            relayed: !ctx.accounts.acceptor.is_signer,
        });
        Ok(())
    }
}
