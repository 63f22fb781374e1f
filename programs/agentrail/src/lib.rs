//! Agentrail: pay AI agents safely on Solana. Agent registry, staged certification,
//! milestone escrow and daily anchors of the receipt log.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

#[macro_use]
pub mod cu_trace;
#[macro_use]
pub mod bypass;
pub mod ed25519_proof;
pub mod errors;
pub mod events;
pub mod instructions;
pub mod merkle;
pub mod mint_policy;
pub mod state;

use instructions::*;
use state::AgentStatus;

declare_id!("4GM9wBrrJvAXEw3J4amxKgkSfqXAraNZLKBgvsyM7Srj");

#[program]
pub mod agentrail {
    use super::*;

    /// Creates the config singleton (upgrade authority only).
    pub fn initialize_config(ctx: Context<InitializeConfig>, args: InitializeConfigArgs) -> Result<()> {
        InitializeConfig::initialize_config(ctx, args)
    }

    /// Changes treasury, protocol fee or the pause switch (admin).
    pub fn update_config(ctx: Context<UpdateConfig>, args: UpdateConfigArgs) -> Result<()> {
        UpdateConfig::update_config(ctx, args)
    }

    /// Proposes a new admin (admin).
    pub fn propose_admin(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
        ProposeAdmin::propose_admin(ctx, proposed)
    }

    /// Accepts a pending admin transfer (proposed admin).
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        AcceptAdmin::accept_admin(ctx)
    }

    /// Authorises a certifier (admin).
    pub fn add_certifier(ctx: Context<AddCertifier>, certifier: Pubkey) -> Result<()> {
        AddCertifier::add_certifier(ctx, certifier)
    }

    /// Withdraws a certifier's authorisation (admin).
    pub fn remove_certifier(ctx: Context<RemoveCertifier>) -> Result<()> {
        RemoveCertifier::remove_certifier(ctx)
    }

    /// Registers an agent (authority and payout wallet sign).
    pub fn register_agent(ctx: Context<RegisterAgent>, args: RegisterAgentArgs) -> Result<()> {
        RegisterAgent::register_agent(ctx, args)
    }

    /// Publishes a strictly greater version with a new manifest hash (agent authority).
    pub fn publish_version(ctx: Context<AgentAuthority>, args: PublishVersionArgs) -> Result<()> {
        AgentAuthority::publish_version(ctx, args)
    }

    /// Pauses, resumes or retires an agent (agent authority).
    pub fn set_agent_status(ctx: Context<AgentAuthority>, status: AgentStatus) -> Result<()> {
        AgentAuthority::set_agent_status(ctx, status)
    }

    /// Replaces an agent's metadata URI (agent authority).
    pub fn update_agent_metadata(ctx: Context<AgentAuthority>, args: UpdateAgentMetadataArgs) -> Result<()> {
        AgentAuthority::update_agent_metadata(ctx, args)
    }

    /// Changes an agent's payout wallet (agent authority and the new wallet sign).
    pub fn set_payout(ctx: Context<SetPayout>) -> Result<()> {
        SetPayout::set_payout(ctx)
    }

    /// Sets or rotates the key an agent co-signs its outputs with (agent authority and the new
    /// key sign), or clears it (no new key).
    pub fn set_signing_key(ctx: Context<SetSigningKey>) -> Result<()> {
        SetSigningKey::set_signing_key(ctx)
    }

    /// Hands an agent to a new authority (both sign).
    pub fn transfer_agent_authority(ctx: Context<TransferAgentAuthority>) -> Result<()> {
        TransferAgentAuthority::transfer_agent_authority(ctx)
    }

    /// Attests a certification stage for an agent's current version (certifier).
    pub fn attest_stage(ctx: Context<AttestStage>, args: AttestStageArgs) -> Result<()> {
        AttestStage::attest_stage(ctx, args)
    }

    /// Revokes an agent version's certification with a reason hash (certifier).
    pub fn revoke_certification(ctx: Context<RevokeCertification>, reason_hash: [u8; 32]) -> Result<()> {
        RevokeCertification::revoke_certification(ctx, reason_hash)
    }

    /// Creates a job for an active agent and its empty vault (poster).
    pub fn create_job(ctx: Context<CreateJob>, args: CreateJobArgs) -> Result<()> {
        traced!(CreateJob::create_job(ctx, args))
    }

    /// Moves the job's expected total into its vault (poster).
    pub fn fund_job(ctx: Context<FundJob>, expected_total: u64) -> Result<()> {
        traced!(FundJob::fund_job(ctx, expected_total))
    }

    /// Reports a milestone done; releases it at once unless it needs approval (keeper).
    pub fn accept_job(ctx: Context<AcceptJob>, args: AcceptJobArgs) -> Result<()> {
        traced!(AcceptJob::accept_job(ctx, args))
    }

    pub fn submit_milestone(ctx: Context<SubmitMilestone>, index: u8, result_hash: [u8; 32]) -> Result<()> {
        traced!(SubmitMilestone::submit_milestone(ctx, index, result_hash))
    }

    /// Approves and releases a submitted milestone (poster).
    pub fn approve_milestone(ctx: Context<ApproveMilestone>, index: u8) -> Result<()> {
        traced!(ApproveMilestone::approve_milestone(ctx, index))
    }

    /// Rejects a submitted approval milestone inside its review window: refunds it, or puts it
    /// in dispute when the job has an arbiter; optionally cancels the rest (poster).
    pub fn reject_milestone(ctx: Context<RejectMilestone>, index: u8, cancel: bool) -> Result<()> {
        traced!(RejectMilestone::reject_milestone(ctx, index, cancel))
    }

    /// Accepts the poster's rejection of a disputed milestone, refunding it (agent authority).
    pub fn concede_dispute(ctx: Context<ConcedeDispute>, index: u8) -> Result<()> {
        ConcedeDispute::concede_dispute(ctx, index)
    }

    /// Divides a disputed milestone within its dispute window: `agent_bps` to the agent, the
    /// rest to the poster (arbiter).
    pub fn decide_dispute(ctx: Context<DecideDispute>, index: u8, agent_bps: u16) -> Result<()> {
        traced!(DecideDispute::decide_dispute(ctx, index, agent_bps))
    }

    /// Applies the job's default rule to a dispute the arbiter left undecided through its
    /// window (anyone, to associated token accounts).
    pub fn apply_dispute_default(ctx: Context<ApplyDisputeDefault>, index: u8) -> Result<()> {
        ApplyDisputeDefault::apply_dispute_default(ctx, index)
    }

    /// Gives up on the current pending milestone, refunding it or the whole job (keeper).
    pub fn fail_milestone(ctx: Context<FailMilestone>, args: FailMilestoneArgs) -> Result<()> {
        FailMilestone::fail_milestone(ctx, args)
    }

    /// Marks the first pending step started before the agent is called; shields it from
    /// cancellation for the job's step timeout (keeper).
    pub fn start_milestone(ctx: Context<StartMilestone>, index: u8) -> Result<()> {
        StartMilestone::start_milestone(ctx, index)
    }

    /// Releases a submitted milestone owed to the agent: its review window passed in silence
    /// (anyone, to the payout's associated token account).
    pub fn release_after_review(ctx: Context<ReleaseAfterReview>, index: u8) -> Result<()> {
        traced!(ReleaseAfterReview::release_after_review(ctx, index))
    }

    /// Cancels a job before any submission and outside a started step's timeout, refunding
    /// everything (poster).
    pub fn claim_held(ctx: Context<ClaimHeld>) -> Result<()> {
        ClaimHeld::claim_held(ctx)
    }

    pub fn cancel_job(ctx: Context<CancelJob>) -> Result<()> {
        traced!(CancelJob::cancel_job(ctx))
    }

    /// Refunds everything not owed to the agent after the deadline (anyone, to the poster's
    /// associated token account).
    pub fn refund_expired(ctx: Context<RefundExpired>) -> Result<()> {
        traced!(RefundExpired::refund_expired(ctx))
    }

    /// Moves the fees a batch of jobs earned from their vaults to the treasury; jobs are
    /// (job, vault) pairs in the remaining accounts (anyone).
    pub fn sweep_fees<'info>(ctx: Context<'info, SweepFees<'info>>) -> Result<()> {
        SweepFees::sweep_fees(ctx)
    }

    /// Closes a finished, swept job's vault and turns the job into a tombstone, returning rent
    /// to the poster (poster).
    pub fn close_job(ctx: Context<CloseJob>) -> Result<()> {
        CloseJob::close_job(ctx)
    }

    /// Creates a keeper operator's receipt log (log authority).
    pub fn create_receipt_log(ctx: Context<CreateReceiptLog>, require_consistency: bool) -> Result<()> {
        CreateReceiptLog::create_receipt_log(ctx, require_consistency)
    }

    /// Anchors one UTC day's checkpoint of the receipt log (log authority).
    pub fn anchor_checkpoint(ctx: Context<AnchorCheckpoint>, args: AnchorCheckpointArgs) -> Result<()> {
        traced!(AnchorCheckpoint::anchor_checkpoint(ctx, args))
    }

    /// Verifies a receipt's inclusion proof against a checkpoint of the log of the authority
    /// the caller trusts; returns what it proved (anyone, or by CPI).
    pub fn verify_receipt(ctx: Context<VerifyReceipt>, args: VerifyReceiptArgs) -> Result<VerifiedReceipt> {
        traced!(VerifyReceipt::verify_receipt(ctx, args))
    }
}
