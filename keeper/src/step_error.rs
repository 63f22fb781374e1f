//! Why a step (or a compensation, or an acceptance) did not produce a usable answer: each
//! cause named, labelled for metrics, and judged retryable or not.

use std::time::Duration;

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
    #[error("endpoint {0:?} is plain http: only hosts in the keeper's allow-list are called without TLS")]
    Plaintext(String),
    #[error("endpoint {0:?} resolves to a private, loopback or link-local address (allow-list it to call it)")]
    PrivateDestination(String),
    #[error("the agent redirected to {0:?}; redirects are not followed")]
    Redirect(String),
    #[error("the agent's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the agent refused the payment: {0}")]
    PaymentRefused(String),
    #[error("the agent's co-signature of its output is missing or wrong: {0}")]
    VendorSignature(String),
    #[error("the agent declined the job: {0}")]
    Declined(String),
    #[error("not called: its endpoint does not serve the manifest the registry pins ({0})")]
    Unbound(String),
}

impl StepError {
    /// Its metric label.
    pub fn label(&self) -> &'static str {
        match self {
            StepError::Timeout(_) => "timeout",
            StepError::Status(_) => "status",
            StepError::Garbage(_) => "garbage",
            StepError::Unreachable(_) => "unreachable",
            StepError::NotAllowed(_) => "not_allowed",
            StepError::Plaintext(_) => "plaintext",
            StepError::PrivateDestination(_) => "private_destination",
            StepError::Redirect(_) => "redirect",
            StepError::TooLarge(_) => "too_large",
            StepError::PaymentRefused(_) => "payment_refused",
            StepError::VendorSignature(_) => "vendor_signature",
            StepError::Declined(_) => "declined",
            StepError::Unbound(_) => "unbound",
        }
    }

    /// Whether trying again may help: refusals by the keeper's own policy and answers that
    /// would be refused again (a redirect, an oversized body) are not retried.
    pub fn retryable(&self) -> bool {
        !matches!(
            self,
            StepError::NotAllowed(_)
                | StepError::Plaintext(_)
                | StepError::PrivateDestination(_)
                | StepError::Redirect(_)
                | StepError::TooLarge(_)
        )
    }
}
