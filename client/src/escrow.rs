//! Instruction builders for the milestone escrow.

use agentrail::instructions::{CreateJobArgs, FailMilestoneArgs};
use agentrail::state::{Agent, Job, MilestoneSet};
use agentrail::{accounts, instruction};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::system_program;

use crate::instructions::build;
use crate::lifecycle::{self, Action, Conditions, next_actions};
use crate::pda;

/// Every account a release or refund touches, derived from the job and its agent. Token
/// accounts default to associated token accounts; override a field to use another.
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
    pub poster_token: Pubkey,
    /// The job's shard of the agent's track record in the job's mint.
    pub track_record: Pubkey,
}

impl JobKeys {
    /// Derives the keys of job account `job` from its decoded state.
    pub fn new(job: Pubkey, state: &Job, agent: &Agent) -> Self {
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
            poster_token: pda::ata(&state.poster, &mint, &tp),
            track_record: pda::track_record(&state.agent, &mint, state.record_shard),
        }
    }

    /// Whether these keys were derived for `job` in `state` (compared field by field, without
    /// deriving anything); the agent's payout wallet and the pinned version are not compared.
    fn derived_for(&self, job: &Pubkey, state: &Job) -> bool {
        self.job == *job
            && self.poster == state.poster
            && self.agent == state.agent
            && self.mint == state.mint
            && self.token_program == state.token_program
            && self.certification.is_some() == (state.min_stage > 0)
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
            token_program: self.token_program,
            track_record: self.track_record,
        }
    }

    fn dispute(&self) -> accounts::DisputeSettlement {
        accounts::DisputeSettlement { settlement: self.settlement(), poster_token: self.poster_token }
    }

    fn refund(&self) -> accounts::Refund {
        accounts::Refund {
            job: self.job,
            mint: self.mint,
            vault: self.vault,
            poster_token: self.poster_token,
            token_program: self.token_program,
            track_record: self.track_record,
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
            track_record: pda::track_record(agent, mint, args.record_shard),
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
            track_record: keys.track_record,
        },
        instruction::FundJob { expected_total },
    )
}

/// `submit_milestone`, signed by the job's keeper or by the agent (its authority or signing key).
pub fn submit_milestone(submitter: &Pubkey, keys: &JobKeys, index: u8, result_hash: [u8; 32]) -> Instruction {
    build(
        accounts::SubmitMilestone { submitter: *submitter, settlement: keys.settlement() },
        instruction::SubmitMilestone { index, result_hash },
    )
}

/// `accept_job`, signed by `acceptor` (the agent's authority or signing key) as a signer of
/// the transaction.
pub fn accept_job(acceptor: &Pubkey, keys: &JobKeys, digest: [u8; 32]) -> Instruction {
    let mut ix = accept_job_relayed(acceptor, keys, digest);
    ix.accounts[0].is_signer = true;
    ix
}

/// `accept_job` naming `acceptor` without its signature on the transaction: it holds with an
/// ed25519 instruction over `digest` by `acceptor` in the same transaction
/// ([`crate::consent::Acceptance::instructions`] builds both).
pub fn accept_job_relayed(acceptor: &Pubkey, keys: &JobKeys, digest: [u8; 32]) -> Instruction {
    build(
        accounts::AcceptJob {
            acceptor: *acceptor,
            job: keys.job,
            agent: keys.agent,
            track_record: keys.track_record,
            instructions: agentrail::instructions::INSTRUCTIONS_SYSVAR,
        },
        instruction::AcceptJob { args: agentrail::instructions::AcceptJobArgs { digest } },
    )
}

/// `claim_held`, signed by `claimant` (the poster or the agent's payout wallet): what the
/// vault holds for it goes to `destination`, any token account it owns for the job's mint.
pub fn claim_held(claimant: &Pubkey, keys: &JobKeys, destination: &Pubkey) -> Instruction {
    build(
        accounts::ClaimHeld {
            claimant: *claimant,
            job: keys.job,
            agent: keys.agent,
            vault: keys.vault,
            destination: *destination,
            mint: keys.mint,
            token_program: keys.token_program,
        },
        instruction::ClaimHeld {},
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

/// `fail_milestone`, signed by the job's keeper: gives up on pending milestone `index` and
/// refunds it (with `cancel`, the whole job) to the poster.
pub fn fail_milestone(keeper: &Pubkey, keys: &JobKeys, index: u8, cancel: bool, reason_hash: [u8; 32]) -> Instruction {
    build(
        accounts::FailMilestone { keeper: *keeper, refund: keys.refund() },
        instruction::FailMilestone { args: FailMilestoneArgs { index, cancel, reason_hash } },
    )
}

/// `release_after_review`, by anyone.
pub fn release_after_review(keys: &JobKeys, index: u8) -> Instruction {
    build(accounts::ReleaseAfterReview { settlement: keys.settlement() }, instruction::ReleaseAfterReview { index })
}

/// `concede_dispute`, signed by the agent's authority: accepts the rejection of disputed
/// milestone `index`, refunding it to the poster's associated token account.
pub fn concede_dispute(authority: &Pubkey, keys: &JobKeys, index: u8) -> Instruction {
    build(
        accounts::ConcedeDispute { authority: *authority, refund: keys.refund(), agent: keys.agent },
        instruction::ConcedeDispute { index },
    )
}

/// `decide_dispute`, signed by the job's arbiter: `agent_bps` of disputed milestone `index` to
/// the agent, the rest to the poster.
pub fn decide_dispute(arbiter: &Pubkey, keys: &JobKeys, index: u8, agent_bps: u16) -> Instruction {
    build(
        accounts::DecideDispute { arbiter: *arbiter, dispute: keys.dispute() },
        instruction::DecideDispute { index, agent_bps },
    )
}

/// `apply_dispute_default`, by anyone once the arbiter's window ended in silence.
pub fn apply_dispute_default(keys: &JobKeys, index: u8) -> Instruction {
    build(accounts::ApplyDisputeDefault { dispute: keys.dispute() }, instruction::ApplyDisputeDefault { index })
}

/// `cancel_job`, signed by the poster.
pub fn cancel_job(keys: &JobKeys) -> Instruction {
    build(accounts::CancelJob { poster: keys.poster, refund: keys.refund() }, instruction::CancelJob {})
}

/// `refund_expired`, by anyone: refunds to the poster's associated token account.
pub fn refund_expired(keys: &JobKeys) -> Instruction {
    build(accounts::RefundExpired { refund: keys.refund(), agent: keys.agent }, instruction::RefundExpired {})
}

/// `sweep_fees`, by anyone: moves the unswept fees of `jobs` (all paid in `mint`) to the
/// associated token account of `treasury` (the config's). At most
/// [`MAX_SWEEP_JOBS`](agentrail::instructions::MAX_SWEEP_JOBS) jobs.
pub fn sweep_fees(treasury: &Pubkey, mint: &Pubkey, token_program: &Pubkey, jobs: &[Pubkey]) -> Instruction {
    let mut ix = build(
        accounts::SweepFees {
            config: pda::config(),
            mint: *mint,
            treasury_token: pda::ata(treasury, mint, token_program),
            token_program: *token_program,
        },
        instruction::SweepFees {},
    );
    for job in jobs {
        ix.accounts.push(AccountMeta::new(*job, false));
        ix.accounts.push(AccountMeta::new(pda::vault(job), false));
    }
    ix
}

/// Groups `jobs` (each with its job's (mint, token program)) into the batches `sweep_fees`
/// takes: by mint and token program, at most
/// [`MAX_SWEEP_JOBS`](agentrail::instructions::MAX_SWEEP_JOBS) jobs each, in the order given.
pub fn sweep_batches<T>(
    jobs: impl IntoIterator<Item = ((Pubkey, Pubkey), T)>,
) -> std::collections::BTreeMap<(Pubkey, Pubkey), Vec<Vec<T>>> {
    let mut by_mint: std::collections::BTreeMap<(Pubkey, Pubkey), Vec<Vec<T>>> = Default::default();
    for (mint, job) in jobs {
        let batches = by_mint.entry(mint).or_default();
        match batches.last_mut() {
            Some(last) if last.len() < agentrail::instructions::MAX_SWEEP_JOBS => last.push(job),
            _ => batches.push(vec![job]),
        }
    }
    by_mint
}

/// `start_milestone`, signed by the job's keeper before it calls the agent.
pub fn start_milestone(keeper: &Pubkey, job: &Pubkey, index: u8) -> Instruction {
    build(accounts::StartMilestone { keeper: *keeper, job: *job }, instruction::StartMilestone { index })
}

/// `close_job`, signed by the poster. The job account is passed writable: the program turns
/// it into a tombstone by hand, so its `Accounts` struct declares it read-only.
pub fn close_job(keys: &JobKeys) -> Instruction {
    let mut ix = build(
        accounts::CloseJob {
            poster: keys.poster,
            job: keys.job,
            mint: keys.mint,
            vault: keys.vault,
            poster_token: keys.poster_token,
            token_program: keys.token_program,
        },
        instruction::CloseJob {},
    );
    for meta in ix.accounts.iter_mut().filter(|m| m.pubkey == keys.job) {
        meta.is_writable = true;
    }
    ix
}

/// Last second RFC 3339 can write (9999-12-31T23:59:59Z).
const LAST_RFC3339_SECOND: i64 = 253_402_300_799;

/// A unix timestamp as RFC 3339 UTC. Times RFC 3339 cannot write (before 1970, after 9999: a
/// third party may set any deadline) are given as `unix <seconds>`, never a panic.
pub fn format_time(unix: i64) -> String {
    if !(0..=LAST_RFC3339_SECOND).contains(&unix) {
        return format!("unix {unix}");
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A job status as one word.
pub fn job_status_name(s: agentrail::state::JobStatus) -> &'static str {
    match s {
        agentrail::state::JobStatus::Created => "created",
        agentrail::state::JobStatus::Funded => "funded",
        agentrail::state::JobStatus::Completed => "completed",
        agentrail::state::JobStatus::Cancelled => "cancelled",
        agentrail::state::JobStatus::Expired => "expired",
        _ => "unknown",
    }
}

/// A milestone state as one word.
pub fn milestone_state_name(s: agentrail::state::MilestoneState) -> &'static str {
    match s {
        agentrail::state::MilestoneState::Pending => "pending",
        agentrail::state::MilestoneState::Submitted => "submitted",
        agentrail::state::MilestoneState::Released => "released",
        agentrail::state::MilestoneState::Refunded => "refunded",
        agentrail::state::MilestoneState::Disputed => "disputed",
        agentrail::state::MilestoneState::Split => "split",
        _ => "unknown",
    }
}

/// An agent status as one word.
pub fn agent_status_name(s: agentrail::state::AgentStatus) -> &'static str {
    match s {
        agentrail::state::AgentStatus::Active => "active",
        agentrail::state::AgentStatus::Paused => "paused",
        agentrail::state::AgentStatus::Retired => "retired",
    }
}

/// A track record's disputes in one cell: `opened (conceded/agent/poster/split; default)`.
pub fn disputes_cell(r: &agentrail::state::TrackRecord) -> String {
    if r.disputed == 0 {
        return "0".into();
    }
    format!(
        "{} ({}/{}/{}/{}; {})",
        r.disputed,
        r.disputes_conceded,
        r.disputes_for_agent,
        r.disputes_for_poster,
        r.disputes_split,
        r.disputes_defaulted
    )
}

/// A share in basis points as a percentage (`2500` → `25%`, `3333` → `33.33%`).
pub fn format_bps(bps: u16) -> String {
    let (whole, frac) = (bps / 100, bps % 100);
    if frac == 0 {
        return format!("{whole}%");
    }
    let digits = format!("{frac:02}");
    format!("{whole}.{}%", digits.trim_end_matches('0'))
}

/// Formats base units as a UI amount without trailing zeros, for any number of decimals (a
/// third party's mint may claim 255): the decimal point is placed in the digits, no power of
/// ten is computed.
pub fn format_ui(units: u64, decimals: u8) -> String {
    let digits = units.to_string();
    let decimals = usize::from(decimals);
    let padded =
        if digits.len() <= decimals { format!("{}{digits}", "0".repeat(decimals + 1 - digits.len())) } else { digits };
    let (whole, frac) = padded.split_at(padded.len() - decimals);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { whole.to_string() } else { format!("{whole}.{frac}") }
}

/// Base units a refund of the milestones in `which` returns to the poster (as from
/// [`Job::refundable_after_deadline`]); 0 for an unfunded job, which holds nothing.
pub fn refund_amount(job: &Job, which: MilestoneSet) -> u64 {
    if job.funded == 0 {
        return 0;
    }
    job.milestones().iter().enumerate().filter(|(i, _)| which.contains(*i)).map(|(_, m)| m.gross()).sum()
}

/// What can happen next on `job` at `now` under `c`, and who may do it, one sentence each:
/// the lifecycle's offers ([`next_actions`]) in words, plus when the next window opens.
pub fn next_steps(job: &Job, now: i64, c: &Conditions) -> Vec<String> {
    use agentrail::state::{JobStatus, MilestoneState};
    let offers = next_actions(job, now, c);
    let offered = |a: Action| lifecycle::offers(&offers, a);
    let deadline = format_time(job.deadline);
    let mut steps = Vec::new();
    for o in &offers {
        let until = o.until.map(format_time).unwrap_or_default();
        let line = match o.action {
            Action::Fund => format!("the poster may fund it with {} base units before {deadline}", job.total()),
            Action::Accept => format!(
                "agent {} may accept it until {until} (its keeper asks when the job is funded); no step starts before",
                job.agent
            ),
            Action::Start(i) if !offered(Action::Submit(i)) => {
                format!(
                    "keeper {} may start milestone {i}, but cannot submit it: the agent may not be paid now",
                    job.keeper
                )
            }
            Action::Submit(i) if job.milestones()[usize::from(i)].started_at == 0 => {
                format!("keeper {} may start milestone {i} and submit it until {until}", job.keeper)
            }
            Action::Submit(i) => format!("keeper {} may submit milestone {i} until {until}", job.keeper),
            Action::Fail(i) => {
                format!(
                    "the started step of milestone {i} ran out of time: the keeper may fail it, refunding the poster"
                )
            }
            Action::Reject(i) => {
                let approve = if offered(Action::Approve(i)) { "approve or " } else { "" };
                let reject = match job.arbiter() {
                    Some(arbiter) => format!("reject (arbiter {arbiter} then decides)"),
                    None => "reject".into(),
                };
                format!("the poster may {approve}{reject} milestone {i} until {until}")
            }
            Action::Approve(i) if !offered(Action::Reject(i)) => {
                format!("the poster may approve milestone {i}, releasing it now")
            }
            Action::ReleaseAfterReview(i) => format!("milestone {i} is owed to the agent: anyone may release it"),
            Action::ConcedeDispute(i) => {
                format!("the agent may concede disputed milestone {i}, refunding it to the poster")
            }
            Action::DecideDispute(i) => format!("arbiter {} may decide milestone {i} until {until}", job.arbiter),
            Action::ApplyDisputeDefault(i) => format!(
                "the arbiter stayed silent: anyone may apply the default rule to milestone {i} ({} to the agent)",
                format_bps(job.dispute_default_bps)
            ),
            Action::Cancel => "the poster may cancel the job".into(),
            Action::RefundExpired(_) if job.funded == 0 => {
                "the deadline passed: anyone may mark the unfunded job expired (refund-expired)".into()
            }
            Action::RefundExpired(_) => {
                let which = job.refundable_after_deadline(now, c.agent_ineligible).unwrap_or_default();
                format!("the deadline passed: anyone may refund {} base units to the poster", refund_amount(job, which))
            }
            Action::SweepFees => format!(
                "anyone may sweep the {} base units of fees it earned to the treasury (job close does it too)",
                job.unswept_fees()
            ),
            Action::Close => "the poster may close the job to recover its rent".into(),
            Action::Start(_) | Action::Execute(_) | Action::Approve(_) => continue,
        };
        steps.push(line);
    }
    // what opens later, so a reader knows when to come back
    if let Some(i) = job.current().filter(|_| job.status == JobStatus::Funded) {
        let m = &job.milestones()[i];
        if m.state == MilestoneState::Submitted && !offered(Action::ReleaseAfterReview(i as u8)) && !c.paused {
            let from = m.review_end(job.review_window).map(format_time).unwrap_or_default();
            steps.push(format!("anyone may release milestone {i} from {from} unless the poster rejects it"));
        }
    }
    if let Some(i) = job.current().filter(|_| !offered(Action::Fail(0))) {
        let index = i as u8;
        if let Some(from) = job.failable_from(index).filter(|_| job.check_in_time(index, now).is_ok()) {
            steps.push(format!(
                "the agent or keeper may submit milestone {i}; the keeper may fail it only from {}",
                format_time(from)
            ));
        }
    }
    let first = job.milestones().first();
    if !offered(Action::Cancel) && first.is_some_and(|m| m.started_at != 0 && m.state == MilestoneState::Pending) {
        let until = job.milestones()[0].started_at.saturating_add(job.step_timeout);
        steps.push(format!("the poster may cancel from {} if the started step is not submitted", format_time(until)));
    }
    // what the vault holds for a party whose account could not take its share
    for (amount, who) in [(job.held_for_agent, "the agent's payout wallet"), (job.held_for_poster, "the poster")] {
        if amount > 0 {
            steps.push(format!(
                "{amount} base units are held for {who}, who may claim them to any account it owns (job claim)"
            ));
        }
    }
    if matches!(job.status, JobStatus::Created | JobStatus::Funded) && now <= job.deadline {
        steps.push(format!("after {deadline} anyone may refund what is not owed to the agent"));
    }
    steps
}

/// [`JobKeys`] of the jobs seen recently. Deriving them takes five program-address searches
/// (a SHA-256 and a curve check for each bump tried): on a keeper that looks at each job on
/// every scan and change, that was a tenth of its CPU per settled milestone. Bounded: emptied
/// whenever it reaches its capacity.
pub struct JobKeysCache {
    capacity: usize,
    /// Keyed by job, its agent's payout wallet and pinned version: a new payout or a
    /// re-pinned version derives new keys.
    keys: std::sync::Mutex<std::collections::HashMap<(Pubkey, Pubkey, u32), JobKeys>>,
}

impl JobKeysCache {
    /// A cache of at most `capacity` jobs' keys.
    pub fn new(capacity: usize) -> Self {
        JobKeysCache { capacity: capacity.max(1), keys: Default::default() }
    }

    /// The keys of `job` ([`JobKeys::new`]), derived once while they stay cached.
    pub fn get(&self, job: Pubkey, state: &Job, agent: &Agent) -> JobKeys {
        let id = (job, agent.payout, state.agent_version_seq);
        // a poisoned lock only means another thread panicked mid-insert: the map is still a
        // valid map of derived keys
        let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // a job address can be reused after its account is closed: the stored keys must match
        // the job's state as well as its address
        if let Some(k) = keys.get(&id).filter(|k| k.derived_for(&job, state)) {
            return k.clone();
        }
        let derived = JobKeys::new(job, state, agent);
        if keys.len() >= self.capacity {
            keys.clear();
        }
        keys.insert(id, derived.clone());
        derived
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use agentrail::state::{JobStatus, MilestoneState};

    /// A created two-milestone job (one approval milestone) for unit tests in this crate.
    pub(crate) fn job() -> Job {
        crate::fixtures::job(&[(100, true), (50, false)])
    }

    /// Whether a sentence of `steps` contains `text`.
    fn says(steps: &[String], text: &str) -> bool {
        steps.iter().any(|s| s.contains(text))
    }

    #[test]
    fn cached_keys_are_the_derived_keys_and_follow_the_payout() {
        let cache = JobKeysCache::new(2);
        let (key, state) = (Pubkey::new_unique(), job());
        let mut agent = crate::fixtures::agent();
        assert_eq!(cache.get(key, &state, &agent), JobKeys::new(key, &state, &agent));
        assert_eq!(cache.get(key, &state, &agent), JobKeys::new(key, &state, &agent), "served from the cache");
        agent.payout = Pubkey::new_unique();
        let moved = cache.get(key, &state, &agent);
        assert_eq!(moved.payee_token, pda::ata(&agent.payout, &state.mint, &state.token_program), "a new payout");
        // another mint at the same address (the cache never trusts the address alone)
        let mut other = state;
        other.mint = Pubkey::new_unique();
        assert_eq!(cache.get(key, &other, &agent), JobKeys::new(key, &other, &agent));
        // bounded: a third job empties it and it still answers correctly
        let third = Pubkey::new_unique();
        assert_eq!(cache.get(third, &state, &agent), JobKeys::new(third, &state, &agent));
        assert!(cache.keys.lock().unwrap().len() <= 2);
    }

    #[test]
    fn next_steps_follow_the_lifecycle() {
        let c = Conditions::assumed();
        let mut j = job();
        let s = next_steps(&j, 0, &c);
        assert!(
            s[0].contains("fund it with 150") && s[1].contains("may accept it") && s[2].contains("cancel"),
            "{s:?}"
        );
        assert!(says(&next_steps(&j, 10_001, &c), "unfunded job expired"), "unfunded, expired");
        j.status = JobStatus::Funded;
        j.funded = 150;
        let s = next_steps(&j, 0, &c);
        assert!(s[0].contains("may accept it") && !says(&s, "may start"), "nothing starts unaccepted: {s:?}");
        j.accepted_at = 1;
        let s = next_steps(&j, 0, &c);
        assert!(s[0].contains("may start milestone 0 and submit it until 1970-01-01T02:30:00Z"), "{s:?}");
        assert!(s[1].contains("cancel") && !says(&s, "fail"), "{s:?}");
        let ineligible = Conditions { agent_ineligible: true, ..c };
        assert!(says(&next_steps(&j, 0, &ineligible), "cannot submit it"), "no work an agent cannot be paid for");
        j.milestones_mut()[0].started_at = 50;
        let s = next_steps(&j, 60, &c);
        assert!(says(&s, "cancel from 1970-01-01T00:10:50Z"), "{s:?}");
        assert!(says(&s, "may fail it only from 1970-01-01T00:10:50Z"), "{s:?}");
        assert!(says(&next_steps(&j, 650, &c), "ran out of time: the keeper may fail it"));
        j.milestones_mut()[0].state = MilestoneState::Submitted;
        j.milestones_mut()[0].submitted_at = 100;
        let s = next_steps(&j, 500, &c);
        assert!(s[0].contains("approve or reject milestone 0 until 1970-01-01T00:18:19Z"), "{s:?}");
        assert!(says(&s, "from 1970-01-01T00:18:20Z"), "{s:?}");
        let s = next_steps(&j, 1_100, &c);
        assert!(s[0].contains("approve milestone 0, releasing it now") && says(&s, "owed to the agent"), "{s:?}");
        assert!(!says(&s, "reject"), "{s:?}");
        let s = next_steps(&j, 10_001, &c);
        assert!(says(&s, "owed") && says(&s, "refund 50"), "{s:?}");
        j.status = JobStatus::Completed;
        assert!(next_steps(&j, 0, &c)[0].contains("close"));
        j.fees_earned = 2;
        assert!(next_steps(&j, 0, &c)[0].contains("sweep"), "fees first");
    }

    #[test]
    fn sweep_batches_group_by_mint_and_cap_their_size() {
        use agentrail::instructions::MAX_SWEEP_JOBS;
        let (a, b) = ((Pubkey::new_unique(), Pubkey::new_unique()), (Pubkey::new_unique(), Pubkey::new_unique()));
        let jobs = (0..MAX_SWEEP_JOBS + 3).map(|n| (a, n)).chain([(b, 100)]);
        let batches = sweep_batches(jobs);
        let sizes: Vec<usize> = batches[&a].iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_SWEEP_JOBS, 3]);
        assert_eq!(batches[&a][1], [MAX_SWEEP_JOBS, MAX_SWEEP_JOBS + 1, MAX_SWEEP_JOBS + 2], "in order");
        assert_eq!(batches[&b], [vec![100]]);
    }

    #[test]
    fn next_steps_follow_a_dispute() {
        let mut j = job();
        j.arbiter = Pubkey::new_unique();
        j.dispute_window = 3_600;
        j.dispute_default_bps = 2_500;
        j.status = JobStatus::Funded;
        j.funded = 150;
        j.accepted_at = 1;
        j.submit(0, [1; 32], 100).unwrap();
        let c = Conditions::assumed();
        let s = next_steps(&j, 500, &c);
        assert!(s[0].contains(&format!("reject (arbiter {} then decides)", j.arbiter)), "{s:?}");
        j.dispute(0, 500).unwrap();
        let s = next_steps(&j, 600, &c);
        assert!(s[0].contains("concede disputed milestone 0"), "{s:?}");
        assert!(s[1].contains("may decide milestone 0 until 1970-01-01T01:08:19Z"), "{s:?}");
        let s = next_steps(&j, 4_100, &c);
        assert!(s[1].contains("default rule to milestone 0 (25% to the agent)"), "{s:?}");
        // after the deadline the dispute is still decided, not refunded
        let s = next_steps(&j, 20_000, &c);
        assert!(s.iter().any(|x| x.contains("default rule")) && s.iter().any(|x| x.contains("refund 50")), "{s:?}");
        assert_eq!(format_bps(3_333), "33.33%");
        assert_eq!(format_time(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(format_time(253_402_300_800), "unix 253402300800");
        assert_eq!(format_time(i64::MAX), format!("unix {}", i64::MAX));
        assert_eq!(format_time(-1), "unix -1");
        assert_eq!(format_bps(2_550), "25.5%");
        assert_eq!(format_bps(10_000), "100%");
    }
}
