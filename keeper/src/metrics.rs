//! Prometheus metrics in the text exposition format.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A monotonically increasing count.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Default, Debug)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A counter per label pair, rendered as one Prometheus series each (labels come from closed
/// sets: action kinds and outcomes, so the series stay few).
#[derive(Default, Debug)]
pub struct LabeledCounter(std::sync::Mutex<std::collections::BTreeMap<(&'static str, &'static str), u64>>);

impl LabeledCounter {
    /// Adds one to the series (`first`, `second`).
    pub fn inc(&self, first: &'static str, second: &'static str) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()).entry((first, second)).or_default() += 1;
    }

    /// The series' value.
    pub fn get(&self, first: &'static str, second: &'static str) -> u64 {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&(first, second)).copied().unwrap_or(0)
    }
}

/// Upper bounds (seconds) of the duration histograms' buckets: agent calls and sends both
/// span ~10 ms to a minute.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// A duration histogram per label value (a closed set: outcomes or action kinds).
#[derive(Default, Debug)]
pub struct LabeledHistogram(std::sync::Mutex<std::collections::BTreeMap<&'static str, Buckets>>);

/// One series: cumulative bucket counts, the sum and the count.
#[derive(Default, Debug, Clone)]
struct Buckets {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl LabeledHistogram {
    /// Records `seconds` in the series `label`.
    pub fn observe(&self, label: &'static str, seconds: f64) {
        let mut series = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let b = series.entry(label).or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                b.counts[i] += 1;
            }
        }
        b.sum += seconds;
        b.count += 1;
    }

    /// Renders the histogram `name` with label `key`.
    fn render(&self, name: &str, help: &str, key: &str) -> String {
        let mut out = format!("# HELP {name} {help}\n# TYPE {name} histogram\n");
        for (label, b) in self.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            for (bound, n) in BUCKETS.iter().zip(b.counts) {
                out += &format!("{name}_bucket{{{key}=\"{label}\",le=\"{bound}\"}} {n}\n");
            }
            out += &format!("{name}_bucket{{{key}=\"{label}\",le=\"+Inf\"}} {}\n", b.count);
            out += &format!("{name}_sum{{{key}=\"{label}\"}} {}\n", b.sum);
            out += &format!("{name}_count{{{key}=\"{label}\"}} {}\n", b.count);
        }
        out
    }
}

/// Everything the keeper counts.
#[derive(Default, Debug)]
pub struct Metrics {
    pub jobs_seen: Gauge,
    pub steps_run: Counter,
    pub steps_failed: Counter,
    pub submissions: Counter,
    pub releases: Counter,
    pub refunds: Counter,
    /// Disputes decided by the job's default rule after the arbiter stayed silent.
    pub disputes_defaulted: Counter,
    pub steps_refunded: Counter,
    pub races_lost: Counter,
    pub anchors: Counter,
    pub rpc_errors: Counter,
    pub pending_intents: Gauge,
    pub settlements_pending: Gauge,
    pub log_size: Gauge,
    pub anchor_lag_seconds: Gauge,
    pub last_tick: Gauge,
    /// Wall-clock unix time of the last completed scan (health: is the keeper scanning?).
    pub last_scan_unix: Gauge,
    /// 1 when the local receipt log does not extend the anchored one (anchoring stopped).
    pub log_diverged: Gauge,
    /// Steps running or waiting for a slot in the pool at the last scan.
    pub steps_running: Gauge,
    /// The keeper's SOL balance at the last scan, in lamports.
    pub balance_lamports: Gauge,
    /// Sends that failed for an operational reason (fees, a lagging node), not the program's.
    pub send_errors: Counter,
    /// Actions held back because a token account they pay into does not exist.
    pub waiting_for_accounts: Counter,
    /// 1 while the websocket subscription to this keeper's jobs is up.
    pub chain_subscribed: Gauge,
    /// Job changes the subscription reported.
    pub chain_notifications: Counter,
    /// Job changes dropped because the queue was full (the next poll sees those jobs).
    pub chain_notifications_dropped: Counter,
    /// Steps this keeper found claimed by another runner (a keeper sharing its store).
    pub step_claims_lost: Counter,
    /// Jobs whose earned fees this keeper swept to the treasury.
    pub fees_swept_jobs: Counter,
    /// Sends by action kind and outcome.
    pub actions: LabeledCounter,
    /// Notifications by kind and outcome (recorded, delivered, retried, failed, expired).
    pub notifications: LabeledCounter,
    /// Compensations by outcome and error kind (`compensated`/`ok`, `retried`/..., `failed`/...).
    pub compensations: LabeledCounter,
    /// Acceptances asked of agents, by outcome (`accepted`, `refused`) and error kind.
    pub acceptances: LabeledCounter,
    /// How long each step took (all its attempts), by outcome (`ok` or the last error's kind).
    pub step_seconds: LabeledHistogram,
    /// How long each send took from signing to its outcome, by action kind.
    pub send_seconds: LabeledHistogram,
}

impl Metrics {
    /// Renders every metric.
    pub fn render(&self) -> String {
        let counters = [
            ("agentrail_keeper_steps_run_total", "Steps executed successfully.", &self.steps_run),
            ("agentrail_keeper_steps_failed_total", "Steps whose every attempt failed.", &self.steps_failed),
            ("agentrail_keeper_submissions_total", "Milestones submitted.", &self.submissions),
            ("agentrail_keeper_releases_total", "Milestones released after review.", &self.releases),
            ("agentrail_keeper_refunds_total", "Expired jobs refunded.", &self.refunds),
            (
                "agentrail_keeper_disputes_defaulted_total",
                "Disputes settled by the job's default rule after the arbiter's window.",
                &self.disputes_defaulted,
            ),
            (
                "agentrail_keeper_steps_refunded_total",
                "Failed steps given up on-chain, refunding the poster.",
                &self.steps_refunded,
            ),
            ("agentrail_keeper_races_lost_total", "Actions another party did first.", &self.races_lost),
            ("agentrail_keeper_anchors_total", "Checkpoints anchored.", &self.anchors),
            ("agentrail_keeper_rpc_errors_total", "Failed RPC calls.", &self.rpc_errors),
            (
                "agentrail_keeper_send_errors_total",
                "Sends that failed for an operational reason (fee payer, node), not a program refusal.",
                &self.send_errors,
            ),
            (
                "agentrail_keeper_chain_notifications_total",
                "Job changes the websocket subscription reported.",
                &self.chain_notifications,
            ),
            (
                "agentrail_keeper_chain_notifications_dropped_total",
                "Job changes dropped on a full queue (the next poll sees them).",
                &self.chain_notifications_dropped,
            ),
            (
                "agentrail_keeper_step_claims_lost_total",
                "Steps found running under another keeper sharing the store.",
                &self.step_claims_lost,
            ),
            (
                "agentrail_keeper_fees_swept_jobs_total",
                "Jobs whose earned fees this keeper swept to the treasury.",
                &self.fees_swept_jobs,
            ),
            (
                "agentrail_keeper_waiting_for_accounts_total",
                "Actions held back because a token account they pay into does not exist.",
                &self.waiting_for_accounts,
            ),
        ];
        let gauges = [
            ("agentrail_keeper_jobs_seen", "Jobs naming this keeper at the last scan.", &self.jobs_seen),
            ("agentrail_keeper_pending_intents", "Transactions that may still land.", &self.pending_intents),
            (
                "agentrail_keeper_settlements_pending",
                "Releases, dispute defaults and refunds queued or being sent.",
                &self.settlements_pending,
            ),
            ("agentrail_keeper_log_size", "Receipts in the Merkle log.", &self.log_size),
            (
                "agentrail_keeper_anchor_lag_seconds",
                "Seconds since the last anchored checkpoint.",
                &self.anchor_lag_seconds,
            ),
            ("agentrail_keeper_last_tick_timestamp", "Cluster unix time of the last completed scan.", &self.last_tick),
            (
                "agentrail_keeper_last_scan_timestamp",
                "Wall-clock unix time of the last completed scan.",
                &self.last_scan_unix,
            ),
            (
                "agentrail_keeper_log_diverged",
                "1 when the local log does not extend the anchored one.",
                &self.log_diverged,
            ),
            ("agentrail_keeper_steps_running", "Steps running or queued in the step pool.", &self.steps_running),
            ("agentrail_keeper_balance_lamports", "The keeper's SOL balance at the last scan.", &self.balance_lamports),
            (
                "agentrail_keeper_chain_subscribed",
                "1 while the websocket subscription to this keeper's jobs is up.",
                &self.chain_subscribed,
            ),
        ];
        let mut out = String::new();
        for (name, help, c) in counters {
            out += &format!("# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n", c.get());
        }
        for (name, help, g) in gauges {
            out += &format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}\n", g.get());
        }
        let name = "agentrail_keeper_actions_total";
        out += &format!(
            "# HELP {name} Actions sent, by action and outcome (already_confirmed: an earlier transaction had landed; nothing sent).\n# TYPE {name} counter\n"
        );
        for ((action, outcome), n) in self.actions.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out += &format!("{name}{{action=\"{action}\",outcome=\"{outcome}\"}} {n}\n");
        }
        let name = "agentrail_keeper_notifications_total";
        out += &format!(
            "# HELP {name} Decisions awaited that people were told about, by kind and outcome (recorded, delivered, retried, failed, expired).\n# TYPE {name} counter\n"
        );
        for ((kind, outcome), n) in self.notifications.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out += &format!("{name}{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}\n");
        }
        let name = "agentrail_keeper_compensations_total";
        out += &format!(
            "# HELP {name} Compensations asked of agents, by outcome (compensated, retried, failed) and error kind.\n# TYPE {name} counter\n"
        );
        for ((outcome, kind), n) in self.compensations.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out += &format!("{name}{{outcome=\"{outcome}\",error=\"{kind}\"}} {n}\n");
        }
        let name = "agentrail_keeper_acceptances_total";
        out += &format!(
            "# HELP {name} Acceptances of jobs asked of agents, by outcome (accepted, refused) and error kind.\n# TYPE {name} counter\n"
        );
        for ((outcome, kind), n) in self.acceptances.0.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            out += &format!("{name}{{outcome=\"{outcome}\",error=\"{kind}\"}} {n}\n");
        }
        out += &self.step_seconds.render(
            "agentrail_keeper_step_seconds",
            "Step durations (every attempt and the backoff between), by outcome.",
            "outcome",
        );
        out += &self.send_seconds.render(
            "agentrail_keeper_send_seconds",
            "Send durations from signing to the outcome, by action.",
            "action",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.releases.inc();
        m.releases.inc();
        m.pending_intents.set(3);
        m.actions.inc("submit", "confirmed");
        m.actions.inc("submit", "confirmed");
        m.actions.inc("release", "refused");
        m.step_seconds.observe("ok", 0.3);
        m.step_seconds.observe("ok", 7.0);
        m.step_seconds.observe("timeout", 120.0);
        let text = m.render();
        assert!(text.contains("# TYPE agentrail_keeper_step_seconds histogram\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_bucket{outcome=\"ok\",le=\"0.25\"} 0\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_bucket{outcome=\"ok\",le=\"0.5\"} 1\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_bucket{outcome=\"ok\",le=\"10\"} 2\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_bucket{outcome=\"timeout\",le=\"60\"} 0\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_bucket{outcome=\"timeout\",le=\"+Inf\"} 1\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_sum{outcome=\"ok\"} 7.3\n"), "{text}");
        assert!(text.contains("agentrail_keeper_step_seconds_count{outcome=\"ok\"} 2\n"), "{text}");
        assert!(text.contains("agentrail_keeper_actions_total{action=\"submit\",outcome=\"confirmed\"} 2\n"), "{text}");
        assert!(text.contains("agentrail_keeper_actions_total{action=\"release\",outcome=\"refused\"} 1\n"), "{text}");
        assert!(text.contains("# TYPE agentrail_keeper_releases_total counter\nagentrail_keeper_releases_total 2\n"));
        assert!(text.contains("agentrail_keeper_pending_intents 3\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let name = series.split('{').next().unwrap();
            let value = if value == "+Inf" { "inf" } else { value };
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
            value.parse::<f64>().unwrap();
        }
    }
}
