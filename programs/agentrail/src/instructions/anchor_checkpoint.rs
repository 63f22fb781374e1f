use anchor_lang::prelude::*;

use crate::{
    bypass::pda_account::create_pda_account,
    errors::AgentrailError,
    events::CheckpointAnchored,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `anchor_checkpoint`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
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
        // the only mutable account here: `dup` skips Anchor's hashed duplicate check (bypass::distinct)
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
    /// Handler.
    pub fn anchor_checkpoint(ctx: Context<Self>, args: AnchorCheckpointArgs) -> Result<()> {
        let claim = CheckpointClaim {
            day: args.day,
            size: args.size,
            root: &args.root,
            consistency_proof: args.consistency_proof.as_deref(),
        };
        let accounts = ctx.accounts;
        let log_key = accounts.log.key();
        anchor(&accounts.authority, &accounts.checkpoint, &log_key, &mut accounts.log, &claim)
    }
}

/// The arguments of `anchor_checkpoint` as they lie in the instruction data, the proof not
/// copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointClaim<'a> {
    /// [`AnchorCheckpointArgs::day`].
    pub day: u32,
    /// [`AnchorCheckpointArgs::size`].
    pub size: u64,
    /// [`AnchorCheckpointArgs::root`].
    pub root: &'a merkle::Hash,
    /// [`AnchorCheckpointArgs::consistency_proof`].
    pub consistency_proof: Option<&'a [merkle::Hash]>,
}

impl<'a> CheckpointClaim<'a> {
    /// Reads the Borsh encoding of [`AnchorCheckpointArgs`] in place; `None` where Borsh would
    /// refuse it (cut short, an option tag other than 0 or 1). What follows is ignored, as
    /// Anchor's handler ignores it.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (day, rest) = data.split_first_chunk::<4>()?;
        let (size, rest) = rest.split_first_chunk::<8>()?;
        let (root, rest) = rest.split_first_chunk::<32>()?;
        let consistency_proof = match rest.split_first()? {
            (0, _) => None,
            (1, rest) => {
                let (count, rest) = rest.split_first_chunk::<4>()?;
                Some(rest.as_chunks::<32>().0.get(..u32::from_le_bytes(*count) as usize)?)
            }
            _ => return None,
        };
        Some(Self { day: u32::from_le_bytes(*day), size: u64::from_le_bytes(*size), root, consistency_proof })
    }
}

/// Whether `claim` may be anchored on `log` today: a day not in the future and after the
/// latest, a size never below the latest (the same size only with the same root), and the
/// consistency proof when present (or required). Returns whether a proof was verified.
fn check_claim(log: &ReceiptLog, claim: &CheckpointClaim<'_>, now: i64) -> Result<bool> {
    let today = now.div_euclid(SECONDS_PER_DAY);
    require!(i64::from(claim.day) <= today, AgentrailError::InvalidCheckpointDay);
    require!(log.latest_day.is_none_or(|d| claim.day > d), AgentrailError::InvalidCheckpointDay);
    require!(claim.size >= log.size, AgentrailError::LogShrank);
    if claim.size == log.size {
        require!(*claim.root == log.root || log.latest_day.is_none(), AgentrailError::RootChanged);
    }
    let first = log.latest_day.is_none();
    match claim.consistency_proof {
        Some(proof) => {
            require!(proof.len() <= MAX_PROOF_LEN, AgentrailError::ProofTooLong);
            let (old_size, old_root) = if first { (0, [0; 32]) } else { (log.size, log.root) };
            merkle::verify_consistency(old_size, claim.size, &old_root, claim.root, proof)
                .map_err(|_| AgentrailError::ConsistencyProofInvalid)?;
            Ok(true)
        }
        None => {
            require!(first || !log.require_consistency, AgentrailError::ConsistencyProofRequired);
            Ok(false)
        }
    }
}

/// The handler's work once the accounts are checked, for Anchor's handler and the program's
/// entrypoint alike: checks the claim, creates the checkpoint at its canonical address, moves
/// the log forward (the caller writes it back) and emits [`CheckpointAnchored`].
fn anchor<'info>(
    authority: &AccountInfo<'info>,
    checkpoint: &AccountInfo<'info>,
    log_key: &Pubkey,
    log: &mut ReceiptLog,
    claim: &CheckpointClaim<'_>,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let consistency_verified = check_claim(log, claim, now)?;
    let bump = create_pda_account(
        authority,
        checkpoint,
        "checkpoint",
        &[seeds::CHECKPOINT, log_key.as_ref(), &claim.day.to_le_bytes()],
        8 + Checkpoint::INIT_SPACE,
        &Rent::get()?,
        &crate::ID,
    )?;
    let record = Checkpoint {
        log: *log_key,
        day: claim.day,
        size: claim.size,
        root: *claim.root,
        previous_day: log.latest_day,
        previous_size: log.size,
        consistency_verified,
        anchored_at: now,
        bump,
    };
    log.size = claim.size;
    log.root = *claim.root;
    log.latest_day = Some(claim.day);
    log.checkpoints = log.checkpoints.checked_add(1).ok_or(AgentrailError::Overflow)?;
    emit!(CheckpointAnchored {
        log: *log_key,
        day: claim.day,
        size: claim.size,
        root: *claim.root,
        previous_day: record.previous_day,
        consistency_verified,
    });
    let mut data = checkpoint.try_borrow_mut_data()?;
    record.try_serialize(&mut &mut data[..])
}

/// `anchor_checkpoint` served by the program's entrypoint (`bypass::entrypoint`) with the accounts
/// it built: Anchor's handler step for step (program id, the instruction's log line,
/// arguments, each account's checks in the order Anchor's accounts struct makes them, then its
/// constraints, the handler, the log written back), with the same errors, without Anchor's
/// dispatch or a copy of the proof.
pub fn serve_anchor_checkpoint<'a>(program_id: &Pubkey, accounts: &'a [AccountInfo<'a>], data: &[u8]) -> Result<()> {
    use anchor_lang::error::ErrorCode;
    if *program_id != crate::ID {
        return Err(ErrorCode::DeclaredProgramIdMismatch.into());
    }
    msg!("Instruction: AnchorCheckpoint");
    let claim = CheckpointClaim::parse(data).ok_or(ErrorCode::InstructionDidNotDeserialize)?;
    let [authority, log, checkpoint, system_program, ..] = accounts else {
        return Err(ErrorCode::AccountNotEnoughKeys.into());
    };
    let authority_signer = Signer::try_from(authority).map_err(|e| e.with_account_name("authority"))?;
    let mut log_account = Account::<ReceiptLog>::try_from(log).map_err(|e| e.with_account_name("log"))?;
    Program::<System>::try_from(system_program).map_err(|e| e.with_account_name("system_program"))?;
    let mutable = [(authority, "authority"), (log, "log")];
    for (account, name) in mutable {
        if !account.is_writable {
            return Err(Error::from(ErrorCode::ConstraintMut).with_account_name(name));
        }
    }
    if !log_account.is_of(authority_signer.key) {
        return Err(Error::from(ErrorCode::ConstraintSeeds).with_account_name("log"));
    }
    if !checkpoint.is_writable {
        return Err(Error::from(ErrorCode::ConstraintMut).with_account_name("checkpoint"));
    }
    crate::traced!(anchor(authority, checkpoint, log.key, &mut log_account, &claim))?;
    log_account.exit(&crate::ID)
}

#[cfg(test)]
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
            // the entrypoint's reading in place agrees, and refuses what Borsh refuses
            let mut trailing = ours.clone();
            trailing.extend_from_slice(&[7; 3]);
            for bytes in [&ours, &trailing] {
                let claim = CheckpointClaim::parse(bytes).expect("parses");
                assert_eq!(
                    (claim.day, claim.size, claim.root, claim.consistency_proof),
                    (args.day, args.size, &args.root, args.consistency_proof.as_deref())
                );
            }
            assert_eq!(CheckpointClaim::parse(&bad_tag), None);
            for cut in 0..ours.len() {
                assert_eq!(CheckpointClaim::parse(&ours[..cut]), None, "cut at {cut}");
            }
        }
    }
}
