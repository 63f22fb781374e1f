use anchor_lang::prelude::*;

use crate::state::MilestoneSet;

/// One shard of an agent's track record in one mint, written only by the program when its
/// milestones settle: paid work (and work refused or abandoned) is all it counts, so it costs
/// real escrowed funds and fees to build, unlike reviews. An agent's record in a mint is the sum
/// of its [`TRACK_RECORD_SHARDS`](crate::state::TRACK_RECORD_SHARDS) shards; each job counts in
/// the one it names ([`Job::record_shard`](crate::state::Job::record_shard)), so a
/// popular agent's settlements do not all write-lock one account. A shard is created with the
/// first job that counts in it (that poster pays its rent once). Counters saturate instead of
/// failing: a record must never block a payment or a refund.
#[account(zero_copy)]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TrackRecord {
    /// The agent.
    pub agent: Pubkey,
    /// The mint its jobs were paid in.
    pub mint: Pubkey,
    /// Milestones released to the agent.
    pub released: u64,
    /// Milestones refunded without a verdict on the work: cancelled jobs and expired deadlines.
    pub refunded: u64,
    /// Milestones the poster rejected in review (with an arbiter, each also opens a dispute).
    pub rejected: u64,
    /// Milestones the keeper gave up on (the step failed or its guards refused payment).
    pub failed: u64,
    /// Base units of the mint released to the agent: a little-endian `u128`
    /// ([`TrackRecord::volume`]), kept as bytes so the account needs no 16-byte alignment.
    pub volume_le: [u8; 16],
    /// Jobs funded with this agent in this mint.
    pub jobs: u64,
    /// Rejections that went to the job's arbiter. Each ends in exactly one of the five
    /// counters below (or is still open): `disputed = conceded + for_agent + for_poster +
    /// split + open`.
    pub disputed: u64,
    /// Disputes the agent ended by accepting the rejection (refunded to the poster).
    pub disputes_conceded: u64,
    /// Disputes decided wholly for the agent (paid in full).
    pub disputes_for_agent: u64,
    /// Disputes decided wholly for the poster, or forfeited because the agent could no longer
    /// be paid (refunded in full).
    pub disputes_for_poster: u64,
    /// Disputes decided with a split between agent and poster.
    pub disputes_split: u64,
    /// Of the decided disputes, those the job's default rule decided (the arbiter stayed silent).
    pub disputes_defaulted: u64,
    /// Which shard this is (`0..TRACK_RECORD_SHARDS`).
    pub shard: u8,
    /// PDA bump.
    pub bump: u8,
    /// Unused: the record's size is a multiple of its alignment.
    pub padding: [u8; 6],
}

impl TrackRecord {
    /// Account size: the discriminator and the record.
    pub const SPACE: usize = 8 + std::mem::size_of::<TrackRecord>();

    /// The bump of the record in `data` (an account this program owns), refusing another kind
    /// of account with the errors `AccountLoader<TrackRecord>` gives.
    pub fn stored_bump(data: &[u8]) -> Result<u8> {
        use anchor_lang::error::ErrorCode;
        let discriminator = data.get(..8).ok_or(ErrorCode::AccountDiscriminatorNotFound)?;
        require!(discriminator == Self::DISCRIMINATOR, ErrorCode::AccountDiscriminatorMismatch);
        let record = data.get(8..Self::SPACE).ok_or(ErrorCode::AccountDidNotDeserialize)?;
        Ok(record[std::mem::offset_of!(TrackRecord, bump)])
    }

    /// Base units of the mint released to the agent.
    pub fn volume(&self) -> u128 {
        u128::from_le_bytes(self.volume_le)
    }

    /// Sets [`TrackRecord::volume`].
    pub fn set_volume(&mut self, volume: u128) {
        self.volume_le = volume.to_le_bytes();
    }
}

/// Why milestones went back to the poster, for the track record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundCause {
    /// The poster rejected milestone `0` in review (the rest, with `cancel`, count as refunded).
    Rejected(u8),
    /// The keeper gave up on milestone `0` (the rest, with `cancel`, count as refunded).
    Failed(u8),
    /// Cancelled before any work, or expired: no verdict on the work.
    NoVerdict,
    /// The agent accepted the rejection of disputed milestone `0`.
    Conceded(u8),
}

/// Who decided a dispute, for the track record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decider {
    /// The job's arbiter, within the dispute window.
    Arbiter,
    /// The job's default rule, after the arbiter stayed silent through the window.
    DefaultRule,
}

impl TrackRecord {
    /// Whether this is the shard `job` counts in: its agent, its mint, and the shard it names.
    /// Only the program creates track records (from these same seeds), so checking the fields
    /// is as strong as re-deriving the address.
    pub fn is_shard_for(&self, job: &crate::state::Job) -> bool {
        self.agent == job.agent && self.mint == job.mint && self.shard == job.record_shard
    }

    /// Records a released milestone of `amount` base units.
    pub fn record_release(&mut self, amount: u64) {
        self.released = self.released.saturating_add(1);
        self.set_volume(self.volume().saturating_add(u128::from(amount)));
    }

    /// Records the refunded milestones `refunded` (of which `disputed` were in dispute) for
    /// `cause`. The milestone a concession names counts as conceded; any other disputed one was
    /// forfeited (the agent could no longer be paid) and counts for the poster; the milestone a
    /// rejection or a failure names counts as that; the rest as plain refunds. Counted by set,
    /// not milestone by milestone: a 16-milestone refund is one of the program's hot paths.
    pub fn record_refunds(&mut self, refunded: MilestoneSet, disputed: MilestoneSet, cause: RefundCause) {
        let (mut refunded, mut disputed) = (refunded, disputed.and(refunded));
        if let RefundCause::Conceded(c) = cause
            && refunded.remove(usize::from(c))
        {
            disputed.remove(usize::from(c));
            self.disputes_conceded = self.disputes_conceded.saturating_add(1);
        }
        self.disputes_for_poster = self.disputes_for_poster.saturating_add(disputed.len());
        let mut plain = refunded.without(disputed);
        let named = match cause {
            RefundCause::Rejected(r) if plain.remove(usize::from(r)) => Some(&mut self.rejected),
            RefundCause::Failed(f) if plain.remove(usize::from(f)) => Some(&mut self.failed),
            _ => None,
        };
        if let Some(counter) = named {
            *counter = counter.saturating_add(1);
        }
        self.refunded = self.refunded.saturating_add(plain.len());
    }

    /// Records a rejection that opened a dispute.
    pub fn record_dispute(&mut self) {
        self.rejected = self.rejected.saturating_add(1);
        self.disputed = self.disputed.saturating_add(1);
    }

    /// Records a dispute decided by `decider` with `agent_bps` to the agent, who received
    /// `to_agent` base units (counted in the volume).
    pub fn record_decision(&mut self, agent_bps: u16, to_agent: u64, decider: Decider) {
        let counter = match agent_bps {
            0 => &mut self.disputes_for_poster,
            crate::state::MAX_SHARE_BPS => &mut self.disputes_for_agent,
            _ => &mut self.disputes_split,
        };
        *counter = counter.saturating_add(1);
        if decider == Decider::DefaultRule {
            self.disputes_defaulted = self.disputes_defaulted.saturating_add(1);
        }
        self.set_volume(self.volume().saturating_add(u128::from(to_agent)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(indices: &[usize]) -> MilestoneSet {
        let mut s = MilestoneSet::EMPTY;
        indices.iter().for_each(|i| s.insert(*i));
        s
    }

    #[test]
    fn counts_by_cause_and_never_overflows() {
        let mut t = TrackRecord::default();
        t.record_release(5);
        t.record_release(7);
        t.record_refunds(set(&[1, 2, 3]), set(&[]), RefundCause::Rejected(1));
        t.record_refunds(set(&[4]), set(&[]), RefundCause::Failed(4));
        t.record_refunds(set(&[5, 6]), set(&[]), RefundCause::Failed(5));
        t.record_refunds(set(&[7]), set(&[]), RefundCause::NoVerdict);
        assert_eq!((t.released, t.volume(), t.rejected, t.failed, t.refunded), (2, 12, 1, 2, 4));
        t.record_dispute();
        t.record_dispute();
        t.record_dispute();
        t.record_dispute();
        t.record_refunds(set(&[0]), set(&[0]), RefundCause::Conceded(0));
        t.record_refunds(set(&[1, 2]), set(&[1]), RefundCause::NoVerdict); // forfeited, then plain
        t.record_decision(10_000, 8, Decider::Arbiter);
        t.record_decision(2_500, 3, Decider::DefaultRule);
        assert_eq!((t.rejected, t.disputed, t.disputes_conceded, t.disputes_for_poster), (5, 4, 1, 1));
        assert_eq!((t.disputes_for_agent, t.disputes_split, t.disputes_defaulted), (1, 1, 1));
        assert_eq!((t.refunded, t.volume()), (5, 23));
        t.released = u64::MAX;
        t.set_volume(u128::MAX);
        t.record_release(1);
        assert_eq!((t.released, t.volume()), (u64::MAX, u128::MAX));
    }

    /// The rule milestone by milestone: each refunded milestone counts once, in the first
    /// counter that applies.
    fn record_one_by_one(t: &mut TrackRecord, refunded: &[(u8, bool)], cause: RefundCause) {
        for &(i, was_disputed) in refunded {
            let counter = match cause {
                RefundCause::Conceded(c) if c == i => &mut t.disputes_conceded,
                _ if was_disputed => &mut t.disputes_for_poster,
                RefundCause::Rejected(r) if r == i => &mut t.rejected,
                RefundCause::Failed(f) if f == i => &mut t.failed,
                _ => &mut t.refunded,
            };
            *counter += 1;
        }
    }

    #[test]
    fn counting_by_set_is_counting_one_by_one() {
        // every refunded and disputed set of 5 milestones, with every cause naming each of them
        for refunded in 0u32..32 {
            for disputed in 0u32..32 {
                for named in 0u8..6 {
                    for cause in [
                        RefundCause::NoVerdict,
                        RefundCause::Rejected(named),
                        RefundCause::Failed(named),
                        RefundCause::Conceded(named),
                    ] {
                        let pairs: Vec<(u8, bool)> =
                            (0u8..5).filter(|i| refunded >> i & 1 == 1).map(|i| (i, disputed >> i & 1 == 1)).collect();
                        let (mut by_set, mut one_by_one) = (TrackRecord::default(), TrackRecord::default());
                        let ixs = |bits: u32| (0..5).filter(|i| bits >> i & 1 == 1).collect::<Vec<_>>();
                        by_set.record_refunds(set(&ixs(refunded)), set(&ixs(disputed)), cause);
                        record_one_by_one(&mut one_by_one, &pairs, cause);
                        assert_eq!(by_set, one_by_one, "{refunded:05b} {disputed:05b} {cause:?}");
                    }
                }
            }
        }
    }
}
