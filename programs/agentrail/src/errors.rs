use anchor_lang::prelude::*;

/// Every way an Agentrail instruction can refuse. Codes are stable: append, never reorder.
#[error_code]
pub enum AgentrailError {
    #[msg("the signer is not the authority for this account")]
    Unauthorized,
    #[msg("the protocol is paused")]
    ProtocolPaused,
    #[msg("protocol fee exceeds the hard cap")]
    FeeTooHigh,
    #[msg("no admin transfer is pending for this signer")]
    NoPendingAdmin,
    #[msg("the program data account does not belong to this program")]
    InvalidProgramData,
    #[msg("name is empty or longer than the maximum")]
    NameLength,
    #[msg("metadata URI is longer than the maximum")]
    UriLength,
    #[msg("new version must be strictly greater than the current one")]
    VersionNotIncreasing,
    #[msg("the agent is not in a state that allows this")]
    InvalidAgentStatus,
    #[msg("the agent is retired; it can never change again")]
    AgentRetired,
    #[msg("certification stage must be between 1 (A) and 5 (E)")]
    InvalidStage,
    #[msg("stages advance one at a time; the previous stage must be in force")]
    StageSkipped,
    #[msg("attestation expiry must be in the future")]
    InvalidExpiry,
    #[msg("the certification does not belong to the agent's current version")]
    WrongAgentVersion,
    #[msg("the certifier is not active")]
    CertifierInactive,
    #[msg("nothing to revoke: the certification holds no stage")]
    NothingToRevoke,
    #[msg("arithmetic overflow")]
    Overflow,
    #[msg("a job needs between 1 and 16 milestones")]
    MilestoneCount,
    #[msg("milestone amounts must be positive")]
    ZeroAmount,
    #[msg("deadline must be in the future")]
    DeadlineInPast,
    #[msg("review window must be between 0 and 90 days")]
    InvalidReviewWindow,
    #[msg("the agent's effective certification is below the job's minimum stage")]
    CertificationTooLow,
    #[msg("a certification account is required and must be the agent's current version's")]
    CertificationRequired,
    #[msg("the pinned certification was revoked; no further release is possible")]
    CertificationRevoked,
    #[msg("the job's total differs from what the poster expected")]
    JobChanged,
    #[msg("the job is not in a state that allows this")]
    InvalidJobStatus,
    #[msg("milestone index out of range")]
    InvalidMilestone,
    #[msg("the milestone is not pending")]
    MilestoneNotPending,
    #[msg("the milestone is not awaiting review")]
    MilestoneNotSubmitted,
    #[msg("milestones are settled in order; an earlier one is still open")]
    MilestoneOutOfOrder,
    #[msg("the job's deadline has passed")]
    DeadlinePassed,
    #[msg("the job's deadline has not passed yet")]
    DeadlineNotReached,
    #[msg("the review window would end after the deadline")]
    ReviewOutlastsDeadline,
    #[msg("the review window has not ended yet")]
    ReviewWindowOpen,
    #[msg("the poster can cancel only before any milestone was submitted")]
    AlreadyStarted,
    #[msg("the agent is not active")]
    AgentNotActive,
    #[msg("mint has a permanent delegate, which could move escrowed funds")]
    MintPermanentDelegate,
    #[msg("mint has a transfer hook, which could block or alter transfers")]
    MintTransferHook,
    #[msg("mint charges transfer fees, which break escrow accounting")]
    MintTransferFee,
    #[msg("mint is non-transferable")]
    MintNonTransferable,
    #[msg("mint freezes new accounts by default")]
    MintDefaultFrozen,
    #[msg("mint allows confidential transfers or mint/burn, which hide balances")]
    MintConfidential,
    #[msg("mint is pausable, which could block transfers")]
    MintPausable,
    #[msg("mint data could not be parsed")]
    InvalidMint,
    #[msg("checkpoint days must strictly increase and not lie in the future")]
    InvalidCheckpointDay,
    #[msg("a log's size can never shrink")]
    LogShrank,
    #[msg("same size anchored with a different root")]
    RootChanged,
    #[msg("this log requires a consistency proof from the previous checkpoint")]
    ConsistencyProofRequired,
    #[msg("the consistency proof does not verify")]
    ConsistencyProofInvalid,
    #[msg("the inclusion proof does not verify")]
    InclusionProofInvalid,
    #[msg("proof is longer than the maximum")]
    ProofTooLong,
    #[msg("the poster's review window has closed: the milestone is owed to the agent")]
    ReviewWindowClosed,
    #[msg("the step was started and its time has not run out: the agent may still be working")]
    StepInProgress,
    #[msg("nothing is refundable: every open milestone is owed to the agent")]
    NothingToRefund,
    #[msg("the checkpoint does not belong to a log of the authority the caller trusts")]
    UntrustedLog,
    #[msg("permissionless payouts go only to the owner's associated token account")]
    NotCanonicalAccount,
    #[msg("step timeout must be between 60 seconds and 7 days")]
    InvalidStepTimeout,
    #[msg("terms URI is longer than the maximum")]
    TermsUriLength,
    #[msg(
        "an approval milestone needs a review window that is positive and, after one whole step timeout from now, ends before the deadline"
    )]
    ApprovalNeverSubmittable,
    #[msg("the job's books do not balance: funded != released + fees + refunded + outstanding")]
    AccountingBroken,
    #[msg("the arbiter must be a third party: not the poster")]
    InvalidArbiter,
    #[msg("dispute window must be between 1 hour and 90 days with an arbiter, 0 without")]
    InvalidDisputeWindow,
    #[msg("a share is at most 10000 basis points")]
    InvalidShare,
    #[msg("the job has no arbiter")]
    NoArbiter,
    #[msg("milestone is not in dispute")]
    MilestoneNotDisputed,
    #[msg("the dispute window has closed: the job's default rule decides")]
    DisputeWindowClosed,
    #[msg("the dispute window is still open: only the arbiter decides")]
    DisputeWindowOpen,
    #[msg("the job's earned fees are still in its vault: sweep them to the treasury first (sweep_fees)")]
    FeesNotSwept,
    #[msg("nothing to sweep: every fee these jobs earned is already in the treasury")]
    NothingToSweep,
    #[msg("a sweep takes (job, vault) pairs: 1 to 12 of them, writable, in the sweep's mint")]
    InvalidSweepBatch,
    #[msg("the account is not the job's vault")]
    WrongVault,
    #[msg("the track record is not the shard of this job's agent and mint")]
    WrongTrackRecord,
    #[msg("the agent has not accepted this job: no step starts and no work is submitted before it does")]
    NotAccepted,
    #[msg("the agent already accepted this job")]
    AlreadyAccepted,
    #[msg("the acceptance does not match the job: the agent signed other terms")]
    AcceptanceMismatch,
    #[msg("the acceptance is signed by neither the agent's authority nor its signing key")]
    NotTheAgent,
    #[msg(
        "no signature of the agent over the job's terms: sign the transaction, or put an ed25519 instruction over the consent digest before this one"
    )]
    AcceptanceUnsigned,
    #[msg("only the job's keeper or its agent (authority or signing key) submits work")]
    NotKeeperOrAgent,
    #[msg("the milestone's step was never started, so it cannot have failed")]
    NotStarted,
    #[msg("nothing is held for you on this job")]
    NothingHeld,
    #[msg("the vault still holds a party's award or refund: it must be claimed (job claim) before the job closes")]
    ClaimsPending,
    #[msg("only the job's poster or its agent's payout wallet claims what the vault holds for them")]
    NotEntitled,
}
