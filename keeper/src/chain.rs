//! Reading the cluster over JSON-RPC: jobs that name this keeper, accounts, time, fees.

use agentrail::state::Job;
use agentrail_client::accounts::JobFees;
use anchor_lang::Discriminator;
use anyhow::{Context, Result};
use solana_account_decoder_client_types::{UiAccountEncoding, UiDataSliceConfig};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_sdk::{pubkey::Pubkey, signature::Signature, sysvar};
use solana_transaction_status_client_types::TransactionStatus;

/// Ends a batch's gathering: takes its waiters (also when the gathering waiter is dropped).
struct GatherGuard<'a>(&'a std::sync::Mutex<StatusBatch>);

impl GatherGuard<'_> {
    fn take(self) -> Vec<(Signature, tokio::sync::oneshot::Sender<Option<TransactionStatus>>)> {
        let mut batch = self.0.lock().unwrap_or_else(|p| p.into_inner());
        batch.gathering = false;
        std::mem::take(&mut batch.waiting)
        // `self` drops here and finds nothing left to hand on
    }
}

impl Drop for GatherGuard<'_> {
    fn drop(&mut self) {
        let mut batch = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if batch.gathering {
            // dropped mid-gather: the waiters' senders go with the batch, so they see an error
            batch.gathering = false;
            batch.waiting.clear();
        }
    }
}

/// How long a fetched blockhash is reused for new transactions: a blockhash is valid for ~150
/// blocks (~60 s), so one a few seconds old leaves almost all of that, and every send no longer
/// costs a request for it.
const BLOCKHASH_REUSE: std::time::Duration = std::time::Duration::from_secs(5);

/// A value read from the cluster, reused while it is younger than a limit (a blockhash, a
/// priority fee, what the last scan read).
pub struct Recent<T>(std::sync::Mutex<Option<(T, std::time::Instant)>>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Recent(std::sync::Mutex::new(None))
    }
}

impl<T: Clone> Recent<T> {
    /// The value and its age, when it is younger than `limit`.
    pub fn get(&self, limit: std::time::Duration) -> Option<(T, std::time::Duration)> {
        let held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.as_ref().map(|(v, at)| (v.clone(), at.elapsed())).filter(|(_, age)| *age < limit)
    }

    /// Keeps `value`, read now.
    pub fn set(&self, value: T) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some((value, std::time::Instant::now()));
    }
}

/// The keeper's view of the cluster.
pub struct Chain {
    pub rpc: RpcClient,
    /// The last blockhash fetched and its last valid block height.
    blockhash: Recent<(solana_sdk::hash::Hash, u64)>,
    /// The last priority fee read.
    fee: Recent<u64>,
    /// Signature statuses the sends in flight wait for, fetched together.
    statuses: std::sync::Mutex<StatusBatch>,
}

/// The sends waiting for their transaction's status ([`Chain::signature_status`]).
#[derive(Default)]
struct StatusBatch {
    waiting: Vec<(Signature, tokio::sync::oneshot::Sender<Option<TransactionStatus>>)>,
    /// A waiter is gathering the next batch and will fetch it.
    gathering: bool,
}

/// How long the waiter that starts a batch lets others join it before fetching: sends poll
/// their status every ~800 ms, so a window this long gathers several per request.
pub const STATUS_GATHER: std::time::Duration = std::time::Duration::from_millis(150);
/// Signatures per `getSignatureStatuses` request (the RPC's limit).
const STATUSES_PER_REQUEST: usize = 256;

/// How long a priority-fee reading is reused.
const FEE_REUSE: std::time::Duration = std::time::Duration::from_secs(10);

impl Chain {
    /// Connects to `url` at `confirmed` commitment.
    pub fn new(url: &str) -> Self {
        Chain {
            rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()),
            blockhash: Recent::default(),
            fee: Recent::default(),
            statuses: Default::default(),
        }
    }

    /// The status of transaction `signature` (searching the node's history), `None` while the
    /// node has not seen it. Concurrent callers share one `getSignatureStatuses` request: the
    /// first to ask gathers the others for [`STATUS_GATHER`], then fetches for all of them.
    /// An RPC failure is an error for every caller in the batch.
    pub async fn signature_status(&self, signature: Signature) -> Result<Option<TransactionStatus>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lead = {
            let mut batch = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
            batch.waiting.push((signature, tx));
            !std::mem::replace(&mut batch.gathering, true)
        };
        if lead {
            // if this future is dropped while gathering, the guard hands the batch on: its
            // waiters see an error (and retry) instead of waiting for a fetch that never comes
            let guard = GatherGuard(&self.statuses);
            tokio::time::sleep(STATUS_GATHER).await;
            let mut rest = guard.take();
            while !rest.is_empty() {
                let chunk: Vec<_> = rest.drain(..rest.len().min(STATUSES_PER_REQUEST)).collect();
                let sigs: Vec<Signature> = chunk.iter().map(|(s, _)| *s).collect();
                // on an error the chunk's senders are dropped: each waiter sees the failure
                if let Ok(found) = self.rpc.get_signature_statuses_with_history(&sigs).await {
                    for ((_, waiter), status) in chunk.into_iter().zip(found.value) {
                        // a waiter that gave up has dropped its receiver: nothing to tell
                        let _ = waiter.send(status);
                    }
                }
            }
        }
        rx.await.map_err(|_| anyhow::anyhow!("reading the status of {signature} failed"))
    }

    /// A decoded account of the Agentrail program, `None` when missing. An account another
    /// program owns is refused, whatever its bytes (the keeper derives the addresses it reads,
    /// but a decode must never rest on that alone).
    pub async fn account<T: agentrail_client::accounts::ProgramAccount>(&self, key: &Pubkey) -> Result<Option<T>> {
        let acc = self
            .rpc
            .get_account_with_commitment(key, self.rpc.commitment())
            .await
            .with_context(|| format!("reading {key}"))?
            .value;
        acc.map(|a| {
            anyhow::ensure!(
                a.owner == agentrail_client::program_id(),
                "{key} is owned by {}, not the Agentrail program",
                a.owner
            );
            agentrail_client::accounts::decode(&a.data).map_err(|e| anyhow::anyhow!("{key}: {e}"))
        })
        .transpose()
    }

    /// Every funded job whose keeper is `keeper`: the node filters by status, so finished and
    /// unfunded jobs (however many accumulate) cost a scan nothing.
    pub async fn funded_jobs_for(&self, keeper: &Pubkey) -> Result<Vec<(Pubkey, Job)>> {
        use agentrail_client::accounts::{JOB_KEEPER_OFFSET, JOB_STATUS_OFFSET};
        let funded = status_byte(agentrail::state::JobStatus::Funded);
        self.program_accounts(&[(JOB_KEEPER_OFFSET, keeper.to_bytes().to_vec()), (JOB_STATUS_OFFSET, vec![funded])])
            .await
    }

    /// Every job (any status) with `key` at byte `offset` of its account (the poster, arbiter or
    /// keeper offsets of `agentrail_client::accounts`): what the console's inbox reads.
    pub async fn jobs_with_key_at(&self, offset: usize, key: &Pubkey) -> Result<Vec<(Pubkey, Job)>> {
        self.program_accounts(&[(offset, key.to_bytes().to_vec())]).await
    }

    /// Every shard of `agent`'s track record, in every mint.
    pub async fn track_records(&self, agent: &Pubkey) -> Result<Vec<agentrail::state::TrackRecord>> {
        // the agent is the first field, right after the discriminator
        let shards = self.program_accounts(&[(8, agent.to_bytes().to_vec())]).await?;
        Ok(shards.into_iter().map(|(_, r)| r).collect())
    }

    /// The program's accounts of type `T` that hold each `(offset, bytes)`, decoded (the node
    /// filters; accounts that do not decode are skipped).
    async fn program_accounts<T: agentrail_client::accounts::ProgramAccount + anchor_lang::Discriminator>(
        &self,
        matching: &[(usize, Vec<u8>)],
    ) -> Result<Vec<(Pubkey, T)>> {
        let mut filters = vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, T::DISCRIMINATOR.to_vec()))];
        filters.extend(
            matching.iter().map(|(at, bytes)| RpcFilterType::Memcmp(Memcmp::new_raw_bytes(*at, bytes.clone()))),
        );
        let config = RpcProgramAccountsConfig {
            filters: Some(filters),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        #[allow(deprecated)]
        let accounts =
            self.rpc.get_program_accounts_with_config(&agentrail_client::program_id(), config).await.with_context(
                || format!("listing {} accounts", std::any::type_name::<T>().rsplit("::").next().unwrap_or("program")),
            )?;
        Ok(accounts
            .into_iter()
            .filter_map(|(k, a)| agentrail_client::accounts::decode(&a.data).ok().map(|j| (k, j)))
            .collect())
    }

    /// Finished jobs of keeper `keeper` whose earned fees still wait in their vaults: the node
    /// filters by keeper and status (completed or expired; a cancelled job never released
    /// anything) and returns only a slice of each account, its mint and fee books, so however
    /// many finished jobs accumulate, a listing downloads about 100 bytes for each.
    pub async fn jobs_with_unswept_fees(&self, keeper: &Pubkey) -> Result<Vec<(Pubkey, JobFees)>> {
        use agentrail::state::JobStatus;
        use agentrail_client::accounts::{JOB_FEES_SLICE_LEN, JOB_KEEPER_OFFSET, JOB_MINT_OFFSET, JOB_STATUS_OFFSET};
        let mut found = Vec::new();
        for status in [JobStatus::Completed, JobStatus::Expired] {
            let config = RpcProgramAccountsConfig {
                filters: Some(vec![
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, Job::DISCRIMINATOR.to_vec())),
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_KEEPER_OFFSET, keeper.to_bytes().to_vec())),
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_STATUS_OFFSET, vec![status_byte(status)])),
                ]),
                account_config: RpcAccountInfoConfig {
                    encoding: Some(UiAccountEncoding::Base64),
                    data_slice: Some(UiDataSliceConfig { offset: JOB_MINT_OFFSET, length: JOB_FEES_SLICE_LEN }),
                    ..Default::default()
                },
                ..Default::default()
            };
            #[allow(deprecated)]
            let accounts = self
                .rpc
                .get_program_accounts_with_config(&agentrail_client::program_id(), config)
                .await
                .context("listing finished jobs")?;
            found.extend(
                accounts
                    .into_iter()
                    .filter_map(|(k, a)| JobFees::from_slice(&a.data).map(|f| (k, f)))
                    .filter(|(_, f)| f.unswept() > 0),
            );
        }
        Ok(found)
    }

    /// The accounts at `keys`, in order (`None` where missing), read 100 per request (the RPC
    /// limit of `getMultipleAccounts`).
    pub async fn accounts(&self, keys: &[Pubkey]) -> Result<Vec<Option<solana_sdk::account::Account>>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            out.extend(self.rpc.get_multiple_accounts(chunk).await.context("reading accounts")?);
        }
        Ok(out)
    }

    /// A recent blockhash (confirmed) and its last valid block height, reused for
    /// `BLOCKHASH_REUSE`.
    pub async fn recent_blockhash(&self) -> Result<(solana_sdk::hash::Hash, u64)> {
        if let Some((recent, _)) = self.blockhash.get(BLOCKHASH_REUSE) {
            return Ok(recent);
        }
        let (hash, last_valid) = self
            .rpc
            .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
            .await
            .context("fetching a recent blockhash")?;
        self.blockhash.set((hash, last_valid));
        Ok((hash, last_valid))
    }

    /// What transaction `signature` did ([`crate::rails::TxEffects`]), as the cluster has it at
    /// confirmed (or `finalized`) commitment; `None` while it has not got that far (or never
    /// existed).
    pub async fn transaction_effects(
        &self,
        signature: &str,
        finalized: bool,
    ) -> Result<Option<crate::rails::TxEffects>> {
        let sig: Signature =
            signature.parse().with_context(|| format!("{signature:?} is not a transaction signature"))?;
        let commitment = if finalized { CommitmentConfig::finalized() } else { CommitmentConfig::confirmed() };
        let config = solana_rpc_client_api::config::RpcTransactionConfig {
            // binary, so instructions (inner ones too) come compiled, with account indices
            encoding: Some(solana_transaction_status_client_types::UiTransactionEncoding::Base64),
            commitment: Some(commitment),
            max_supported_transaction_version: Some(0),
        };
        match self.rpc.get_transaction_with_config(&sig, config).await {
            Ok(tx) => crate::rails::TxEffects::from_fetched(signature, &tx)
                .map(Some)
                .map_err(|why| anyhow::anyhow!("{signature}: {why}")),
            // the node answers "not found" as an error without a code of its own
            Err(e) if e.to_string().contains("invalid type: null") || e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading transaction {signature}")),
        }
    }

    /// The cluster clock's unix time.
    pub async fn now(&self) -> Result<i64> {
        let acc = self.rpc.get_account(&sysvar::clock::ID).await.context("reading the clock")?;
        let ts = acc.data.get(32..40).context("clock sysvar is truncated")?;
        Ok(i64::from_le_bytes(ts.try_into().expect("8 bytes")))
    }

    /// Median of recent prioritization fees for `accounts` (micro-lamports per CU), capped.
    /// The figure is reused for `FEE_REUSE`: the keeper's transactions write only their own
    /// job's accounts (no protocol-wide account), so the recent fees of the first job's accounts
    /// speak for the others, and a send no longer costs a request for them.
    pub async fn priority_fee(&self, accounts: &[Pubkey], cap: u64) -> u64 {
        if let Some((fee, _)) = self.fee.get(FEE_REUSE) {
            return fee.min(cap);
        }
        let fee = match self.rpc.get_recent_prioritization_fees(accounts).await {
            Ok(fees) if !fees.is_empty() => {
                let mut v: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
                v.sort_unstable();
                v[v.len() / 2]
            }
            Ok(_) => 0,
            Err(_) => return 0, // not cached: the next send asks again
        };
        self.fee.set(fee);
        fee.min(cap)
    }
}

/// The byte a job account holds for `status` (`job_field_offsets_match_the_layout` checks it).
fn status_byte(status: agentrail::state::JobStatus) -> u8 {
    status.0
}
