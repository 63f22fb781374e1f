//! What a step checks around its call: the agent's endpoint serves the manifest the registry
//! pins, the pinned terms read and hash-checked, and the rails of the transactions it reports.

use agentrail::state::{Agent, Job};
use agentrail_client::receipt::GuardCheck;
use anyhow::Result;
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{pubkey::Pubkey, signature::Signature};

use crate::service::*;
use crate::store::unix_now;

/// The receipt guard naming the manifest check, and the name it carries when the served
/// manifest is not the registered one (a fact, not a blip: never retried).
pub(crate) const MANIFEST_GUARD: &str = "manifest";
pub(crate) const MANIFEST_MISMATCH: &str = "manifest_mismatch";
/// Largest terms document the keeper reads.
pub(crate) const MAX_TERMS_BYTES: usize = 256 * 1024;
/// Most terms documents kept in [`Keeper::terms_read`].
pub const TERMS_REMEMBERED: usize = 256;
/// How often a reported transaction not yet at the rails' commitment is asked for again.
pub(crate) const RAILS_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// Longest a step waits for its reported transactions to be confirmed, all of them together.
pub(crate) const RAILS_WAIT_CONFIRMED: std::time::Duration = std::time::Duration::from_secs(20);
/// Longest it waits for them to be finalized (finality takes 32 slots more).
pub(crate) const RAILS_WAIT_FINALIZED: std::time::Duration = std::time::Duration::from_secs(45);
/// Most agent versions whose manifest check is remembered.
pub(crate) const MANIFESTS_REMEMBERED: usize = 4_096;

impl Keeper {
    /// Checks that `agent` is at the version `job` pinned and its endpoint serves the manifest
    /// that version registered ([`Keeper::endpoint_guard`]); the check is a guard recorded in
    /// the receipt.
    pub(crate) async fn manifest_guard(&self, job: &Job, agent: &Agent) -> GuardCheck {
        if job.agent_version_seq != agent.version_seq {
            // the program refuses to pay another version anyway; say why here
            let detail =
                format!("the job pinned version {}, the agent is at {}", job.agent_version_seq, agent.version_seq);
            return GuardCheck { name: MANIFEST_MISMATCH.into(), passed: false, detail };
        }
        self.endpoint_guard(&job.agent, agent).await
    }

    /// Whether the endpoint of `agent` (account `key`) serves the manifest the registry pins
    /// for its current version, once per endpoint and version. The endpoint is part of what is
    /// remembered: an agent that moves its endpoint (no new version needed) is checked again
    /// there before anything is sent to it.
    pub async fn endpoint_guard(&self, key: &Pubkey, agent: &Agent) -> GuardCheck {
        let pinned = (*key, agent.version_seq, agent.manifest_hash, agent.metadata_uri.clone());
        let check = |name: &str, passed: bool, detail: String| GuardCheck { name: name.into(), passed, detail };
        let expected = hex::encode(agent.manifest_hash);
        let passed = || format!("sha256 {expected} (version {}) at {}", agent.version_seq, agent.metadata_uri);
        if self.manifests_checked.lock().unwrap_or_else(|p| p.into_inner()).contains(&pinned) {
            return check(MANIFEST_GUARD, true, passed());
        }
        match self.executor.manifest(&agent.metadata_uri).await {
            Err(e) => check(MANIFEST_GUARD, false, format!("cannot read the agent's manifest: {e}")),
            Ok(bytes) => {
                let served = sha256(&bytes);
                if served != agent.manifest_hash {
                    let detail =
                        format!("the agent serves sha256 {}, the registry pins {expected}", hex::encode(served));
                    return check(MANIFEST_MISMATCH, false, detail);
                }
                let mut set = self.manifests_checked.lock().unwrap_or_else(|p| p.into_inner());
                if set.len() >= MANIFESTS_REMEMBERED {
                    set.clear();
                }
                set.insert(pinned);
                check(MANIFEST_GUARD, true, passed())
            }
        }
    }

    /// The job's pinned terms if a step of this keeper already read and checked them; never
    /// fetches (what the console shows: a page view must not make the keeper fetch anything).
    pub fn verified_terms(&self, job: &Job) -> Option<agentrail_client::terms::Terms> {
        if job.terms_hash == [0; 32] {
            return None;
        }
        self.terms_read.lock().unwrap_or_else(|p| p.into_inner()).get(&job.terms_hash).cloned()
    }

    /// The job's pinned terms, when it pinned a document the keeper can fetch (http or https,
    /// under the executor's rules, at most [`MAX_TERMS_BYTES`]); an error when the fetched
    /// document is not the pinned one.
    pub async fn job_terms(&self, job: &Job) -> Result<Option<agentrail_client::terms::Terms>, String> {
        let web = job.terms_uri().starts_with("https://") || job.terms_uri().starts_with("http://");
        if job.terms_hash == [0; 32] || !web {
            return Ok(None);
        }
        if let Some(terms) = self.verified_terms(job) {
            return Ok(Some(terms));
        }
        let bytes = self.executor.document(job.terms_uri(), MAX_TERMS_BYTES).await.map_err(|e| e.to_string())?;
        let terms = agentrail_client::terms::pinned_terms(&bytes, &job.terms_hash)?;
        let mut read = self.terms_read.lock().unwrap_or_else(|p| p.into_inner());
        if read.len() >= TERMS_REMEMBERED {
            read.clear();
        }
        read.insert(job.terms_hash, terms.clone());
        Ok(Some(terms))
    }

    /// Milestone `i`'s part of the job's terms, when the job pinned terms the keeper can fetch
    /// (http or https, under the executor's rules) and the document matches the pinned hash;
    /// otherwise the agent gets only the terms' address and hash.
    pub(crate) async fn milestone_work(
        &self,
        key: &Pubkey,
        job: &Job,
        i: u8,
    ) -> Result<Option<agentrail_client::terms::MilestoneTerms>, String> {
        let work = self.job_terms(job).await.and_then(|t| t.map(|t| t.into_milestone(i)).transpose());
        match work {
            Ok(work) => Ok(work),
            Err(why) => {
                tracing::warn!(job = %key, milestone = i, uri = %job.terms_uri(), reason = %why, "terms not sent with the step");
                Err(why)
            }
        }
    }

    /// What each reported transaction did, once it reached confirmed (or `finalized`)
    /// commitment, waiting at most `wait` for all of them together: each round asks for the
    /// statuses of those still missing in one request, and reads a transaction only once its
    /// status says it is there. However many signatures an agent reports, and whether or not
    /// they exist, the step holds its slot for `wait` at most, one status request a round.
    pub async fn reported_effects(
        &self,
        signatures: &[[u8; 64]],
        reported: &[String],
        finalized: bool,
        wait: std::time::Duration,
    ) -> Vec<Option<crate::rails::TxEffects>> {
        let commitment = if finalized { CommitmentConfig::finalized() } else { CommitmentConfig::confirmed() };
        let until = std::time::Instant::now() + wait;
        let mut effects: Vec<Option<crate::rails::TxEffects>> = signatures.iter().map(|_| None).collect();
        loop {
            let missing: Vec<usize> = (0..signatures.len()).filter(|&i| effects[i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            // asked together: the chain gathers concurrent status questions into one request
            let statuses = futures::future::join_all(
                missing.iter().map(|&i| self.chain.signature_status(Signature::from(signatures[i]))),
            )
            .await;
            for (&i, status) in missing.iter().zip(statuses) {
                match status {
                    Ok(Some(s)) if s.satisfies_commitment(commitment) => {
                        match self.chain.transaction_effects(&reported[i], finalized).await {
                            Ok(found) => effects[i] = found,
                            Err(e) => {
                                tracing::warn!(signature = %reported[i], error = %self.scrub(&e), "reading a reported transaction failed")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(signature = %reported[i], error = %self.scrub(&e), "reading a reported status failed")
                    }
                }
            }
            if std::time::Instant::now() + RAILS_POLL >= until {
                break;
            }
            tokio::time::sleep(RAILS_POLL).await;
        }
        effects
    }

    /// Reads each transaction the step reported (waiting a bounded time for it to reach the
    /// rails' commitment) and checks the rails on them: one guard per rail.
    pub(crate) async fn rails_guards(
        &self,
        rails: &agentrail_client::terms::Rails,
        signatures: &[[u8; 64]],
    ) -> Vec<GuardCheck> {
        let rails = match rails.check() {
            Ok(r) => r,
            // the terms were checked when parsed; this cannot happen with the pinned document
            Err(why) => return vec![GuardCheck { name: "rails".into(), passed: false, detail: why }],
        };
        // confirmed lands within seconds of the agent's answer; finalized ~13 s after that
        let wait = if rails.finalized { RAILS_WAIT_FINALIZED } else { RAILS_WAIT_CONFIRMED };
        let reported: Vec<String> = signatures.iter().map(|s| solana_sdk::bs58::encode(s).into_string()).collect();
        let effects = self.reported_effects(signatures, &reported, rails.finalized, wait).await;
        // the price feed the step relied on, as it is now, against the cluster's clock
        let feed = match rails.price_feed {
            Some((account, _)) => Some(match self.chain.accounts(&[account]).await {
                Ok(found) => match found.into_iter().next().flatten() {
                    Some(a) => crate::rails::pyth_publish_time(&a.owner, &a.data),
                    None => Err("no such account".into()),
                },
                Err(e) => Err(format!("reading it failed: {}", self.scrub(&e))),
            }),
            None => None,
        };
        let now = self.chain.now().await.unwrap_or_else(|_| unix_now());
        crate::rails::check(&rails, &reported, &effects, feed, now)
    }
}
