//! One keeper: each scan executes due steps, submits them with their receipt hash, releases
//! milestones whose review window passed, refunds expired jobs and anchors completed days.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use agentrail::instructions::AnchorCheckpointArgs;
use agentrail::state::{Agent, Certification, Checkpoint, Config as ProgramConfig, Job, ReceiptLog, SECONDS_PER_DAY};
use agentrail_client::anchors::{self, utc_day};
use agentrail_client::consent::Acceptance;
use agentrail_client::escrow::{self, JobKeys, JobKeysCache};
use agentrail_client::lifecycle::{Action, ActionKind, Conditions, IntentKey};
use agentrail_client::pda;
use agentrail_client::receipt::{GuardCheck, Receipt};
use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use solana_commitment_config::CommitmentConfig;
use solana_sdk::{
    instruction::Instruction,
    pubkey::Pubkey,
    signature::{Keypair, Signature},
    signer::Signer,
};

use crate::chain::{Chain, Recent};
use crate::config::{Config, FailurePolicy};
use crate::executor::{Executor, RetryPolicy, StepError, StepRequest, run_with_retries};
use crate::guards;
use crate::log::AppendError;
use crate::log::Log;
use crate::metrics::Metrics;
use crate::plan::{Policy, plan_from};
use crate::sender::{Outcome, Sender};
use crate::settlement_queue::{Priority, SettlementQueue};
use crate::step_pool::StepPool;
use crate::store::{Step, StepFence, StoredCheckpoint, unix_now};

/// A running keeper.
pub struct Keeper {
    pub config: Config,
    pub chain: Chain,
    pub log: Log,
    pub executor: Box<dyn Executor>,
    pub retry: RetryPolicy,
    /// Longest a send waits for confirmation before a later scan follows it.
    pub confirm_budget: std::time::Duration,
    pub payer: Keypair,
    pub metrics: Arc<Metrics>,
    /// Steps running in the background, one per job, bounded by `executor.concurrency`.
    pub steps: StepPool,
    /// Releases, dispute defaults and refunds being sent, off the scan, owed pay first.
    pub settlements: Arc<SettlementQueue>,
    /// What the last full scan read, reused by the event path between polls.
    pub last_scan: Recent<Arc<Scan>>,
    /// The accounts each job's actions name, derived once per job.
    pub job_keys: JobKeysCache,
    /// `payer` as an ed25519 signing key: it signs receipts (and, in the executor, payments).
    pub receipt_signer: SigningKey,
    /// Agent versions whose served manifest was seen to match the registry: (agent, version,
    /// manifest hash, endpoint). Bounded: emptied when it reaches [`MANIFESTS_REMEMBERED`].
    pub manifests_checked: std::sync::Mutex<HashSet<CheckedEndpoint>>,
    /// Terms documents read and found to match their pinned hash, by that hash (a pinned
    /// document never changes): steps and the console's job pages read each once. Bounded:
    /// emptied when it reaches [`TERMS_REMEMBERED`].
    pub terms_read: std::sync::Mutex<HashMap<[u8; 32], agentrail_client::terms::Terms>>,
    /// Tells people when a decision awaits them.
    pub notifier: crate::notify::Notifier,
    /// Whether a compensation may be open: set when one is armed (and at start), cleared when a
    /// round finds none, so a keeper whose terms declare none never asks its store.
    pub compensations_open: std::sync::atomic::AtomicBool,
}

/// An endpoint seen serving its agent's registered manifest: (agent, version, manifest hash,
/// endpoint).
pub type CheckedEndpoint = (Pubkey, u32, [u8; 32], String);

/// Where a pending milestone's step stands for this scan.
enum StepState {
    /// Done: submit the milestone with this receipt hash.
    Done([u8; 32]),
    /// Given up (retries exhausted or guards refused) and the policy refunds on-chain.
    GiveUp { reason: String, cancel: bool },
    /// Nothing to send now: running elsewhere, left for a human, or to retry later.
    Wait,
}

/// The checkpoints to anchor, oldest first, as `(day, log size)`: one for each UTC day after the
/// latest anchored one, up to `last_day`, whose end saw the log grow past what is anchored.
/// `created` holds each receipt's time in log order; a day's size is the longest prefix
/// created before its end, so a missed day is caught up with exactly its own receipts.
fn anchor_plan(created: &[i64], anchored_size: u64, latest: Option<u32>, last_day: u32) -> Vec<(u32, u64)> {
    let Some(&first) = created.first() else { return vec![] };
    let first_day = latest.map_or(utc_day(first), |d| d + 1);
    let mut size = anchored_size;
    let mut plan = Vec::new();
    for day in first_day..=last_day {
        let end = (i64::from(day) + 1) * SECONDS_PER_DAY;
        let day_size = created.iter().take_while(|&&t| t < end).count() as u64;
        if day_size > size {
            plan.push((day, day_size));
            size = day_size;
        }
    }
    plan
}

/// What one scan read, shared by the jobs it handles; the last full scan's is reused by the
/// event path between polls (each job change would otherwise cost two batched reads of
/// accounts that rarely change). The program re-checks all of it: a stale entry costs at most
/// a refused simulation, and the next scan (every `poll_interval`) reads everything afresh.
pub struct Scan {
    /// The program's config (its pause switch).
    config: ProgramConfig,
    /// The cluster's clock.
    now: i64,
    /// The agents the jobs name.
    agents: HashMap<Pubkey, Agent>,
    /// The certifications the jobs pinned.
    certs: HashMap<Pubkey, Certification>,
    /// Token accounts (payout and poster ATAs of the jobs) seen to exist.
    existing: HashSet<Pubkey>,
    /// The last full scan, whose reads this one reuses (the event path).
    base: Option<Arc<Scan>>,
}

/// The certification job `job` pinned (its agent's, at the pinned version).
fn pinned_cert(job: &Job) -> Pubkey {
    pda::certification(&job.agent, job.agent_version_seq)
}

/// How long a step's claim lasts without renewal, in seconds of the database's clock; the
/// owner renews it every third of that while the step runs.
const STEP_LEASE_SECS: i64 = 60;

/// How long the event path reuses the last scan's config and clock.
/// How a step given up for want of the agent's acceptance starts its recorded error.
const ACCEPTANCE_FAILED: &str = "acceptance: ";

/// The receipt guard naming the manifest check, and the name it carries when the served
/// manifest is not the registered one (a fact, not a blip: never retried).
const MANIFEST_GUARD: &str = "manifest";
const MANIFEST_MISMATCH: &str = "manifest_mismatch";
/// Largest terms document the keeper reads.
const MAX_TERMS_BYTES: usize = 256 * 1024;
/// Most terms documents kept in [`Keeper::terms_read`].
pub const TERMS_REMEMBERED: usize = 256;
/// How often a reported transaction not yet at the rails' commitment is asked for again.
const RAILS_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// Longest a step waits for its reported transactions to be confirmed, all of them together.
const RAILS_WAIT_CONFIRMED: std::time::Duration = std::time::Duration::from_secs(20);
/// Longest it waits for them to be finalized (finality takes 32 slots more).
const RAILS_WAIT_FINALIZED: std::time::Duration = std::time::Duration::from_secs(45);
/// Most agent versions whose manifest check is remembered.
const MANIFESTS_REMEMBERED: usize = 4_096;

const LAST_SCAN_REUSE: std::time::Duration = std::time::Duration::from_secs(30);

fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

impl Scan {
    /// A scan that knows only the config and the clock.
    fn empty(config: ProgramConfig, now: i64) -> Self {
        Scan { config, now, agents: HashMap::new(), certs: HashMap::new(), existing: HashSet::new(), base: None }
    }

    /// A scan reusing everything `base` read, `age` after it.
    fn after(base: Arc<Scan>, age: std::time::Duration) -> Self {
        let now = base.now.saturating_add(age.as_secs() as i64);
        Scan { base: Some(base.clone()), ..Scan::empty(base.config.clone(), now) }
    }

    fn agent(&self, key: &Pubkey) -> Option<&Agent> {
        self.agents.get(key).or_else(|| self.base.as_ref()?.agents.get(key))
    }

    fn cert(&self, key: &Pubkey) -> Option<&Certification> {
        self.certs.get(key).or_else(|| self.base.as_ref()?.certs.get(key))
    }

    /// Whether token account `key` was seen to exist.
    fn exists(&self, key: &Pubkey) -> bool {
        self.existing.contains(key) || self.base.as_ref().is_some_and(|b| b.existing.contains(key))
    }
}

impl Keeper {
    fn sender(&self) -> Sender<'_> {
        Sender {
            chain: &self.chain,
            store: self.log.store(),
            payer: &self.payer,
            metrics: &self.metrics,
            fee_cap: self.config.priority_fee_cap,
            confirm_budget: self.confirm_budget,
        }
    }

    /// How old the last completed scan may be before `/health` says the keeper is not working:
    /// ten poll intervals, and at least a minute (a scan waits on slow agents and sends).
    pub fn health_max_scan_age(&self) -> i64 {
        let poll = crate::config::duration("poll_interval", &self.config.poll_interval).map_or(2, |d| d.as_secs());
        (poll as i64 * 10).max(60)
    }

    /// An error's text for the log, with the RPC and database URLs redacted (they may hold API
    /// keys and passwords).
    pub fn scrub(&self, e: &anyhow::Error) -> String {
        agentrail_client::redact::redact_in(&format!("{e:#}"), &[&self.config.rpc_url, &self.config.database])
    }

    /// Resolves pending intents; run once before the first scan.
    pub async fn reconcile(&self) -> Result<()> {
        self.sender().reconcile().await
    }

    /// One scan of the funded jobs naming this keeper (finished and unfunded jobs are never
    /// read: the RPC filters them out), then the bookkeeping the API and metrics show.
    pub async fn tick(self: &Arc<Self>) -> Result<()> {
        let me = self.payer.pubkey();
        self.log.sync().await?;
        let jobs = self.chain.funded_jobs_for(&me).await?;
        let now = self.chain.now().await?;
        self.metrics.jobs_seen.set(jobs.len() as i64);
        let config: ProgramConfig =
            self.chain.account(&pda::config()).await?.context("the Agentrail config is not initialised")?;
        let balance = self.chain.rpc.get_balance(&me).await.context("reading the keeper's balance")?;
        self.metrics.balance_lamports.set(i64::try_from(balance).unwrap_or(i64::MAX));
        if balance < self.config.low_balance_lamports {
            tracing::error!(balance, threshold = self.config.low_balance_lamports, keeper = %me,
                "keeper balance is low: fund it, or submissions and releases will fail");
        }
        let scan = self.handle_jobs(jobs, Scan::empty(config, now)).await?;
        self.last_scan.set(scan);
        self.metrics.steps_running.set(self.steps.running() as i64);
        self.metrics.pending_intents.set(self.log.store().pending_intent_count().await? as i64);
        self.metrics.settlements_pending.set(self.settlements.pending() as i64);
        self.metrics.log_size.set(self.log.size().await as i64);
        self.metrics.last_tick.set(now);
        self.metrics.last_scan_unix.set(unix_now());
        Ok(())
    }

    /// Handles the jobs the websocket reported changed, as decoded from the notifications
    /// (the event path between polls): those still funded and naming this keeper. A boxed,
    /// `Send` future: a finished step hands a parked change back through here, from inside the
    /// handling of a job, and that recursion needs a named future type.
    pub fn tick_changed(
        self: &Arc<Self>,
        changed: Vec<(Pubkey, Job)>,
    ) -> futures::future::BoxFuture<'static, Result<()>> {
        let me = self.clone();
        Box::pin(async move { me.handle_changed(changed).await })
    }

    async fn handle_changed(self: &Arc<Self>, changed: Vec<(Pubkey, Job)>) -> Result<()> {
        let me = self.payer.pubkey();
        let jobs: Vec<(Pubkey, Job)> = changed
            .into_iter()
            .filter(|(_, j)| j.keeper == me && j.status == agentrail::state::JobStatus::Funded)
            // a job whose step is running is handled when the step is over, in this state
            .filter(|(key, j)| !self.steps.park(*key, *j))
            .collect();
        if jobs.is_empty() {
            return Ok(());
        }
        // the last scan's reads, and its clock advanced by the time since, while it is recent:
        // the program re-checks all of it, so a stale pause switch only costs a refused
        // simulation
        let known = match self.last_scan.get(LAST_SCAN_REUSE) {
            Some((scan, age)) => Scan::after(scan, age),
            None => {
                let config: ProgramConfig =
                    self.chain.account(&pda::config()).await?.context("the Agentrail config is not initialised")?;
                Scan::empty(config, self.chain.now().await?)
            }
        };
        self.handle_jobs(jobs, known).await?;
        Ok(())
    }

    /// Carries out this scan's plan for each of `jobs`, with one batched read for what they
    /// name that `known` does not hold; returns what the scan knew.
    async fn handle_jobs(self: &Arc<Self>, jobs: Vec<(Pubkey, Job)>, mut scan: Scan) -> Result<Arc<Scan>> {
        // batched reads, one round per scan however many jobs there are: every agent and pinned
        // certification the jobs name, then every token account their actions pay into
        let mut wanted: Vec<Pubkey> = jobs.iter().map(|(_, j)| j.agent).filter(|a| scan.agent(a).is_none()).collect();
        wanted.extend(
            jobs.iter()
                .filter(|(_, j)| j.min_stage > 0)
                .map(|(_, j)| pinned_cert(j))
                .filter(|c| scan.cert(c).is_none()),
        );
        wanted.sort_unstable();
        wanted.dedup();
        let read = if wanted.is_empty() { vec![] } else { self.chain.accounts(&wanted).await? };
        for (key, acc) in wanted.iter().zip(&read) {
            // only the program's own accounts; the discriminator says which it is
            let Some(data) =
                acc.as_ref().filter(|a| a.owner == agentrail_client::program_id()).map(|a| a.data.as_slice())
            else {
                continue;
            };
            if let Ok(agent) = agentrail_client::accounts::decode::<Agent>(data) {
                scan.agents.insert(*key, agent);
            } else if let Ok(cert) = agentrail_client::accounts::decode::<Certification>(data) {
                scan.certs.insert(*key, cert);
            }
        }
        let mut token_accounts: Vec<Pubkey> = Vec::with_capacity(jobs.len() * 2);
        for (key, job) in &jobs {
            match scan.agent(&job.agent) {
                Some(agent) => {
                    let keys = self.job_keys.get(*key, job, agent);
                    token_accounts.extend([keys.poster_token, keys.payee_token]);
                }
                None => token_accounts.push(pda::ata(&job.poster, &job.mint, &job.token_program)),
            }
        }
        token_accounts.retain(|k| !scan.exists(k));
        token_accounts.sort_unstable();
        token_accounts.dedup();
        if !token_accounts.is_empty() {
            let found = self.chain.accounts(&token_accounts).await?;
            scan.existing.extend(token_accounts.iter().zip(&found).filter(|(_, a)| a.is_some()).map(|(k, _)| *k));
        }
        let scan = Arc::new(scan);
        for (key, job) in jobs {
            // a funded job's agent cannot vanish; nothing to do without it
            let Some(agent) = scan.agent(&job.agent) else { continue };
            let cert = (job.min_stage > 0).then(|| scan.cert(&pinned_cert(&job)).cloned()).flatten();
            if let Err(e) = self.handle_job(&key, &job, agent, cert, &scan).await {
                tracing::error!(job = %key, error = %self.scrub(&e), "job handling failed; will retry");
            }
        }
        Ok(scan)
    }

    /// The fee duty: sweeps the fees this keeper's finished jobs earned from their vaults to
    /// the treasury, per mint, [`agentrail::instructions::MAX_SWEEP_JOBS`] jobs per transaction (releases leave fees in
    /// the vault so that they write no protocol-wide account; this is where they leave it). A
    /// mint whose treasury token account does not exist waits: the keeper pays no rent for
    /// other people's accounts. Each batch is an intent keyed by its first job, so a crash
    /// between sending and confirming never sweeps twice (a second sweep would only be refused).
    pub async fn sweep_fees(&self) -> Result<()> {
        let jobs = self.chain.jobs_with_unswept_fees(&self.payer.pubkey()).await?;
        if jobs.is_empty() {
            return Ok(());
        }
        let config: ProgramConfig =
            self.chain.account(&pda::config()).await?.context("the Agentrail config is not initialised")?;
        let by_mint = escrow::sweep_batches(jobs.into_iter().map(|(key, f)| ((f.mint, f.token_program), key)));
        for ((mint, token_program), batches) in by_mint {
            let treasury_token = pda::ata(&config.treasury, &mint, &token_program);
            if self.chain.accounts(&[treasury_token]).await.context("reading the treasury")?[0].is_none() {
                self.metrics.waiting_for_accounts.inc();
                tracing::warn!(treasury = %config.treasury, %mint, jobs = batches.iter().map(Vec::len).sum::<usize>(),
                    "the treasury has no token account for this mint: fees wait in the vaults (`agentrail job sweep-fees` creates it at the caller's expense)");
                continue;
            }
            for batch in batches {
                let ix = escrow::sweep_fees(&config.treasury, &mint, &token_program, &batch);
                if self.send(IntentKey::job(batch[0], Action::SweepFees), &[ix]).await? {
                    self.metrics.fees_swept_jobs.add(batch.len() as u64);
                }
            }
        }
        Ok(())
    }

    /// What the API shows of one job: its on-chain milestones and this keeper's steps.
    pub async fn job_view(&self, key: &Pubkey) -> Result<Option<Value>> {
        let Some(job) = self.chain.account::<Job>(key).await? else { return Ok(None) };
        if job.keeper != self.payer.pubkey() {
            return Ok(None);
        }
        Ok(Some(self.view(key, &job).await))
    }

    async fn view(&self, key: &Pubkey, job: &Job) -> Value {
        let steps = self.log.store().steps_for_job(&key.to_string()).await.unwrap_or_default();
        let mut milestones = Vec::new();
        for (i, m) in job.milestones().iter().enumerate() {
            let step = steps.iter().find(|s| usize::from(s.milestone) == i).cloned();
            milestones.push(json!({
                "index": i, "state": format!("{:?}", m.state).to_lowercase(), "amount": m.amount,
                "step": step.as_ref().map(|s| s.status.clone()), "attempts": step.as_ref().map(|s| s.attempts),
                "error": step.and_then(|s| s.last_error),
            }));
        }
        let compensations: Vec<Value> = self
            .log
            .store()
            .compensations_for_job(&key.to_string())
            .await
            .unwrap_or_default()
            .iter()
            .map(|c| {
                json!({
                    "milestone": c.milestone, "status": c.status, "attempts": c.attempts, "error": c.error,
                    "undoes": c.undoes, "receipt": c.receipt,
                })
            })
            .collect();
        json!({
            "job": key.to_string(), "status": format!("{:?}", job.status).to_lowercase(), "deadline": job.deadline,
            "milestones": milestones, "compensations": compensations,
        })
    }

    /// Carries out this scan's [`plan`] for one job; `cert` is its pinned certification as the
    /// scan read it.
    async fn handle_job(
        self: &Arc<Self>,
        key: &Pubkey,
        job: &Job,
        agent: &Agent,
        cert: Option<Certification>,
        scan: &Scan,
    ) -> Result<()> {
        let (config, now) = (&scan.config, scan.now);
        let conditions = Conditions::read(job, agent, cert.as_ref(), config, now);
        // the lifecycle's offers, read once: what people must decide (told once, whatever the
        // keeper does next) and what the keeper does itself
        let offers = agentrail_client::lifecycle::next_actions(job, now, &conditions);
        let notices = crate::notify::notices_from(key, job, &offers);
        // while a step of the job runs, its own submission may have landed before the step
        // announced it: the notice waits for the step to finish (the state is handed back
        // then), so that the stream tells the submission before the decision it calls for
        if !notices.is_empty() && !self.steps.park(*key, *job) {
            self.notifier.record(self.log.store(), notices, &self.metrics).await?;
        }
        let policy = Policy { refund_expired: self.config.refund_expired };
        let Some(action) = plan_from(job, &offers, policy) else { return Ok(()) };
        let keys = self.job_keys.get(*key, job, agent);
        // the keeper never pays rent for other people's token accounts (a drain an attacker
        // profits from): each action waits until the accounts it pays into exist
        let release_to = [("agent payout", keys.payee_token)];
        let refund_to = [("poster", keys.poster_token)];
        match action {
            // keyed by the first milestone it returns: a later refund of owed milestones (the
            // agent became ineligible) is another intent, not a replay of this one
            Action::RefundExpired(_) => {
                if self.accounts_exist(key, &refund_to, Some(scan)).await? {
                    let ixs = vec![escrow::refund_expired(&keys)];
                    self.settle(key, action, Priority::Refund, ixs, |m| m.refunds.inc());
                }
            }
            Action::Execute(i) => {
                // no work is started that could not be paid: the payout accounts exist first
                if self.steps.is_running(key) || !self.accounts_exist(key, &release_to, Some(scan)).await? {
                    return Ok(());
                }
                // the step runs in the pool, off the scan: a slow agent holds only its own job
                let (me, key, job, agent) = (self.clone(), *key, *job, agent.clone());
                let after = self.clone();
                let work = async move {
                    let cert = cert.as_ref();
                    if let Err(e) = me.run_step(&key, &job, i, &agent, cert, &keys, &refund_to, now).await {
                        tracing::error!(job = %key, milestone = i, error = %me.scrub(&e), "step failed; will retry");
                    }
                };
                // a change reported while the step ran (its own submission's, usually) is handled
                // right after it: the next milestone starts now, not at the next poll
                let then = move |parked: Option<Job>| {
                    if let Some(state) = parked {
                        tokio::spawn(async move {
                            if let Err(e) = after.tick_changed(vec![(key, state)]).await {
                                tracing::warn!(job = %key, error = %after.scrub(&e), "handling a change failed; the next poll retries");
                            }
                        });
                    }
                };
                self.steps.spawn_then(key, [job.poster, job.agent], work, then);
            }
            // owed to the agent (silent review, or submitted while releases were paused)
            Action::ReleaseAfterReview(i) => {
                if self.accounts_exist(key, &release_to, Some(scan)).await? {
                    let ixs = vec![escrow::release_after_review(&keys, i)];
                    self.settle(key, action, Priority::Owed, ixs, |m| m.releases.inc());
                }
            }
            // the arbiter stayed silent through its window: the job's default rule decides. No
            // wait for the parties' accounts: a share whose account cannot take it is held in
            // the vault for its party, so neither party's account can stall the dispute
            Action::ApplyDisputeDefault(i) => {
                let ixs = vec![escrow::apply_dispute_default(&keys, i)];
                self.settle(key, action, Priority::Owed, ixs, |m| m.disputes_defaulted.inc());
            }
            other => tracing::error!(job = %key, action = ?other, "the plan chose an action the keeper does not take"),
        }
        Ok(())
    }

    /// Executes pending milestone `i`'s step (or finds its stored receipt) and sends what
    /// follows: the submission, or the refund the failure policy asks for.
    #[allow(clippy::too_many_arguments)]
    async fn run_step(
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

    /// Whether every token account in `needed` (named for the log) exists: those the scan saw
    /// need no read; the others are read now (created since the scan, or missing). When one is
    /// missing the action waits, with a warning naming it and how to create it: `agentrail job
    /// prepare`.
    async fn accounts_exist(&self, job: &Pubkey, needed: &[(&str, Pubkey)], seen: Option<&Scan>) -> Result<bool> {
        if needed.iter().all(|(_, k)| seen.is_some_and(|s| s.exists(k))) {
            return Ok(true);
        }
        let keys: Vec<Pubkey> = needed.iter().map(|(_, k)| *k).collect();
        let found = self.chain.accounts(&keys).await.context("checking token accounts")?;
        let missing: Vec<String> = needed
            .iter()
            .zip(&found)
            .filter(|(_, acc)| acc.is_none())
            .map(|((name, key), _)| format!("{name} {key}"))
            .collect();
        if missing.is_empty() {
            return Ok(true);
        }
        self.metrics.waiting_for_accounts.inc();
        tracing::warn!(%job, missing = %missing.join(", "),
            "waiting for token accounts the keeper does not pay for; `agentrail job prepare` creates them");
        Ok(false)
    }

    /// Queues settling `action` on `job` with `ixs` for the settlement runners, off the scan
    /// ([`SettlementQueue`]: owed pay first); `landed` counts it once it lands. A job already
    /// queued or being settled is left to its next scan.
    fn settle(
        self: &Arc<Self>,
        job: &Pubkey,
        action: Action,
        priority: Priority,
        ixs: Vec<Instruction>,
        landed: fn(&Metrics),
    ) {
        let (me, key) = (self.clone(), *job);
        self.settlements.submit(key, priority, async move {
            match me.act(&key, action, &ixs).await {
                Ok(true) => landed(&me.metrics),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(job = %key, ?action, error = %me.scrub(&e), "settling failed; the next scan retries")
                }
            }
        });
    }

    /// Sends an action once; `true` when it landed, `false` when another party did it first or
    /// it must be rebuilt on the next scan.
    async fn act(&self, job: &Pubkey, action: Action, ixs: &[Instruction]) -> Result<bool> {
        self.send(IntentKey::job(*job, action), ixs).await
    }

    /// Sends the intent `key` once (see [`Sender::execute`]); `true` when this call landed it,
    /// `false` when it was refused, expired, is still in flight or had landed before (so that
    /// callers count each action once). Counted by action and outcome.
    async fn send(&self, key: IntentKey, ixs: &[Instruction]) -> Result<bool> {
        let (job, milestone, action) = (key.account, key.milestone(), key.kind.as_str());
        let began = Instant::now();
        let outcome = self.sender().execute(&key, ixs).await?;
        self.metrics.actions.inc(action, outcome.label());
        // timed only when this call sent something: a replay found done (or still in flight)
        // from a stale view of the job sent nothing
        if !matches!(outcome, Outcome::AlreadyConfirmed(_) | Outcome::InFlight) {
            self.metrics.send_seconds.observe(action, began.elapsed().as_secs_f64());
        }
        match outcome {
            Outcome::Confirmed(sig) => {
                tracing::info!(%job, milestone, action, signature = %sig, "confirmed");
                if !matches!(key.kind, ActionKind::CreateLog | ActionKind::AnchorDay) {
                    // the console's pages of this job follow the stream
                    self.notifier.announce(json!({
                        "kind": "job_updated", "job": job.to_string(), "milestone": milestone, "action": action,
                        "signature": sig.to_string(),
                    }));
                }
                Ok(true)
            }
            Outcome::Refused(why) => {
                self.metrics.races_lost.inc();
                tracing::info!(%job, milestone, action, reason = %why, "not done: refused by the program (another party may have done it)");
                Ok(false)
            }
            Outcome::Expired => {
                tracing::warn!(%job, milestone, action, "blockhash expired before landing; rebuilding on the next scan");
                Ok(false)
            }
            Outcome::Transient(why) => {
                self.metrics.send_errors.inc();
                tracing::error!(%job, milestone, action, reason = %why, "not sent: an operational fault, not the program's verdict");
                Ok(false)
            }
            Outcome::InFlight => Ok(false),
            // done, but not by this call: not counted again (the next scan plans from the chain)
            Outcome::AlreadyConfirmed(sig) => {
                tracing::info!(%job, milestone, action, signature = %sig, "already confirmed earlier");
                Ok(false)
            }
        }
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
            if let Some(s) = previous.as_ref().filter(|s| s.status == "abandoned" && !accepted_since(s)) {
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
                .filter(|s| matches!(s.status.as_str(), "failed" | "abandoned") && !accepted_since(s))
                .map_or(0, |s| self.retry.rest_after(s.attempts));
            if !store.claim_step_after(&job_s, i, &owner, STEP_LEASE_SECS, rest).await? {
                if previous.as_ref().is_some_and(|s| s.status == "running") {
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
            let status = if manifest.name == MANIFEST_MISMATCH || policy != FailurePolicy::RetryLater {
                "abandoned"
            } else {
                "failed"
            };
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
            return self.unpaid(job_s, i, &owner, "abandoned", next_attempt, reason).await;
        }
        // pinned terms this keeper cannot read would fail the `terms` guard after the work: no
        // step is started or agent called for work that could not be paid (a blip may pass)
        if let Err(why) = &work {
            let status = if policy == FailurePolicy::RetryLater { "failed" } else { "abandoned" };
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
                        let status = if matches!(e, StepError::Declined(_)) || policy != FailurePolicy::RetryLater {
                            "abandoned"
                        } else {
                            "failed"
                        };
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
                let status = if policy == FailurePolicy::RetryLater { "failed" } else { "abandoned" };
                return self.unpaid(job_s, i, &owner, status, attempts, reason).await;
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
            return self.unpaid(job_s, i, &owner, "abandoned", attempts, reason).await;
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
    async fn milestone_work(
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
    async fn rails_guards(&self, rails: &agentrail_client::terms::Rails, signatures: &[[u8; 64]]) -> Vec<GuardCheck> {
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

    /// Records a step that will not be paid (`status` `failed` or `abandoned`, with `reason`),
    /// then says what the operator's policy does with it now: refund on-chain or wait.
    /// Fenced: a runner that lost the step's claim records nothing and refunds nothing (the
    /// new owner may have finished the work).
    async fn unpaid(
        &self,
        job: String,
        i: u8,
        owner: &str,
        status: &str,
        attempts: u32,
        reason: String,
    ) -> Result<StepState> {
        let step = Step {
            job,
            milestone: i,
            status: status.into(),
            attempts,
            last_error: Some(reason.clone()),
            receipt_index: None,
        };
        if !self.log.store().finish_step(&step, owner).await? {
            tracing::warn!(job = %step.job, milestone = i, "lost the step's claim; not recording its failure");
            return Ok(StepState::Wait);
        }
        let refund = self.config.executor.on_failure.refund();
        Ok(refund.map_or(StepState::Wait, |cancel| StepState::GiveUp { reason, cancel }))
    }

    /// Stores the on-chain checkpoint of `day` when the store has no row for it (its values
    /// are read from the chain; the signature from this keeper's intent, when it sent it).
    async fn backfill_checkpoint(&self, log: &Pubkey, day: u32, now: i64) -> Result<()> {
        if self.log.store().checkpoints().await?.iter().any(|c| c.day == day) {
            return Ok(());
        }
        let Some(onchain) = self.chain.account::<Checkpoint>(&pda::checkpoint(log, day)).await? else {
            return Ok(());
        };
        let signature = self
            .log
            .store()
            .intent(&IntentKey::anchor(*log, day).to_string())
            .await?
            .map(|i| i.signature)
            .unwrap_or_default();
        let row =
            StoredCheckpoint { day, size: onchain.size, root: hex::encode(onchain.root), signature, anchored_at: now };
        self.log.store().put_checkpoint(&row).await
    }

    /// Anchors every completed UTC day (and today, when configured) whose log grew.
    pub async fn anchor(&self) -> Result<()> {
        self.log.sync().await?;
        let now = self.chain.now().await?;
        let today = utc_day(now);
        let me = self.payer.pubkey();
        let log_key = pda::receipt_log(&me);
        let onchain: Option<ReceiptLog> = self.chain.account(&log_key).await?;
        let (mut size, mut latest) = onchain.as_ref().map_or((0, None), |l| (l.size, l.latest_day));
        if let Some(day) = latest {
            self.metrics.anchor_lag_seconds.set(now - (i64::from(day) + 1) * SECONDS_PER_DAY);
        }
        // the local log must extend what is anchored; a store that lost receipts, or another
        // store used with this key, would anchor a forked log: stop, loudly
        if let Some(log) = &onchain {
            let local = self.log.size().await;
            let diverged = if local < log.size {
                Some(format!("the store holds {local} receipts but {} are anchored", log.size))
            } else if log.size > 0 && self.log.root_at(log.size).await? != log.root {
                Some(format!("the store's root at size {} is not the anchored root", log.size))
            } else {
                None
            };
            self.metrics.log_diverged.set(i64::from(diverged.is_some()));
            if let Some(why) = diverged {
                tracing::error!(%why, log = %log_key, "the local receipt log diverged from the anchored one: not anchoring; restore this keeper's store");
                anyhow::bail!("the local receipt log diverged from the anchored one: {why}");
            }
            // a crash between an anchor's confirmation and its row leaves the row missing:
            // take it from the chain, which is what bundles must agree with
            if let Some(day) = log.latest_day {
                self.backfill_checkpoint(&log_key, day, now).await?;
            }
        }
        // only the times: anchoring never loads receipt bodies
        let created = self.log.store().receipt_times().await?;
        if created.is_empty() {
            return Ok(());
        }
        let create = [anchors::create_receipt_log(&me, true)];
        if onchain.is_none() && !self.send(IntentKey::create_log(log_key), &create).await? {
            return Ok(());
        }
        let last_day = if self.config.anchor_today { today } else { today.saturating_sub(1) };
        for (day, day_size) in anchor_plan(&created, size, latest, last_day) {
            let root = self.log.root_at(day_size).await?;
            let proof = if latest.is_some() {
                self.log.consistency_proof(size, day_size).await?
            } else {
                self.log.consistency_proof(0, day_size).await?
            };
            let args = AnchorCheckpointArgs { day, size: day_size, root, consistency_proof: Some(proof) };
            let anchor = IntentKey::anchor(log_key, day);
            if !self.send(anchor, &[anchors::anchor_checkpoint(&me, args)]).await? {
                return Ok(());
            }
            // the stored row is the chain's checkpoint, not this keeper's plan of it
            self.backfill_checkpoint(&log_key, day, now).await?;
            self.metrics.anchors.inc();
            tracing::info!(day, size = day_size, "checkpoint anchored");
            (size, latest) = (day_size, Some(day));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;

    #[test]
    fn anchor_plan_catches_up_missed_days_and_skips_quiet_ones() {
        // receipts on day 10 (2), day 11 (1), none on 12, day 13 (3), today 14 (1)
        let created = [10 * DAY + 5, 10 * DAY + 9, 11 * DAY, 13 * DAY + 1, 13 * DAY + 2, 14 * DAY - 1, 14 * DAY + 7];
        // never anchored, down since day 10: every completed day with growth, in order
        assert_eq!(anchor_plan(&created, 0, None, 13), [(10, 2), (11, 3), (13, 6)]);
        // day 11 anchored already: only what came after it
        assert_eq!(anchor_plan(&created, 3, Some(11), 13), [(13, 6)]);
        // up to date
        assert_eq!(anchor_plan(&created, 6, Some(13), 13), []);
        // anchoring today too (demos) includes the receipt of day 14
        assert_eq!(anchor_plan(&created, 6, Some(13), 14), [(14, 7)]);
        // nothing yet to anchor, and an empty log
        assert_eq!(anchor_plan(&created, 0, None, 9), []);
        assert_eq!(anchor_plan(&[], 0, None, 13), []);
    }

    #[test]
    fn anchor_plan_never_shrinks_or_skips_a_receipt() {
        // a receipt recorded out of clock order (two keepers, one store) ends a day's prefix early:
        // it is anchored the next day, never dropped, and sizes only grow
        let created = [10 * DAY + 5, 11 * DAY + 1, 10 * DAY + 6, 11 * DAY + 2];
        let plan = anchor_plan(&created, 0, None, 12);
        assert_eq!(plan, [(10, 1), (11, 4)]);
        assert!(plan.windows(2).all(|w| w[0].1 < w[1].1 && w[0].0 < w[1].0));
    }
}
