//! The connection to a cluster: reading and decoding accounts, and sending (or simulating)
//! transactions with clear errors.

use std::cell::OnceCell;

use agentrail_client::errors::TxFailure;
use agentrail_client::redact::{redact_in, redact_url};
use anchor_lang::Discriminator;
use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::json;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::Error as ClientError;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_sdk::{
    clock::Clock,
    instruction::Instruction,
    pubkey::Pubkey,
    signature::{Keypair, read_keypair_file},
    signer::Signer,
    sysvar,
    transaction::Transaction,
};

use crate::settings::Settings;

/// Everything a command needs to talk to the cluster.
pub struct Ctx {
    pub rpc: RpcClient,
    pub settings: Settings,
    pub json: bool,
    pub dry_run: bool,
    keypair: OnceCell<Keypair>,
}

/// Pulls the custom error code out of a transaction error's text, if any.
/// A failed transaction in one line: the program's refusal, named, or the fault.
fn describe(err: &solana_transaction_error::TransactionError) -> String {
    match agentrail_client::errors::classify(err) {
        TxFailure::Refused(why) => format!("the program refused the transaction: {why}"),
        TxFailure::Operational(why) => format!("the transaction failed: {why}"),
    }
}

/// Turns an RPC client error into a message naming the problem.
pub fn rpc_error(err: ClientError, url: &str) -> anyhow::Error {
    // the URL may carry an API key: errors name the endpoint without it
    let text = redact_in(&err.to_string(), &[url]);
    let url = redact_url(url);
    if let Some(tx_err) = err.get_transaction_error() {
        return anyhow!("{}", describe(&tx_err));
    }
    if text.contains("error sending request") || text.contains("Connection refused") || text.contains("dns error") {
        return anyhow!("cannot reach the RPC endpoint {url}: is the cluster running and the URL right?");
    }
    anyhow!("RPC request to {url} failed: {text}")
}

impl Ctx {
    /// Connects (lazily: nothing is sent until a command needs it).
    pub fn new(settings: Settings, json: bool, dry_run: bool) -> Self {
        let commitment = match settings.commitment.as_str() {
            "processed" => CommitmentConfig::processed(),
            "finalized" => CommitmentConfig::finalized(),
            _ => CommitmentConfig::confirmed(),
        };
        let rpc = RpcClient::new_with_commitment(settings.url.clone(), commitment);
        Ctx { rpc, settings, json, dry_run, keypair: OnceCell::new() }
    }

    /// The signing keypair, read on first use.
    pub fn signer(&self) -> Result<&Keypair> {
        if let Some(k) = self.keypair.get() {
            return Ok(k);
        }
        let path = &self.settings.keypair;
        let k = read_keypair_file(path).map_err(|e| {
            anyhow!(
                "cannot read keypair {}: {e} (use --keypair, AGENTRAIL_KEYPAIR or `solana config set --keypair`)",
                path.display()
            )
        })?;
        Ok(self.keypair.get_or_init(|| k))
    }

    /// Whether the cluster runs on this machine (its RPC on loopback): a local setup, whose
    /// agents and documents are on loopback too.
    pub fn local_cluster(&self) -> bool {
        agentrail_client::net::is_loopback_url(&self.settings.url)
    }

    /// Raw account data, `None` when the account does not exist.
    pub fn raw(&self, key: &Pubkey) -> Result<Option<solana_sdk::account::Account>> {
        let url = &self.settings.url;
        Ok(self.rpc.get_account_with_commitment(key, self.rpc.commitment()).map_err(|e| rpc_error(e, url))?.value)
    }

    /// Fails unless the Agentrail program is deployed on this cluster.
    pub fn ensure_program(&self) -> Result<()> {
        match self.raw(&agentrail_client::program_id())? {
            Some(a) if a.executable => Ok(()),
            _ => bail!(
                "the Agentrail program {} is not deployed at {} (wrong cluster?)",
                agentrail_client::program_id(),
                redact_url(&self.settings.url)
            ),
        }
    }

    /// Reads and decodes a program account; `what` names it in errors.
    pub fn account<T: agentrail_client::accounts::ProgramAccount>(&self, key: &Pubkey, what: &str) -> Result<T> {
        let Some(acc) = self.raw(key)? else {
            self.ensure_program()?;
            bail!("no {what} at {key}");
        };
        if acc.owner != agentrail_client::program_id() {
            bail!("{key} is not an Agentrail account (owner {})", acc.owner);
        }
        agentrail_client::accounts::decode(&acc.data).map_err(|e| anyhow!("{key} is not a {what}: {e}"))
    }

    /// Every program account of type `T` whose bytes match `filters` (offset, bytes).
    pub fn program_accounts<T: agentrail_client::accounts::ProgramAccount + Discriminator>(
        &self,
        filters: &[(usize, Vec<u8>)],
    ) -> Result<Vec<(Pubkey, T)>> {
        let mut f = vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, T::DISCRIMINATOR.to_vec()))];
        f.extend(filters.iter().map(|(o, b)| RpcFilterType::Memcmp(Memcmp::new_raw_bytes(*o, b.clone()))));
        let config = RpcProgramAccountsConfig {
            filters: Some(f),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        #[allow(deprecated)]
        let accounts = self
            .rpc
            .get_program_accounts_with_config(&agentrail_client::program_id(), config)
            .map_err(|e| rpc_error(e, &self.settings.url))?;
        Ok(accounts
            .into_iter()
            .filter_map(|(k, a)| agentrail_client::accounts::decode(&a.data).ok().map(|t| (k, t)))
            .collect())
    }

    /// The cluster's clock.
    pub fn now(&self) -> Result<i64> {
        let acc = self.raw(&sysvar::clock::ID)?.context("the cluster has no clock sysvar")?;
        let clock: Clock = bincode_clock(&acc.data)?;
        Ok(clock.unix_timestamp)
    }

    /// Signs with the keypair and `extra`, then sends and confirms, or with `--dry-run`
    /// simulates and reports compute units and fee. Prints the outcome.
    pub fn send(
        &self,
        action: &str,
        ixs: &[Instruction],
        extra: &[&Keypair],
        summary: &[(&str, String)],
    ) -> Result<()> {
        let payer = self.signer()?;
        let url = &self.settings.url;
        let blockhash = self.rpc.get_latest_blockhash().map_err(|e| rpc_error(e, url))?;
        let mut signers: Vec<&Keypair> = vec![payer];
        signers.extend(extra.iter().copied().filter(|k| k.pubkey() != payer.pubkey()));
        let tx = Transaction::new_signed_with_payer(ixs, Some(&payer.pubkey()), &signers, blockhash);
        if self.dry_run {
            let sim = self.rpc.simulate_transaction(&tx).map_err(|e| rpc_error(e, url))?.value;
            let fee = self.rpc.get_fee_for_message(&tx.message).map_err(|e| rpc_error(e, url))?;
            let error = sim.err.map(|e| describe(&e.into()));
            if self.json {
                crate::output::print_json(&json!({
                    "action": action, "dry_run": true, "ok": error.is_none(), "error": error,
                    "compute_units": sim.units_consumed, "fee_lamports": fee, "logs": sim.logs,
                }));
            } else {
                println!(
                    "{action} (dry run): {}",
                    error.as_deref().map_or("would succeed".into(), |e| format!("would fail: {e}"))
                );
                println!("compute units: {}", sim.units_consumed.map_or("unknown".into(), |u| u.to_string()));
                println!("fee: {fee} lamports");
            }
            return match error {
                Some(e) => bail!("simulation failed: {e}"),
                None => Ok(()),
            };
        }
        let signature = self.rpc.send_and_confirm_transaction_with_spinner(&tx).map_err(|e| {
            // not the program's verdict: the transaction may have gone out and may still land,
            // so a blind retry could do it twice (a second job, a second agent)
            let ambiguous = e.get_transaction_error().is_none();
            let sig = tx.signatures[0];
            let err = rpc_error(e, url);
            if ambiguous {
                err.context(format!(
                    "{action}: the transaction {sig} may still land; check its outcome (e.g. `agentrail job show`, \
                     `agentrail agent list`) before retrying"
                ))
            } else {
                err
            }
        })?;
        if self.json {
            let mut out = json!({ "action": action, "signature": signature.to_string(), "cluster": redact_url(url) });
            for (k, v) in summary {
                out[*k] = json!(v);
            }
            crate::output::print_json(&out);
        } else {
            let mut pairs = vec![("signature", signature.to_string()), ("cluster", redact_url(url))];
            pairs.extend(summary.iter().map(|(k, v)| (*k, v.clone())));
            println!("{action}: confirmed\n{}", crate::output::fields(&pairs));
        }
        Ok(())
    }
}

/// Decodes the clock sysvar (five little-endian 8-byte fields).
fn bincode_clock(data: &[u8]) -> Result<Clock> {
    let field = |i: usize| -> Result<[u8; 8]> {
        data.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).context("clock sysvar is truncated")
    };
    Ok(Clock {
        slot: u64::from_le_bytes(field(0)?),
        epoch_start_timestamp: i64::from_le_bytes(field(1)?),
        epoch: u64::from_le_bytes(field(2)?),
        leader_schedule_epoch: u64::from_le_bytes(field(3)?),
        unix_timestamp: i64::from_le_bytes(field(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_program_refusals_by_type() {
        use solana_sdk::instruction::InstructionError;
        use solana_transaction_error::TransactionError;
        let refused = describe(&TransactionError::InstructionError(1, InstructionError::Custom(6025)));
        assert!(refused.starts_with("the program refused") && refused.contains("(6025)"), "{refused}");
        assert_eq!(
            describe(&TransactionError::InsufficientFundsForFee).split(':').next(),
            Some("the transaction failed")
        );
    }

    #[test]
    fn decodes_clock() {
        let mut data = Vec::new();
        for v in [5u64, 6, 7, 8, 1_795_305_600] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(bincode_clock(&data).unwrap().unix_timestamp, 1_795_305_600);
        assert!(bincode_clock(&data[..20]).is_err());
    }
}
