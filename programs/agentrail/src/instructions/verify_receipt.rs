use anchor_lang::prelude::*;

use crate::{
    errors::AgentrailError,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `verify_receipt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
pub struct VerifyReceiptArgs {
    /// The receipt's leaf hash: `SHA-256(0x00 || receipt bytes)`.
    pub leaf_hash: [u8; 32],
    /// Its index in the log.
    pub index: u64,
    /// RFC 9162 audit path to the checkpoint's root.
    pub proof: Vec<[u8; 32]>,
}

/// Succeeds only if the receipt is in the anchored checkpoint; other programs call it by CPI.
#[derive(Accounts)]
pub struct VerifyReceipt<'info> {
    pub checkpoint: Account<'info, Checkpoint>,
}

impl VerifyReceipt<'_> {
    /// Handler.
    pub fn verify_receipt(ctx: Context<Self>, args: VerifyReceiptArgs) -> Result<()> {
        require!(args.proof.len() <= MAX_PROOF_LEN, AgentrailError::ProofTooLong);
        let cp = &ctx.accounts.checkpoint;
        merkle::verify_inclusion(args.index, cp.size, &args.leaf_hash, &args.proof, &cp.root)
            .map_err(|_| error!(AgentrailError::InclusionProofInvalid))
    }
}
