//! What the keeper does for one job this scan: a pure function of the job, the conditions the
//! program reads, the clock and the operator's policy, built on the lifecycle's offers (so the
//! keeper never acts on a rule of its own), unit-tested without a validator.

use agentrail::state::{Job, JobStatus};
use agentrail_client::lifecycle::{Action, Actor, Conditions, Offer, next_actions};

/// The operator's choices that shape the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Refund expired jobs (anyone may; the keeper does it when this is on).
    pub refund_expired: bool,
}

/// The one action the keeper takes on `job` at `now`, if any: a refund after the deadline
/// first (it settles the most), then the current milestone's step (executed, then submitted,
/// by the step duty), its release once owed, or its dispute's default rule. Unfunded jobs put
/// nothing at stake and get nothing, not even a refund. Approvals, rejections, cancellation,
/// concessions and decisions belong to people and are never planned.
pub fn plan(job: &Job, now: i64, c: &Conditions, policy: Policy) -> Option<Action> {
    plan_from(job, &next_actions(job, now, c), policy)
}

/// [`plan`] from the lifecycle's `offers` for `job`, already computed (the scan also reads them
/// for the decisions it tells people about).
pub fn plan_from(job: &Job, offers: &[Offer], policy: Policy) -> Option<Action> {
    if job.status != JobStatus::Funded {
        return None;
    }
    let mine = |a: &Action| matches!(a.by(), Actor::Keeper | Actor::Anyone);
    let pick = |want: fn(&Action) -> bool| offers.iter().map(|o| o.action).find(|a| mine(a) && want(a));
    if policy.refund_expired
        && let Some(refund) = pick(|a| matches!(a, Action::RefundExpired(_)))
    {
        return Some(refund);
    }
    pick(|a| matches!(a, Action::Execute(_) | Action::ReleaseAfterReview(_) | Action::ApplyDisputeDefault(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::state::MilestoneState;
    use anchor_lang::prelude::Pubkey;

    const ON: Policy = Policy { refund_expired: true };
    const LIVE: Conditions = Conditions { paused: false, agent_ineligible: false, certified: true };

    /// A funded job: milestone 0 paid on submission, 1 and 2 with approval; deadline 10 000,
    /// review 1 000, an arbiter with a one-hour window and a 25% default share.
    fn job() -> Job {
        let mut j = agentrail_client::fixtures::funded_job(&[(100, false), (200, true), (300, true)]);
        (j.arbiter, j.dispute_window, j.dispute_default_bps) = (Pubkey::new_unique(), 3_600, 2_500);
        j
    }

    #[test]
    fn steps_then_releases_then_disputes() {
        let mut j = job();
        assert_eq!(plan(&j, 0, &LIVE, ON), Some(Action::Execute(0)));
        j.submit(0, [1; 32], 10).unwrap();
        // submitted while paused: owed, released once releases are live
        let paused = Conditions { paused: true, ..LIVE };
        assert_eq!(plan(&j, 20, &paused, ON), None);
        assert_eq!(plan(&j, 20, &LIVE, ON), Some(Action::ReleaseAfterReview(0)));
        j.release(0).unwrap();
        assert_eq!(plan(&j, 20, &LIVE, ON), Some(Action::Execute(1)));
        // an approval milestone's review must fit before the deadline: no step that cannot be paid
        assert_eq!(plan(&j, 9_001, &LIVE, ON), None);
        j.submit(1, [2; 32], 100).unwrap();
        assert_eq!(plan(&j, 500, &LIVE, ON), None, "the poster's review window is open");
        assert_eq!(plan(&j, 1_100, &LIVE, ON), Some(Action::ReleaseAfterReview(1)));
        j.dispute(1, 1_099).unwrap();
        assert_eq!(plan(&j, 2_000, &LIVE, ON), None, "the arbiter decides");
        assert_eq!(plan(&j, 4_699, &LIVE, ON), Some(Action::ApplyDisputeDefault(1)));
        assert_eq!(plan(&j, 4_699, &paused, ON), None, "a 25% share waits for the pause");
    }

    #[test]
    fn refunds_after_the_deadline_but_never_unfunded_jobs() {
        let mut j = job();
        let ineligible = Conditions { agent_ineligible: true, ..LIVE };
        assert_eq!(plan(&j, 0, &ineligible, ON), None, "no work for an agent that may not be paid");
        assert_eq!(plan(&j, 10_001, &LIVE, ON), Some(Action::RefundExpired(0)));
        assert_eq!(plan(&j, 10_001, &LIVE, Policy { refund_expired: false }), None);
        j.submit(0, [1; 32], 10).unwrap();
        // owed pay survives the deadline: released, not refunded; the rest is refunded first
        assert_eq!(plan(&j, 10_001, &LIVE, ON), Some(Action::RefundExpired(1)));
        assert_eq!(plan(&j, 10_001, &LIVE, Policy { refund_expired: false }), Some(Action::ReleaseAfterReview(0)));
        j.status = JobStatus::Created;
        assert_eq!(plan(&j, 10_001, &LIVE, ON), None, "an unfunded job costs the keeper nothing");
    }

    #[test]
    fn never_plans_what_people_decide() {
        let mut j = job();
        j.submit(0, [1; 32], 10).unwrap();
        j.release(0).unwrap();
        j.submit(1, [2; 32], 20).unwrap();
        j.dispute(1, 30).unwrap();
        for now in [40, 3_000] {
            let planned = plan(&j, now, &LIVE, ON);
            assert!(
                !matches!(planned, Some(Action::DecideDispute(_) | Action::ConcedeDispute(_) | Action::Reject(_))),
                "{planned:?}"
            );
        }
        assert_eq!(j.milestones()[1].state, MilestoneState::Disputed);
    }
}
