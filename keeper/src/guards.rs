//! The checks a keeper runs before it pays for a step. Every check and its result goes into the
//! step's receipt; any failure stops the payment.

use agentrail::state::{Agent, Certification, Job};
use agentrail_client::receipt::GuardCheck;

/// What the guards look at.
pub struct GuardInput<'a> {
    pub job: &'a Job,
    pub milestone: u8,
    pub agent: &'a Agent,
    /// The pinned certification, when the job demands a stage.
    pub certification: Option<&'a Certification>,
    pub cost: u64,
    pub now: i64,
}

fn check(name: &str, passed: bool, detail: String) -> GuardCheck {
    GuardCheck { name: name.into(), passed, detail }
}

/// A program error's message, without Anchor's framing.
fn why(e: &anchor_lang::error::Error) -> String {
    match e {
        anchor_lang::error::Error::AnchorError(a) => a.error_msg.clone(),
        other => other.to_string(),
    }
}

/// Runs every guard. Apart from the budget (the keeper's own rule), each is the program's own
/// predicate, so a step that passes is one the program will accept: the milestone can be
/// submitted now (order, deadline, a review window that fits), the agent may be paid (active,
/// the pinned version) and, when the job demanded a stage, its pinned certification is shown,
/// not revoked and in force now.
pub fn run(g: &GuardInput) -> Vec<GuardCheck> {
    let (job, m) = (g.job, &g.job.milestones()[usize::from(g.milestone)]);
    let submittable = job.check_submittable(g.milestone, g.now).map(|_| ());
    let payable = job.ineligibility(g.agent.standing()).map_or(Ok(()), |e| Err(e.to_string()));
    let mut checks = vec![
        check("cost_within_budget", g.cost <= m.amount, format!("cost {} of budget {}", g.cost, m.amount)),
        check(
            "submittable",
            submittable.is_ok(),
            submittable.as_ref().map_or_else(why, |()| format!("milestone {} at {}", g.milestone, g.now)),
        ),
        check("agent_payable", payable.is_ok(), payable.err().unwrap_or_else(|| format!("{:?}", g.agent.status))),
    ];
    if job.min_stage > 0 {
        let certified = job.pinned_certification(g.certification).and_then(|c| job.check_certified_at(c, g.now));
        let detail = certified.as_ref().map_or_else(why, |()| format!("stage {} or higher", job.min_stage));
        checks.push(check("certified", certified.is_ok(), detail));
    }
    checks
}

/// Whether every guard passed.
pub fn all_passed(checks: &[GuardCheck]) -> bool {
    checks.iter().all(|c| c.passed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::state::{AgentStatus, Attestation};
    use anchor_lang::prelude::Pubkey;

    fn job(min_stage: u8) -> Job {
        let mut j = agentrail_client::fixtures::funded_job(&[(100, false), (50, true)]);
        (j.min_stage, j.pinned_stage, j.deadline, j.review_window) = (min_stage, min_stage, 1_000, 100);
        j
    }

    fn agent(status: AgentStatus) -> Agent {
        Agent { status, ..agentrail_client::fixtures::agent() }
    }

    fn failed(g: &GuardInput) -> Vec<String> {
        run(g).into_iter().filter(|c| !c.passed).map(|c| c.name).collect()
    }

    #[test]
    fn guards_refuse_what_must_not_be_paid() {
        let (j, a) = (job(0), agent(AgentStatus::Active));
        let ok = GuardInput { job: &j, milestone: 0, agent: &a, certification: None, cost: 100, now: 1_000 };
        assert!(all_passed(&run(&ok)));
        assert_eq!(failed(&GuardInput { cost: 101, ..ok }), ["cost_within_budget"]);
        assert_eq!(failed(&GuardInput { now: 1_001, ..ok }), ["submittable"]);
        assert_eq!(failed(&GuardInput { milestone: 1, cost: 50, now: 10, ..ok }), ["submittable"], "out of order");
        let mut next = job(0);
        next.submit(0, [1; 32], 5).unwrap();
        next.release(0).unwrap();
        let second = GuardInput { job: &next, milestone: 1, cost: 50, now: 900, ..ok };
        assert!(all_passed(&run(&second)));
        let late = run(&GuardInput { now: 901, ..second });
        assert!(!late[1].passed && late[1].detail.contains("review window"), "{late:?}");
        let paused = agent(AgentStatus::Paused);
        assert_eq!(failed(&GuardInput { agent: &paused, ..ok }), ["agent_payable"]);
    }

    #[test]
    fn certification_guard() {
        let (j, a) = (job(1), agent(AgentStatus::Active));
        let mut cert = Certification {
            agent: j.agent,
            version_seq: 1,
            manifest_hash: [0; 32],
            stage: 1,
            attestations: [Attestation::default(); 5],
            epoch: 0,
            last_revocation: None,
            bump: 0,
        };
        cert.attestations[0] =
            Attestation { certifier: Pubkey::new_unique(), attestation_hash: [1; 32], issued_at: 0, expires_at: 2_000 };
        let g = GuardInput { job: &j, milestone: 0, agent: &a, certification: Some(&cert), cost: 1, now: 10 };
        assert!(all_passed(&run(&g)));
        assert_eq!(failed(&GuardInput { certification: None, ..g }), ["certified"]);
        let mut revoked = cert.clone();
        revoked.epoch = 1;
        // a revocation stops new work; it does not make the agent unpayable
        assert_eq!(failed(&GuardInput { certification: Some(&revoked), ..g }), ["certified"]);
        let mut expired = cert.clone();
        expired.attestations[0].expires_at = 10;
        assert_eq!(failed(&GuardInput { certification: Some(&expired), ..g }), ["certified"], "expired at submission");
    }
}
