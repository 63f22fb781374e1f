//! Fees: releases leave the treasury's fee in the job's vault (no release writes a
//! protocol-wide account), and anyone sweeps earned fees to the treasury in batches. A sweep
//! moves exactly what was earned, only to the config's treasury, and never blocks a refund.

use agentrail::errors::AgentrailError;
use agentrail::instructions::{MAX_SWEEP_JOBS, UpdateConfigArgs};
use agentrail::state::{Agent, Job, JobStatus};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;
use crate::scenarios::escrow::{Fixture, SPECS, job_args};
use crate::tokens::*;

/// Creates, funds and completes another one-milestone job (paid on submission) of the
/// fixture's poster, agent and mint; returns its keys.
fn completed_job(f: &mut Fixture, nonce: u64, amount: u64) -> JobKeys {
    let poster = f.poster.insecure_clone();
    let keeper = f.keeper.insecure_clone();
    let args = job_args(nonce, &[(amount, false)], keeper.pubkey(), 0);
    f.env.send(&[escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, args)], &[&poster]).unwrap();
    let key = pda::job(&poster.pubkey(), nonce);
    let job: Job = f.env.fetch(&key);
    let keys = JobKeys::new(key, &job, &f.env.fetch::<Agent>(&f.agent));
    let authority = f.agent_authority.insecure_clone();
    crate::scenarios::escrow::accept(&mut f.env, &authority, &keys).unwrap();
    f.env.send(&[escrow::fund_job(&keys, job.total())], &[&poster]).unwrap();
    f.env.send(&[escrow::submit_milestone(&keeper.pubkey(), &keys, 0, [1; 32])], &[&keeper]).unwrap();
    assert_eq!(f.env.fetch::<Job>(&key).status, JobStatus::Completed);
    keys
}

/// Checks one job's books and its vault: balanced, and the vault holds exactly the unsettled
/// milestones and the unswept fees (the treasury is shared by every job, so the fixture's
/// per-job treasury check does not apply once other jobs are swept).
#[track_caller]
fn assert_books(f: &mut Fixture, keys: &JobKeys) {
    let job: Job = f.env.fetch(&keys.job);
    assert!(job.balanced(), "books out of balance: {job:?}");
    assert_eq!(Some(f.env.balance(&keys.vault)), job.vault_owes(), "the vault holds what the job owes");
}

/// The sweep instruction for `jobs` in the fixture's mint, to the treasury `treasury`.
fn sweep(f: &Fixture, treasury: &Pubkey, jobs: &[Pubkey]) -> solana_sdk::instruction::Instruction {
    escrow::sweep_fees(treasury, &f.mint, &TOKEN, jobs)
}

/// Fees stay in each job's vault until anyone sweeps them, many jobs per transaction: the
/// treasury receives exactly what the jobs earned, each job's books record it, a job in the
/// batch twice is swept once, a live job can be swept and earn more, the pause does not stop
/// a sweep, and a batch with nothing left is refused by name.
pub fn fees_swept_in_batches_by_anyone(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let treasury = f.env.treasury.pubkey();
    let amounts = [10_000_000u64, 20_000_000, 30_000_000];
    let jobs: Vec<JobKeys> =
        amounts.iter().enumerate().map(|(n, a)| completed_job(&mut f, 20 + n as u64, *a)).collect();
    for (keys, amount) in jobs.iter().zip(amounts) {
        let job: Job = f.env.fetch(&keys.job);
        assert_eq!((job.fees_earned, job.fees_swept), (fee(amount), 0));
        assert_eq!(f.env.balance(&keys.vault), fee(amount), "the fee waits in the job's vault");
    }
    assert_eq!(f.env.balance(&f.treasury_token), 0, "no release wrote the treasury");

    // the live fixture job earns a fee too; it is swept with the others
    f.submit(0).unwrap();
    let mut batch: Vec<Pubkey> = jobs.iter().map(|k| k.job).collect();
    batch.push(f.keys.job);
    batch.push(jobs[0].job); // a duplicate is swept once
    f.pause(true);
    f.env.send(&[sweep(&f, &treasury, &batch)], &[]).unwrap();
    f.pause(false);
    let swept: u64 = amounts.iter().map(|a| fee(*a)).sum::<u64>() + fee(SPECS[0].0);
    assert_eq!(f.env.balance(&f.treasury_token), swept, "exactly the earned fees");
    for keys in jobs.iter().chain([&f.keys.clone()]) {
        let job: Job = f.env.fetch(&keys.job);
        assert_eq!(job.fees_swept, job.fees_earned);
        assert_books(&mut f, keys);
    }
    assert_code(f.env.send(&[sweep(&f, &treasury, &batch)], &[]), AgentrailError::NothingToSweep);

    // the live job earns more after its sweep; the next sweep takes only the new fee
    f.submit(1).unwrap();
    f.approve(1).unwrap();
    f.sweep().unwrap();
    assert_eq!(f.env.balance(&f.treasury_token), swept + fee(SPECS[1].0));
    let keys = f.keys.clone();
    assert_books(&mut f, &keys);

    // closing: refused while fees wait in the vault, fine once swept
    let poster = f.poster.insecure_clone();
    let job = completed_job(&mut f, 30, 40_000_000);
    assert_code(f.env.send(&[escrow::close_job(&job)], &[&poster]), AgentrailError::FeesNotSwept);
    f.env.send(&[sweep(&f, &treasury, &[job.job]), escrow::close_job(&job)], &[&poster]).unwrap();
    assert!(!f.env.exists(&job.vault));
}

/// A sweep cannot be redirected or made to take anything else: the destination is the
/// config treasury's associated token account, each vault must be its job's PDA (not another
/// job's, not a token account someone made for the job's address), every job must be a job in
/// the sweep's mint, writable, and the batch well-formed and bounded.
pub fn fees_sweep_cannot_be_redirected(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    let treasury = f.env.treasury.pubkey();
    let job = f.keys.job;
    let other = completed_job(&mut f, 20, 10_000_000);

    // another owner's associated account, or the treasury's non-associated one
    let stranger = f.env.funded();
    f.env.token_account(&stranger.pubkey(), &f.mint, &TOKEN);
    assert_code(f.env.send(&[sweep(&f, &stranger.pubkey(), &[job])], &[]), ErrorCode::ConstraintTokenOwner);
    let side = f.env.other_token_account(&treasury, &f.mint, &TOKEN);
    let mut to_side = sweep(&f, &treasury, &[job]);
    to_side.accounts[2].pubkey = side;
    assert_code(f.env.send(&[to_side], &[]), ErrorCode::ConstraintAssociated);

    // the wrong vault: another job's, or a token account made for this job's address
    let with_vault = |f: &Fixture, vault: Pubkey| {
        let mut ix = sweep(f, &treasury, &[job]);
        ix.accounts[5].pubkey = vault;
        ix
    };
    let fake = f.env.other_token_account(&job, &f.mint, &TOKEN);
    f.env.mint_to(&f.mint, &TOKEN, &fake, 1_000);
    assert_code(f.env.send(&[with_vault(&f, other.vault)], &[]), AgentrailError::WrongVault);
    assert_code(f.env.send(&[with_vault(&f, fake)], &[]), AgentrailError::WrongVault);

    // not a job, a job in another mint, a read-only job, a malformed or oversized batch
    let not_job = sweep(&f, &treasury, &[f.agent]);
    assert_code(f.env.send(&[not_job], &[]), ErrorCode::AccountDiscriminatorMismatch);
    let other_mint = f.env.create_mint(TOKEN, None);
    let poster = f.poster.insecure_clone();
    let args = job_args(40, &[(1_000, false)], f.keeper.pubkey(), 0);
    f.env.send(&[escrow::create_job(&poster.pubkey(), &f.agent, 1, &other_mint, &TOKEN, args)], &[&poster]).unwrap();
    let foreign = pda::job(&poster.pubkey(), 40);
    assert_code(f.env.send(&[sweep(&f, &treasury, &[job, foreign])], &[]), AgentrailError::InvalidSweepBatch);
    let mut read_only = sweep(&f, &treasury, &[job]);
    read_only.accounts[4].is_writable = false;
    assert_code(f.env.send(&[read_only], &[]), AgentrailError::InvalidSweepBatch);
    let mut odd = sweep(&f, &treasury, &[job]);
    odd.accounts.pop();
    assert_code(f.env.send(&[odd], &[]), AgentrailError::InvalidSweepBatch);
    assert_code(f.env.send(&[sweep(&f, &treasury, &[])], &[]), AgentrailError::InvalidSweepBatch);
    let too_many = vec![job; MAX_SWEEP_JOBS + 1];
    assert_code(f.env.send(&[sweep(&f, &treasury, &too_many)], &[]), AgentrailError::InvalidSweepBatch);

    // nothing moved; a correct sweep still works, and the fake account's tokens stay there
    assert_eq!(f.env.balance(&f.treasury_token), 0);
    f.env.send(&[sweep(&f, &treasury, &[job, other.job])], &[]).unwrap();
    assert_eq!(f.env.balance(&f.treasury_token), fee(SPECS[0].0) + fee(10_000_000));
    assert_eq!(f.env.balance(&fake), 1_000);
    let keys = f.keys.clone();
    assert_books(&mut f, &keys);
    assert_books(&mut f, &other);
}

/// Fees go to the treasury in force when they are swept: after the admin moves the treasury,
/// a sweep pays the new one and refuses the old one's account. Refunds never wait for a sweep.
pub fn fees_follow_the_treasury(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    f.submit(0).unwrap();
    let old = f.env.treasury.pubkey();
    let new = f.env.funded().pubkey();
    let new_token = f.env.token_account(&new, &f.mint, &TOKEN);
    let admin = f.env.admin.pubkey();
    let move_treasury = ix::update_config(&admin, UpdateConfigArgs { treasury: Some(new), ..Default::default() });
    f.env.send(&[move_treasury], &[]).unwrap();
    assert_code(f.env.send(&[sweep(&f, &old, &[f.keys.job])], &[]), ErrorCode::ConstraintTokenOwner);
    // the rest of the job is refunded with the fee still unswept: nothing waits on the treasury
    f.env.chain.set_time(T0 + DAY + 1);
    f.refund().unwrap();
    assert_eq!(f.env.balance(&f.keys.vault), fee(SPECS[0].0), "only the earned fee stays");
    f.env.send(&[sweep(&f, &new, &[f.keys.job])], &[]).unwrap();
    assert_eq!(f.env.balance(&new_token), fee(SPECS[0].0));
    assert_eq!(f.env.balance(&f.treasury_token), 0);
    let job = f.job();
    assert_eq!((job.fees_swept, job.status), (fee(SPECS[0].0), JobStatus::Expired));
}
