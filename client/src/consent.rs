//! The agent's consent to a job: its signed acceptance of the job's terms
//! ([`Job::consent_digest`]), the instructions that carry it on-chain, and the policy an agent
//! publishes in its manifest saying which jobs it accepts.

use agentrail::state::Job;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::escrow::JobKeys;

/// The agent's signed acceptance of one job's terms, as its endpoint hands it to a keeper
/// (JSON: keys base58, digest hex, signature base58).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    /// The job accepted.
    #[serde(with = "base58_key")]
    pub job: Pubkey,
    /// The key that signed: the agent's signing key or authority.
    #[serde(with = "base58_key")]
    pub signer: Pubkey,
    /// The job's consent digest the signature covers.
    #[serde(with = "hex::serde")]
    pub digest: [u8; 32],
    /// The ed25519 signature over `digest`.
    #[serde(with = "base58_sig")]
    pub signature: [u8; 64],
}

/// Keys as base58 text.
mod base58_key {
    use anchor_lang::prelude::Pubkey;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(key: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
        String::deserialize(d)?.parse().map_err(|e| D::Error::custom(format!("not a base58 key: {e}")))
    }
}

/// Signatures as base58 text.
mod base58_sig {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bs58::encode(sig).into_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = bs58::decode(&text).into_vec().map_err(|e| D::Error::custom(format!("not base58: {e}")))?;
        bytes.try_into().map_err(|_| D::Error::custom("a signature is 64 bytes"))
    }
}

/// Why an acceptance does not hold for a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcceptanceError {
    #[error("the acceptance is for job {signed}, not {job}")]
    OtherJob { signed: Pubkey, job: Pubkey },
    #[error("the acceptance signs digest {signed}, the job's terms hash to {expected}: it accepted other terms")]
    OtherTerms { signed: String, expected: String },
    #[error("{0} is neither the agent's authority nor its signing key")]
    NotTheAgent(Pubkey),
    #[error("the signature does not verify under {0}")]
    BadSignature(Pubkey),
}

impl Acceptance {
    /// `key` (the agent's signing key or authority) accepts `job` at address `job_key`.
    pub fn sign(job_key: Pubkey, job: &Job, key: &SigningKey) -> Self {
        let digest = job.consent_digest(&job_key);
        Acceptance {
            job: job_key,
            signer: Pubkey::from(key.verifying_key().to_bytes()),
            digest,
            signature: key.sign(&digest).to_bytes(),
        }
    }

    /// Checks that this accepts `job` at `job_key` as it is, signed by one of `agent_keys`
    /// (the agent's authority and signing key): what the program will check, before a
    /// transaction is spent on it.
    pub fn check(&self, job_key: &Pubkey, job: &Job, agent_keys: &[Pubkey]) -> Result<(), AcceptanceError> {
        if self.job != *job_key {
            return Err(AcceptanceError::OtherJob { signed: self.job, job: *job_key });
        }
        let expected = job.consent_digest(job_key);
        if self.digest != expected {
            return Err(AcceptanceError::OtherTerms {
                signed: hex::encode(self.digest),
                expected: hex::encode(expected),
            });
        }
        if !agent_keys.contains(&self.signer) {
            return Err(AcceptanceError::NotTheAgent(self.signer));
        }
        let key = VerifyingKey::from_bytes(&self.signer.to_bytes())
            .map_err(|_| AcceptanceError::BadSignature(self.signer))?;
        key.verify(&self.digest, &Signature::from_bytes(&self.signature))
            .map_err(|_| AcceptanceError::BadSignature(self.signer))
    }

    /// The instructions that record this acceptance, sent by anyone: the ed25519 program's
    /// check of the signature, then `accept_job` naming the signer (who does not sign the
    /// transaction).
    pub fn instructions(&self, keys: &JobKeys) -> [Instruction; 2] {
        let verify = solana_ed25519_program::new_ed25519_instruction_with_signature(
            &self.digest,
            &self.signature,
            &self.signer.to_bytes(),
        );
        [verify, crate::escrow::accept_job_relayed(&self.signer, keys, self.digest)]
    }
}

/// Which jobs an agent accepts, published in its manifest (`"policy"`) where keepers, the CLI
/// and its own SDK read it. A job outside it is refused before any work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentPolicy {
    /// Keepers it works with (base58); absent: any keeper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepers: Option<Vec<String>>,
    /// Arbiters it accepts for approval milestones (base58); absent: any arbiter. A job with
    /// approval milestones and no arbiter is accepted only when `no_arbiter_ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbiters: Option<Vec<String>>,
    /// Whether it accepts approval milestones without an arbiter (the poster's rejection then
    /// refunds at once, unanswerable).
    #[serde(default)]
    pub no_arbiter_ok: bool,
    /// Least step timeout, in seconds: the time it has to do one step.
    pub min_step_secs: i64,
    /// Least review window, in seconds, for approval milestones.
    pub min_review_secs: i64,
    /// Least amount of a milestone, in base units of the job's mint.
    pub min_milestone_amount: u64,
}

impl Default for AgentPolicy {
    /// Any keeper; arbitrated approvals only; five minutes per step, an hour of review, no
    /// least amount.
    fn default() -> Self {
        AgentPolicy {
            keepers: None,
            arbiters: None,
            no_arbiter_ok: false,
            min_step_secs: 300,
            min_review_secs: 3_600,
            min_milestone_amount: 0,
        }
    }
}

/// The manifest field holding the policy.
pub const POLICY_FIELD: &str = "policy";

impl AgentPolicy {
    /// The policy in manifest bytes (JSON with a `"policy"` object); `None` when the manifest
    /// declares none, an error naming the problem when it declares a malformed one.
    pub fn from_manifest(manifest: &[u8]) -> Result<Option<Self>, String> {
        let value: serde_json::Value =
            serde_json::from_slice(manifest).map_err(|e| format!("the manifest is not JSON: {e}"))?;
        match value.get(POLICY_FIELD) {
            None => Ok(None),
            Some(p) => serde_json::from_value(p.clone()).map(Some).map_err(|e| format!("the manifest's policy: {e}")),
        }
    }

    /// Why `job` is outside this policy, if it is.
    pub fn refusal(&self, job: &Job) -> Option<String> {
        let listed =
            |list: &Option<Vec<String>>, key: &Pubkey| list.as_ref().is_none_or(|l| l.contains(&key.to_string()));
        if !listed(&self.keepers, &job.keeper) {
            return Some(format!("keeper {} is not one this agent works with", job.keeper));
        }
        if job.step_timeout < self.min_step_secs {
            return Some(format!("a step gets {} s, this agent needs {} s", job.step_timeout, self.min_step_secs));
        }
        if let Some(m) = job.milestones().iter().find(|m| m.amount < self.min_milestone_amount) {
            return Some(format!("a milestone pays {}, this agent's least is {}", m.amount, self.min_milestone_amount));
        }
        if job.milestones().iter().any(|m| m.needs_approval()) {
            if job.review_window < self.min_review_secs {
                return Some(format!(
                    "approvals get {} s of review, this agent needs {} s",
                    job.review_window, self.min_review_secs
                ));
            }
            match job.arbiter() {
                None if !self.no_arbiter_ok => {
                    return Some(
                        "approval milestones without an arbiter: the poster's rejection would be final".into(),
                    );
                }
                Some(arbiter) if !listed(&self.arbiters, &arbiter) => {
                    return Some(format!("arbiter {arbiter} is not one this agent accepts"));
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn an_acceptance_holds_for_its_job_only() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let signer = Pubkey::from(key.verifying_key().to_bytes());
        let job_key = Pubkey::new_unique();
        let job = fixtures::funded_job(&[(1_000, false)]);
        let a = Acceptance::sign(job_key, &job, &key);
        a.check(&job_key, &job, &[signer]).unwrap();
        let wire = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Acceptance>(&wire).unwrap(), a);
        assert!(matches!(a.check(&Pubkey::new_unique(), &job, &[signer]), Err(AcceptanceError::OtherJob { .. })));
        let mut changed = job;
        changed.deadline += 1;
        assert!(matches!(a.check(&job_key, &changed, &[signer]), Err(AcceptanceError::OtherTerms { .. })));
        assert_eq!(a.check(&job_key, &job, &[Pubkey::new_unique()]), Err(AcceptanceError::NotTheAgent(signer)));
        let mut forged = a.clone();
        forged.signature[0] ^= 1;
        assert_eq!(forged.check(&job_key, &job, &[signer]), Err(AcceptanceError::BadSignature(signer)));
        let [verify, accept] = a.instructions(&JobKeys::new(job_key, &job, &fixtures::agent()));
        assert_eq!(verify.program_id, solana_sdk_ids::ed25519_program::ID);
        assert_eq!((accept.accounts[0].pubkey, accept.accounts[0].is_signer), (signer, false));
    }

    #[test]
    fn the_policy_names_what_it_refuses() {
        let mut job = fixtures::funded_job(&[(1_000, false), (2_000, true)]);
        (job.step_timeout, job.review_window, job.arbiter) = (600, 7_200, Pubkey::new_unique());
        let any = AgentPolicy::default();
        assert_eq!(any.refusal(&job), None);
        let keepers = AgentPolicy { keepers: Some(vec![Pubkey::new_unique().to_string()]), ..any.clone() };
        assert!(keepers.refusal(&job).unwrap().contains("keeper"));
        let slow = AgentPolicy { min_step_secs: 601, ..any.clone() };
        assert!(slow.refusal(&job).unwrap().contains("step gets 600 s"));
        let dear = AgentPolicy { min_milestone_amount: 1_001, ..any.clone() };
        assert!(dear.refusal(&job).unwrap().contains("pays 1000"));
        let careful = AgentPolicy { min_review_secs: 7_201, ..any.clone() };
        assert!(careful.refusal(&job).unwrap().contains("review"));
        let arbiters = AgentPolicy { arbiters: Some(vec![]), ..any.clone() };
        assert!(arbiters.refusal(&job).unwrap().contains("arbiter"));
        job.arbiter = Pubkey::default();
        assert!(any.refusal(&job).unwrap().contains("without an arbiter"));
        assert_eq!(AgentPolicy { no_arbiter_ok: true, ..any.clone() }.refusal(&job), None);
        // read from a manifest, strictly
        let manifest = serde_json::json!({"name": "x", "policy": {"min_step_secs": 60, "min_review_secs": 0, "min_milestone_amount": 5}});
        let read = AgentPolicy::from_manifest(manifest.to_string().as_bytes()).unwrap().unwrap();
        assert_eq!((read.min_step_secs, read.min_milestone_amount, read.keepers), (60, 5, None));
        assert_eq!(AgentPolicy::from_manifest(br#"{"name":"x"}"#).unwrap(), None);
        let typo = br#"{"policy":{"min_step_secs":1,"min_review_secs":0,"min_milestone_amount":0,"keeper":[]}}"#;
        assert!(AgentPolicy::from_manifest(typo).unwrap_err().contains("keeper"));
        assert!(AgentPolicy::from_manifest(b"not json").is_err());
    }
}
