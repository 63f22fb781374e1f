//! `agentrail config`: the protocol's singleton settings.

use agentrail::instructions::UpdateConfigArgs;
use agentrail::state::{Certifier, Config};
use agentrail_client::{instructions as ix, pda};
use anyhow::{Result, bail};
use clap::Subcommand;
use serde_json::json;
use solana_sdk::signer::Signer;

use crate::context::Ctx;
use crate::output::{Table, fields, print_json};
use crate::parse;

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Show admin, treasury, fee, pause switch and certifiers.
    Show,
    /// Create the config (the program's upgrade authority signs).
    Init {
        /// Owner of the fee token accounts.
        #[arg(long)]
        treasury: String,
        /// Protocol fee in basis points (at most 1000).
        #[arg(long)]
        fee_bps: u16,
    },
    /// Change treasury, fee or the pause switch (admin).
    Set {
        #[arg(long)]
        treasury: Option<String>,
        #[arg(long)]
        fee_bps: Option<u16>,
        /// Stop registrations, funding and releases (refunds keep working).
        #[arg(long, conflicts_with = "unpause")]
        pause: bool,
        #[arg(long)]
        unpause: bool,
    },
    /// Propose a new admin (admin); it takes over when it accepts.
    ProposeAdmin { admin: String },
    /// Accept a pending admin transfer (the proposed admin signs).
    AcceptAdmin,
    /// Authorise a certifier (admin).
    AddCertifier { certifier: String },
    /// Withdraw a certifier (admin).
    RemoveCertifier { certifier: String },
}

impl ConfigCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            ConfigCmd::Show => show(ctx),
            ConfigCmd::Init { treasury, fee_bps } => {
                let admin = ctx.signer()?.pubkey();
                let treasury = parse::pubkey("treasury", &treasury)?;
                ctx.send(
                    "config init",
                    &[ix::initialize_config(&admin, treasury, fee_bps)],
                    &[],
                    &[("admin", admin.to_string())],
                )
            }
            ConfigCmd::Set { treasury, fee_bps, pause, unpause } => {
                let treasury = treasury.map(|t| parse::pubkey("treasury", &t)).transpose()?;
                let paused = (pause || unpause).then_some(pause);
                if treasury.is_none() && fee_bps.is_none() && paused.is_none() {
                    bail!("nothing to change: give --treasury, --fee-bps, --pause or --unpause");
                }
                let admin = ctx.signer()?.pubkey();
                ctx.send(
                    "config set",
                    &[ix::update_config(&admin, UpdateConfigArgs { treasury, fee_bps, paused })],
                    &[],
                    &[],
                )
            }
            ConfigCmd::ProposeAdmin { admin } => {
                let proposed = parse::pubkey("admin", &admin)?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "config propose-admin",
                    &[ix::propose_admin(&me, proposed)],
                    &[],
                    &[("proposed", proposed.to_string())],
                )
            }
            ConfigCmd::AcceptAdmin => {
                let me = ctx.signer()?.pubkey();
                ctx.send("config accept-admin", &[ix::accept_admin(&me)], &[], &[("admin", me.to_string())])
            }
            ConfigCmd::AddCertifier { certifier } => {
                let c = parse::pubkey("certifier", &certifier)?;
                let me = ctx.signer()?.pubkey();
                ctx.send("config add-certifier", &[ix::add_certifier(&me, c)], &[], &[("certifier", c.to_string())])
            }
            ConfigCmd::RemoveCertifier { certifier } => {
                let c = parse::pubkey("certifier", &certifier)?;
                let me = ctx.signer()?.pubkey();
                ctx.send(
                    "config remove-certifier",
                    &[ix::remove_certifier(&me, &c)],
                    &[],
                    &[("certifier", c.to_string())],
                )
            }
        }
    }
}

fn show(ctx: &Ctx) -> Result<()> {
    let config: Config = ctx.account(&pda::config(), "config (run `agentrail config init` first)")?;
    let certifiers: Vec<(String, i64)> = ctx
        .program_accounts::<Certifier>(&[])?
        .into_iter()
        .map(|(_, c)| (c.authority.to_string(), c.added_at))
        .collect();
    if ctx.json {
        print_json(&json!({
            "address": pda::config().to_string(),
            "admin": config.admin.to_string(),
            "pending_admin": config.pending_admin.map(|a| a.to_string()),
            "treasury": config.treasury.to_string(),
            "fee_bps": config.fee_bps,
            "paused": config.paused,
            "agent_count": config.agent_count,
            "certifiers": certifiers.iter().map(|(k, t)| json!({"certifier": k, "added_at": t})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!(
        "{}",
        fields(&[
            ("config", pda::config().to_string()),
            ("admin", config.admin.to_string()),
            ("pending admin", config.pending_admin.map_or("-".into(), |a| a.to_string())),
            ("treasury", config.treasury.to_string()),
            ("fee", format!("{} bps ({}%)", config.fee_bps, f64::from(config.fee_bps) / 100.0)),
            ("paused", config.paused.to_string()),
            ("agents", config.agent_count.to_string()),
        ])
    );
    let mut t = Table::new(&["certifier", "added"]);
    for (k, at) in certifiers {
        t.row(vec![k, agentrail_client::escrow::format_time(at)]);
    }
    println!("\n{}", t.render());
    Ok(())
}
