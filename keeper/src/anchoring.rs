//! The anchoring duty: each completed UTC day whose receipt log grew is anchored on-chain as a
//! checkpoint (with a consistency proof the program checks), missed days caught up.

use agentrail::instructions::AnchorCheckpointArgs;
use agentrail::state::{Checkpoint, ReceiptLog, SECONDS_PER_DAY};
use agentrail_client::anchors::{self, utc_day};
use agentrail_client::lifecycle::IntentKey;
use agentrail_client::pda;
use anyhow::Result;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

use crate::service::*;
use crate::store::StoredCheckpoint;

/// The checkpoints to anchor, oldest first, as `(day, log size)`: one for each UTC day after the
/// latest anchored one, up to `last_day`, whose end saw the log grow past what is anchored.
/// `created` holds each receipt's time in log order; a day's size is the longest prefix
/// created before its end, so a missed day is caught up with exactly its own receipts.
fn anchor_plan(created: &[i64], anchored_size: u64, latest: Option<u32>, last_day: u32) -> Vec<(u32, u64)> {
    let Some(&first) = created.first() else { return vec![] };
    let first_day = latest.map_or(utc_day(first), |d| d + 1);
    let mut size = anchored_size;
    let mut plan = Vec::new();
    for day in first_day..=last_day {
        let end = (i64::from(day) + 1) * SECONDS_PER_DAY;
        let day_size = created.iter().take_while(|&&t| t < end).count() as u64;
        if day_size > size {
            plan.push((day, day_size));
            size = day_size;
        }
    }
    plan
}

impl Keeper {
    /// Stores the on-chain checkpoint of `day` when the store has no row for it (its values
    /// are read from the chain; the signature from this keeper's intent, when it sent it).
    async fn backfill_checkpoint(&self, log: &Pubkey, day: u32, now: i64) -> Result<()> {
        if self.log.store().checkpoints().await?.iter().any(|c| c.day == day) {
            return Ok(());
        }
        let Some(onchain) = self.chain.account::<Checkpoint>(&pda::checkpoint(log, day)).await? else {
            return Ok(());
        };
        let signature = self
            .log
            .store()
            .intent(&IntentKey::anchor(*log, day).to_string())
            .await?
            .map(|i| i.signature)
            .unwrap_or_default();
        let row =
            StoredCheckpoint { day, size: onchain.size, root: hex::encode(onchain.root), signature, anchored_at: now };
        self.log.store().put_checkpoint(&row).await
    }

    /// Anchors every completed UTC day (and today, when configured) whose log grew.
    pub async fn anchor(&self) -> Result<()> {
        self.log.sync().await?;
        let now = self.chain.now().await?;
        let today = utc_day(now);
        let me = self.payer.pubkey();
        let log_key = pda::receipt_log(&me);
        let onchain: Option<ReceiptLog> = self.chain.account(&log_key).await?;
        let (mut size, mut latest) = onchain.as_ref().map_or((0, None), |l| (l.size, l.latest_day));
        if let Some(day) = latest {
            self.metrics.anchor_lag_seconds.set(now - (i64::from(day) + 1) * SECONDS_PER_DAY);
        }
        // the local log must extend what is anchored; a store that lost receipts, or another
        // store used with this key, would anchor a forked log: stop, loudly
        if let Some(log) = &onchain {
            let local = self.log.size().await;
            let diverged = if local < log.size {
                Some(format!("the store holds {local} receipts but {} are anchored", log.size))
            } else if log.size > 0 && self.log.root_at(log.size).await? != log.root {
                Some(format!("the store's root at size {} is not the anchored root", log.size))
            } else {
                None
            };
            self.metrics.log_diverged.set(i64::from(diverged.is_some()));
            if let Some(why) = diverged {
                tracing::error!(%why, log = %log_key, "the local receipt log diverged from the anchored one: not anchoring; restore this keeper's store");
                anyhow::bail!("the local receipt log diverged from the anchored one: {why}");
            }
            // a crash between an anchor's confirmation and its row leaves the row missing:
            // take it from the chain, which is what bundles must agree with
            if let Some(day) = log.latest_day {
                self.backfill_checkpoint(&log_key, day, now).await?;
            }
        }
        // only the times: anchoring never loads receipt bodies
        let created = self.log.store().receipt_times().await?;
        if created.is_empty() {
            return Ok(());
        }
        let create = [anchors::create_receipt_log(&me, true)];
        if onchain.is_none() && !self.send(IntentKey::create_log(log_key), &create).await? {
            return Ok(());
        }
        let last_day = if self.config.anchor_today { today } else { today.saturating_sub(1) };
        for (day, day_size) in anchor_plan(&created, size, latest, last_day) {
            let root = self.log.root_at(day_size).await?;
            let proof = if latest.is_some() {
                self.log.consistency_proof(size, day_size).await?
            } else {
                self.log.consistency_proof(0, day_size).await?
            };
            let args = AnchorCheckpointArgs { day, size: day_size, root, consistency_proof: Some(proof) };
            let anchor = IntentKey::anchor(log_key, day);
            if !self.send(anchor, &[anchors::anchor_checkpoint(&me, args)]).await? {
                return Ok(());
            }
            // the stored row is the chain's checkpoint, not this keeper's plan of it
            self.backfill_checkpoint(&log_key, day, now).await?;
            self.metrics.anchors.inc();
            tracing::info!(day, size = day_size, "checkpoint anchored");
            (size, latest) = (day_size, Some(day));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;

    #[test]
    fn anchor_plan_catches_up_missed_days_and_skips_quiet_ones() {
        // receipts on day 10 (2), day 11 (1), none on 12, day 13 (3), today 14 (1)
        let created = [10 * DAY + 5, 10 * DAY + 9, 11 * DAY, 13 * DAY + 1, 13 * DAY + 2, 14 * DAY - 1, 14 * DAY + 7];
        // never anchored, down since day 10: every completed day with growth, in order
        assert_eq!(anchor_plan(&created, 0, None, 13), [(10, 2), (11, 3), (13, 6)]);
        // day 11 anchored already: only what came after it
        assert_eq!(anchor_plan(&created, 3, Some(11), 13), [(13, 6)]);
        // up to date
        assert_eq!(anchor_plan(&created, 6, Some(13), 13), []);
        // anchoring today too (demos) includes the receipt of day 14
        assert_eq!(anchor_plan(&created, 6, Some(13), 14), [(14, 7)]);
        // nothing yet to anchor, and an empty log
        assert_eq!(anchor_plan(&created, 0, None, 9), []);
        assert_eq!(anchor_plan(&[], 0, None, 13), []);
    }

    #[test]
    fn anchor_plan_never_shrinks_or_skips_a_receipt() {
        // a receipt recorded out of clock order (two keepers, one store) ends a day's prefix early:
        // it is anchored the next day, never dropped, and sizes only grow
        let created = [10 * DAY + 5, 11 * DAY + 1, 10 * DAY + 6, 11 * DAY + 2];
        let plan = anchor_plan(&created, 0, None, 12);
        assert_eq!(plan, [(10, 1), (11, 4)]);
        assert!(plan.windows(2).all(|w| w[0].1 < w[1].1 && w[0].0 < w[1].0));
    }
}
