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
}
