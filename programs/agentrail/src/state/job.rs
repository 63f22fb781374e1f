use anchor_lang::prelude::*;

use crate::errors::AgentrailError;
use crate::state::{AgentStanding, AgentStatus, Certification};

/// The domain tag that starts every [`Job::consent_digest`].
pub const CONSENT_DOMAIN: &[u8] = b"agentrail:accept-job:v1";
/// Most milestones a job can have.
pub const MAX_MILESTONES: usize = 16;
/// Longest review window a poster may ask for: 90 days.
pub const MAX_REVIEW_WINDOW: i64 = 90 * 86_400;
/// Basis points in one whole.
const BPS: u128 = 10_000;
/// Longest terms URI, in bytes.
pub const MAX_TERMS_URI_LEN: usize = 200;
/// Shortest step timeout: how long a started first step shields the job from cancellation.
pub const MIN_STEP_TIMEOUT: i64 = 60;
/// Longest step timeout: 7 days.
pub const MAX_STEP_TIMEOUT: i64 = 7 * 86_400;
/// Shortest dispute window an arbitrated job may give its arbiter: one hour.
pub const MIN_DISPUTE_WINDOW: i64 = 3_600;
/// Longest dispute window: 90 days.
pub const MAX_DISPUTE_WINDOW: i64 = 90 * 86_400;
/// Shards of each agent's track record per mint: a job counts in one, chosen by its address.
/// Four: a release also writes the agent's payout token account, one per agent and mint,
/// so more shards would not raise the agent's release ceiling; four keep funding, refunds and
/// disputes off the accounts releases lock.
pub const TRACK_RECORD_SHARDS: u8 = 4;
/// Basis points in one whole, as the largest share of a milestone an arbiter can give.
pub const MAX_SHARE_BPS: u16 = 10_000;

/// What a poster asks for in one milestone.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MilestoneSpec {
    /// What the agent receives when the milestone is released (token base units).
    pub amount: u64,
    /// Whether the poster must approve before release.
    pub requires_approval: bool,
}

crate::state::byte_state::byte_state! {
    /// Where a milestone is.
    pub struct MilestoneState {
        /// Not yet reported done.
        Pending = 0,
        /// Reported done; waiting for the poster's approval or the end of the review window.
        Submitted = 1,
        /// Paid to the agent (and the fee earned by the treasury).
        Released = 2,
        /// Returned to the poster.
        Refunded = 3,
        /// Rejected by the poster in a job with an arbiter: held until the agent concedes, the
        /// arbiter decides, or the dispute window ends and the job's default rule decides.
        Disputed = 4,
        /// Divided by a dispute's decision: `agent_bps` of it paid to the agent (and that share
        /// of the fee earned by the treasury), the rest returned to the poster.
        Split = 5,
    }
}

/// One milestone of a job, as the job account holds it.
#[zero_copy]
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Milestone {
    /// Paid to the agent on release.
    pub amount: u64,
    /// Protocol fee on top of `amount`, earned by the treasury on release, refunded otherwise.
    pub fee: u64,
    /// When it was submitted (unix seconds; 0 before).
    pub submitted_at: i64,
    /// When the keeper marked its step started (unix seconds; 0 when never).
    pub started_at: i64,
    /// When the poster's rejection put it in dispute (unix seconds; 0 when never).
    pub disputed_at: i64,
    /// Hash of the step's receipt, set on submission.
    pub result_hash: [u8; 32],
    /// The agent's share a dispute's decision gave it, in basis points (0 when undisputed).
    pub agent_bps: u16,
    /// 1 when the poster must approve before release, 0 otherwise ([`Milestone::needs_approval`]).
    pub requires_approval: u8,
    /// Current state.
    pub state: MilestoneState,
    /// Unused: the milestone's size is a multiple of its alignment.
    pub padding: [u8; 4],
}

impl Milestone {
    /// Whether the poster must approve it before release.
    pub fn needs_approval(&self) -> bool {
        self.requires_approval != 0
    }

    /// `amount + fee`: what this milestone holds in the vault until it settles.
    pub fn gross(&self) -> u64 {
        // cannot overflow: Job::new checked the sum of all grosses
        self.amount + self.fee
    }

    /// Whether it is released, refunded or split: nothing of it stays in the vault.
    pub fn settled(&self) -> bool {
        matches!(self.state, MilestoneState::Released | MilestoneState::Refunded | MilestoneState::Split)
    }

    /// When the poster's right to reject it ends: its submission plus the review window for an
    /// approval milestone, its submission for the others (they are accepted on submission).
    pub fn review_end(&self, review_window: i64) -> Result<i64> {
        let window = if self.needs_approval() { review_window } else { 0 };
        Ok(self.submitted_at.checked_add(window).ok_or(AgentrailError::Overflow)?)
    }

    /// When the arbiter's right to decide it ends: its dispute's start plus `dispute_window`.
    pub fn dispute_end(&self, dispute_window: i64) -> Result<i64> {
        Ok(self.disputed_at.checked_add(dispute_window).ok_or(AgentrailError::Overflow)?)
    }

    /// Whether it is owed to the agent at `now`: submitted, and accepted by submission (no
    /// approval needed) or by the poster's silence through the whole review window. Owed
    /// milestones are never refunded by a deadline; only an ineligible agent loses them.
    pub fn owed(&self, review_window: i64, now: i64) -> bool {
        self.state == MilestoneState::Submitted && self.review_end(review_window).is_ok_and(|end| now >= end)
    }
}

/// How a disputed milestone divides: what goes to the agent, the treasury and the poster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeShares {
    /// Paid to the agent: its share of the milestone's amount.
    pub to_agent: u64,
    /// Earned by the treasury: the same share of the fee (the fee follows the work paid for).
    pub fee: u64,
    /// Returned to the poster: everything else.
    pub to_poster: u64,
}

/// A set of a job's milestones, by index ([`MAX_MILESTONES`] fit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MilestoneSet(u32);

const _: () = assert!(MAX_MILESTONES <= u32::BITS as usize);

impl MilestoneSet {
    /// No milestone.
    pub const EMPTY: Self = Self(0);

    /// The bit of milestone `index`; none past the set's width (a job never has such an index).
    fn bit(index: usize) -> u32 {
        u32::try_from(index).ok().and_then(|i| 1u32.checked_shl(i)).unwrap_or(0)
    }

    /// Adds milestone `index` (below [`MAX_MILESTONES`]).
    pub fn insert(&mut self, index: usize) {
        self.0 |= Self::bit(index);
    }

    /// Removes milestone `index`; returns whether it was in the set.
    pub fn remove(&mut self, index: usize) -> bool {
        let had = self.contains(index);
        self.0 &= !Self::bit(index);
        had
    }

    /// The set of the milestones `indices`.
    pub fn of(indices: &[usize]) -> Self {
        let mut set = Self::EMPTY;
        for &i in indices {
            set.insert(i);
        }
        set
    }

    /// Whether milestone `index` is in the set.
    pub fn contains(&self, index: usize) -> bool {
        self.0 & Self::bit(index) != 0
    }

    /// The milestones in both sets.
    pub fn and(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// The milestones of this set not in `other`.
    pub fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    /// The lowest milestone in the set.
    pub fn first(&self) -> Option<usize> {
        (!self.is_empty()).then(|| self.0.trailing_zeros() as usize)
    }

    /// How many milestones are in the set.
    pub fn len(&self) -> u64 {
        u64::from(self.0.count_ones())
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

/// What a refund returned: the total to the poster, the milestones refunded (and of those,
/// the ones that were in dispute), and whether every milestone of the job is now settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refunds {
    /// Base units back to the poster (0 for an unfunded job).
    pub total: u64,
    /// The milestones refunded.
    pub refunded: MilestoneSet,
    /// Of those, the ones that were in dispute.
    pub disputed: MilestoneSet,
    /// Whether every milestone is settled after the refund.
    pub all_settled: bool,
}

crate::state::byte_state::byte_state! {
    /// Where a job is.
    pub struct JobStatus {
        /// Created, not yet funded.
        Created = 0,
        /// Funded; milestones are being worked on.
        Funded = 1,
        /// Every milestone settled, at least by release or rejection.
        Completed = 2,
        /// Cancelled by the poster; unreleased funds returned.
        Cancelled = 3,
        /// The deadline passed and unreleased funds were returned.
        Expired = 4,
    }
}

/// A job: a poster's escrowed budget for an agent, released milestone by milestone. One
/// zero-copy layout, read and written in place: keys, then eight-byte numbers, then the
/// narrower ones, the terms URI and the milestones last, with no padding between them.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Job {
    /// Who funds the job and receives refunds.
    pub poster: Pubkey,
    /// The agent hired.
    pub agent: Pubkey,
    /// The operator allowed to report milestones done.
    pub keeper: Pubkey,
    /// Token mint of the budget.
    pub mint: Pubkey,
    /// Token program owning the mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// Who decides a disputed milestone; `Pubkey::default()` for a job without an arbiter,
    /// whose rejections refund at once. See [`Job::arbiter`].
    pub arbiter: Pubkey,
    /// SHA-256 of the job's terms document (what each milestone's work is); never changes.
    pub terms_hash: [u8; 32],
    /// Poster-chosen number that makes the PDA unique.
    pub nonce: u64,
    /// After this time (unix seconds) nothing is released and anyone may refund.
    pub deadline: i64,
    /// Seconds the poster has to review a submitted approval milestone.
    pub review_window: i64,
    /// Creation time.
    pub created_at: i64,
    /// Total moved into the vault by funding (0 before).
    pub funded: u64,
    /// Total paid to the agent.
    pub released: u64,
    /// Total of the fees the treasury earned on released (or split) milestones. Earned fees
    /// stay in the vault until [`sweep_fees`](crate::instructions::SweepFees) moves them, so a
    /// release never writes the protocol-wide treasury account.
    pub fees_earned: u64,
    /// Of `fees_earned`, what has been swept to the treasury.
    pub fees_swept: u64,
    /// Total returned to the poster.
    pub refunded: u64,
    /// Of `released`, what the vault still holds for the agent: its payout account existed but
    /// could not take the transfer (its owner reassigned, frozen, or requiring memos). The
    /// payout wallet claims it to any token account it owns ([`Job::take_held`]).
    pub held_for_agent: u64,
    /// Of `refunded`, what the vault still holds for the poster, likewise.
    pub held_for_poster: u64,
    /// Seconds the arbiter has to decide, from the rejection (0 without an arbiter).
    pub dispute_window: i64,
    /// Seconds each started step has: a started first step shields the job from the poster's
    /// cancellation that long, and a started step may be failed only once it ran out.
    pub step_timeout: i64,
    /// When the agent accepted the job ([`Job::consent_digest`]); 0 until then. Before it no
    /// step starts, no work is submitted and nothing counts in the agent's record.
    pub accepted_at: i64,
    /// The agent version pinned at creation.
    pub agent_version_seq: u32,
    /// Revocation epoch of the pinned certification; releases stop if it moves.
    pub cert_epoch: u32,
    /// Protocol fee in force at creation; it never changes for this job.
    pub fee_bps: u16,
    /// The agent's share, in basis points, when the arbiter stays silent through the window.
    pub dispute_default_bps: u16,
    /// Minimum certification stage the poster required (0 = none).
    pub min_stage: u8,
    /// The agent version's effective stage at creation.
    pub pinned_stage: u8,
    /// Lifecycle status.
    pub status: JobStatus,
    /// PDA bump.
    pub bump: u8,
    /// Vault PDA bump.
    pub vault_bump: u8,
    /// Which of the agent's [`TRACK_RECORD_SHARDS`] track-record shards in this mint the job
    /// counts in (chosen at creation, [`Job::default_record_shard`] by the clients).
    pub record_shard: u8,
    /// How many of [`Job::milestones`] the job has ([`Job::milestones`]).
    pub milestone_count: u8,
    /// How many bytes of `terms_uri` are the URI ([`Job::terms_uri`]).
    pub terms_uri_len: u8,
    /// Where the terms document can be fetched (https, ipfs, ...), in its first
    /// `terms_uri_len` bytes; never changes.
    pub terms_uri: [u8; MAX_TERMS_URI_LEN],
    /// Unused: the milestones start at a multiple of their alignment.
    pub padding: [u8; 4],
    /// The milestones, in order: the first `milestone_count` are the job's.
    pub milestone_slots: [Milestone; MAX_MILESTONES],
}

/// A party to a job whose award or refund the vault may hold ([`Job::hold`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The agent, paid to its payout wallet.
    Agent,
    /// The poster.
    Poster,
}

impl Party {
    /// Its name in events.
    pub fn name(self) -> &'static str {
        match self {
            Party::Agent => "agent",
            Party::Poster => "poster",
        }
    }
}

/// A job PDA's signer seeds ([`Job::signer`]).
pub struct JobSigner {
    poster: Pubkey,
    nonce: [u8; 8],
    bump: [u8; 1],
}

impl JobSigner {
    /// `[JOB, poster, nonce, bump]`.
    pub fn seeds(&self) -> [&[u8]; 4] {
        [crate::state::seeds::JOB, self.poster.as_ref(), &self.nonce, &self.bump]
    }
}

/// What a closed job's account becomes: its discriminator only, so its address (poster and
/// nonce) can never hold a job again.
#[account]
#[derive(Debug)]
pub struct ClosedJob {}

impl ClosedJob {
    /// Account size: the discriminator.
    pub const SPACE: usize = 8;
}

/// Computes the fee on `amount` at `fee_bps`, rounded down.
pub fn fee_for(amount: u64, fee_bps: u16) -> u64 {
    bps_of(amount, fee_bps)
}

/// `amount * bps / 10_000`, rounded down: at most `amount` for `bps <= 10_000`, so it fits.
/// In 64 bits for every amount up to [`BPS_FITS`] (~2.8e14 base units), in 128 above: a
/// 128-bit multiplication or division is a library call on SBF, and so is `checked_mul`
/// (it computes the 128-bit product to see the overflow).
fn bps_of(amount: u64, bps: u16) -> u64 {
    if amount <= BPS_FITS {
        // cannot overflow: amount * u16::MAX <= u64::MAX
        amount.wrapping_mul(u64::from(bps)) / BPS as u64
    } else {
        (u128::from(amount) * u128::from(bps) / BPS) as u64
    }
}

/// The largest amount whose product with any `u16` fits in 64 bits.
const BPS_FITS: u64 = u64::MAX / u16::MAX as u64;

impl Default for Job {
    /// A job of zeros (no milestones, status `Created`), as a freshly created account holds.
    fn default() -> Self {
        bytemuck::Zeroable::zeroed()
    }
}

impl Job {
    /// Account size: the discriminator and the job.
    pub const SPACE: usize = 8 + std::mem::size_of::<Job>();

    /// Whether `key` is the address of `poster`'s job with this job's nonce and bump
    /// (`[JOB, poster, nonce]`, checked by hash: [`is_derived`](crate::bypass::derived::is_derived)).
    pub fn is_at(&self, key: &Pubkey, poster: &Pubkey) -> bool {
        let seeds: [&[u8]; 3] = [crate::state::seeds::JOB, poster.as_ref(), &self.nonce.to_le_bytes()];
        crate::bypass::derived::is_derived(key, &seeds, self.bump, &crate::ID)
    }

    /// Whether `vault` is the vault of the job at `job` (`[VAULT, job]` with the stored vault
    /// bump, checked by hash).
    pub fn has_vault(&self, vault: &Pubkey, job: &Pubkey) -> bool {
        let seeds: [&[u8]; 2] = [crate::state::seeds::VAULT, job.as_ref()];
        crate::bypass::derived::is_derived(vault, &seeds, self.vault_bump, &crate::ID)
    }

    /// What the job's PDA signs with, copied out of the account: no borrow of its data may be
    /// held across a call the job signs.
    pub fn signer(&self) -> JobSigner {
        JobSigner { poster: self.poster, nonce: self.nonce.to_le_bytes(), bump: [self.bump] }
    }

    /// The job's milestones, in order.
    pub fn milestones(&self) -> &[Milestone] {
        let count = usize::from(self.milestone_count).min(MAX_MILESTONES);
        &self.milestone_slots[..count]
    }

    /// The job's milestones, to change them.
    pub fn milestones_mut(&mut self) -> &mut [Milestone] {
        let count = usize::from(self.milestone_count).min(MAX_MILESTONES);
        &mut self.milestone_slots[..count]
    }

    /// The terms URI. Only [`Job::set_terms_uri`] writes it, from a `str`, so it is UTF-8; bytes
    /// that were not would read as their longest UTF-8 start.
    pub fn terms_uri(&self) -> &str {
        let bytes = &self.terms_uri[..usize::from(self.terms_uri_len).min(MAX_TERMS_URI_LEN)];
        std::str::from_utf8(bytes).or_else(|e| std::str::from_utf8(&bytes[..e.valid_up_to()])).unwrap_or_default()
    }

    /// Sets the terms URI; refused when longer than [`MAX_TERMS_URI_LEN`].
    pub fn set_terms_uri(&mut self, uri: &str) -> Result<()> {
        let len = uri.len();
        require!(len <= MAX_TERMS_URI_LEN, AgentrailError::TermsUriLength);
        self.terms_uri[..len].copy_from_slice(uri.as_bytes());
        // cannot truncate: MAX_TERMS_URI_LEN fits in a byte
        self.terms_uri_len = len as u8;
        Ok(())
    }

    /// Sets the milestones from the poster's specs, checking count, amounts and the total.
    pub fn set_milestones(&mut self, specs: &[MilestoneSpec], fee_bps: u16) -> Result<()> {
        require!((1..=MAX_MILESTONES).contains(&specs.len()), AgentrailError::MilestoneCount);
        let mut total: u64 = 0;
        for (slot, spec) in self.milestone_slots.iter_mut().zip(specs) {
            require!(spec.amount > 0, AgentrailError::ZeroAmount);
            let fee = fee_for(spec.amount, fee_bps);
            total = total.checked_add(spec.amount).and_then(|t| t.checked_add(fee)).ok_or(AgentrailError::Overflow)?;
            *slot = Milestone {
                amount: spec.amount,
                fee,
                requires_approval: u8::from(spec.requires_approval),
                ..Milestone::default()
            };
        }
        // cannot truncate: checked against MAX_MILESTONES above
        self.milestone_count = specs.len() as u8;
        Ok(())
    }

    /// What funding must move: every milestone's amount plus fee.
    pub fn total(&self) -> u64 {
        self.milestones().iter().map(Milestone::gross).sum()
    }

    /// What the vault must still hold by the job's own accounting.
    pub fn outstanding(&self) -> u64 {
        if self.funded == 0 {
            return 0;
        }
        self.milestones().iter().filter(|m| !m.settled()).map(Milestone::gross).sum()
    }

    /// Fees earned and still in the vault, waiting for a sweep to the treasury.
    pub fn unswept_fees(&self) -> u64 {
        // the program only sweeps what was earned, so this never saturates
        self.fees_earned.saturating_sub(self.fees_swept)
    }

    /// What the vault must hold: the unsettled milestones, the fees not yet swept and what it
    /// holds for a party ([`Job::held`]).
    pub fn vault_owes(&self) -> Option<u64> {
        self.outstanding().checked_add(self.unswept_fees())?.checked_add(self.held()?)
    }

    /// What the vault holds for the agent and the poster together, awaiting their claims.
    pub fn held(&self) -> Option<u64> {
        self.held_for_agent.checked_add(self.held_for_poster)
    }

    /// Keeps `amount` of `party`'s award or refund in the vault for it to claim: its account
    /// could not take the transfer, and nothing a party does to its own account may block the
    /// other's settlement.
    pub fn hold(&mut self, party: Party, amount: u64) -> Result<()> {
        let held = self.held_mut(party);
        *held = held.checked_add(amount).ok_or(AgentrailError::Overflow)?;
        Ok(())
    }

    /// What the vault holds for `party`.
    pub fn held_for(&self, party: Party) -> u64 {
        match party {
            Party::Agent => self.held_for_agent,
            Party::Poster => self.held_for_poster,
        }
    }

    /// The field holding `party`'s share.
    fn held_mut(&mut self, party: Party) -> &mut u64 {
        match party {
            Party::Agent => &mut self.held_for_agent,
            Party::Poster => &mut self.held_for_poster,
        }
    }

    /// Takes everything held for `party` (to pay it out now); refused when nothing is.
    pub fn take_held(&mut self, party: Party) -> Result<u64> {
        let held = self.held_mut(party);
        require!(*held > 0, AgentrailError::NothingHeld);
        Ok(std::mem::take(held))
    }

    /// The conservation invariant: funded = released + fees earned + refunded + outstanding,
    /// and no more fees swept than earned.
    pub fn balanced(&self) -> bool {
        self.balanced_given(self.outstanding())
    }

    /// [`Job::balanced`] for a known [`Job::outstanding`].
    fn balanced_given(&self, outstanding: u64) -> bool {
        let out = [self.released, self.fees_earned, self.refunded, outstanding]
            .iter()
            .try_fold(0u64, |acc, x| acc.checked_add(*x));
        out == Some(self.funded) && self.fees_swept <= self.fees_earned
    }

    /// Checks the books balance ([`Job::balanced`]) and returns what the vault must hold
    /// ([`Job::vault_owes`]), from one pass over the milestones: the program's check after
    /// every transfer.
    pub fn check_books(&self) -> Result<u64> {
        let outstanding = self.outstanding();
        require!(self.balanced_given(outstanding), AgentrailError::AccountingBroken);
        let held = self.held().ok_or(AgentrailError::Overflow)?;
        let owed = outstanding.checked_add(self.unswept_fees()).and_then(|o| o.checked_add(held));
        Ok(owed.ok_or(AgentrailError::Overflow)?)
    }

    /// Records a sweep of every unswept fee to the treasury; returns the amount to move.
    pub fn sweep(&mut self) -> u64 {
        let amount = self.unswept_fees();
        self.fees_swept = self.fees_earned;
        amount
    }

    /// The milestone at `index`, or an error naming the bad index.
    pub fn milestone(&self, index: u8) -> Result<&Milestone> {
        self.milestones().get(usize::from(index)).ok_or_else(|| error!(AgentrailError::InvalidMilestone))
    }

    /// Index of the milestone being worked on: the first unsettled one, when every earlier
    /// one is settled (milestones settle in order).
    pub fn current(&self) -> Option<usize> {
        self.milestones().iter().position(|m| !m.settled())
    }

    /// Checks that `index` is the pending milestone being worked on in a funded job.
    fn check_current_pending(&self, index: u8) -> Result<usize> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(self.milestone(index)?.state == MilestoneState::Pending, AgentrailError::MilestoneNotPending);
        let i = usize::from(index);
        require!(self.milestones()[..i].iter().all(Milestone::settled), AgentrailError::MilestoneOutOfOrder);
        Ok(i)
    }

    /// Checks that the poster may fund the job at `now`: created, and its deadline not passed.
    pub fn check_fundable(&self, now: i64) -> Result<()> {
        require!(self.status == JobStatus::Created, AgentrailError::InvalidJobStatus);
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        Ok(())
    }

    /// What the agent agrees to when it accepts this job, at address `key`: one SHA-256 over
    /// a domain tag, the program, the job's address, and every term its pay depends on (agent
    /// version, keeper, arbiter and its window and default rule, terms, mint and fee, deadline,
    /// review window, step timeout, each milestone's amount and approval flag). None of these
    /// ever changes after creation, so an acceptance can never be carried to other terms.
    pub fn consent_digest(&self, key: &Pubkey) -> [u8; 32] {
        let mut amounts = [0u8; MAX_MILESTONES * 9];
        for (chunk, m) in amounts.chunks_exact_mut(9).zip(self.milestones()) {
            chunk[..8].copy_from_slice(&m.amount.to_le_bytes());
            chunk[8] = m.requires_approval;
        }
        let count = self.milestones().len();
        solana_sha256_hasher::hashv(&[
            CONSENT_DOMAIN,
            crate::ID.as_ref(),
            key.as_ref(),
            self.agent.as_ref(),
            &self.agent_version_seq.to_le_bytes(),
            self.keeper.as_ref(),
            self.arbiter.as_ref(),
            &self.dispute_window.to_le_bytes(),
            &self.dispute_default_bps.to_le_bytes(),
            &self.terms_hash,
            self.mint.as_ref(),
            &self.fee_bps.to_le_bytes(),
            &self.deadline.to_le_bytes(),
            &self.review_window.to_le_bytes(),
            &self.step_timeout.to_le_bytes(),
            &[self.milestone_count],
            &amounts[..count * 9],
        ])
        .to_bytes()
    }

    /// Whether the agent has accepted the job.
    pub fn is_accepted(&self) -> bool {
        self.accepted_at != 0
    }

    /// Whether the job counts in its agent's track record: the agent accepted it and the
    /// poster funded it. Nothing of a job the agent never agreed to is written there.
    pub fn counts_in_record(&self) -> bool {
        self.is_accepted() && self.funded > 0
    }

    /// Checks that the agent may accept the job at `now`: created or funded, not accepted
    /// yet, before the deadline.
    pub fn check_acceptable(&self, now: i64) -> Result<()> {
        require!(matches!(self.status, JobStatus::Created | JobStatus::Funded), AgentrailError::InvalidJobStatus);
        require!(!self.is_accepted(), AgentrailError::AlreadyAccepted);
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        Ok(())
    }

    /// Records the agent's acceptance at `now` of the terms whose digest it signed
    /// (`digest`, compared with [`Job::consent_digest`] for the job at `key`): once, before
    /// the deadline, while nothing has settled.
    pub fn accept(&mut self, key: &Pubkey, digest: &[u8; 32], now: i64) -> Result<()> {
        self.check_acceptable(now)?;
        require!(*digest == self.consent_digest(key), AgentrailError::AcceptanceMismatch);
        // a clock at 0 would read as "not accepted": the runtime's clock is far past it
        self.accepted_at = now.max(1);
        Ok(())
    }

    /// Checks that milestone `index` may be submitted at `now`: the agent accepted the job,
    /// milestones are submitted in order, each after every earlier one settled, before the
    /// deadline, and approval milestones only when their whole review window fits before the
    /// deadline.
    pub fn check_submittable(&self, index: u8, now: i64) -> Result<usize> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(self.is_accepted(), AgentrailError::NotAccepted);
        self.check_in_time(index, now)
    }

    /// [`Job::check_submittable`] but for the acceptance: whether milestone `index` is the one
    /// being worked on and could be reported at `now`. What a keeper asks before it seeks the
    /// agent's acceptance of a funded job.
    pub fn check_in_time(&self, index: u8, now: i64) -> Result<usize> {
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        let i = self.check_current_pending(index)?;
        if self.milestones()[i].needs_approval() {
            let review_end = now.checked_add(self.review_window).ok_or(AgentrailError::Overflow)?;
            require!(review_end <= self.deadline, AgentrailError::ReviewOutlastsDeadline);
        }
        Ok(i)
    }

    /// Marks milestone `index` submitted at `now` with `result_hash`
    /// ([`Job::check_submittable`]).
    pub fn submit(&mut self, index: u8, result_hash: [u8; 32], now: i64) -> Result<()> {
        let i = self.check_submittable(index, now)?;
        let m = &mut self.milestones_mut()[i];
        m.state = MilestoneState::Submitted;
        m.result_hash = result_hash;
        m.submitted_at = now;
        Ok(())
    }

    /// Marks the step of pending milestone `index` started at `now` (keeper, before it calls
    /// the agent): from then until `step_timeout` passes, the poster cannot cancel the job.
    pub fn start(&mut self, index: u8, now: i64) -> Result<()> {
        let i = self.check_startable(index, now)?;
        self.milestones_mut()[i].started_at = now;
        Ok(())
    }

    /// Checks that the keeper may mark pending milestone `index`'s step started at `now`:
    /// the agent accepted the job, before the deadline, the milestone being worked on, once.
    pub fn check_startable(&self, index: u8, now: i64) -> Result<usize> {
        require!(self.is_accepted(), AgentrailError::NotAccepted);
        require!(now <= self.deadline, AgentrailError::DeadlinePassed);
        let i = self.check_current_pending(index)?;
        require!(self.milestones()[i].started_at == 0, AgentrailError::AlreadyStarted);
        Ok(i)
    }

    /// Checks that the poster may cancel at `now`: nothing submitted or settled yet, and no
    /// started first step still inside its timeout (the agent may be doing that work).
    pub fn check_cancellable(&self, now: i64) -> Result<()> {
        require!(matches!(self.status, JobStatus::Created | JobStatus::Funded), AgentrailError::InvalidJobStatus);
        require!(self.milestones().iter().all(|m| m.state == MilestoneState::Pending), AgentrailError::AlreadyStarted);
        let started_at = self.milestones().first().map_or(0, |m| m.started_at);
        if started_at != 0 {
            let shielded_until = started_at.checked_add(self.step_timeout).ok_or(AgentrailError::Overflow)?;
            require!(now >= shielded_until, AgentrailError::StepInProgress);
        }
        Ok(())
    }

    /// When the keeper may give up on milestone `index`: once its started step ran out of time
    /// (`started_at + step_timeout`). `None` while it is not started: a step nobody started is
    /// work nobody asked for, and an unstarted milestone is the poster's to cancel or the
    /// deadline's to refund.
    pub fn failable_from(&self, index: u8) -> Option<i64> {
        let started_at = self.milestones().get(usize::from(index))?.started_at;
        (started_at != 0).then(|| started_at.saturating_add(self.step_timeout))
    }

    /// Checks that the keeper may give up on milestone `index` at `now`: it is the pending
    /// milestone being worked on (every earlier one settled, nothing submitted), and its
    /// started step ran out of time ([`Job::failable_from`]). Before that only a submission
    /// (the keeper's or the agent's own) moves it: no keeper can fail work while it may still
    /// be reported.
    pub fn check_failable(&self, index: u8, now: i64) -> Result<()> {
        self.check_current_pending(index)?;
        let from = self.failable_from(index).ok_or(AgentrailError::NotStarted)?;
        require!(now >= from, AgentrailError::StepInProgress);
        Ok(())
    }

    /// Checks that submitted approval milestone `index` may be released by the poster at `now`.
    /// The poster may approve at any time while it is submitted: after its review window it is
    /// owed anyway.
    pub fn check_approvable(&self, index: u8) -> Result<()> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        require!(self.milestone(index)?.state == MilestoneState::Submitted, AgentrailError::MilestoneNotSubmitted);
        Ok(())
    }

    /// Checks that the poster may reject milestone `index` at `now`: a submitted approval
    /// milestone whose review window is still open. After the window the milestone is owed.
    pub fn check_rejectable(&self, index: u8, now: i64) -> Result<()> {
        self.check_approvable(index)?;
        let m = self.milestone(index)?;
        require!(m.needs_approval() && now < m.review_end(self.review_window)?, AgentrailError::ReviewWindowClosed);
        Ok(())
    }

    /// The job's arbiter, if it named one at creation.
    pub fn arbiter(&self) -> Option<Pubkey> {
        (self.arbiter != Pubkey::default()).then_some(self.arbiter)
    }

    /// Puts milestone `index`, rejectable at `now` ([`Job::check_rejectable`]), in dispute:
    /// nothing moves until the agent concedes or the dispute is decided.
    pub fn dispute(&mut self, index: u8, now: i64) -> Result<()> {
        self.check_rejectable(index, now)?;
        require!(self.arbiter().is_some(), AgentrailError::NoArbiter);
        let m = &mut self.milestones_mut()[usize::from(index)];
        m.state = MilestoneState::Disputed;
        m.disputed_at = now;
        Ok(())
    }

    /// The disputed milestone `index` of a funded job, or an error naming why not.
    pub fn check_disputed(&self, index: u8) -> Result<&Milestone> {
        require!(self.status == JobStatus::Funded, AgentrailError::InvalidJobStatus);
        let m = self.milestone(index)?;
        require!(m.state == MilestoneState::Disputed, AgentrailError::MilestoneNotDisputed);
        Ok(m)
    }

    /// Checks that the arbiter may still decide disputed milestone `index` at `now`: its
    /// dispute window is open.
    pub fn check_decidable(&self, index: u8, now: i64) -> Result<()> {
        let end = self.check_disputed(index)?.dispute_end(self.dispute_window)?;
        require!(now < end, AgentrailError::DisputeWindowClosed);
        Ok(())
    }

    /// Checks that the job's default rule decides disputed milestone `index` at `now`: the
    /// arbiter stayed silent through the whole dispute window.
    pub fn check_default_applies(&self, index: u8, now: i64) -> Result<()> {
        let end = self.check_disputed(index)?.dispute_end(self.dispute_window)?;
        require!(now >= end, AgentrailError::DisputeWindowOpen);
        Ok(())
    }

    /// Records the decision of disputed milestone `index`: `agent_bps` of its amount and fee to
    /// the agent and the treasury, the rest to the poster. All to the agent reads as released,
    /// none as refunded, anything between as split.
    pub fn decide(&mut self, index: u8, agent_bps: u16) -> Result<DisputeShares> {
        let m = *self.check_disputed(index)?;
        require!(agent_bps <= MAX_SHARE_BPS, AgentrailError::InvalidShare);
        let share = |x: u64| bps_of(x, agent_bps);
        let (to_agent, fee) = (share(m.amount), share(m.fee));
        let to_poster =
            m.gross().checked_sub(to_agent).and_then(|r| r.checked_sub(fee)).ok_or(AgentrailError::Overflow)?;
        self.released = self.released.checked_add(to_agent).ok_or(AgentrailError::Overflow)?;
        self.fees_earned = self.fees_earned.checked_add(fee).ok_or(AgentrailError::Overflow)?;
        self.refunded = self.refunded.checked_add(to_poster).ok_or(AgentrailError::Overflow)?;
        let m = &mut self.milestones_mut()[usize::from(index)];
        m.agent_bps = agent_bps;
        m.state = match agent_bps {
            MAX_SHARE_BPS => MilestoneState::Released,
            0 => MilestoneState::Refunded,
            _ => MilestoneState::Split,
        };
        self.complete_if_settled();
        Ok(DisputeShares { to_agent, fee, to_poster })
    }

    /// Checks that milestone `index` may be released by anyone at `now` because it is owed:
    /// the poster stayed silent through the review window (or it needed no approval and was
    /// submitted while releases were paused). No deadline applies: owed pay is never lost to one.
    pub fn check_review_elapsed(&self, index: u8, now: i64) -> Result<()> {
        self.check_approvable(index)?;
        require!(self.milestone(index)?.owed(self.review_window, now), AgentrailError::ReviewWindowOpen);
        Ok(())
    }

    /// Why the agent may not be paid on this job now, if anything: it is not active, or it is
    /// not the pinned version any more. Both are the agent's own choices. Certification is not
    /// asked here: a certifier's revocation or an expiry stops new work
    /// ([`Job::check_certified_at`], judged at submission), never pay for work already
    /// submitted, accepted or awarded.
    pub fn ineligibility(&self, agent: AgentStanding) -> Option<AgentrailError> {
        if agent.status != AgentStatus::Active {
            return Some(AgentrailError::AgentNotActive);
        }
        if agent.version_seq != self.agent_version_seq {
            return Some(AgentrailError::WrongAgentVersion);
        }
        None
    }

    /// The certification a job that demanded a stage must be shown: the one pinned at creation
    /// (its agent and version). `None` when the job demanded none.
    pub fn pinned_certification<'a>(&self, cert: Option<&'a Certification>) -> Result<Option<&'a Certification>> {
        if self.min_stage == 0 {
            return Ok(None);
        }
        let cert = cert.ok_or(AgentrailError::CertificationRequired)?;
        require!(
            cert.agent == self.agent && cert.version_seq == self.agent_version_seq,
            AgentrailError::CertificationRequired
        );
        Ok(Some(cert))
    }

    /// Checks that the pinned certification (`cert`, [`Job::pinned_certification`]) is not
    /// revoked since the job pinned it and holds the job's minimum stage at `now` (not
    /// expired): work is only accepted from an agent certified when it reports it.
    pub fn check_certified_at(&self, cert: Option<&Certification>, now: i64) -> Result<()> {
        if let Some(cert) = cert {
            require!(cert.epoch == self.cert_epoch, AgentrailError::CertificationRevoked);
            require!(cert.effective_stage(now) >= self.min_stage, AgentrailError::CertificationTooLow);
        }
        Ok(())
    }

    /// Records the release of milestone `index`; returns (amount to the agent, fee earned by
    /// the treasury, which stays in the vault until swept).
    pub fn release(&mut self, index: u8) -> Result<(u64, u64)> {
        let m = *self.milestone(index)?;
        require!(m.state == MilestoneState::Submitted, AgentrailError::MilestoneNotSubmitted);
        self.released = self.released.checked_add(m.amount).ok_or(AgentrailError::Overflow)?;
        self.fees_earned = self.fees_earned.checked_add(m.fee).ok_or(AgentrailError::Overflow)?;
        self.milestones_mut()[usize::from(index)].state = MilestoneState::Released;
        self.complete_if_settled();
        Ok((m.amount, m.fee))
    }

    /// Checks that anyone may refund after the deadline at `now`, and returns which milestones
    /// go back: every unsettled one except those owed to an agent still eligible to be paid
    /// (`agent_ineligible` is [`Job::ineligibility`]'s verdict) and those in dispute, which
    /// only their dispute decides, whatever the agent's standing (its default rule gives an
    /// agent that may not be paid nothing). Owed milestones stay for `release_after_review`,
    /// whenever releases are possible again; an agent that may no longer be paid loses them.
    pub fn refundable_after_deadline(&self, now: i64, agent_ineligible: bool) -> Result<MilestoneSet> {
        require!(matches!(self.status, JobStatus::Created | JobStatus::Funded), AgentrailError::InvalidJobStatus);
        require!(now > self.deadline, AgentrailError::DeadlineNotReached);
        let mut refundable = MilestoneSet::EMPTY;
        for (i, m) in self.milestones().iter().enumerate() {
            let owed = m.owed(self.review_window, now) && !agent_ineligible;
            if !m.settled() && !owed && m.state != MilestoneState::Disputed {
                refundable.insert(i);
            }
        }
        require!(!refundable.is_empty(), AgentrailError::NothingToRefund);
        Ok(refundable)
    }

    /// Records the refund of every unsettled milestone whose index and state match `which`;
    /// returns the total to return to the poster (0 for an unfunded job).
    pub fn refund_where(&mut self, which: impl Fn(usize, &Milestone) -> bool) -> Result<u64> {
        self.refund_milestones(which).map(|r| r.total)
    }

    /// [`Job::refund_where`], also returning which milestones it refunded (and which of them
    /// were in dispute) for the track record, and whether every milestone is now settled: one
    /// pass over the milestones.
    pub fn refund_milestones(&mut self, which: impl Fn(usize, &Milestone) -> bool) -> Result<Refunds> {
        let funded = self.funded > 0;
        let mut refunds =
            Refunds { total: 0, refunded: MilestoneSet::EMPTY, disputed: MilestoneSet::EMPTY, all_settled: true };
        for (i, m) in self.milestones_mut().iter_mut().enumerate() {
            if !m.settled() && which(i, m) {
                if funded {
                    refunds.total = refunds.total.checked_add(m.gross()).ok_or(AgentrailError::Overflow)?;
                }
                refunds.refunded.insert(i);
                if m.state == MilestoneState::Disputed {
                    refunds.disputed.insert(i);
                }
                m.state = MilestoneState::Refunded;
            }
            refunds.all_settled &= m.settled();
        }
        self.refunded = self.refunded.checked_add(refunds.total).ok_or(AgentrailError::Overflow)?;
        Ok(refunds)
    }

    /// Once every milestone is settled (`all_settled`), moves the job to `status`, or without
    /// one to `Completed` when it is funded (an unfunded job has nothing to complete).
    pub fn end_if_settled(&mut self, all_settled: bool, status: Option<JobStatus>) {
        if !all_settled {
            return;
        }
        match status {
            Some(status) => self.status = status,
            None if self.status == JobStatus::Funded => self.status = JobStatus::Completed,
            None => {}
        }
    }

    /// Moves to `Completed` once every milestone is settled ([`Job::end_if_settled`]).
    pub fn complete_if_settled(&mut self) {
        self.end_if_settled(self.milestones().iter().all(Milestone::settled), None);
    }

    /// Whether the job is over: nothing more can be released or refunded.
    pub fn finished(&self) -> bool {
        matches!(self.status, JobStatus::Completed | JobStatus::Cancelled | JobStatus::Expired)
    }

    /// Checks that the poster may close the job: finished, and every fee it earned the treasury
    /// swept (closing sends what the vault holds to the poster, so unswept fees would go there).
    pub fn check_closable(&self) -> Result<()> {
        require!(self.finished(), AgentrailError::InvalidJobStatus);
        require!(self.unswept_fees() == 0, AgentrailError::FeesNotSwept);
        // closing hands the vault to the poster: what it holds for a party is claimed first
        require!(self.held() == Some(0), AgentrailError::ClaimsPending);
        Ok(())
    }

    /// Checks that a sweep would move something: the job earned fees not yet swept.
    pub fn check_sweepable(&self) -> Result<()> {
        require!(self.unswept_fees() > 0, AgentrailError::NothingToSweep);
        Ok(())
    }

    /// The shard the clients pick for the job at `job`, from its address: an agent's
    /// settlements spread over [`TRACK_RECORD_SHARDS`] accounts instead of write-locking one.
    /// Any byte of a PDA is uniformly distributed, so the first will do. The program takes any
    /// shard a poster names; only the spread of write locks depends on the choice.
    pub fn default_record_shard(job: &Pubkey) -> u8 {
        job.as_ref()[0] % TRACK_RECORD_SHARDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(specs: &[(u64, bool)]) -> Job {
        let specs: Vec<_> =
            specs.iter().map(|&(amount, requires_approval)| MilestoneSpec { amount, requires_approval }).collect();
        let mut job = Job {
            agent_version_seq: 1,
            fee_bps: 250,
            deadline: 1_000,
            review_window: 100,
            status: JobStatus::Funded,
            terms_hash: [7; 32],
            step_timeout: 300,
            accepted_at: 1,
            ..Job::default()
        };
        job.set_terms_uri("https://terms.example/1").unwrap();
        job.set_milestones(&specs, 250).unwrap();
        job.funded = job.total();
        job
    }

    #[test]
    fn fees_round_down_and_never_overflow() {
        assert_eq!(fee_for(1_000_000, 250), 25_000);
        assert_eq!(fee_for(39, 250), 0);
        assert_eq!(fee_for(u64::MAX, 1_000), u64::MAX / 10);
        // the 64-bit path and the 128-bit one agree on both sides of the boundary
        let wide = |a: u64, b: u16| (u128::from(a) * u128::from(b) / BPS) as u64;
        for bps in [0, 1, 250, 1_000, 9_999, 10_000, u16::MAX] {
            let edge = u64::MAX / u64::from(bps.max(1));
            for amount in
                [0, 1, 9_999, BPS_FITS - 1, BPS_FITS, BPS_FITS + 1, edge - 1, edge, edge.saturating_add(1), u64::MAX]
            {
                assert_eq!(bps_of(amount, bps), wide(amount, bps), "{amount} at {bps}");
            }
        }
    }

    #[test]
    fn milestone_specs_are_checked() {
        let set = |specs: &[MilestoneSpec], fee_bps| {
            let mut j = Job::default();
            j.set_milestones(specs, fee_bps).map(|()| (j.milestone_count, j.total()))
        };
        assert!(set(&[], 0).is_err());
        let one = MilestoneSpec { amount: 1, requires_approval: false };
        assert_eq!(set(&[one; MAX_MILESTONES], 0).unwrap(), (MAX_MILESTONES as u8, MAX_MILESTONES as u64));
        assert!(set(&[one; MAX_MILESTONES + 1], 0).is_err());
        assert!(set(&[MilestoneSpec { amount: 0, requires_approval: false }], 0).is_err());
        let huge = MilestoneSpec { amount: u64::MAX / 2, requires_approval: false };
        assert!(set(&[huge, huge], 0).is_ok());
        let two = MilestoneSpec { amount: 2, requires_approval: false };
        assert_eq!(set(&[huge, huge, one], 0).unwrap().1, u64::MAX);
        assert!(set(&[huge, huge, two], 0).is_err());
        assert!(set(&[huge, huge], 10).is_err());
        let mut j = job(&[(5, true), (6, false)]);
        assert_eq!(j.milestones().len(), 2);
        assert!(j.milestones()[0].needs_approval() && !j.milestones()[1].needs_approval());
        j.milestone_count = u8::MAX;
        assert_eq!(j.milestones().len(), MAX_MILESTONES, "a count past the slots reads every slot, never past");
    }

    #[test]
    fn terms_uris_fit_their_field() {
        let mut j = job(&[(1, false)]);
        assert_eq!(j.terms_uri(), "https://terms.example/1");
        let longest = "u".repeat(MAX_TERMS_URI_LEN);
        j.set_terms_uri(&longest).unwrap();
        assert_eq!(j.terms_uri(), longest);
        assert_eq!(j.set_terms_uri(&format!("{longest}u")).unwrap_err(), error!(AgentrailError::TermsUriLength));
        j.terms_uri_len = u8::MAX;
        assert_eq!(j.terms_uri().len(), MAX_TERMS_URI_LEN, "a length past the field reads the field, never past");
        j.set_terms_uri("ab\u{e9}").unwrap();
        j.terms_uri_len -= 1;
        assert_eq!(j.terms_uri(), "ab", "a cut character is left out");
    }

    #[test]
    fn the_layout_has_no_gaps_and_milestones_last() {
        use std::mem::{offset_of, size_of};
        // Pod (derived) already refuses padding; this pins where the clients' filters look
        assert_eq!((offset_of!(Job, poster), offset_of!(Job, agent), offset_of!(Job, keeper)), (0, 32, 64));
        assert_eq!(offset_of!(Job, milestone_slots) % 8, 0);
        assert_eq!(size_of::<Job>(), offset_of!(Job, milestone_slots) + MAX_MILESTONES * size_of::<Milestone>());
        assert_eq!(size_of::<Milestone>(), 80);
        assert_eq!(Job::SPACE, 8 + size_of::<Job>());
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
        j.check_rejectable(1, 999).unwrap();
        j.check_review_elapsed(1, 1_000).unwrap();
        // the window closed in silence: owed, even after the deadline, and no longer rejectable
        assert!(j.check_rejectable(1, 1_000).is_err());
        j.check_review_elapsed(1, 5_000).unwrap();
        j.check_approvable(1).unwrap();
        assert!(j.submit(5, [0; 32], 10).is_err());
    }

    #[test]
    fn only_a_started_step_that_ran_out_may_fail() {
        let mut j = job(&[(100, false), (200, true)]);
        assert_eq!(j.check_failable(0, 10).unwrap_err(), error!(AgentrailError::NotStarted));
        j.start(0, 10).unwrap();
        assert_eq!(j.failable_from(0), Some(310));
        assert_eq!(j.check_failable(0, 309).unwrap_err(), error!(AgentrailError::StepInProgress));
        j.check_failable(0, 310).unwrap();
        assert!(j.check_failable(1, 310).is_err()); // 0 not settled yet
        assert!(j.check_failable(2, 310).is_err());
        j.submit(0, [1; 32], 320).unwrap();
        assert!(j.check_failable(0, 5_000).is_err()); // submitted: only the poster's review moves it
        j.release(0).unwrap();
        assert_eq!(j.check_failable(1, 5_000).unwrap_err(), error!(AgentrailError::NotStarted));
        j.start(1, 400).unwrap();
        j.check_failable(1, 700).unwrap();
        j.status = JobStatus::Cancelled;
        assert!(j.check_failable(1, 700).is_err());
    }

    #[test]
    fn acceptance_pins_every_term_the_agent_is_paid_by() {
        let key = Pubkey::new_unique();
        let mut j = job(&[(100, false), (200, true)]);
        j.accepted_at = 0;
        let digest = j.consent_digest(&key);
        // before acceptance nothing starts and nothing is submitted
        assert_eq!(j.start(0, 5).unwrap_err(), error!(AgentrailError::NotAccepted));
        assert_eq!(j.submit(0, [1; 32], 5).unwrap_err(), error!(AgentrailError::NotAccepted));
        assert!(!j.counts_in_record());
        // every pinned term moves the digest; the address does too
        let changed: [fn(&mut Job); 13] = [
            |j| j.keeper = Pubkey::new_unique(),
            |j| j.arbiter = Pubkey::new_unique(),
            |j| j.dispute_window += 1,
            |j| j.dispute_default_bps += 1,
            |j| j.terms_hash[0] ^= 1,
            |j| j.mint = Pubkey::new_unique(),
            |j| j.fee_bps += 1,
            |j| j.deadline += 1,
            |j| j.review_window += 1,
            |j| j.step_timeout += 1,
            |j| j.milestone_slots[1].amount += 1,
            |j| j.milestone_slots[0].requires_approval ^= 1,
            |j| j.agent_version_seq += 1,
        ];
        for (n, change) in changed.iter().enumerate() {
            let mut other = j;
            change(&mut other);
            assert_ne!(other.consent_digest(&key), digest, "term {n} is not pinned");
        }
        assert_ne!(j.consent_digest(&Pubkey::new_unique()), digest, "another job");
        // a third milestone slot filled but not the job's does not count
        let mut spare = j;
        spare.milestone_slots[2].amount = 9;
        assert_eq!(spare.consent_digest(&key), digest);
        assert_eq!(j.accept(&key, &[0; 32], 5).unwrap_err(), error!(AgentrailError::AcceptanceMismatch));
        assert_eq!(j.accept(&key, &digest, 1_001).unwrap_err(), error!(AgentrailError::DeadlinePassed));
        j.accept(&key, &digest, 5).unwrap();
        assert_eq!(j.accepted_at, 5);
        assert!(j.counts_in_record());
        assert_eq!(j.accept(&key, &digest, 6).unwrap_err(), error!(AgentrailError::AlreadyAccepted));
        j.start(0, 6).unwrap();
        let mut cancelled = job(&[(100, false)]);
        (cancelled.accepted_at, cancelled.status) = (0, JobStatus::Cancelled);
        let d = cancelled.consent_digest(&key);
        assert_eq!(cancelled.accept(&key, &d, 5).unwrap_err(), error!(AgentrailError::InvalidJobStatus));
    }

    #[test]
    fn owed_milestones_survive_the_deadline() {
        let mut j = job(&[(100, false), (200, true), (300, true)]);
        j.submit(0, [1; 32], 10).unwrap();
        j.release(0).unwrap();
        j.submit(1, [2; 32], 20).unwrap();
        assert!(j.refundable_after_deadline(1_000, false).is_err(), "not before the deadline");
        // milestone 1's window ended in silence: it stays for the agent, 2 returns
        assert_eq!(j.refundable_after_deadline(1_001, false).unwrap(), MilestoneSet::of(&[2]));
        // an agent that may no longer be paid loses it
        assert_eq!(j.refundable_after_deadline(1_001, true).unwrap(), MilestoneSet::of(&[1, 2]));
        j.refund_where(|i, _| i == 2).unwrap();
        assert_eq!(j.refundable_after_deadline(1_001, false).unwrap_err(), error!(AgentrailError::NothingToRefund));
    }

    #[test]
    fn held_awards_stay_in_the_books_and_keep_the_job_open() {
        let mut j = job(&[(100, false)]);
        j.submit(0, [1; 32], 10).unwrap();
        j.release(0).unwrap();
        j.hold(Party::Agent, 100).unwrap();
        j.hold(Party::Poster, 0).unwrap();
        assert!(j.balanced(), "held pay is released pay");
        assert_eq!(j.vault_owes(), Some(100 + 2), "held pay and the unswept fee stay in the vault");
        assert_eq!(j.check_books().unwrap(), 102);
        j.sweep();
        assert_eq!(j.check_closable().unwrap_err(), error!(AgentrailError::ClaimsPending));
        assert_eq!(j.take_held(Party::Poster).unwrap_err(), error!(AgentrailError::NothingHeld));
        assert_eq!(j.take_held(Party::Agent).unwrap(), 100);
        assert_eq!(j.take_held(Party::Agent).unwrap_err(), error!(AgentrailError::NothingHeld));
        j.check_closable().unwrap();
        let mut full = j;
        full.held_for_agent = u64::MAX;
        assert_eq!(full.hold(Party::Agent, 1).unwrap_err(), error!(AgentrailError::Overflow));
        full.held_for_poster = 1;
        assert_eq!(full.check_books().unwrap_err(), error!(AgentrailError::Overflow));
        assert_eq!(full.vault_owes(), None);
    }

    #[test]
    fn the_deadline_never_refunds_a_dispute() {
        let mut j = job(&[(100, true), (200, false)]);
        j.arbiter = Pubkey::new_unique();
        j.submit(0, [1; 32], 10).unwrap();
        j.dispute(0, 20).unwrap();
        // eligible or not, only the dispute ends milestone 0; milestone 1 goes back
        assert_eq!(j.refundable_after_deadline(1_001, false).unwrap(), MilestoneSet::of(&[1]));
        assert_eq!(j.refundable_after_deadline(1_001, true).unwrap(), MilestoneSet::of(&[1]));
    }

    #[test]
    fn a_started_first_step_shields_the_job_from_cancel() {
        let mut j = job(&[(100, false), (200, true)]);
        j.check_cancellable(5).unwrap();
        assert!(j.start(1, 5).is_err(), "only the current milestone");
        j.start(0, 10).unwrap();
        assert!(j.start(0, 11).is_err(), "once");
        assert_eq!(j.check_cancellable(309).unwrap_err(), error!(AgentrailError::StepInProgress));
        j.check_cancellable(310).unwrap();
        j.submit(0, [1; 32], 311).unwrap();
        assert!(j.check_cancellable(10_000).is_err(), "never after a submission");
        assert!(j.start(0, 1_001).is_err());
    }

    fn arbitrated(specs: &[(u64, bool)]) -> Job {
        let mut j = job(specs);
        j.arbiter = Pubkey::new_unique();
        j.dispute_window = 500;
        j.dispute_default_bps = 4_000;
        j
    }

    #[test]
    fn disputes_need_an_arbiter_and_an_open_review() {
        let mut plain = job(&[(100, true)]);
        plain.submit(0, [1; 32], 10).unwrap();
        assert_eq!(plain.dispute(0, 20).unwrap_err(), error!(AgentrailError::NoArbiter));
        let mut j = arbitrated(&[(100, true), (200, true)]);
        j.submit(0, [1; 32], 10).unwrap();
        assert_eq!(j.dispute(0, 110).unwrap_err(), error!(AgentrailError::ReviewWindowClosed));
        j.dispute(0, 109).unwrap();
        assert_eq!(j.milestones()[0].state, MilestoneState::Disputed);
        assert!(j.dispute(0, 109).is_err(), "once");
        assert!(j.check_approvable(0).is_err(), "no release while disputed");
        assert!(j.submit(1, [2; 32], 120).is_err(), "the next milestone waits for the dispute");
        assert!(j.check_cancellable(120).is_err());
        assert!(j.check_disputed(1).is_err());
    }

    #[test]
    fn the_arbiter_decides_inside_the_window_the_default_rule_after() {
        let mut j = arbitrated(&[(100, true)]);
        j.submit(0, [1; 32], 10).unwrap();
        j.dispute(0, 50).unwrap();
        j.check_decidable(0, 549).unwrap();
        assert_eq!(j.check_default_applies(0, 549).unwrap_err(), error!(AgentrailError::DisputeWindowOpen));
        assert_eq!(j.check_decidable(0, 550).unwrap_err(), error!(AgentrailError::DisputeWindowClosed));
        j.check_default_applies(0, 550).unwrap();
        // long after the deadline the dispute still waits for its decision: never stranded
        j.check_default_applies(0, 100_000).unwrap();
        assert!(j.refundable_after_deadline(100_000, false).is_err(), "no refund takes a dispute");
        assert!(j.refundable_after_deadline(100_000, true).is_err(), "not even from an agent that may not be paid");
    }

    #[test]
    fn a_decision_divides_amount_and_fee_and_conserves() {
        // fee 250 bps: amount 10_000 carries fee 250
        for (bps, agent, fee, poster, state) in [
            (0, 0, 0, 10_250, MilestoneState::Refunded),
            (10_000, 10_000, 250, 0, MilestoneState::Released),
            (3_333, 3_333, 83, 6_834, MilestoneState::Split),
            (1, 1, 0, 10_249, MilestoneState::Split),
        ] {
            let mut j = arbitrated(&[(10_000, true)]);
            j.submit(0, [1; 32], 10).unwrap();
            j.dispute(0, 20).unwrap();
            assert_eq!(j.decide(0, 10_001).unwrap_err(), error!(AgentrailError::InvalidShare));
            let shares = j.decide(0, bps).unwrap();
            assert_eq!(shares, DisputeShares { to_agent: agent, fee, to_poster: poster }, "bps {bps}");
            assert_eq!((j.milestones()[0].state, j.milestones()[0].agent_bps), (state, bps));
            assert_eq!((j.released, j.fees_earned, j.refunded), (agent, fee, poster));
            assert!(j.balanced());
            assert_eq!(j.status, JobStatus::Completed);
            assert!(j.decide(0, bps).is_err(), "decided once");
        }
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
        assert_eq!(j.released + j.fees_earned + j.refunded, j.funded);
    }

    #[test]
    fn milestone_sets_hold_every_index_a_job_has() {
        let mut s = MilestoneSet::EMPTY;
        assert!(s.is_empty());
        for i in [0, 5, MAX_MILESTONES - 1] {
            s.insert(i);
        }
        assert_eq!(s.len(), 3);
        assert!(s.contains(0) && s.contains(5) && s.contains(MAX_MILESTONES - 1) && !s.contains(1));
        assert!(!s.contains(64) && !s.clone().remove(64), "past the set: never in it");
        let mut wide = s;
        wide.insert(usize::MAX);
        assert_eq!(wide, s, "an index past the set adds nothing (and never panics)");
        assert!(s.remove(5) && !s.remove(5), "removed once");
        let mut other = MilestoneSet::EMPTY;
        other.insert(0);
        other.insert(7);
        assert_eq!(s.and(other).len(), 1);
        assert_eq!(s.without(other).len(), 1);
        assert_eq!((s.first(), MilestoneSet::EMPTY.first(), s.without(other).first()), (Some(0), None, Some(15)));
        assert!(s.without(other).contains(MAX_MILESTONES - 1));
    }

    #[test]
    fn a_refund_says_whether_it_settled_the_job() {
        let mut j = job(&[(10, false), (20, false), (30, false)]);
        let r = j.refund_milestones(|i, _| i == 1).unwrap();
        assert_eq!((r.refunded.len(), r.refunded.contains(1), r.all_settled), (1, true, false));
        j.end_if_settled(r.all_settled, Some(JobStatus::Expired));
        assert_eq!(j.status, JobStatus::Funded, "milestones left: not expired");
        let r = j.refund_milestones(|_, _| true).unwrap();
        assert_eq!((r.refunded.len(), r.all_settled), (2, true));
        j.end_if_settled(r.all_settled, None);
        assert_eq!(j.status, JobStatus::Completed);
    }
}
