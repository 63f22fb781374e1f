use anchor_lang::prelude::*;

use crate::errors::AgentrailError;

/// Longest agent name, in bytes.
pub const MAX_NAME_LEN: usize = 32;
/// Longest metadata URI, in bytes.
pub const MAX_URI_LEN: usize = 200;

/// A semantic version. Field order makes the derived ordering the semver precedence.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Semver {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

/// Where an agent is in its life.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentStatus {
    /// Accepting jobs and releases.
    Active,
    /// Temporarily out of service: no new jobs, no releases; refunds still work.
    Paused,
    /// Permanently out of service.
    Retired,
}

/// A registered agent: who controls it, where it is paid, and what it currently is.
#[account]
#[derive(InitSpace, Debug)]
pub struct Agent {
    /// Sequential id, part of the PDA seeds.
    pub id: u64,
    /// Owner: publishes versions, changes status and payout.
    pub authority: Pubkey,
    /// Wallet that receives milestone payments.
    pub payout: Pubkey,
    /// Display name.
    #[max_len(MAX_NAME_LEN)]
    pub name: String,
    /// Off-chain metadata (endpoint, docs), e.g. an https or ipfs URI.
    #[max_len(MAX_URI_LEN)]
    pub metadata_uri: String,
    /// SHA-256 of the current version's manifest.
    pub manifest_hash: [u8; 32],
    /// Current semantic version.
    pub version: Semver,
    /// Counts published versions from 1; names the certification PDA of a version.
    pub version_seq: u32,
    /// Lifecycle status.
    pub status: AgentStatus,
    /// Registration time (unix seconds).
    pub registered_at: i64,
    /// Last change (unix seconds).
    pub updated_at: i64,
    /// PDA bump.
    pub bump: u8,
    /// The ed25519 key the agent co-signs each step's output with ([`Agent::signing_key`]);
    /// `Pubkey::default()` when it declares none. Keepers refuse unsigned or mis-signed answers
    /// from an agent that declares one.
    pub signing_key: Pubkey,
}

impl Agent {
    /// Validates a display name: non-empty, at most [`MAX_NAME_LEN`] bytes.
    pub fn check_name(name: &str) -> Result<()> {
        require!(!name.is_empty() && name.len() <= MAX_NAME_LEN, AgentrailError::NameLength);
        Ok(())
    }

    /// Validates a metadata URI: at most [`MAX_URI_LEN`] bytes.
    pub fn check_uri(uri: &str) -> Result<()> {
        require!(uri.len() <= MAX_URI_LEN, AgentrailError::UriLength);
        Ok(())
    }

    /// Moves to `next` status if the lifecycle allows it.
    pub fn transition(&mut self, next: AgentStatus) -> Result<()> {
        use AgentStatus::*;
        match (self.status, next) {
            (Retired, _) => err!(AgentrailError::AgentRetired),
            (Active, Paused) | (Paused, Active) | (Active, Retired) | (Paused, Retired) => {
                self.status = next;
                Ok(())
            }
            _ => err!(AgentrailError::InvalidAgentStatus),
        }
    }

    /// The key the agent co-signs its outputs with, if it declared one.
    pub fn signing_key(&self) -> Option<Pubkey> {
        (self.signing_key != Pubkey::default()).then_some(self.signing_key)
    }

    /// Declares (`Some`) or withdraws (`None`) the agent's output signing key.
    pub fn set_signing_key(&mut self, key: Option<Pubkey>) {
        self.signing_key = key.unwrap_or_default();
    }

    /// Records a new version; it must be strictly greater than the current one.
    pub fn publish(&mut self, version: Semver, manifest_hash: [u8; 32]) -> Result<()> {
        require!(self.status != AgentStatus::Retired, AgentrailError::AgentRetired);
        require!(version > self.version, AgentrailError::VersionNotIncreasing);
        self.version_seq = self.version_seq.checked_add(1).ok_or(AgentrailError::Overflow)?;
        self.version = version;
        self.manifest_hash = manifest_hash;
        Ok(())
    }
}

/// What hiring and paying an agent needs of it: its address's seeds, where it is paid, which
/// version it is and its status. `create_job`, releases and refunds read it straight from the
/// account ([`AgentStanding::read`]), skipping the two strings a whole [`Agent`] would decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentStanding {
    /// Sequential id, part of the PDA seeds.
    pub id: u64,
    /// PDA bump.
    pub bump: u8,
    /// Wallet that receives milestone payments.
    pub payout: Pubkey,
    /// The current version's sequence number.
    pub version_seq: u32,
    /// Lifecycle status.
    pub status: AgentStatus,
}

impl Agent {
    /// What paying the agent needs of it.
    pub fn standing(&self) -> AgentStanding {
        AgentStanding {
            id: self.id,
            bump: self.bump,
            payout: self.payout,
            version_seq: self.version_seq,
            status: self.status,
        }
    }
}

impl AgentStanding {
    /// Reads the standing of the `Agent` account `info`, refusing what `Account<Agent>` would
    /// refuse (not initialized, another owner, another discriminator, too short).
    pub fn read(info: &AccountInfo) -> Result<Self> {
        if info.owner == &anchor_lang::system_program::ID && info.lamports() == 0 {
            return Err(ErrorCode::AccountNotInitialized.into());
        }
        if info.owner != &crate::ID {
            return Err(Error::from(ErrorCode::AccountOwnedByWrongProgram).with_pubkeys((*info.owner, crate::ID)));
        }
        let data = info.try_borrow_data()?;
        if !data.starts_with(Agent::DISCRIMINATOR) {
            return Err(error!(ErrorCode::AccountDiscriminatorMismatch).with_account_name("Agent"));
        }
        Self::parse(&data).ok_or_else(|| ErrorCode::AccountDidNotDeserialize.into())
    }

    /// The standing in an `Agent` account's bytes (Borsh, after the discriminator): `id` and
    /// `authority`, then `payout`; `name` and `metadata_uri`, each a length and its bytes;
    /// `manifest_hash` and `version`, then `version_seq`, `status`, the two times and `bump`.
    /// The tests check it against the serialization of agents with strings of every length.
    fn parse(data: &[u8]) -> Option<Self> {
        let id = u64::from_le_bytes(data.get(8..16)?.try_into().ok()?);
        let payout = key_at(data, PAYOUT_AT)?;
        let version_seq_at = version_seq_at(data)?;
        let version_seq = u32_at(data, version_seq_at)?;
        let status = AgentStatus::deserialize(&mut data.get(version_seq_at + 4..)?).ok()?;
        // after the status: registered_at and updated_at
        let bump = *data.get(version_seq_at + 4 + 1 + 8 + 8)?;
        Some(Self { id, bump, payout, version_seq, status })
    }
}

/// Where an `Agent` account's `authority` starts (after the discriminator and `id`).
const AUTHORITY_AT: usize = 8 + 8;
/// Where its `payout` starts.
const PAYOUT_AT: usize = AUTHORITY_AT + 32;

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn key_at(data: &[u8], at: usize) -> Option<Pubkey> {
    Some(Pubkey::new_from_array(data.get(at..at.checked_add(32)?)?.try_into().ok()?))
}

/// Where an `Agent` account's `version_seq` starts: after the two strings that follow
/// `payout` (each a length and its bytes), `manifest_hash` and `version`.
fn version_seq_at(data: &[u8]) -> Option<usize> {
    let after_string = |at: usize| at.checked_add(4)?.checked_add(usize::try_from(u32_at(data, at)?).ok()?);
    after_string(after_string(PAYOUT_AT + 32)?)?.checked_add(32 + Semver::INIT_SPACE)
}

/// The keys that speak for an agent: its authority and, when it declares one, its signing
/// key. Either may accept a job for it or submit its work. Read from the account's bytes like
/// [`AgentStanding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentKeys {
    /// The agent's authority.
    pub authority: Pubkey,
    /// Its signing key, `None` when it declares none.
    pub signing_key: Option<Pubkey>,
}

impl AgentKeys {
    /// Reads the keys of the `Agent` account `info`, checked as [`AgentStanding::read`] checks.
    pub fn read(info: &AccountInfo) -> Result<Self> {
        AgentStanding::read(info)?;
        let data = info.try_borrow_data()?;
        Self::parse(&data).ok_or_else(|| ErrorCode::AccountDidNotDeserialize.into())
    }

    fn parse(data: &[u8]) -> Option<Self> {
        // after version_seq: status, registered_at, updated_at, bump
        let signing_key = key_at(data, version_seq_at(data)?.checked_add(4 + 1 + 8 + 8 + 1)?)?;
        let signing_key = (signing_key != Pubkey::default()).then_some(signing_key);
        Some(Self { authority: key_at(data, AUTHORITY_AT)?, signing_key })
    }

    /// Whether `key` speaks for the agent.
    pub fn include(&self, key: &Pubkey) -> bool {
        *key == self.authority || Some(*key) == self.signing_key
    }
}

impl Agent {
    /// The keys that speak for the agent.
    pub fn keys(&self) -> AgentKeys {
        AgentKeys { authority: self.authority, signing_key: self.signing_key() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_is_read_from_the_accounts_bytes() {
        for (name, uri) in [("a", ""), ("agent", "https://x.example/m"), (&*"n".repeat(32), &*"u".repeat(200))] {
            for status in [AgentStatus::Active, AgentStatus::Paused, AgentStatus::Retired] {
                let a = Agent {
                    id: u64::MAX - name.len() as u64,
                    bump: 250 + name.len() as u8 % 5,
                    payout: Pubkey::new_unique(),
                    name: name.into(),
                    metadata_uri: uri.into(),
                    version_seq: 7 + name.len() as u32,
                    status,
                    ..agent()
                };
                let mut data = Vec::new();
                a.try_serialize(&mut data).unwrap();
                assert_eq!(AgentStanding::parse(&data), Some(a.standing()));
                assert_eq!(AgentKeys::parse(&data), Some(a.keys()));
                let signed = Agent { signing_key: Pubkey::new_unique(), authority: Pubkey::new_unique(), ..a.clone() };
                let mut signed_data = Vec::new();
                signed.try_serialize(&mut signed_data).unwrap();
                assert_eq!(AgentKeys::parse(&signed_data), Some(signed.keys()));
                assert!(signed.keys().include(&signed.signing_key) && signed.keys().include(&signed.authority));
                assert!(!signed.keys().include(&signed.payout));
                assert_eq!(AgentStanding::parse(&data[..data.len() - 32]), Some(a.standing()), "up to the bump");
                assert_eq!(AgentStanding::parse(&data[..data.len() - 32 - 1]), None, "cut short");
            }
        }
    }

    fn agent() -> Agent {
        Agent {
            id: 0,
            authority: Pubkey::default(),
            payout: Pubkey::default(),
            name: "a".into(),
            metadata_uri: String::new(),
            manifest_hash: [0; 32],
            version: Semver { major: 1, minor: 2, patch: 3 },
            version_seq: 1,
            status: AgentStatus::Active,
            registered_at: 0,
            updated_at: 0,
            bump: 0,
            signing_key: Pubkey::default(),
        }
    }

    #[test]
    fn semver_orders_by_precedence() {
        let v = |major, minor, patch| Semver { major, minor, patch };
        assert!(v(1, 2, 4) > v(1, 2, 3));
        assert!(v(1, 10, 0) > v(1, 9, 99));
        assert!(v(2, 0, 0) > v(1, 99, 99));
        assert!(v(1, 2, 3) == v(1, 2, 3));
    }

    #[test]
    fn publish_requires_increase_and_counts_versions() {
        let mut a = agent();
        let same = a.version;
        assert!(a.publish(same, [1; 32]).is_err());
        assert!(a.publish(Semver { major: 1, minor: 2, patch: 2 }, [1; 32]).is_err());
        a.publish(Semver { major: 1, minor: 3, patch: 0 }, [2; 32]).unwrap();
        assert_eq!((a.version_seq, a.manifest_hash), (2, [2; 32]));
    }

    #[test]
    fn lifecycle_transitions() {
        let mut a = agent();
        assert!(a.transition(AgentStatus::Active).is_err());
        a.transition(AgentStatus::Paused).unwrap();
        assert!(a.transition(AgentStatus::Paused).is_err());
        a.transition(AgentStatus::Active).unwrap();
        a.transition(AgentStatus::Retired).unwrap();
        for s in [AgentStatus::Active, AgentStatus::Paused, AgentStatus::Retired] {
            assert!(a.transition(s).is_err());
        }
        assert!(a.publish(Semver { major: 9, minor: 0, patch: 0 }, [0; 32]).is_err());
    }

    #[test]
    fn string_bounds() {
        assert!(Agent::check_name("").is_err());
        assert!(Agent::check_name(&"x".repeat(MAX_NAME_LEN)).is_ok());
        assert!(Agent::check_name(&"x".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(Agent::check_uri(&"x".repeat(MAX_URI_LEN)).is_ok());
        assert!(Agent::check_uri(&"x".repeat(MAX_URI_LEN + 1)).is_err());
    }
}
