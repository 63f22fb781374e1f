//! Turn an async function into an agent paid from Agentrail's on-chain escrow, over x402 v2
//! (the `agentrail-escrow` scheme of [`agentrail_client::x402`]).
//!
//! The service answers a request that carries no payment with `402` and a `PAYMENT-REQUIRED`
//! offer; a request with `PAYMENT-SIGNATURE` is worked only after the agent has checked, itself:
//! the keeper's signature and its freshness, that the signature binds this exact request, and,
//! on-chain, that the job is funded, names this agent at its current version, is kept by the
//! signer, that the milestone is the pending one (started, for the first), that the escrow
//! covers the price in an accepted mint, that the registry pays this agent's wallet, that the
//! deadline leaves time and that the terms are the job's. Each refusal names its reason. The
//! work runs once per idempotency key: a retry gets the stored answer.
//!
//! With [`AgentConfig::signing_key`] (the key registered on-chain with `agentrail agent
//! set-signing-key`) every answer is co-signed in `AGENTRAIL-OUTPUT-SIGNATURE`, which keepers
//! require from agents that registered a key and keep in the receipt. With
//! [`PaidAgent::on_compensate`] the agent also undoes executed milestones of jobs that ended
//! with a refund, when their keeper asks (`agentrail.compensate/v1`), once per milestone.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use agentrail_agent::{AgentConfig, PaidAgent, StepFailure};
//! use agentrail_client::x402::StepAnswer;
//!
//! let config = AgentConfig::new("http://127.0.0.1:8899", "AgentPda...".parse()?, "Payout...".parse()?)
//!     .price(1_000)
//!     .mint("Mint...".parse()?)
//!     .answers("answers.sqlite");
//! let agent = PaidAgent::new(config, |step| async move {
//!     let quote = format!("quoted milestone {} of {}", step.request.milestone, step.request.job);
//!     Ok::<_, StepFailure>(StepAnswer { output: serde_json::json!({ "quote": quote }), cost: 0, tx_signatures: vec![] })
//! })
//! .await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7070").await?;
//! axum::serve(listener, agent.router()).await?;
//! # Ok(()) }
//! ```

pub mod answers;
pub mod escrow;
pub mod own_submission;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::answers::{Answer, StoreError};

use agentrail::state::Job;
use agentrail_client::consent::Acceptance;
use agentrail_client::receipt::OutputClaim;
use agentrail_client::unix_now;
use agentrail_client::x402::{
    self, COMPENSATE_SCHEMA, CompensationRequest, EscrowPayment, IDEMPOTENCY_KEY, OUTPUT_SIGNATURE, Offer,
    PAYMENT_REQUIRED, PAYMENT_RESPONSE, PAYMENT_SIGNATURE, SCHEME, STEP_SCHEMA, StepAnswer, StepRequest,
};
use anchor_lang::prelude::Pubkey;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;
use sha2::{Digest, Sha256};

use answers::{AnswerStore, SqliteAnswers};
use escrow::EscrowReader;

pub use agentrail_client::consent::AgentPolicy;
pub use agentrail_client::x402::{ACCEPT_PATH, MANIFEST_PATH};

/// How the agent is paid and what it accepts.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// JSON-RPC of the cluster the jobs live on.
    pub rpc_url: String,
    /// The Agentrail program's id on that cluster; `None` is the built-in localnet id, which
    /// [`PaidAgent::new`] accepts only for an `rpc_url` on this machine.
    pub program_id: Option<Pubkey>,
    /// This agent's registry account.
    pub agent: Pubkey,
    /// The payout wallet the registry must name.
    pub pay_to: Pubkey,
    /// The least a milestone must pay after the protocol fee (base units).
    pub price: u64,
    /// The mints accepted.
    pub mints: Vec<Pubkey>,
    /// The least time the job's deadline must leave, seconds.
    pub min_time_left_secs: i64,
    /// How long the work may take, seconds (advertised in the offer).
    pub max_timeout_secs: u64,
    /// SQLite file of the stored answers.
    pub answers_path: String,
    /// The manifest served at [`MANIFEST_PATH`], verbatim.
    pub manifest: Option<Vec<u8>>,
    /// The public URL of the step endpoint (named in the 402 offer).
    pub resource_url: String,
    /// The key the agent co-signs its outputs with: the one it registered on-chain
    /// (`agentrail agent set-signing-key`). Must match the registry: keepers refuse unsigned or
    /// mis-signed answers from an agent that registered a key.
    pub signing_key: Option<ed25519_dalek::SigningKey>,
    /// Whether (and how) the agent submits its own work when the keeper has not
    /// ([`own_submission`]); needs [`AgentConfig::signing_key`].
    pub own_submission: Option<own_submission::OwnSubmission>,
    /// Which jobs the agent accepts. A manifest that declares a `"policy"` replaces it when the
    /// agent starts: what the agent publishes is what it enforces.
    pub policy: AgentPolicy,
}

impl AgentConfig {
    /// A configuration for agent `agent` paid to `pay_to` on the cluster at `rpc_url`: price 0,
    /// no mint accepted yet, a minute of deadline margin, answers in `agent-answers.sqlite`.
    pub fn new(rpc_url: &str, agent: Pubkey, pay_to: Pubkey) -> Self {
        AgentConfig {
            rpc_url: rpc_url.into(),
            program_id: None,
            agent,
            pay_to,
            price: 0,
            mints: vec![],
            min_time_left_secs: 60,
            max_timeout_secs: 60,
            answers_path: "agent-answers.sqlite".into(),
            manifest: None,
            resource_url: "/step".into(),
            signing_key: None,
            policy: AgentPolicy::default(),
            own_submission: None,
        }
    }
    /// Submits its own answer (signed by the signing key, the fee paid by `fee_payer`) when
    /// the milestone is still pending `after` it answered: the keeper cannot then fail the
    /// step by withholding the answer.
    pub fn submit_own_work(mut self, fee_payer: solana_sdk::signature::Keypair, after: std::time::Duration) -> Self {
        self.own_submission = Some(own_submission::OwnSubmission { fee_payer: Arc::new(fee_payer), after });
        self
    }
    /// Accepts only jobs inside `policy` (unless the manifest declares one).
    pub fn policy(mut self, policy: AgentPolicy) -> Self {
        self.policy = policy;
        self
    }
    /// Serves the deployment of the program at `id` (needed on any cluster but a local one).
    pub fn program_id(mut self, id: Pubkey) -> Self {
        self.program_id = Some(id);
        self
    }
    /// Co-signs every answer with `key` (the signing key registered for the agent).
    pub fn signing_key(mut self, key: ed25519_dalek::SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }
    /// Sets the least net pay per step.
    pub fn price(mut self, price: u64) -> Self {
        self.price = price;
        self
    }
    /// Accepts `mint`.
    pub fn mint(mut self, mint: Pubkey) -> Self {
        self.mints.push(mint);
        self
    }
    /// Keeps answers in the SQLite file `path`.
    pub fn answers(mut self, path: &str) -> Self {
        self.answers_path = path.into();
        self
    }
    /// Serves `manifest` at [`MANIFEST_PATH`].
    pub fn manifest(mut self, manifest: Vec<u8>) -> Self {
        self.manifest = Some(manifest);
        self
    }
    /// Names the public URL of the step endpoint in the offer.
    pub fn resource_url(mut self, url: &str) -> Self {
        self.resource_url = url.into();
        self
    }
}

/// What the work function receives: the request and the job as the chain holds it.
pub struct Step {
    pub request: StepRequest,
    pub job: Job,
}

/// The work failed: answered with 500 and the reason; nothing is stored, so it may be retried.
#[derive(Debug)]
pub struct StepFailure(pub String);

/// Starting the agent failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] answers::StoreError),
    #[error(transparent)]
    Chain(#[from] escrow::ChainUnavailable),
    #[error("the agent accepts no mint: add one with AgentConfig::mint")]
    NoMint,
    #[error(transparent)]
    ProgramId(#[from] agentrail_client::program::ProgramIdError),
    #[error("{0}")]
    Policy(String),
}

type Work = dyn Fn(Step) -> BoxFuture<'static, Result<StepAnswer, StepFailure>> + Send + Sync;

/// What the compensation function receives: the request (the step's receipt hash, the
/// compensation from the terms) and the job as the chain holds it.
pub struct Compensate {
    pub request: CompensationRequest,
    pub job: Job,
}

type CompensateFn = dyn Fn(Compensate) -> BoxFuture<'static, Result<StepAnswer, StepFailure>> + Send + Sync;

/// Counters the agent exposes at `/metrics` (Prometheus text).
#[derive(Default)]
struct Counters {
    /// Requests by outcome.
    outcomes: std::sync::Mutex<HashMap<&'static str, u64>>,
    /// Times the work function ran.
    executions: AtomicU64,
    /// Times the compensation function ran.
    compensations: AtomicU64,
}

impl Counters {
    fn count(&self, outcome: &'static str) {
        *self.outcomes.lock().unwrap_or_else(|p| p.into_inner()).entry(outcome).or_default() += 1;
    }
}

/// A paid agent: the work function behind the protocol.
pub struct PaidAgent {
    config: AgentConfig,
    network: String,
    chain: EscrowReader,
    answers: Box<dyn AnswerStore>,
    work: Box<Work>,
    /// Undoes executed milestones when the keeper asks ([`PaidAgent::on_compensate`]).
    compensate: std::sync::OnceLock<Box<CompensateFn>>,
    counters: Counters,
    /// One lock per idempotency key in use: the second of two concurrent requests for a step
    /// waits for the first and gets its answer.
    running: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    /// Requests being checked against the chain at once ([`MAX_VERIFYING`]): anyone can sign a
    /// request, and each unanswered one costs an RPC read.
    verifying: tokio::sync::Semaphore,
    /// Answers waited on for an own submission ([`own_submission::MAX_WATCHED`]).
    watching: Arc<tokio::sync::Semaphore>,
}

/// Most requests checked against the chain at once; more are told to come back (503).
pub const MAX_VERIFYING: usize = 32;

impl PaidAgent {
    /// An agent running `work` for paid steps, its answers in the configured SQLite file.
    pub async fn new<F, Fut>(config: AgentConfig, work: F) -> Result<Arc<Self>, AgentError>
    where
        F: Fn(Step) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<StepAnswer, StepFailure>> + Send + 'static,
    {
        let answers = SqliteAnswers::open(&config.answers_path).await?;
        Self::with_store(config, Box::new(answers), work).await
    }

    /// [`PaidAgent::new`] with answers kept in `answers`.
    pub async fn with_store<F, Fut>(
        config: AgentConfig,
        answers: Box<dyn AnswerStore>,
        work: F,
    ) -> Result<Arc<Self>, AgentError>
    where
        F: Fn(Step) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<StepAnswer, StepFailure>> + Send + 'static,
    {
        if config.mints.is_empty() {
            return Err(AgentError::NoMint);
        }
        let mut config = config;
        // what the agent publishes is what it enforces
        let published = config.manifest.as_deref().map(AgentPolicy::from_manifest).transpose();
        if let Some(policy) = published.map_err(AgentError::Policy)?.flatten() {
            config.policy = policy;
        }
        agentrail_client::use_program_id(agentrail_client::program_id_for(
            &config.rpc_url,
            config.program_id,
            "AgentConfig::program_id",
        )?)?;
        let chain = EscrowReader::new(&config.rpc_url);
        let network = x402::network(&chain.genesis_hash().await?);
        Ok(Arc::new(PaidAgent {
            config,
            network,
            chain,
            answers,
            work: Box::new(move |step| Box::pin(work(step))),
            compensate: std::sync::OnceLock::new(),
            counters: Counters::default(),
            running: Default::default(),
            verifying: tokio::sync::Semaphore::new(MAX_VERIFYING),
            watching: Arc::new(tokio::sync::Semaphore::new(own_submission::MAX_WATCHED)),
        }))
    }

    /// Times the work function has run (each idempotency key at most once).
    pub fn executions(&self) -> u64 {
        self.counters.executions.load(Ordering::SeqCst)
    }

    /// Undoes executed milestones with `f` when the job's keeper asks (an
    /// `agentrail.compensate/v1` request to the same endpoint), once per milestone: a stored
    /// answer is replayed, a failure may be retried. Set once; returns `false` if it was set
    /// already. Without it, compensation requests are answered 501.
    pub fn on_compensate<F, Fut>(&self, f: F) -> bool
    where
        F: Fn(Compensate) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<StepAnswer, StepFailure>> + Send + 'static,
    {
        self.compensate.set(Box::new(move |c| Box::pin(f(c)))).is_ok()
    }

    /// The service: `POST /step`, `POST` [`ACCEPT_PATH`], `GET` [`MANIFEST_PATH`],
    /// `GET /metrics`.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/step", post(step))
            .route(ACCEPT_PATH, post(accept))
            .route(MANIFEST_PATH, get(manifest))
            .route("/metrics", get(metrics))
            .with_state(self.clone())
    }

    /// This agent's offers, one per accepted mint.
    pub fn offers(&self) -> Vec<Offer> {
        self.config
            .mints
            .iter()
            .map(|mint| Offer {
                network: self.network.clone(),
                mint: *mint,
                price: self.config.price,
                pay_to: self.config.pay_to,
                max_timeout_secs: self.config.max_timeout_secs,
            })
            .collect()
    }

    /// A 402 naming `why`, with the offers in `PAYMENT-REQUIRED` (and as the JSON body).
    fn payment_required(&self, outcome: &'static str, why: String) -> Response {
        self.counters.count(outcome);
        tracing::info!(outcome, reason = %why, "refused: payment required");
        let required = x402::payment_required(&self.config.resource_url, &self.offers(), Some(why));
        let mut response = (StatusCode::PAYMENT_REQUIRED, axum::Json(&required)).into_response();
        if let Ok(v) = HeaderValue::from_str(&x402::encode_header(&required)) {
            response.headers_mut().insert(PAYMENT_REQUIRED, v);
        }
        response
    }

    fn lock_for(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = running.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        // bounded: entries nobody holds any more are dropped as new keys arrive
        running.retain(|_, w| w.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        running.insert(key.to_string(), Arc::downgrade(&lock));
        lock
    }

    /// The answer stored under `key` if it may go to `keeper`'s authorization of the request
    /// `request_hash`; `Err` with the response for one made for another keeper or request
    /// (refused as `refused_as`: a stranger learns nothing), or for a store that failed.
    async fn stored_for(
        &self,
        key: &str,
        keeper: &str,
        request_hash: &str,
        refused_as: fn(&Self, String) -> Response,
    ) -> Result<Option<Vec<u8>>, Response> {
        let unavailable = |e: StoreError| {
            self.counters.count("unavailable");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        };
        let Some(stored) = self.answers.get(key).await.map_err(unavailable)? else { return Ok(None) };
        let answer = Answer::decode(&stored).map_err(unavailable)?;
        if !answer.replays_to(keeper, request_hash) {
            self.counters.count("replay_refused");
            return Err(refused_as(self, format!("{key} was answered for another request")));
        }
        Ok(Some(answer.bytes))
    }

    /// Watches `answer` to `request` for an own submission, when the agent submits its own work:
    /// bounded by [`own_submission::MAX_WATCHED`] (past it the answer is left to the keeper).
    fn watch_own_submission(self: &Arc<Self>, request: &StepRequest, answer: &[u8]) {
        let (Some(how), Some(key)) = (self.config.own_submission.clone(), self.config.signing_key.as_ref()) else {
            return;
        };
        let Ok(job) = request.job.parse::<Pubkey>() else { return };
        let Ok(permit) = self.watching.clone().try_acquire_owned() else {
            tracing::warn!(%job, "too many answers awaiting an own submission: this one is left to the keeper");
            return;
        };
        let signer = solana_sdk::signature::Keypair::new_from_array(key.to_bytes());
        let answered =
            own_submission::Answered { job, milestone: request.milestone, result_hash: Sha256::digest(answer).into() };
        let me = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let (milestone, agent) = (answered.milestone, me.config.agent);
            match own_submission::submit_when_due(&me.config.rpc_url, &how, &signer, &agent, answered).await {
                Ok(signature) => {
                    me.counters.count("submitted_own");
                    tracing::info!(%job, milestone, %signature, "the keeper had not submitted: submitted the answer itself");
                }
                Err(own_submission::NotSubmitted::Settled) => {}
                Err(e) => {
                    me.counters.count("own_submission_failed");
                    tracing::warn!(%job, milestone, error = %e, "could not submit the answer itself");
                }
            }
        });
    }

    /// A permit to check a request against the chain; `None` when [`MAX_VERIFYING`] are.
    fn verify_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.verifying.try_acquire().ok()
    }

    /// The 503 that asks a request to come back when no permit is free.
    fn busy(&self) -> Response {
        self.counters.count("busy");
        error(StatusCode::SERVICE_UNAVAILABLE, format!("{MAX_VERIFYING} requests are being checked; retry"))
    }

    /// A paid answer: the stored bytes and `PAYMENT-RESPONSE`.
    fn paid(&self, request: &StepRequest, payer: &str, answer: Vec<u8>, replay: bool) -> Response {
        let cosignature = self.cosign(request, &answer);
        let mut response = (StatusCode::OK, [("content-type", "application/json")], answer).into_response();
        let settle = x402::settle_response(&self.network, &request.job, payer);
        if let Ok(v) = HeaderValue::from_str(&x402::encode_header(&settle)) {
            response.headers_mut().insert(PAYMENT_RESPONSE, v);
        }
        if replay {
            response.headers_mut().insert("Idempotent-Replayed", HeaderValue::from_static("true"));
        }
        if let Some(cosignature) = cosignature
            && let Ok(v) = HeaderValue::from_str(&x402::encode_header(&cosignature))
        {
            response.headers_mut().insert(OUTPUT_SIGNATURE, v);
        }
        response
    }

    /// The agent's co-signature of `answer` for `request`'s step ([`OUTPUT_SIGNATURE`]), when
    /// it signs: over the job, milestone, terms hash, the answer's exact bytes and its cost. A
    /// replay signs the same bytes again (ed25519 is deterministic: the same signature).
    fn cosign(&self, request: &StepRequest, answer: &[u8]) -> Option<x402::OutputSignature> {
        let key = self.config.signing_key.as_ref()?;
        let cost = serde_json::from_slice::<StepAnswer>(answer).ok()?.cost;
        let claim = OutputClaim {
            job: request.job.parse().ok()?,
            milestone: request.milestone,
            terms_hash: hex::decode(&request.terms_hash).ok()?.try_into().ok()?,
            output_hash: Sha256::digest(answer).into(),
            cost,
        };
        Some(x402::OutputSignature::from(&claim.sign(key)))
    }
}

fn error(status: StatusCode, why: String) -> Response {
    (status, axum::Json(serde_json::json!({ "error": why }))).into_response()
}

/// The body's `schema`, read before the body is parsed as one kind of request.
#[derive(serde::Deserialize)]
struct SchemaOnly {
    schema: String,
}

async fn step(State(agent): State<Arc<PaidAgent>>, headers: HeaderMap, body: Bytes) -> Response {
    if serde_json::from_slice::<SchemaOnly>(&body).is_ok_and(|s| s.schema == COMPENSATE_SCHEMA) {
        return compensate(agent, headers, body).await;
    }
    let request: StepRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            agent.counters.count("bad_request");
            return error(StatusCode::BAD_REQUEST, format!("the body is not a {STEP_SCHEMA} request: {e}"));
        }
    };
    if request.schema != STEP_SCHEMA {
        agent.counters.count("bad_request");
        return error(StatusCode::BAD_REQUEST, format!("unknown schema {:?}, expected {STEP_SCHEMA}", request.schema));
    }
    let Some(header) = headers.get(PAYMENT_SIGNATURE).and_then(|h| h.to_str().ok()) else {
        return agent.payment_required("no_payment", format!("no {PAYMENT_SIGNATURE}: this step is paid from escrow"));
    };
    let payment: EscrowPayment = match x402::decode_header(PAYMENT_SIGNATURE, header) {
        Ok(p) => p,
        Err(e) => return agent.payment_required("bad_payment", e.to_string()),
    };
    if payment.accepted.scheme != SCHEME || payment.accepted.network.to_string() != agent.network {
        let why = format!(
            "the payment is {} on {}; this agent takes {SCHEME} on {}",
            payment.accepted.scheme, payment.accepted.network, agent.network
        );
        return agent.payment_required("bad_payment", why);
    }
    let auth = payment.payload;
    if let Err(e) = auth.verify(&request, &body, unix_now()) {
        return agent.payment_required("bad_payment", e.to_string());
    }
    // the header and the signed key agree, or the header is absent
    if let Some(h) = headers.get(IDEMPOTENCY_KEY).and_then(|h| h.to_str().ok())
        && h != auth.idempotency_key
    {
        return agent.payment_required("bad_payment", format!("{IDEMPOTENCY_KEY} {h} is not the signed key"));
    }
    // a stored answer is replayed only to the keeper and request it was made for: checked
    // before any lock or RPC read, and again under the lock, where concurrent requests for one
    // key queue (never twice: the second finds the first's answer stored); then only while
    // its milestone is unsettled (one job read, bounded like every verification)
    let refused = |agent: &PaidAgent, why: String| agent.payment_required("refused", why);
    let key = auth.idempotency_key.clone();
    let mut held = None;
    loop {
        match agent.stored_for(&key, &auth.keeper, &auth.request_hash, refused).await {
            Ok(Some(answer)) => {
                let Some(permit) = agent.verify_permit() else { return agent.busy() };
                let replayable = agent.chain.check_replay(&request).await;
                drop(permit);
                return match replayable {
                    Ok(Ok(())) => {
                        agent.counters.count("replayed");
                        agent.paid(&request, &auth.keeper, answer, true)
                    }
                    Ok(Err(refusal)) => {
                        agent.counters.count("replay_refused");
                        refused(&agent, refusal.to_string())
                    }
                    Err(e) => {
                        agent.counters.count("unavailable");
                        error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                    }
                };
            }
            Err(response) => return response,
            Ok(None) if held.is_some() => break,
            Ok(None) => held = Some(agent.lock_for(&key).lock_owned().await),
        }
    }
    let Some(permit) = agent.verify_permit() else { return agent.busy() };
    let checked = agent.chain.check(&request, &auth, &agent.config, unix_now()).await;
    drop(permit);
    let job = match checked {
        Ok(Ok(job)) => job,
        Ok(Err(refusal)) => return agent.payment_required("refused", refusal.to_string()),
        Err(e) => {
            agent.counters.count("unavailable");
            return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
    };
    agent.counters.executions.fetch_add(1, Ordering::SeqCst);
    match (agent.work)(Step { request: request.clone(), job }).await {
        Ok(answer) => {
            let bytes = serde_json::to_vec(&answer).unwrap_or_default();
            let stored = Answer { keeper: auth.keeper.clone(), request_hash: auth.request_hash.clone(), bytes };
            // stored before it is sent: a keeper that never receives it gets it on retry
            if let Err(e) = agent.answers.put(&key, &stored.encode()).await {
                agent.counters.count("unavailable");
                return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            agent.counters.count("paid");
            agent.watch_own_submission(&request, &stored.bytes);
            agent.paid(&request, &auth.keeper, stored.bytes, false)
        }
        Err(StepFailure(why)) => {
            agent.counters.count("failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, why)
        }
    }
}

/// An acceptance request: the job is read from the chain and judged as a step would be
/// ([`escrow::judge_acceptance`]: this agent, its version, mint, payout, signing key, price and
/// published policy); inside them, the agent's signing key signs the job's consent digest for
/// the keeper to carry on-chain. Refusals are 422 naming the reason; an agent without a signing
/// key accepts by its own transaction instead (`agentrail job accept`).
async fn accept(State(agent): State<Arc<PaidAgent>>, body: Bytes) -> Response {
    let request: x402::AcceptRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            agent.counters.count("bad_request");
            return error(StatusCode::BAD_REQUEST, format!("the body is not an acceptance request: {e}"));
        }
    };
    let Some(key) = agent.config.signing_key.as_ref() else {
        agent.counters.count("declined");
        let why =
            "this agent has no signing key: it accepts jobs by its authority's transaction (agentrail job accept)";
        return error(StatusCode::UNPROCESSABLE_ENTITY, why.into());
    };
    let Some(permit) = agent.verify_permit() else { return agent.busy() };
    let checked = agent.chain.check_acceptance(&request.job, &agent.config, unix_now()).await;
    drop(permit);
    match checked {
        Ok(Ok((job_key, job))) => {
            agent.counters.count("accepted");
            tracing::info!(job = %job_key, "accepted the job's terms");
            axum::Json(Acceptance::sign(job_key, &job, key)).into_response()
        }
        Ok(Err(refusal)) => {
            agent.counters.count("declined");
            tracing::info!(job = %request.job, reason = %refusal, "declined the job");
            error(StatusCode::UNPROCESSABLE_ENTITY, refusal.to_string())
        }
        Err(e) => {
            agent.counters.count("unavailable");
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

/// A compensation request: verified like a step (the keeper's signature, in the compensation
/// domain; then the chain: the job ended against this agent and the milestone was submitted
/// with the receipt it names), run once per milestone, its answer stored first. Refusals are
/// 403 (no payment is involved), naming the reason.
async fn compensate(agent: Arc<PaidAgent>, headers: HeaderMap, body: Bytes) -> Response {
    let request: CompensationRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            agent.counters.count("bad_request");
            return error(StatusCode::BAD_REQUEST, format!("the body is not a {COMPENSATE_SCHEMA} request: {e}"));
        }
    };
    let Some(undo) = agent.compensate.get() else {
        agent.counters.count("no_compensation");
        return error(StatusCode::NOT_IMPLEMENTED, "this agent does not compensate".into());
    };
    let refused = |outcome: &'static str, why: String| {
        agent.counters.count(outcome);
        tracing::info!(outcome, reason = %why, "compensation refused");
        error(StatusCode::FORBIDDEN, why)
    };
    let Some(header) = headers.get(x402::AUTHORIZATION).and_then(|h| h.to_str().ok()) else {
        return refused(
            "bad_authorization",
            format!("no {}: only the job's keeper asks for compensation", x402::AUTHORIZATION),
        );
    };
    let auth: x402::EscrowAuthorization = match x402::decode_header(x402::AUTHORIZATION, header) {
        Ok(a) => a,
        Err(e) => return refused("bad_authorization", e.to_string()),
    };
    if let Err(e) = auth.verify_compensation(&request, &body, unix_now()) {
        return refused("bad_authorization", e.to_string());
    }
    let key = request.idempotency_key();
    let forbidden = |_: &PaidAgent, why: String| {
        tracing::info!(outcome = "replay_refused", reason = %why, "compensation refused");
        error(StatusCode::FORBIDDEN, why)
    };
    let replay = |answer: Vec<u8>| {
        agent.counters.count("compensation_replayed");
        let mut response = (StatusCode::OK, [("content-type", "application/json")], answer).into_response();
        response.headers_mut().insert("Idempotent-Replayed", HeaderValue::from_static("true"));
        response
    };
    // as for a step: a stored answer goes only to the keeper and request it was made for,
    // checked before the lock and again under it
    let mut held = None;
    loop {
        match agent.stored_for(&key, &auth.keeper, &auth.request_hash, forbidden).await {
            Ok(Some(answer)) => return replay(answer),
            Err(response) => return response,
            Ok(None) if held.is_some() => break,
            Ok(None) => held = Some(agent.lock_for(&key).lock_owned().await),
        }
    }
    let Some(permit) = agent.verify_permit() else { return agent.busy() };
    let checked = agent.chain.check_compensation(&request, &auth, &agent.config).await;
    drop(permit);
    let job = match checked {
        Ok(Ok(job)) => job,
        Ok(Err(refusal)) => return refused("compensation_refused", refusal.to_string()),
        Err(e) => {
            agent.counters.count("unavailable");
            return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
    };
    agent.counters.compensations.fetch_add(1, Ordering::SeqCst);
    match undo(Compensate { request, job }).await {
        Ok(answer) => {
            let bytes = serde_json::to_vec(&answer).unwrap_or_default();
            let stored = Answer { keeper: auth.keeper.clone(), request_hash: auth.request_hash.clone(), bytes };
            // stored before it is sent: a keeper that never receives it gets it on retry
            if let Err(e) = agent.answers.put(&key, &stored.encode()).await {
                agent.counters.count("unavailable");
                return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            }
            agent.counters.count("compensated");
            (StatusCode::OK, [("content-type", "application/json")], stored.bytes).into_response()
        }
        Err(StepFailure(why)) => {
            agent.counters.count("compensation_failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, why)
        }
    }
}

async fn manifest(State(agent): State<Arc<PaidAgent>>) -> Response {
    match &agent.config.manifest {
        Some(m) => (StatusCode::OK, [("content-type", "application/json")], m.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "this agent serves no manifest".into()),
    }
}

async fn metrics(State(agent): State<Arc<PaidAgent>>) -> String {
    let mut out = String::from(
        "# HELP agentrail_agent_requests_total Step requests, by outcome.\n# TYPE agentrail_agent_requests_total counter\n",
    );
    let mut outcomes: Vec<_> =
        agent.counters.outcomes.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, v)| (*k, *v)).collect();
    outcomes.sort_unstable();
    for (outcome, n) in outcomes {
        out += &format!("agentrail_agent_requests_total{{outcome=\"{outcome}\"}} {n}\n");
    }
    out += &format!(
        "# HELP agentrail_agent_executions_total Times the work ran.\n# TYPE agentrail_agent_executions_total counter\nagentrail_agent_executions_total {}\n",
        agent.executions()
    );
    out += &format!(
        "# HELP agentrail_agent_compensations_total Times the compensation ran.\n# TYPE agentrail_agent_compensations_total counter\nagentrail_agent_compensations_total {}\n",
        agent.counters.compensations.load(Ordering::SeqCst)
    );
    out
}
