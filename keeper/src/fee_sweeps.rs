//! The fee duty: the fees this keeper's finished jobs earned, swept from their vaults to the
//! treasury.

use agentrail::state::Config as ProgramConfig;
use agentrail_client::escrow;
use agentrail_client::lifecycle::{Action, IntentKey};
use agentrail_client::pda;
use anyhow::{Context, Result};
use solana_sdk::signer::Signer;

use crate::service::*;

impl Keeper {
    /// The fee duty: sweeps the fees this keeper's finished jobs earned from their vaults to
    /// the treasury, per mint, [`agentrail::instructions::MAX_SWEEP_JOBS`] jobs per transaction (releases leave fees in
    /// the vault so that they write no protocol-wide account; this is where they leave it). A
    /// mint whose treasury token account does not exist waits: the keeper pays no rent for
    /// other people's accounts. Each batch is an intent keyed by its first job, so a crash
    /// between sending and confirming never sweeps twice (a second sweep would only be refused).
    pub async fn sweep_fees(&self) -> Result<()> {
        let jobs = self.chain.jobs_with_unswept_fees(&self.payer.pubkey()).await?;
        if jobs.is_empty() {
            return Ok(());
        }
        let config: ProgramConfig =
            self.chain.account(&pda::config()).await?.context("the Agentrail config is not initialised")?;
        let by_mint = escrow::sweep_batches(jobs.into_iter().map(|(key, f)| ((f.mint, f.token_program), key)));
        for ((mint, token_program), batches) in by_mint {
            let treasury_token = pda::ata(&config.treasury, &mint, &token_program);
            if self.chain.accounts(&[treasury_token]).await.context("reading the treasury")?[0].is_none() {
                self.metrics.waiting_for_accounts.inc();
                tracing::warn!(treasury = %config.treasury, %mint, jobs = batches.iter().map(Vec::len).sum::<usize>(),
                    "the treasury has no token account for this mint: fees wait in the vaults (`agentrail job sweep-fees` creates it at the caller's expense)");
                continue;
            }
            for batch in batches {
                let ix = escrow::sweep_fees(&config.treasury, &mint, &token_program, &batch);
                if self.send(IntentKey::job(batch[0], Action::SweepFees), &[ix]).await? {
                    self.metrics.fees_swept_jobs.add(batch.len() as u64);
                }
            }
        }
        Ok(())
    }
}
