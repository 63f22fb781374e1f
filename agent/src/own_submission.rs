//! The agent reports its own work when the keeper does not: after answering a paid step it
//! waits a while, reads the job, and if the milestone is still pending submits it itself
//! (signed by its signing key, fees paid by its own wallet). A keeper that withholds the answer
//! (a poster that keeps its own jobs, a keeper that crashed) can then not fail the step: the
//! program takes a failure only once the step's time ran out with nothing submitted.

use std::sync::Arc;
use std::time::Duration;

use agentrail::state::{Job, JobStatus, MilestoneState};
use agentrail_client::escrow::{self, JobKeys};
use anchor_lang::prelude::Pubkey;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;
use solana_sdk::transaction::Transaction;

/// Most submissions waited on at once: past it an answer is left to the keeper alone (logged).
pub const MAX_WATCHED: usize = 256;

/// How the agent submits its own work ([`crate::AgentConfig::submit_own_work`]).
#[derive(Clone, Debug)]
pub struct OwnSubmission {
    /// The wallet that pays the submission's fee (the agent's; never the keeper's).
    pub fee_payer: Arc<Keypair>,
    /// How long after its answer the agent leaves the submission to the keeper.
    pub after: Duration,
}

/// What the watcher needs of one answered step.
pub struct Answered {
    pub job: Pubkey,
    pub milestone: u8,
    /// SHA-256 of the answer's bytes: the result the agent reports.
    pub result_hash: [u8; 32],
}

/// Why an own submission was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotSubmitted {
    #[error("the keeper submitted it, or it settled otherwise")]
    Settled,
    #[error("reading the chain failed: {0}")]
    Chain(String),
    #[error("sending the submission failed: {0}")]
    Send(String),
}

/// Submits `answered` once `how.after` passed, unless it no longer needs it; `signer` is the
/// agent's signing key (a key the program takes as the agent's), `agent` its registry account.
pub async fn submit_when_due(
    rpc_url: &str,
    how: &OwnSubmission,
    signer: &Keypair,
    agent: &Pubkey,
    answered: Answered,
) -> Result<solana_sdk::signature::Signature, NotSubmitted> {
    tokio::time::sleep(how.after).await;
    let rpc = RpcClient::new_with_commitment(rpc_url.to_string(), CommitmentConfig::confirmed());
    let job: Job = read(&rpc, &answered.job).await?;
    let i = usize::from(answered.milestone);
    let pending = job.status == JobStatus::Funded
        && job.current() == Some(i)
        && job.milestones().get(i).is_some_and(|m| m.state == MilestoneState::Pending);
    if !pending {
        return Err(NotSubmitted::Settled);
    }
    let agent_state: agentrail::state::Agent = read(&rpc, agent).await?;
    let keys = JobKeys::new(answered.job, &job, &agent_state);
    let ix = escrow::submit_milestone(&signer.pubkey(), &keys, answered.milestone, answered.result_hash);
    let blockhash = rpc.get_latest_blockhash().await.map_err(|e| NotSubmitted::Chain(e.to_string()))?;
    let signers: [&Keypair; 2] = [&how.fee_payer, signer];
    let tx = Transaction::new_signed_with_payer(&[ix], Some(&how.fee_payer.pubkey()), &signers, blockhash);
    rpc.send_and_confirm_transaction(&tx).await.map_err(|e| NotSubmitted::Send(e.to_string()))
}

async fn read<T: agentrail_client::accounts::ProgramAccount>(rpc: &RpcClient, key: &Pubkey) -> Result<T, NotSubmitted> {
    let account = rpc.get_account(key).await.map_err(|e| NotSubmitted::Chain(format!("{key}: {e}")))?;
    agentrail_client::accounts::decode(&account.data).map_err(|e| NotSubmitted::Chain(format!("{key}: {e}")))
}
