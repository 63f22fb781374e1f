//! Telling people when they must decide: a milestone waiting for its poster's approval, a
//! dispute waiting for its arbiter. Each is found on the keeper's scan from the lifecycle's own
//! offers, recorded once in the store, streamed to the API's server-sent events, and, when the
//! operator configured a webhook, POSTed as Slack-compatible JSON signed with HMAC-SHA256,
//! retried with backoff until delivered or out of attempts (every attempt recorded).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use agentrail::state::Job;
use agentrail_client::lifecycle::{Action, Conditions, next_actions};
use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::metrics::Metrics;
use crate::store::{Notification, Store, unix_now};

/// Header with the delivery's unix time, which the signature covers.
pub const TIMESTAMP_HEADER: &str = "X-Agentrail-Timestamp";
/// Header with `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Agentrail-Signature";
/// Most notification ids remembered as recorded (the store refuses duplicates anyway; this
/// only saves it a write per scan for each decision still awaited).
const REMEMBERED: usize = 65_536;
/// Most notifications delivered per round.
const BATCH: u32 = 32;

/// The `[notify]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Where to POST each notification ("" sends none: they are still recorded and streamed).
    pub webhook_url: String,
    /// The HMAC-SHA256 key signing each delivery; required with a webhook.
    pub webhook_secret: String,
    /// Attempts before a delivery is recorded as failed.
    pub max_attempts: u32,
    /// First retry delay; doubled each attempt, at most an hour.
    pub base_delay: String,
    /// Per-request timeout.
    pub timeout: String,
    /// Where a person approves, prefixed to `<job>` in each notification, e.g.
    /// `https://console.example/jobs/` ("": the decider's inbox in this keeper's web console
    /// when `public_api` is set, else the CLI command only).
    pub approve_url: String,
    /// This keeper's public API address, for links to the receipts ("": none).
    pub public_api: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            webhook_url: String::new(),
            webhook_secret: String::new(),
            max_attempts: 8,
            base_delay: "2s".into(),
            timeout: "10s".into(),
            approve_url: String::new(),
            public_api: String::new(),
        }
    }
}

/// What a person must decide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The poster approves or rejects a submitted milestone before its review window ends.
    ApprovalNeeded,
    /// The arbiter decides a disputed milestone before its dispute window ends.
    DisputeOpen,
}

impl Kind {
    /// Its label in ids, payloads, metrics and the event stream.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApprovalNeeded => "approval_needed",
            Kind::DisputeOpen => "dispute_open",
        }
    }
}

/// One decision awaited on `job`: who must act on which milestone, by when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub kind: Kind,
    pub job: Pubkey,
    pub milestone: u8,
    /// Who decides: the poster or the arbiter.
    pub decider: Pubkey,
    /// The milestone's amount, base units of `mint`.
    pub amount: u64,
    pub mint: Pubkey,
    /// Unix seconds after which the decision is no longer theirs.
    pub until: i64,
    /// The receipt the milestone was submitted with (its hash).
    pub receipt: [u8; 32],
}

/// The decisions `job` awaits at `now`: the lifecycle's offers to its poster of a rejection
/// (approve or reject while the review window is open; after it the milestone is owed) and to
/// its arbiter of a decision (the rules live there, once).
pub fn notices(key: &Pubkey, job: &Job, now: i64, c: &Conditions) -> Vec<Notice> {
    notices_from(key, job, &next_actions(job, now, c))
}

/// [`notices`] from the lifecycle's `offers` for `job`, already computed.
pub fn notices_from(key: &Pubkey, job: &Job, offers: &[agentrail_client::lifecycle::Offer]) -> Vec<Notice> {
    offers
        .iter()
        .filter_map(|offer| {
            let (kind, i, decider) = match offer.action {
                Action::Reject(i) => (Kind::ApprovalNeeded, i, job.poster),
                Action::DecideDispute(i) => (Kind::DisputeOpen, i, job.arbiter),
                _ => return None,
            };
            let m = job.milestones().get(usize::from(i))?;
            // both windows close at a known time (offered with it)
            let until = offer.until?;
            Some(Notice {
                kind,
                job: *key,
                milestone: i,
                decider,
                amount: m.amount,
                mint: job.mint,
                until,
                receipt: m.result_hash,
            })
        })
        .collect()
}

impl Notice {
    /// Its id: one notification per job, milestone and kind.
    pub fn id(&self) -> String {
        format!("{}:{}:{}", self.job, self.milestone, self.kind.as_str())
    }

    /// The JSON delivered: Slack's `text` for people, the same facts as fields for programs.
    pub fn payload(&self, config: &NotifyConfig) -> Value {
        let (job, i) = (self.job.to_string(), self.milestone);
        let (what, command) = match self.kind {
            Kind::ApprovalNeeded => (
                "awaits the poster's approval",
                format!("agentrail job approve {job} {i}   (or: agentrail job reject {job} {i})"),
            ),
            Kind::DisputeOpen => (
                "is disputed and awaits the arbiter's decision",
                format!("agentrail job decide {job} {i} --agent-share <PERCENT>"),
            ),
        };
        let until =
            humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_secs(self.until.max(0) as u64));
        // where the person decides: the configured page, else the decider's inbox in this
        // keeper's web console
        let link = if !config.approve_url.is_empty() {
            Some(format!("{}{job}", config.approve_url))
        } else if !config.public_api.is_empty() {
            Some(format!("{}/console/inbox?who={}", config.public_api.trim_end_matches('/'), self.decider))
        } else {
            None
        };
        let receipts = (!config.public_api.is_empty())
            .then(|| format!("{}/jobs/{job}/receipts", config.public_api.trim_end_matches('/')));
        let mut text = format!(
            "Agentrail: job {job} milestone {i} ({} base units of {}) {what} until {until}.\n{command}",
            self.amount, self.mint
        );
        if let Some(link) = &link {
            text += &format!("\n{link}");
        }
        json!({
            "text": text,
            // deliveries are at least once (a crash between a POST and its record repeats it):
            // receivers deduplicate on the id
            "id": self.id(),
            "kind": self.kind.as_str(),
            "job": job,
            "milestone": i,
            "decider": self.decider.to_string(),
            "amount": self.amount.to_string(),
            "mint": self.mint.to_string(),
            "until": self.until,
            "receipt": hex::encode(self.receipt),
            "receipts_url": receipts,
            "link": link,
            "command": command,
        })
    }
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length: this cannot fail
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delay before attempt `attempts + 1`: `base` doubled per attempt, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1u32 << attempts.min(16)).min(Duration::from_secs(3_600))
}

/// Records, streams and delivers notifications.
pub struct Notifier {
    config: NotifyConfig,
    base_delay: Duration,
    /// The webhook's HTTP client (none without a webhook: nothing to send).
    client: Option<reqwest::Client>,
    /// Ids already recorded (bounded: emptied when full).
    recorded: Mutex<HashSet<String>>,
    /// Live subscribers of the API's event stream.
    events: tokio::sync::broadcast::Sender<Value>,
    /// Wakes the delivery loop when something new is recorded.
    wake: tokio::sync::Notify,
}

impl Notifier {
    /// A notifier for `config` (checked: a webhook needs a secret and an http(s) URL).
    pub fn new(config: NotifyConfig) -> Result<Self> {
        if !config.webhook_url.is_empty() {
            let url = url::Url::parse(&config.webhook_url)
                .map_err(|e| anyhow::anyhow!("config `notify.webhook_url` = {:?}: {e}", config.webhook_url))?;
            anyhow::ensure!(
                matches!(url.scheme(), "http" | "https"),
                "config `notify.webhook_url` must be http(s), not {}",
                url.scheme()
            );
            anyhow::ensure!(
                !config.webhook_secret.is_empty(),
                "config `notify.webhook_secret` is empty: every webhook delivery is HMAC-signed, set a secret"
            );
        }
        let base_delay = crate::config::duration("notify.base_delay", &config.base_delay)?;
        let timeout = crate::config::duration("notify.timeout", &config.timeout)?;
        // no redirects: a webhook answers where it was configured, or not at all
        let client = if config.webhook_url.is_empty() {
            None
        } else {
            Some(
                reqwest::Client::builder()
                    .timeout(timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .map_err(|e| anyhow::anyhow!("webhook HTTP client: {e}"))?,
            )
        };
        let (events, _) = tokio::sync::broadcast::channel(256);
        Ok(Notifier {
            config,
            base_delay,
            client,
            recorded: Mutex::default(),
            events,
            wake: tokio::sync::Notify::new(),
        })
    }

    /// A receiver of every notification recorded from now on (the API's event stream).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Value> {
        self.events.subscribe()
    }

    /// How many event-stream subscribers are connected.
    pub fn subscribers(&self) -> usize {
        self.events.receiver_count()
    }

    /// Streams `event` (a JSON object with a `kind`) to the event stream's subscribers only:
    /// changes people may watch (the console's live pages), never delivered to the webhook.
    pub fn announce(&self, event: Value) {
        // no subscriber is not an error: nobody is watching
        let _ = self.events.send(event);
    }

    /// Records each of `notices` not recorded before, streams it and wakes the delivery.
    pub async fn record(&self, store: &Store, notices: Vec<Notice>, metrics: &Metrics) -> Result<()> {
        for notice in notices {
            let id = notice.id();
            if self.recorded.lock().unwrap_or_else(|p| p.into_inner()).contains(&id) {
                continue;
            }
            let payload = notice.payload(&self.config);
            let now = unix_now();
            let status = if self.config.webhook_url.is_empty() { "unsent" } else { "pending" };
            let row = Notification {
                id: id.clone(),
                job: notice.job.to_string(),
                milestone: notice.milestone,
                kind: notice.kind.as_str().into(),
                payload: payload.to_string(),
                status: status.into(),
                attempts: 0,
                next_at: now,
                error: None,
                created_at: now,
                delivered_at: None,
            };
            if store.add_notification(&row).await? {
                tracing::info!(job = %notice.job, milestone = notice.milestone, kind = notice.kind.as_str(), "a decision awaits a person");
                metrics.notifications.inc(notice.kind.as_str(), "recorded");
                // no subscriber is fine: the stream is live only
                let _ = self.events.send(payload);
                self.wake.notify_one();
            }
            let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
            if recorded.len() >= REMEMBERED {
                recorded.clear();
            }
            recorded.insert(id);
        }
        Ok(())
    }

    /// Delivers every due notification once; returns how many were attempted.
    pub async fn deliver_due(&self, store: &Store, metrics: &Metrics) -> Result<usize> {
        if self.config.webhook_url.is_empty() {
            return Ok(0);
        }
        let due = store.due_notifications(unix_now(), BATCH).await?;
        for mut n in due.iter().cloned() {
            let kind: &'static str =
                if n.kind == Kind::DisputeOpen.as_str() { "dispute_open" } else { "approval_needed" };
            // a decision whose window has closed is not news any more: never sent late
            let until = serde_json::from_str::<Value>(&n.payload).ok().and_then(|p| p["until"].as_i64());
            if until.is_some_and(|u| unix_now() > u) {
                (n.status, n.error) = ("expired".into(), Some("the decision's window closed before delivery".into()));
                metrics.notifications.inc(kind, "expired");
                store.set_notification(&n).await?;
                continue;
            }
            n.attempts = n.attempts.saturating_add(1);
            match self.post(&n.payload).await {
                Ok(()) => {
                    (n.status, n.error, n.delivered_at) = ("delivered".into(), None, Some(unix_now()));
                    metrics.notifications.inc(kind, "delivered");
                    tracing::info!(id = %n.id, attempts = n.attempts, "webhook delivered");
                }
                Err(why) => {
                    let last = n.attempts >= self.config.max_attempts;
                    n.status = if last { "failed" } else { "pending" }.into();
                    n.next_at = unix_now().saturating_add(backoff(self.base_delay, n.attempts - 1).as_secs() as i64);
                    metrics.notifications.inc(kind, if last { "failed" } else { "retried" });
                    tracing::warn!(id = %n.id, attempts = n.attempts, error = %why, gave_up = last, "webhook delivery failed");
                    n.error = Some(why);
                }
            }
            store.set_notification(&n).await?;
        }
        Ok(due.len())
    }

    /// POSTs one payload, signed; any answer but 2xx is a failure naming it.
    async fn post(&self, payload: &str) -> Result<(), String> {
        let Some(client) = &self.client else { return Err("no webhook is configured".into()) };
        let timestamp = unix_now();
        let response = client
            .post(&self.config.webhook_url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature(self.config.webhook_secret.as_bytes(), timestamp, payload.as_bytes()))
            .body(payload.to_string())
            .send()
            .await
            // without the URL: it may carry a token
            .map_err(|e| if e.is_timeout() { "timed out".to_string() } else { "unreachable".to_string() })?;
        if response.status().is_success() { Ok(()) } else { Err(format!("HTTP {}", response.status().as_u16())) }
    }

    /// Delivers due notifications until `stop` turns true: at once when something new is
    /// recorded, otherwise every `every` (retries come due by their backoff).
    pub async fn run(
        &self,
        store: &Store,
        metrics: &Metrics,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        if self.config.webhook_url.is_empty() {
            return;
        }
        loop {
            if let Err(e) = self.deliver_due(store, metrics).await {
                tracing::error!(error = %e, "delivering notifications failed; will retry");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::state::MilestoneState;

    const LIVE: Conditions = Conditions { paused: false, agent_ineligible: false, certified: true };

    /// A job whose milestone 1 awaits approval (review until 1 100) and milestone 0 is paid.
    fn job() -> Job {
        let mut j = agentrail_client::fixtures::funded_job(&[(100, false), (200, true)]);
        j.review_window = 1_000;
        j.submit(0, [1; 32], 10).unwrap();
        j.release(0).unwrap();
        j.submit(1, [2; 32], 100).unwrap();
        j
    }

    #[test]
    fn an_approval_and_a_dispute_are_decisions_and_nothing_else_is() {
        let key = Pubkey::new_unique();
        let mut j = job();
        let found = notices(&key, &j, 500, &LIVE);
        assert_eq!(found.len(), 1, "{found:?}");
        let n = &found[0];
        assert_eq!(
            (n.kind, n.milestone, n.decider, n.amount, n.until, n.receipt),
            (Kind::ApprovalNeeded, 1, j.poster, 200, 1_099, [2; 32])
        );
        assert_eq!(n.id(), format!("{key}:1:approval_needed"));
        // past the review window the milestone is owed: no decision left
        assert!(notices(&key, &j, 1_100, &LIVE).is_empty());
        // with an arbiter, a rejection opens a dispute that the arbiter decides
        (j.arbiter, j.dispute_window) = (Pubkey::new_unique(), 3_600);
        j.dispute(1, 600).unwrap();
        assert_eq!(j.milestones()[1].state, MilestoneState::Disputed);
        let found = notices(&key, &j, 700, &LIVE);
        assert_eq!(
            found.iter().map(|n| (n.kind, n.decider, n.until)).collect::<Vec<_>>(),
            [(Kind::DisputeOpen, j.arbiter, 4_199)]
        );
        assert!(notices(&key, &j, 4_200, &LIVE).is_empty(), "the window closed: the default rule decides");
    }

    #[test]
    fn the_payload_is_slack_text_plus_the_facts() {
        let key = Pubkey::new_unique();
        let n = notices(&key, &job(), 500, &LIVE).remove(0);
        let config = NotifyConfig {
            approve_url: "https://console.example/jobs/".into(),
            public_api: "http://k:9464/".into(),
            ..Default::default()
        };
        let p = n.payload(&config);
        let text = p["text"].as_str().unwrap();
        assert!(
            text.contains(&format!("agentrail job approve {key} 1")) && text.contains("1970-01-01T00:18:19Z"),
            "{text}"
        );
        assert_eq!(p["link"], format!("https://console.example/jobs/{key}"));
        assert_eq!(p["receipts_url"], format!("http://k:9464/jobs/{key}/receipts"));
        assert_eq!((p["kind"].as_str(), p["amount"].as_str()), (Some("approval_needed"), Some("200")));
        assert_eq!(p["receipt"], hex::encode([2; 32]));
        let bare = n.payload(&NotifyConfig::default());
        assert!(bare["link"].is_null() && bare["receipts_url"].is_null());
        // no page configured: the decider's inbox in this keeper's console
        let console = n.payload(&NotifyConfig { public_api: "http://k:9464/".into(), ..Default::default() });
        assert_eq!(console["link"], format!("http://k:9464/console/inbox?who={}", p["decider"].as_str().unwrap()));
    }

    /// The signature is HMAC-SHA256 over "<timestamp>.<body>": RFC 4231 test case 2's key and
    /// message, split at the dot, give its published digest.
    #[test]
    fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(expected, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_ne!(signature(b"k", 1, b"{}"), signature(b"k", 2, b"{}"), "the time is signed");
        assert_ne!(signature(b"k", 1, b"{}"), signature(b"j", 1, b"{}"));
        assert!(signature(b"k", 1, b"{}").starts_with("v1=") && signature(b"k", 1, b"{}").len() == 3 + 64);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(2);
        assert_eq!([0, 1, 2, 3].map(|a| backoff(base, a).as_secs()), [2, 4, 8, 16]);
        assert_eq!(backoff(base, 40), Duration::from_secs(3_600));
    }

    #[test]
    fn a_webhook_needs_a_secret_and_an_http_url() {
        let url =
            |u: &str, s: &str| NotifyConfig { webhook_url: u.into(), webhook_secret: s.into(), ..Default::default() };
        let refused = Notifier::new(url("https://hooks.example/x", "")).err().expect("refused");
        assert!(refused.to_string().contains("webhook_secret"), "{refused}");
        assert!(Notifier::new(url("file:///etc/passwd", "s")).is_err());
        assert!(Notifier::new(url("https://hooks.example/x", "s")).is_ok());
        assert!(Notifier::new(NotifyConfig::default()).is_ok(), "no webhook: recorded and streamed only");
    }
}
