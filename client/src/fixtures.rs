//! A job built in memory, for the unit tests of code that reads jobs (next steps, the keeper's
//! plan and guards): one literal of the account's fields instead of one per test module.

use agentrail::state::{Job, JobStatus, MilestoneSpec};
use anchor_lang::prelude::Pubkey;

/// A created (unfunded) job with `milestones` (amount, needs approval): fee 0, deadline 10 000,
/// review window 1 000, step timeout 600, no arbiter, no terms, fresh keys.
#[doc(hidden)]
pub fn job(milestones: &[(u64, bool)]) -> Job {
    let specs: Vec<MilestoneSpec> =
        milestones.iter().map(|&(amount, requires_approval)| MilestoneSpec { amount, requires_approval }).collect();
    let mut job = Job {
        poster: Pubkey::new_unique(),
        nonce: 1,
        agent: Pubkey::new_unique(),
        agent_version_seq: 1,
        keeper: Pubkey::new_unique(),
        mint: Pubkey::new_unique(),
        token_program: Pubkey::new_unique(),
        deadline: 10_000,
        review_window: 1_000,
        status: JobStatus::Created,
        step_timeout: 600,
        ..Job::default()
    };
    job.set_milestones(&specs, 0).expect("valid test milestones");
    job
}

/// [`job`], funded with its exact total and accepted by its agent.
#[doc(hidden)]
pub fn funded_job(milestones: &[(u64, bool)]) -> Job {
    let mut j = job(milestones);
    j.status = JobStatus::Funded;
    j.funded = j.total();
    j.accepted_at = 1;
    j
}

/// An active agent at version 1.0.0 (`version_seq` 1) with fresh authority and payout keys.
#[doc(hidden)]
pub fn agent() -> agentrail::state::Agent {
    use agentrail::state::{Agent, AgentStatus, Semver};
    Agent {
        id: 0,
        authority: Pubkey::new_unique(),
        payout: Pubkey::new_unique(),
        name: "agent".into(),
        metadata_uri: String::new(),
        manifest_hash: [0; 32],
        version: Semver { major: 1, minor: 0, patch: 0 },
        version_seq: 1,
        status: AgentStatus::Active,
        registered_at: 0,
        updated_at: 0,
        bump: 0,
        signing_key: Pubkey::default(),
    }
}
