//! Decoding program accounts from raw account data.

use anchor_lang::AccountDeserialize;

/// Why raw bytes are not the expected account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A program account a client decodes ([`decode`]).
pub trait ProgramAccount: AccountDeserialize {
    /// The exact length of a zero-copy account (discriminator included), `None` for a Borsh one:
    /// Anchor's reader of a zero-copy account panics on any other length, so [`decode`] refuses
    /// it first.
    const ZERO_COPY_LEN: Option<usize> = None;
}

impl ProgramAccount for agentrail::state::Job {
    const ZERO_COPY_LEN: Option<usize> = Some(agentrail::state::Job::SPACE);
}
impl ProgramAccount for agentrail::state::TrackRecord {
    const ZERO_COPY_LEN: Option<usize> = Some(agentrail::state::TrackRecord::SPACE);
}
impl ProgramAccount for agentrail::state::Agent {}
impl ProgramAccount for agentrail::state::Certification {}
impl ProgramAccount for agentrail::state::Certifier {}
impl ProgramAccount for agentrail::state::Checkpoint {}
impl ProgramAccount for agentrail::state::ClosedJob {}
impl ProgramAccount for agentrail::state::Config {}
impl ProgramAccount for agentrail::state::ReceiptLog {}

/// Decodes an Anchor account of type `T`, checking its discriminator (and a zero-copy
/// account's length).
pub fn decode<T: ProgramAccount>(data: &[u8]) -> Result<T, DecodeError> {
    let name = std::any::type_name::<T>();
    if let Some(len) = T::ZERO_COPY_LEN
        && data.len() != len
    {
        return Err(DecodeError(format!("not a {name}: {} bytes, not {len}", data.len())));
    }
    let mut slice = data;
    T::try_deserialize(&mut slice).map_err(|e| DecodeError(format!("not a {name}: {e}")))
}

/// A zero-copy account's bytes: its discriminator, then its memory (what the program writes).
pub fn zero_copy_bytes<T: bytemuck::Pod + anchor_lang::Discriminator>(value: &T) -> Vec<u8> {
    [T::DISCRIMINATOR, bytemuck::bytes_of(value)].concat()
}

/// A token mint's decimals from its account: owned by SPL Token or Token-2022, whose mint
/// layouts both keep them at byte 44 (after the supply and the mint authority).
pub fn mint_decimals(owner: &anchor_lang::prelude::Pubkey, data: &[u8]) -> Result<u8, DecodeError> {
    if *owner != anchor_spl::token::ID && *owner != anchor_spl::token_2022::ID {
        return Err(DecodeError(format!("not a token mint (owner {owner})")));
    }
    data.get(agentrail::bypass::token_bytes::MINT_DECIMALS_AT)
        .copied()
        .ok_or_else(|| DecodeError("not a token mint".into()))
}

/// Byte offset of a job field in a job account: the discriminator, then the field's offset in
/// the zero-copy layout.
macro_rules! job_offset {
    ($field:ident) => {
        8 + std::mem::offset_of!(agentrail::state::Job, $field)
    };
}

/// Byte offset of `Job::poster` in a job account, for memcmp filters.
pub const JOB_POSTER_OFFSET: usize = job_offset!(poster);
/// Byte offset of `Job::agent`.
pub const JOB_AGENT_OFFSET: usize = job_offset!(agent);
/// Byte offset of `Job::keeper`.
pub const JOB_KEEPER_OFFSET: usize = job_offset!(keeper);
/// Byte offset of `Job::status` (one byte).
pub const JOB_STATUS_OFFSET: usize = job_offset!(status);
/// Byte offset of `Job::mint`, followed by `token_program`.
pub const JOB_MINT_OFFSET: usize = job_offset!(mint);
/// Byte offset of `Job::fees_earned`; `fees_swept` follows it.
pub const JOB_FEES_EARNED_OFFSET: usize = job_offset!(fees_earned);
/// Byte offset of `Job::arbiter`.
pub const JOB_ARBITER_OFFSET: usize = job_offset!(arbiter);

const _: () = {
    // the fee slice reads these in one piece, in this order
    assert!(JOB_MINT_OFFSET + 32 == job_offset!(token_program));
    assert!(JOB_FEES_EARNED_OFFSET + 8 == job_offset!(fees_swept));
    assert!(JOB_MINT_OFFSET < JOB_FEES_EARNED_OFFSET);
};

/// A job's fee books read from a slice of its account (`getProgramAccounts` with a data slice
/// from [`JOB_MINT_OFFSET`] of [`JOB_FEES_SLICE_LEN`] bytes): enough to sweep it, without
/// downloading its milestones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobFees {
    pub mint: anchor_lang::prelude::Pubkey,
    pub token_program: anchor_lang::prelude::Pubkey,
    pub fees_earned: u64,
    pub fees_swept: u64,
}

/// Length of the data slice [`JobFees::from_slice`] reads.
pub const JOB_FEES_SLICE_LEN: usize = JOB_FEES_EARNED_OFFSET + 16 - JOB_MINT_OFFSET;

impl JobFees {
    /// Decodes the slice; `None` when it is too short.
    pub fn from_slice(data: &[u8]) -> Option<Self> {
        let key =
            |at: usize| data.get(at..at + 32).map(|b| anchor_lang::prelude::Pubkey::try_from(b).expect("32 bytes"));
        let num = |at: usize| data.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
        let fees = JOB_FEES_EARNED_OFFSET - JOB_MINT_OFFSET;
        Some(JobFees { mint: key(0)?, token_program: key(32)?, fees_earned: num(fees)?, fees_swept: num(fees + 8)? })
    }

    /// Fees earned and not yet swept.
    pub fn unswept(&self) -> u64 {
        self.fees_earned.saturating_sub(self.fees_swept)
    }
}

/// The amount held by an SPL Token or Token-2022 account, from its data (`None` when too short
/// to be one). Both programs lay it out at bytes 64..72, after the mint and the owner.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    data.get(64..72).map(|b| u64::from_le_bytes(b.try_into().expect("8-byte slice")))
}

/// The letter of a stage (`-` for none).
pub fn stage_letter(stage: u8) -> &'static str {
    ["-", "A", "B", "C", "D", "E"].get(usize::from(stage)).copied().unwrap_or("?")
}

/// An agent's track record per mint, from its shards (each job counts in one shard of its
/// agent's record, [`Job::record_shard`](agentrail::state::Job::record_shard)): the shards of
/// each mint summed, counters saturating as on-chain. `shard` and `bump` of a sum mean nothing
/// and are 0. Sorted by mint.
pub fn track_records_by_mint(
    shards: impl IntoIterator<Item = agentrail::state::TrackRecord>,
) -> Vec<agentrail::state::TrackRecord> {
    use agentrail::state::TrackRecord;
    let mut by_mint: std::collections::BTreeMap<_, TrackRecord> = Default::default();
    for r in shards {
        let sum =
            by_mint.entry(r.mint).or_insert_with(|| TrackRecord { agent: r.agent, mint: r.mint, ..Default::default() });
        let counters = [
            (&mut sum.released, r.released),
            (&mut sum.refunded, r.refunded),
            (&mut sum.rejected, r.rejected),
            (&mut sum.failed, r.failed),
            (&mut sum.jobs, r.jobs),
            (&mut sum.disputed, r.disputed),
            (&mut sum.disputes_conceded, r.disputes_conceded),
            (&mut sum.disputes_for_agent, r.disputes_for_agent),
            (&mut sum.disputes_for_poster, r.disputes_for_poster),
            (&mut sum.disputes_split, r.disputes_split),
            (&mut sum.disputes_defaulted, r.disputes_defaulted),
        ];
        for (total, add) in counters {
            *total = total.saturating_add(add);
        }
        sum.set_volume(sum.volume().saturating_add(r.volume()));
    }
    by_mint.into_values().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mint_decimals_come_from_either_token_program() {
        use anchor_lang::prelude::Pubkey;
        let mut mint = vec![0u8; 82];
        mint[44] = 6;
        for program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
            assert_eq!(super::mint_decimals(&program, &mint), Ok(6));
        }
        let stranger = Pubkey::new_unique();
        assert!(super::mint_decimals(&stranger, &mint).unwrap_err().0.contains("owner"));
        assert!(super::mint_decimals(&anchor_spl::token::ID, &mint[..44]).is_err(), "too short");
    }

    #[test]
    fn job_field_offsets_match_the_layout() {
        use anchor_lang::prelude::Pubkey;
        let (poster, agent, keeper) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let arbiter = Pubkey::new_unique();
        for (status, tag) in [(agentrail::state::JobStatus::Created, 0), (agentrail::state::JobStatus::Expired, 4)] {
            let job = agentrail::state::Job { poster, agent, keeper, status, arbiter, ..crate::escrow::tests::job() };
            let data = zero_copy_bytes(&job);
            let at = |o: usize| &data[o..o + 32];
            assert_eq!(at(super::JOB_POSTER_OFFSET), poster.as_ref());
            assert_eq!(at(super::JOB_AGENT_OFFSET), agent.as_ref());
            assert_eq!(at(super::JOB_KEEPER_OFFSET), keeper.as_ref());
            assert_eq!(data[super::JOB_STATUS_OFFSET], tag);
            assert_eq!(at(super::JOB_ARBITER_OFFSET), arbiter.as_ref());
            let mut booked = job;
            (booked.fees_earned, booked.fees_swept) = (700, 300);
            let data = zero_copy_bytes(&booked);
            let slice = &data[super::JOB_MINT_OFFSET..super::JOB_MINT_OFFSET + super::JOB_FEES_SLICE_LEN];
            let fees = super::JobFees::from_slice(slice).unwrap();
            assert_eq!((fees.mint, fees.token_program, fees.unswept()), (job.mint, job.token_program, 400));
            assert_eq!(super::JobFees::from_slice(&slice[..slice.len() - 1]), None);
        }
    }

    use super::*;
    use agentrail::state::{Certifier, Config};
    use anchor_lang::{AccountSerialize, prelude::Pubkey};

    #[test]
    fn round_trips_and_rejects_wrong_type() {
        let certifier = Certifier { authority: Pubkey::new_unique(), added_at: 5, bump: 254 };
        let mut data = Vec::new();
        certifier.try_serialize(&mut data).unwrap();
        let back: Certifier = decode(&data).unwrap();
        assert_eq!((back.authority, back.added_at, back.bump), (certifier.authority, 5, 254));
        let err = decode::<Config>(&data).unwrap_err();
        assert!(err.0.contains("Config"), "{err}");
        assert!(decode::<Certifier>(&data[..4]).is_err());
    }

    #[test]
    fn track_record_shards_sum_per_mint() {
        use agentrail::state::TrackRecord;
        let (agent, a, b) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        let shard = |mint, shard, released, volume| TrackRecord {
            agent,
            mint,
            shard,
            released,
            volume_le: u128::to_le_bytes(volume),
            disputes_split: u64::from(shard),
            ..Default::default()
        };
        let sums = track_records_by_mint([shard(a, 0, 2, 20), shard(b, 3, 1, 5), shard(a, 2, u64::MAX, 7)]);
        assert_eq!(sums.len(), 2);
        let sa = sums.iter().find(|r| r.mint == a).unwrap();
        assert_eq!((sa.released, sa.volume(), sa.disputes_split, sa.agent), (u64::MAX, 27, 2, agent), "saturates");
        let sb = sums.iter().find(|r| r.mint == b).unwrap();
        assert_eq!((sb.released, sb.volume(), sb.disputes_split), (1, 5, 3));
    }

    #[test]
    fn token_amount_reads_the_amount_field() {
        let mut data = vec![0u8; 165];
        data[64..72].copy_from_slice(&1_234_567u64.to_le_bytes());
        assert_eq!(token_amount(&data), Some(1_234_567));
        assert_eq!(token_amount(&data[..71]), None);
    }
}
