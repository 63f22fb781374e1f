use anchor_lang::prelude::*;

/// Seconds in a UTC day; checkpoints are keyed by `unix_timestamp / SECONDS_PER_DAY`.
pub const SECONDS_PER_DAY: i64 = 86_400;

/// A keeper operator's append-only receipt log: its latest anchored size and root.
#[account]
#[derive(InitSpace, Debug)]
pub struct ReceiptLog {
    /// Who may anchor checkpoints.
    pub authority: Pubkey,
    /// When set, every checkpoint after the first must carry a consistency proof.
    pub require_consistency: bool,
    /// Tree size at the latest checkpoint.
    pub size: u64,
    /// Root at the latest checkpoint.
    pub root: [u8; 32],
    /// UTC day of the latest checkpoint (`None` before the first).
    pub latest_day: Option<u32>,
    /// Number of checkpoints anchored.
    pub checkpoints: u64,
    /// PDA bump.
    pub bump: u8,
}

impl ReceiptLog {
    /// Whether this is `authority`'s log. A log is created only at `[RECEIPT_LOG, authority]`
    /// with that authority (`create_receipt_log`), and nothing changes its authority, so for an
    /// account that is a `ReceiptLog` (owner and discriminator checked when loaded) the stored
    /// authority names its address: comparing it refuses exactly the accounts re-deriving the
    /// address would, without the ~250 units of hashing.
    pub fn is_of(&self, authority: &Pubkey) -> bool {
        self.authority == *authority
    }
}

/// One day's anchored checkpoint. Never modified after creation.
#[account]
#[derive(InitSpace, Debug)]
pub struct Checkpoint {
    /// The log it belongs to.
    pub log: Pubkey,
    /// UTC day number.
    pub day: u32,
    /// Tree size.
    pub size: u64,
    /// Tree root.
    pub root: [u8; 32],
    /// The checkpoint it extends (`None` for the first).
    pub previous_day: Option<u32>,
    /// Size of the checkpoint it extends (0 for the first).
    pub previous_size: u64,
    /// Whether a consistency proof from the previous checkpoint was verified on-chain.
    pub consistency_verified: bool,
    /// When it was anchored (unix seconds).
    pub anchored_at: i64,
    /// PDA bump.
    pub bump: u8,
}
