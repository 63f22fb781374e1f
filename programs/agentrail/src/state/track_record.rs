use anchor_lang::prelude::*;

/// An agent's track record in one mint, written only by the program when its milestones
/// settle: paid work (and work refused or abandoned) is all it counts, so it costs real escrowed
/// funds and fees to build, unlike reviews. One per (agent, mint), created with the first job
/// (the poster pays its rent once). Counters saturate instead of failing: a record must never
/// block a payment or a refund.
#[account]
#[derive(InitSpace, Debug, Default)]
pub struct TrackRecord {
    /// The agent.
    pub agent: Pubkey,
    /// The mint its jobs were paid in.
    pub mint: Pubkey,
    /// Milestones released to the agent.
    pub released: u64,
    /// Milestones refunded without a verdict on the work: cancelled jobs and expired deadlines.
    pub refunded: u64,
    /// Milestones the poster rejected in review.
    pub rejected: u64,
    /// Milestones the keeper gave up on (the step failed or its guards refused payment).
    pub failed: u64,
    /// Base units of the mint released to the agent.
    pub volume: u128,
    /// Jobs funded with this agent in this mint.
    pub jobs: u64,
    /// PDA bump.
    pub bump: u8,
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
}

impl TrackRecord {
    /// Records a released milestone of `amount` base units.
    pub fn record_release(&mut self, amount: u64) {
        self.released = self.released.saturating_add(1);
        self.volume = self.volume.saturating_add(u128::from(amount));
    }

    /// Records the refunded milestones `indices` for `cause`.
    pub fn record_refunds(&mut self, indices: &[u8], cause: RefundCause) {
        for &i in indices {
            let counter = match cause {
                RefundCause::Rejected(r) if r == i => &mut self.rejected,
                RefundCause::Failed(f) if f == i => &mut self.failed,
                _ => &mut self.refunded,
            };
            *counter = counter.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_cause_and_never_overflows() {
        let mut t = TrackRecord::default();
        t.record_release(5);
        t.record_release(7);
        t.record_refunds(&[1, 2, 3], RefundCause::Rejected(1));
        t.record_refunds(&[4], RefundCause::Failed(4));
        t.record_refunds(&[5, 6], RefundCause::Failed(5));
        t.record_refunds(&[7], RefundCause::NoVerdict);
        assert_eq!((t.released, t.volume, t.rejected, t.failed, t.refunded), (2, 12, 1, 2, 4));
        t.released = u64::MAX;
        t.volume = u128::MAX;
        t.record_release(1);
        assert_eq!((t.released, t.volume), (u64::MAX, u128::MAX));
    }
}
