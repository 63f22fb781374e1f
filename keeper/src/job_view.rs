//! A job as the keeper's API shows it: the chain's state with the keeper's own steps,
//! receipts and compensations.

use agentrail::state::Job;
use anyhow::Result;
use serde_json::{Value, json};
use solana_sdk::{pubkey::Pubkey, signer::Signer};

use crate::service::*;

impl Keeper {
    /// What the API shows of one job: its on-chain milestones and this keeper's steps.
    pub async fn job_view(&self, key: &Pubkey) -> Result<Option<Value>> {
        let Some(job) = self.chain.account::<Job>(key).await? else { return Ok(None) };
        if job.keeper != self.payer.pubkey() {
            return Ok(None);
        }
        Ok(Some(self.view(key, &job).await))
    }

    async fn view(&self, key: &Pubkey, job: &Job) -> Value {
        let steps = self.log.store().steps_for_job(&key.to_string()).await.unwrap_or_default();
        let mut milestones = Vec::new();
        for (i, m) in job.milestones().iter().enumerate() {
            let step = steps.iter().find(|s| usize::from(s.milestone) == i).cloned();
            milestones.push(json!({
                "index": i, "state": format!("{:?}", m.state).to_lowercase(), "amount": m.amount,
                "step": step.as_ref().map(|s| s.status.to_string()), "attempts": step.as_ref().map(|s| s.attempts),
                "error": step.and_then(|s| s.last_error),
            }));
        }
        let compensations: Vec<Value> = self
            .log
            .store()
            .compensations_for_job(&key.to_string())
            .await
            .unwrap_or_default()
            .iter()
            .map(|c| {
                json!({
                    "milestone": c.milestone, "status": c.status, "attempts": c.attempts, "error": c.error,
                    "undoes": c.undoes, "receipt": c.receipt,
                })
            })
            .collect();
        json!({
            "job": key.to_string(), "status": format!("{:?}", job.status).to_lowercase(), "deadline": job.deadline,
            "milestones": milestones, "compensations": compensations,
        })
    }
}
