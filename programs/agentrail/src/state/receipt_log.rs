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
    /// address would, without hashing.
    pub fn is_of(&self, authority: &Pubkey) -> bool {
        Self::names(&self.authority, authority)
    }

    /// [`ReceiptLog::is_of`] on a log's stored authority, for callers that read only that field.
    pub fn names(stored_authority: &Pubkey, authority: &Pubkey) -> bool {
        stored_authority == authority
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

/// What a receipt check reads of a checkpoint: where it belongs and what it anchored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnchoredRoot {
    /// [`Checkpoint::log`].
    pub log: Pubkey,
    /// [`Checkpoint::day`].
    pub day: u32,
    /// [`Checkpoint::size`].
    pub size: u64,
    /// [`Checkpoint::root`].
    pub root: [u8; 32],
    /// [`Checkpoint::consistency_verified`].
    pub consistency_verified: bool,
}

impl From<&Checkpoint> for AnchoredRoot {
    fn from(cp: &Checkpoint) -> Self {
        Self { log: cp.log, day: cp.day, size: cp.size, root: cp.root, consistency_verified: cp.consistency_verified }
    }
}

impl AnchoredRoot {
    /// Reads these fields from a checkpoint's Borsh bytes (after the discriminator) at their
    /// offsets, without decoding the rest: its fixed head (log, day, size, root), then
    /// `previous_day`'s tag decides where `consistency_verified` lies. A checkpoint is written
    /// once, by this program's serializer, so the bytes it owns decode; `None` for bytes that
    /// would not (cut short, a tag or bool other than 0 or 1), as Borsh refuses them.
    pub fn read(body: &[u8]) -> Option<Self> {
        let (log, rest) = body.split_first_chunk::<32>()?;
        let (day, rest) = rest.split_first_chunk::<4>()?;
        let (size, rest) = rest.split_first_chunk::<8>()?;
        let (root, rest) = rest.split_first_chunk::<32>()?;
        let rest = match rest.split_first()? {
            (0, rest) => rest,
            (1, rest) => rest.get(4..)?,
            _ => return None,
        };
        // previous_size, then the flag
        let consistency_verified = match rest.get(8)? {
            0 => false,
            1 => true,
            _ => return None,
        };
        Some(Self {
            log: Pubkey::new_from_array(*log),
            day: u32::from_le_bytes(*day),
            size: u64::from_le_bytes(*size),
            root: *root,
            consistency_verified,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_root_is_read_where_borsh_wrote_it() {
        for previous_day in [None, Some(20_000), Some(u32::MAX)] {
            for consistency_verified in [false, true] {
                let cp = Checkpoint {
                    log: Pubkey::new_unique(),
                    day: 20_001,
                    size: u64::MAX - 3,
                    root: [0xab; 32],
                    previous_day,
                    previous_size: 77,
                    consistency_verified,
                    anchored_at: -5,
                    bump: 254,
                };
                let bytes = borsh::to_vec(&cp).unwrap();
                assert_eq!(AnchoredRoot::read(&bytes), Some(AnchoredRoot::from(&cp)), "{previous_day:?}");
                // cut anywhere up to the flag it reads, refused
                let flag_at = bytes.len() - 8 - 1 - 1;
                for cut in 0..=flag_at {
                    assert_eq!(AnchoredRoot::read(&bytes[..cut]), None, "cut at {cut}");
                }
                // what Borsh refuses in the tag and the flag
                let tag_at = 32 + 4 + 8 + 32;
                let mut bad = bytes.clone();
                bad[tag_at] = 2;
                assert_eq!(AnchoredRoot::read(&bad), None);
                let mut bad = bytes.clone();
                bad[flag_at] = 2;
                assert_eq!(AnchoredRoot::read(&bad), None);
            }
        }
    }
}
