//! Instruction builders for the milestone escrow.

use agentrail::instructions::CreateJobArgs;
use agentrail::state::{Agent, Config, Job};
use agentrail::{accounts, instruction};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::system_program;

use crate::instructions::build;
use crate::pda;

/// Every account a release or refund touches, derived from the job, its agent and the config.
/// Token accounts default to associated token accounts; override a field to use another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobKeys {
    pub job: Pubkey,
    pub poster: Pubkey,
    pub agent: Pubkey,
    pub mint: Pubkey,
    pub token_program: Pubkey,
    pub vault: Pubkey,
    /// The pinned certification (present when the job demanded a stage).
    pub certification: Option<Pubkey>,
    pub payee_token: Pubkey,
    pub treasury_token: Pubkey,
    pub poster_token: Pubkey,
}

impl JobKeys {
    /// Derives the keys of job account `job` from its decoded state.
    pub fn new(job: Pubkey, state: &Job, agent: &Agent, config: &Config) -> Self {
        let (mint, tp) = (state.mint, state.token_program);
        JobKeys {
            job,
            poster: state.poster,
            agent: state.agent,
            mint,
            token_program: tp,
            vault: pda::vault(&job),
            certification: (state.min_stage > 0).then(|| pda::certification(&state.agent, state.agent_version_seq)),
            payee_token: pda::ata(&agent.payout, &mint, &tp),
            treasury_token: pda::ata(&config.treasury, &mint, &tp),
            poster_token: pda::ata(&state.poster, &mint, &tp),
        }
    }

    fn settlement(&self) -> accounts::Settlement {
        accounts::Settlement {
            config: pda::config(),
            job: self.job,
            agent: self.agent,
            certification: self.certification,
            mint: self.mint,
            vault: self.vault,
            payee_token: self.payee_token,
            treasury_token: self.treasury_token,
            token_program: self.token_program,
        }
    }

    fn refund(&self) -> accounts::Refund {
        accounts::Refund {
            job: self.job,
            mint: self.mint,
            vault: self.vault,
            poster_token: self.poster_token,
            token_program: self.token_program,
        }
    }
}

/// `create_job` for `agent` (whose current version is `version_seq`), paying with `mint`.
pub fn create_job(
    poster: &Pubkey,
    agent: &Pubkey,
    version_seq: u32,
    mint: &Pubkey,
    token_program: &Pubkey,
    args: CreateJobArgs,
) -> Instruction {
    let job = pda::job(poster, args.nonce);
    let certification = (args.min_stage > 0).then(|| pda::certification(agent, version_seq));
    build(
        accounts::CreateJob {
            poster: *poster,
            config: pda::config(),
            agent: *agent,
            certification,
            mint: *mint,
            job,
            vault: pda::vault(&job),
            token_program: *token_program,
            system_program: system_program::ID,
        },
        instruction::CreateJob { args },
    )
}

/// `fund_job`: the poster moves `expected_total` from `poster_token`.
pub fn fund_job(keys: &JobKeys, expected_total: u64) -> Instruction {
    build(
        accounts::FundJob {
            poster: keys.poster,
            config: pda::config(),
            job: keys.job,
            mint: keys.mint,
            poster_token: keys.poster_token,
            vault: keys.vault,
            token_program: keys.token_program,
        },
        instruction::FundJob { expected_total },
    )
}

/// `submit_milestone`, signed by the job's keeper.
pub fn submit_milestone(keeper: &Pubkey, keys: &JobKeys, index: u8, result_hash: [u8; 32]) -> Instruction {
    build(
        accounts::SubmitMilestone { keeper: *keeper, settlement: keys.settlement() },
        instruction::SubmitMilestone { index, result_hash },
    )
}

/// `approve_milestone`, signed by the poster.
pub fn approve_milestone(keys: &JobKeys, index: u8) -> Instruction {
    build(
        accounts::ApproveMilestone { poster: keys.poster, settlement: keys.settlement() },
        instruction::ApproveMilestone { index },
    )
}

/// `reject_milestone`, signed by the poster.
pub fn reject_milestone(keys: &JobKeys, index: u8, cancel: bool) -> Instruction {
    build(
        accounts::RejectMilestone { poster: keys.poster, refund: keys.refund() },
        instruction::RejectMilestone { index, cancel },
    )
}

/// `release_after_review`, by anyone.
pub fn release_after_review(keys: &JobKeys, index: u8) -> Instruction {
    build(accounts::ReleaseAfterReview { settlement: keys.settlement() }, instruction::ReleaseAfterReview { index })
}

/// `cancel_job`, signed by the poster.
pub fn cancel_job(keys: &JobKeys) -> Instruction {
    build(accounts::CancelJob { poster: keys.poster, refund: keys.refund() }, instruction::CancelJob {})
}

/// `refund_expired`, by anyone.
pub fn refund_expired(keys: &JobKeys) -> Instruction {
    build(accounts::RefundExpired { refund: keys.refund() }, instruction::RefundExpired {})
}

/// `close_job`, signed by the poster.
pub fn close_job(keys: &JobKeys) -> Instruction {
    build(
        accounts::CloseJob {
            poster: keys.poster,
            job: keys.job,
            mint: keys.mint,
            vault: keys.vault,
            poster_token: keys.poster_token,
            token_program: keys.token_program,
        },
        instruction::CloseJob {},
    )
}
