//! Keeper configuration: a TOML file, overridden by flags and environment variables.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// What to do with a step whose retries are exhausted or whose guards refused payment.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicy {
    /// Leave the milestone for a human (`agentrail job fail`); otherwise the job is refunded
    /// at its deadline.
    Leave,
    /// Try the step again on a later scan.
    RetryLater,
    /// Give up on the milestone on-chain (`fail_milestone`): it goes back to the poster now
    /// and the job moves on to its next milestone.
    RefundMilestone,
    /// Give up on the whole job on-chain: everything unreleased goes back to the poster and
    /// the job is cancelled.
    RefundJob,
}

impl FailurePolicy {
    /// Whether the keeper refunds on-chain, and with `cancel` (the whole job).
    pub fn refund(self) -> Option<bool> {
        match self {
            FailurePolicy::Leave | FailurePolicy::RetryLater => None,
            FailurePolicy::RefundMilestone => Some(false),
            FailurePolicy::RefundJob => Some(true),
        }
    }
}

/// The `[executor]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutorConfig {
    /// Per-request timeout, e.g. "10s".
    pub timeout: String,
    pub max_attempts: u32,
    pub base_delay: String,
    pub max_delay: String,
    /// Hosts the keeper may call; empty allows any public host. Private, loopback and
    /// link-local destinations are called only when their host is listed here.
    pub allow: Vec<String>,
    pub on_failure: FailurePolicy,
    /// Largest agent answer read, in bytes (default 1 MiB); a larger one fails the attempt.
    pub max_body_bytes: usize,
    /// Most steps run at once (one per job at a time); the rest wait for a slot.
    pub concurrency: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        ExecutorConfig {
            timeout: "10s".into(),
            max_attempts: 4,
            base_delay: "500ms".into(),
            max_delay: "10s".into(),
            allow: vec![],
            on_failure: FailurePolicy::Leave,
            max_body_bytes: crate::agent_client::DEFAULT_MAX_BODY,
            concurrency: 16,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub rpc_url: String,
    /// The program deployment to serve: "" is the built-in localnet id, accepted only for an
    /// `rpc_url` on this machine ([`agentrail_client::program_id_for`]).
    pub program_id: String,
    pub keypair: String,
    /// `sqlite://path` (default, embedded) or `postgres://...`.
    pub database: String,
    /// Address of the metrics, health and read-only API server.
    pub listen: String,
    /// How often to scan the chain, e.g. "2s" (also with a websocket: the poll is the source
    /// of truth, the subscription only makes changes arrive sooner).
    pub poll_interval: String,
    /// The websocket to watch this keeper's jobs on: "" derives it from `rpc_url` (ws for
    /// http, wss for https, the port plus one when one is given, as Solana's tools do);
    /// "off" polls only.
    pub ws_url: String,
    /// How often to check whether a day needs anchoring.
    pub anchor_interval: String,
    /// How often to sweep the fees this keeper's finished jobs earned to the treasury ("0s":
    /// never; someone else sweeps, or `agentrail job close` does).
    pub sweep_interval: String,
    /// Also anchor the current UTC day (demos and tests); normally only completed days are.
    pub anchor_today: bool,
    /// Highest priority fee, micro-lamports per compute unit.
    pub priority_fee_cap: u64,
    /// Refund expired jobs this keeper serves.
    pub refund_expired: bool,
    /// Longest one send waits for confirmation before a later scan follows it, e.g. "60s".
    pub confirm_timeout: String,
    /// Releases, dispute defaults and refunds sent at once, off the scan (owed pay first).
    pub settlement_concurrency: usize,
    /// Below this balance (lamports) the keeper logs an error and `/health` reports not ok.
    pub low_balance_lamports: u64,
    pub executor: ExecutorConfig,
    /// Telling people when they must decide (webhook, event stream).
    pub notify: crate::notify::NotifyConfig,
    /// The web console served beside the API.
    pub console: ConsoleConfig,
    /// Limits of the server carrying the API and the console.
    pub api: crate::http_server::ApiConfig,
}

/// The `[console]` table: the web console at `/console` on the API's address.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve it (`false`: the API only).
    pub enabled: bool,
    /// The public RPC URL people's browsers read the chain from and send their transactions
    /// to. "" is allowed only when the keeper's own `rpc_url` is a bare loopback address (a
    /// local validator: nothing in it to keep secret); any other `rpc_url` is never shown.
    pub rpc_url: String,
    /// Transaction and address links: `{path}` becomes `tx/<signature>` or `address/<key>`,
    /// `{rpc}` the console's RPC URL (URL-encoded).
    pub explorer: String,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            rpc_url: String::new(),
            explorer: "https://explorer.solana.com/{path}?cluster=custom&customUrl={rpc}".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rpc_url: "http://127.0.0.1:8899".into(),
            program_id: String::new(),
            keypair: "~/.config/solana/id.json".into(),
            database: "sqlite://agentrail-keeper.sqlite".into(),
            listen: "127.0.0.1:9464".into(),
            poll_interval: "2s".into(),
            ws_url: String::new(),
            anchor_interval: "60s".into(),
            sweep_interval: "10m".into(),
            anchor_today: false,
            priority_fee_cap: 100_000,
            refund_expired: true,
            confirm_timeout: "60s".into(),
            settlement_concurrency: 16,
            low_balance_lamports: 50_000_000,
            executor: ExecutorConfig::default(),
            notify: crate::notify::NotifyConfig::default(),
            console: ConsoleConfig::default(),
            api: crate::http_server::ApiConfig::default(),
        }
    }
}

/// The websocket URL Solana's tools pair with RPC URL `rpc`: ws for http, wss for https, the
/// port plus one when the URL names one (a validator serves its websocket there).
pub fn websocket_url(rpc: &str) -> Option<String> {
    let mut url = url::Url::parse(rpc).ok()?;
    let scheme = match url.scheme() {
        "http" => "ws",
        "https" => "wss",
        _ => return None,
    };
    url.set_scheme(scheme).ok()?;
    if let Some(port) = url.port() {
        url.set_port(Some(port.checked_add(1)?)).ok()?;
    }
    Some(url.to_string())
}

/// Parses a duration setting, naming it in the error.
pub fn duration(name: &str, value: &str) -> Result<Duration> {
    humantime::parse_duration(value)
        .with_context(|| format!("config `{name}` = {value:?} is not a duration (e.g. 2s, 500ms, 1h)"))
}

/// Environment variables read by other means than [`Config::layered`] (the file's path, the
/// crash-test hook) or by other programs.
const NOT_CONFIG_KEYS: [&str; 2] = ["AGENTRAIL_KEEPER_CONFIG", "AGENTRAIL_KEEPER_FAILPOINT"];

impl Config {
    /// The RPC URL the console's pages use: `console.rpc_url`, else the keeper's `rpc_url`
    /// when it is a bare loopback address
    /// ([`agentrail_client::net::is_bare_loopback_url`]), else none (a console without it
    /// is refused by [`Config::validate`]).
    pub fn console_rpc(&self) -> Option<&str> {
        if !self.console.rpc_url.is_empty() {
            return Some(&self.console.rpc_url);
        }
        agentrail_client::net::is_bare_loopback_url(&self.rpc_url).then_some(self.rpc_url.as_str())
    }

    /// The websocket to watch jobs on, `None` when `ws_url` is "off" ([`websocket_url`]).
    pub fn websocket(&self) -> Option<String> {
        match self.ws_url.as_str() {
            "off" => None,
            "" => websocket_url(&self.rpc_url),
            url => Some(url.to_string()),
        }
    }

    /// Reads a TOML file; unknown keys are errors that name the key.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| anyhow::anyhow!("invalid keeper config: {e}"))
    }

    /// The layered configuration: defaults, then the TOML file `file`, then every
    /// `AGENTRAIL_KEEPER_<KEY>` variable of `env` (`AGENTRAIL_KEEPER_EXECUTOR_<KEY>` and
    /// `AGENTRAIL_KEEPER_NOTIFY_<KEY>`, `AGENTRAIL_KEEPER_CONSOLE_<KEY>`,
    /// `AGENTRAIL_KEEPER_API_<KEY>` for the `[executor]`, `[notify]`, `[console]` and `[api]`
    /// tables). A value is read as TOML when it parses (`true`, `16`,
    /// `["a", "b"]`), as a string otherwise (`2s`, a URL). Unknown keys are errors naming them.
    pub fn layered(file: Option<&str>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut table: toml::Table = match file {
            Some(text) => text.parse().map_err(|e| anyhow::anyhow!("invalid keeper config: {e}"))?,
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix("AGENTRAIL_KEEPER_") else { continue };
            if NOT_CONFIG_KEYS.contains(&name.as_str()) {
                continue;
            }
            let key = key.to_ascii_lowercase();
            let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            // table keys: AGENTRAIL_KEEPER_EXECUTOR_<KEY>, ..._NOTIFY_<KEY>, ..._CONSOLE_<KEY>,
            // ..._API_<KEY>
            let nested = ["executor", "notify", "console", "api"]
                .into_iter()
                .find_map(|t| key.strip_prefix(&format!("{t}_")).map(|inner| (t, inner.to_string())));
            match nested {
                Some((name, inner)) => {
                    let sub = table.entry(name).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let toml::Value::Table(sub) = sub else {
                        bail!("invalid keeper config: `{name}` must be a table");
                    };
                    sub.insert(inner, value);
                }
                None => {
                    table.insert(key, value);
                }
            }
        }
        table
            .try_into()
            .map_err(|e| anyhow::anyhow!("invalid keeper config (file or AGENTRAIL_KEEPER_* variables): {e}"))
    }

    /// The program id to serve (`program_id`, else the localnet id for a local `rpc_url`).
    pub fn program(&self) -> Result<Pubkey> {
        let configured = match self.program_id.as_str() {
            "" => None,
            id => Some(
                id.parse().map_err(|_| anyhow::anyhow!("config `program_id` = {id:?} is not a base58 public key"))?,
            ),
        };
        Ok(agentrail_client::program_id_for(
            &self.rpc_url,
            configured,
            "config `program_id` or AGENTRAIL_KEEPER_PROGRAM_ID",
        )?)
    }

    /// Checks every value that can be wrong.
    pub fn validate(&self) -> Result<()> {
        self.program()?;
        for (name, v) in [
            ("poll_interval", &self.poll_interval),
            ("anchor_interval", &self.anchor_interval),
            ("sweep_interval", &self.sweep_interval),
            ("executor.timeout", &self.executor.timeout),
            ("executor.base_delay", &self.executor.base_delay),
            ("executor.max_delay", &self.executor.max_delay),
            ("api.header_timeout", &self.api.header_timeout),
        ] {
            duration(name, v)?;
        }
        if !(self.rpc_url.starts_with("http://") || self.rpc_url.starts_with("https://")) {
            bail!("config `rpc_url` = {:?} must be an http(s) URL", self.rpc_url);
        }
        if !(self.console.rpc_url.is_empty()
            || self.console.rpc_url.starts_with("http://")
            || self.console.rpc_url.starts_with("https://"))
        {
            bail!("config `console.rpc_url` = {:?} must be an http(s) URL", self.console.rpc_url);
        }
        if self.console.enabled && self.console_rpc().is_none() {
            bail!(
                "config `console.rpc_url` must be set to a public RPC URL for people's browsers: the keeper's own \
                 `rpc_url` is never shown on pages (it may carry an API key); or disable the console \
                 (`console.enabled = false`)"
            );
        }
        if !(1..=256).contains(&self.settlement_concurrency) {
            bail!("config `settlement_concurrency` = {} must be 1 to 256", self.settlement_concurrency);
        }
        if self.api.max_connections == 0 || self.api.max_subscribers == 0 {
            bail!("config `api.max_connections` and `api.max_subscribers` must be at least 1");
        }
        if !self.console.explorer.contains("{path}") {
            bail!("config `console.explorer` = {:?} must contain {{path}}", self.console.explorer);
        }
        if !(["", "off"].contains(&self.ws_url.as_str())
            || self.ws_url.starts_with("ws://")
            || self.ws_url.starts_with("wss://"))
        {
            bail!("config `ws_url` = {:?} must be a ws(s) URL, \"\" (derived from rpc_url) or \"off\"", self.ws_url);
        }
        if !(self.database.starts_with("sqlite:")
            || self.database.starts_with("postgres://")
            || self.database.starts_with("postgresql://"))
        {
            bail!("config `database` = {:?} must be sqlite://PATH or postgres://...", self.database);
        }
        self.listen
            .parse::<std::net::SocketAddr>()
            .with_context(|| format!("config `listen` = {:?} is not HOST:PORT", self.listen))?;
        if !(1..=20).contains(&self.executor.max_attempts) {
            bail!("config `executor.max_attempts` must be between 1 and 20");
        }
        // bounds that keep a typo from refunding every job or busy-looping against the RPC
        let within = |name: &str, value: &str, low: Duration, high: Duration| -> Result<()> {
            let d = duration(name, value)?;
            if d < low || d > high {
                bail!("config `{name}` = {value:?} must be between {low:?} and {high:?}");
            }
            Ok(())
        };
        within("poll_interval", &self.poll_interval, Duration::from_millis(100), Duration::from_secs(3_600))?;
        within("anchor_interval", &self.anchor_interval, Duration::from_secs(1), Duration::from_secs(86_400))?;
        within("sweep_interval", &self.sweep_interval, Duration::ZERO, Duration::from_secs(7 * 86_400))?;
        within("confirm_timeout", &self.confirm_timeout, Duration::from_secs(5), Duration::from_secs(600))?;
        within("executor.timeout", &self.executor.timeout, Duration::from_millis(100), Duration::from_secs(600))?;
        within("executor.base_delay", &self.executor.base_delay, Duration::ZERO, Duration::from_secs(600))?;
        within("executor.max_delay", &self.executor.max_delay, Duration::ZERO, Duration::from_secs(600))?;
        if !(1..=1_024).contains(&self.executor.concurrency) {
            bail!("config `executor.concurrency` must be between 1 and 1024");
        }
        if !(1_024..=64 << 20).contains(&self.executor.max_body_bytes) {
            bail!("config `executor.max_body_bytes` must be between 1 KiB and 64 MiB");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates() {
        let c = Config::from_toml(
            "rpc_url = \"http://127.0.0.1:8899\"\n[executor]\nallow = [\"127.0.0.1\"]\non_failure = \"retry-later\"\n",
        )
        .unwrap();
        assert_eq!(c.executor.allow, ["127.0.0.1"]);
        assert_eq!(c.executor.on_failure, FailurePolicy::RetryLater);
        for (name, policy, refund) in [
            ("leave", FailurePolicy::Leave, None),
            ("refund-milestone", FailurePolicy::RefundMilestone, Some(false)),
            ("refund-job", FailurePolicy::RefundJob, Some(true)),
        ] {
            let c = Config::from_toml(&format!("[executor]\non_failure = \"{name}\"\n")).unwrap();
            assert_eq!((c.executor.on_failure, c.executor.on_failure.refund()), (policy, refund));
        }
        assert_eq!(c.poll_interval, "2s");
        c.validate().unwrap();
        assert!(Config::from_toml("rpc_ur = \"x\"").unwrap_err().to_string().contains("rpc_ur"));
        let bad = Config { poll_interval: "soon".into(), ..Config::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("poll_interval"));
        let bad = Config { database: "mysql://x".into(), ..Config::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("database"));
        let bad = Config { listen: "nowhere".into(), ..Config::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("listen"));
        let zero = ExecutorConfig { timeout: "0s".into(), ..ExecutorConfig::default() };
        let bad = Config { executor: zero, ..Config::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("executor.timeout"), "a 0s timeout fails every step");
        let bad = Config { poll_interval: "0s".into(), ..Config::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("poll_interval"));
        let many = ExecutorConfig { max_attempts: 1_000_000, ..ExecutorConfig::default() };
        assert!(Config { executor: many, ..Config::default() }.validate().is_err());
        let huge = ExecutorConfig { max_body_bytes: 1 << 30, ..ExecutorConfig::default() };
        assert!(Config { executor: huge, ..Config::default() }.validate().is_err());
    }

    #[test]
    fn the_keepers_own_rpc_url_is_shown_to_browsers_only_when_it_is_a_local_validators() {
        for bare in ["http://127.0.0.1:8899", "http://localhost:8899/", "http://[::1]:8899"] {
            assert!(agentrail_client::net::is_bare_loopback_url(bare), "{bare}");
        }
        for secret in [
            "https://mainnet.helius-rpc.com/?api-key=SECRET",
            "http://127.0.0.1:8899/v2/SECRET",
            "http://127.0.0.1:8899/?key=SECRET",
            "http://user:SECRET@127.0.0.1:8899",
            "http://10.0.0.1:8899",
        ] {
            assert!(!agentrail_client::net::is_bare_loopback_url(secret), "{secret}");
        }
        let local = Config::default();
        assert_eq!(local.console_rpc(), Some("http://127.0.0.1:8899"));
        local.validate().unwrap();
        let keyed = Config {
            rpc_url: "https://rpc.example/v2/SECRET".into(),
            program_id: agentrail_client::LOCALNET_PROGRAM_ID.to_string(),
            ..Config::default()
        };
        assert_eq!(keyed.console_rpc(), None);
        let err = keyed.validate().unwrap_err().to_string();
        assert!(err.contains("console.rpc_url") && !err.contains("SECRET"), "{err}");
        let public =
            ConsoleConfig { rpc_url: "https://api.mainnet-beta.solana.com".into(), ..ConsoleConfig::default() };
        let keyed = Config { console: public, ..keyed };
        assert_eq!(keyed.console_rpc(), Some("https://api.mainnet-beta.solana.com"));
        keyed.validate().unwrap();
        let off = Config { console: ConsoleConfig { enabled: false, ..ConsoleConfig::default() }, ..keyed };
        assert_eq!(off.console_rpc(), None);
        off.validate().expect("no console, nothing to show");
    }

    #[test]
    fn every_key_has_an_environment_override() {
        let file = "poll_interval = \"5s\"\nanchor_today = true\n[executor]\ntimeout = \"3s\"\n";
        let env = [
            ("AGENTRAIL_KEEPER_POLL_INTERVAL", "1s"),
            ("AGENTRAIL_KEEPER_ANCHOR_TODAY", "false"),
            ("AGENTRAIL_KEEPER_EXECUTOR_CONCURRENCY", "32"),
            ("AGENTRAIL_KEEPER_EXECUTOR_ALLOW", "[\"agents.example\", \"127.0.0.1\"]"),
            ("AGENTRAIL_KEEPER_RPC_URL", "https://rpc.example/v2/key"),
            ("AGENTRAIL_KEEPER_FAILPOINT", "after-broadcast:submit"),
            ("PATH", "/usr/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let c = Config::layered(Some(file), env).unwrap();
        assert_eq!((c.poll_interval.as_str(), c.anchor_today), ("1s", false), "the environment wins over the file");
        assert_eq!((c.executor.timeout.as_str(), c.executor.concurrency), ("3s", 32), "the file wins over defaults");
        assert_eq!(c.executor.allow, ["agents.example", "127.0.0.1"]);
        assert_eq!(c.rpc_url, "https://rpc.example/v2/key");
        let typo = [("AGENTRAIL_KEEPER_POLL_INTERVALL".to_string(), "1s".to_string())];
        assert!(Config::layered(None, typo).unwrap_err().to_string().contains("poll_intervall"));
    }
}
