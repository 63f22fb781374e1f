//! Disputes: a job that names an arbiter turns a rejection into a dispute the agent may
//! concede, the arbiter divides within its window, or the job's default rule decides after it;
//! deadlines and refunds never strand one. And the attacks on each.

use agentrail::errors::AgentrailError;
use agentrail::state::{AgentStatus, JobStatus, MAX_DISPUTE_WINDOW, MilestoneState, TrackRecord};
use agentrail_client::escrow::{self, JobKeys};
use agentrail_client::{instructions as ix, pda};
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Keypair;
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;
use crate::scenarios::escrow::{Fixture, POSTER_TOKENS, REVIEW, job_args};
use crate::tokens::TOKEN;

/// Two approval milestones.
const SPECS: [(u64, bool); 2] = [(100_000_000, true), (200_000_000, true)];
/// The arbiter's window: two hours from the rejection.
const WINDOW: i64 = 2 * 3_600;
/// When the fixtures' poster rejects milestone 0 (submitted at `T0`).
const REJECTED_AT: i64 = T0 + 10;

/// What `bps` basis points of `x` are, rounded down as the program does.
fn share(x: u64, bps: u16) -> u64 {
    (u128::from(x) * u128::from(bps) / 10_000) as u64
}

impl Fixture {
    fn arbiter_key(&self) -> Keypair {
        self.arbiter.as_ref().expect("the job names an arbiter").insecure_clone()
    }

    /// `signer` concedes disputed milestone `index` as the agent's authority.
    fn concede_as(&mut self, signer: &Keypair, index: u8) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::concede_dispute(&signer.pubkey(), &self.keys, index);
        self.env.send(&[ix], &[signer])
    }

    /// The agent's authority concedes disputed milestone `index`.
    fn concede(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        let authority = self.agent_authority.insecure_clone();
        self.concede_as(&authority, index)
    }

    /// `signer` decides disputed milestone `index` with `bps` to the agent.
    fn decide_as(&mut self, signer: &Keypair, index: u8, bps: u16) -> Result<crate::Sent, crate::Failure> {
        let ix = escrow::decide_dispute(&signer.pubkey(), &self.keys, index, bps);
        self.env.send(&[ix], &[signer])
    }

    /// The arbiter decides disputed milestone `index` with `bps` to the agent.
    fn decide(&mut self, index: u8, bps: u16) -> Result<crate::Sent, crate::Failure> {
        let arbiter = self.arbiter_key();
        self.decide_as(&arbiter, index, bps)
    }

    /// Anyone applies the default rule to disputed milestone `index`.
    fn settle_by_default(&mut self, index: u8) -> Result<crate::Sent, crate::Failure> {
        self.env.send(&[escrow::apply_dispute_default(&self.keys, index)], &[])
    }

    /// The dispute counters of the agent's track record:
    /// (rejected, disputed, conceded, for agent, for poster, split, by default).
    fn dispute_record(&mut self) -> (u64, u64, u64, u64, u64, u64, u64) {
        let r: TrackRecord = self.env.fetch(&self.keys.track_record);
        (
            r.rejected,
            r.disputed,
            r.disputes_conceded,
            r.disputes_for_agent,
            r.disputes_for_poster,
            r.disputes_split,
            r.disputes_defaulted,
        )
    }

    /// Milestone 0 submitted at `T0` and rejected at [`REJECTED_AT`]: in dispute.
    fn disputed(chain: Box<dyn Chain>, list: &[(u64, bool)], default_bps: u16) -> Fixture {
        let mut f = Fixture::arbitrated(chain, list, WINDOW, default_bps);
        f.submit(0).unwrap();
        f.env.chain.set_time(REJECTED_AT);
        f.reject(0, false).unwrap();
        f
    }
}

/// A rejection with an arbiter moves nothing and holds the job; only the agent's authority can
/// concede, once, and the poster then has its money back and the job goes on.
pub fn dispute_the_agent_concedes(chain: Box<dyn Chain>) {
    let mut f = Fixture::arbitrated(chain, &SPECS, WINDOW, 5_000);
    f.submit(0).unwrap();
    f.env.chain.set_time(REJECTED_AT);
    let before = f.balances();
    f.reject(0, false).unwrap();
    let m = f.job().milestones()[0];
    assert_eq!((m.state, m.disputed_at), (MilestoneState::Disputed, REJECTED_AT));
    assert_eq!(f.balances(), before, "a rejection with an arbiter moves nothing");
    assert_code(f.reject(0, false), AgentrailError::MilestoneNotSubmitted);
    assert_code(f.approve(0), AgentrailError::MilestoneNotSubmitted);
    assert_code(f.submit(1), AgentrailError::MilestoneOutOfOrder);
    assert_code(f.cancel(), AgentrailError::AlreadyStarted);
    let (poster, keeper, arbiter) = (f.poster.insecure_clone(), f.keeper.insecure_clone(), f.arbiter_key());
    for who in [&poster, &keeper, &arbiter] {
        assert_code(f.concede_as(who, 0), AgentrailError::Unauthorized);
    }
    // the agent does not pick where the poster's money goes
    let side = f.env.other_token_account(&poster.pubkey(), &f.mint, &TOKEN);
    let authority = f.agent_authority.insecure_clone();
    let to_side = escrow::concede_dispute(&authority.pubkey(), &JobKeys { poster_token: side, ..f.keys.clone() }, 0);
    assert_code(f.env.send(&[to_side], &[&authority]), AgentrailError::NotCanonicalAccount);
    assert_code(f.concede(1), AgentrailError::MilestoneNotDisputed);
    f.concede(0).unwrap();
    assert_eq!(f.balances().0, before.0 + gross(SPECS[0].0), "the poster has the milestone back");
    assert_eq!(f.job().milestones()[0].state, MilestoneState::Refunded);
    assert_code(f.concede(0), AgentrailError::MilestoneNotDisputed);
    assert_code(f.decide(0, 10_000), AgentrailError::MilestoneNotDisputed);
    assert_eq!(f.dispute_record(), (1, 1, 1, 0, 0, 0, 0));
    f.assert_conserved();
    f.submit(1).unwrap();
}

/// Only the arbiter divides, within its window, at most 100%, while releases are live; the
/// fee follows the agent's share and the poster receives the rest, to the token unit.
pub fn dispute_the_arbiter_splits(chain: Box<dyn Chain>) {
    let mut f = Fixture::disputed(chain, &SPECS, 0);
    let before = f.balances();
    let (poster, keeper, authority) =
        (f.poster.insecure_clone(), f.keeper.insecure_clone(), f.agent_authority.insecure_clone());
    let stranger = f.env.funded();
    for who in [&poster, &keeper, &authority, &stranger] {
        assert_code(f.decide_as(who, 0, 6_000), AgentrailError::Unauthorized);
    }
    assert_code(f.decide(0, 10_001), AgentrailError::InvalidShare);
    assert_code(f.decide(1, 6_000), AgentrailError::MilestoneNotDisputed);
    assert_code(f.decide(2, 6_000), AgentrailError::InvalidMilestone);
    assert_code(f.settle_by_default(0), AgentrailError::DisputeWindowOpen);
    // the poster's share goes only to the poster's associated token account
    let side = f.env.other_token_account(&poster.pubkey(), &f.mint, &TOKEN);
    let arbiter = f.arbiter_key();
    let to_side =
        escrow::decide_dispute(&arbiter.pubkey(), &JobKeys { poster_token: side, ..f.keys.clone() }, 0, 6_000);
    assert_code(f.env.send(&[to_side], &[&arbiter]), ErrorCode::ConstraintAssociated);
    // paying the agent any share is a release: not while paused; giving it nothing is not
    f.pause(true);
    assert_code(f.decide(0, 6_000), AgentrailError::ProtocolPaused);
    f.pause(false);
    f.env.chain.set_time(REJECTED_AT + WINDOW - 1);
    f.decide(0, 6_000).unwrap();
    let (amount, fee) = (SPECS[0].0, gross(SPECS[0].0) - SPECS[0].0);
    let (to_agent, to_treasury) = (share(amount, 6_000), share(fee, 6_000));
    assert_eq!(to_agent, 60_000_000);
    let after = f.balances();
    assert_eq!(after.1, before.1 + to_agent);
    // the treasury's share is earned and stays in the vault until swept
    assert_eq!(after.2, before.2);
    assert_eq!(f.job().fees_earned, to_treasury);
    assert_eq!(after.0, before.0 + gross(amount) - to_agent - to_treasury);
    let m = f.job().milestones()[0];
    assert_eq!((m.state, m.agent_bps), (MilestoneState::Split, 6_000));
    assert_code(f.decide(0, 6_000), AgentrailError::MilestoneNotDisputed);
    assert_code(f.settle_by_default(0), AgentrailError::MilestoneNotDisputed);
    assert_eq!(f.dispute_record(), (1, 1, 0, 0, 0, 1, 0));
    let r: TrackRecord = f.env.fetch(&f.keys.track_record);
    assert_eq!((r.released, r.volume()), (0, u128::from(to_agent)), "the share counts in the volume");
    f.assert_conserved();
    f.submit(1).unwrap();
}

/// The window binds the arbiter: at its end the job's default rule decides, by anyone, even
/// long after the deadline; a default share for the agent needs releases live.
pub fn dispute_default_rule_after_silence(chain: Box<dyn Chain>) {
    let mut f = Fixture::disputed(chain, &[(100_000_000, true)], 2_500);
    f.env.chain.set_time(REJECTED_AT + WINDOW - 1);
    assert_code(f.settle_by_default(0), AgentrailError::DisputeWindowOpen);
    f.env.chain.set_time(REJECTED_AT + WINDOW);
    assert_code(f.decide(0, 10_000), AgentrailError::DisputeWindowClosed);
    f.env.chain.set_time(T0 + 30 * DAY);
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    f.pause(true);
    assert_code(f.settle_by_default(0), AgentrailError::ProtocolPaused);
    f.pause(false);
    let before = f.balances();
    f.settle_by_default(0).unwrap();
    assert_eq!(f.balances().1, before.1 + 25_000_000, "a quarter to the agent");
    let j = f.job();
    assert_eq!(
        (j.status, j.milestones()[0].state, j.milestones()[0].agent_bps),
        (JobStatus::Completed, MilestoneState::Split, 2_500)
    );
    assert_eq!(f.dispute_record(), (1, 1, 0, 0, 0, 1, 1));
    f.assert_conserved();
    let poster = f.poster.insecure_clone();
    f.sweep().unwrap();
    f.env.send(&[escrow::close_job(&f.keys)], &[&poster]).unwrap();
}

/// Disputes at the deadline: work submitted at the last allowed moment and rejected in the
/// last second of its review is still decided after the deadline; a refund after the deadline
/// returns the rest of the job and leaves the disputed milestone to its dispute.
pub fn dispute_at_the_deadline(chain: Box<dyn Chain>) {
    let mut f = Fixture::arbitrated(chain, &[(100_000_000, true), (50_000_000, false)], WINDOW, 0);
    f.env.chain.set_time(T0 + DAY - REVIEW);
    f.submit(0).unwrap();
    f.env.chain.set_time(T0 + DAY - 1);
    f.reject(0, false).unwrap();
    f.env.chain.set_time(T0 + DAY + 1);
    let before = f.balances();
    f.refund().unwrap();
    assert_eq!(f.balances().0, before.0 + gross(50_000_000), "only the undisputed milestone returns");
    let j = f.job();
    assert_eq!((j.status, j.milestones()[0].state), (JobStatus::Funded, MilestoneState::Disputed));
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    f.env.chain.set_time(T0 + DAY + 100);
    f.decide(0, 10_000).unwrap();
    assert_eq!(f.balances().1, before.1 + 100_000_000, "the arbiter paid the agent in full");
    let j = f.job();
    assert_eq!((j.status, j.milestones()[0].state), (JobStatus::Completed, MilestoneState::Released));
    assert_eq!(f.dispute_record(), (1, 1, 0, 1, 0, 0, 0));
    f.assert_conserved();
}

/// An agent that may no longer be paid (here paused by its owner) cannot be given a share by
/// the arbiter, and forfeits the default rule's share to the poster: the dispute still ends.
pub fn dispute_agent_may_no_longer_be_paid(chain: Box<dyn Chain>) {
    let mut f = Fixture::disputed(chain, &SPECS, 10_000);
    let authority = f.agent_authority.insecure_clone();
    let pause = ix::set_agent_status(&authority.pubkey(), &f.agent, AgentStatus::Paused);
    f.env.send(&[pause], &[&authority]).unwrap();
    assert_code(f.decide(0, 5_000), AgentrailError::AgentNotActive);
    f.env.chain.set_time(REJECTED_AT + WINDOW);
    let before = f.balances();
    f.settle_by_default(0).unwrap();
    let after = f.balances();
    assert_eq!((after.0, after.1), (before.0 + gross(SPECS[0].0), before.1), "forfeited to the poster");
    let m = f.job().milestones()[0];
    assert_eq!((m.state, m.agent_bps), (MilestoneState::Refunded, 0));
    assert_eq!(f.dispute_record(), (1, 1, 0, 0, 1, 0, 1));
    f.assert_conserved();
}

/// An open dispute's outcome stands through a revocation of the pinned certification: the
/// arbiter's share is paid.
pub fn dispute_decision_survives_a_revocation(chain: Box<dyn Chain>) {
    revoked_during_dispute(chain, false);
}

/// An open dispute's outcome stands through a revocation of the pinned certification: after
/// the window, the default rule's share is paid.
pub fn dispute_default_survives_a_revocation(chain: Box<dyn Chain>) {
    revoked_during_dispute(chain, true);
}

/// Milestone 0 of a certified job in dispute, the pinned certification revoked, then decided
/// by the arbiter (or, with `by_default`, by the default rule) with 60% to the agent.
fn revoked_during_dispute(chain: Box<dyn Chain>, by_default: bool) {
    let mut f = Fixture::created_with(chain, TOKEN, &SPECS, 1, Some((WINDOW, 6_000)));
    f.fund().unwrap();
    f.submit(0).unwrap();
    f.env.chain.set_time(REJECTED_AT);
    f.reject(0, false).unwrap();
    let certifier = f.env.certifier.insecure_clone();
    let cert = pda::certification(&f.agent, 1);
    f.env.send(&[ix::revoke_certification(&certifier.pubkey(), &cert, [4; 32])], &[&certifier]).unwrap();
    let payee_before = f.balances().1;
    if by_default {
        f.env.chain.set_time(REJECTED_AT + WINDOW);
        f.settle_by_default(0).unwrap();
    } else {
        f.decide(0, 6_000).unwrap();
    }
    assert_eq!(f.balances().1, payee_before + share(SPECS[0].0, 6_000));
    let m = f.job().milestones()[0];
    assert_eq!((m.state, m.agent_bps), (MilestoneState::Split, 6_000));
    f.assert_conserved();
}

/// With `cancel`, the rest of the job returns at once and the disputed milestone stays for its
/// dispute; the job ends when the dispute does.
pub fn dispute_reject_with_cancel(chain: Box<dyn Chain>) {
    let mut f =
        Fixture::arbitrated(chain, &[(100_000_000, true), (200_000_000, true), (300_000_000, false)], WINDOW, 0);
    f.submit(0).unwrap();
    let before = f.balances();
    f.reject(0, true).unwrap();
    assert_eq!(f.balances().0, before.0 + gross(200_000_000) + gross(300_000_000));
    let j = f.job();
    let states: Vec<_> = j.milestones().iter().map(|m| m.state).collect();
    assert_eq!(states, [MilestoneState::Disputed, MilestoneState::Refunded, MilestoneState::Refunded]);
    assert_eq!(j.status, JobStatus::Funded);
    let poster = f.poster.insecure_clone();
    assert_code(f.env.send(&[escrow::close_job(&f.keys)], &[&poster]), AgentrailError::InvalidJobStatus);
    f.decide(0, 10_000).unwrap();
    assert_eq!(f.job().status, JobStatus::Completed);
    let r: TrackRecord = f.env.fetch(&f.keys.track_record);
    assert_eq!((r.refunded, r.disputed, r.disputes_for_agent, r.volume()), (2, 1, 1, 100_000_000));
    f.assert_conserved();
}

/// `create_job` pins a sensible dispute setup: a third-party arbiter, a window between an
/// hour and 90 days, a default share of at most 100%, and nothing of it without an arbiter.
/// A job without an arbiter has nobody to decide: its rejections refund at once.
pub fn dispute_create_guards(chain: Box<dyn Chain>) {
    let mut f = Fixture::created(chain, TOKEN, &SPECS, 0);
    let poster = f.poster.insecure_clone();
    let arbiter = Pubkey::new_unique();
    let mut nonce = 100;
    let mut create = |f: &mut Fixture, edit: &dyn Fn(&mut agentrail::instructions::CreateJobArgs)| {
        nonce += 1;
        let mut args = job_args(nonce, &SPECS, f.keeper.pubkey(), 0);
        edit(&mut args);
        let ix = escrow::create_job(&poster.pubkey(), &f.agent, 1, &f.mint, &TOKEN, args);
        f.env.send(&[ix], &[&poster])
    };
    let with = |a: Option<Pubkey>, window: i64, bps: u16| {
        move |args: &mut agentrail::instructions::CreateJobArgs| {
            (args.arbiter, args.dispute_window, args.dispute_default_bps) = (a, window, bps)
        }
    };
    assert_code(create(&mut f, &with(Some(poster.pubkey()), WINDOW, 0)), AgentrailError::InvalidArbiter);
    assert_code(create(&mut f, &with(Some(Pubkey::default()), WINDOW, 0)), AgentrailError::InvalidArbiter);
    assert_code(create(&mut f, &with(Some(arbiter), 3_599, 0)), AgentrailError::InvalidDisputeWindow);
    assert_code(create(&mut f, &with(Some(arbiter), MAX_DISPUTE_WINDOW + 1, 0)), AgentrailError::InvalidDisputeWindow);
    assert_code(create(&mut f, &with(Some(arbiter), WINDOW, 10_001)), AgentrailError::InvalidShare);
    assert_code(create(&mut f, &with(None, WINDOW, 0)), AgentrailError::InvalidDisputeWindow);
    assert_code(create(&mut f, &with(None, 0, 1)), AgentrailError::InvalidShare);
    create(&mut f, &with(Some(arbiter), MAX_DISPUTE_WINDOW, 10_000)).unwrap();
    let pinned: agentrail::state::Job = f.env.fetch(&pda::job(&poster.pubkey(), nonce));
    assert_eq!(
        (pinned.arbiter(), pinned.dispute_window, pinned.dispute_default_bps),
        (Some(arbiter), MAX_DISPUTE_WINDOW, 10_000)
    );
    // the fixture's own job has no arbiter: a rejection refunds at once, nobody decides
    f.fund().unwrap();
    f.submit(0).unwrap();
    f.reject(0, false).unwrap();
    assert_eq!(f.job().milestones()[0].state, MilestoneState::Refunded);
    assert_eq!(f.balances().0, POSTER_TOKENS - f.total + gross(SPECS[0].0));
    let stranger = f.env.funded();
    f.submit(1).unwrap();
    assert_code(f.decide_as(&stranger, 1, 0), AgentrailError::Unauthorized);
    assert_code(f.settle_by_default(1), AgentrailError::MilestoneNotDisputed);
}

/// `owner` hands its classic SPL Token account `account` to `to` (SPL Token has no immutable
/// owner): the account stays at its address but is no longer `owner`'s.
fn reassign(f: &mut Fixture, account: &Pubkey, owner: &Keypair, to: &Pubkey) {
    use spl_token_interface::instruction::{AuthorityType, set_authority};
    let ix = set_authority(&TOKEN, account, Some(to), AuthorityType::AccountOwner, &owner.pubkey(), &[]).unwrap();
    f.env.send(&[ix], &[owner]).unwrap();
}

/// Audit M-1: neither party's own token account can strand a dispute or turn the other's award
/// into its refund. Classic SPL Token has no immutable owner, so a party can reassign its
/// associated account's owner; the settlement then holds that party's share in the vault for it
/// to claim, and pays the other party as ruled. A claim is the party's own, to an account it
/// owns, once; the deadline never refunds a disputed milestone, whatever the agent's standing.
pub fn dispute_a_partys_account_never_strands_the_other(chain: Box<dyn Chain>) {
    let mut f = Fixture::disputed(chain, &SPECS, 10_000);
    let (poster, p2) = (f.poster.insecure_clone(), f.env.funded());
    // B: the poster parks its associated account with a second key; the arbiter's split settles
    let account = f.keys.poster_token;
    reassign(&mut f, &account, &poster, &p2.pubkey());
    let payee_before = f.balances().1;
    f.decide(0, 6_000).unwrap();
    let (to_agent, fee_share) = (share(SPECS[0].0, 6_000), share(fee(SPECS[0].0), 6_000));
    let to_poster = gross(SPECS[0].0) - to_agent - fee_share;
    let job = f.job();
    assert_eq!(f.balances().1, payee_before + to_agent, "the agent is paid as ruled");
    assert_eq!((job.held_for_poster, job.held_for_agent), (to_poster, 0), "the poster's share waits for it");
    f.assert_conserved();
    // the claim: only a party, only to an account it owns, once
    let stranger = f.env.funded();
    assert_code(f.claim(&stranger).map(|_| Default::default()), AgentrailError::NotEntitled);
    let strangers = f.env.plain_token_account(&stranger.pubkey(), &f.mint, &TOKEN);
    let wrong = escrow::claim_held(&poster.pubkey(), &f.keys, &strangers);
    assert_code(f.env.send(&[wrong], &[&poster]), ErrorCode::ConstraintTokenOwner);
    let payout = f.payout.insecure_clone();
    assert_code(f.claim(&payout).map(|_| Default::default()), AgentrailError::NothingHeld);
    let own = f.claim(&poster).unwrap();
    assert_eq!((f.env.balance(&own), f.job().held_for_poster), (to_poster, 0));
    assert_code(f.claim(&poster).map(|_| Default::default()), AgentrailError::NothingHeld);
    f.assert_conserved();
    // A: the agent parks its payout account too; the default rule (all to the agent) still
    // settles milestone 1, its share held for the payout wallet, the poster's account untouched
    let p3 = f.env.funded();
    let account = f.keys.payee_token;
    reassign(&mut f, &account, &payout, &p3.pubkey());
    f.env.chain.set_time(REJECTED_AT + 20);
    f.submit(1).unwrap();
    f.env.chain.set_time(REJECTED_AT + 30);
    // the poster signs its rejection, so it names an account of its own (its parked one is not)
    let rejecting = JobKeys { poster_token: own, ..f.keys.clone() };
    f.env.send(&[escrow::reject_milestone(&rejecting, 1, false)], &[&poster]).unwrap();
    // the audit's ending: the agent changes version, the poster takes its account back and
    // asks the deadline for the disputed milestone: refused, only its dispute ends it
    let authority = f.agent_authority.insecure_clone();
    let version = agentrail::state::Semver { major: 9, minor: 0, patch: 0 };
    let args = agentrail::instructions::PublishVersionArgs { version, manifest_hash: [1; 32] };
    f.env.send(&[ix::publish_version(&authority.pubkey(), &f.agent, args)], &[&authority]).unwrap();
    let account = f.keys.poster_token;
    reassign(&mut f, &account, &p2, &poster.pubkey());
    f.env.chain.set_time(T0 + DAY + 1);
    assert_code(f.refund(), AgentrailError::NothingToRefund);
    assert_eq!(f.job().milestones()[1].state, MilestoneState::Disputed, "only its dispute ends it");
    // the agent may no longer be paid: its default share goes to the poster; the agent's
    // parked account, with no share, is not looked at
    let poster_before = f.balances().0;
    f.settle_by_default(1).unwrap();
    let job = f.job();
    assert_eq!((job.status, job.held_for_poster, job.held_for_agent), (JobStatus::Completed, 0, 0));
    assert_eq!(f.balances().0, poster_before + gross(SPECS[1].0));
    f.assert_conserved();
}

/// The agent's own payout account cannot block its pay either: an owed milestone released to
/// a parked payout account is held for the payout wallet, which claims it.
pub fn dispute_owed_pay_to_a_parked_account_is_held(chain: Box<dyn Chain>) {
    let mut f = Fixture::funded(chain);
    let (payout, p2) = (f.payout.insecure_clone(), f.env.funded());
    let account = f.keys.payee_token;
    reassign(&mut f, &account, &payout, &p2.pubkey());
    f.submit(0).unwrap();
    f.submit(1).unwrap();
    f.env.chain.set_time(T0 + REVIEW);
    f.release(1).unwrap();
    let held = f.job().held_for_agent;
    assert_eq!(held, crate::scenarios::escrow::SPECS[0].0 + crate::scenarios::escrow::SPECS[1].0);
    f.assert_conserved();
    let to = f.claim(&payout).unwrap();
    assert_eq!(f.env.balance(&to), held);
    f.assert_conserved();
}
