use anchor_lang::prelude::*;

use crate::errors::AgentrailError;

/// Most milestones a job can have.
pub const MAX_MILESTONES: usize = 16;
/// Longest review window a poster may ask for: 90 days.
pub const MAX_REVIEW_WINDOW: i64 = 90 * 86_400;
/// Basis points in one whole.
const BPS: u128 = 10_000;

/// What a poster asks for in one milestone.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MilestoneSpec {
    /// What the agent receives when the milestone is released (token base units).
    pub amount: u64,
    /// Whether the poster must approve before release.
    pub requires_approval: bool,
}

/// Where a milestone is.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MilestoneState {
    /// Not yet reported done.
    Pending,
    /// Reported done; waiting for the poster's approval or the end of the review window.
    Submitted,
    /// Paid to the agent (and the fee to the treasury).
    Released,
    /// Returned to the poster.
    Refunded,
}

/// One milestone of a job.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Milestone {
    /// Paid to the agent on release.
    pub amount: u64,
    /// Protocol fee on top of `amount`, paid to the treasury on release, refunded otherwise.
    pub fee: u64,
    /// Whether the poster must approve before release.
    pub requires_approval: bool,
    /// Current state.
    pub state: MilestoneState,
    /// Hash of the step's receipt, set on submission.
    pub result_hash: [u8; 32],
    /// When it was submitted (unix seconds; 0 before).
    pub submitted_at: i64,
}

impl Milestone {
    /// `amount + fee`: what this milestone holds in the vault until it settles.
    pub fn gross(&self) -> u64 {
        // cannot overflow: Job::new checked the sum of all grosses
        self.amount + self.fee
    }

    /// Whether it is released or refunded.
    pub fn settled(&self) -> bool {
        matches!(self.state, MilestoneState::Released | MilestoneState::Refunded)
    }
}

/// Where a job is.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// Created, not yet funded.
    Created,
    /// Funded; milestones are being worked on.
    Funded,
    /// Every milestone settled, at least by release or rejection.
    Completed,
    /// Cancelled by the poster; unreleased funds returned.
    Cancelled,
    /// The deadline passed and unreleased funds were returned.
    Expired,
}

/// A job: a poster's escrowed budget for an agent, released milestone by milestone.
#[account]
#[derive(InitSpace, Debug)]
pub struct Job {
    /// Who funds the job and receives refunds.
    pub poster: Pubkey,
    /// Poster-chosen number that makes the PDA unique.
    pub nonce: u64,
    /// The agent hired.
    pub agent: Pubkey,
    /// The agent version pinned at creation.
    pub agent_version_seq: u32,
    /// The operator allowed to report milestones done.
    pub keeper: Pubkey,
    /// Token mint of the budget.
    pub mint: Pubkey,
    /// Token program owning the mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// Protocol fee in force at creation; it never changes for this job.
    pub fee_bps: u16,
    /// Minimum certification stage the poster required (0 = none).
    pub min_stage: u8,
    /// The agent version's effective stage at creation.
    pub pinned_stage: u8,
    /// Revocation epoch of the pinned certification; releases stop if it moves.
    pub cert_epoch: u32,
    /// After this time (unix seconds) nothing is released and anyone may refund.
    pub deadline: i64,
    /// Seconds the poster has to review a submitted approval milestone.
    pub review_window: i64,
    /// Creation time.
    pub created_at: i64,
    /// Lifecycle status.
    pub status: JobStatus,
    /// Total moved into the vault by funding (0 before).
    pub funded: u64,
    /// Total paid to the agent.
    pub released: u64,
    /// Total paid to the treasury.
    pub fees_paid: u64,
    /// Total returned to the poster.
    pub refunded: u64,
    /// PDA bump.
    pub bump: u8,
    /// Vault PDA bump.
    pub vault_bump: u8,
    /// The milestones, in order.
    #[max_len(MAX_MILESTONES)]
    pub milestones: Vec<Milestone>,
}

/// Computes the fee on `amount` at `fee_bps`, rounded down.
pub fn fee_for(amount: u64, fee_bps: u16) -> u64 {
    // amount * 1_000 / 10_000 < amount, so the result always fits
    (u128::from(amount) * u128::from(fee_bps) / BPS) as u64
}

impl Job {
    /// Account size for a job with `milestones` milestones.
    pub fn space(milestones: usize) -> usize {
        8 + Job::INIT_SPACE - (MAX_MILESTONES - milestones) * Milestone::INIT_SPACE
    }

    /// Builds milestones from the poster's specs, checking count, amounts and the total.
    pub fn milestones_from(specs: &[MilestoneSpec], fee_bps: u16) -> Result<Vec<Milestone>> {
        require!((1..=MAX_MILESTONES).contains(&specs.len()), AgentrailError::MilestoneCount);
        let mut total: u64 = 0;
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            require!(spec.amount > 0, AgentrailError::ZeroAmount);
            let fee = fee_for(spec.amount, fee_bps);
            total = total.checked_add(spec.amount).and_then(|t| t.checked_add(fee)).ok_or(AgentrailError::Overflow)?;
            out.push(Milestone {
                amount: spec.amount,
                fee,
                requires_approval: spec.requires_approval,
                state: MilestoneState::Pending,
                result_hash: [0; 32],
                submitted_at: 0,
            });
        }
        Ok(out)
    }

    /// What funding must move: every milestone's amount plus fee.
    pub fn total(&self) -> u64 {
        self.milestones.iter().map(Milestone::gross).sum()
    }

    /// What the vault must still hold by the job's own accounting.
    pub fn outstanding(&self) -> u64 {
        if self.funded == 0 {
            return 0;
        }
        self.milestones.iter().filter(|m| !m.settled()).map(Milestone::gross).sum()
    }

    /// The conservation invariant: funded = released + fees + refunded + outstanding.
    pub fn balanced(&self) -> bool {
        let out = [self.released, self.fees_paid, self.refunded, self.outstanding()]
            .iter()
            .try_fold(0u64, |acc, x| acc.checked_add(*x));
        out == Some(self.funded)
    }

    /// The milestone at `index`, or an error naming the bad index.
    pub fn milestone(&self, index: u8) -> Result<&Milestone> {
        self.milestones.get(usize::from(index)).ok_or_else(|| error!(AgentrailError::InvalidMilestone))
    }

    /// Marks milestone `index` submitted at `now` with `result_hash`. Milestones are submitted
    /// in order, each after every earlier one settled, before the deadline, and approval
    /// milestones only when their whole review window fits before the deadline.
    pub fn submit(&mut self, index: u8, result_hash: [u8; 32], now: i64) -> Result<()> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        let m = *self.milestone(index)?;
        require!(m.state == MilestoneState::Pending, AgentrailError::MilestoneNotPending);
        let i = usize::from(index);
        require!(self.milestones[..i].iter().all(Milestone::settled), AgentrailError::MilestoneOutOfOrder);
        if m.requires_approval {
            let review_end = now.checked_add(self.review_window).ok_or(AgentrailError::Overflow)?;
            require!(review_end <= self.deadline, AgentrailError::ReviewOutlastsDeadline);
        }
        let m = &mut self.milestones[i];
        m.state = MilestoneState::Submitted;
        m.result_hash = result_hash;
        m.submitted_at = now;
        Ok(())
    }

    /// Checks that the keeper may give up on milestone `index`: the job is funded and it is the
    /// pending milestone being worked on (every earlier one settled).
    pub fn check_failable(&self, index: u8) -> Result<()> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(self.milestone(index)?.state == MilestoneState::Pending, AgentrailError::MilestoneNotPending);
        let i = usize::from(index);
        require!(self.milestones[..i].iter().all(Milestone::settled), AgentrailError::MilestoneOutOfOrder);
        Ok(())
    }

    /// Checks that submitted approval milestone `index` may be released by the poster at `now`.
    pub fn check_approvable(&self, index: u8, now: i64) -> Result<()> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        let m = self.milestone(index)?;
        require!(m.state == MilestoneState::Submitted, AgentrailError::MilestoneNotSubmitted);
        Ok(())
    }

    /// Checks that milestone `index` may be released by anyone at `now` because the poster
    /// stayed silent through the review window.
    pub fn check_review_elapsed(&self, index: u8, now: i64) -> Result<()> {
        self.check_approvable(index, now)?;
        let m = self.milestone(index)?;
        let review_end = m.submitted_at.checked_add(self.review_window).ok_or(AgentrailError::Overflow)?;
        require!(now >= review_end, AgentrailError::ReviewWindowOpen);
        Ok(())
    }

    /// Records the release of milestone `index`; returns (amount to agent, fee to treasury).
    pub fn release(&mut self, index: u8) -> Result<(u64, u64)> {
        let m = *self.milestone(index)?;
        require!(m.state == MilestoneState::Submitted, AgentrailError::MilestoneNotSubmitted);
        self.released = self.released.checked_add(m.amount).ok_or(AgentrailError::Overflow)?;
        self.fees_paid = self.fees_paid.checked_add(m.fee).ok_or(AgentrailError::Overflow)?;
        self.milestones[usize::from(index)].state = MilestoneState::Released;
        self.complete_if_settled();
        Ok((m.amount, m.fee))
    }

    /// Records the refund of every unsettled milestone whose index and state match `which`;
    /// returns the total to return to the poster (0 for an unfunded job).
    pub fn refund_where(&mut self, which: impl Fn(usize, &Milestone) -> bool) -> Result<u64> {
        let mut total: u64 = 0;
        let funded = self.funded > 0;
        for (_, m) in self.milestones.iter_mut().enumerate().filter(|(i, m)| !m.settled() && which(*i, m)) {
            if funded {
                total = total.checked_add(m.gross()).ok_or(AgentrailError::Overflow)?;
            }
            m.state = MilestoneState::Refunded;
        }
        self.refunded = self.refunded.checked_add(total).ok_or(AgentrailError::Overflow)?;
        Ok(total)
    }

    /// Moves to `Completed` once every milestone is settled.
    pub fn complete_if_settled(&mut self) {
        if self.status == JobStatus::Funded && self.milestones.iter().all(Milestone::settled) {
            self.status = JobStatus::Completed;
        }
    }

    /// Whether the job is over and its accounts may be closed.
    pub fn finished(&self) -> bool {
        matches!(self.status, JobStatus::Completed | JobStatus::Cancelled | JobStatus::Expired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(specs: &[(u64, bool)]) -> Job {
        let specs: Vec<_> =
            specs.iter().map(|&(amount, requires_approval)| MilestoneSpec { amount, requires_approval }).collect();
        let milestones = Job::milestones_from(&specs, 250).unwrap();
        let mut job = Job {
            poster: Pubkey::default(),
            nonce: 0,
            agent: Pubkey::default(),
            agent_version_seq: 1,
            keeper: Pubkey::default(),
            mint: Pubkey::default(),
            token_program: Pubkey::default(),
            fee_bps: 250,
            min_stage: 0,
            pinned_stage: 0,
            cert_epoch: 0,
            deadline: 1_000,
            review_window: 100,
            created_at: 0,
            status: JobStatus::Funded,
            funded: 0,
            released: 0,
            fees_paid: 0,
            refunded: 0,
            bump: 0,
            vault_bump: 0,
            milestones,
        };
        job.funded = job.total();
        job
    }

    #[test]
    fn fees_round_down_and_never_overflow() {
        assert_eq!(fee_for(1_000_000, 250), 25_000);
        assert_eq!(fee_for(39, 250), 0);
        assert_eq!(fee_for(u64::MAX, 1_000), u64::MAX / 10);
    }

    #[test]
    fn milestone_specs_are_checked() {
        assert!(Job::milestones_from(&[], 0).is_err());
        let one = MilestoneSpec { amount: 1, requires_approval: false };
        assert!(Job::milestones_from(&[one; MAX_MILESTONES], 0).is_ok());
        assert!(Job::milestones_from(&[one; MAX_MILESTONES + 1], 0).is_err());
        assert!(Job::milestones_from(&[MilestoneSpec { amount: 0, requires_approval: false }], 0).is_err());
        let huge = MilestoneSpec { amount: u64::MAX / 2, requires_approval: false };
        assert!(Job::milestones_from(&[huge, huge], 0).is_ok());
        let two = MilestoneSpec { amount: 2, requires_approval: false };
        assert!(Job::milestones_from(&[huge, huge, one], 0).is_ok()); // exactly u64::MAX
        assert!(Job::milestones_from(&[huge, huge, two], 0).is_err());
        assert!(Job::milestones_from(&[huge, huge], 10).is_err());
    }

    #[test]
    fn space_matches_serialised_size() {
        let j = job(&[(10, false), (20, true)]);
        let mut data = Vec::new();
        anchor_lang::AccountSerialize::try_serialize(&j, &mut data).unwrap();
        assert_eq!(data.len(), Job::space(2));
    }

    #[test]
    fn submit_in_order_and_within_deadline() {
        let mut j = job(&[(100, false), (200, true)]);
        assert!(j.submit(1, [1; 32], 10).is_err());
        j.submit(0, [1; 32], 10).unwrap();
        assert!(j.submit(0, [1; 32], 10).is_err());
        assert!(j.submit(1, [1; 32], 10).is_err()); // 0 not settled yet
        assert_eq!(j.release(0).unwrap(), (100, 2));
        assert!(j.release(0).is_err());
        assert!(j.submit(1, [2; 32], 901).is_err()); // review would outlast the deadline
        j.submit(1, [2; 32], 900).unwrap();
        assert!(j.check_review_elapsed(1, 999).is_err());
        j.check_review_elapsed(1, 1_000).unwrap();
        assert!(j.check_approvable(1, 1_001).is_err());
        assert!(j.submit(5, [0; 32], 10).is_err());
    }

    #[test]
    fn only_the_current_pending_milestone_may_fail() {
        let mut j = job(&[(100, false), (200, true)]);
        j.check_failable(0).unwrap();
        assert!(j.check_failable(1).is_err()); // 0 not settled yet
        assert!(j.check_failable(2).is_err());
        j.submit(0, [1; 32], 1).unwrap();
        assert!(j.check_failable(0).is_err()); // submitted, not pending
        j.release(0).unwrap();
        j.check_failable(1).unwrap();
        j.status = JobStatus::Cancelled;
        assert!(j.check_failable(1).is_err());
    }

    #[test]
    fn conservation_through_release_and_refund() {
        let mut j = job(&[(100, false), (200, true), (300, true)]);
        assert!(j.balanced());
        j.submit(0, [1; 32], 1).unwrap();
        j.release(0).unwrap();
        assert!(j.balanced());
        let back = j.refund_where(|_, _| true).unwrap();
        assert_eq!(back, 200 + 5 + 300 + 7);
        assert!(j.balanced());
        assert_eq!(j.outstanding(), 0);
        assert_eq!(j.released + j.fees_paid + j.refunded, j.funded);
    }
}
