//! Agent consent: a job binds its agent only once the agent accepts its terms, the agent can
//! report its own work, and no keeper (the poster's own included) can take pay for work that
//! was reported. The attacks of the program audit's H-1, M-2 and L-3, each shown to fail.

use agentrail::errors::AgentrailError;
use agentrail::state::{Agent, Job, JobStatus, MilestoneState, TrackRecord};
use agentrail_client::consent::Acceptance;
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::prelude::Pubkey;
use ed25519_dalek::SigningKey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;
use crate::scenarios::escrow::{Fixture, POSTER_TOKENS, REVIEW, SPECS, STEP_TIMEOUT, accept, job_args};
use crate::tokens::*;

/// The ed25519 key of `key` (a Solana keypair), to sign acceptances off-chain.
fn dalek(key: &Keypair) -> SigningKey {
    SigningKey::from_bytes(key.secret_bytes())
}

/// Creates and funds another job of the fixture's poster for its agent and mint, named by
/// `nonce`, with `keeper` as its keeper; returns its keys. Not accepted.
fn posted_job(f: &mut Fixture, nonce: u64, list: &[(u64, bool)], keeper: Pubkey) -> JobKeys {
    let poster = f.poster.insecure_clone();
    let args = job_args(nonce, list, keeper, 0);
    f.env.send(&[escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, args)], &[&poster]).unwrap();
    let key = pda::job(&poster.pubkey(), nonce);
    let job: Job = f.env.fetch(&key);
    let keys = JobKeys::new(key, &job, &f.env.fetch::<Agent>(&f.agent));
    f.env.send(&[escrow::fund_job(&keys, job.total())], &[&poster]).unwrap();
    keys
}

/// The agent's acceptance: who may sign it, how (a transaction signature, or an ed25519
/// instruction a keeper carries with the first step), and that it pins the job's terms.
pub fn consent_acceptance_is_the_agents(chain: Box<dyn Chain>) {
    let mut f = Fixture::unaccepted(chain, TOKEN, &SPECS, 0, None);
    let digest = f.job().consent_digest(&f.keys.job);
    // before acceptance the keeper cannot start, and nothing is submitted
    assert_code(f.start(0), AgentrailError::NotAccepted);
    f.fund().unwrap();
    assert_code(f.start(0), AgentrailError::NotAccepted);
    assert_code(f.submit(0), AgentrailError::NotAccepted);
    assert_eq!(f.record().0, 0, "a funded job the agent never accepted is not in its record");
    // only the agent's keys sign it: not the poster, the keeper, the payout wallet or a stranger
    let (poster, keeper, stranger) = (f.poster.insecure_clone(), f.keeper.insecure_clone(), f.env.funded());
    for who in [&poster, &keeper, &stranger] {
        assert_code(accept(&mut f.env, who, &f.keys), AgentrailError::NotTheAgent);
    }
    let authority = f.agent_authority.insecure_clone();
    // named but not signing, with no ed25519 proof: unsigned
    let mut unsigned = escrow::accept_job(&authority.pubkey(), &f.keys, digest);
    unsigned.accounts[0].is_signer = false;
    assert_code(f.env.send(&[unsigned.clone()], &[]), AgentrailError::AcceptanceUnsigned);
    // an ed25519 proof by another key, or over other bytes, proves nothing
    let forged = Acceptance::sign(f.keys.job, &f.job(), &dalek(&stranger));
    let [by_stranger, _] = forged.instructions(&f.keys);
    assert_code(f.env.send(&[by_stranger, unsigned.clone()], &[]), AgentrailError::AcceptanceUnsigned);
    let mut other_terms = f.job();
    other_terms.deadline += 1;
    let [over_other, _] = Acceptance::sign(f.keys.job, &other_terms, &dalek(&authority)).instructions(&f.keys);
    assert_code(f.env.send(&[over_other, unsigned], &[]), AgentrailError::AcceptanceUnsigned);
    // a digest of other terms (or of another job with the same terms) is refused by name
    let mismatch = escrow::accept_job(&authority.pubkey(), &f.keys, other_terms.consent_digest(&f.keys.job));
    assert_code(f.env.send(&[mismatch], &[&authority]), AgentrailError::AcceptanceMismatch);
    let (mint, poster_token, total) = (f.mint, f.keys.poster_token, f.total);
    f.env.mint_to(&mint, &TOKEN, &poster_token, total);
    let twin = posted_job(&mut f, 8, &SPECS, keeper.pubkey());
    let [proof, carried] = Acceptance::sign(f.keys.job, &f.job(), &dalek(&authority)).instructions(&twin);
    assert_code(f.env.send(&[proof, carried], &[]), AgentrailError::AcceptanceMismatch);
    // the track record and agent must be the job's
    let mut wrong = f.keys.clone();
    wrong.track_record = twin.vault;
    let ix = escrow::accept_job(&authority.pubkey(), &wrong, digest);
    assert_fails(f.env.send(&[ix], &[&authority]));
    // a signing key the agent declared, relayed by the keeper in the first step's transaction:
    // the agent signs nothing on-chain and pays nothing
    let signing = f.env.next_key();
    let set = ix::set_signing_key(&authority.pubkey(), &f.agent, Some(&signing.pubkey()));
    f.env.send(&[set], &[&authority, &signing]).unwrap();
    let acceptance = Acceptance::sign(f.keys.job, &f.job(), &dalek(&signing));
    let [proof, carried] = acceptance.instructions(&f.keys);
    let start = escrow::start_milestone(&keeper.pubkey(), &f.keys.job, 0);
    let lamports = f.env.lamports(&signing.pubkey());
    f.env.send(&[proof.clone(), carried.clone(), start], &[&keeper]).unwrap();
    assert_eq!(f.env.lamports(&signing.pubkey()), lamports, "the agent spent nothing");
    let job = f.job();
    assert_eq!((job.accepted_at, job.milestones()[0].started_at), (T0, T0));
    assert_eq!(f.record().0, 1, "counted once accepted and funded");
    // once
    assert_code(f.env.send(&[proof, carried], &[]), AgentrailError::AlreadyAccepted);
    assert_code(accept(&mut f.env, &authority, &f.keys), AgentrailError::AlreadyAccepted);
    assert_eq!(f.record().0, 1);
    // no acceptance after the deadline, or by an agent that may not be paid
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(accept(&mut f.env, &authority, &twin), AgentrailError::DeadlinePassed);
    f.env.chain.set_time(T0);
    let pause = ix::set_agent_status(&authority.pubkey(), &f.agent, agentrail::state::AgentStatus::Paused);
    f.env.send(&[pause], &[&authority]).unwrap();
    assert_code(accept(&mut f.env, &authority, &twin), AgentrailError::AgentNotActive);
}

/// Audit H-1: a poster that names its own key as keeper has the agent work, then fails the
/// milestone to take everything back. Now the agent must accept first; once it has, failing
/// waits for the step's time to run out, and the agent reports its own work before that: the
/// poster gains nothing it could not get by rejecting, and here (no approval) nothing at all.
pub fn consent_poster_as_keeper_gains_nothing(chain: Box<dyn Chain>) {
    let mut f = Fixture::unaccepted(chain, TOKEN, &SPECS, 0, None);
    let poster = f.poster.insecure_clone();
    let keys = posted_job(&mut f, 9, &[(100_000_000, false)], poster.pubkey());
    let start = |f: &mut Fixture| f.env.send(&[escrow::start_milestone(&poster.pubkey(), &keys.job, 0)], &[&poster]);
    let fail =
        |f: &mut Fixture| f.env.send(&[escrow::fail_milestone(&poster.pubkey(), &keys, 0, true, [0; 32])], &[&poster]);
    // the attack as the audit wrote it: start, (the agent works), fail
    assert_code(start(&mut f), AgentrailError::NotAccepted);
    assert_code(fail(&mut f), AgentrailError::NotStarted);
    // the agent accepted (say its policy let any keeper in): the shield is real now
    let authority = f.agent_authority.insecure_clone();
    accept(&mut f.env, &authority, &keys).unwrap();
    start(&mut f).unwrap();
    f.env.chain.set_time(T0 + STEP_TIMEOUT - 1);
    assert_code(fail(&mut f), AgentrailError::StepInProgress);
    // the poster-keeper withholds the answer; the agent submits it itself
    let payout_before = f.env.balance(&keys.payee_token);
    let own = escrow::submit_milestone(&authority.pubkey(), &keys, 0, [0xa9; 32]);
    f.env.send(&[own], &[&authority]).unwrap();
    assert_eq!(f.env.balance(&keys.payee_token), payout_before + 100_000_000, "paid on its own submission");
    let job: Job = f.env.fetch(&keys.job);
    assert_eq!((job.status, job.milestones()[0].result_hash), (JobStatus::Completed, [0xa9; 32]));
    f.env.chain.set_time(T0 + STEP_TIMEOUT);
    assert_code(fail(&mut f), AgentrailError::InvalidJobStatus);
    let r: TrackRecord = f.env.fetch(&keys.track_record);
    assert_eq!((r.jobs, r.released, r.failed), (1, 1, 0));
}

/// The agent reports its own work under the rules a keeper's submission follows: its
/// authority or signing key, in order, approval milestones waiting for the poster's review
/// (and rejectable by it), nobody else.
pub fn consent_agent_submits_its_own_work(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let authority = f.agent_authority.insecure_clone();
    let submit = |f: &mut Fixture, who: &Keypair, i: u8| {
        f.env.send(&[escrow::submit_milestone(&who.pubkey(), &f.keys, i, [i + 7; 32])], &[who])
    };
    // the poster is not the agent
    let poster = f.poster.insecure_clone();
    assert_code(submit(&mut f, &poster, 0), AgentrailError::NotKeeperOrAgent);
    assert_code(submit(&mut f, &authority, 1), AgentrailError::MilestoneOutOfOrder);
    submit(&mut f, &authority, 0).unwrap();
    assert_eq!(f.balances().1, SPECS[0].0, "released at once");
    // the declared signing key submits too; an approval milestone then waits for the poster
    let signing = f.env.next_key();
    f.env
        .send(&[ix::set_signing_key(&authority.pubkey(), &f.agent, Some(&signing.pubkey()))], &[&authority, &signing])
        .unwrap();
    f.env.chain.set_time(T0 + 10);
    submit(&mut f, &signing, 1).unwrap();
    assert_eq!(f.job().milestones()[1].state, MilestoneState::Submitted);
    assert_code(submit(&mut f, &signing, 1), AgentrailError::MilestoneNotPending);
    // the poster's rejection applies as to a keeper's submission (no arbiter: refunded)
    f.reject(1, false).unwrap();
    assert_eq!(f.job().milestones()[1].state, MilestoneState::Refunded);
    // a key the agent no longer declares is no longer the agent
    f.env.send(&[ix::set_signing_key(&authority.pubkey(), &f.agent, None)], &[&authority]).unwrap();
    assert_code(submit(&mut f, &signing, 2), AgentrailError::NotKeeperOrAgent);
    f.env.chain.set_time(T0 + 20);
    submit(&mut f, &authority, 2).unwrap();
    f.env.chain.set_time(T0 + 20 + REVIEW);
    f.release(2).unwrap();
    f.assert_conserved();
    assert_eq!(f.record(), (1, 2, 1, 0, 0, u128::from(SPECS[0].0 + SPECS[2].0)));
}

/// Audit M-2: failures and refunds written into any agent's record for a fraction of a cent.
/// A job its agent never accepted writes nothing: not its funding, its failures, its
/// cancellation or its refund after the deadline.
pub fn consent_record_counts_only_accepted_jobs(chain: Box<dyn Chain>) {
    let mut f = Fixture::unaccepted(chain, TOKEN, &SPECS, 0, None);
    let attacker = f.poster.insecure_clone();
    let keys = posted_job(&mut f, 11, &[(1, false); 16], attacker.pubkey());
    for i in 0..16 {
        let ix = escrow::fail_milestone(&attacker.pubkey(), &keys, i, false, [0; 32]);
        assert_fails(f.env.send(&[ix], &[&attacker]));
        let start = escrow::start_milestone(&attacker.pubkey(), &keys.job, i);
        assert_fails(f.env.send(&[start], &[&attacker]));
    }
    let cancelled = posted_job(&mut f, 12, &[(1, false); 4], attacker.pubkey());
    f.env.send(&[escrow::cancel_job(&cancelled)], &[&attacker]).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    f.env.send(&[escrow::refund_expired(&keys)], &[]).unwrap();
    let r: TrackRecord = f.env.fetch(&keys.track_record);
    assert_eq!((r.jobs, r.released, r.refunded, r.failed, r.rejected), (0, 0, 0, 0, 0), "nothing written");
    let other: TrackRecord = f.env.fetch(&cancelled.track_record);
    assert_eq!((other.jobs, other.refunded), (0, 0));
    assert_eq!(f.env.balance(&f.keys.poster_token), POSTER_TOKENS, "every token came back");
}
