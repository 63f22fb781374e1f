use anchor_lang::prelude::*;

use crate::errors::AgentrailError;

/// Number of certification stages: A (static review), B (sandbox), C (constrained live),
/// D (full SLO), E (soak). Stages are numbered 1..=5; 0 means none.
pub const STAGE_COUNT: usize = 5;

/// One certifier's statement that an agent version passed a stage.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Attestation {
    /// Who attested.
    pub certifier: Pubkey,
    /// SHA-256 of the evidence bundle (SLO stats, failure modes, supported guards).
    pub attestation_hash: [u8; 32],
    /// When it was issued (unix seconds).
    pub issued_at: i64,
    /// When it stops counting (unix seconds, exclusive). Zero means never attested.
    pub expires_at: i64,
}

impl Attestation {
    /// Whether this attestation counts at `now`.
    pub fn in_force(&self, now: i64) -> bool {
        self.expires_at != 0 && self.issued_at <= now && now < self.expires_at
    }
}

/// Who revoked a certification, when and why.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The certifier that revoked.
    pub by: Pubkey,
    /// SHA-256 of the reason document.
    pub reason_hash: [u8; 32],
    /// When (unix seconds).
    pub at: i64,
}

/// The certification of one agent version. A new version starts with a new, empty one.
#[account]
#[derive(InitSpace, Debug)]
pub struct Certification {
    /// The agent certified.
    pub agent: Pubkey,
    /// Which of its versions (the agent's `version_seq` at attestation).
    pub version_seq: u32,
    /// Manifest hash of that version, so the certification names exactly what was reviewed.
    pub manifest_hash: [u8; 32],
    /// Highest stage attested since the last revocation (0 = none).
    pub stage: u8,
    /// Attestation per stage, index 0 = stage A.
    pub attestations: [Attestation; STAGE_COUNT],
    /// Number of revocations so far; jobs pin it and stop releasing when it moves.
    pub epoch: u32,
    /// The latest revocation, if any.
    pub last_revocation: Option<Revocation>,
    /// PDA bump.
    pub bump: u8,
}

impl Certification {
    /// Highest stage whose own attestation is in force at `now` (0 = none). Expired
    /// attestations count as none.
    pub fn effective_stage(&self, now: i64) -> u8 {
        (1..=self.stage).rev().find(|s| self.attestations[usize::from(*s) - 1].in_force(now)).unwrap_or(0)
    }

    /// Records an attestation of `stage` at `now`. A stage can be renewed at any time; a new
    /// stage must be the next one, with the previous stage in force.
    pub fn attest(&mut self, stage: u8, attestation: Attestation, now: i64) -> Result<()> {
        require!((1..=STAGE_COUNT as u8).contains(&stage), AgentrailError::InvalidStage);
        require!(attestation.expires_at > now, AgentrailError::InvalidExpiry);
        if stage > self.stage {
            require!(stage == self.stage + 1, AgentrailError::StageSkipped);
            if stage > 1 {
                let previous = &self.attestations[usize::from(stage) - 2];
                require!(previous.in_force(now), AgentrailError::StageSkipped);
            }
            self.stage = stage;
        }
        self.attestations[usize::from(stage) - 1] = attestation;
        Ok(())
    }

    /// Withdraws every stage and bumps the epoch.
    pub fn revoke(&mut self, revocation: Revocation) -> Result<()> {
        require!(self.stage > 0, AgentrailError::NothingToRevoke);
        self.stage = 0;
        self.attestations = [Attestation::default(); STAGE_COUNT];
        self.epoch = self.epoch.checked_add(1).ok_or(AgentrailError::Overflow)?;
        self.last_revocation = Some(revocation);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Certification {
        Certification {
            agent: Pubkey::default(),
            version_seq: 1,
            manifest_hash: [0; 32],
            stage: 0,
            attestations: [Attestation::default(); STAGE_COUNT],
            epoch: 0,
            last_revocation: None,
            bump: 0,
        }
    }

    fn att(issued_at: i64, expires_at: i64) -> Attestation {
        Attestation { certifier: Pubkey::new_unique(), attestation_hash: [7; 32], issued_at, expires_at }
    }

    #[test]
    fn stages_advance_in_order_only() {
        let mut c = empty();
        assert!(c.attest(2, att(10, 100), 10).is_err());
        c.attest(1, att(10, 100), 10).unwrap();
        assert!(c.attest(3, att(10, 100), 10).is_err());
        c.attest(2, att(11, 100), 11).unwrap();
        assert_eq!(c.effective_stage(50), 2);
        assert!(c.attest(0, att(10, 100), 10).is_err());
        assert!(c.attest(6, att(10, 100), 10).is_err());
    }

    #[test]
    fn expired_attestations_count_as_none() {
        let mut c = empty();
        c.attest(1, att(10, 1_000), 10).unwrap();
        c.attest(2, att(20, 100), 20).unwrap();
        assert_eq!(c.effective_stage(99), 2);
        assert_eq!(c.effective_stage(100), 1);
        assert_eq!(c.effective_stage(1_000), 0);
        assert_eq!(c.effective_stage(5), 0);
        // advancing needs the previous stage in force
        assert!(c.attest(3, att(150, 2_000), 150).is_err());
        // renewing the expired stage B makes C reachable again
        c.attest(2, att(150, 2_000), 150).unwrap();
        c.attest(3, att(151, 2_000), 151).unwrap();
        assert_eq!(c.effective_stage(500), 3);
    }

    #[test]
    fn expiry_must_be_in_the_future() {
        let mut c = empty();
        assert!(c.attest(1, att(10, 10), 10).is_err());
        assert!(c.attest(1, att(10, 9), 10).is_err());
    }

    #[test]
    fn revocation_resets_and_bumps_epoch() {
        let mut c = empty();
        let r = Revocation { by: Pubkey::new_unique(), reason_hash: [1; 32], at: 12 };
        assert!(c.revoke(r).is_err());
        c.attest(1, att(10, 100), 10).unwrap();
        c.revoke(r).unwrap();
        assert_eq!((c.stage, c.epoch, c.effective_stage(11)), (0, 1, 0));
        assert_eq!(c.last_revocation, Some(r));
        c.attest(1, att(13, 100), 13).unwrap();
        assert_eq!(c.effective_stage(14), 1);
    }
}
