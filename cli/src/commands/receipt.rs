//! `agentrail receipt`: check a receipt bundle offline and against the chain.

use agentrail::state::{Agent, Checkpoint, Job};
use agentrail_client::bundle::ReceiptBundle;
use agentrail_client::pda;
use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;

use crate::context::Ctx;
use crate::output::{fields, print_json};
use crate::parse;

#[derive(Subcommand, Debug)]
pub enum ReceiptCmd {
    /// Verify a receipt bundle (from the keeper's API): encoding, signatures, inclusion proof,
    /// and that its root is the one anchored on-chain for its day.
    Verify {
        /// The bundle JSON file.
        bundle: String,
        /// Check only what needs no network: encoding, signatures and the proof.
        #[arg(long)]
        offline: bool,
    },
}

impl ReceiptCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        let ReceiptCmd::Verify { bundle, offline } = self;
        let text = std::fs::read_to_string(&bundle).with_context(|| format!("cannot read {bundle}"))?;
        let b: ReceiptBundle =
            serde_json::from_str(&text).with_context(|| format!("{bundle} is not a receipt bundle"))?;
        let v = b.verify_offline().map_err(|e| anyhow::anyhow!("receipt does not verify: {e}"))?;
        let anchored = if offline {
            None
        } else {
            let day = b.day.context(
                "the bundle names no anchored day yet; verify with --offline or fetch it again after the daily anchor",
            )?;
            let authority = parse::pubkey("log_authority", &b.log_authority)?;
            let key = pda::checkpoint(&pda::receipt_log(&authority), day);
            let cp: Checkpoint = ctx.account(&key, "checkpoint")?;
            if cp.size != b.tree_size || cp.root != v.root {
                bail!(
                    "the on-chain checkpoint for day {day} has size {} and root {}, not the bundle's {} and {}",
                    cp.size,
                    hex::encode(cp.root),
                    b.tree_size,
                    b.root
                );
            }
            Some((key, day))
        };
        let on_chain = if offline { None } else { Some(check_result_hash(ctx, &v)?) };
        let gone = matches!(on_chain, Some(JobCheck::Gone(_)));
        let on_chain = on_chain.map(|c| match c {
            JobCheck::Tied(s) | JobCheck::Gone(s) => s,
        });
        let registered = if offline { None } else { Some(registered_key(ctx, &v.receipt.receipt.agent)?) };
        let r = &v.receipt.receipt;
        let vendor = v.receipt.vendor.as_ref().map(|s| s.key);
        if ctx.json {
            print_json(&json!({
                "valid": !gone, "job_exists": if offline { None } else { Some(!gone) }, "hash": hex::encode(v.leaf), "version": r.version(), "job": r.job.to_string(), "milestone": r.milestone,
                "terms_hash": r.terms_hash.map(hex::encode),
                "keeper": r.keeper.to_string(), "vendor_cosigned": vendor.is_some(),
                "vendor": vendor.map(|k| k.to_string()),
                "vendor_key_registered": registered.map(|reg| vendor.is_some() && reg == vendor),
                "index": b.index,
                "tree_size": b.tree_size, "root": b.root, "anchored": anchored.map(|(k, d)| json!({"checkpoint": k.to_string(), "day": d})),
                "result_hash": on_chain,
            }));
            return Ok(());
        }
        println!(
            "{}",
            fields(&[
                ("receipt", hex::encode(v.leaf)),
                ("job", format!("{} milestone {}", r.job, r.milestone)),
                ("terms", r.terms_hash.map_or("- (version 1 receipt)".into(), hex::encode)),
                ("signatures", format!("keeper {} ok, {}", r.keeper, vendor_line(vendor, registered))),
                ("inclusion", format!("leaf {} of {} -> root {}", b.index, b.tree_size, b.root)),
                (
                    "anchored",
                    anchored.map_or("not checked (--offline)".into(), |(k, d)| format!("day {d} in checkpoint {k}"))
                ),
                ("result hash", on_chain.unwrap_or_else(|| "not checked (--offline)".into())),
            ])
        );
        // signatures and inclusion hold either way; "valid" also means it is tied to a live job
        println!("{}", if gone { "signed and logged, but its job is gone: no payment is proved" } else { "valid" });
        Ok(())
    }
}

/// Where the receipt's job still exists, its milestone's on-chain result hash must be this
/// receipt's hash: the receipt is the one the keeper submitted, not another it also signed.
/// Returns what was checked, for the output.
fn check_result_hash(ctx: &Ctx, v: &agentrail_client::bundle::Verified) -> Result<JobCheck> {
    let r = &v.receipt.receipt;
    let Some(raw) = ctx.raw(&r.job)? else {
        return Ok(JobCheck::Gone(format!("job {} does not exist; the receipt cannot be tied to a payment", r.job)));
    };
    let Ok(job) = agentrail_client::accounts::decode::<Job>(&raw.data) else {
        return Ok(JobCheck::Gone(format!("job {} is closed; its result hash cannot be compared", r.job)));
    };
    // a receipt speaks for a job only when the job's own keeper signed it
    if r.keeper != job.keeper {
        bail!("the receipt is signed by keeper {}, but job {} names keeper {}", r.keeper, r.job, job.keeper);
    }
    let m = job
        .milestones()
        .get(usize::from(r.milestone))
        .with_context(|| format!("job {} has no milestone {}", r.job, r.milestone))?;
    if m.state == agentrail::state::MilestoneState::Pending {
        bail!(
            "job {} milestone {} has not been submitted yet; its receipt is not the on-chain result",
            r.job,
            r.milestone
        );
    }
    if let Some(terms) = r.terms_hash
        && terms != job.terms_hash
    {
        bail!(
            "the receipt names terms {}, but job {} pinned terms {}",
            hex::encode(terms),
            r.job,
            hex::encode(job.terms_hash)
        );
    }
    // a compensation's receipt names the step receipt it undoes: that one is the on-chain result
    if let Some(undone) = r.guards.iter().find(|g| g.name == "compensates").map(|g| g.detail.clone()) {
        if hex::encode(m.result_hash) != undone {
            bail!(
                "job {} milestone {} was submitted with result hash {}, not the receipt {} this compensation undoes",
                r.job,
                r.milestone,
                hex::encode(m.result_hash),
                undone
            );
        }
        return Ok(JobCheck::Tied(format!(
            "a compensation of job {} milestone {}, whose on-chain result is the receipt it undoes",
            r.job, r.milestone
        )));
    }
    if m.result_hash != v.leaf {
        bail!(
            "job {} milestone {} was submitted with result hash {}, not this receipt's {}",
            r.job,
            r.milestone,
            hex::encode(m.result_hash),
            hex::encode(v.leaf)
        );
    }
    Ok(JobCheck::Tied(format!("job {} milestone {} was submitted with this receipt", r.job, r.milestone)))
}

/// What the chain says of a receipt's job.
enum JobCheck {
    /// The job exists, its keeper signed the receipt and its milestone carries it: what was
    /// checked.
    Tied(String),
    /// The job is closed or was never created: the receipt verifies, but proves no payment.
    Gone(String),
}

/// The signing key the receipt's agent registers now (`None`: it declares none).
fn registered_key(ctx: &Ctx, agent: &Pubkey) -> Result<Option<Pubkey>> {
    let a: Agent = ctx.account(agent, "agent")?;
    Ok(a.signing_key())
}

/// What the output says of the vendor's co-signature (already verified over the output claim):
/// by whom, and whether that is the key the agent registers now (`registered` is `None`
/// offline).
fn vendor_line(vendor: Option<Pubkey>, registered: Option<Option<Pubkey>>) -> String {
    match (vendor, registered) {
        (None, None | Some(None)) => "not co-signed by the vendor".into(),
        (None, Some(Some(now))) => format!("not co-signed by the vendor (it registers key {now} now)"),
        (Some(k), None) => format!("vendor {k} ok (registry not checked: --offline)"),
        (Some(k), Some(Some(now))) if now == k => format!("vendor {k} ok, the agent's registered key"),
        (Some(k), Some(now)) => format!(
            "vendor {k} ok, but the agent now registers {} (rotated since)",
            now.map_or("no key".to_string(), |n| n.to_string())
        ),
    }
}
