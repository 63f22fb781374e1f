//! The step duty: a pending milestone's step claimed, checked before the call, called, judged
//! and recorded, then the submission (or the refund its failure policy asks for) sent.

use std::time::Instant;

use agentrail::state::{Agent, Certification, Job};
use agentrail_client::consent::Acceptance;
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::lifecycle::Action;
use agentrail_client::receipt::{GuardCheck, Receipt};
use anyhow::Result;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

use crate::agent_client::{StepError, StepRequest, run_with_retries};
use crate::config::FailurePolicy;
use crate::guards;
use crate::receipt_log::AppendError;
use crate::service::*;
use crate::step_checks::MANIFEST_MISMATCH;
use crate::store::{Step, StepFence, StepStatus};

/// How long a step's claim lasts without renewal, in seconds of the database's clock; the
/// owner renews it every third of that while the step runs.
pub(crate) const STEP_LEASE_SECS: i64 = 60;
/// How a step given up for want of the agent's acceptance starts its recorded error.
pub(crate) const ACCEPTANCE_FAILED: &str = "acceptance: ";

/// What a run that produced nothing payable leaves: `failed` (to run again after a rest)
/// under `retry-later` when trying again may help (`may_recover`: a blip, not a fact such as a
/// refusal or a different manifest), `abandoned` (left to the policy) otherwise.
fn unpaid_status(policy: FailurePolicy, may_recover: bool) -> StepStatus {
    if policy == FailurePolicy::RetryLater && may_recover { StepStatus::Failed } else { StepStatus::Abandoned }
}

/// Where a pending milestone's step stands for this scan.
pub(crate) enum StepState {
    /// Done: submit the milestone with this receipt hash.
    Done([u8; 32]),
    /// Given up (retries exhausted or guards refused) and the policy refunds on-chain.
    GiveUp { reason: String, cancel: bool },
    /// Nothing to send now: running elsewhere, left for a human, or to retry later.
    Wait,
}

impl Keeper {
    /// Executes pending milestone `i`'s step (or finds its stored receipt) and sends what
    /// follows: the submission, or the refund the failure policy asks for.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn run_step(
        &self,
        key: &Pubkey,
        job: &Job,
        i: u8,
        agent: &Agent,
        cert: Option<&Certification>,
        keys: &JobKeys,
        refund_to: &[(&str, Pubkey)],
        now: i64,
    ) -> Result<()> {
        match self.step(key, job, i, agent, cert, now).await? {
            StepState::Done(hash) => {
                let ixs = [escrow::submit_milestone(&self.payer.pubkey(), keys, i, hash)];
                if self.act(key, Action::Submit(i), &ixs).await? {
                    self.metrics.submissions.inc();
                }
            }
            StepState::GiveUp { reason, cancel } => {
                // only a started step whose time ran out may be failed: until then the agent may
                // still submit its own work (the program refuses earlier failures anyway)
                let due = job.failable_from(i).is_some_and(|from| now >= from);
                if !due {
                    tracing::debug!(job = %key, milestone = i, "giving up once the step's time runs out");
                    return Ok(());
                }
                if !self.accounts_exist(key, refund_to, None).await? {
                    return Ok(());
                }
                let me = self.payer.pubkey();
                let ixs = [escrow::fail_milestone(&me, keys, i, cancel, sha256(reason.as_bytes()))];
                if self.act(key, Action::Fail(i), &ixs).await? {
                    self.metrics.steps_refunded.inc();
                    tracing::warn!(job = %key, milestone = i, cancel, %reason, "gave up on the step; refunded to the poster");
                }
            }
            StepState::Wait => {}
        }
        Ok(())
    }

    /// Where milestone `i`'s step stands: its stored receipt, a new one from executing the step,
    /// or a failure that the operator's policy leaves, retries later or refunds on-chain.
    /// `cert` is the job's pinned certification as this scan read it (before the agent is
    /// called: an RPC error after the call would leave the step claimed and run it again).
    async fn step(
        &self,
        key: &Pubkey,
        job: &Job,
        i: u8,
        agent: &Agent,
        cert: Option<&Certification>,
        now: i64,
    ) -> Result<StepState> {
        let job_s = key.to_string();
        // a claim unique to this run, leased on the database's clock and renewed while the
        // step runs: a keeper that dies stops renewing, and its late writes are fenced off
        let owner = hex::encode(rand::random::<[u8; 16]>());
        // the common case, a milestone never tried here, is claimed by creating its row: one
        // write. A step with a row (tried before, done, or running elsewhere) is judged by it.
        let store = self.log.store();
        let previous = if store.claim_new_step(&job_s, i, &owner, STEP_LEASE_SECS).await? {
            None
        } else {
            let previous = store.step(&job_s, i).await?;
            // a receipt is only ever stored under the step's claim: a step with a row may have one
            if let Some(r) = store.receipt_for(&job_s, i).await? {
                let hash: [u8; 32] =
                    hex::decode(&r.hash)?.try_into().map_err(|_| anyhow::anyhow!("stored hash length"))?;
                return Ok(StepState::Done(hash));
            }
            let policy = self.config.executor.on_failure;
            // a step given up for want of an acceptance is taken up again once the agent accepted
            // (by its own transaction, since): nothing was started or called for it
            let accepted_since = |s: &Step| {
                job.is_accepted() && s.last_error.as_deref().is_some_and(|e| e.starts_with(ACCEPTANCE_FAILED))
            };
            if let Some(s) = previous.as_ref().filter(|s| s.status == StepStatus::Abandoned && !accepted_since(s)) {
                match policy.refund() {
                    // given up before: (re)send the refund; the chain refuses a second one
                    Some(cancel) => {
                        let reason = s.last_error.clone().unwrap_or_else(|| "step abandoned".into());
                        return Ok(StepState::GiveUp { reason, cancel });
                    }
                    None if policy == FailurePolicy::Leave => return Ok(StepState::Wait),
                    None => {}
                }
            }
            // a step retried later rests between runs, longer after each: a step that never
            // succeeds costs a bounded share of the slots, not a turn every scan
            let rest = previous
                .as_ref()
                .filter(|s| s.status.unpaid() && !accepted_since(s))
                .map_or(0, |s| self.retry.rest_after(s.attempts));
            if !store.claim_step_after(&job_s, i, &owner, STEP_LEASE_SECS, rest).await? {
                if previous.as_ref().is_some_and(|s| s.status == StepStatus::Running) {
                    self.metrics.step_claims_lost.inc();
                }
                tracing::debug!(job = %key, milestone = i, rest, "step is running under another keeper, or resting");
                return Ok(StepState::Wait);
            }
            previous
        };
        let policy = self.config.executor.on_failure;
        // what a step given up before its call counts as: one attempt more than its row's
        let next_attempt = previous.as_ref().map_or(0, |s| s.attempts) + 1;
        // the endpoint must serve the manifest the job's pinned version registered, before
        // anything is started or called
        let manifest = self.manifest_guard(job, agent).await;
        if !manifest.passed {
            // a manifest that differs is a fact; one that could not be read may be a blip
            let status = unpaid_status(policy, manifest.name != MANIFEST_MISMATCH);
            tracing::warn!(job = %key, milestone = i, reason = %manifest.detail, "manifest check failed; the agent is not called");
            self.metrics.steps_failed.inc();
            return self
                .unpaid(job_s, i, &owner, status, next_attempt, format!("manifest check: {}", manifest.detail))
                .await;
        }
        let amount = job.milestones()[usize::from(i)].amount;
        // the milestone's part of the pinned terms: sent as the work, and its rails checked
        let work = self.milestone_work(key, job, i).await;
        // a milestone that could no longer be submitted when the step ends (an approval's
        // review cut-off, or the deadline, comes first) is not begun: the agent's work would be
        // refused by the `submittable` guard after it was done
        let longest = humantime::parse_duration(&self.config.executor.timeout)
            .map(|t| self.retry.longest_step(t).as_secs_f64().ceil() as i64)
            .unwrap_or(0);
        if let Err(why) = job.check_in_time(i, now.saturating_add(longest)) {
            tracing::warn!(job = %key, milestone = i, longest, reason = %why, "too late to begin the step; the agent is not called");
            let reason =
                format!("the milestone could not be submitted {longest} s from now, when the step may end: {why}");
            return self.unpaid(job_s, i, &owner, StepStatus::Abandoned, next_attempt, reason).await;
        }
        // pinned terms this keeper cannot read would fail the `terms` guard after the work: no
        // step is started or agent called for work that could not be paid (a blip may pass)
        if let Err(why) = &work {
            let status = unpaid_status(policy, true);
            tracing::warn!(job = %key, milestone = i, reason = %why, "pinned terms unreadable; the agent is not called");
            self.metrics.steps_failed.inc();
            let reason = format!("the pinned terms could not be read: {why}");
            return self.unpaid(job_s, i, &owner, status, next_attempt, reason).await;
        }
        let req = StepRequest {
            step: agentrail_client::x402::StepRequest {
                schema: agentrail_client::x402::STEP_SCHEMA.into(),
                job: job_s.clone(),
                milestone: i,
                agent: job.agent.to_string(),
                budget: amount,
                mint: job.mint.to_string(),
                deadline: job.deadline,
                terms_hash: hex::encode(job.terms_hash),
                terms_uri: job.terms_uri().to_string(),
                work: work.clone().ok().flatten(),
                // the on-chain result hashes of the earlier milestones (no store read)
                previous_results: job.milestones()[..usize::from(i)]
                    .iter()
                    .map(|m| hex::encode(m.result_hash))
                    .collect(),
            },
            endpoint: agent.metadata_uri.clone(),
            vendor_key: agent.signing_key(),
            pay_to: agent.payout.to_string(),
            net_amount: amount.saturating_sub(agentrail::state::fee_for(amount, job.fee_bps)),
        };
        // before the agent is called, its step is marked started on-chain: from then its time
        // counts (a started step may be failed only once that ran out, and the agent may submit
        // its own work meanwhile) and, for the first, the poster cannot cancel. A job its agent
        // has not accepted yet is accepted in the same transaction, with the signature the
        // agent gives now for exactly these terms
        let mut started_job = *job;
        if job.milestones()[usize::from(i)].started_at == 0 {
            let mut ixs = Vec::new();
            if !job.is_accepted() {
                match self.acceptance(key, job, agent).await {
                    Ok(acceptance) => ixs.extend(acceptance.instructions(&self.job_keys.get(*key, job, agent))),
                    Err(e) => {
                        self.metrics.acceptances.inc("refused", e.label());
                        // a refusal is the agent's answer; an unreachable agent may answer later
                        let status = unpaid_status(policy, !matches!(e, StepError::Declined(_)));
                        tracing::warn!(job = %key, milestone = i, reason = %e, "no acceptance from the agent; nothing started");
                        let reason = format!("{ACCEPTANCE_FAILED}{e}");
                        return self.unpaid(job_s, i, &owner, status, next_attempt, reason).await;
                    }
                }
                self.metrics.acceptances.inc("accepted", "none");
            }
            ixs.push(escrow::start_milestone(&self.payer.pubkey(), key, i));
            let landed = self.act(key, Action::Start(i), &ixs).await?;
            // the guards judge the job as it now is: accepted and started (the program's clock
            // stamped both; the scan's is the nearest this keeper has)
            if landed {
                started_job.accepted_at = started_job.accepted_at.max(now.max(1));
                started_job.milestones_mut()[usize::from(i)].started_at = now;
            }
            if !landed {
                // nothing started and nothing called: the claim lapses now, so the next scan
                // takes the step up again at once instead of after the lease
                store.renew_claim(&job_s, i, &owner, -1).await?;
                return Ok(StepState::Wait);
            }
        }
        // the claim may have lapsed while the step was prepared (a slow start confirmation, a
        // slow manifest or terms read): renewed now, or the step is another runner's and the
        // agent is not called a second time
        if !store.renew_claim(&job_s, i, &owner, STEP_LEASE_SECS).await? {
            self.metrics.step_claims_lost.inc();
            tracing::warn!(job = %key, milestone = i, "lost the step's claim before the call; the agent is not called");
            return Ok(StepState::Wait);
        }
        let started = Instant::now();
        let renew = async {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(STEP_LEASE_SECS as u64 / 3));
            every.tick().await;
            loop {
                every.tick().await;
                if !self.log.store().renew_claim(&job_s, i, &owner, STEP_LEASE_SECS).await.unwrap_or(false) {
                    return;
                }
            }
        };
        let (result, attempts) = tokio::select! {
            r = run_with_retries(self.executor.as_ref(), &req, &self.retry) => {
                let outcome = r.0.as_ref().map_or_else(StepError::label, |_| "ok");
                self.metrics.step_seconds.observe(outcome, started.elapsed().as_secs_f64());
                r
            }
            () = renew => {
                tracing::warn!(job = %key, milestone = i, "lost the step's claim while it ran; leaving it to its new owner");
                return Ok(StepState::Wait);
            }
        };
        let attempts = attempts + previous.map_or(0, |s| s.attempts);
        let output = match result {
            Ok(o) => o,
            Err(e) => {
                self.metrics.steps_failed.inc();
                tracing::warn!(job = %key, milestone = i, error = %e, attempts, "step failed; no payment");
                let reason = format!("step failed after {attempts} attempts: {e}");
                return self.unpaid(job_s, i, &owner, unpaid_status(policy, true), attempts, reason).await;
            }
        };
        // the guards judge the time the work is reported at, not the scan's start (a slow step
        // may have outlived the deadline): the scan's cluster time plus the time the step took,
        // rounded up (no request, so no error here can re-run the step; the program checks the
        // deadline again with its own clock)
        let finished_at = now.saturating_add(started.elapsed().as_secs_f64().ceil() as i64);
        let mut checks: Vec<GuardCheck> = guards::run(&guards::GuardInput {
            job: &started_job,
            milestone: i,
            agent,
            certification: cert,
            cost: output.cost,
            now: finished_at,
        });
        // recorded in the receipt: what the endpoint served was what the registry pinned
        checks.push(manifest);
        // what the agent's own transactions did, against the rails the terms set; terms that
        // could not be read may have rails, so such a step is not paid
        match &work {
            Ok(Some(terms)) => {
                if let Some(rails) = &terms.rails {
                    checks.extend(self.rails_guards(rails, &output.tx_signatures).await);
                }
            }
            Ok(None) => {}
            Err(why) => checks.push(GuardCheck::bounded(
                "terms",
                false,
                format!("the pinned terms could not be read, so their rails cannot be checked: {why}"),
            )),
        }
        if !guards::all_passed(&checks) {
            let failed: Vec<_> =
                checks.iter().filter(|c| !c.passed).map(|c| format!("{} ({})", c.name, c.detail)).collect();
            tracing::warn!(job = %key, milestone = i, guards = ?failed, "guards refused payment");
            let reason = format!("guards failed: {}", failed.join(", "));
            return self.unpaid(job_s, i, &owner, StepStatus::Abandoned, attempts, reason).await;
        }
        // from here the claim must still be ours: the receipt is stored and the step marked
        // done in one transaction only while it holds (a runner that lost it records nothing)
        let receipt = Receipt {
            job: *key,
            milestone: i,
            agent: job.agent,
            agent_version_seq: job.agent_version_seq,
            keeper: self.payer.pubkey(),
            inputs_hash: sha256(&req.body()),
            output_hash: sha256(&output.body),
            cost: output.cost,
            guards: checks,
            tx_signatures: output.tx_signatures,
            started_at: now,
            finished_at,
            terms_hash: Some(job.terms_hash),
        }
        .sign(&self.receipt_signer)?;
        // a milestone that declares how to undo it is armed now: if the job ends with a refund,
        // the compensation duty asks the agent to undo it (checked then against the on-chain
        // result hash, so a receipt that loses its claim below never leads to one)
        if let Ok(Some(terms)) = &work
            && let Some(compensation) = &terms.compensation
        {
            let armed = crate::store::Compensation {
                id: format!("{job_s}:{i}"),
                job: job_s.clone(),
                milestone: i,
                undoes: hex::encode(receipt.hash()),
                work: serde_json::to_string(compensation)?,
                status: "armed".into(),
                attempts: 0,
                next_at: 0,
                error: None,
                receipt: None,
                updated_at: now,
            };
            self.log.store().arm_compensation(&armed).await?;
            self.compensations_open.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        // the agent's co-signature, checked against its registered key by the executor
        let receipt = match output.vendor {
            Some(vendor) => receipt.with_vendor(vendor),
            None => receipt,
        };
        // and the schema admits one receipt per milestone
        let fence = StepFence { owner, attempts };
        let index = match self.log.append_fenced(&receipt, &job_s, i, now, Some(fence)).await? {
            Ok(index) => index,
            Err(AppendError::ClaimLost) => {
                tracing::warn!(job = %key, milestone = i, "the step's claim lapsed during the call; leaving it to its new owner");
                return Ok(StepState::Wait);
            }
            Err(AppendError::Failed(e)) => anyhow::bail!("storing the step's receipt: {e}"),
        };
        self.metrics.steps_run.inc();
        tracing::info!(job = %key, milestone = i, index, "step executed, receipt stored");
        Ok(StepState::Done(receipt.hash()))
    }

    /// The agent's acceptance of `job` at `key`, asked of its endpoint and checked as the
    /// program will check it (these terms, signed by the agent's authority or signing key).
    async fn acceptance(&self, key: &Pubkey, job: &Job, agent: &Agent) -> Result<Acceptance, StepError> {
        let acceptance = self.executor.acceptance(&agent.metadata_uri, key).await?;
        let keys: Vec<Pubkey> = std::iter::once(agent.authority).chain(agent.signing_key()).collect();
        acceptance.check(key, job, &keys).map_err(|e| StepError::Garbage(format!("its acceptance: {e}")))?;
        Ok(acceptance)
    }

    /// Records a step that will not be paid (`status` failed or abandoned, with `reason`),
    /// then says what the operator's policy does with it now: refund on-chain or wait.
    /// Fenced: a runner that lost the step's claim records nothing and refunds nothing (the
    /// new owner may have finished the work).
    async fn unpaid(
        &self,
        job: String,
        i: u8,
        owner: &str,
        status: StepStatus,
        attempts: u32,
        reason: String,
    ) -> Result<StepState> {
        let step = Step { job, milestone: i, status, attempts, last_error: Some(reason.clone()), receipt_index: None };
        if !self.log.store().finish_step(&step, owner).await? {
            tracing::warn!(job = %step.job, milestone = i, "lost the step's claim; not recording its failure");
            return Ok(StepState::Wait);
        }
        let refund = self.config.executor.on_failure.refund();
        Ok(refund.map_or(StepState::Wait, |cancel| StepState::GiveUp { reason, cancel }))
    }
}
