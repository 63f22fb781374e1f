//! The web console: server-rendered pages on the API's address under `/console`, with one
//! script (the TypeScript client and the wallet code, bundled from `web/` at build time and
//! embedded here) and one stylesheet. Reading needs no wallet and no script; deciding is signed
//! in the person's browser wallet; receipts are verified in the browser against the chain.

mod html;
mod pages;
mod reads;

use std::sync::Arc;

use anchor_lang::Discriminator;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

use crate::service::Keeper;
use html::{Frame, esc};
use pages::Page;

type Shared = Arc<Keeper>;

/// The bundled script (`npm --prefix web run build`; CI checks it is current).
const SCRIPT: &str = include_str!("../../../web/dist/console.js");
/// The stylesheet.
const STYLE: &str = include_str!("../../../web/console/console.css");

/// The console's routes (merged into the API's router when `console.enabled`).
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/console", get(home))
        .route("/console/find", get(find))
        .route("/console/inbox", get(inbox))
        .route("/console/jobs/{job}", get(job))
        .route("/console/agents/{agent}", get(agent))
        .route("/console/receipts/{index}", get(receipt))
        .route("/console/verify", get(verify))
        .route("/console/assets/console.js", get(script))
        .route("/console/assets/console.css", get(style))
}

fn frame(k: &Keeper) -> Frame<'_> {
    // a served console has one (the config is refused without it)
    let rpc = k.config.console_rpc().unwrap_or_default();
    Frame { rpc, explorer: &k.config.console.explorer, keeper: k.payer.pubkey().to_string() }
}

/// A page, or an error page naming the problem (never a bare 500).
fn respond(k: &Keeper, page: anyhow::Result<Option<Page>>, what: &str) -> Response {
    let f = frame(k);
    let (status, page) = match page {
        Ok(Some(p)) => (StatusCode::OK, p),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            Page {
                title: "Not found".into(),
                attrs: String::new(),
                body: format!("<h1>Not found</h1><p>{}</p>", esc(what)),
            },
        ),
        Err(e) => {
            // the error may name the RPC or database URL, keys and all: only the log has it
            let id = crate::api::failure_id(k, &e);
            (
                StatusCode::BAD_GATEWAY,
                Page {
                    title: "Unavailable".into(),
                    attrs: String::new(),
                    body: format!(
                        "<h1>Could not read the chain</h1><p>The keeper could not read what this page shows; \
                         try again shortly. Its operator finds why under request <code>{}</code> in its log.</p>",
                        esc(&id)
                    ),
                },
            )
        }
    };
    let html = f.page(&page.title, &page.attrs, &page.body);
    // the pages are live state: never cached; the script may only load from this keeper
    let headers = [
        (header::CACHE_CONTROL, "no-store".to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CONTENT_SECURITY_POLICY, csp(f.rpc)),
    ];
    (status, headers, Html(html)).into_response()
}

/// Scripts and styles from this keeper only; the chain's RPC is the one other origin reached.
fn csp(rpc: &str) -> String {
    let origin = url::Url::parse(rpc).map(|u| u.origin().ascii_serialization()).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' {origin}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

fn bad_request(k: &Keeper, what: String) -> Response {
    let mut r = respond(k, Ok(None), &what);
    *r.status_mut() = StatusCode::BAD_REQUEST;
    r
}

async fn home(State(k): State<Shared>) -> Response {
    let f = frame(&k);
    let page = pages::home(&k, &f).await.map(Some);
    respond(&k, page, "")
}

#[derive(Deserialize)]
struct FindQuery {
    q: String,
}

/// Opens what `q` names: a receipt number, a job or an agent account.
async fn find(State(k): State<Shared>, Query(q): Query<FindQuery>) -> Response {
    let q = q.q.trim();
    if let Ok(index) = q.parse::<u64>() {
        return Redirect::to(&format!("/console/receipts/{index}")).into_response();
    }
    let Ok(key) = q.parse::<Pubkey>() else {
        return bad_request(&k, format!("{q:?} is neither an address nor a receipt number"));
    };
    match k.chain.accounts(&[key]).await {
        Ok(found) => match found.into_iter().next().flatten() {
            Some(a) if a.data.starts_with(agentrail::state::Job::DISCRIMINATOR) => {
                Redirect::to(&format!("/console/jobs/{key}")).into_response()
            }
            Some(a) if a.data.starts_with(agentrail::state::Agent::DISCRIMINATOR) => {
                Redirect::to(&format!("/console/agents/{key}")).into_response()
            }
            Some(_) => bad_request(&k, format!("{key} is neither a job nor an agent")),
            None => respond(&k, Ok(None), &format!("no account {key} exists")),
        },
        Err(e) => respond(&k, Err(e), ""),
    }
}

#[derive(Deserialize)]
struct InboxQuery {
    who: Option<String>,
}

async fn inbox(State(k): State<Shared>, Query(q): Query<InboxQuery>) -> Response {
    let who = match q.who.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        None => None,
        Some(w) => match w.parse::<Pubkey>() {
            Ok(p) => Some(p),
            Err(_) => return bad_request(&k, format!("{w:?} is not a wallet address")),
        },
    };
    let page = pages::inbox(&k, who).await.map(Some);
    respond(&k, page, "")
}

async fn job(State(k): State<Shared>, Path(job): Path<String>) -> Response {
    let Ok(key) = job.parse::<Pubkey>() else { return bad_request(&k, format!("{job:?} is not a job address")) };
    let f = frame(&k);
    let page = pages::job(&k, &f, key).await;
    respond(&k, page, &format!("no job {key} exists (closed jobs are gone from the chain)"))
}

async fn agent(State(k): State<Shared>, Path(agent): Path<String>) -> Response {
    let Ok(key) = agent.parse::<Pubkey>() else { return bad_request(&k, format!("{agent:?} is not an agent address")) };
    let f = frame(&k);
    let page = pages::agent(&k, &f, key).await;
    respond(&k, page, &format!("no agent {key} exists"))
}

async fn receipt(State(k): State<Shared>, Path(index): Path<String>) -> Response {
    let Ok(index) = index.parse::<u64>() else { return bad_request(&k, format!("{index:?} is not a receipt number")) };
    let f = frame(&k);
    let page = pages::receipt(&k, &f, index).await;
    respond(&k, page, &format!("this keeper's log has no receipt {index}"))
}

async fn verify(State(k): State<Shared>) -> Response {
    respond(&k, Ok(Some(pages::verify())), "")
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], SCRIPT)
        .into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], STYLE).into_response()
}
