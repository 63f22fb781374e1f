use anchor_lang::prelude::*;

use crate::{
    errors::AgentrailError,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `verify_receipt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct VerifyReceiptArgs {
    /// The log authority (keeper operator) the caller trusts; the checkpoint must belong to its
    /// receipt log. Anyone can anchor a log of their own, so a proof against an unnamed log
    /// proves nothing.
    pub trusted_authority: Pubkey,
    /// The receipt's leaf hash: `SHA-256(0x00 || receipt bytes)`.
    pub leaf_hash: [u8; 32],
    /// Its index in the log.
    pub index: u64,
    /// RFC 9162 audit path to the checkpoint's root.
    pub proof: Vec<[u8; 32]>,
}

/// What a successful `verify_receipt` proved, returned to the caller (CPI return data): the leaf
/// is in this log of this authority, in the tree of `size` leaves anchored for `day`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The receipt log.
    pub log: Pubkey,
    /// Its authority (the trusted authority the caller named).
    pub authority: Pubkey,
    /// The checkpoint's UTC day.
    pub day: u32,
    /// The anchored tree size.
    pub size: u64,
    /// The anchored root.
    pub root: [u8; 32],
    /// Whether that checkpoint was proven consistent with the one before it on-chain.
    pub consistency_verified: bool,
}

/// Succeeds only if the receipt is in a checkpoint anchored by the log of the authority the
/// caller trusts; returns what it proved. Other programs call it by CPI.
#[derive(Accounts)]
pub struct VerifyReceipt<'info> {
    /// The trusted authority's receipt log (its address and authority checked in `validate`:
    /// Anchor's `#[instruction]` would deserialize the proof a second time).
    pub log: Account<'info, ReceiptLog>,
    /// One of that log's anchored checkpoints.
    pub checkpoint: Account<'info, Checkpoint>,
}

impl VerifyReceipt<'_> {
    /// The log is the trusted authority's (its address by hash, [`seeds::is_derived`], then the
    /// authority it names) and the checkpoint is that log's.
    fn validate(&self, args: &VerifyReceiptArgs) -> Result<()> {
        let log = &self.log;
        let derived =
            seeds::is_derived(&log.key(), &[seeds::RECEIPT_LOG, args.trusted_authority.as_ref()], log.bump, &crate::ID);
        if !derived {
            return Err(error!(anchor_lang::error::ErrorCode::ConstraintSeeds).with_account_name("log"));
        }
        require_keys_eq!(log.authority, args.trusted_authority, AgentrailError::UntrustedLog);
        require_keys_eq!(self.checkpoint.log, log.key(), AgentrailError::UntrustedLog);
        Ok(())
    }

    /// Handler.
    pub fn verify_receipt(ctx: Context<Self>, args: VerifyReceiptArgs) -> Result<VerifiedReceipt> {
        ctx.accounts.validate(&args)?;
        require!(args.proof.len() <= MAX_PROOF_LEN, AgentrailError::ProofTooLong);
        let cp = &ctx.accounts.checkpoint;
        merkle::verify_inclusion(args.index, cp.size, &args.leaf_hash, &args.proof, &cp.root)
            .map_err(|_| error!(AgentrailError::InclusionProofInvalid))?;
        Ok(VerifiedReceipt {
            log: ctx.accounts.log.key(),
            authority: ctx.accounts.log.authority,
            day: cp.day,
            size: cp.size,
            root: cp.root,
            consistency_verified: cp.consistency_verified,
        })
    }
}
