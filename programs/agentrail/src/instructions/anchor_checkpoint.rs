use anchor_lang::prelude::*;

use crate::{
    errors::AgentrailError,
    events::CheckpointAnchored,
    instructions::create_pda_account,
    merkle::{self, MAX_PROOF_LEN},
    state::*,
};

/// Arguments of `anchor_checkpoint`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug)]
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
        // the only mutable account here: `dup` skips Anchor's hashed duplicate check (crate::distinct)
        dup,
        // its address checked by hash (seeds::is_derived)
        constraint = seeds::is_derived(&log.key(), &[seeds::RECEIPT_LOG, authority.key().as_ref()], log.bump, &crate::ID)
            @ anchor_lang::error::ErrorCode::ConstraintSeeds,
        // after the address, as a seeds check would come first
        constraint = log.authority == authority.key() @ AgentrailError::Unauthorized
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
