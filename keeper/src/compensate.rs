//! Compensation, the saga's undo: a milestone whose terms declare a `compensation` is armed when
//! its step runs. Once its job has ended (completed, cancelled or expired) with any milestone
//! refunded to the poster, the keeper asks the agent to undo every armed milestone, the last
//! first, through the agent protocol (`agentrail.compensate/v1`, idempotent per milestone),
//! and records each as a signed receipt in the log that names the receipt it undoes. Failures
//! are retried with backoff until the last attempt (`failed`); a job that ended with nothing
//! refunded needs none (`not_needed`). Crash-safe: a compensation whose receipt is already in
//! the log is never asked for again, and one asked for but not recorded is asked again under
//! the same idempotency key, which the agent answers from its store.

use std::collections::BTreeMap;

use agentrail::state::{Agent, Job, MilestoneState};
use agentrail_client::receipt::{GuardCheck, Receipt};
use agentrail_client::x402::{COMPENSATE_SCHEMA, CompensationRequest};
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use solana_sdk::signer::Signer;

use crate::service::Keeper;
use crate::store::{Compensation, unix_now};

/// Most jobs one round looks at (one batched account read).
const JOBS_PER_ROUND: u32 = 100;
/// Attempts before a compensation is recorded as failed.
pub const MAX_ATTEMPTS: u32 = 5;
/// First retry delay, seconds; doubled per attempt ([`crate::notify::backoff`]).
const BASE_DELAY_SECS: u64 = 2;
/// The guard naming, in a compensation's receipt, the receipt it undoes.
pub const COMPENSATES_GUARD: &str = "compensates";

/// Whether `job` ended with a milestone refunded (its executed milestones are to be undone),
/// ended well (`Some(false)`), or may still end either way (`None`).
pub fn ended_against_agent(job: &Job) -> Option<bool> {
    job.finished().then(|| job.milestones().iter().any(|m| m.state == MilestoneState::Refunded))
}

/// Where a job's compensation receipts are filed in the log: apart from its steps' (one receipt
/// per milestone each), under the job's address and this suffix.
pub fn log_key(job: &Pubkey) -> String {
    format!("{job}/compensation")
}

impl Keeper {
    /// One round: the open compensations of up to [`JOBS_PER_ROUND`] jobs, judged against
    /// their jobs as the chain holds them, and those due run in order. Returns how many
    /// compensations were asked of agents.
    pub async fn compensate(&self) -> Result<usize> {
        use std::sync::atomic::Ordering;
        // cleared before the read: one armed meanwhile sets it again for the next round
        if !self.compensations_open.swap(false, Ordering::SeqCst) {
            return Ok(0);
        }
        let store = self.log.store();
        let open = match store.open_compensations(JOBS_PER_ROUND).await {
            Ok(open) => open,
            Err(e) => {
                self.compensations_open.store(true, Ordering::SeqCst);
                return Err(e);
            }
        };
        if open.is_empty() {
            return Ok(0);
        }
        // some stay open (a job still running, a retry waiting): look again next round
        self.compensations_open.store(true, Ordering::SeqCst);
        let mut by_job: BTreeMap<String, Vec<Compensation>> = BTreeMap::new();
        for c in open {
            by_job.entry(c.job.clone()).or_default().push(c);
        }
        let keys: Vec<Pubkey> = by_job.keys().filter_map(|k| k.parse().ok()).collect();
        let accounts = self.chain.accounts(&keys).await?;
        let mut asked = 0;
        for (key, account) in keys.iter().zip(accounts) {
            let rows = by_job.remove(&key.to_string()).unwrap_or_default();
            let job = account
                .filter(|a| a.owner == agentrail_client::program_id())
                .and_then(|a| agentrail_client::accounts::decode::<Job>(&a.data).ok());
            let Some(job) = job else {
                // closed (a closed job has ended): how it ended can no longer be read
                self.settle_all(rows, "not_needed", "the job was closed before the keeper saw how it ended").await?;
                continue;
            };
            match ended_against_agent(&job) {
                // still running: to the back of the rotation, so other jobs get their turn
                None => self.log.store().set_compensations_seen(&key.to_string(), unix_now()).await?,
                Some(false) => self.settle_all(rows, "not_needed", "the job ended with nothing refunded").await?,
                Some(true) => asked += self.undo(key, &job, rows).await?,
            }
        }
        Ok(asked)
    }

    async fn settle_all(&self, rows: Vec<Compensation>, status: &str, why: &str) -> Result<()> {
        for mut row in rows {
            (row.status, row.error) = (status.into(), Some(why.into()));
            self.log.store().set_compensation(&row).await?;
        }
        Ok(())
    }

    /// Runs `job`'s open compensations, the last milestone first; stops at one waiting for its
    /// retry, so an earlier milestone is never undone before a later one.
    async fn undo(&self, key: &Pubkey, job: &Job, mut rows: Vec<Compensation>) -> Result<usize> {
        let store = self.log.store();
        rows.sort_by_key(|r| std::cmp::Reverse(r.milestone));
        let agent: Agent = self.chain.account(&job.agent).await?.context("the job's agent account is gone")?;
        let mut asked = 0;
        for mut row in rows {
            let m = usize::from(row.milestone);
            let on_chain = job.milestones().get(m).map(|x| hex::encode(x.result_hash));
            // a step whose receipt lost its claim to another runner: not what was submitted
            if on_chain.as_deref() != Some(row.undoes.as_str()) {
                (row.status, row.error) =
                    ("not_needed".into(), Some("the milestone was not submitted with this receipt".into()));
                store.set_compensation(&row).await?;
                continue;
            }
            // recorded before a crash that came before its row was updated: never asked again
            if let Some(done) = store.receipt_for(&log_key(key), row.milestone).await? {
                (row.status, row.receipt, row.error) = ("compensated".into(), Some(done.hash), None);
                store.set_compensation(&row).await?;
                continue;
            }
            row.status = "due".into();
            let now = unix_now();
            if row.next_at > now {
                store.set_compensation(&row).await?;
                return Ok(asked);
            }
            let work = serde_json::from_str(&row.work).context("a stored compensation is not valid JSON")?;
            let request = CompensationRequest {
                schema: COMPENSATE_SCHEMA.into(),
                job: key.to_string(),
                milestone: row.milestone,
                agent: job.agent.to_string(),
                mint: job.mint.to_string(),
                terms_hash: hex::encode(job.terms_hash),
                terms_uri: job.terms_uri().to_string(),
                undoes: row.undoes.clone(),
                work,
            };
            asked += 1;
            row.attempts = row.attempts.saturating_add(1);
            // the endpoint must serve the manifest the registry pins, as before a step (it may
            // have moved since the step ran, or the agent published a version since)
            let guard = self.endpoint_guard(&job.agent, &agent).await;
            let called = if guard.passed {
                self.executor.compensate(&agent.metadata_uri, &request).await
            } else {
                Err(crate::agent_client::StepError::Unbound(guard.detail))
            };
            match called {
                Ok(output) => {
                    crate::sender::hold_if_failpoint("after-call", "compensate");
                    let receipt = Receipt {
                        job: *key,
                        milestone: row.milestone,
                        agent: job.agent,
                        agent_version_seq: job.agent_version_seq,
                        keeper: self.payer.pubkey(),
                        // the exact body the executor sent (serde writes the same bytes again)
                        inputs_hash: Sha256::digest(serde_json::to_vec(&request)?).into(),
                        output_hash: Sha256::digest(&output.body).into(),
                        cost: output.cost,
                        guards: vec![GuardCheck {
                            name: COMPENSATES_GUARD.into(),
                            passed: true,
                            detail: row.undoes.clone(),
                        }],
                        tx_signatures: output.tx_signatures,
                        started_at: now,
                        finished_at: unix_now(),
                        terms_hash: Some(job.terms_hash),
                    }
                    .sign(&self.receipt_signer)?;
                    self.log.append(&receipt, &log_key(key), row.milestone, now).await?;
                    (row.status, row.receipt, row.error) =
                        ("compensated".into(), Some(hex::encode(receipt.hash())), None);
                    self.metrics.compensations.inc("compensated", "ok");
                    tracing::info!(job = %key, milestone = row.milestone, attempts = row.attempts, "milestone compensated");
                    store.set_compensation(&row).await?;
                }
                Err(e) => {
                    row.error = Some(e.to_string());
                    if row.attempts >= MAX_ATTEMPTS {
                        row.status = "failed".into();
                        self.metrics.compensations.inc("failed", e.label());
                        tracing::error!(job = %key, milestone = row.milestone, error = %e, "compensation failed for good; a person must undo it");
                        store.set_compensation(&row).await?;
                        // given up: the earlier milestones are still undone
                        continue;
                    }
                    let wait =
                        crate::notify::backoff(std::time::Duration::from_secs(BASE_DELAY_SECS), row.attempts - 1);
                    row.next_at = now.saturating_add(wait.as_secs() as i64);
                    self.metrics.compensations.inc("retried", e.label());
                    tracing::warn!(job = %key, milestone = row.milestone, attempts = row.attempts, error = %e, "compensation failed; will retry");
                    store.set_compensation(&row).await?;
                    return Ok(asked);
                }
            }
        }
        Ok(asked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::state::JobStatus;

    #[test]
    fn a_job_ended_with_a_refund_is_undone_and_one_ended_well_is_not() {
        let mut j = agentrail_client::fixtures::funded_job(&[(100, false), (200, true)]);
        assert_eq!(ended_against_agent(&j), None, "funded: may still end either way");
        j.submit(0, [1; 32], 10).unwrap();
        j.release(0).unwrap();
        j.submit(1, [2; 32], 20).unwrap();
        let mut rejected = j;
        rejected.refund_where(|i, _| i == 1).unwrap();
        rejected.status = JobStatus::Completed;
        assert_eq!(ended_against_agent(&rejected), Some(true));
        j.release(1).unwrap();
        assert_eq!(j.status, JobStatus::Completed);
        assert_eq!(ended_against_agent(&j), Some(false));
    }
}
