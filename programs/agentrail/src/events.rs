//! Events: one per state change, so indexers can follow everything without reading accounts.

use anchor_lang::prelude::*;

use crate::state::{AgentStatus, JobStatus, Semver};

/// The config singleton was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigInitialized {
    pub admin: Pubkey,
    pub treasury: Pubkey,
    pub fee_bps: u16,
}

/// Treasury, fee or pause switch changed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigUpdated {
    pub treasury: Pubkey,
    pub fee_bps: u16,
    pub paused: bool,
}

/// The admin proposed a successor.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminProposed {
    pub admin: Pubkey,
    pub proposed: Pubkey,
}

/// The proposed admin accepted.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccepted {
    pub previous: Pubkey,
    pub admin: Pubkey,
}

/// A certifier was authorised.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifierAdded {
    pub certifier: Pubkey,
}

/// A certifier's authorisation was withdrawn.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifierRemoved {
    pub certifier: Pubkey,
}

/// An agent was registered.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRegistered {
    pub agent: Pubkey,
    pub id: u64,
    pub authority: Pubkey,
    pub payout: Pubkey,
    pub name: String,
    pub manifest_hash: [u8; 32],
    pub version: Semver,
}

/// An agent published a new version; its certification starts over.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentVersionPublished {
    pub agent: Pubkey,
    pub version: Semver,
    pub version_seq: u32,
    pub manifest_hash: [u8; 32],
}

/// An agent was paused, resumed or retired.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatusChanged {
    pub agent: Pubkey,
    pub status: AgentStatus,
}

/// An agent's payout wallet changed (the new wallet signed).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentPayoutChanged {
    pub agent: Pubkey,
    pub payout: Pubkey,
}

/// An agent's output signing key was set or rotated (the new key signed), or cleared (`None`).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSigningKeyChanged {
    pub agent: Pubkey,
    pub signing_key: Option<Pubkey>,
}

/// An agent's authority changed (both signed).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAuthorityTransferred {
    pub agent: Pubkey,
    pub previous: Pubkey,
    pub authority: Pubkey,
}

/// An agent's metadata URI changed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMetadataUpdated {
    pub agent: Pubkey,
    pub metadata_uri: String,
}

/// A certifier attested a stage for an agent version.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageAttested {
    pub agent: Pubkey,
    pub version_seq: u32,
    pub stage: u8,
    pub certifier: Pubkey,
    pub attestation_hash: [u8; 32],
    pub expires_at: i64,
}

/// A certifier revoked an agent version's certification.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificationRevoked {
    pub agent: Pubkey,
    pub version_seq: u32,
    pub by: Pubkey,
    pub reason_hash: [u8; 32],
    pub epoch: u32,
}

/// A job was created (not yet funded).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCreated {
    pub job: Pubkey,
    pub poster: Pubkey,
    pub agent: Pubkey,
    pub keeper: Pubkey,
    pub mint: Pubkey,
    pub total: u64,
    pub fee_bps: u16,
    pub milestones: u8,
    pub deadline: i64,
    pub terms_hash: [u8; 32],
    pub arbiter: Option<Pubkey>,
}

/// The poster moved the job's total into its vault.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFunded {
    pub job: Pubkey,
    pub amount: u64,
}

/// The agent accepted a job's terms ([`Job::consent_digest`](crate::state::Job::consent_digest)):
/// `relayed` when its signature came through an ed25519 instruction rather than the
/// transaction's own signatures.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobAccepted {
    pub job: Pubkey,
    pub agent: Pubkey,
    pub acceptor: Pubkey,
    pub digest: [u8; 32],
    pub accepted_at: i64,
    pub relayed: bool,
}

/// A party's award or refund stayed in the job's vault for it to claim: its account could not
/// take the transfer (`account`, its canonical one). `party` is `agent` or `poster`.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardHeld {
    pub job: Pubkey,
    pub party: String,
    pub amount: u64,
    pub account: Pubkey,
}

/// A party claimed what the job's vault held for it, to an account of its own.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldClaimed {
    pub job: Pubkey,
    pub party: String,
    pub amount: u64,
    pub to: Pubkey,
}

/// The keeper marked a milestone's step started (before calling the agent).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneStarted {
    pub job: Pubkey,
    pub index: u8,
    pub started_at: i64,
}

/// The keeper reported a milestone done.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneSubmitted {
    pub job: Pubkey,
    pub index: u8,
    pub result_hash: [u8; 32],
    pub requires_approval: bool,
}

/// A milestone was paid: `amount` to the agent; `fee` earned by the treasury (it stays in the
/// vault until [`FeesSwept`]).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneReleased {
    pub job: Pubkey,
    pub index: u8,
    pub amount: u64,
    pub fee: u64,
    pub payee: Pubkey,
    pub status: JobStatus,
}

/// The keeper gave up on a milestone's step; its funds (or, with `cancelled`, everything
/// unreleased) went back to the poster.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneFailed {
    pub job: Pubkey,
    pub index: u8,
    pub keeper: Pubkey,
    pub reason_hash: [u8; 32],
    pub cancelled: bool,
}

/// Funds went back to the poster (rejection, a failed step, cancellation or expiry).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestonesRefunded {
    pub job: Pubkey,
    pub amount: u64,
    pub status: JobStatus,
}

/// The poster rejected a milestone of a job with an arbiter: it is held in dispute until
/// `decide_by`, after which the job's default rule decides.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneDisputed {
    pub job: Pubkey,
    pub index: u8,
    pub arbiter: Pubkey,
    pub decide_by: i64,
}

/// A disputed milestone was divided: `to_agent` to the agent, `fee` earned by the treasury,
/// `to_poster` back to the poster, by the arbiter or (`by_default`) by the job's default rule.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeDecided {
    pub job: Pubkey,
    pub index: u8,
    pub agent_bps: u16,
    pub to_agent: u64,
    pub fee: u64,
    pub to_poster: u64,
    pub by_default: bool,
    pub status: JobStatus,
}

/// The fees job `job` earned (`amount` of them not yet swept) moved from its vault to the
/// treasury's token account `treasury_token`.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeesSwept {
    pub job: Pubkey,
    pub amount: u64,
    pub treasury_token: Pubkey,
}

/// A finished job's accounts were closed and their rent returned to the poster.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClosed {
    pub job: Pubkey,
    pub swept: u64,
}

/// A keeper operator created its receipt log.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLogCreated {
    pub log: Pubkey,
    pub authority: Pubkey,
    pub require_consistency: bool,
}

/// A day's checkpoint of a receipt log was anchored.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointAnchored {
    pub log: Pubkey,
    pub day: u32,
    pub size: u64,
    pub root: [u8; 32],
    pub previous_day: Option<u32>,
    pub consistency_verified: bool,
}
