//! `agentrail receipt`: check a receipt bundle offline and against the chain.

use agentrail::state::Checkpoint;
use agentrail_client::bundle::ReceiptBundle;
use agentrail_client::pda;
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
        let r = &v.receipt.receipt;
        if ctx.json {
            print_json(&json!({
                "valid": true, "hash": hex::encode(v.leaf), "job": r.job.to_string(), "milestone": r.milestone,
                "keeper": r.keeper.to_string(), "vendor_cosigned": v.receipt.vendor.is_some(), "index": b.index,
                "tree_size": b.tree_size, "root": b.root, "anchored": anchored.map(|(k, d)| json!({"checkpoint": k.to_string(), "day": d})),
            }));
            return Ok(());
        }
        println!(
            "{}",
            fields(&[
                ("receipt", hex::encode(v.leaf)),
                ("job", format!("{} milestone {}", r.job, r.milestone)),
                (
                    "signatures",
                    format!("keeper {} ok{}", r.keeper, if v.receipt.vendor.is_some() { ", vendor ok" } else { "" })
                ),
                ("inclusion", format!("leaf {} of {} -> root {}", b.index, b.tree_size, b.root)),
                (
                    "anchored",
                    anchored.map_or("not checked (--offline)".into(), |(k, d)| format!("day {d} in checkpoint {k}"))
                ),
            ])
        );
        println!("valid");
        Ok(())
    }
}
