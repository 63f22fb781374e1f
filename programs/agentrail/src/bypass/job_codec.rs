//! A [`Job`] account's bytes, read and written at fixed offsets.
//!
//! The bytes are Borsh's encoding of `Job`, field by field in declaration order (the IDL, built
//! from Borsh's derive, describes them; the tests check every byte against Borsh's own encoder).
//! Borsh's derived codec goes field by field through a reader or writer with a check and a call
//! for each. Here the fixed part of a job (everything before `terms_uri`) is one copy decoded from
//! a byte array at constant offsets, and each milestone is one copy of its memory: a
//! [`Milestone`] is `repr(C)` with its fields in Borsh's order and at Borsh's offsets (checked
//! below at compile time), so its first [`MILESTONE`] bytes are its encoding
//! ([`BorshMemory`]).

use std::mem::{offset_of, size_of};

use anchor_lang::prelude::*;

use crate::bypass::borsh_memory::{BorshMemory, ReadFrom, Source, encoded};
use crate::state::{Job, JobStatus, MAX_MILESTONES, Milestone, MilestoneState};

/// Bytes of a job before `terms_uri`: poster to terms hash.
const HEAD: usize = 32 + 8 + 32 + 4 + 32 * 3 + 2 + 1 + 1 + 4 + 8 * 3 + 1 + 8 * 5 + 1 + 1 + 1 + 32 + 8 + 2 + 32;
/// Bytes of one milestone, Borsh's encoding: the first bytes of its memory.
const MILESTONE: usize = 8 * 5 + 32 + 2 + 1 + 1;
/// Where a milestone's `requires_approval` byte is: Borsh refuses any but 0 and 1.
const APPROVAL_AT: usize = offset_of!(Milestone, requires_approval);
/// Where its `state` byte is: Borsh refuses one past the last variant.
const STATE_AT: usize = offset_of!(Milestone, state);

// A milestone's memory is its Borsh bytes: every field where Borsh puts it, the padding (if
// any) after the last. A reordered or added field fails the build here.
const _: () = {
    assert!(offset_of!(Milestone, amount) == 0);
    assert!(offset_of!(Milestone, fee) == 8);
    assert!(offset_of!(Milestone, submitted_at) == 16);
    assert!(offset_of!(Milestone, started_at) == 24);
    assert!(offset_of!(Milestone, disputed_at) == 32);
    assert!(offset_of!(Milestone, result_hash) == 40);
    assert!(offset_of!(Milestone, agent_bps) == 72);
    assert!(APPROVAL_AT == 74 && STATE_AT == 75 && STATE_AT + 1 == MILESTONE);
    assert!(size_of::<Milestone>() >= MILESTONE && size_of::<MilestoneState>() == 1);
};

/// Writes fields one after another into a byte array.
struct Put<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl Put<'_> {
    // inlined, so each copy has a constant length: a few stores, no call
    #[inline(always)]
    fn put(&mut self, field: &[u8]) {
        self.bytes[self.at..self.at + field.len()].copy_from_slice(field);
        self.at += field.len();
    }
}

/// Reads fields one after another from a byte array.
struct Take<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Take<'_> {
    #[inline(always)]
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut field = [0u8; N];
        field.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        field
    }

    fn pubkey(&mut self) -> Pubkey {
        Pubkey::new_from_array(self.take())
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take())
    }

    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take())
    }
}

fn invalid() -> std::io::Error {
    std::io::ErrorKind::InvalidData.into()
}

// SAFETY: `repr(C)`, every field at its Borsh offset without padding before the last
// (checked above); `valid` refuses the bool and state bytes that are not values
unsafe impl BorshMemory for Milestone {
    const ENCODED: usize = MILESTONE;

    /// Refuses what Borsh refuses: a bool other than 0 or 1, a state past the last.
    fn valid(bytes: &[u8]) -> bool {
        bytes[APPROVAL_AT] <= 1 && bytes[STATE_AT] <= MilestoneState::Split as u8
    }
}

impl Milestone {
    /// Reads `count` milestones, each in one copy into its place in the vector.
    fn read_all(src: &mut impl Source, count: usize) -> std::io::Result<Vec<Milestone>> {
        let mut milestones = Vec::<Milestone>::with_capacity(count);
        for slot in &mut milestones.spare_capacity_mut()[..count] {
            src.fill_value(slot)?;
        }
        // SAFETY: each of the first `count` slots now holds a milestone (`fill_value`)
        unsafe { milestones.set_len(count) };
        Ok(milestones)
    }
}

impl Job {
    /// The job's bytes (Borsh's encoding), written with a few writes.
    pub(crate) fn write_bytes<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        let mut head = [0u8; HEAD];
        let mut out = Put { bytes: &mut head, at: 0 };
        out.put(self.poster.as_ref());
        out.put(&self.nonce.to_le_bytes());
        out.put(self.agent.as_ref());
        out.put(&self.agent_version_seq.to_le_bytes());
        out.put(self.keeper.as_ref());
        out.put(self.mint.as_ref());
        out.put(self.token_program.as_ref());
        out.put(&self.fee_bps.to_le_bytes());
        out.put(&[self.min_stage, self.pinned_stage]);
        out.put(&self.cert_epoch.to_le_bytes());
        out.put(&self.deadline.to_le_bytes());
        out.put(&self.review_window.to_le_bytes());
        out.put(&self.created_at.to_le_bytes());
        out.put(&[self.status as u8]);
        for amount in [self.funded, self.released, self.fees_earned, self.fees_swept, self.refunded] {
            out.put(&amount.to_le_bytes());
        }
        out.put(&[self.bump, self.vault_bump, self.record_shard]);
        out.put(self.arbiter.as_ref());
        out.put(&self.dispute_window.to_le_bytes());
        out.put(&self.dispute_default_bps.to_le_bytes());
        out.put(&self.terms_hash);
        writer.write_all(&head)?;
        let uri = self.terms_uri.as_bytes();
        writer.write_all(&u32::try_from(uri.len()).map_err(|_| invalid())?.to_le_bytes())?;
        writer.write_all(uri)?;
        writer.write_all(&self.step_timeout.to_le_bytes())?;
        writer.write_all(&u32::try_from(self.milestones.len()).map_err(|_| invalid())?.to_le_bytes())?;
        self.milestones.iter().try_for_each(|m| writer.write_all(encoded(m)))
    }
}

impl AnchorSerialize for Job {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        self.write_bytes(writer)
    }
}

/// Reads what [`Job::write_bytes`] writes; refuses what Borsh refuses, and more milestones
/// than a job can hold.
impl ReadFrom for Job {
    fn read_from(src: &mut impl Source) -> std::io::Result<Self> {
        let mut head = [0u8; HEAD];
        src.fill_init(&mut head)?;
        let mut len = [0u8; 4];
        src.fill_init(&mut len)?;
        let mut uri = vec![0u8; u32::from_le_bytes(len) as usize];
        src.fill_init(&mut uri)?;
        let terms_uri = String::from_utf8(uri).map_err(|_| invalid())?;
        let mut step_timeout = [0u8; 8];
        src.fill_init(&mut step_timeout)?;
        src.fill_init(&mut len)?;
        let count = u32::from_le_bytes(len) as usize;
        if count > MAX_MILESTONES {
            return Err(invalid());
        }
        let milestones = Milestone::read_all(src, count)?;
        let mut b = Take { bytes: &head, at: 0 };
        Ok(Job {
            poster: b.pubkey(),
            nonce: b.u64(),
            agent: b.pubkey(),
            agent_version_seq: u32::from_le_bytes(b.take()),
            keeper: b.pubkey(),
            mint: b.pubkey(),
            token_program: b.pubkey(),
            fee_bps: u16::from_le_bytes(b.take()),
            min_stage: b.take::<1>()[0],
            pinned_stage: b.take::<1>()[0],
            cert_epoch: u32::from_le_bytes(b.take()),
            deadline: b.i64(),
            review_window: b.i64(),
            created_at: b.i64(),
            status: match b.take::<1>()[0] {
                0 => JobStatus::Created,
                1 => JobStatus::Funded,
                2 => JobStatus::Completed,
                3 => JobStatus::Cancelled,
                4 => JobStatus::Expired,
                _ => return Err(invalid()),
            },
            funded: b.u64(),
            released: b.u64(),
            fees_earned: b.u64(),
            fees_swept: b.u64(),
            refunded: b.u64(),
            bump: b.take::<1>()[0],
            vault_bump: b.take::<1>()[0],
            record_shard: b.take::<1>()[0],
            arbiter: b.pubkey(),
            dispute_window: b.i64(),
            dispute_default_bps: u16::from_le_bytes(b.take()),
            terms_hash: b.take(),
            terms_uri,
            step_timeout: i64::from_le_bytes(step_timeout),
            milestones,
        })
    }
}

crate::deserialize_with_read_from!(Job);

#[cfg(test)]
mod tests {
    use borsh::to_vec;

    use super::*;

    /// Borsh's encoding of `job`, field by field in declaration order: what the IDL describes.
    fn borsh_bytes(j: &Job) -> Vec<u8> {
        let mut out = Vec::new();
        let mut add = |bytes: Vec<u8>| out.extend(bytes);
        add(to_vec(&j.poster).unwrap());
        add(to_vec(&j.nonce).unwrap());
        add(to_vec(&j.agent).unwrap());
        add(to_vec(&j.agent_version_seq).unwrap());
        add(to_vec(&j.keeper).unwrap());
        add(to_vec(&j.mint).unwrap());
        add(to_vec(&j.token_program).unwrap());
        add(to_vec(&j.fee_bps).unwrap());
        add(to_vec(&j.min_stage).unwrap());
        add(to_vec(&j.pinned_stage).unwrap());
        add(to_vec(&j.cert_epoch).unwrap());
        add(to_vec(&j.deadline).unwrap());
        add(to_vec(&j.review_window).unwrap());
        add(to_vec(&j.created_at).unwrap());
        add(to_vec(&j.status).unwrap());
        add(to_vec(&j.funded).unwrap());
        add(to_vec(&j.released).unwrap());
        add(to_vec(&j.fees_earned).unwrap());
        add(to_vec(&j.fees_swept).unwrap());
        add(to_vec(&j.refunded).unwrap());
        add(to_vec(&j.bump).unwrap());
        add(to_vec(&j.vault_bump).unwrap());
        add(to_vec(&j.record_shard).unwrap());
        add(to_vec(&j.arbiter).unwrap());
        add(to_vec(&j.dispute_window).unwrap());
        add(to_vec(&j.dispute_default_bps).unwrap());
        add(to_vec(&j.terms_hash).unwrap());
        add(to_vec(&j.terms_uri).unwrap());
        add(to_vec(&j.step_timeout).unwrap());
        add(to_vec(&j.milestones).unwrap());
        out
    }

    /// `bytes` read as an account's bytes and through a reader: the two sources of the codec.
    fn read_both(bytes: &[u8]) -> [std::io::Result<Job>; 2] {
        let mut slice = bytes;
        let from_slice = Job::deserialize(&mut slice);
        if from_slice.is_ok() {
            assert!(slice.is_empty(), "every byte read");
        }
        [from_slice, Job::deserialize_reader(&mut std::io::Cursor::new(bytes))]
    }

    fn sample(milestones: usize, uri: &str) -> Job {
        let states = [
            MilestoneState::Pending,
            MilestoneState::Submitted,
            MilestoneState::Released,
            MilestoneState::Refunded,
            MilestoneState::Disputed,
            MilestoneState::Split,
        ];
        let n = |i: usize, shift: u32| (i as u64 + 1).wrapping_shl(shift) ^ 0x5a5a;
        Job {
            poster: Pubkey::new_unique(),
            nonce: u64::MAX - 1,
            agent: Pubkey::new_unique(),
            agent_version_seq: 0xDEAD_BEEF,
            keeper: Pubkey::new_unique(),
            mint: Pubkey::new_unique(),
            token_program: Pubkey::new_unique(),
            fee_bps: 250,
            min_stage: 3,
            pinned_stage: 4,
            cert_epoch: 7,
            deadline: -5,
            review_window: 86_400,
            created_at: 1_795_305_600,
            status: JobStatus::Expired,
            funded: 1 << 40,
            released: 1 << 41,
            fees_earned: 3,
            fees_swept: 2,
            refunded: u64::MAX,
            bump: 254,
            vault_bump: 253,
            record_shard: 3,
            arbiter: Pubkey::new_unique(),
            dispute_window: 3_600,
            dispute_default_bps: 4_000,
            terms_hash: [9; 32],
            terms_uri: uri.into(),
            step_timeout: 600,
            milestones: (0..milestones)
                .map(|i| Milestone {
                    amount: n(i, 50),
                    fee: n(i, 3),
                    requires_approval: i % 2 == 1,
                    state: states[i % states.len()],
                    result_hash: [i as u8; 32],
                    submitted_at: -(i as i64),
                    started_at: i64::MAX - i as i64,
                    disputed_at: n(i, 20) as i64,
                    agent_bps: 10_000 - i as u16,
                })
                .collect(),
        }
    }

    #[test]
    fn jobs_are_written_and_read_as_borsh_encodes_them() {
        for (milestones, uri) in [(0, ""), (1, "https://t.example/é"), (MAX_MILESTONES, &*"u".repeat(200))] {
            let job = sample(milestones, uri);
            let mut ours = Vec::new();
            job.write_bytes(&mut ours).unwrap();
            let borsh = borsh_bytes(&job);
            assert_eq!(ours, borsh, "{milestones} milestones");
            assert_eq!(ours.len(), Job::space(milestones, uri.len()) - 8);
            for back in read_both(&borsh) {
                assert_eq!(borsh_bytes(&back.unwrap()), borsh, "read back field for field");
            }
        }
    }

    #[test]
    fn what_borsh_refuses_is_refused() {
        let job = sample(2, "https://t.example/");
        let good = borsh_bytes(&job);
        let status_at = HEAD - 32 - 2 - 8 - 32 - 3 - 8 * 5 - 1;
        let uri_at = HEAD + 4;
        let first = HEAD + 4 + job.terms_uri.len() + 8 + 4;
        for (at, byte, what) in [
            (status_at, 5u8, "a status past the last"),
            (uri_at, 0xFF, "terms that are not UTF-8"),
            (first + APPROVAL_AT, 2, "a bool of 2"),
            (MILESTONE + first + STATE_AT, 6, "a milestone state past the last"),
        ] {
            let mut bad = good.clone();
            bad[at] = byte;
            assert!(read_both(&bad).iter().all(|r| r.is_err()), "{what}");
        }
        assert!(read_both(&good[..good.len() - 1]).iter().all(|r| r.is_err()), "cut short");
        let mut seventeen = sample(MAX_MILESTONES + 1, "");
        let mut bytes = Vec::new();
        seventeen.write_bytes(&mut bytes).unwrap();
        assert!(read_both(&bytes).iter().all(|r| r.is_err()), "more milestones than a job holds");
        seventeen.milestones.truncate(MAX_MILESTONES);
        bytes.clear();
        seventeen.write_bytes(&mut bytes).unwrap();
        assert!(read_both(&bytes).iter().all(|r| r.is_ok()));
    }
}
