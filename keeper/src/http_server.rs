//! Serving the API and the console to the open internet: a cap on open connections, a time
//! limit on reading each request's headers (a client trickling bytes holds a connection only
//! that long), a per-address request rate, and a bearer token for what is not public. The
//! routes themselves live in [`crate::api`] and [`crate::console`].

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// The `[api]` table: limits of the HTTP server that carries the API and the console.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Most connections open at once; one more is closed at once.
    pub max_connections: usize,
    /// Longest a client may take to send a request's headers, e.g. "10s".
    pub header_timeout: String,
    /// Requests per minute from one IP address, as a bucket refilled evenly (bursts up to a
    /// tenth of it); past it a `429` with `Retry-After`. 0: no limit.
    pub requests_per_minute: u32,
    /// Most `/events` subscribers at once (each holds a connection).
    pub max_subscribers: usize,
    /// Required as `Authorization: Bearer <token>` on what is not public (`/metrics`,
    /// `/notifications`); "" leaves them open (bind `listen` to a private address then).
    pub token: String,
    /// The host names requests may be addressed to (their `Host` header, without the port);
    /// empty: any, except that a keeper listening on loopback answers only loopback names, so
    /// a web page cannot reach its console by rebinding a name of its own to 127.0.0.1.
    pub hosts: Vec<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_connections: 512,
            header_timeout: "10s".into(),
            requests_per_minute: 1_200,
            max_subscribers: 128,
            token: String::new(),
            hosts: Vec::new(),
        }
    }
}

/// Paths that need the token when one is set.
const PRIVATE: [&str; 2] = ["/metrics", "/notifications"];
/// Most addresses whose request rate is remembered (least recently seen forgotten first).
const RATE_ADDRESSES: usize = 65_536;

/// Per-address token buckets.
struct Rates {
    per_minute: u32,
    buckets: Mutex<lru::LruCache<IpAddr, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Rates {
    fn new(per_minute: u32) -> Self {
        let cap = NonZeroUsize::new(RATE_ADDRESSES).unwrap_or(NonZeroUsize::MIN);
        Rates { per_minute, buckets: Mutex::new(lru::LruCache::new(cap)) }
    }

    /// Takes one request from `ip`'s bucket at `now`; `Err(seconds to wait)` when it is empty.
    fn take(&self, ip: IpAddr, now: Instant) -> Result<(), u64> {
        let rate = f64::from(self.per_minute) / 60.0;
        // bursts up to a tenth of the minute's allowance, at least one request
        let burst = (f64::from(self.per_minute) / 10.0).max(1.0);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.get_or_insert_mut(ip, || Bucket { tokens: burst, at: now });
        b.tokens = (b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / rate).ceil() as u64)
        }
    }
}

/// What every request passes through before its route.
#[derive(Clone)]
struct Gate {
    rates: Option<Arc<Rates>>,
    token: Arc<str>,
    /// Host names accepted (`None`: any).
    hosts: Option<Arc<[String]>>,
}

/// The host name a request is addressed to: its `Host` header without the port.
fn host_name(request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_string(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name).to_string(),
    };
    Some(name.to_ascii_lowercase())
}

async fn gate(State(g): State<Gate>, request: Request, next: Next) -> Response {
    if let Some(hosts) = &g.hosts
        && !host_name(&request).is_some_and(|h| hosts.contains(&h))
    {
        let why = "this keeper does not answer for that host name (api.hosts)";
        return (StatusCode::MISDIRECTED_REQUEST, why).into_response();
    }
    if let Some(rates) = &g.rates {
        let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        if let Some(ip) = ip
            && let Err(wait) = rates.take(ip, Instant::now())
        {
            let body = format!("too many requests from {ip}; retry in {wait} s");
            return (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, wait.to_string())], body).into_response();
        }
    }
    if !g.token.is_empty() && PRIVATE.contains(&request.uri().path()) {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // compared in constant time: the token is a secret
        let ok = presented.is_some_and(|p| constant_time_eq(p.as_bytes(), g.token.as_bytes()));
        if !ok {
            let why = "this path needs the operator's token: Authorization: Bearer <api.token>";
            return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], why).into_response();
        }
    }
    next.run(request).await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `app` behind the host check, the rate limit and the token of `config`, served on `listen`.
pub fn guarded(app: Router, config: &ApiConfig, listen: &str) -> Router {
    let loopback = listen.parse::<SocketAddr>().is_ok_and(|a| a.ip().is_loopback());
    let hosts: Option<Arc<[String]>> = if !config.hosts.is_empty() {
        Some(config.hosts.iter().map(|h| h.to_ascii_lowercase()).collect())
    } else if loopback {
        Some(["127.0.0.1", "localhost", "::1"].map(String::from).into())
    } else {
        None
    };
    let gate_state = Gate {
        rates: (config.requests_per_minute > 0).then(|| Arc::new(Rates::new(config.requests_per_minute))),
        token: config.token.as_str().into(),
        hosts,
    };
    app.layer(axum::middleware::from_fn_with_state(gate_state, gate))
}

/// Serves `app` on `listener` until `stop` changes: at most `max_connections` open, each
/// given `header_timeout` to send its headers; open connections get `grace` to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let open = Arc::new(Semaphore::new(max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of descriptors, usually: wait instead of spinning
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "connection refused: at the connection limit");
            drop(stream);
            continue;
        };
        let app = app.clone().layer(axum::Extension(ConnectInfo(peer)));
        let service = hyper_util::service::TowerToHyperService::new(app);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // a client that times out or hangs up is its own business
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::info!("open API connections cut off at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_rate_and_others_are_not_charged_for_it() {
        let rates = Rates::new(60);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        // a burst of a tenth of the minute, then one a second
        for _ in 0..6 {
            assert_eq!(rates.take(a, t0), Ok(()));
        }
        assert_eq!(rates.take(a, t0), Err(1));
        assert_eq!(rates.take(b, t0), Ok(()), "another address has its own bucket");
        assert_eq!(rates.take(a, t0 + Duration::from_secs(1)), Ok(()));
        assert_eq!(rates.take(a, t0 + Duration::from_secs(1)), Err(1));
        // refilled up to the burst, never beyond
        for _ in 0..6 {
            assert_eq!(rates.take(a, t0 + Duration::from_secs(3600)), Ok(()));
        }
        assert!(rates.take(a, t0 + Duration::from_secs(3600)).is_err());
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"secret"));
    }
}
