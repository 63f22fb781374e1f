//! The keeper's one retry policy: attempts with exponential backoff and jitter for an agent's
//! step, the longest a step may take, and the rest between runs of a step retried later.

use std::time::Duration;

use rand::Rng;

use crate::agent_client::{Executor, StepError, StepOutput, StepRequest};

/// The rest after a step's first failed run before it is run again under `retry-later`.
pub const RETRY_LATER_FIRST_REST: Duration = Duration::from_secs(15);
/// The longest rest between runs of a step under `retry-later`.
pub const RETRY_LATER_LONGEST_REST: Duration = Duration::from_secs(3_600);

/// Retry policy: attempts and exponential backoff with jitter.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The delay before attempt `attempt` (1-based; the first retry is attempt 2): its ceiling
    /// ([`RetryPolicy::ceiling`]) scaled by a random factor in [0.5, 1.0).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.ceiling(attempt).mul_f64(rand::thread_rng().gen_range(0.5..1.0))
    }

    /// The longest delay before attempt `attempt`: base × 2^(n-2), capped at `max_delay`.
    fn ceiling(&self, attempt: u32) -> Duration {
        self.base_delay.saturating_mul(1u32 << attempt.saturating_sub(2).min(20)).min(self.max_delay)
    }

    /// Seconds a step rests after a failed run before it is run again (`retry-later`), having
    /// made `attempts` attempts in all: [`RETRY_LATER_FIRST_REST`] after its first run,
    /// doubling with each run, at most [`RETRY_LATER_LONGEST_REST`].
    pub fn rest_after(&self, attempts: u32) -> i64 {
        let runs = attempts / self.max_attempts.max(1);
        let first = RETRY_LATER_FIRST_REST.as_secs() as i64;
        first.saturating_mul(1i64 << runs.saturating_sub(1).min(20)).min(RETRY_LATER_LONGEST_REST.as_secs() as i64)
    }

    /// The longest a step can take with attempts of at most `timeout` each: every attempt and
    /// the longest delay before each retry. A step is not begun when its milestone could no
    /// longer be submitted that long from now.
    pub fn longest_step(&self, timeout: Duration) -> Duration {
        let delays: Duration = (2..=self.max_attempts).map(|n| self.ceiling(n)).sum();
        timeout.saturating_mul(self.max_attempts.max(1)).saturating_add(delays)
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
                tracing::warn!(job = %req.step.job, milestone = req.step.milestone, attempt, error = %e, "step failed, retrying");
                tokio::time::sleep(policy.delay(attempt + 1)).await;
                attempt += 1;
            }
            _ => return (result, attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_step_counts_every_attempt_and_backoff() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        };
        // 4 attempts of 2 s, backoffs 100 + 200 + 300 (capped) ms
        assert_eq!(p.longest_step(Duration::from_secs(2)), Duration::from_millis(8_600));
        for attempt in 2..=4 {
            assert!(p.delay(attempt) <= Duration::from_millis(300), "no backoff exceeds what is counted");
        }
        let once = RetryPolicy { max_attempts: 1, ..p };
        assert_eq!(once.longest_step(Duration::from_secs(3)), Duration::from_secs(3));
    }

    #[test]
    fn a_step_retried_later_rests_longer_after_each_run_up_to_an_hour() {
        let p = RetryPolicy { max_attempts: 3, base_delay: Duration::ZERO, max_delay: Duration::ZERO };
        // runs of 3 attempts: 15 s after the first, 30 s after the second, ...
        assert_eq!([3, 6, 9, 12].map(|a| p.rest_after(a)), [15, 30, 60, 120]);
        assert_eq!(p.rest_after(3 * 20), 3_600, "at most an hour");
        assert_eq!(p.rest_after(u32::MAX), 3_600, "however many runs");
        // a run cut short (a manifest refused before any call) still rests the first rest
        assert_eq!(p.rest_after(1), 15);
    }

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
}
