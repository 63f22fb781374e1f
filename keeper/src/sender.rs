//! Sending transactions so that nothing is paid twice and nothing is lost: every signed
//! transaction is persisted as an intent before it is broadcast; the same bytes are rebroadcast
//! until they land or their blockhash expires; after a crash every pending intent is resolved
//! from the chain before anything new is signed.

use std::time::Duration;

use agentrail_client::errors::TxFailure;
use agentrail_client::lifecycle::IntentKey;
use anyhow::{Context, Result};
use base64::Engine;
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::{
    instruction::Instruction,
    message::Message,
    signature::Keypair,
    signature::Signature,
    signer::Signer,
    transaction::{Transaction, TransactionError},
};

use crate::chain::Chain;
use crate::metrics::Metrics;
use crate::store::{Intent, IntentStatus, Store};

/// How a send ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Landed and succeeded.
    Confirmed(String),
    /// Had landed before this call (an earlier run's transaction): nothing new to count.
    AlreadyConfirmed(String),
    /// The program refused it (wrong state, for example another party already did it).
    Refused(String),
    /// Its blockhash expired without landing; the next tick rebuilds it.
    Expired,
    /// Not the program's verdict: the payer cannot pay the fee, the node lags, an account is
    /// locked... An operational fault to fix or wait out, logged at error level.
    Transient(String),
    /// Broadcast but not yet settled within the confirmation budget: the intent stays pending
    /// and a later scan (or start-up reconciliation) follows it; nothing new is signed for it.
    InFlight,
}

impl Outcome {
    /// Its metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Confirmed(_) => "confirmed",
            Outcome::AlreadyConfirmed(_) => "already_confirmed",
            Outcome::Refused(_) => "refused",
            Outcome::Expired => "expired",
            Outcome::Transient(_) => "error",
            Outcome::InFlight => "in_flight",
        }
    }
}

/// A stored intent this keeper cannot read.
#[derive(Debug, thiserror::Error)]
#[error("stored intent cannot be read: {0}")]
pub struct Undecodable(&'static str);

/// Sorts a transaction error into the program's refusal or an operational fault
/// ([`agentrail_client::errors::classify`], by type).
pub fn classify(err: TransactionError) -> Outcome {
    match agentrail_client::errors::classify(&err) {
        TxFailure::Refused(why) => Outcome::Refused(why),
        TxFailure::Operational(why) => Outcome::Transient(why),
    }
}

/// Signs, persists, broadcasts and confirms.
pub struct Sender<'a> {
    pub chain: &'a Chain,
    pub store: &'a Store,
    pub payer: &'a Keypair,
    pub metrics: &'a Metrics,
    /// Highest priority fee paid, micro-lamports per compute unit.
    pub fee_cap: u64,
    /// Longest one send waits for its confirmation before handing the intent to a later scan.
    pub confirm_budget: Duration,
}

impl Sender<'_> {
    /// Resolves every pending intent from the chain (run before anything else at start-up).
    pub async fn reconcile(&self) -> Result<()> {
        let pending = self.store.pending_intents().await?;
        tracing::info!(count = pending.len(), "reconciling pending intents");
        for intent in pending {
            // an intent that cannot be decoded (corrupt, or written by a newer keeper) is set
            // aside as failed, loudly: it must not block every keeper sharing the store
            let outcome = match self.drive(&intent, false).await {
                Err(e) if e.downcast_ref::<Undecodable>().is_some() => {
                    tracing::error!(intent = %intent.id, error = %e, "quarantined an undecodable intent (marked failed)");
                    let why = format!("quarantined: {e}");
                    self.store
                        .set_intent_status(&intent.id, &intent.signature, IntentStatus::Failed, Some(&why))
                        .await?;
                    continue;
                }
                other => other?,
            };
            tracing::info!(intent = %intent.id, ?outcome, "reconciled");
        }
        Ok(())
    }

    /// Does the action `key` names with `ixs`, exactly once.
    pub async fn execute(&self, key: &IntentKey, ixs: &[Instruction]) -> Result<Outcome> {
        hold_if_frozen();
        let (id, action) = (key.to_string(), key.label());
        // simulate first: a refusal (lost race, wrong state) costs nothing and is not persisted.
        // A live intent for the action is looked for only when it matters, not before every
        // send (the common case has none): a refusal may be this keeper's own earlier
        // transaction having landed, and `put_intent` refuses to replace a live one.
        let payer = self.payer.pubkey();
        let (blockhash, last_valid) = self.chain.recent_blockhash().await?;
        let mut probe_ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(1_400_000)];
        probe_ixs.extend_from_slice(ixs);
        // unsigned: the simulation skips signature checks, and an ed25519 signature is a
        // measurable share of the keeper's CPU per milestone
        let probe = Transaction::new_unsigned(Message::new_with_blockhash(&probe_ixs, Some(&payer), &blockhash));
        let sim = self.chain.rpc.simulate_transaction(&probe).await.context("simulating")?.value;
        if let Some(err) = sim.err {
            return match self.store.intent(&id).await? {
                Some(existing) if existing.status == IntentStatus::Confirmed => {
                    Ok(Outcome::AlreadyConfirmed(existing.signature))
                }
                Some(existing) if existing.status == IntentStatus::Pending => self.drive(&existing, false).await,
                _ => Ok(classify(err.into())),
            };
        }
        let units = sim.units_consumed.unwrap_or(200_000);
        let writable: Vec<_> =
            ixs.iter().flat_map(|i| i.accounts.iter().filter(|a| a.is_writable).map(|a| a.pubkey)).collect();
        let price = self.chain.priority_fee(&writable, self.fee_cap).await;
        let mut all = vec![
            ComputeBudgetInstruction::set_compute_unit_limit((units as u32).saturating_mul(12) / 10 + 1_000),
            ComputeBudgetInstruction::set_compute_unit_price(price),
        ];
        all.extend_from_slice(ixs);
        let tx = Transaction::new_signed_with_payer(&all, Some(&payer), &[self.payer], blockhash);
        let bytes = bincode_tx(&tx)?;
        let intent = Intent {
            id,
            job: key.account.to_string(),
            milestone: key.milestone(),
            action,
            tx: base64::engine::general_purpose::STANDARD.encode(bytes),
            signature: tx.signatures[0].to_string(),
            last_valid_block_height: last_valid,
            status: IntentStatus::Pending,
            attempts: 1,
            error: None,
        };
        if !self.store.put_intent(&intent).await? {
            // another writer holds a live intent for the same action: follow that one
            let existing = self.store.intent(&intent.id).await?.context("intent vanished")?;
            if existing.status == IntentStatus::Confirmed {
                return Ok(Outcome::AlreadyConfirmed(existing.signature));
            }
            return self.drive(&existing, false).await;
        }
        hold_if_failpoint("before-broadcast", &intent.action);
        self.drive(&intent, true).await
    }

    /// Rebroadcasts an intent's own bytes until it lands or expires, for at most the
    /// confirmation budget (a stalled node must not hold the keeper); records the result.
    /// `fresh`: signed and persisted just now, never sent, with a blockhash seconds old: its
    /// first round sends it without asking for its status or the block height (two requests
    /// that could only say "not yet").
    async fn drive(&self, intent: &Intent, fresh: bool) -> Result<Outcome> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&intent.tx)
            .map_err(|_| Undecodable("its transaction is not base64"))?;
        let tx: Transaction = bincode_untx(&bytes).map_err(|_| Undecodable("its transaction does not decode"))?;
        let signature: Signature = intent.signature.parse().map_err(|_| Undecodable("its signature does not parse"))?;
        let config = RpcSendTransactionConfig { skip_preflight: true, max_retries: Some(0), ..Default::default() };
        let started = std::time::Instant::now();
        let mut first_round = fresh;
        loop {
            hold_if_frozen();
            if started.elapsed() >= self.confirm_budget {
                tracing::warn!(intent = %intent.id, budget = ?self.confirm_budget, "not settled within the confirmation budget; following it on a later scan");
                return Ok(Outcome::InFlight);
            }
            let unsent = std::mem::take(&mut first_round);
            if !unsent
                && let Ok(Some(status)) = self.chain.signature_status(signature).await
                && status.satisfies_commitment(CommitmentConfig::confirmed())
            {
                return Ok(match status.err {
                    None => {
                        self.store
                            .set_intent_status(&intent.id, &intent.signature, IntentStatus::Confirmed, None)
                            .await?;
                        Outcome::Confirmed(intent.signature.clone())
                    }
                    Some(err) => {
                        let outcome = classify(err);
                        let why = match &outcome {
                            Outcome::Refused(why) | Outcome::Transient(why) => why.clone(),
                            _ => String::new(),
                        };
                        self.store
                            .set_intent_status(&intent.id, &intent.signature, IntentStatus::Failed, Some(&why))
                            .await?;
                        outcome
                    }
                });
            }
            let height = if unsent {
                Ok(0) // just signed: it cannot have expired
            } else {
                self.chain.rpc.get_block_height_with_commitment(CommitmentConfig::finalized()).await
            };
            match height {
                Ok(h) if h > intent.last_valid_block_height => {
                    // finalized past its last valid height and not landed: it never will
                    let expired = Some("blockhash expired");
                    self.store.set_intent_status(&intent.id, &intent.signature, IntentStatus::Expired, expired).await?;
                    return Ok(Outcome::Expired);
                }
                Ok(_) => {}
                Err(e) => {
                    self.metrics.rpc_errors.inc();
                    tracing::warn!(error = %e, "block height unavailable; retrying");
                }
            }
            if let Err(e) = self.chain.rpc.send_transaction_with_config(&tx, config).await {
                self.metrics.rpc_errors.inc();
                tracing::debug!(error = %e, "rebroadcast failed");
            }
            hold_if_failpoint("after-broadcast", &intent.action);
            // a round every ~800 ms, the status request's gathering window included
            tokio::time::sleep(Duration::from_millis(800).saturating_sub(crate::chain::STATUS_GATHER)).await;
        }
    }
}

/// Crash-test hook: with `AGENTRAIL_KEEPER_FAILPOINT=PHASE:ACTION` the keeper stops dead at
/// that point of ACTION's send, so a test can `kill -9` it exactly there: `before-broadcast`
/// (the intent is persisted, nothing sent yet) or `after-broadcast` (sent, its outcome not yet
/// recorded); and `after-call:compensate` (an agent compensated, nothing recorded yet). Unset
/// in normal operation.
pub(crate) fn hold_if_failpoint(phase: &str, action: &str) {
    // read once: the environment is behind a process-wide lock, and this runs on every send
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let Some(point) = POINT.get_or_init(|| std::env::var("AGENTRAIL_KEEPER_FAILPOINT").ok()) else { return };
    if point.strip_prefix(phase).and_then(|rest| rest.strip_prefix(':')) == Some(action) {
        tracing::warn!(phase, action, "failpoint {phase} reached: holding until killed");
        // the whole keeper stops here, as a crash would stop it: duties running beside this
        // one (other settlements, steps) send nothing more ([`hold_if_frozen`])
        FROZEN.store(true, std::sync::atomic::Ordering::SeqCst);
        hold_forever();
    }
}

/// Set once a failpoint is reached (tests only).
static FROZEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Holds every send that starts after a failpoint was reached, so the keeper a test kills
/// there has persisted nothing more than a crash at that point would have.
fn hold_if_frozen() {
    if FROZEN.load(std::sync::atomic::Ordering::SeqCst) {
        hold_forever();
    }
}

fn hold_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3_600));
    }
}

fn bincode_tx(tx: &Transaction) -> Result<Vec<u8>> {
    bincode::serialize(tx).context("serialising the transaction")
}

fn bincode_untx(bytes: &[u8]) -> Result<Transaction> {
    bincode::deserialize(bytes).context("stored transaction does not decode")
}

#[cfg(test)]
mod tests {
    use super::*;
    use solana_sdk::instruction::InstructionError;

    #[test]
    fn program_refusals_and_operational_faults_are_told_apart() {
        let refused = classify(TransactionError::InstructionError(2, InstructionError::Custom(6030)));
        assert!(matches!(&refused, Outcome::Refused(m) if m.contains("(6030)")), "{refused:?}");
        let constraint = classify(TransactionError::InstructionError(0, InstructionError::InvalidAccountData));
        assert!(matches!(constraint, Outcome::Refused(_)));
        for fault in [
            TransactionError::InsufficientFundsForFee,
            TransactionError::BlockhashNotFound,
            TransactionError::AccountInUse,
            TransactionError::AccountNotFound,
        ] {
            assert!(matches!(classify(fault.clone()), Outcome::Transient(_)), "{fault:?}");
        }
    }
}
