use anchor_lang::prelude::*;

use crate::{
    bypass::entrypoint::RawAccount,
    errors::AgentrailError,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `verify_receipt`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
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
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Debug, PartialEq, Eq)]
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
    /// The trusted authority's receipt log (checked in `validate`: Anchor's `#[instruction]`
    /// would deserialize the proof a second time).
    pub log: Account<'info, ReceiptLog>,
    /// One of that log's anchored checkpoints.
    pub checkpoint: Account<'info, Checkpoint>,
}

impl VerifyReceipt<'_> {
    /// Handler.
    pub fn verify_receipt(ctx: Context<Self>, args: VerifyReceiptArgs) -> Result<VerifiedReceipt> {
        let claim = ReceiptClaim {
            trusted_authority: &args.trusted_authority,
            leaf_hash: &args.leaf_hash,
            index: args.index,
            proof: &args.proof,
        };
        let checkpoint = AnchoredRoot::from(&*ctx.accounts.checkpoint);
        check_receipt(&ctx.accounts.log.key(), &ctx.accounts.log.authority, &checkpoint, &claim)
    }
}

/// `verify_receipt` served by the program's entrypoint (`bypass::entrypoint`) from the runtime's
/// input, its two accounts read in place: Anchor's handler step for step (program id, the
/// instruction's log line, arguments, each account as `Account::try_from` loads it, the checks
/// of [`check_receipt`], the return data), with the same errors, without Anchor's dispatch, its
/// account objects or a copy of the proof.
pub fn serve_verify_receipt(
    program_id: &Pubkey,
    log: &RawAccount<'_>,
    checkpoint: &RawAccount<'_>,
    data: &[u8],
) -> Result<()> {
    if *program_id != crate::ID {
        return Err(anchor_lang::error::ErrorCode::DeclaredProgramIdMismatch.into());
    }
    msg!("Instruction: VerifyReceipt");
    let claim = ReceiptClaim::parse(data).ok_or(anchor_lang::error::ErrorCode::InstructionDidNotDeserialize)?;
    // the authority is a receipt log's first field; the rest was written by this program's
    // serializer alone (owner and discriminator checked), so it decodes, and is not read
    let log_authority =
        log.read::<ReceiptLog, _>("log", |body| body.first_chunk::<32>().map(|a| Pubkey::new_from_array(*a)))?;
    let anchored = checkpoint.read::<Checkpoint, _>("checkpoint", AnchoredRoot::read)?;
    let proved = crate::traced!(check_receipt(log.key, &log_authority, &anchored, &claim))?;
    let mut out = [0u8; VerifiedReceipt::INIT_SPACE];
    proved.serialize(&mut &mut out[..]).map_err(|_| anchor_lang::error::ErrorCode::AccountDidNotSerialize)?;
    anchor_lang::solana_program::program::set_return_data(&out);
    Ok(())
}

/// The arguments of `verify_receipt` as they lie in the instruction data, the proof not copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptClaim<'a> {
    /// [`VerifyReceiptArgs::trusted_authority`].
    pub trusted_authority: &'a Pubkey,
    /// [`VerifyReceiptArgs::leaf_hash`].
    pub leaf_hash: &'a merkle::Hash,
    /// [`VerifyReceiptArgs::index`].
    pub index: u64,
    /// [`VerifyReceiptArgs::proof`].
    pub proof: &'a [merkle::Hash],
}

impl<'a> ReceiptClaim<'a> {
    /// Reads the Borsh encoding of [`VerifyReceiptArgs`] in place; `None` where Borsh would
    /// refuse it (cut short). What follows the proof is ignored, as Anchor's handler ignores it.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (trusted_authority, rest) = data.split_first_chunk::<32>()?;
        let (leaf_hash, rest) = rest.split_first_chunk::<32>()?;
        let (index, rest) = rest.split_first_chunk::<8>()?;
        let (count, rest) = rest.split_first_chunk::<4>()?;
        let (hashes, _) = rest.as_chunks::<32>();
        Some(Self {
            trusted_authority: as_pubkey(trusted_authority),
            leaf_hash,
            index: u64::from_le_bytes(*index),
            proof: hashes.get(..u32::from_le_bytes(*count) as usize)?,
        })
    }
}

/// A 32-byte array seen as the `Pubkey` it encodes (`Pubkey` is `Pod`: 32 bytes of alignment 1).
fn as_pubkey(bytes: &[u8; 32]) -> &Pubkey {
    bytemuck::cast_ref(bytes)
}

/// What `verify_receipt` checks once its accounts are loaded, and what it returns: the log is
/// the trusted authority's (named by its authority: [`ReceiptLog::is_of`]), the checkpoint is
/// that log's, the proof is at most [`MAX_PROOF_LEN`] hashes and leads from the leaf to the
/// checkpoint's root. Anchor's handler and the program's entrypoint, which serves this
/// instruction without Anchor's dispatch (`bypass::entrypoint`), both end here.
pub fn check_receipt(
    log_key: &Pubkey,
    log_authority: &Pubkey,
    checkpoint: &AnchoredRoot,
    claim: &ReceiptClaim<'_>,
) -> Result<VerifiedReceipt> {
    if !ReceiptLog::names(log_authority, claim.trusted_authority) {
        return Err(error!(anchor_lang::error::ErrorCode::ConstraintSeeds).with_account_name("log"));
    }
    require_keys_eq!(checkpoint.log, *log_key, AgentrailError::UntrustedLog);
    require!(claim.proof.len() <= MAX_PROOF_LEN, AgentrailError::ProofTooLong);
    merkle::verify_inclusion(claim.index, checkpoint.size, claim.leaf_hash, claim.proof, &checkpoint.root)
        .map_err(|_| error!(AgentrailError::InclusionProofInvalid))?;
    Ok(VerifiedReceipt {
        log: *log_key,
        authority: *log_authority,
        day: checkpoint.day,
        size: checkpoint.size,
        root: checkpoint.root,
        consistency_verified: checkpoint.consistency_verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_borsh_field_by_field() {
        for depth in [0usize, 1, 20] {
            let args = VerifyReceiptArgs {
                trusted_authority: Pubkey::new_unique(),
                leaf_hash: [7; 32],
                index: u64::MAX - 5,
                proof: (0..depth).map(|i| [i as u8; 32]).collect(),
            };
            let ours = borsh::to_vec(&args).unwrap();
            let fields = (args.trusted_authority, args.leaf_hash, args.index, args.proof.clone());
            assert_eq!(ours, borsh::to_vec(&fields).unwrap(), "depth {depth}");
            assert_eq!(VerifyReceiptArgs::try_from_slice(&ours).unwrap(), args);
            let through_reader = VerifyReceiptArgs::deserialize_reader(&mut std::io::Cursor::new(&ours)).unwrap();
            assert_eq!(through_reader, args);
            assert!(VerifyReceiptArgs::try_from_slice(&ours[..ours.len() - 1]).is_err(), "cut short");
            // the entrypoint's reading in place agrees, and refuses what Borsh refuses
            let mut trailing = ours.clone();
            trailing.extend_from_slice(&[5; 7]);
            for bytes in [&ours, &trailing] {
                let claim = ReceiptClaim::parse(bytes).expect("parses");
                assert_eq!(
                    (claim.trusted_authority, claim.leaf_hash, claim.index, claim.proof),
                    (&args.trusted_authority, &args.leaf_hash, args.index, args.proof.as_slice())
                );
            }
            for cut in 0..ours.len() {
                assert_eq!(ReceiptClaim::parse(&ours[..cut]), None, "depth {depth}, cut at {cut}");
            }
        }
        // a count no instruction could carry
        let mut huge = borsh::to_vec(&(Pubkey::new_unique(), [0u8; 32], 0u64, Vec::<[u8; 32]>::new())).unwrap();
        huge[72..76].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(ReceiptClaim::parse(&huge), None);
    }
}
