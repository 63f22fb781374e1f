//! Properties: under any sequence of escrow instructions, by anyone, at any time, with the
//! protocol paused and resumed, the job's books balance and match the token balances
//! (funded = released + fees + refunded + vault), and a milestone owed to the (eligible) agent
//! is never refunded.

use agentrail::state::{JobStatus, MilestoneState};
use agentrail_client::escrow;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::Chain;
use crate::env::*;
use crate::scenarios::escrow::{Fixture, REVIEW};
use crate::tokens::TOKEN;

/// One step a participant may attempt.
#[derive(Clone, Debug)]
enum Op {
    Submit(u8),
    Approve(u8),
    Reject(u8, bool),
    Fail(u8, bool),
    ReleaseAfterReview(u8),
    Cancel,
    RefundExpired,
    Start(u8),
    Pause(bool),
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..5).prop_map(Op::Submit),
        2 => (0u8..5).prop_map(Op::Approve),
        1 => (0u8..5, any::<bool>()).prop_map(|(i, c)| Op::Reject(i, c)),
        1 => (0u8..5, any::<bool>()).prop_map(|(i, c)| Op::Fail(i, c)),
        2 => (0u8..5).prop_map(Op::ReleaseAfterReview),
        1 => Just(Op::Cancel),
        1 => Just(Op::RefundExpired),
        1 => (0u8..5).prop_map(Op::Start),
        1 => any::<bool>().prop_map(Op::Pause),
        2 => prop_oneof![Just(REVIEW), Just(DAY / 3), 1i64..600].prop_map(Op::Wait),
    ]
}

fn milestones() -> impl Strategy<Value = Vec<(u64, bool)>> {
    prop::collection::vec((1u64..=200_000_000, any::<bool>()), 1..=4)
}

/// Runs `cases` random sequences, each on a fresh chain from `start`.
pub fn conservation_under_random_sequences(start: fn() -> Box<dyn Chain>, cases: u32) {
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let strategy = (milestones(), prop::collection::vec(op(), 1..24));
    runner
        .run(&strategy, |(list, ops)| {
            let mut f = Fixture::created(start(), TOKEN, &list, 0);
            f.fund().expect("fund");
            f.assert_conserved();
            let mut now = T0;
            for op in ops {
                let poster = f.poster.insecure_clone();
                let keys = f.keys.clone();
                let before = f.job();
                let released_before = before.released;
                let owed_before: Vec<bool> =
                    before.milestones.iter().map(|m| m.owed(before.review_window, now)).collect();
                let _ = match op.clone() {
                    Op::Submit(i) => f.submit(i),
                    Op::Approve(i) => f.approve(i),
                    Op::Reject(i, cancel) => f.env.send(&[escrow::reject_milestone(&keys, i, cancel)], &[&poster]),
                    Op::Fail(i, cancel) => f.fail(i, cancel),
                    Op::ReleaseAfterReview(i) => f.env.send(&[escrow::release_after_review(&keys, i)], &[]),
                    Op::Cancel => f.env.send(&[escrow::cancel_job(&keys)], &[&poster]),
                    Op::RefundExpired => f.env.send(&[escrow::refund_expired(&keys)], &[]),
                    Op::Start(i) => f.start(i),
                    Op::Pause(paused) => {
                        f.pause(paused);
                        Ok(Default::default())
                    }
                    Op::Wait(dt) => {
                        now += dt;
                        f.env.chain.set_time(now);
                        Ok(Default::default())
                    }
                };
                f.assert_conserved();
                let job = f.job();
                prop_assert!(job.released >= released_before, "released never decreases");
                // the track record counts exactly the settled milestones of this (funded) job
                let (_, released, rejected, failed, refunded, volume) = f.record();
                let settled = |st: MilestoneState| job.milestones.iter().filter(|m| m.state == st).count() as u64;
                prop_assert_eq!(released, settled(MilestoneState::Released));
                prop_assert_eq!(rejected + failed + refunded, settled(MilestoneState::Refunded));
                prop_assert_eq!(volume, u128::from(job.released));
                for (m, owed) in job.milestones.iter().zip(&owed_before) {
                    prop_assert!(!*owed || m.state != MilestoneState::Refunded, "owed pay refunded by {op:?}");
                }
                if matches!(job.status, JobStatus::Cancelled | JobStatus::Expired | JobStatus::Completed) {
                    prop_assert_eq!(job.outstanding(), 0);
                }
            }
            Ok(())
        })
        .unwrap();
}
