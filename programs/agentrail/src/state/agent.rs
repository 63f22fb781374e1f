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
        const PAYOUT: usize = 8 + 8 + 32;
        let u32_at = |at: usize| Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?));
        let after_string = |at: usize| at.checked_add(4)?.checked_add(usize::try_from(u32_at(at)?).ok()?);
        let id = u64::from_le_bytes(data.get(8..16)?.try_into().ok()?);
        let payout = Pubkey::new_from_array(data.get(PAYOUT..PAYOUT + 32)?.try_into().ok()?);
        let after_uri = after_string(after_string(PAYOUT + 32)?)?;
        let version_seq_at = after_uri.checked_add(32 + Semver::INIT_SPACE)?;
        let version_seq = u32_at(version_seq_at)?;
        let status = AgentStatus::deserialize(&mut data.get(version_seq_at + 4..)?).ok()?;
        // after the status: registered_at and updated_at
        let bump = *data.get(version_seq_at + 4 + 1 + 8 + 8)?;
        Some(Self { id, bump, payout, version_seq, status })
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
