//! Executing a milestone's step off-chain. Pluggable behind [`Executor`]; the shipped
//! [`HttpExecutor`] POSTs the step to the agent's endpoint with a timeout and retries with
//! exponential backoff and jitter.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use agentrail_client::consent::Acceptance;
use agentrail_client::receipt::{OutputClaim, VendorSignature};
use agentrail_client::x402;
use anchor_lang::prelude::Pubkey;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What the keeper asks an agent to do: the protocol's request (the body it POSTs) and what
/// the keeper needs to pay for it.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRequest {
    /// The body, as [`agentrail_client::x402`] defines it.
    pub step: x402::StepRequest,
    /// The agent's endpoint (its registry metadata URI).
    pub endpoint: String,
    /// The agent's payout wallet: the offer the keeper accepts pays it.
    pub pay_to: String,
    /// What the milestone pays the agent after the protocol fee (base units).
    pub net_amount: u64,
    /// The signing key the agent registered on-chain, if any: its answers must then carry its
    /// co-signature ([`x402::OUTPUT_SIGNATURE`]) by this key, or they are refused.
    pub vendor_key: Option<anchor_lang::prelude::Pubkey>,
}

impl StepRequest {
    /// The exact body sent (its hash is the receipt's `inputs_hash` and is signed in the
    /// payment authorization).
    pub fn body(&self) -> Vec<u8> {
        // plain data: serialising it cannot fail
        serde_json::to_vec(&self.step).expect("a step request serialises")
    }

    /// Its idempotency key: one per job and milestone.
    pub fn idempotency_key(&self) -> String {
        self.step.idempotency_key()
    }
}

/// How the keeper pays for steps: its key signs each request's escrow authorization
/// (`PAYMENT-SIGNATURE`) for the cluster `network` (set once the keeper has read the
/// cluster's genesis hash, before any step runs).
pub struct Payer {
    pub key: ed25519_dalek::SigningKey,
    pub network: Arc<std::sync::OnceLock<String>>,
}

/// What the agent answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutput {
    /// The raw response body (hashed into the receipt).
    pub body: Vec<u8>,
    /// What the step cost, in base units.
    pub cost: u64,
    /// On-chain transactions the step executed.
    pub tx_signatures: Vec<[u8; 64]>,
    /// The agent's verified co-signature of the output, when it registered a signing key.
    pub vendor: Option<VendorSignature>,
}

pub use crate::step_error::StepError;

/// Most transaction signatures a step may report (what a receipt holds).
pub const MAX_TX_SIGNATURES: usize = agentrail_client::receipt::MAX_TX_SIGNATURES;

/// The JSON an agent returns. `output` is kept as raw text, never parsed into a tree: only its
/// bytes matter (they are hashed into the receipt), and a wide document would otherwise cost
/// many times its size in memory.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer<'a> {
    #[serde(borrow)]
    #[allow(dead_code)]
    output: &'a serde_json::value::RawValue,
    cost: u64,
    #[serde(default, alias = "txSignatures")]
    tx_signatures: Vec<String>,
}

/// Something that runs steps.
pub trait Executor: Send + Sync {
    /// Runs one attempt of `req`.
    fn execute<'a>(
        &'a self,
        req: &'a StepRequest,
    ) -> Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>>;

    /// The manifest the agent at `endpoint` serves at its origin's
    /// [`agentrail_client::x402::MANIFEST_PATH`] (its SHA-256 must be the registry's
    /// `manifest_hash` of the version the job pinned).
    fn manifest<'a>(
        &'a self,
        endpoint: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, StepError>> + Send + 'a>>;

    /// The document at `url` (a job's terms), at most `cap` bytes, under the step's rules
    /// (http(s) only: a job cannot make the keeper read its own files).
    fn document<'a>(
        &'a self,
        url: &'a str,
        cap: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, StepError>> + Send + 'a>>;

    /// Asks the agent at `endpoint` to undo a milestone ([`x402::CompensationRequest`]).
    fn compensate<'a>(
        &'a self,
        endpoint: &'a str,
        req: &'a x402::CompensationRequest,
    ) -> Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>>;

    /// Asks the agent at `endpoint` to accept `job` ([`x402::ACCEPT_PATH`] at its origin): its
    /// signed acceptance, which the caller checks against the chain before carrying it.
    fn acceptance<'a>(
        &'a self,
        endpoint: &'a str,
        job: &'a Pubkey,
    ) -> Pin<Box<dyn Future<Output = Result<Acceptance, StepError>> + Send + 'a>>;
}

pub use crate::retry::{RETRY_LATER_FIRST_REST, RETRY_LATER_LONGEST_REST, RetryPolicy, run_with_retries};

/// Largest acceptance (or refusal) the keeper reads.
pub const MAX_ACCEPTANCE_BYTES: usize = 4 * 1024;

/// Largest manifest the keeper reads.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;

pub use agentrail_client::net::is_public;

/// The resolver of the HTTP client: names the operator did not allow-list resolve to public
/// addresses only. Checking here, at connection time, also defeats DNS rebinding (a name that
/// resolved to a public address for a check and to 127.0.0.1 for the call).
struct PublicOnly {
    allow: Vec<String>,
}

/// A name that resolved to private addresses only.
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to private addresses only")]
struct PrivateName(String);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let trusted = self.allow.contains(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = addrs.into_iter().filter(|a| trusted || is_public(a.ip())).collect();
            if usable.is_empty() {
                return Err(Box::new(PrivateName(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// POSTs steps to agents' HTTP endpoints.
///
/// Hostile agents are expected: the whole exchange is bounded by `timeout`, the answer by
/// `max_body` bytes (read as it streams, never buffered past the cap), redirects are never
/// followed, and private destinations are refused unless their host is allow-listed. Every
/// attempt of one step carries the same `Idempotency-Key` (`<job>:<milestone>`), so an agent
/// can tell a retry from a new step.
pub struct HttpExecutor {
    client: reqwest::Client,
    timeout: Duration,
    allow: Vec<String>,
    max_body: usize,
    payer: Option<Payer>,
}

/// Most characters of text an agent chose (a refusal's reason, a redirect's target) kept in
/// errors, logs and the store.
const MAX_AGENT_TEXT: usize = 300;

/// `text` an agent chose, cut to [`MAX_AGENT_TEXT`] characters.
fn agent_text(text: &str) -> String {
    text.chars().take(MAX_AGENT_TEXT).collect()
}

/// The error for a redirect answer, naming where it pointed (cut: the agent chose it).
fn redirected(response: &reqwest::Response) -> StepError {
    let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or("");
    StepError::Redirect(agent_text(to))
}

/// Default cap on an agent's answer: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

impl HttpExecutor {
    /// An executor with a per-request `timeout` that calls only hosts in `allow` (any public
    /// host when empty) and reads at most `max_body` bytes of an answer.
    pub fn new(timeout: Duration, allow: Vec<String>, max_body: usize) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            // a proxy would resolve names itself, out of the resolver's sight
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly { allow: allow.clone() }))
            .build()
            .expect("HTTP client");
        HttpExecutor { client, timeout, allow, max_body, payer: None }
    }

    /// Pays for every step with `payer`'s authorization (without one, requests carry none and
    /// agents that require payment answer 402).
    pub fn paying(mut self, payer: Payer) -> Self {
        self.payer = Some(payer);
        self
    }

    /// The `PAYMENT-SIGNATURE` header for `req` with body `body`: the keeper accepts the offer
    /// the escrow itself makes (the job's mint, the milestone's pay after fees, the agent's
    /// payout wallet) and vouches for the request, valid a little longer than one call.
    fn payment_header(&self, req: &StepRequest, body: &[u8]) -> Option<String> {
        let payer = self.payer.as_ref()?;
        let network = payer.network.get()?.clone();
        let offer = x402::Offer {
            network,
            mint: req.step.mint.parse().ok()?,
            price: req.net_amount,
            pay_to: req.pay_to.parse().ok()?,
            max_timeout_secs: self.timeout.as_secs().max(1),
        };
        let now = agentrail_client::unix_now();
        let validity = (self.timeout.as_secs() as i64).saturating_add(60);
        let auth = x402::EscrowAuthorization::sign(&req.step, body, &payer.key, now, validity);
        Some(x402::encode_header(&x402::payment(offer.requirements(), auth)))
    }

    /// Whether the keeper's policy lets it call `endpoint`: an http(s) URL whose host is in the
    /// allow-list, or, with an empty list, an https URL whose host is not a private IP literal
    /// (names are checked when they resolve).
    pub fn check_endpoint(&self, endpoint: &str) -> Result<(), StepError> {
        let url = url::Url::parse(endpoint).map_err(|_| StepError::NotAllowed(endpoint.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(StepError::NotAllowed(endpoint.to_string()));
        }
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_string();
        if self.allow.contains(&host) {
            return Ok(());
        }
        if !self.allow.is_empty() {
            return Err(StepError::NotAllowed(endpoint.to_string()));
        }
        match host.parse::<IpAddr>() {
            Ok(ip) if !is_public(ip) => Err(StepError::PrivateDestination(endpoint.to_string())),
            // plaintext lets anyone on the path read and rewrite answers: only for hosts the
            // operator listed
            _ if url.scheme() == "http" => Err(StepError::Plaintext(endpoint.to_string())),
            _ => Ok(()),
        }
    }

    /// Whether [`HttpExecutor::check_endpoint`] lets the keeper call `endpoint`.
    pub fn allowed(&self, endpoint: &str) -> bool {
        self.check_endpoint(endpoint).is_ok()
    }

    /// Classifies a transport error; never includes the URL (errors are served by the API).
    fn transport_error(&self, e: reqwest::Error, endpoint: &str) -> StepError {
        if e.is_timeout() {
            return StepError::Timeout(self.timeout);
        }
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = source {
            if err.downcast_ref::<PrivateName>().is_some() {
                return StepError::PrivateDestination(endpoint.to_string());
            }
            source = err.source();
        }
        let kind = if e.is_connect() { "connection failed" } else { "request failed" };
        StepError::Unreachable(kind.to_string())
    }

    /// GETs `url` under the same rules as a step (allow-list, no redirects, public
    /// destinations, http(s) only), reading at most `cap` bytes.
    async fn get_capped(&self, url: &str, cap: usize) -> Result<Vec<u8>, StepError> {
        self.check_endpoint(url)?;
        let response = self.client.get(url).send().await.map_err(|e| self.transport_error(e, url))?;
        if !response.status().is_success() {
            return Err(StepError::Status(response.status().as_u16()));
        }
        self.read_capped(response, cap, url).await
    }

    /// Reads a body as it streams, refusing it past `cap` bytes (never buffered whole).
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        cap: usize,
        endpoint: &str,
    ) -> Result<Vec<u8>, StepError> {
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(StepError::TooLarge(cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport_error(e, endpoint))? {
            if body.len() + chunk.len() > cap {
                return Err(StepError::TooLarge(cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    async fn call(&self, req: &StepRequest) -> Result<StepOutput, StepError> {
        self.check_endpoint(&req.endpoint)?;
        let body = req.body();
        let mut post = self
            .client
            .post(&req.endpoint)
            .header(x402::IDEMPOTENCY_KEY, req.idempotency_key())
            .header("content-type", "application/json");
        if let Some(payment) = self.payment_header(req, &body) {
            post = post.header(x402::PAYMENT_SIGNATURE, payment);
        }
        let response = post.body(body).send().await.map_err(|e| self.transport_error(e, &req.endpoint))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirected(&response));
        }
        if status == reqwest::StatusCode::PAYMENT_REQUIRED {
            // the agent's reason, from its x402 answer (bounded: a header, not the body)
            let why = response
                .headers()
                .get(x402::PAYMENT_REQUIRED)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| x402::decode_header::<x402::PaymentRequired>(x402::PAYMENT_REQUIRED, h).ok())
                .and_then(|r| r.error)
                .unwrap_or_else(|| "402 without a readable PAYMENT-REQUIRED".into());
            return Err(StepError::PaymentRefused(agent_text(&why)));
        }
        if !status.is_success() {
            return Err(StepError::Status(status.as_u16()));
        }
        // the co-signature travels in a header: it signs the body's hash, so it cannot be in it
        let cosignature = response.headers().get(x402::OUTPUT_SIGNATURE).cloned();
        let mut output = self.read_answer(response, &req.endpoint).await?;
        output.vendor = match req.vendor_key {
            Some(key) => Some(check_cosignature(req, key, cosignature.as_ref(), &output.body, output.cost)?),
            None => None,
        };
        Ok(output)
    }

    /// POSTs an [`x402::AcceptRequest`] for `job` to the acceptance path at `endpoint`'s
    /// origin, under the same rules as a step; reads the acceptance, or the agent's reason for
    /// declining (both bounded).
    async fn ask_acceptance(&self, endpoint: &str, job: &Pubkey) -> Result<Acceptance, StepError> {
        let mut url = url::Url::parse(endpoint).map_err(|_| StepError::NotAllowed(endpoint.to_string()))?;
        url.set_path(x402::ACCEPT_PATH);
        url.set_query(None);
        self.check_endpoint(url.as_str())?;
        let body = serde_json::to_vec(&x402::AcceptRequest { job: job.to_string() })
            .map_err(|e| StepError::Garbage(e.to_string()))?;
        let response = self
            .client
            .post(url.as_str())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e, endpoint))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirected(&response));
        }
        let bytes = self.read_capped(response, MAX_ACCEPTANCE_BYTES, endpoint).await?;
        if status.is_client_error() {
            // the agent's reason, as it wrote it (bounded above and here)
            let why = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
            return Err(StepError::Declined(agent_text(&why)));
        }
        if !status.is_success() {
            return Err(StepError::Status(status.as_u16()));
        }
        serde_json::from_slice(&bytes).map_err(|e| StepError::Garbage(format!("not an acceptance: {e}")))
    }

    /// POSTs a compensation request (authorized by the keeper's key in the compensation
    /// domain, under its own idempotency key) to the agent's endpoint, under the same rules as
    /// a step; the answer has a step's shape.
    async fn call_compensation(
        &self,
        endpoint: &str,
        req: &x402::CompensationRequest,
    ) -> Result<StepOutput, StepError> {
        self.check_endpoint(endpoint)?;
        // plain data: serialising it cannot fail
        let body = serde_json::to_vec(req).expect("a compensation request serialises");
        let mut post = self
            .client
            .post(endpoint)
            .header(x402::IDEMPOTENCY_KEY, req.idempotency_key())
            .header("content-type", "application/json");
        if let Some(payer) = &self.payer {
            let validity = (self.timeout.as_secs() as i64).saturating_add(60);
            let auth = x402::EscrowAuthorization::sign_compensation(
                req,
                &body,
                &payer.key,
                agentrail_client::unix_now(),
                validity,
            );
            post = post.header(x402::AUTHORIZATION, x402::encode_header(&auth));
        }
        let response = post.body(body).send().await.map_err(|e| self.transport_error(e, endpoint))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(redirected(&response));
        }
        if !status.is_success() {
            return Err(StepError::Status(status.as_u16()));
        }
        self.read_answer(response, endpoint).await
    }

    /// Reads an agent's successful answer (capped as it streams) and checks its shape.
    async fn read_answer(&self, response: reqwest::Response, endpoint: &str) -> Result<StepOutput, StepError> {
        // read as it streams: a body past the cap is dropped, never buffered whole
        let body = self.read_capped(response, self.max_body, endpoint).await?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| StepError::Garbage(e.to_string()))?;
        if answer.tx_signatures.len() > MAX_TX_SIGNATURES {
            return Err(StepError::Garbage(format!(
                "{} transaction signatures; a step may report at most {MAX_TX_SIGNATURES}",
                answer.tx_signatures.len()
            )));
        }
        let tx_signatures = answer
            .tx_signatures
            .iter()
            .map(|s| {
                solana_sdk::signature::Signature::try_from(bs58_decode(s)?.as_slice())
                    .map(<[u8; 64]>::from)
                    .map_err(|_| StepError::Garbage(format!("{s:?} is not a transaction signature")))
            })
            .collect::<Result<_, _>>()?;
        let cost = answer.cost;
        Ok(StepOutput { body, cost, tx_signatures, vendor: None })
    }
}

/// Checks the co-signature an agent that registered `key` must send with its answer: present,
/// by that key, over this step's [`OutputClaim`] (job, milestone, terms hash, the exact body's
/// SHA-256, the cost it reported).
fn check_cosignature(
    req: &StepRequest,
    key: anchor_lang::prelude::Pubkey,
    header: Option<&reqwest::header::HeaderValue>,
    body: &[u8],
    cost: u64,
) -> Result<VendorSignature, StepError> {
    let bad = |why: String| StepError::VendorSignature(why);
    let header = header
        .ok_or_else(|| bad(format!("the agent registered signing key {key} but sent no {}", x402::OUTPUT_SIGNATURE)))?;
    let wire: x402::OutputSignature = header
        .to_str()
        .map_err(|_| bad("the header is not text".into()))
        .and_then(|h| x402::decode_header(x402::OUTPUT_SIGNATURE, h).map_err(|e| bad(e.to_string())))?;
    let signature = VendorSignature::try_from(&wire).map_err(|e| bad(e.to_string()))?;
    if signature.key != key {
        return Err(bad(format!("signed by {}, but the agent's registered key is {key}", signature.key)));
    }
    let claim = OutputClaim {
        job: req.step.job.parse().map_err(|_| bad("the request's job is not a key".into()))?,
        milestone: req.step.milestone,
        terms_hash: hex::decode(&req.step.terms_hash)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| bad("the request's terms hash is not 32 bytes of hex".into()))?,
        output_hash: Sha256::digest(body).into(),
        cost,
    };
    claim.verify(&signature).map_err(|_| bad(format!("the signature by {key} does not cover this answer")))?;
    Ok(signature)
}

fn bs58_decode(s: &str) -> Result<Vec<u8>, StepError> {
    solana_sdk::bs58::decode(s).into_vec().map_err(|_| StepError::Garbage(format!("{s:?} is not base58")))
}

impl Executor for HttpExecutor {
    fn execute<'a>(
        &'a self,
        req: &'a StepRequest,
    ) -> Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>> {
        Box::pin(self.call(req))
    }

    fn manifest<'a>(
        &'a self,
        endpoint: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, StepError>> + Send + 'a>> {
        Box::pin(async move {
            let mut url = url::Url::parse(endpoint).map_err(|_| StepError::NotAllowed(endpoint.to_string()))?;
            url.set_path(x402::MANIFEST_PATH);
            url.set_query(None);
            self.get_capped(url.as_str(), MAX_MANIFEST_BYTES).await
        })
    }

    fn document<'a>(
        &'a self,
        url: &'a str,
        cap: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, StepError>> + Send + 'a>> {
        Box::pin(self.get_capped(url, cap))
    }

    fn compensate<'a>(
        &'a self,
        endpoint: &'a str,
        req: &'a x402::CompensationRequest,
    ) -> Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>> {
        Box::pin(self.call_compensation(endpoint, req))
    }

    fn acceptance<'a>(
        &'a self,
        endpoint: &'a str,
        job: &'a Pubkey,
    ) -> Pin<Box<dyn Future<Output = Result<Acceptance, StepError>> + Send + 'a>> {
        Box::pin(self.ask_acceptance(endpoint, job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_and_private_destinations() {
        let any = HttpExecutor::new(Duration::from_secs(1), vec![], DEFAULT_MAX_BODY);
        assert!(any.allowed("https://agent.example/step") && any.allowed("https://8.8.8.8/x"));
        // plain http only for listed hosts (review L4): anyone on the path could read and rewrite
        let plain = "http://8.8.8.8/x";
        assert_eq!(any.check_endpoint(plain), Err(StepError::Plaintext(plain.into())));
        assert!(!any.allowed("ftp://8.8.8.8/x") && !any.allowed("not a url"));
        for private in [
            "http://127.0.0.1:9/x",
            "http://10.1.2.3/x",
            "http://192.168.0.1/x",
            "http://172.16.5.5/x",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/x",
            "http://0.0.0.0/x",
            "http://[::1]/x",
            "http://[fd00::1]/x",
            "http://[fe80::1]/x",
            "http://[::ffff:127.0.0.1]/x",
        ] {
            assert_eq!(any.check_endpoint(private), Err(StepError::PrivateDestination(private.into())), "{private}");
        }
        let some = HttpExecutor::new(Duration::from_secs(1), vec!["agent.example".into(), "127.0.0.1".into()], 10);
        assert!(some.allowed("https://agent.example/step") && some.allowed("http://127.0.0.1:9/x"));
        assert!(!some.allowed("https://evil.example/step") && !some.allowed("http://10.0.0.1/x"));
    }

    #[test]
    fn public_addresses() {
        // the rule itself is tested where it lives (agentrail_client::net); here, that the
        // executor refuses what it refuses, NAT64 included
        let open = HttpExecutor::new(Duration::from_secs(1), vec![], DEFAULT_MAX_BODY);
        for url in ["https://[64:ff9b::7f00:1]/", "https://[::ffff:10.0.0.1]/", "https://169.254.169.254/"] {
            assert!(matches!(open.check_endpoint(url), Err(StepError::PrivateDestination(_))), "{url}");
        }
        assert!(open.check_endpoint("https://1.1.1.1/").is_ok());
    }
}
