use anchor_lang::prelude::*;

#[cfg(not(feature = "idl-build"))]
use crate::state::borsh_memory::{ReadFrom, Source, read_hashes};
use crate::{
    errors::AgentrailError,
    events::CheckpointAnchored,
    instructions::create_pda_account,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `anchor_checkpoint`.
// Borsh's derives only for the IDL build; the others read the proof in one copy (below)
#[cfg_attr(feature = "idl-build", derive(AnchorSerialize, AnchorDeserialize))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnchorCheckpointArgs {
    /// UTC day number (`unix_timestamp / 86400`); strictly after the previous checkpoint's, not
    /// after today.
    pub day: u32,
    /// Tree size; never below the previous checkpoint's.
    pub size: u64,
    /// Tree root at `size`.
    pub root: [u8; 32],
    /// RFC 9162 consistency proof from the previous checkpoint, checked when present.
    pub consistency_proof: Option<Vec<[u8; 32]>>,
}

// Borsh's encoding, field by field; the proof read by `read_hashes`
#[cfg(not(feature = "idl-build"))]
impl AnchorSerialize for AnchorCheckpointArgs {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        self.day.serialize(writer)?;
        self.size.serialize(writer)?;
        self.root.serialize(writer)?;
        self.consistency_proof.serialize(writer)
    }
}

#[cfg(not(feature = "idl-build"))]
impl ReadFrom for AnchorCheckpointArgs {
    fn read_from(src: &mut impl Source) -> std::io::Result<Self> {
        let mut head = [0u8; 4 + 8 + 32 + 1];
        src.fill_init(&mut head)?;
        let invalid = || std::io::Error::from(std::io::ErrorKind::InvalidData);
        let (day, rest) = head.split_at(4);
        let (size, rest) = rest.split_at(8);
        let (root, tag) = rest.split_at(32);
        let consistency_proof = match tag[0] {
            0 => None,
            1 => Some(read_hashes(src)?),
            // what Borsh refuses in an Option
            _ => return Err(invalid()),
        };
        Ok(Self {
            day: u32::from_le_bytes(day.try_into().map_err(|_| invalid())?),
            size: u64::from_le_bytes(size.try_into().map_err(|_| invalid())?),
            root: root.try_into().map_err(|_| invalid())?,
            consistency_proof,
        })
    }
}

crate::deserialize_with_read_from!(AnchorCheckpointArgs);

/// The log's authority anchors one day's checkpoint. Each day once; sizes never shrink; with a
/// consistency proof the program itself proves the log only grew.
#[derive(Accounts)]
pub struct AnchorCheckpoint<'info> {
    /// The log authority (the keeper operator); pays for the checkpoint.
    #[account(mut)]
    pub authority: Signer<'info>,
    /// The authority's receipt log; its latest size and root move forward.
    #[account(
        mut,
        // the only mutable account here: `dup` skips Anchor's hashed duplicate check (crate::distinct)
        dup,
        // the signer's log: its address, named by its authority (ReceiptLog::is_of)
        constraint = log.is_of(&authority.key()) @ anchor_lang::error::ErrorCode::ConstraintSeeds
    )]
    pub log: Account<'info, ReceiptLog>,
    /// The new checkpoint of one UTC day: size and root.
    /// CHECK: created by the handler at the canonical `[CHECKPOINT, log, day]` PDA (create_pda_account)
    #[account(mut)]
    pub checkpoint: UncheckedAccount<'info>,
    /// Creates the checkpoint account.
    pub system_program: Program<'info, System>,
}

impl AnchorCheckpoint<'_> {
    fn validate(&self, args: &AnchorCheckpointArgs) -> Result<bool> {
        let log = &self.log;
        let today = Clock::get()?.unix_timestamp.div_euclid(SECONDS_PER_DAY);
        require!(i64::from(args.day) <= today, AgentrailError::InvalidCheckpointDay);
        require!(log.latest_day.is_none_or(|d| args.day > d), AgentrailError::InvalidCheckpointDay);
        require!(args.size >= log.size, AgentrailError::LogShrank);
        if args.size == log.size {
            require!(args.root == log.root || log.latest_day.is_none(), AgentrailError::RootChanged);
        }
        let first = log.latest_day.is_none();
        match &args.consistency_proof {
            Some(proof) => {
                require!(proof.len() <= MAX_PROOF_LEN, AgentrailError::ProofTooLong);
                let (old_size, old_root) = if first { (0, [0; 32]) } else { (log.size, log.root) };
                merkle::verify_consistency(old_size, args.size, &old_root, &args.root, proof)
                    .map_err(|_| AgentrailError::ConsistencyProofInvalid)?;
                Ok(true)
            }
            None => {
                require!(first || !log.require_consistency, AgentrailError::ConsistencyProofRequired);
                Ok(false)
            }
        }
    }

    /// Handler.
    pub fn anchor_checkpoint(ctx: Context<Self>, args: AnchorCheckpointArgs) -> Result<()> {
        let consistency_verified = ctx.accounts.validate(&args)?;
        let log_key = ctx.accounts.log.key();
        let accounts = ctx.accounts;
        let bump = create_pda_account(
            &accounts.authority,
            &accounts.checkpoint,
            "checkpoint",
            &[seeds::CHECKPOINT, log_key.as_ref(), &args.day.to_le_bytes()],
            8 + Checkpoint::INIT_SPACE,
            &crate::ID,
        )?;
        let log = &mut accounts.log;
        let checkpoint = Checkpoint {
            log: log_key,
            day: args.day,
            size: args.size,
            root: args.root,
            previous_day: log.latest_day,
            previous_size: log.size,
            consistency_verified,
            anchored_at: Clock::get()?.unix_timestamp,
            bump,
        };
        log.size = args.size;
        log.root = args.root;
        log.latest_day = Some(args.day);
        log.checkpoints = log.checkpoints.checked_add(1).ok_or(AgentrailError::Overflow)?;
        emit!(CheckpointAnchored {
            log: log_key,
            day: args.day,
            size: args.size,
            root: args.root,
            previous_day: checkpoint.previous_day,
            consistency_verified,
        });
        let mut data = accounts.checkpoint.try_borrow_mut_data()?;
        checkpoint.try_serialize(&mut &mut data[..])
    }
}

#[cfg(all(test, not(feature = "idl-build")))]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_borsh_field_by_field() {
        for proof in [None, Some(vec![]), Some((0..12).map(|i| [i as u8; 32]).collect::<Vec<_>>())] {
            let args = AnchorCheckpointArgs { day: 20_500, size: 1 << 40, root: [9; 32], consistency_proof: proof };
            let ours = borsh::to_vec(&args).unwrap();
            let fields = (args.day, args.size, args.root, args.consistency_proof.clone());
            assert_eq!(ours, borsh::to_vec(&fields).unwrap());
            assert_eq!(AnchorCheckpointArgs::try_from_slice(&ours).unwrap(), args);
            let through_reader = AnchorCheckpointArgs::deserialize_reader(&mut std::io::Cursor::new(&ours)).unwrap();
            assert_eq!(through_reader, args);
            assert!(AnchorCheckpointArgs::try_from_slice(&ours[..ours.len() - 1]).is_err(), "cut short");
            let mut bad_tag = ours.clone();
            bad_tag[4 + 8 + 32] = 2;
            assert!(AnchorCheckpointArgs::try_from_slice(&bad_tag).is_err(), "an Option tag of 2");
        }
    }
}
