//! The job lifecycle in one place: the actions that can happen to a job, who may take each,
//! and which the program accepts now. Every offer comes from the program's own predicates
//! (`Job::check_*`, `Job::ineligibility`, ...); nothing here restates a rule. The CLI's "next
//! steps", the keeper's plan, its intent keys and its metric labels are all built on it.

use agentrail::state::{Agent, Certification, Config, Job};
use anchor_lang::prelude::Pubkey;

/// Who may take an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The job's poster.
    Poster,
    /// The job's keeper.
    Keeper,
    /// The agent: its authority (or, where the program takes it, its signing key).
    Agent,
    /// The job's arbiter.
    Arbiter,
    /// Any signer (permissionless cranks).
    Anyone,
}

/// What kind of action, without its milestone: the label of intents and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    Fund,
    Accept,
    Start,
    Execute,
    Submit,
    Approve,
    Reject,
    Fail,
    ReleaseAfterReview,
    Cancel,
    RefundExpired,
    ConcedeDispute,
    DecideDispute,
    ApplyDisputeDefault,
    SweepFees,
    Close,
    CreateLog,
    AnchorDay,
}

impl ActionKind {
    /// The stable label used in intent keys and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Fund => "fund",
            ActionKind::Accept => "accept",
            ActionKind::Start => "start",
            ActionKind::Execute => "execute",
            ActionKind::Submit => "submit",
            ActionKind::Approve => "approve",
            ActionKind::Reject => "reject",
            ActionKind::Fail => "fail",
            ActionKind::ReleaseAfterReview => "release",
            ActionKind::Cancel => "cancel",
            ActionKind::RefundExpired => "refund",
            ActionKind::ConcedeDispute => "concede",
            ActionKind::DecideDispute => "decide",
            ActionKind::ApplyDisputeDefault => "settle-dispute",
            ActionKind::SweepFees => "sweep-fees",
            ActionKind::Close => "close",
            ActionKind::CreateLog => "create-log",
            ActionKind::AnchorDay => "anchor",
        }
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action on a job. `Execute` is the keeper's off-chain step (calling the agent); the
/// others are program instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Fund,
    /// The agent accepts the job's terms (its signature, carried by anyone).
    Accept,
    Start(u8),
    Execute(u8),
    Submit(u8),
    Approve(u8),
    Reject(u8),
    Fail(u8),
    ReleaseAfterReview(u8),
    Cancel,
    /// Refund after the deadline; carries the first milestone it returns (its intent key).
    RefundExpired(u8),
    ConcedeDispute(u8),
    DecideDispute(u8),
    ApplyDisputeDefault(u8),
    /// Move the fees the job earned from its vault to the treasury.
    SweepFees,
    Close,
}

impl Action {
    /// Its kind.
    pub fn kind(self) -> ActionKind {
        match self {
            Action::Fund => ActionKind::Fund,
            Action::Accept => ActionKind::Accept,
            Action::Start(_) => ActionKind::Start,
            Action::Execute(_) => ActionKind::Execute,
            Action::Submit(_) => ActionKind::Submit,
            Action::Approve(_) => ActionKind::Approve,
            Action::Reject(_) => ActionKind::Reject,
            Action::Fail(_) => ActionKind::Fail,
            Action::ReleaseAfterReview(_) => ActionKind::ReleaseAfterReview,
            Action::Cancel => ActionKind::Cancel,
            Action::RefundExpired(_) => ActionKind::RefundExpired,
            Action::ConcedeDispute(_) => ActionKind::ConcedeDispute,
            Action::DecideDispute(_) => ActionKind::DecideDispute,
            Action::ApplyDisputeDefault(_) => ActionKind::ApplyDisputeDefault,
            Action::SweepFees => ActionKind::SweepFees,
            Action::Close => ActionKind::Close,
        }
    }

    /// The milestone it concerns, if any.
    pub fn milestone(self) -> Option<u8> {
        match self {
            Action::Fund | Action::Accept | Action::Cancel | Action::SweepFees | Action::Close => None,
            Action::Start(i)
            | Action::Execute(i)
            | Action::Submit(i)
            | Action::Approve(i)
            | Action::Reject(i)
            | Action::Fail(i)
            | Action::ReleaseAfterReview(i)
            | Action::RefundExpired(i)
            | Action::ConcedeDispute(i)
            | Action::DecideDispute(i)
            | Action::ApplyDisputeDefault(i) => Some(i),
        }
    }

    /// Who may take it.
    pub fn by(self) -> Actor {
        match self {
            Action::Fund | Action::Approve(_) | Action::Reject(_) | Action::Cancel | Action::Close => Actor::Poster,
            Action::Start(_) | Action::Execute(_) | Action::Submit(_) | Action::Fail(_) => Actor::Keeper,
            Action::Accept | Action::ConcedeDispute(_) => Actor::Agent,
            Action::DecideDispute(_) => Actor::Arbiter,
            Action::ReleaseAfterReview(_)
            | Action::RefundExpired(_)
            | Action::ApplyDisputeDefault(_)
            | Action::SweepFees => Actor::Anyone,
        }
    }
}

/// What the program's checks read besides the job and the clock: the pause switch and the
/// agent's standing (from its account and the pinned certification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conditions {
    /// The protocol is paused: nothing is released.
    pub paused: bool,
    /// The agent may not be paid on this job ([`Job::ineligibility`]: not active, or another
    /// version than the pinned one).
    pub agent_ineligible: bool,
    /// The pinned certification is shown, not revoked and holds the job's stage now
    /// ([`Job::check_certified_at`]): new work may be submitted.
    pub certified: bool,
}

impl Conditions {
    /// Reads them from the accounts the program reads: the agent, the pinned certification
    /// (when the job demanded a stage) and the config.
    pub fn read(job: &Job, agent: &Agent, cert: Option<&Certification>, config: &Config, now: i64) -> Self {
        let certified = job.pinned_certification(cert).and_then(|cert| job.check_certified_at(cert, now)).is_ok();
        Conditions { paused: config.paused, agent_ineligible: job.ineligibility(agent.standing()).is_some(), certified }
    }

    /// Live protocol, an agent that may be paid and is certified: what a caller that has not
    /// read the agent (a job list) assumes.
    pub fn assumed() -> Self {
        Conditions { paused: false, agent_ineligible: false, certified: true }
    }
}

/// An action the program accepts now, by whom, and when its window closes (if it does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    pub action: Action,
    pub by: Actor,
    /// Unix seconds after which it is no longer accepted (`None`: no time limit).
    pub until: Option<i64>,
}

/// Every action the program would accept on `job` at `now` under `c` (signed by the right
/// actor), in lifecycle order. `DecideDispute` is offered for a share of 0; any share for the
/// agent also needs the protocol live and the agent payable, like every release.
pub fn next_actions(job: &Job, now: i64, c: &Conditions) -> Vec<Offer> {
    let mut offers = Vec::new();
    let mut offer = |action: Action, until: Option<i64>| offers.push(Offer { action, by: action.by(), until });
    let payable = !c.paused && !c.agent_ineligible;
    if !c.paused && job.check_fundable(now).is_ok() {
        offer(Action::Fund, Some(job.deadline));
    }
    if !c.agent_ineligible && job.check_acceptable(now).is_ok() {
        offer(Action::Accept, Some(job.deadline));
    }
    if let Some(i) = job.current() {
        let index = i as u8;
        let m = &job.milestones()[i];
        if job.check_startable(index, now).is_ok() {
            offer(Action::Start(index), Some(job.deadline));
        }
        // a funded job still awaiting its agent's acceptance is the keeper's to execute too:
        // its first step asks the agent to accept and carries the acceptance on-chain
        let awaiting_acceptance = !job.is_accepted() && job.status == agentrail::state::JobStatus::Funded;
        let workable =
            job.check_submittable(index, now).is_ok() || (awaiting_acceptance && job.check_in_time(index, now).is_ok());
        if !c.agent_ineligible && c.certified && workable {
            let by = if m.needs_approval() { job.deadline - job.review_window } else { job.deadline };
            offer(Action::Execute(index), Some(by));
            if job.is_accepted() {
                offer(Action::Submit(index), Some(by));
            }
        }
        if job.check_failable(index, now).is_ok() {
            offer(Action::Fail(index), None);
        }
        if payable && job.check_approvable(index).is_ok() {
            offer(Action::Approve(index), None);
        }
        if job.check_rejectable(index, now).is_ok() {
            offer(Action::Reject(index), m.review_end(job.review_window).ok().map(|end| end - 1));
        }
        if payable && job.check_review_elapsed(index, now).is_ok() {
            offer(Action::ReleaseAfterReview(index), None);
        }
        if job.check_disputed(index).is_ok() {
            offer(Action::ConcedeDispute(index), None);
        }
        if job.check_decidable(index, now).is_ok() {
            offer(Action::DecideDispute(index), m.dispute_end(job.dispute_window).ok().map(|end| end - 1));
        }
        // the default share is paid like a release, unless the agent forfeits it (then nothing
        // is paid to it and the pause does not matter)
        let default_needs_release = job.dispute_default_bps > 0 && !c.agent_ineligible;
        if job.check_default_applies(index, now).is_ok() && !(default_needs_release && c.paused) {
            offer(Action::ApplyDisputeDefault(index), None);
        }
    }
    if job.check_cancellable(now).is_ok() {
        offer(Action::Cancel, None);
    }
    if let Ok(which) = job.refundable_after_deadline(now, c.agent_ineligible) {
        let first = which.first().unwrap_or(0) as u8;
        offer(Action::RefundExpired(first), None);
    }
    if job.check_sweepable().is_ok() {
        offer(Action::SweepFees, None);
    }
    if job.check_closable().is_ok() {
        offer(Action::Close, None);
    }
    offers
}

/// Whether `next_actions` offers `action`.
pub fn offers(offers: &[Offer], action: Action) -> bool {
    offers.iter().any(|o| o.action == action)
}

/// Whether `action` awaits `role`: a decision or a duty, not an option they may take. The poster
/// funds, approves or rejects (cancelling is a choice); the arbiter decides; the keeper runs the
/// step (its start and submission are part of it) and does what anyone may once it is due
/// (releases after review, refunds after the deadline, a dispute's default rule). Giving up on
/// a milestone is never pending.
pub fn awaits(role: Actor, action: Action) -> bool {
    match role {
        Actor::Poster => matches!(action, Action::Fund | Action::Approve(_) | Action::Reject(_)),
        Actor::Arbiter => matches!(action, Action::DecideDispute(_)),
        Actor::Keeper => matches!(
            action,
            Action::Execute(_)
                | Action::ReleaseAfterReview(_)
                | Action::RefundExpired(_)
                | Action::ApplyDisputeDefault(_)
        ),
        Actor::Agent | Actor::Anyone => false,
    }
}

/// The durable identity of one action a keeper sends: the account it concerns, a milestone
/// (or day) and the action's kind. Its text form is the intent's id in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IntentKey {
    /// The job, or the receipt log for log actions.
    pub account: Pubkey,
    /// The milestone, or the UTC day for anchors, or 0.
    pub index: u32,
    pub kind: ActionKind,
}

impl IntentKey {
    /// The intent of `action` on `job`.
    pub fn job(job: Pubkey, action: Action) -> Self {
        IntentKey { account: job, index: action.milestone().map_or(0, u32::from), kind: action.kind() }
    }

    /// Creating the receipt log `log`.
    pub fn create_log(log: Pubkey) -> Self {
        IntentKey { account: log, index: 0, kind: ActionKind::CreateLog }
    }

    /// Anchoring `day` in the receipt log `log`.
    pub fn anchor(log: Pubkey, day: u32) -> Self {
        IntentKey { account: log, index: day, kind: ActionKind::AnchorDay }
    }

    /// The milestone as stored (0 for log actions).
    pub fn milestone(&self) -> u8 {
        if self.kind == ActionKind::AnchorDay { 0 } else { self.index as u8 }
    }

    /// The action as stored and named by failpoints: its kind, and for anchors the day too
    /// (`anchor-<day>`).
    pub fn label(&self) -> String {
        match self.kind {
            ActionKind::AnchorDay => format!("anchor-{}", self.index),
            kind => kind.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for IntentKey {
    /// `<account>:<milestone>:<label>` (`<log>:0:anchor-<day>` for anchors): the ids stores
    /// written by earlier keepers already hold.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.account, self.milestone(), self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::state::JobStatus;

    fn kinds(offers: &[Offer]) -> Vec<Action> {
        offers.iter().map(|o| o.action).collect()
    }

    #[test]
    fn offers_follow_the_lifecycle() {
        let c = Conditions::assumed();
        let mut j = crate::escrow::tests::job(); // milestone 0 needs approval, 1 does not
        assert_eq!(kinds(&next_actions(&j, 0, &c)), [Action::Fund, Action::Accept, Action::Cancel]);
        assert_eq!(
            kinds(&next_actions(&j, 10_001, &c)),
            [Action::Cancel, Action::RefundExpired(0)],
            "unfunded, expired"
        );
        j.status = JobStatus::Funded;
        j.funded = 150;
        // funded, not accepted: the keeper's step asks the agent first; nothing starts
        assert_eq!(kinds(&next_actions(&j, 0, &c)), [Action::Accept, Action::Execute(0), Action::Cancel]);
        let ineligible = Conditions { agent_ineligible: true, ..c };
        assert_eq!(kinds(&next_actions(&j, 0, &ineligible)), [Action::Cancel], "no acceptance by an unpayable agent");
        j.accepted_at = 1;
        let funded = next_actions(&j, 0, &c);
        assert_eq!(kinds(&funded), [Action::Start(0), Action::Execute(0), Action::Submit(0), Action::Cancel]);
        assert_eq!(funded[2].until, Some(9_000), "an approval milestone is submitted before deadline - review");
        // a started step may be failed once its time ran out, not before
        let mut started = j;
        started.start(0, 10).unwrap();
        assert!(!offers(&next_actions(&started, 609, &c), Action::Fail(0)));
        assert!(offers(&next_actions(&started, 610, &c), Action::Fail(0)));
        // an agent that may not be paid gets no work; a paused protocol releases nothing
        let ineligible = Conditions { agent_ineligible: true, ..c };
        assert!(!offers(&next_actions(&j, 0, &ineligible), Action::Submit(0)));
        j.submit(0, [1; 32], 100).unwrap();
        let review = next_actions(&j, 500, &c);
        assert_eq!(kinds(&review), [Action::Approve(0), Action::Reject(0)]);
        assert_eq!(review[1].until, Some(1_099));
        let paused = Conditions { paused: true, ..c };
        assert_eq!(kinds(&next_actions(&j, 500, &paused)), [Action::Reject(0)]);
        assert_eq!(kinds(&next_actions(&j, 1_100, &c)), [Action::Approve(0), Action::ReleaseAfterReview(0)]);
        assert!(next_actions(&j, 1_100, &paused).is_empty(), "owed, but nothing is released while paused");
        j.release(0).unwrap();
        let refund = next_actions(&j, 10_001, &c);
        assert_eq!(kinds(&refund), [Action::RefundExpired(1)]);
        j.refund_where(|_, _| true).unwrap();
        j.status = JobStatus::Expired;
        j.fees_earned = 3; // what the release earned at a fee this fixture does not charge
        // the released milestone's fee is still in the vault: swept before the job closes
        assert_eq!(kinds(&next_actions(&j, 10_001, &c)), [Action::SweepFees]);
        j.sweep();
        assert_eq!(kinds(&next_actions(&j, 10_001, &c)), [Action::Close]);
    }

    #[test]
    fn offers_follow_a_dispute() {
        let c = Conditions::assumed();
        let mut j = crate::escrow::tests::job();
        (j.arbiter, j.dispute_window, j.dispute_default_bps) = (Pubkey::new_unique(), 3_600, 2_500);
        (j.status, j.funded, j.accepted_at) = (JobStatus::Funded, 150, 1);
        j.submit(0, [1; 32], 100).unwrap();
        j.dispute(0, 500).unwrap();
        let open = next_actions(&j, 600, &c);
        assert_eq!(kinds(&open), [Action::ConcedeDispute(0), Action::DecideDispute(0)]);
        assert_eq!(open[1].until, Some(4_099));
        assert_eq!(kinds(&next_actions(&j, 4_100, &c)), [Action::ConcedeDispute(0), Action::ApplyDisputeDefault(0)]);
        let paused = Conditions { paused: true, ..c };
        assert_eq!(
            kinds(&next_actions(&j, 4_100, &paused)),
            [Action::ConcedeDispute(0)],
            "a share waits for the pause"
        );
        let forfeit = Conditions { paused: true, agent_ineligible: true, certified: true };
        assert!(offers(&next_actions(&j, 4_100, &forfeit), Action::ApplyDisputeDefault(0)), "nothing paid: not paused");
    }

    #[test]
    fn intent_keys_keep_the_stored_format() {
        let job = Pubkey::new_unique();
        assert_eq!(IntentKey::job(job, Action::Submit(2)).to_string(), format!("{job}:2:submit"));
        assert_eq!(IntentKey::job(job, Action::RefundExpired(1)).to_string(), format!("{job}:1:refund"));
        assert_eq!(IntentKey::anchor(job, 20_500).to_string(), format!("{job}:0:anchor-20500"));
        assert_eq!(IntentKey::create_log(job).to_string(), format!("{job}:0:create-log"));
        assert_eq!(IntentKey::job(job, Action::ApplyDisputeDefault(3)).milestone(), 3);
    }
}
