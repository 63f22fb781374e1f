//! Properties: under any sequence of escrow instructions, by anyone, at any time, with the
//! protocol paused and resumed, with or without an arbiter and its disputes, with fees swept
//! at any moment, the job's books balance and match the token balances (funded = released +
//! fees earned + refunded + outstanding; the vault holds the outstanding and the unswept
//! fees, the treasury exactly the swept ones; closing needs every fee swept), a
//! milestone owed to the (eligible) agent is never refunded, a disputed one leaves its dispute
//! only by a concession or a decision, and the track record counts exactly what settled. And
//! the lifecycle ([`next_actions`]) offers exactly what the program then accepts.

use agentrail::state::{JobStatus, MilestoneState, TrackRecord};
use agentrail_client::escrow;
use agentrail_client::lifecycle::{Action, Conditions, next_actions, offers};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use solana_sdk::signer::Signer;

use crate::Chain;
use crate::env::*;
use crate::scenarios::escrow::{Fixture, REVIEW};
use crate::tokens::TOKEN;

/// One step a participant may attempt.
#[derive(Clone, Debug)]
enum Op {
    Accept,
    Submit(u8),
    /// The agent (its authority) submits instead of the keeper.
    AgentSubmit(u8),
    Approve(u8),
    Reject(u8, bool),
    Fail(u8, bool),
    ReleaseAfterReview(u8),
    Cancel,
    RefundExpired,
    Start(u8),
    Pause(bool),
    Wait(i64),
    Concede(u8),
    Decide(u8, u16),
    ApplyDefault(u8),
    Sweep,
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Accept),
        3 => (0u8..5).prop_map(Op::Submit),
        2 => (0u8..5).prop_map(Op::AgentSubmit),
        2 => (0u8..5).prop_map(Op::Approve),
        1 => (0u8..5, any::<bool>()).prop_map(|(i, c)| Op::Reject(i, c)),
        1 => (0u8..5, any::<bool>()).prop_map(|(i, c)| Op::Fail(i, c)),
        2 => (0u8..5).prop_map(Op::ReleaseAfterReview),
        1 => Just(Op::Cancel),
        1 => Just(Op::RefundExpired),
        1 => (0u8..5).prop_map(Op::Start),
        1 => any::<bool>().prop_map(Op::Pause),
        2 => prop_oneof![Just(REVIEW), Just(DAY / 3), 1i64..600].prop_map(Op::Wait),
        1 => (0u8..5).prop_map(Op::Concede),
        1 => (0u8..5, prop_oneof![Just(0u16), Just(10_000), 0u16..=10_001]).prop_map(|(i, b)| Op::Decide(i, b)),
        1 => (0u8..5).prop_map(Op::ApplyDefault),
        1 => Just(Op::Sweep),
        1 => Just(Op::Close),
    ]
}

fn milestones() -> impl Strategy<Value = Vec<(u64, bool)>> {
    prop::collection::vec((1u64..=200_000_000, any::<bool>()), 1..=4)
}

/// Runs `cases` random sequences, each on a fresh chain from `start`.
pub fn conservation_under_random_sequences(start: fn() -> Box<dyn Chain>, cases: u32) {
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    // half the jobs name an arbiter (two-hour window, a random default share)
    let arbiter = prop::option::of(prop_oneof![Just(0u16), Just(10_000), 0u16..=10_000]);
    // half the jobs start accepted by their agent; the others wait for an `Accept`
    let strategy = (milestones(), prop::collection::vec(op(), 1..24), arbiter, any::<bool>());
    runner
        .run(&strategy, |(list, ops, arbiter, accepted)| {
            let dispute = arbiter.map(|default_bps| (2 * REVIEW, default_bps));
            let mut f = Fixture::unaccepted(start(), TOKEN, &list, 0, dispute);
            f.fund().expect("fund");
            if accepted {
                let authority = f.agent_authority.insecure_clone();
                crate::scenarios::escrow::accept(&mut f.env, &authority, &f.keys).expect("accept");
            }
            f.assert_conserved();
            let mut now = T0;
            let mut paused = false;
            for op in ops {
                let poster = f.poster.insecure_clone();
                let keys = f.keys.clone();
                let before = f.job();
                let released_before = before.released;
                let owed_before: Vec<bool> =
                    before.milestones().iter().map(|m| m.owed(before.review_window, now)).collect();
                // what the lifecycle says the program will accept, before trying it
                let offered = next_actions(&before, now, &Conditions { paused, ..Conditions::assumed() });
                let expected = match op {
                    Op::Accept => Some(offers(&offered, Action::Accept)),
                    Op::Submit(i) | Op::AgentSubmit(i) => Some(offers(&offered, Action::Submit(i))),
                    Op::Approve(i) => Some(offers(&offered, Action::Approve(i))),
                    Op::Reject(i, _) => Some(offers(&offered, Action::Reject(i))),
                    Op::Fail(i, _) => Some(offers(&offered, Action::Fail(i))),
                    Op::ReleaseAfterReview(i) => Some(offers(&offered, Action::ReleaseAfterReview(i))),
                    Op::Cancel => Some(offers(&offered, Action::Cancel)),
                    Op::RefundExpired => Some(offered.iter().any(|o| matches!(o.action, Action::RefundExpired(_)))),
                    Op::Start(i) => Some(offers(&offered, Action::Start(i))),
                    Op::Concede(i) => Some(offers(&offered, Action::ConcedeDispute(i))),
                    // a share for the agent is a release: it also needs the protocol live
                    Op::Decide(i, bps) => {
                        Some(offers(&offered, Action::DecideDispute(i)) && bps <= 10_000 && (bps == 0 || !paused))
                    }
                    Op::ApplyDefault(i) => Some(offers(&offered, Action::ApplyDisputeDefault(i))),
                    Op::Sweep => Some(offers(&offered, Action::SweepFees)),
                    Op::Close => Some(offers(&offered, Action::Close)),
                    Op::Pause(_) | Op::Wait(_) => None,
                };
                let authority = f.agent_authority.insecure_clone();
                let result = match op.clone() {
                    Op::Accept => crate::scenarios::escrow::accept(&mut f.env, &authority, &keys),
                    Op::Submit(i) => f.submit(i),
                    Op::AgentSubmit(i) => {
                        let ix = escrow::submit_milestone(&authority.pubkey(), &keys, i, [i + 40; 32]);
                        f.env.send(&[ix], &[&authority])
                    }
                    Op::Approve(i) => f.approve(i),
                    Op::Reject(i, cancel) => f.env.send(&[escrow::reject_milestone(&keys, i, cancel)], &[&poster]),
                    Op::Fail(i, cancel) => f.fail(i, cancel),
                    Op::ReleaseAfterReview(i) => f.env.send(&[escrow::release_after_review(&keys, i)], &[]),
                    Op::Cancel => f.env.send(&[escrow::cancel_job(&keys)], &[&poster]),
                    Op::RefundExpired => f.env.send(&[escrow::refund_expired(&keys)], &[]),
                    Op::Start(i) => f.start(i),
                    Op::Pause(on) => {
                        f.pause(on);
                        paused = on;
                        Ok(Default::default())
                    }
                    Op::Wait(dt) => {
                        now += dt;
                        f.env.chain.set_time(now);
                        Ok(Default::default())
                    }
                    Op::Concede(i) => {
                        let authority = f.agent_authority.insecure_clone();
                        f.env.send(&[escrow::concede_dispute(&authority.pubkey(), &keys, i)], &[&authority])
                    }
                    // without an arbiter the poster signs in its place: refused, and harmless
                    Op::Decide(i, bps) => {
                        let arbiter = f.arbiter.as_ref().unwrap_or(&poster).insecure_clone();
                        f.env.send(&[escrow::decide_dispute(&arbiter.pubkey(), &keys, i, bps)], &[&arbiter])
                    }
                    Op::ApplyDefault(i) => f.env.send(&[escrow::apply_dispute_default(&keys, i)], &[]),
                    Op::Sweep => f.sweep(),
                    Op::Close => f.env.send(&[escrow::close_job(&keys)], &[&poster]),
                };
                if let Some(expected) = expected {
                    prop_assert_eq!(result.is_ok(), expected, "{:?} at {}: offered {:?}", op, now, offered);
                }
                if matches!(op, Op::Close) && result.is_ok() {
                    // the job is a tombstone now: every fee it earned reached the treasury,
                    // and its vault (holding nothing it owed) is gone
                    prop_assert_eq!(f.balances().2, before.fees_earned);
                    prop_assert!(!f.env.exists(&keys.vault));
                    break;
                }
                f.assert_conserved();
                let job = f.job();
                prop_assert!(job.released >= released_before, "released never decreases");
                // the track record counts exactly the settled milestones of this (funded) job,
                // and nothing at all of a job its agent never accepted
                let r: TrackRecord = f.env.fetch(&f.keys.track_record);
                prop_assert_eq!(r.jobs, u64::from(job.is_accepted()), "counted once accepted");
                if !job.is_accepted() {
                    prop_assert_eq!((r.released, r.refunded, r.failed, r.rejected), (0, 0, 0, 0));
                    prop_assert!(job.released == 0 && job.milestones().iter().all(|m| m.started_at == 0));
                    continue;
                }
                let count = |st: MilestoneState| job.milestones().iter().filter(|m| m.state == st).count() as u64;
                prop_assert_eq!(r.released + r.disputes_for_agent, count(MilestoneState::Released));
                // `rejected` counts every rejection; those that opened a dispute end elsewhere
                let plain_rejections = r.rejected - r.disputed;
                prop_assert_eq!(
                    plain_rejections + r.failed + r.refunded + r.disputes_conceded + r.disputes_for_poster,
                    count(MilestoneState::Refunded)
                );
                prop_assert_eq!(r.disputes_split, count(MilestoneState::Split));
                prop_assert_eq!(
                    r.disputed,
                    count(MilestoneState::Disputed)
                        + r.disputes_conceded
                        + r.disputes_for_agent
                        + r.disputes_for_poster
                        + r.disputes_split
                );
                prop_assert_eq!(r.volume(), u128::from(job.released));
                prop_assert!(arbiter.is_some() || r.disputed == 0, "no dispute without an arbiter");
                for ((m, owed), was) in job.milestones().iter().zip(&owed_before).zip(before.milestones()) {
                    prop_assert!(!*owed || m.state != MilestoneState::Refunded, "owed pay refunded by {op:?}");
                    // the agent stays eligible here: only its concession or a decision ends a dispute
                    let decided = matches!(op, Op::Concede(_) | Op::Decide(..) | Op::ApplyDefault(_));
                    prop_assert!(
                        was.state != MilestoneState::Disputed || m.state == MilestoneState::Disputed || decided,
                        "a dispute ended by {op:?}"
                    );
                }
                if matches!(job.status, JobStatus::Cancelled | JobStatus::Expired | JobStatus::Completed) {
                    prop_assert_eq!(job.outstanding(), 0);
                }
            }
            Ok(())
        })
        .unwrap();
}
