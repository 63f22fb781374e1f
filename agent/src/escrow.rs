//! The agent's own look at the escrow, on-chain, before it works: nothing the keeper says is
//! taken on trust except what its signature binds, and that is compared with the chain.

use std::time::{Duration, Instant};

use agentrail::state::{Agent, AgentStatus, Job, JobStatus, MilestoneState};
use agentrail_client::x402::{CompensationRequest, EscrowAuthorization, StepRequest};
use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::AgentConfig;

/// Why the agent will not work for a request: each names what it found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("job {0} does not exist")]
    NoJob(String),
    #[error("{0} is not an Agentrail job")]
    NotAJob(String),
    #[error("the job is {0}, not funded")]
    NotFunded(String),
    #[error("the job is for agent {0}, not this agent")]
    OtherAgent(String),
    #[error("the job pinned version {pinned} of this agent, which is now at version {current}")]
    OtherVersion { pinned: u32, current: u32 },
    #[error("this agent is {0}: it may not be paid")]
    AgentInactive(String),
    #[error("the request is signed by {signed}, but the job's keeper is {keeper}")]
    OtherKeeper { signed: String, keeper: String },
    #[error("the job has no milestone {0}")]
    NoMilestone(u8),
    #[error("milestone {index} is {state}, not the pending one being worked on")]
    NotPending { index: u8, state: String },
    #[error(
        "milestone {0} is not marked started on-chain: its time is not counted, and for the first the poster could still cancel the job"
    )]
    NotStarted(u8),
    #[error("this agent has not accepted the job")]
    NotAccepted,
    #[error("this agent already accepted the job")]
    AlreadyAccepted,
    #[error("the job is {0}: it can no longer be accepted")]
    NotOpen(String),
    #[error("the job is outside this agent's published policy: {0}")]
    OutsidePolicy(String),
    #[error("the authorization says {signed} is escrowed, the chain says {escrowed}")]
    AmountMismatch { signed: u64, escrowed: u64 },
    #[error("the milestone pays {pay}, less than this agent's price of {price}")]
    BelowPrice { pay: u64, price: u64 },
    #[error("the job pays in mint {0}, which this agent does not accept")]
    WrongMint(String),
    #[error("the registry pays this agent to {registry}, not to {expected}")]
    WrongPayout { registry: String, expected: String },
    #[error("the milestone can be submitted for {left} s more, this agent needs {need} s")]
    DeadlineTooClose { left: i64, need: i64 },
    #[error(
        "the job pins terms at {0}, but the request carries no work for this milestone: the keeper could not read them, and would not be paid"
    )]
    NoWork(String),
    #[error("milestone {index} is {state}: its answer is no longer served")]
    Settled { index: u8, state: String },
    #[error("the request's terms hash {requested} is not the job's {pinned}")]
    OtherTerms { requested: String, pinned: String },
    #[error("the request names {field} {requested}, the job says {actual}")]
    RequestMismatch { field: &'static str, requested: String, actual: String },
    #[error(
        "the registry's signing key for this agent is {registry}, but it signs with {configured}: keepers would refuse its answers"
    )]
    WrongSigningKey { registry: String, configured: String },
    #[error("the job is {0}: it has not ended with a milestone refunded, so nothing is to be undone")]
    NothingToUndo(String),
    #[error("milestone {index} was submitted with result {on_chain}, not the receipt {requested} the request undoes")]
    OtherReceipt { index: u8, on_chain: String, requested: String },
}

/// Reading the chain failed: not a verdict on the request (the caller should retry later).
#[derive(Debug, thiserror::Error)]
#[error("reading the chain failed: {0}")]
pub struct ChainUnavailable(pub String);

/// Reads jobs and this agent's registry entry (cached for a few seconds: it rarely changes,
/// and a change the cache hides is caught by the program at release).
pub struct EscrowReader {
    rpc: RpcClient,
    agent_cache: std::sync::Mutex<Option<(Agent, Instant)>>,
}

/// How long the agent's own registry entry is reused.
const AGENT_REUSE: Duration = Duration::from_secs(10);

impl EscrowReader {
    /// A reader of the cluster at `rpc_url` (confirmed commitment).
    pub fn new(rpc_url: &str) -> Self {
        EscrowReader {
            rpc: RpcClient::new_with_commitment(rpc_url.to_string(), CommitmentConfig::confirmed()),
            agent_cache: Default::default(),
        }
    }

    /// The cluster's genesis hash (base58).
    pub async fn genesis_hash(&self) -> Result<String, ChainUnavailable> {
        self.rpc.get_genesis_hash().await.map(|h| h.to_string()).map_err(|e| ChainUnavailable(e.to_string()))
    }

    async fn program_account<T: agentrail_client::accounts::ProgramAccount>(
        &self,
        key: &Pubkey,
    ) -> Result<Option<Result<T, String>>, ChainUnavailable> {
        let acc = self
            .rpc
            .get_account_with_commitment(key, self.rpc.commitment())
            .await
            .map_err(|e| ChainUnavailable(e.to_string()))?
            .value;
        Ok(acc.map(|a| {
            if a.owner != agentrail_client::program_id() {
                return Err(format!("owned by {}", a.owner));
            }
            agentrail_client::accounts::decode(&a.data).map_err(|e| e.to_string())
        }))
    }

    async fn agent(&self, key: &Pubkey) -> Result<Agent, ChainUnavailable> {
        if let Some((agent, at)) = self.agent_cache.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
            && at.elapsed() < AGENT_REUSE
        {
            return Ok(agent.clone());
        }
        let agent = match self.program_account::<Agent>(key).await? {
            Some(Ok(agent)) => agent,
            Some(Err(why)) => return Err(ChainUnavailable(format!("this agent's account {key}: {why}"))),
            None => return Err(ChainUnavailable(format!("this agent's account {key} does not exist"))),
        };
        *self.agent_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((agent.clone(), Instant::now()));
        Ok(agent)
    }

    /// Checks, on-chain, that `request` (vouched for by `auth`, already verified) is for work
    /// this agent will be paid for at `now`; returns the job.
    pub async fn check(
        &self,
        request: &StepRequest,
        auth: &EscrowAuthorization,
        config: &AgentConfig,
        now: i64,
    ) -> Result<Result<Job, Refusal>, ChainUnavailable> {
        let job = match self.job(&request.job).await? {
            Ok(job) => job,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let agent = self.agent(&config.agent).await?;
        Ok(judge(&job, &agent, request, auth, config, now).map(|()| job))
    }

    /// Checks, on-chain, that the job at `key` is one this agent accepts at `now`; returns its
    /// address and state (what the agent signs).
    pub async fn check_acceptance(
        &self,
        key: &str,
        config: &AgentConfig,
        now: i64,
    ) -> Result<Result<(Pubkey, Job), Refusal>, ChainUnavailable> {
        let job = match self.job(key).await? {
            Ok(job) => job,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let agent = self.agent(&config.agent).await?;
        // parsed by `job` above
        let job_key = key.parse().map_err(|_| ChainUnavailable(format!("{key} is not an address")))?;
        Ok(judge_acceptance(&job, &agent, config, now).map(|()| (job_key, job)))
    }
}

impl EscrowReader {
    /// Checks, on-chain, that a stored answer to `request` may still be replayed
    /// ([`judge_replay`]).
    pub async fn check_replay(&self, request: &StepRequest) -> Result<Result<(), Refusal>, ChainUnavailable> {
        Ok(self.job(&request.job).await?.and_then(|job| judge_replay(&job, request.milestone)))
    }

    /// Checks, on-chain, that a compensation `request` (vouched for by `auth`, already
    /// verified) undoes work this agent did for a job that ended against it; returns the job.
    pub async fn check_compensation(
        &self,
        request: &CompensationRequest,
        auth: &EscrowAuthorization,
        config: &AgentConfig,
    ) -> Result<Result<Job, Refusal>, ChainUnavailable> {
        Ok(match self.job(&request.job).await? {
            Ok(job) => judge_compensation(&job, request, auth, config).map(|()| job),
            Err(refusal) => Err(refusal),
        })
    }

    /// The job at `key` as the chain holds it, or why there is none.
    async fn job(&self, key: &str) -> Result<Result<Job, Refusal>, ChainUnavailable> {
        let Ok(job_key) = key.parse::<Pubkey>() else { return Ok(Err(Refusal::NotAJob(key.to_string()))) };
        Ok(match self.program_account::<Job>(&job_key).await? {
            None => Err(Refusal::NoJob(key.to_string())),
            Some(Err(_)) => Err(Refusal::NotAJob(key.to_string())),
            Some(Ok(job)) => Ok(job),
        })
    }
}

/// The verdict on a compensation request: the job names this agent, its keeper signed, it has
/// ended with a milestone refunded to its poster, and the milestone was submitted with the
/// receipt the request undoes.
pub fn judge_compensation(
    job: &Job,
    request: &CompensationRequest,
    auth: &EscrowAuthorization,
    config: &AgentConfig,
) -> Result<(), Refusal> {
    if job.agent != config.agent {
        return Err(Refusal::OtherAgent(job.agent.to_string()));
    }
    if job.keeper.to_string() != auth.keeper {
        return Err(Refusal::OtherKeeper { signed: auth.keeper.clone(), keeper: job.keeper.to_string() });
    }
    if !job.finished() || !job.milestones().iter().any(|m| m.state == MilestoneState::Refunded) {
        return Err(Refusal::NothingToUndo(format!("{:?}", job.status).to_lowercase()));
    }
    let i = request.milestone;
    let Some(m) = job.milestones().get(usize::from(i)) else { return Err(Refusal::NoMilestone(i)) };
    let on_chain = hex::encode(m.result_hash);
    if on_chain != request.undoes {
        return Err(Refusal::OtherReceipt { index: i, on_chain, requested: request.undoes.clone() });
    }
    let pinned = hex::encode(job.terms_hash);
    if request.terms_hash != pinned {
        return Err(Refusal::OtherTerms { requested: request.terms_hash.clone(), pinned });
    }
    Ok(())
}

/// What any work for `job` needs, acceptance or step: it names this agent at its current
/// version, the agent is active and paid to the configured wallet in an accepted mint, its
/// registered signing key is the one it signs with, and the job is inside its policy.
fn judge_job(job: &Job, agent: &Agent, config: &AgentConfig) -> Result<(), Refusal> {
    if job.agent != config.agent {
        return Err(Refusal::OtherAgent(job.agent.to_string()));
    }
    if job.agent_version_seq != agent.version_seq {
        return Err(Refusal::OtherVersion { pinned: job.agent_version_seq, current: agent.version_seq });
    }
    if agent.status != AgentStatus::Active {
        return Err(Refusal::AgentInactive(format!("{:?}", agent.status).to_lowercase()));
    }
    if !config.mints.contains(&job.mint) {
        return Err(Refusal::WrongMint(job.mint.to_string()));
    }
    if agent.payout != config.pay_to {
        return Err(Refusal::WrongPayout { registry: agent.payout.to_string(), expected: config.pay_to.to_string() });
    }
    // keepers demand a co-signature by the registered key: working with another (or none)
    // would be work the keeper refuses to pay for
    let configured = config.signing_key.as_ref().map(|k| Pubkey::from(k.verifying_key().to_bytes()));
    if agent.signing_key() != configured {
        let show = |k: Option<Pubkey>| k.map_or("none".to_string(), |k| k.to_string());
        return Err(Refusal::WrongSigningKey { registry: show(agent.signing_key()), configured: show(configured) });
    }
    if let Some(why) = config.policy.refusal(job) {
        return Err(Refusal::OutsidePolicy(why));
    }
    Ok(())
}

/// The verdict on accepting `job` at `now`: open (created or funded, not accepted yet), inside
/// [`judge_job`], every milestone at least the agent's price, and its first step submittable
/// with the time the agent needs.
pub fn judge_acceptance(job: &Job, agent: &Agent, config: &AgentConfig, now: i64) -> Result<(), Refusal> {
    if !matches!(job.status, JobStatus::Created | JobStatus::Funded) {
        return Err(Refusal::NotOpen(format!("{:?}", job.status).to_lowercase()));
    }
    if job.is_accepted() {
        return Err(Refusal::AlreadyAccepted);
    }
    judge_job(job, agent, config)?;
    if let Some(m) = job.milestones().iter().find(|m| m.amount < config.price) {
        return Err(Refusal::BelowPrice { pay: m.amount, price: config.price });
    }
    let first = job.milestones().first().ok_or(Refusal::NoMilestone(0))?;
    check_time_left(job, first, config, now)
}

/// The latest submission the program takes for milestone `m` (an approval milestone's review
/// window must fit before the deadline, [`Job::check_submittable`]) leaves the agent its time.
fn check_time_left(job: &Job, m: &agentrail::state::Milestone, config: &AgentConfig, now: i64) -> Result<(), Refusal> {
    let last_submission = job.deadline.saturating_sub(if m.needs_approval() { job.review_window } else { 0 });
    let left = last_submission.saturating_sub(now);
    if left < config.min_time_left_secs {
        return Err(Refusal::DeadlineTooClose { left, need: config.min_time_left_secs });
    }
    Ok(())
}

/// Whether a stored answer for milestone `index` of `job` may still be replayed: only while
/// the job is funded and the milestone unsettled (a keeper that lost the answer still needs
/// it to submit); after that the work is paid or refunded and nobody needs it from the agent.
pub fn judge_replay(job: &Job, index: u8) -> Result<(), Refusal> {
    let Some(m) = job.milestones().get(usize::from(index)) else { return Err(Refusal::NoMilestone(index)) };
    if m.settled() {
        return Err(Refusal::Settled { index, state: format!("{:?}", m.state).to_lowercase() });
    }
    if job.status != JobStatus::Funded {
        return Err(Refusal::NotFunded(format!("{:?}", job.status).to_lowercase()));
    }
    Ok(())
}

/// The verdict on a request, from what the chain holds: pure, so every refusal is unit-tested.
pub fn judge(
    job: &Job,
    agent: &Agent,
    request: &StepRequest,
    auth: &EscrowAuthorization,
    config: &AgentConfig,
    now: i64,
) -> Result<(), Refusal> {
    if job.status != JobStatus::Funded {
        return Err(Refusal::NotFunded(format!("{:?}", job.status).to_lowercase()));
    }
    if !job.is_accepted() {
        return Err(Refusal::NotAccepted);
    }
    judge_job(job, agent, config)?;
    if job.keeper.to_string() != auth.keeper {
        return Err(Refusal::OtherKeeper { signed: auth.keeper.clone(), keeper: job.keeper.to_string() });
    }
    let i = request.milestone;
    let Some(m) = job.milestones().get(usize::from(i)) else { return Err(Refusal::NoMilestone(i)) };
    // the program's own rule for the milestone being worked on (the first one not settled)
    if m.state != MilestoneState::Pending || job.current() != Some(usize::from(i)) {
        return Err(Refusal::NotPending { index: i, state: format!("{:?}", m.state).to_lowercase() });
    }
    // a started step is one nobody can fail before its time runs out (and, the first, one the
    // poster cannot cancel) while the submission, the keeper's or this agent's, is on its way
    if m.started_at == 0 {
        return Err(Refusal::NotStarted(i));
    }
    if auth.amount != m.amount {
        return Err(Refusal::AmountMismatch { signed: auth.amount, escrowed: m.amount });
    }
    // the program pays the agent the milestone's whole amount; the protocol fee is the poster's,
    // on top of it
    if m.amount < config.price {
        return Err(Refusal::BelowPrice { pay: m.amount, price: config.price });
    }
    let same = |field, requested: &str, actual: String| {
        if requested == actual {
            Ok(())
        } else {
            Err(Refusal::RequestMismatch { field, requested: requested.to_string(), actual })
        }
    };
    same("mint", &request.mint, job.mint.to_string())?;
    same("deadline", &request.deadline.to_string(), job.deadline.to_string())?;
    check_time_left(job, m, config, now)?;
    // pinned terms a keeper can read come with the milestone's work; without it the keeper
    // could not read them, and its own guard would refuse to submit the answer
    let web_terms = ["https://", "http://"].iter().any(|p| request.terms_uri.starts_with(p));
    if job.terms_hash != [0; 32] && web_terms && request.work.is_none() {
        return Err(Refusal::NoWork(request.terms_uri.clone()));
    }
    let pinned = hex::encode(job.terms_hash);
    if request.terms_hash != pinned {
        return Err(Refusal::OtherTerms { requested: request.terms_hash.clone(), pinned });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail_client::fixtures;

    /// A funded two-milestone job (1 000 and 2 000, fee 2.5%) for `agent`, milestone 0 started,
    /// with the request and authorization its keeper would send, and the agent's config.
    fn setup() -> (Job, Agent, StepRequest, EscrowAuthorization, AgentConfig) {
        let agent = fixtures::agent();
        let mut job = fixtures::funded_job(&[(1_000, false), (2_000, false)]);
        job.fee_bps = 250;
        job.milestones_mut()[0].started_at = 5;
        let me = Pubkey::new_unique();
        job.agent = me;
        // approvals without an arbiter and short windows are this test agent's choice
        let lenient = agentrail_client::consent::AgentPolicy {
            no_arbiter_ok: true,
            min_review_secs: 0,
            min_step_secs: 60,
            ..Default::default()
        };
        let config = AgentConfig::new("http://unused", me, agent.payout).mint(job.mint).price(900).policy(lenient);
        let req = StepRequest {
            schema: agentrail_client::x402::STEP_SCHEMA.into(),
            job: Pubkey::new_unique().to_string(),
            milestone: 0,
            agent: me.to_string(),
            budget: 1_000,
            mint: job.mint.to_string(),
            deadline: job.deadline,
            terms_hash: hex::encode(job.terms_hash),
            terms_uri: String::new(),
            work: None,
            previous_results: vec![],
        };
        let keeper = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        job.keeper = Pubkey::from(keeper.verifying_key().to_bytes());
        let auth = EscrowAuthorization::sign(&req, b"{}", &keeper, 100, 60);
        (job, agent, req, auth, config)
    }

    #[test]
    fn a_request_the_escrow_pays_for_is_accepted() {
        let (job, agent, req, auth, config) = setup();
        assert_eq!(judge(&job, &agent, &req, &auth, &config, 100), Ok(()));
    }

    #[test]
    fn an_answer_is_replayed_only_while_its_milestone_is_unsettled() {
        let (mut job, ..) = setup();
        assert_eq!(judge_replay(&job, 0), Ok(()));
        // submitted and awaiting approval or a dispute: the keeper may still need it
        job.milestones_mut()[0].state = MilestoneState::Submitted;
        assert_eq!(judge_replay(&job, 0), Ok(()));
        job.milestones_mut()[0].state = MilestoneState::Released;
        assert_eq!(judge_replay(&job, 0), Err(Refusal::Settled { index: 0, state: "released".into() }));
        assert_eq!(judge_replay(&job, 1), Ok(()), "the next milestone's answer is still owed");
        assert_eq!(judge_replay(&job, 2), Err(Refusal::NoMilestone(2)));
        let ended = Job { status: JobStatus::Cancelled, ..job };
        assert_eq!(judge_replay(&ended, 1), Err(Refusal::NotFunded("cancelled".into())));
    }

    #[test]
    fn acceptance_is_judged_like_the_work_it_binds() {
        let (job, agent, _, _, config) = setup();
        let open = Job { accepted_at: 0, ..job };
        assert_eq!(judge_acceptance(&open, &agent, &config, 100), Ok(()));
        let created = Job { status: JobStatus::Created, ..open };
        assert_eq!(judge_acceptance(&created, &agent, &config, 100), Ok(()), "before funding too");
        assert_eq!(judge_acceptance(&job, &agent, &config, 100), Err(Refusal::AlreadyAccepted));
        let done = Job { status: JobStatus::Completed, ..open };
        assert_eq!(judge_acceptance(&done, &agent, &config, 100), Err(Refusal::NotOpen("completed".into())));
        // every milestone must meet the price, not only the first
        let dear = AgentConfig { price: 1_001, ..config.clone() };
        assert_eq!(judge_acceptance(&open, &agent, &dear, 100), Err(Refusal::BelowPrice { pay: 1_000, price: 1_001 }));
        assert!(matches!(
            judge_acceptance(&open, &agent, &config, 9_990),
            Err(Refusal::DeadlineTooClose { left: 10, need: 60 })
        ));
        // the policy: a short step, a keeper not listed, an unarbitrated approval
        let slow = agentrail_client::consent::AgentPolicy { min_step_secs: 601, ..config.policy.clone() };
        let slow = AgentConfig { policy: slow, ..config.clone() };
        assert!(matches!(judge_acceptance(&open, &agent, &slow, 100), Err(Refusal::OutsidePolicy(_))));
        let mut approval = open;
        approval.milestones_mut()[1].requires_approval = 1;
        let strict = agentrail_client::consent::AgentPolicy { min_review_secs: 0, ..Default::default() };
        let strict = AgentConfig { policy: strict, ..config.clone() };
        let err = judge_acceptance(&approval, &agent, &strict, 100).unwrap_err();
        assert!(err.to_string().contains("without an arbiter"), "{err}");
        let other = Job { agent: Pubkey::new_unique(), ..open };
        assert!(matches!(judge_acceptance(&other, &agent, &config, 100), Err(Refusal::OtherAgent(_))));
    }

    #[test]
    fn every_refusal_names_its_reason() {
        let (job, agent, req, auth, config) = setup();
        let check = |job: &Job, agent: &Agent, req: &StepRequest, config: &AgentConfig| {
            judge(job, agent, req, &auth, config, 100).unwrap_err()
        };
        let mut j = job;
        j.status = JobStatus::Created;
        assert_eq!(check(&j, &agent, &req, &config), Refusal::NotFunded("created".into()));
        let other = Pubkey::new_unique();
        let j = Job { agent: other, ..job };
        assert_eq!(check(&j, &agent, &req, &config), Refusal::OtherAgent(other.to_string()));
        let j = Job { agent_version_seq: 2, ..job };
        assert_eq!(check(&j, &agent, &req, &config), Refusal::OtherVersion { pinned: 2, current: 1 });
        let j = Job { keeper: other, ..job };
        assert!(matches!(check(&j, &agent, &req, &config), Refusal::OtherKeeper { .. }));
        let mut j = job;
        j.milestones_mut()[0].started_at = 0;
        assert_eq!(check(&j, &agent, &req, &config), Refusal::NotStarted(0));
        // a job this agent never accepted gets no work, whoever keeps it
        let j = Job { accepted_at: 0, ..job };
        assert_eq!(check(&j, &agent, &req, &config), Refusal::NotAccepted);
        // nor one outside the policy it publishes (its keeper here)
        let picky = agentrail_client::consent::AgentPolicy {
            keepers: Some(vec![Pubkey::new_unique().to_string()]),
            ..config.policy.clone()
        };
        let picky = AgentConfig { policy: picky, ..config.clone() };
        assert!(matches!(check(&job, &agent, &req, &picky), Refusal::OutsidePolicy(why) if why.contains("keeper")));
        let later = StepRequest { milestone: 1, ..req.clone() };
        assert!(matches!(check(&job, &agent, &later, &config), Refusal::NotPending { index: 1, .. }));
        let mut j = job;
        j.milestones_mut()[0].state = MilestoneState::Released;
        assert!(matches!(check(&j, &agent, &req, &config), Refusal::NotPending { index: 0, .. }));
        // the agent is paid the whole amount (the 2.5% fee is the poster's, on top): a price of
        // exactly the amount is met, one more is not
        let exact = AgentConfig { price: 1_000, ..config.clone() };
        assert_eq!(judge(&job, &agent, &req, &auth, &exact, 100), Ok(()));
        let dear = AgentConfig { price: 1_001, ..config.clone() };
        assert_eq!(check(&job, &agent, &req, &dear), Refusal::BelowPrice { pay: 1_000, price: 1_001 });
        // a mint this agent does not take
        let j = Job { mint: other, ..job };
        let wrong = StepRequest { mint: other.to_string(), ..req.clone() };
        assert_eq!(check(&j, &agent, &wrong, &config), Refusal::WrongMint(other.to_string()));
        // the escrow holds another amount than the keeper signed for
        let mut j = job;
        j.milestones_mut()[0].amount = 999;
        assert_eq!(check(&j, &agent, &req, &config), Refusal::AmountMismatch { signed: 1_000, escrowed: 999 });
        // the registry pays somewhere else
        let moved = Agent { payout: other, ..agent.clone() };
        assert!(matches!(check(&job, &moved, &req, &config), Refusal::WrongPayout { .. }));
        let paused = Agent { status: AgentStatus::Paused, ..agent.clone() };
        assert_eq!(check(&job, &paused, &req, &config), Refusal::AgentInactive("paused".into()));
        // too close to the deadline (10 000) for the agent's margin
        assert_eq!(
            judge(&job, &agent, &req, &auth, &config, 9_990).unwrap_err(),
            Refusal::DeadlineTooClose { left: 10, need: 60 }
        );
        // an approval milestone must be submitted a review window (1 000) before the deadline
        let mut j = job;
        j.milestones_mut()[0].requires_approval = 1;
        assert_eq!(judge(&j, &agent, &req, &auth, &config, 8_940), Ok(()));
        assert_eq!(
            judge(&j, &agent, &req, &auth, &config, 8_950).unwrap_err(),
            Refusal::DeadlineTooClose { left: 50, need: 60 }
        );
        // pinned terms at an address the keeper reads, and no work in the request: the keeper
        // could not read them and would not submit the answer
        let uri = "https://terms.example/j.json".to_string();
        let j = Job { terms_hash: [3; 32], ..job };
        let bare = StepRequest { terms_hash: hex::encode([3; 32]), terms_uri: uri.clone(), ..req.clone() };
        assert_eq!(check(&j, &agent, &bare, &config), Refusal::NoWork(uri.clone()));
        let work: agentrail_client::terms::MilestoneTerms = serde_json::from_value(serde_json::json!({
            "title": "Swap", "instructions": "swap", "acceptance": ["landed"], "amount": "1"
        }))
        .unwrap();
        let with_work = StepRequest { work: Some(work), ..bare.clone() };
        assert_eq!(judge(&j, &agent, &with_work, &auth, &config, 100), Ok(()));
        let ipfs = StepRequest { terms_uri: "ipfs://bafy".into(), ..bare };
        assert_eq!(judge(&j, &agent, &ipfs, &auth, &config, 100), Ok(()), "terms no keeper reads over http");
        let j = Job { terms_hash: [1; 32], ..job };
        assert!(matches!(check(&j, &agent, &req, &config), Refusal::OtherTerms { .. }));
        // the registry names a signing key this agent does not sign with (or none it does)
        let key = ed25519_dalek::SigningKey::from_bytes(&[12; 32]);
        let registered = Agent { signing_key: Pubkey::new_unique(), ..agent.clone() };
        assert!(matches!(check(&job, &registered, &req, &config), Refusal::WrongSigningKey { .. }));
        let signing = config.clone().signing_key(key.clone());
        let err = check(&job, &agent, &req, &signing);
        assert!(err.to_string().contains("registry's signing key for this agent is none"), "{err}");
        let matching = Agent { signing_key: Pubkey::from(key.verifying_key().to_bytes()), ..agent.clone() };
        assert_eq!(judge(&job, &matching, &req, &auth, &signing, 100), Ok(()));
        for (reason, text) in [
            (Refusal::NotStarted(0), "not marked started"),
            (Refusal::BelowPrice { pay: 1, price: 2 }, "less than this agent's price"),
            (Refusal::NoWork("u".into()), "no work for this milestone"),
        ] {
            assert!(reason.to_string().contains(text), "{reason}");
        }
    }

    #[test]
    fn a_compensation_is_judged_against_how_the_job_ended() {
        let (mut job, _, req, auth, config) = setup();
        let comp = CompensationRequest {
            schema: agentrail_client::x402::COMPENSATE_SCHEMA.into(),
            job: req.job.clone(),
            milestone: 0,
            agent: req.agent.clone(),
            mint: req.mint.clone(),
            terms_hash: req.terms_hash.clone(),
            terms_uri: String::new(),
            undoes: hex::encode([4; 32]),
            work: agentrail_client::terms::Compensation {
                instructions: "undo".into(),
                inputs: serde_json::Value::Null,
                paid: false,
            },
        };
        let judge = |job: &Job, comp: &CompensationRequest| judge_compensation(job, comp, &auth, &config);
        job.submit(0, [4; 32], 10).unwrap();
        job.release(0).unwrap();
        assert!(matches!(judge(&job, &comp), Err(Refusal::NothingToUndo(s)) if s == "funded"), "still running");
        job.refund_where(|i, _| i == 1).unwrap();
        job.status = JobStatus::Completed;
        assert_eq!(judge(&job, &comp), Ok(()));
        let other = CompensationRequest { undoes: hex::encode([5; 32]), ..comp.clone() };
        assert!(matches!(judge(&job, &other), Err(Refusal::OtherReceipt { index: 0, .. })));
        let theirs = Job { agent: Pubkey::new_unique(), ..job };
        assert!(matches!(judge(&theirs, &comp), Err(Refusal::OtherAgent(_))));
        let other_keeper = Job { keeper: Pubkey::new_unique(), ..job };
        assert!(matches!(judge(&other_keeper, &comp), Err(Refusal::OtherKeeper { .. })));
        let mut all_paid = job;
        all_paid.milestones_mut()[1].state = MilestoneState::Released;
        assert!(matches!(judge(&all_paid, &comp), Err(Refusal::NothingToUndo(_))), "ended well");
    }
}
