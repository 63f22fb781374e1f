//! The console's pages, rendered from the chain (jobs, agents, certifications, track records)
//! and the keeper's store (steps, receipts, compensations). Each returns the page's `<main>`
//! attributes and body; [`super`] wraps them in the layout.

use agentrail::state::{Agent, Certification, Job, JobStatus, MilestoneState};
use agentrail_client::accounts::{JOB_ARBITER_OFFSET, JOB_POSTER_OFFSET, stage_letter, track_records_by_mint};
use agentrail_client::escrow::{
    JobKeys, agent_status_name, disputes_cell, format_bps, format_ui, job_status_name, milestone_state_name, next_steps,
};
use agentrail_client::lifecycle::{Action, Actor, Conditions, awaits, next_actions};
use agentrail_client::pda;
use agentrail_client::receipt::SignedReceipt;
use anyhow::Result;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

use super::html::{Frame, badge, esc, fields, key, table, time};
use super::reads::{conditions, decimals, parties, program_config};
use crate::service::Keeper;

/// Most rows the inbox shows (the soonest first).
const MAX_INBOX_ROWS: usize = 200;
/// Most jobs the front page lists.
const MAX_LISTED_JOBS: usize = 50;

/// A rendered page: its title, `<main>` attributes and body.
pub struct Page {
    pub title: String,
    pub attrs: String,
    pub body: String,
}

fn amount(units: u64, decimals: u8) -> String {
    esc(&format_ui(units, decimals))
}

/// `/console`: find a job, agent or receipt; the jobs this keeper is running.
pub async fn home(k: &Keeper, f: &Frame<'_>) -> Result<Page> {
    let jobs = k.chain.funded_jobs_for(&k.payer.pubkey()).await?;
    let mints: Vec<Pubkey> = jobs.iter().map(|(_, j)| j.mint).collect();
    let dec = decimals(k, &mints).await?;
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .take(MAX_LISTED_JOBS)
        .map(|(key_, j)| {
            let settled = j.milestones().iter().filter(|m| m.settled()).count();
            vec![
                format!(r#"<a href="/console/jobs/{key_}">{}</a>"#, esc(&key_.to_string())),
                format!("{settled} of {}", j.milestones().len()),
                amount(j.total(), dec.get(&j.mint).copied().unwrap_or(0)),
                time(j.deadline, true),
            ]
        })
        .collect();
    let listed = if rows.is_empty() {
        "<p>No funded jobs right now.</p>".to_string()
    } else {
        table("Funded jobs this keeper runs", &["job", "milestones settled", "total", "deadline"], &rows)
    };
    let body = format!(
        r#"<h1>Agentrail console</h1>
<p>Follow a job, decide what awaits you with your wallet, and check any receipt against the chain.</p>
<form class="find" action="/console/find" method="get" role="search">
<label for="q">Job or agent address, or receipt number</label>
<input id="q" name="q" required autocomplete="off" spellcheck="false">
<button type="submit">Open</button>
</form>
{listed}
<p class="note">Keeper {keeper}. {link}</p>"#,
        keeper = key(&k.payer.pubkey()),
        link = f.explorer(&format!("address/{}", k.payer.pubkey()), "its transactions"),
    );
    Ok(Page { title: "Console".into(), attrs: r#"data-page="home""#.into(), body })
}

/// One row of the inbox: a job's decision awaiting `who` in one role.
struct Awaiting {
    job: Pubkey,
    role: &'static str,
    milestone: Option<u8>,
    actions: Vec<Action>,
    until: Option<i64>,
    amount: Option<u64>,
    mint: Pubkey,
}

/// `/console/inbox?who=KEY`: what awaits `who` as poster (fund, approve, reject) or arbiter
/// (decide), each with the forms the console's script signs in the wallet.
pub async fn inbox(k: &Keeper, who: Option<Pubkey>) -> Result<Page> {
    let attrs = r#"data-page="inbox""#.to_string();
    let Some(me) = who else {
        let body = r#"<h1>Inbox</h1>
<p>Connect your wallet to see what awaits you as a poster or an arbiter, or look up any address:</p>
<form class="find" action="/console/inbox" method="get">
<label for="who">Wallet address</label>
<input id="who" name="who" required autocomplete="off" spellcheck="false">
<button type="submit">Show</button>
</form>"#;
        return Ok(Page { title: "Inbox".into(), attrs, body: body.into() });
    };
    let now = k.chain.now().await?;
    let config = program_config(k).await?;
    let mut open: Vec<(&'static str, Actor, Pubkey, Job)> = Vec::new();
    for (role, offset, actor) in
        [("poster", JOB_POSTER_OFFSET, Actor::Poster), ("arbiter", JOB_ARBITER_OFFSET, Actor::Arbiter)]
    {
        for (job_key, job) in k.chain.jobs_with_key_at(offset, &me).await? {
            if matches!(job.status, JobStatus::Created | JobStatus::Funded) {
                open.push((role, actor, job_key, job));
            }
        }
    }
    let jobs: Vec<&Job> = open.iter().map(|(_, _, _, job)| job).collect();
    let mut rows: Vec<Awaiting> = Vec::new();
    for ((role, actor, job_key, job), party) in open.iter().zip(parties(k, &jobs).await?) {
        let Some((agent, cert)) = party else { continue };
        let c = Conditions::read(job, &agent, cert.as_ref(), &config, now);
        let mut by_milestone: Vec<Awaiting> = Vec::new();
        for offer in next_actions(job, now, &c).into_iter().filter(|o| awaits(*actor, o.action)) {
            let m = offer.action.milestone();
            match by_milestone.iter_mut().find(|r| r.milestone == m) {
                Some(r) => r.actions.push(offer.action),
                None => by_milestone.push(Awaiting {
                    job: *job_key,
                    role,
                    milestone: m,
                    actions: vec![offer.action],
                    until: offer.until,
                    amount: Some(
                        m.and_then(|i| job.milestones().get(usize::from(i))).map_or(job.total(), |x| x.amount),
                    ),
                    mint: job.mint,
                }),
            }
        }
        rows.extend(by_milestone);
    }
    // the soonest limit first; those without one last
    rows.sort_by_key(|r| (r.until.is_none(), r.until, r.job.to_string(), r.milestone));
    rows.truncate(MAX_INBOX_ROWS);
    let mints: Vec<Pubkey> = rows.iter().map(|r| r.mint).collect();
    let dec = decimals(k, &mints).await?;
    let mut body = format!("<h1>Inbox</h1><p>What awaits {} now.</p>", key(&me));
    if rows.is_empty() {
        body.push_str("<p>Nothing awaits this wallet.</p>");
    }
    body.push_str(r#"<ul class="inbox">"#);
    for r in &rows {
        let d = dec.get(&r.mint).copied().unwrap_or(0);
        let what = match r.milestone {
            Some(m) => format!("milestone {m}"),
            None => "the job".into(),
        };
        let until = r.until.map_or("no limit".to_string(), |t| format!("until {}", time(t, true)));
        let mut forms = String::new();
        for a in &r.actions {
            let (name, label) = match a {
                Action::Approve(_) => ("approve", "Approve and release"),
                Action::Reject(_) => ("reject", "Reject"),
                Action::Fund => ("fund", "Fund"),
                Action::DecideDispute(_) => ("decide", "Decide"),
                _ => continue,
            };
            let milestone = r.milestone.map_or(String::new(), |m| format!(r#" data-milestone="{m}""#));
            let share = if name == "decide" {
                let id = format!("share-{}-{}", r.job, r.milestone.unwrap_or(0));
                format!(
                    r#"<label for="{id}">Agent's share (%)</label><input id="{id}" name="agent_share" type="number" min="0" max="100" step="0.01" value="50" required> "#
                )
            } else {
                String::new()
            };
            let class = if name == "reject" { "secondary" } else { "" };
            forms.push_str(&format!(
                r#"<form data-action="{name}" data-job="{job}"{milestone}>{share}<button type="submit" class="{class}">{label}</button></form>"#,
                job = r.job,
            ));
        }
        body.push_str(&format!(
            r#"<li data-row data-job="{job}" data-role="{role}"><p><strong>As {role}</strong>: {what} of job <a href="/console/jobs/{job}">{job_text}</a>, {amount} ({mint}), {until}</p><div class="actions">{forms}</div></li>"#,
            job = r.job,
            job_text = esc(&r.job.to_string()),
            role = r.role,
            amount = r.amount.map_or("-".into(), |a| amount(a, d)),
            mint = esc(&r.mint.to_string()),
        ));
    }
    body.push_str("</ul>");
    Ok(Page { title: "Inbox".into(), attrs, body })
}

/// `/console/jobs/{job}`: the job, its terms, milestones, steps, receipts, disputes and
/// compensations, what happens next; live (the script follows the keeper's event stream).
pub async fn job(k: &Keeper, f: &Frame<'_>, job_key: Pubkey) -> Result<Option<Page>> {
    let Some(job) = k.chain.account::<Job>(&job_key).await? else { return Ok(None) };
    let now = k.chain.now().await?;
    let (agent, c) = conditions(k, &job, now).await?;
    let d = *decimals(k, &[job.mint]).await?.get(&job.mint).unwrap_or(&0);
    let ours = job.keeper == k.payer.pubkey();
    let store = k.log.store();
    let job_s = job_key.to_string();
    let steps = if ours { store.steps_for_job(&job_s).await.unwrap_or_default() } else { vec![] };
    let receipts = if ours { store.receipts_for_job(&job_s).await.unwrap_or_default() } else { vec![] };
    let compensations = if ours { store.compensations_for_job(&job_s).await.unwrap_or_default() } else { vec![] };
    let intents = if ours { store.intents_for_job(&job_s).await.unwrap_or_default() } else { vec![] };
    // only what a step of this keeper already read and checked: a page view never makes the
    // keeper fetch (the terms address is on-chain, anyone's to choose)
    let terms = k.verified_terms(&job);
    let keys = JobKeys::new(job_key, &job, &agent);

    let arbiter = if job.arbiter == Pubkey::default() {
        "none: a rejection refunds the milestone".to_string()
    } else {
        format!(
            "{} decides within {} s of a rejection; otherwise {} of it goes to the agent",
            key(&job.arbiter),
            job.dispute_window,
            esc(&format_bps(job.dispute_default_bps))
        )
    };
    let terms_line = if job.terms_hash == [0; 32] {
        "none pinned".to_string()
    } else {
        let title = match &terms {
            Some(t) => format!("“{}”, ", esc(&t.title)),
            None => "not read by this keeper (it reads the terms of its own jobs' steps), ".to_string(),
        };
        let uri = job.terms_uri();
        // a link only to the web: any other scheme (javascript:, data:) is shown as text
        let web = uri.starts_with("https://") || uri.starts_with("http://");
        let place = if web {
            format!("<a href=\"{uri}\" rel=\"noopener noreferrer nofollow\">{uri}</a>", uri = esc(uri))
        } else {
            format!("<code>{}</code>", esc(uri))
        };
        format!("{title}{place}, sha256 <code>{}</code>", hex::encode(job.terms_hash))
    };
    let summary = fields(&[
        ("status", esc(job_status_name(job.status))),
        ("poster", key(&job.poster)),
        (
            "agent",
            format!(
                r#"<a href="/console/agents/{}">{}</a> (version {})"#,
                job.agent,
                esc(&agent.name),
                job.agent_version_seq
            ),
        ),
        ("keeper", key(&job.keeper)),
        ("mint", key(&job.mint)),
        (
            "money",
            format!(
                "{} in total; funded {}, released {}, refunded {}, fees {}",
                amount(job.total(), d),
                amount(job.funded, d),
                amount(job.released, d),
                amount(job.refunded, d),
                amount(job.fees_earned, d)
            ),
        ),
        ("deadline", time(job.deadline, matches!(job.status, JobStatus::Created | JobStatus::Funded))),
        ("review window", format!("{} s after a submission, for milestones that need approval", job.review_window)),
        ("arbiter", arbiter),
        ("terms", terms_line),
        ("vault", f.explorer(&format!("address/{}", keys.vault), &keys.vault.to_string())),
    ]);

    let mut rows = Vec::new();
    for (i, m) in job.milestones().iter().enumerate() {
        let title = match &terms {
            Some(t) => t.milestones.get(i).map_or(String::new(), |w| esc(&w.title)),
            None => String::new(),
        };
        let mut state = esc(milestone_state_name(m.state));
        match m.state {
            MilestoneState::Submitted if m.needs_approval() => {
                if let Ok(end) = m.review_end(job.review_window) {
                    state.push_str(&format!("; review ends {}", time(end, true)));
                }
            }
            MilestoneState::Disputed => {
                if let Ok(end) = m.dispute_end(job.dispute_window) {
                    state.push_str(&format!("; the arbiter decides until {}", time(end, true)));
                }
            }
            MilestoneState::Split => state.push_str(&format!("; {} to the agent", esc(&format_bps(m.agent_bps)))),
            _ => {}
        }
        let step = steps.iter().find(|s| usize::from(s.milestone) == i).map_or("-".to_string(), |s| {
            let error = s.last_error.as_deref().map_or(String::new(), |e| format!(": {}", esc(e)));
            format!("{} after {} attempt(s){error}", esc(&s.status.to_string()), s.attempts)
        });
        let receipt = receipts
            .iter()
            .filter(|r| usize::from(r.milestone) == i)
            .map(|r| format!(r#"<a href="/console/receipts/{0}">receipt {0}</a>"#, r.leaf_index))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            i.to_string(),
            title,
            amount(m.amount, d),
            if m.needs_approval() { "yes".into() } else { "no".into() },
            state,
            if m.submitted_at > 0 { time(m.submitted_at, false) } else { "-".into() },
            step,
            if receipt.is_empty() { "-".into() } else { receipt },
        ]);
    }
    let mut headers = vec!["#", "work", "amount", "needs approval", "state", "submitted", "keeper's step", "receipt"];
    // the work column says something only when the keeper read the pinned terms
    if terms.is_none() {
        headers.remove(1);
        for row in &mut rows {
            row.remove(1);
        }
    }
    let milestones = table("Milestones", &headers, &rows);

    let mut receipts_html = String::new();
    for r in &receipts {
        let Ok(s) = SignedReceipt::decode(&r.body) else { continue };
        receipts_html.push_str(&format!(
            r#"<section class="receipt" aria-labelledby="r{i}"><h3 id="r{i}"><a href="/console/receipts/{i}">Receipt {i}</a>, milestone {m}</h3>{guards}{txs}</section>"#,
            i = r.leaf_index,
            m = r.milestone,
            guards = guards_list(&s),
            txs = tx_links(f, &s),
        ));
    }
    if receipts_html.is_empty() {
        receipts_html = if ours {
            "<p>No receipts yet.</p>".into()
        } else {
            "<p>This keeper does not run this job; its receipts are in its keeper's log.</p>".into()
        };
    }
    let comp_rows: Vec<Vec<String>> = compensations
        .iter()
        .map(|c| {
            vec![
                c.milestone.to_string(),
                esc(&c.status),
                c.attempts.to_string(),
                c.error.as_deref().map_or("-".into(), esc),
                format!("<code>{}</code>", esc(&c.undoes)),
            ]
        })
        .collect();
    let comp = if comp_rows.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>Compensations</h2>{}",
            table(
                "Undoing steps of a refunded job, last first",
                &["milestone", "status", "attempts", "last error", "undoes receipt"],
                &comp_rows
            )
        )
    };
    let sent: Vec<Vec<String>> = intents
        .iter()
        .map(|i| {
            let milestone = if matches!(i.action.as_str(), "cancel" | "close" | "sweep-fees") {
                "-".to_string()
            } else {
                i.milestone.to_string()
            };
            vec![
                esc(&i.action),
                milestone,
                esc(i.status.as_str()),
                f.explorer(&format!("tx/{}", i.signature), &format!("{}…", &i.signature[..12.min(i.signature.len())])),
            ]
        })
        .collect();
    let sent = if sent.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>The keeper's transactions</h2>{}",
            table("Sent once each, confirmed or followed", &["action", "milestone", "status", "transaction"], &sent)
        )
    };
    let next: String = next_steps(&job, now, &c).iter().map(|s| format!("<li>{}</li>", esc(s))).collect();
    let body = format!(
        r#"<h1>Job <code>{job}</code></h1>
<p id="live" class="note">Updates live from the keeper's event stream.</p>
{summary}
{milestones}
<h2>What happens next</h2><ul>{next}</ul>
<h2>Receipts</h2>{receipts_html}
{sent}
{comp}"#,
        job = esc(&job_s),
        next = if next.is_empty() { "<li>nothing: the job is finished</li>".into() } else { next },
    );
    Ok(Some(Page { title: format!("Job {job_s}"), attrs: format!(r#"data-page="job" data-job="{job_s}""#), body }))
}

fn guards_list(s: &SignedReceipt) -> String {
    if s.receipt.guards.is_empty() {
        return "<p>No guards recorded.</p>".into();
    }
    let items: String = s
        .receipt
        .guards
        .iter()
        .map(|g| {
            format!(
                "<li>{} <strong>{}</strong>: {}</li>",
                badge(g.passed, "passed", "failed"),
                esc(&g.name),
                esc(&g.detail)
            )
        })
        .collect();
    format!(r#"<ul class="guards" aria-label="Guards and rails">{items}</ul>"#)
}

fn tx_links(f: &Frame<'_>, s: &SignedReceipt) -> String {
    if s.receipt.tx_signatures.is_empty() {
        return String::new();
    }
    let links: Vec<String> = s
        .receipt
        .tx_signatures
        .iter()
        .map(|sig| {
            let sig = solana_sdk::signature::Signature::from(*sig).to_string();
            f.explorer(&format!("tx/{sig}"), &format!("{}…", &sig[..12.min(sig.len())]))
        })
        .collect();
    format!("<p>The agent's transactions: {}</p>", links.join(", "))
}

/// `/console/receipts/{index}`: the receipt decoded, and the browser's own verification of it.
pub async fn receipt(k: &Keeper, f: &Frame<'_>, index: u64) -> Result<Option<Page>> {
    let Some(row) = k.log.store().receipt(index).await? else { return Ok(None) };
    let s = SignedReceipt::decode(&row.body).map_err(|e| anyhow::anyhow!("stored receipt {index}: {e}"))?;
    let r = &s.receipt;
    let vendor = s.vendor.as_ref().map_or("not co-signed".to_string(), |v| format!("co-signed by {}", key(&v.key)));
    let info = fields(&[
        ("job", format!(r#"<a href="/console/jobs/{0}">{0}</a>, milestone {1}"#, r.job, r.milestone)),
        ("agent", format!(r#"<a href="/console/agents/{0}">{0}</a>, version {1}"#, r.agent, r.agent_version_seq)),
        ("keeper", key(&r.keeper)),
        ("vendor", vendor),
        ("hash", format!("<code>{}</code>", hex::encode(s.hash()))),
        (
            "terms",
            r.terms_hash.map_or("- (a version 1 receipt)".into(), |t| format!("<code>{}</code>", hex::encode(t))),
        ),
        ("output", format!("<code>{}</code>", hex::encode(r.output_hash))),
        ("cost", r.cost.to_string()),
        ("ran", format!("{} to {}", time(r.started_at, false), time(r.finished_at, false))),
    ]);
    let body = format!(
        r#"<h1>Receipt {index}</h1>
{info}
<h2>Guards and rails</h2>{guards}
{txs}
<section id="verify" data-index="{index}" aria-labelledby="verify-h">
<h2 id="verify-h">Verification in this browser</h2>
<p>Signatures, the inclusion proof, the day's checkpoint read from the chain (not from this keeper), the log's consistency since, and the job's on-chain result.</p>
<p id="verdict" role="status" aria-live="polite">Checking…</p>
<ul id="checks"></ul>
<noscript><p>Verification runs in the browser with JavaScript; without it, download the bundle and run <code>agentrail receipt verify</code>.</p></noscript>
<p><a href="/receipts/{index}" download="receipt-{index}.json">Download the bundle</a> · <a href="/console/verify">Check another bundle</a></p>
</section>"#,
        guards = guards_list(&s),
        txs = tx_links(f, &s),
    );
    Ok(Some(Page { title: format!("Receipt {index}"), attrs: r#"data-page="receipt""#.into(), body }))
}

/// `/console/verify`: paste any bundle; it is checked in the browser against the chain.
pub fn verify() -> Page {
    let body = r#"<h1>Verify a receipt</h1>
<p>Paste a receipt bundle (from a keeper's <code>/receipts/N</code>, or a file someone sent you). It is checked in this browser: both signatures, its inclusion proof, the checkpoint for its day read from the chain, the log's consistency since, and the job's on-chain result.</p>
<section id="verify" aria-labelledby="verify-h">
<h2 id="verify-h" class="visually-hidden">Bundle</h2>
<label for="bundle-input">Receipt bundle (JSON)</label>
<textarea id="bundle-input" rows="12" spellcheck="false"></textarea>
<p><button id="bundle-check" type="button">Verify</button></p>
<p id="verdict" role="status" aria-live="polite"></p>
<ul id="checks"></ul>
</section>"#;
    Page { title: "Verify a receipt".into(), attrs: r#"data-page="verify""#.into(), body: body.into() }
}

/// `/console/agents/{agent}`: registry data, the current version's certification stages with
/// their expiry, and the track record per mint.
pub async fn agent(k: &Keeper, f: &Frame<'_>, agent_key: Pubkey) -> Result<Option<Page>> {
    let Some(a) = k.chain.account::<Agent>(&agent_key).await? else { return Ok(None) };
    let now = k.chain.now().await?;
    let cert: Option<Certification> = k.chain.account(&pda::certification(&agent_key, a.version_seq)).await?;
    let info = fields(&[
        ("name", esc(&a.name)),
        ("id", a.id.to_string()),
        ("status", esc(agent_status_name(a.status))),
        (
            "version",
            format!("{}.{}.{} (publication {})", a.version.major, a.version.minor, a.version.patch, a.version_seq),
        ),
        ("manifest", format!("<code>{}</code>", hex::encode(a.manifest_hash))),
        ("endpoint / metadata", format!(r#"<a href="{0}" rel="noopener noreferrer">{0}</a>"#, esc(&a.metadata_uri))),
        ("authority", key(&a.authority)),
        ("payout", key(&a.payout)),
        ("signing key", a.signing_key().map_or("none (answers are not co-signed)".into(), |s| key(&s))),
        ("registered", time(a.registered_at, false)),
        ("account", f.explorer(&format!("address/{agent_key}"), &agent_key.to_string())),
    ]);
    let certification = match &cert {
        None => "<p>This version holds no certification.</p>".to_string(),
        Some(c) => {
            let rows: Vec<Vec<String>> = c
                .attestations
                .iter()
                .enumerate()
                .filter(|(_, at)| at.issued_at > 0)
                .map(|(i, at)| {
                    vec![
                        esc(stage_letter(i as u8 + 1)),
                        key(&at.certifier),
                        time(at.issued_at, false),
                        time(at.expires_at, at.expires_at > now),
                        badge(at.in_force(now), "in force", "expired"),
                    ]
                })
                .collect();
            let revoked = c.last_revocation.as_ref().map_or(String::new(), |r| {
                format!("<p class=\"bad\">Last revoked by {} at {}.</p>", key(&r.by), time(r.at, false))
            });
            format!(
                "<p>Effective stage now: <strong>{}</strong> (stages A to E).</p>{revoked}{}",
                esc(stage_letter(c.effective_stage(now))),
                table("Attestations of this version", &["stage", "certifier", "issued", "expires", "now"], &rows)
            )
        }
    };
    let records = track_records_by_mint(k.chain.track_records(&agent_key).await?);
    let mints: Vec<Pubkey> = records.iter().map(|r| r.mint).collect();
    let dec = decimals(k, &mints).await?;
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let volume = u64::try_from(r.volume())
                .map_or(r.volume().to_string(), |v| format_ui(v, dec.get(&r.mint).copied().unwrap_or(0)));
            vec![
                key(&r.mint),
                r.jobs.to_string(),
                r.released.to_string(),
                r.refunded.to_string(),
                r.rejected.to_string(),
                r.failed.to_string(),
                disputes_cell(r),
                esc(&volume),
            ]
        })
        .collect();
    let track = if rows.is_empty() {
        "<p>No paid work yet.</p>".to_string()
    } else {
        table(
            "Written only by settled escrow",
            &[
                "mint",
                "jobs",
                "released",
                "refunded",
                "rejected",
                "failed",
                "disputes (conceded/agent/poster/split; default)",
                "volume released",
            ],
            &rows,
        )
    };
    let body = format!(
        "<h1>Agent {name}</h1>{info}<h2>Certification</h2>{certification}<h2>Track record</h2>{track}",
        name = esc(&a.name)
    );
    Ok(Some(Page { title: format!("Agent {}", a.name), attrs: r#"data-page="agent""#.into(), body }))
}
