//! Reading the cluster over JSON-RPC: jobs that name this keeper, accounts, time, fees.

use agentrail::state::Job;
use agentrail_client::accounts::JobFees;
use anchor_lang::{AccountDeserialize, Discriminator};
use anyhow::{Context, Result};
use solana_account_decoder_client_types::{UiAccountEncoding, UiDataSliceConfig};
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_sdk::{pubkey::Pubkey, sysvar};

/// The keeper's view of the cluster.
pub struct Chain {
    pub rpc: RpcClient,
}

impl Chain {
    /// Connects to `url` at `confirmed` commitment.
    pub fn new(url: &str) -> Self {
        Chain { rpc: RpcClient::new_with_commitment(url.to_string(), CommitmentConfig::confirmed()) }
    }

    /// A decoded program account, `None` when missing.
    pub async fn account<T: AccountDeserialize>(&self, key: &Pubkey) -> Result<Option<T>> {
        let acc = self
            .rpc
            .get_account_with_commitment(key, self.rpc.commitment())
            .await
            .with_context(|| format!("reading {key}"))?
            .value;
        acc.map(|a| agentrail_client::accounts::decode(&a.data).map_err(|e| anyhow::anyhow!("{key}: {e}"))).transpose()
    }

    /// Every funded job whose keeper is `keeper`: the node filters by status, so finished and
    /// unfunded jobs (however many accumulate) cost a scan nothing.
    pub async fn funded_jobs_for(&self, keeper: &Pubkey) -> Result<Vec<(Pubkey, Job)>> {
        use agentrail_client::accounts::{JOB_KEEPER_OFFSET, JOB_STATUS_OFFSET};
        let funded = borsh_tag(agentrail::state::JobStatus::Funded);
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, Job::DISCRIMINATOR.to_vec())),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_KEEPER_OFFSET, keeper.to_bytes().to_vec())),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_STATUS_OFFSET, vec![funded])),
            ]),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        #[allow(deprecated)]
        let accounts =
            self.rpc.get_program_accounts_with_config(&agentrail::ID, config).await.context("listing jobs")?;
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
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(JOB_STATUS_OFFSET, vec![borsh_tag(status)])),
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
                .get_program_accounts_with_config(&agentrail::ID, config)
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

    /// The cluster clock's unix time.
    pub async fn now(&self) -> Result<i64> {
        let acc = self.rpc.get_account(&sysvar::clock::ID).await.context("reading the clock")?;
        let ts = acc.data.get(32..40).context("clock sysvar is truncated")?;
        Ok(i64::from_le_bytes(ts.try_into().expect("8 bytes")))
    }

    /// Median of recent prioritization fees for `accounts` (micro-lamports per CU), capped.
    pub async fn priority_fee(&self, accounts: &[Pubkey], cap: u64) -> u64 {
        match self.rpc.get_recent_prioritization_fees(accounts).await {
            Ok(fees) if !fees.is_empty() => {
                let mut v: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
                v.sort_unstable();
                v[v.len() / 2].min(cap)
            }
            _ => 0,
        }
    }
}

/// The one-byte Borsh encoding of a job status: its variant index, which for this fieldless
/// enum is its discriminant (`job_field_offsets_match_the_layout` checks the byte).
fn borsh_tag(status: agentrail::state::JobStatus) -> u8 {
    status as u8
}
