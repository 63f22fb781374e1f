use anchor_lang::prelude::*;

use crate::{errors::AgentrailError, events::MilestoneSubmitted, instructions::settlement::*, state::AgentKeys};

/// The job's keeper, or the agent itself, reports milestone `index` done with the hash of its
/// result (the keeper's receipt, or the agent's own). The agent may submit so that being paid
/// never depends on the keeper relaying its answer; the same rules follow either submission.
/// Milestones without approval are released at once; the others wait for the poster. While the
/// protocol is paused the submission is still recorded (the milestone is then owed to the agent
/// and released by anyone once the pause ends), so a pause never turns finished work into a
/// refund.
#[derive(Accounts)]
pub struct SubmitMilestone<'info> {
    /// The job's keeper, or the agent's authority or signing key.
    pub submitter: Signer<'info>,
    /// The job and the accounts a release touches.
    pub settlement: Settlement<'info>,
}

impl SubmitMilestone<'_> {
    fn validate(&self, now: i64) -> Result<()> {
        let submitter = self.submitter.key();
        let by_keeper = submitter == self.settlement.job.load()?.keeper;
        require!(
            by_keeper || AgentKeys::read(&self.settlement.agent)?.include(&submitter),
            AgentrailError::NotKeeperOrAgent
        );
        // work is accepted only from an agent that may be paid and is certified right now
        self.settlement.check_may_submit(now)
    }

    /// Handler.
    pub fn submit_milestone(ctx: Context<Self>, index: u8, result_hash: [u8; 32]) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        ctx.accounts.validate(now)?;
        let settlement = &mut ctx.accounts.settlement;
        let requires_approval = {
            let mut job = settlement.job.load_mut()?;
            job.submit(index, result_hash, now)?;
            job.milestone(index)?.needs_approval()
        };
        emit!(MilestoneSubmitted { job: settlement.job.key(), index, result_hash, requires_approval });
        if !requires_approval && !settlement.config.paused {
            settlement.release(index)?;
        }
        Ok(())
    }
}
