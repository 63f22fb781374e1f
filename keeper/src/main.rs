//! `agentrail-keeper`: the daemon operators run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentrail_keeper::agent_client::{HttpExecutor, Payer, RetryPolicy};
use agentrail_keeper::config::{Config, duration};
use agentrail_keeper::settlement_queue::SettlementQueue;
use agentrail_keeper::step_pool::StepPool;
use agentrail_keeper::{api, chain::Chain, metrics::Metrics, receipt_log::Log, service::Keeper, store::Store};
use anyhow::{Context, Result};
use clap::Parser;
use solana_sdk::signature::read_keypair_file;
use solana_sdk::signer::Signer;
use tokio::sync::watch;

/// Executes Agentrail job steps, stores signed receipts, releases and refunds milestones, and
/// anchors the receipt log once a day.
#[derive(Parser, Debug)]
#[command(name = "agentrail-keeper", version)]
struct Args {
    /// TOML config file (see README). Every key can also be set by an `AGENTRAIL_KEEPER_<KEY>`
    /// variable (`AGENTRAIL_KEEPER_EXECUTOR_<KEY>` for `[executor]`), which wins over the file;
    /// flags win over both.
    #[arg(long, env = "AGENTRAIL_KEEPER_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC URL.
    #[arg(long)]
    rpc_url: Option<String>,
    /// Keeper keypair file (Solana CLI format).
    #[arg(long)]
    keypair: Option<String>,
    /// Store: sqlite://PATH (default) or postgres://...
    #[arg(long)]
    database: Option<String>,
    /// Metrics/health/API listen address.
    #[arg(long)]
    listen: Option<String>,
    /// Also anchor the current UTC day (demos and tests); `--anchor-today=false` turns off a
    /// `true` from the file or environment.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    anchor_today: Option<bool>,
}

/// Defaults, then the file, then the environment, then flags.
fn load_config(args: &Args) -> Result<Config> {
    let file = match &args.config {
        Some(path) => {
            Some(std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?)
        }
        None => None,
    };
    let mut config = Config::layered(file.as_deref(), std::env::vars())?;
    if let Some(v) = &args.rpc_url {
        config.rpc_url = v.clone();
    }
    if let Some(v) = &args.keypair {
        config.keypair = v.clone();
    }
    if let Some(v) = &args.database {
        config.database = v.clone();
    }
    if let Some(v) = &args.listen {
        config.listen = v.clone();
    }
    if let Some(v) = args.anchor_today {
        config.anchor_today = v;
    }
    config.validate()?;
    Ok(config)
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// How long a scan in progress may run on after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Most settlements waiting for a runner (past it, the next scan offers them again): a few
/// hundred bytes each.
const SETTLEMENTS_QUEUED: usize = 100_000;

async fn shutdown_signal(tx: watch::Sender<bool>) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested: finishing the current scan");
    let _ = tx.send(true);
}

async fn run(args: Args) -> Result<()> {
    let config = load_config(&args)?;
    agentrail_client::use_program_id(config.program()?)?;
    let payer = read_keypair_file(expand_home(&config.keypair))
        .map_err(|e| anyhow::anyhow!("cannot read keeper keypair {}: {e}", config.keypair))?;
    // one ed25519 key signs receipts and payment authorizations: the keeper's own
    let signing_key = agentrail_client::signing_key(&payer.to_bytes())
        .map_err(|e| anyhow::anyhow!("keeper keypair {} is not a valid ed25519 keypair: {e}", config.keypair))?;
    let store = Store::open(&config.database).await?;
    let log = Log::load(store).await?;
    let retry = RetryPolicy {
        max_attempts: config.executor.max_attempts,
        base_delay: duration("executor.base_delay", &config.executor.base_delay)?,
        max_delay: duration("executor.max_delay", &config.executor.max_delay)?,
    };
    // the cluster's CAIP-2 id, which payment authorizations name, once its genesis is read
    let network = Arc::new(std::sync::OnceLock::new());
    let executor = HttpExecutor::new(
        duration("executor.timeout", &config.executor.timeout)?,
        config.executor.allow.clone(),
        config.executor.max_body_bytes,
    )
    .paying(Payer { key: signing_key.clone(), network: network.clone() });
    let poll = duration("poll_interval", &config.poll_interval)?;
    let anchor_every = duration("anchor_interval", &config.anchor_interval)?;
    let sweep_every = duration("sweep_interval", &config.sweep_interval)?;
    let listen: std::net::SocketAddr = config.listen.parse()?;
    let confirm_budget = duration("confirm_timeout", &config.confirm_timeout)?;
    let steps = StepPool::new(config.executor.concurrency);
    let settlements = SettlementQueue::new(config.settlement_concurrency, SETTLEMENTS_QUEUED);
    let config_notify = config.notify.clone();
    let keeper = Arc::new(Keeper {
        chain: Chain::new(&config.rpc_url),
        config,
        log,
        executor: Box::new(executor),
        retry,
        confirm_budget,
        steps,
        settlements,
        last_scan: Default::default(),
        // ~400 bytes a job: at most ~6.5 MiB
        job_keys: agentrail_client::escrow::JobKeysCache::new(16_384),
        receipt_signer: signing_key,
        manifests_checked: Default::default(),
        terms_read: Default::default(),
        notifier: agentrail_keeper::notify::Notifier::new(config_notify)?,
        // the store may hold compensations from before a restart
        compensations_open: std::sync::atomic::AtomicBool::new(true),
        payer,
        metrics: Arc::new(Metrics::default()),
    });
    let rpc = agentrail_client::redact::redact_url(&keeper.config.rpc_url);
    tracing::info!(keeper = %keeper.payer.pubkey(), %rpc, log_size = keeper.log.size().await, "keeper starting");

    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let (tx, mut rx) = watch::channel(false);
    let server_rx = rx.clone();
    let header_timeout = agentrail_keeper::config::duration("api.header_timeout", &keeper.config.api.header_timeout)?;
    let server = agentrail_keeper::http_server::serve(
        listener,
        api::router(keeper.clone()),
        keeper.config.api.max_connections,
        header_timeout,
        server_rx,
        Duration::from_secs(5),
    );
    let server = tokio::spawn(server);
    // webhook deliveries run beside the scans: a slow webhook never delays a payment
    let notifier = keeper.clone();
    let notify_stop = rx.clone();
    tokio::spawn(async move {
        notifier.notifier.run(notifier.log.store(), &notifier.metrics, Duration::from_secs(1), notify_stop).await
    });
    // compensations run beside the scans too, once the store is bound (below): each round
    // reads the jobs with open compensations and undoes those that ended against their agent
    let compensator = keeper.clone();
    let mut compensate_stop = rx.clone();
    let (bound_tx, bound_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        if bound_rx.await.is_err() {
            return;
        }
        loop {
            if let Err(e) = compensator.compensate().await {
                tracing::error!(error = %compensator.scrub(&e), "compensating failed; will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = compensate_stop.changed() => return,
            }
        }
    });
    tokio::spawn(shutdown_signal(tx));

    // the store must be this keeper's, on this cluster, for this program (an intent from
    // another cluster must never be rebroadcast here, nor two logs mixed)
    let genesis = loop {
        match keeper.chain.rpc.get_genesis_hash().await {
            Ok(hash) => break hash,
            Err(e) => {
                tracing::error!(error = %keeper.scrub(&e.into()), "cannot read the cluster's genesis hash; retrying");
                tokio::select! { _ = tokio::time::sleep(Duration::from_secs(2)) => {}, _ = rx.changed() => return Ok(()) }
            }
        }
    };
    let identity = [
        ("keeper", keeper.payer.pubkey().to_string()),
        ("genesis", genesis.to_string()),
        ("program", agentrail_client::program_id().to_string()),
    ];
    keeper.log.store().bind_identity(&identity).await?;
    let _ = bound_tx.send(());
    let _ = network.set(agentrail_client::x402::network(&genesis.to_string()));

    // never sign anything new before every pending intent is resolved; retry with backoff while
    // the RPC endpoint is down instead of exiting
    let mut backoff = Duration::from_millis(500);
    while let Err(e) = keeper.reconcile().await {
        keeper.metrics.rpc_errors.inc();
        tracing::error!(error = %keeper.scrub(&e), retry_in = ?backoff, "reconciliation failed");
        tokio::select! { _ = tokio::time::sleep(backoff) => {}, _ = rx.changed() => return Ok(()) }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
    // `None`: not yet done, so due at the first scan (an `Instant` minus a day would panic on a
    // machine booted less than a day ago)
    let mut last_anchor: Option<std::time::Instant> = None;
    let mut last_sweep: Option<std::time::Instant> = None;
    let due = |last: Option<std::time::Instant>, every: Duration| last.is_none_or(|t| t.elapsed() >= every);
    // the websocket's reports of changed jobs, handled between polls (none when `ws_url = "off"`)
    let mut changed = keeper
        .config
        .websocket()
        .map(|url| agentrail_keeper::subscription::spawn(url, keeper.payer.pubkey(), keeper.metrics.clone()));
    let mut backoff = poll;
    'scans: loop {
        // a scan waits on agents and sends; on SIGTERM it gets a bounded grace to finish
        let Some(result) = within_grace(keeper.tick(), &mut rx).await else {
            tracing::warn!("scan still running after the grace period; stopping without it");
            break;
        };
        let ok = match result {
            Ok(()) => true,
            Err(e) => {
                keeper.metrics.rpc_errors.inc();
                tracing::error!(error = %keeper.scrub(&e), "scan failed");
                false
            }
        };
        if *rx.borrow() {
            break;
        }
        if ok && due(last_anchor, anchor_every) {
            match keeper.anchor().await {
                Ok(()) => last_anchor = Some(std::time::Instant::now()),
                Err(e) => tracing::error!(error = %keeper.scrub(&e), "anchoring failed; will retry"),
            }
        }
        if ok && !sweep_every.is_zero() && due(last_sweep, sweep_every) {
            match keeper.sweep_fees().await {
                Ok(()) => last_sweep = Some(std::time::Instant::now()),
                Err(e) => tracing::error!(error = %keeper.scrub(&e), "sweeping fees failed; will retry"),
            }
        }
        backoff = if ok { poll } else { (backoff * 2).min(Duration::from_secs(30)) };
        // until the next poll, the jobs the websocket reports changed are handled as they come
        let next_poll = tokio::time::Instant::now() + backoff;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(next_poll) => break,
                _ = rx.changed() => break 'scans,
                Some(first) = next_change(&mut changed) => {
                    // everything queued meanwhile too, each job once in its latest state
                    let mut batch: std::collections::HashMap<_, _> = [first].into_iter().collect();
                    while let Some((key, job)) = changed.as_mut().and_then(|c| c.try_recv().ok()) {
                        batch.insert(key, job);
                    }
                    match within_grace(keeper.tick_changed(batch.into_iter().collect()), &mut rx).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => tracing::warn!(error = %keeper.scrub(&e), "handling changed jobs failed; the next poll retries"),
                        None => break 'scans,
                    }
                    if *rx.borrow() {
                        break 'scans;
                    }
                }
            }
        }
    }
    let cut = keeper.steps.drain(SHUTDOWN_GRACE).await;
    if cut > 0 {
        tracing::warn!(
            steps = cut,
            "steps still running after the grace period were stopped; they run again after their lease"
        );
    }
    let unsent = keeper.settlements.drain(SHUTDOWN_GRACE).await;
    if unsent > 0 {
        tracing::warn!(
            settlements = unsent,
            "settlements still queued or in flight after the grace period; sent ones are reconciled at the next start"
        );
    }
    server.await.context("API server task")?;
    tracing::info!("keeper stopped");
    Ok(())
}

/// Runs `work` (a scan, or the handling of changed jobs) to its end; when shutdown is requested
/// meanwhile it gets [`SHUTDOWN_GRACE`] more, then is dropped (`None`): every transaction it
/// sent is a persisted intent resolved at the next start.
async fn within_grace<T>(
    work: impl std::future::Future<Output = T>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<T> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => Some(r),
        _ = shutdown.changed() => {
            tracing::info!(grace = ?SHUTDOWN_GRACE, "shutdown requested mid-scan: letting it finish");
            tokio::time::timeout(SHUTDOWN_GRACE, &mut work).await.ok()
        }
    }
}

/// The next job the websocket reported changed; never, without a websocket.
async fn next_change(
    changed: &mut Option<tokio::sync::mpsc::Receiver<(solana_sdk::pubkey::Pubkey, agentrail::state::Job)>>,
) -> Option<(solana_sdk::pubkey::Pubkey, agentrail::state::Job)> {
    match changed {
        Some(queue) => queue.recv().await,
        None => std::future::pending().await,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match run(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
