//! `agentrail agent`: the registry.

use agentrail::instructions::{PublishVersionArgs, RegisterAgentArgs};
use agentrail::state::{Agent, AgentStatus, Certification, Config, TrackRecord};
use agentrail_client::escrow::agent_status_name;
use agentrail_client::{instructions as ix, pda};
use anyhow::{Result, anyhow};
use clap::Subcommand;
use serde_json::{Value, json};
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::read_keypair_file;
use solana_sdk::signer::Signer;

use crate::amount::format_ui;
use crate::context::Ctx;
use crate::output::{Table, fields, print_json};
use crate::parse::{self, semver_string, stage_letter};

#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Register an agent; its manifest file's SHA-256 is recorded.
    Register {
        /// Display name (at most 32 bytes).
        #[arg(long)]
        name: String,
        /// Manifest file (capabilities, price model, SLO targets); hashed, not uploaded.
        #[arg(long)]
        manifest: String,
        /// Metadata URI, e.g. the agent's HTTPS endpoint (at most 200 bytes).
        #[arg(long, default_value = "")]
        uri: String,
        /// Semantic version.
        #[arg(long, default_value = "1.0.0", value_parser = parse::semver)]
        version: agentrail::state::Semver,
        /// Payout wallet keypair (it signs to prove control); default: the signing keypair.
        #[arg(long)]
        payout_keypair: Option<String>,
    },
    /// Publish a new, strictly greater version with a new manifest.
    Publish {
        agent: String,
        #[arg(long)]
        manifest: String,
        #[arg(long, value_parser = parse::semver)]
        version: agentrail::state::Semver,
    },
    /// Pause an agent: no new jobs or releases.
    Pause { agent: String },
    /// Resume a paused agent.
    Resume { agent: String },
    /// Retire an agent for good.
    Retire { agent: String },
    /// Change the payout wallet (the new wallet's keypair signs).
    SetPayout {
        agent: String,
        #[arg(long)]
        payout_keypair: String,
    },
    /// Set or rotate the key the agent co-signs its outputs with (that key's keypair signs, to
    /// prove control), or clear it with --clear. Keepers then refuse answers not co-signed
    /// by it.
    SetSigningKey {
        agent: String,
        /// Keypair file of the new signing key.
        #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
        key: Option<String>,
        /// Remove the agent's signing key.
        #[arg(long)]
        clear: bool,
    },
    /// Hand the agent to a new authority (its keypair signs too).
    Transfer {
        agent: String,
        #[arg(long)]
        new_authority_keypair: String,
    },
    /// Replace the metadata URI.
    SetUri { agent: String, uri: String },
    /// Show an agent with its effective certification.
    Show { agent: String },
    /// List agents, optionally of one authority.
    List {
        #[arg(long)]
        authority: Option<String>,
    },
}

fn keypair(path: &str, what: &str) -> Result<solana_sdk::signature::Keypair> {
    read_keypair_file(crate::settings::expand_home(path)).map_err(|e| anyhow!("cannot read {what} keypair {path}: {e}"))
}

/// The agent's effective stage at `now` (its current version's certification).
fn effective_stage(ctx: &Ctx, key: &Pubkey, agent: &Agent, now: i64) -> Result<(u8, u32)> {
    let cert = pda::certification(key, agent.version_seq);
    Ok(match ctx.raw(&cert)? {
        Some(acc) => {
            let c: Certification = agentrail_client::accounts::decode(&acc.data).map_err(|e| anyhow!("{cert}: {e}"))?;
            (c.effective_stage(now), c.epoch)
        }
        None => (0, 0),
    })
}

fn agent_json(key: &Pubkey, a: &Agent, stage: u8) -> Value {
    json!({
        "address": key.to_string(), "id": a.id, "name": a.name, "authority": a.authority.to_string(),
        "payout": a.payout.to_string(), "metadata_uri": a.metadata_uri, "manifest_hash": hex::encode(a.manifest_hash),
        "version": semver_string(&a.version), "version_seq": a.version_seq, "status": agent_status_name(a.status),
        "effective_stage": stage_letter(stage), "registered_at": a.registered_at, "updated_at": a.updated_at,
        "signing_key": a.signing_key().map(|k| k.to_string()),
    })
}

impl AgentCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        let status = |ctx: &Ctx, agent: &str, s: AgentStatus, verb: &str| -> Result<()> {
            let key = parse::agent(agent)?;
            let me = ctx.signer()?.pubkey();
            ctx.send(verb, &[ix::set_agent_status(&me, &key, s)], &[], &[("agent", key.to_string())])
        };
        match self {
            AgentCmd::Register { name, manifest, uri, version, payout_keypair } => {
                let manifest_hash = parse::file_hash(&manifest)?;
                let payout = payout_keypair.as_deref().map(|p| keypair(p, "payout")).transpose()?;
                let me = ctx.signer()?;
                let payout_key = payout.as_ref().map_or(me.pubkey(), |k| k.pubkey());
                let id = ctx.account::<Config>(&pda::config(), "config")?.agent_count;
                let args = RegisterAgentArgs { name, metadata_uri: uri, manifest_hash, version };
                let extra: Vec<&solana_sdk::signature::Keypair> = payout.iter().collect();
                ctx.send(
                    "agent register",
                    &[ix::register_agent(&me.pubkey(), &payout_key, id, args)],
                    &extra,
                    &[
                        ("agent", pda::agent(id).to_string()),
                        ("id", id.to_string()),
                        ("manifest_hash", hex::encode(manifest_hash)),
                    ],
                )
            }
            AgentCmd::Publish { agent, manifest, version } => {
                let key = parse::agent(&agent)?;
                let manifest_hash = parse::file_hash(&manifest)?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "agent publish",
                    &[ix::publish_version(&me, &key, PublishVersionArgs { version, manifest_hash })],
                    &[],
                    &[("agent", key.to_string()), ("version", semver_string(&version))],
                )
            }
            AgentCmd::Pause { agent } => status(ctx, &agent, AgentStatus::Paused, "agent pause"),
            AgentCmd::Resume { agent } => status(ctx, &agent, AgentStatus::Active, "agent resume"),
            AgentCmd::Retire { agent } => status(ctx, &agent, AgentStatus::Retired, "agent retire"),
            AgentCmd::SetPayout { agent, payout_keypair } => {
                let key = parse::agent(&agent)?;
                let payout = keypair(&payout_keypair, "payout")?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "agent set-payout",
                    &[ix::set_payout(&me, &key, &payout.pubkey())],
                    &[&payout],
                    &[("payout", payout.pubkey().to_string())],
                )
            }
            AgentCmd::SetSigningKey { agent, key: path, clear: _ } => {
                let key = parse::agent(&agent)?;
                let signing = path.as_deref().map(|p| keypair(p, "signing key")).transpose()?;
                let me = ctx.signer()?.pubkey();
                let new_key = signing.as_ref().map(|k| k.pubkey());
                let shown = new_key.map_or("none".to_string(), |k| k.to_string());
                ctx.send(
                    "agent set-signing-key",
                    &[ix::set_signing_key(&me, &key, new_key.as_ref())],
                    &signing.iter().collect::<Vec<_>>(),
                    &[("agent", key.to_string()), ("signing_key", shown)],
                )
            }
            AgentCmd::Transfer { agent, new_authority_keypair } => {
                let key = parse::agent(&agent)?;
                let next = keypair(&new_authority_keypair, "new authority")?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "agent transfer",
                    &[ix::transfer_agent_authority(&me, &key, &next.pubkey())],
                    &[&next],
                    &[("authority", next.pubkey().to_string())],
                )
            }
            AgentCmd::SetUri { agent, uri } => {
                let key = parse::agent(&agent)?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "agent set-uri",
                    &[ix::update_agent_metadata(&me, &key, uri)],
                    &[],
                    &[("agent", key.to_string())],
                )
            }
            AgentCmd::Show { agent } => {
                let key = parse::agent(&agent)?;
                let a: Agent = ctx.account(&key, "agent")?;
                let now = ctx.now()?;
                let (stage, epoch) = effective_stage(ctx, &key, &a, now)?;
                // the track record: one per mint the agent was hired in, summed from its shards
                let shards = ctx.program_accounts::<TrackRecord>(&[(8, key.to_bytes().to_vec())])?;
                let mut records = agentrail_client::accounts::track_records_by_mint(shards.into_iter().map(|(_, r)| r));
                records.sort_by_key(|r| std::cmp::Reverse(r.released));
                let record_json = |r: &TrackRecord| {
                    json!({
                        "mint": r.mint.to_string(), "jobs_funded": r.jobs, "released": r.released,
                        "rejected": r.rejected, "failed": r.failed, "refunded": r.refunded,
                        "volume_base_units": r.volume().to_string(),
                        "disputes": {
                            "opened": r.disputed, "conceded": r.disputes_conceded,
                            "for_agent": r.disputes_for_agent, "for_poster": r.disputes_for_poster,
                            "split": r.disputes_split, "decided_by_default": r.disputes_defaulted,
                        },
                    })
                };
                if ctx.json {
                    let mut v = agent_json(&key, &a, stage);
                    v["track_record"] = records.iter().map(record_json).collect();
                    print_json(&v);
                    return Ok(());
                }
                println!(
                    "{}",
                    fields(&[
                        ("agent", format!("{key} (#{})", a.id)),
                        ("name", a.name.clone()),
                        ("status", agent_status_name(a.status).into()),
                        ("version", format!("{} (version #{})", semver_string(&a.version), a.version_seq)),
                        ("manifest hash", hex::encode(a.manifest_hash)),
                        ("certification", format!("stage {} now (revocations: {epoch})", stage_letter(stage))),
                        ("authority", a.authority.to_string()),
                        ("payout", a.payout.to_string()),
                        (
                            "signing key",
                            a.signing_key().map_or("none (answers are not co-signed)".into(), |k| k.to_string())
                        ),
                        ("metadata", if a.metadata_uri.is_empty() { "-".into() } else { a.metadata_uri.clone() }),
                    ])
                );
                // written only by the program when milestones settle: paid work, not reviews
                let mut t =
                    Table::new(&["mint", "jobs", "released", "rejected", "failed", "refunded", "disputes", "volume"]);
                for r in &records {
                    let decimals = crate::commands::job::mint_info(ctx, &r.mint).map_or(0, |m| m.0);
                    let volume =
                        u64::try_from(r.volume()).map_or_else(|_| r.volume().to_string(), |v| format_ui(v, decimals));
                    t.row(vec![
                        r.mint.to_string(),
                        r.jobs.to_string(),
                        r.released.to_string(),
                        r.rejected.to_string(),
                        r.failed.to_string(),
                        r.refunded.to_string(),
                        agentrail_client::escrow::disputes_cell(r),
                        volume,
                    ]);
                }
                if records.is_empty() {
                    println!("\ntrack record: no funded work yet");
                } else {
                    println!("\ntrack record (milestones; volume released in the mint's units):\n{}", t.render());
                    println!("disputes: opened (conceded / for the agent / for the poster / split; by default rule)");
                }
                Ok(())
            }
            AgentCmd::List { authority } => {
                let filters = match authority {
                    Some(a) => vec![(8 + 8, parse::pubkey("authority", &a)?.to_bytes().to_vec())],
                    None => vec![],
                };
                let mut agents = ctx.program_accounts::<Agent>(&filters)?;
                agents.sort_by_key(|(_, a)| a.id);
                let now = ctx.now()?;
                let mut rows = Vec::new();
                for (key, a) in &agents {
                    rows.push((key, a, effective_stage(ctx, key, a, now)?.0));
                }
                if ctx.json {
                    print_json(&rows.iter().map(|(k, a, s)| agent_json(k, a, *s)).collect::<Vec<_>>());
                    return Ok(());
                }
                let mut t = Table::new(&["id", "name", "status", "version", "stage", "address"]);
                for (k, a, s) in rows {
                    t.row(vec![
                        a.id.to_string(),
                        a.name.clone(),
                        agent_status_name(a.status).into(),
                        semver_string(&a.version),
                        stage_letter(s).into(),
                        k.to_string(),
                    ]);
                }
                println!("{}", t.render());
                Ok(())
            }
        }
    }
}
