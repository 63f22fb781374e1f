use anchor_lang::prelude::*;

#[cfg(not(feature = "idl-build"))]
use crate::state::borsh_memory::{ReadFrom, Source, read_hashes};
use crate::{
    errors::AgentrailError,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `verify_receipt`.
// Borsh's derives only for the IDL build; the others read the proof in one copy (below)
#[cfg_attr(feature = "idl-build", derive(AnchorSerialize, AnchorDeserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
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

// Borsh's encoding, field by field; the proof read by `read_hashes`
#[cfg(not(feature = "idl-build"))]
impl AnchorSerialize for VerifyReceiptArgs {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        self.trusted_authority.serialize(writer)?;
        self.leaf_hash.serialize(writer)?;
        self.index.serialize(writer)?;
        self.proof.serialize(writer)
    }
}

#[cfg(not(feature = "idl-build"))]
impl ReadFrom for VerifyReceiptArgs {
    fn read_from(src: &mut impl Source) -> std::io::Result<Self> {
        let mut head = [0u8; 32 + 32 + 8];
        src.fill_init(&mut head)?;
        let (authority, rest) = head.split_at(32);
        let (leaf, index) = rest.split_at(32);
        Ok(Self {
            trusted_authority: Pubkey::try_from(authority).map_err(|_| std::io::ErrorKind::InvalidData)?,
            leaf_hash: leaf.try_into().map_err(|_| std::io::ErrorKind::InvalidData)?,
            index: u64::from_le_bytes(index.try_into().map_err(|_| std::io::ErrorKind::InvalidData)?),
            proof: read_hashes(src)?,
        })
    }
}

crate::deserialize_with_read_from!(VerifyReceiptArgs);

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
    /// The trusted authority's receipt log (checked in `validate`: Anchor's `#[instruction]`
    /// would deserialize the proof a second time).
    pub log: Account<'info, ReceiptLog>,
    /// One of that log's anchored checkpoints.
    pub checkpoint: Account<'info, Checkpoint>,
}

impl VerifyReceipt<'_> {
    /// The log is the trusted authority's (its address, named by its authority:
    /// [`ReceiptLog::is_of`]) and the checkpoint is that log's.
    fn validate(&self, args: &VerifyReceiptArgs) -> Result<()> {
        let log = &self.log;
        if !log.is_of(&args.trusted_authority) {
            return Err(error!(anchor_lang::error::ErrorCode::ConstraintSeeds).with_account_name("log"));
        }
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

#[cfg(all(test, not(feature = "idl-build")))]
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
        }
    }
}
