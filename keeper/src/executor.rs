//! Executing a milestone's step off-chain. Pluggable behind [`Executor`]; the shipped
//! [`HttpExecutor`] POSTs the step to the agent's endpoint with a timeout and retries with
//! exponential backoff and jitter.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// What the keeper asks an agent to do.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StepRequest {
    pub job: String,
    pub milestone: u8,
    pub agent: String,
    /// The milestone's budget in base units: the most the step may cost.
    pub budget: u64,
    /// The agent's endpoint (its registry metadata URI).
    #[serde(skip)]
    pub endpoint: String,
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
}

/// Why a step did not produce a usable output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("the agent did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the agent answered HTTP {0}")]
    Status(u16),
    #[error("the agent's answer is not a valid step result: {0}")]
    Garbage(String),
    #[error("cannot reach the agent: {0}")]
    Unreachable(String),
    #[error("endpoint {0:?} is not allowed by the keeper's allow-list")]
    NotAllowed(String),
}

impl StepError {
    /// Whether trying again may help.
    pub fn retryable(&self) -> bool {
        !matches!(self, StepError::NotAllowed(_))
    }
}

/// The JSON an agent returns.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    #[allow(dead_code)]
    output: serde_json::Value,
    cost: u64,
    #[serde(default)]
    tx_signatures: Vec<String>,
}

/// Something that runs steps.
pub trait Executor: Send + Sync {
    /// Runs one attempt of `req`.
    fn execute<'a>(
        &'a self,
        req: &'a StepRequest,
    ) -> Pin<Box<dyn Future<Output = Result<StepOutput, StepError>> + Send + 'a>>;
}

/// Retry policy: attempts and exponential backoff with jitter.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempt` (1-based; the first retry is attempt 2): base × 2^(n-2),
    /// capped, scaled by a random factor in [0.5, 1.0).
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(2).min(20));
        exp.min(self.max_delay).mul_f64(rand::thread_rng().gen_range(0.5..1.0))
    }
}

/// Runs `req` on `executor` until it succeeds, fails for good, or the policy is exhausted;
/// returns the outcome and the number of attempts.
pub async fn run_with_retries(
    executor: &dyn Executor,
    req: &StepRequest,
    policy: &RetryPolicy,
) -> (Result<StepOutput, StepError>, u32) {
    let mut attempt = 1;
    loop {
        let result = executor.execute(req).await;
        match &result {
            Err(e) if e.retryable() && attempt < policy.max_attempts => {
                tracing::warn!(job = %req.job, milestone = req.milestone, attempt, error = %e, "step failed, retrying");
                tokio::time::sleep(policy.delay(attempt + 1)).await;
                attempt += 1;
            }
            _ => return (result, attempt),
        }
    }
}

/// POSTs steps to agents' HTTP endpoints.
pub struct HttpExecutor {
    client: reqwest::Client,
    timeout: Duration,
    allow: Vec<String>,
}

impl HttpExecutor {
    /// An executor with a per-request `timeout` that calls only hosts in `allow` (all when empty).
    pub fn new(timeout: Duration, allow: Vec<String>) -> Self {
        let client = reqwest::Client::builder().timeout(timeout).build().expect("HTTP client");
        HttpExecutor { client, timeout, allow }
    }

    /// Whether `endpoint` is an http(s) URL whose host is allowed.
    pub fn allowed(&self, endpoint: &str) -> bool {
        let Ok(url) = url::Url::parse(endpoint) else { return false };
        let host = url.host_str().unwrap_or_default().to_string();
        matches!(url.scheme(), "http" | "https") && (self.allow.is_empty() || self.allow.contains(&host))
    }

    async fn call(&self, req: &StepRequest) -> Result<StepOutput, StepError> {
        if !self.allowed(&req.endpoint) {
            return Err(StepError::NotAllowed(req.endpoint.clone()));
        }
        let response = self.client.post(&req.endpoint).json(req).send().await.map_err(|e| {
            if e.is_timeout() { StepError::Timeout(self.timeout) } else { StepError::Unreachable(e.to_string()) }
        })?;
        if !response.status().is_success() {
            return Err(StepError::Status(response.status().as_u16()));
        }
        let body = response.bytes().await.map_err(|e| {
            if e.is_timeout() { StepError::Timeout(self.timeout) } else { StepError::Unreachable(e.to_string()) }
        })?;
        let answer: Answer = serde_json::from_slice(&body).map_err(|e| StepError::Garbage(e.to_string()))?;
        let tx_signatures = answer
            .tx_signatures
            .iter()
            .map(|s| {
                solana_sdk::signature::Signature::try_from(bs58_decode(s)?.as_slice())
                    .map(<[u8; 64]>::from)
                    .map_err(|_| StepError::Garbage(format!("{s:?} is not a transaction signature")))
            })
            .collect::<Result<_, _>>()?;
        Ok(StepOutput { body: body.to_vec(), cost: answer.cost, tx_signatures })
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let p =
            RetryPolicy { max_attempts: 5, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) };
        for _ in 0..50 {
            let d2 = p.delay(2);
            assert!(d2 >= Duration::from_millis(50) && d2 < Duration::from_millis(100), "{d2:?}");
            let d4 = p.delay(4);
            assert!(d4 >= Duration::from_millis(200) && d4 < Duration::from_millis(400), "{d4:?}");
            assert!(p.delay(30) < Duration::from_secs(1));
        }
    }

    #[test]
    fn allow_list() {
        let any = HttpExecutor::new(Duration::from_secs(1), vec![]);
        assert!(any.allowed("http://127.0.0.1:9/x"));
        assert!(!any.allowed("ftp://127.0.0.1/x") && !any.allowed("not a url"));
        let some = HttpExecutor::new(Duration::from_secs(1), vec!["agent.example".into()]);
        assert!(some.allowed("https://agent.example/step"));
        assert!(!some.allowed("https://evil.example/step"));
    }
}
