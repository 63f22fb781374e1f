//! PDA seed prefixes. Every program-derived address starts with one of these.

/// `[CONFIG]`: the protocol's singleton config.
pub const CONFIG: &[u8] = b"config";
/// `[CERTIFIER, certifier]`: an authorised certifier.
pub const CERTIFIER: &[u8] = b"certifier";
/// `[AGENT, id.to_le_bytes()]`: a registered agent.
pub const AGENT: &[u8] = b"agent";
/// `[CERTIFICATION, agent, version_seq.to_le_bytes()]`: one agent version's certification.
pub const CERTIFICATION: &[u8] = b"certification";
/// `[JOB, poster, nonce.to_le_bytes()]`: a job.
pub const JOB: &[u8] = b"job";
/// `[VAULT, job]`: the job's token vault.
pub const VAULT: &[u8] = b"vault";
/// `[RECEIPT_LOG, authority]`: a keeper operator's receipt log.
pub const RECEIPT_LOG: &[u8] = b"receipt_log";
/// `[CHECKPOINT, log, day.to_le_bytes()]`: one day's anchored checkpoint.
pub const CHECKPOINT: &[u8] = b"checkpoint";
/// `[TRACK_RECORD, agent, mint, [shard]]`: one shard of an agent's track record in one mint.
pub const TRACK_RECORD: &[u8] = b"track_record";

use anchor_lang::prelude::Pubkey;

/// The associated token account program, whose addresses
/// [`is_associated_token_account`](crate::bypass::derived::is_associated_token_account) checks.
pub const ASSOCIATED_TOKEN_PROGRAM: Pubkey = anchor_lang::pubkey!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
