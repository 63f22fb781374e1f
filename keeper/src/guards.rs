//! The checks a keeper runs before it pays for a step. Every check and its result goes into the
//! step's receipt; any failure stops the payment.

use agentrail::state::{Agent, AgentStatus, Certification, Job};
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

/// Runs every guard.
pub fn run(g: &GuardInput) -> Vec<GuardCheck> {
    let m = &g.job.milestones[usize::from(g.milestone)];
    let submit_by = if m.requires_approval { g.job.deadline - g.job.review_window } else { g.job.deadline };
    let mut checks = vec![
        check("cost_within_budget", g.cost <= m.amount, format!("cost {} of budget {}", g.cost, m.amount)),
        check("deadline", g.now <= submit_by, format!("now {} submit by {submit_by}", g.now)),
        check("agent_active", g.agent.status == AgentStatus::Active, format!("{:?}", g.agent.status)),
    ];
    if g.job.min_stage > 0 {
        let (stage, epoch_ok) =
            g.certification.map_or((0, false), |c| (c.effective_stage(g.now), c.epoch == g.job.cert_epoch));
        checks.push(check(
            "certified",
            stage >= g.job.min_stage && epoch_ok,
            format!(
                "stage {stage} of required {}, pinned certification {}",
                g.job.min_stage,
                if epoch_ok { "intact" } else { "revoked" }
            ),
        ));
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
    use agentrail::state::{Attestation, JobStatus, MilestoneSpec, Semver};
    use anchor_lang::prelude::Pubkey;

    fn job(min_stage: u8) -> Job {
        let specs = [
            MilestoneSpec { amount: 100, requires_approval: false },
            MilestoneSpec { amount: 50, requires_approval: true },
        ];
        Job {
            poster: Pubkey::new_unique(),
            nonce: 0,
            agent: Pubkey::new_unique(),
            agent_version_seq: 1,
            keeper: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            token_program: Pubkey::new_unique(),
            fee_bps: 0,
            min_stage,
            pinned_stage: min_stage,
            cert_epoch: 0,
            deadline: 1_000,
            review_window: 100,
            created_at: 0,
            status: JobStatus::Funded,
            funded: 150,
            released: 0,
            fees_paid: 0,
            refunded: 0,
            bump: 0,
            vault_bump: 0,
            arbiter: Pubkey::default(),
            dispute_window: 0,
            dispute_default_bps: 0,
            terms_hash: [0; 32],
            terms_uri: String::new(),
            step_timeout: 60,
            milestones: Job::milestones_from(&specs, 0).unwrap(),
        }
    }

    fn agent(status: AgentStatus) -> Agent {
        Agent {
            id: 0,
            authority: Pubkey::new_unique(),
            payout: Pubkey::new_unique(),
            name: "a".into(),
            metadata_uri: String::new(),
            manifest_hash: [0; 32],
            version: Semver { major: 1, minor: 0, patch: 0 },
            version_seq: 1,
            status,
            registered_at: 0,
            updated_at: 0,
            bump: 0,
        }
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
        assert_eq!(failed(&GuardInput { now: 1_001, ..ok }), ["deadline"]);
        assert_eq!(
            failed(&GuardInput { milestone: 1, cost: 50, now: 901, ..ok }),
            ["deadline"],
            "approval needs its review window"
        );
        let paused = agent(AgentStatus::Paused);
        assert_eq!(failed(&GuardInput { agent: &paused, ..ok }), ["agent_active"]);
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
        assert_eq!(failed(&GuardInput { certification: Some(&revoked), ..g }), ["certified"]);
    }
}
