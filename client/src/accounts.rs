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

/// Decodes an Anchor account of type `T`, checking its discriminator.
pub fn decode<T: AccountDeserialize>(data: &[u8]) -> Result<T, DecodeError> {
    let mut slice = data;
    T::try_deserialize(&mut slice).map_err(|e| DecodeError(format!("not a {}: {e}", std::any::type_name::<T>())))
}

/// Byte offset of `Job::poster` in a job account (after the discriminator), for memcmp filters.
pub const JOB_POSTER_OFFSET: usize = 8;
/// Byte offset of `Job::agent` (after `poster` and `nonce`).
pub const JOB_AGENT_OFFSET: usize = JOB_POSTER_OFFSET + 32 + 8;
/// Byte offset of `Job::keeper` (after `agent` and `agent_version_seq`).
pub const JOB_KEEPER_OFFSET: usize = JOB_AGENT_OFFSET + 32 + 4;
/// Byte offset of `Job::status` (its Borsh variant index): after `keeper`, `mint`,
/// `token_program`, `fee_bps`, `min_stage`, `pinned_stage`, `cert_epoch`, `deadline`,
/// `review_window` and `created_at`.
pub const JOB_STATUS_OFFSET: usize = JOB_KEEPER_OFFSET + 32 + 32 + 32 + 2 + 1 + 1 + 4 + 8 + 8 + 8;

/// The amount held by an SPL Token or Token-2022 account, from its data (`None` when too short
/// to be one). Both programs lay it out at bytes 64..72, after the mint and the owner.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    data.get(64..72).map(|b| u64::from_le_bytes(b.try_into().expect("8-byte slice")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_field_offsets_match_the_layout() {
        use anchor_lang::prelude::Pubkey;
        let (poster, agent, keeper) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
        for (status, tag) in [(agentrail::state::JobStatus::Created, 0), (agentrail::state::JobStatus::Expired, 4)] {
            let job = agentrail::state::Job { poster, agent, keeper, status, ..crate::escrow::tests::job() };
            let mut data = Vec::new();
            anchor_lang::AccountSerialize::try_serialize(&job, &mut data).unwrap();
            let at = |o: usize| &data[o..o + 32];
            assert_eq!(at(super::JOB_POSTER_OFFSET), poster.as_ref());
            assert_eq!(at(super::JOB_AGENT_OFFSET), agent.as_ref());
            assert_eq!(at(super::JOB_KEEPER_OFFSET), keeper.as_ref());
            assert_eq!(data[super::JOB_STATUS_OFFSET], tag);
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
    fn token_amount_reads_the_amount_field() {
        let mut data = vec![0u8; 165];
        data[64..72].copy_from_slice(&1_234_567u64.to_le_bytes());
        assert_eq!(token_amount(&data), Some(1_234_567));
        assert_eq!(token_amount(&data[..71]), None);
    }
}
