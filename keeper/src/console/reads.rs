//! What the console's pages read from the chain: mints' decimals, the program's config, the
//! agents and certifications jobs name (each account once, batched), and a job's conditions.

use std::collections::HashMap;

use agentrail::state::{Agent, Certification, Config as ProgramConfig, Job};
use agentrail_client::lifecycle::Conditions;
use agentrail_client::pda;
use anyhow::{Context, Result};
use solana_sdk::pubkey::Pubkey;

use crate::service::Keeper;

/// The decimals of `mints`, each read once (0, amounts in base units, for an account that is not
/// a mint; a failed read fails the page rather than show amounts at the wrong scale).
pub(super) async fn decimals(k: &Keeper, mints: &[Pubkey]) -> Result<HashMap<Pubkey, u8>> {
    let mut unique = mints.to_vec();
    unique.sort();
    unique.dedup();
    let accounts = k.chain.accounts(&unique).await?;
    let decimals = |a: Option<solana_sdk::account::Account>| {
        a.and_then(|a| agentrail_client::accounts::mint_decimals(&a.owner, &a.data).ok()).unwrap_or(0)
    };
    Ok(unique.into_iter().zip(accounts.into_iter().map(decimals)).collect())
}

/// The program's config.
pub(super) async fn program_config(k: &Keeper) -> Result<ProgramConfig> {
    k.chain.account(&pda::config()).await?.context("the program's config does not exist")
}

/// The agents and pinned certifications of `jobs`, each account read once, 100 to a request:
/// per job, its agent (`None` when there is no agent account) and the certification it pinned
/// (`None` when it demands none, or there is none).
pub(super) async fn parties(k: &Keeper, jobs: &[&Job]) -> Result<Vec<Option<(Agent, Option<Certification>)>>> {
    let pinned = |job: &Job| (job.min_stage > 0).then(|| pda::certification(&job.agent, job.agent_version_seq));
    let mut wanted: Vec<Pubkey> = jobs.iter().flat_map(|j| std::iter::once(j.agent).chain(pinned(j))).collect();
    wanted.sort();
    wanted.dedup();
    let read: HashMap<Pubkey, Vec<u8>> =
        wanted.iter().zip(k.chain.accounts(&wanted).await?).filter_map(|(key, a)| a.map(|a| (*key, a.data))).collect();
    fn decode<T: agentrail_client::accounts::ProgramAccount>(
        read: &HashMap<Pubkey, Vec<u8>>,
        key: &Pubkey,
    ) -> Option<T> {
        read.get(key).and_then(|d| agentrail_client::accounts::decode(d).ok())
    }
    Ok(jobs
        .iter()
        .map(|j| Some((decode::<Agent>(&read, &j.agent)?, pinned(j).and_then(|c| decode(&read, &c)))))
        .collect())
}

/// What the lifecycle reads besides the job: its agent, pinned certification and the config.
pub(super) async fn conditions(k: &Keeper, job: &Job, now: i64) -> Result<(Agent, Conditions)> {
    let config = program_config(k).await?;
    let party = parties(k, &[job]).await?.pop().flatten();
    let (agent, cert) = party.with_context(|| format!("agent {} does not exist", job.agent))?;
    let c = Conditions::read(job, &agent, cert.as_ref(), &config, now);
    Ok((agent, c))
}
