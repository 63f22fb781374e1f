//! One keeper and its scan duty: the narrow context every duty shares ([`Keeper`]), and the
//! scan that reads the funded jobs naming this keeper and hands each its one action: a step to
//! the step pool ([`crate::steps`]), a release or refund to the settlement queue. The other
//! duties live beside it: [`crate::steps`], [`crate::step_checks`], [`crate::anchoring`],
//! [`crate::fee_sweeps`], [`crate::compensate`], [`crate::notify`], [`crate::subscription`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use agentrail::state::{Agent, Certification, Config as ProgramConfig, Job};
use agentrail_client::escrow::{self, JobKeysCache};
use agentrail_client::lifecycle::{Action, ActionKind, Conditions, IntentKey};
use agentrail_client::pda;
use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use serde_json::json;
use sha2::{Digest, Sha256};
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Keypair, signer::Signer};

use crate::agent_client::{Executor, RetryPolicy};
use crate::chain::{Chain, Recent};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::plan::{Policy, plan_from};
use crate::receipt_log::Log;
use crate::sender::{Outcome, Sender};
use crate::settlement_queue::{Priority, SettlementQueue};
use crate::step_pool::StepPool;
use crate::store::unix_now;

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
    /// manifest hash, endpoint). Bounded: emptied when it reaches [`crate::step_checks::MANIFESTS_REMEMBERED`].
    pub manifests_checked: std::sync::Mutex<HashSet<CheckedEndpoint>>,
    /// Terms documents read and found to match their pinned hash, by that hash (a pinned
    /// document never changes): steps and the console's job pages read each once. Bounded:
    /// emptied when it reaches [`crate::step_checks::TERMS_REMEMBERED`].
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

/// How long the event path reuses the last scan's config and clock.
const LAST_SCAN_REUSE: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
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
    pub(crate) fn sender(&self) -> Sender<'_> {
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

    /// Whether every token account in `needed` (named for the log) exists: those the scan saw
    /// need no read; the others are read now (created since the scan, or missing). When one is
    /// missing the action waits, with a warning naming it and how to create it: `agentrail job
    /// prepare`.
    pub(crate) async fn accounts_exist(
        &self,
        job: &Pubkey,
        needed: &[(&str, Pubkey)],
        seen: Option<&Scan>,
    ) -> Result<bool> {
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
    pub(crate) async fn act(&self, job: &Pubkey, action: Action, ixs: &[Instruction]) -> Result<bool> {
        self.send(IntentKey::job(*job, action), ixs).await
    }

    /// Sends the intent `key` once (see [`Sender::execute`]); `true` when this call landed it,
    /// `false` when it was refused, expired, is still in flight or had landed before (so that
    /// callers count each action once). Counted by action and outcome.
    pub(crate) async fn send(&self, key: IntentKey, ixs: &[Instruction]) -> Result<bool> {
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
}
