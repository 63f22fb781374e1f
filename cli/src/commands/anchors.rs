//! `agentrail anchors`: a keeper operator's receipt log and its daily checkpoints.

use agentrail::state::{Checkpoint, ReceiptLog};
use agentrail_client::escrow::format_time;
use agentrail_client::pda;
use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use crate::context::Ctx;
use crate::output::{Table, fields, print_json};
use crate::parse;

#[derive(Subcommand, Debug)]
pub enum AnchorsCmd {
    /// Show a keeper operator's log and every anchored checkpoint.
    Show {
        /// The keeper operator (log authority).
        authority: String,
    },
}

impl AnchorsCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        let AnchorsCmd::Show { authority } = self;
        let authority = parse::pubkey("authority", &authority)?;
        let key = pda::receipt_log(&authority);
        let log: ReceiptLog = ctx.account(&key, "receipt log")?;
        let mut cps = ctx.program_accounts::<Checkpoint>(&[(8, key.to_bytes().to_vec())])?;
        cps.sort_by_key(|(_, c)| c.day);
        if ctx.json {
            print_json(&json!({
                "log": key.to_string(), "authority": log.authority.to_string(), "size": log.size,
                "root": hex::encode(log.root), "latest_day": log.latest_day, "require_consistency": log.require_consistency,
                "checkpoints": cps.iter().map(|(k, c)| json!({
                    "address": k.to_string(), "day": c.day, "size": c.size, "root": hex::encode(c.root),
                    "previous_day": c.previous_day, "consistency_verified": c.consistency_verified, "anchored_at": c.anchored_at,
                })).collect::<Vec<_>>(),
            }));
            return Ok(());
        }
        println!(
            "{}",
            fields(&[
                ("log", key.to_string()),
                ("authority", log.authority.to_string()),
                ("size", log.size.to_string()),
                ("root", hex::encode(log.root)),
                ("consistency proofs", if log.require_consistency { "required" } else { "optional" }.into()),
            ])
        );
        let mut t = Table::new(&["day", "date", "size", "root", "proven", "anchored"]);
        for (_, c) in cps {
            let date = format_time(i64::from(c.day) * 86_400);
            t.row(vec![
                c.day.to_string(),
                date[..10].to_string(),
                c.size.to_string(),
                hex::encode(c.root),
                if c.consistency_verified { "yes" } else { "no" }.into(),
                format_time(c.anchored_at),
            ]);
        }
        println!("\n{}", t.render());
        Ok(())
    }
}
