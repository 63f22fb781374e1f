//! `agentrail job`: milestone escrow from the poster's, keeper's or anyone's side.

use agentrail::instructions::CreateJobArgs;
use agentrail::state::{Agent, Certification, Config, Job, JobStatus, MilestoneSpec, MilestoneState, fee_for};
use agentrail_client::accounts::{JOB_AGENT_OFFSET, JOB_POSTER_OFFSET, token_amount};
use agentrail_client::escrow::{
    self, JobKeys, format_time, job_status_name, milestone_state_name, next_steps, refund_amount,
};
use agentrail_client::lifecycle::Conditions;
use agentrail_client::pda;
use agentrail_client::terms::{Terms, terms_hash};
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use solana_sdk::instruction::Instruction;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signer::Signer;

use crate::amount::{format_ui, parse_ui};
use crate::context::Ctx;
use crate::output::{Table, fields, print_json};
use crate::parse::{self, stage_letter};

#[derive(Subcommand, Debug)]
pub enum JobCmd {
    /// Create a job from a job file or flags (amounts in UI units, e.g. 12.5).
    Create(Box<CreateCmd>),
    /// Fund a created job with its exact total from your token account.
    Fund { job: String },
    /// Approve and release a submitted milestone (poster).
    Approve { job: String, index: u8 },
    /// Reject a submitted milestone inside its review window: its amount returns to you, or,
    /// when the job names an arbiter, the milestone goes into dispute (poster).
    Reject {
        job: String,
        index: u8,
        /// Also cancel the job, returning everything unreleased.
        #[arg(long)]
        cancel: bool,
    },
    /// Accept the job's terms as its agent (authority or signing key): its keeper, arbiter,
    /// terms, amounts, windows and deadline, pinned by one digest. Until then no step starts
    /// and nothing counts in the agent's record (agent).
    Accept { job: String },
    /// Report a milestone done as the agent (authority or signing key), with the hash of its
    /// result: getting paid never depends on the keeper relaying the answer. The same rules
    /// follow as a keeper's submission (agent or keeper).
    Submit {
        job: String,
        index: u8,
        /// The result's SHA-256, 64 hex digits (e.g. of the answer the agent gave).
        #[arg(long)]
        result_hash: String,
    },
    /// Accept the poster's rejection of a disputed milestone: it returns to the poster now
    /// (agent authority).
    Concede { job: String, index: u8 },
    /// Take what the job's vault holds for you (your account could not take your share when
    /// it was settled) to a token account you own for the job's mint (poster or the agent's
    /// payout wallet).
    Claim {
        job: String,
        /// The token account to receive it (yours, for the job's mint).
        #[arg(long)]
        to: String,
    },
    /// Decide a disputed milestone inside its dispute window (arbiter).
    Decide {
        job: String,
        index: u8,
        /// The agent's share: `agent`, `poster`, or a percentage such as 60% or 33.33%; the
        /// treasury's fee follows the agent's share and the poster receives the rest.
        #[arg(long = "agent-share")]
        agent_share: String,
    },
    /// Apply the job's default rule to a dispute the arbiter left undecided through its
    /// window (anyone).
    SettleDispute { job: String, index: u8 },
    /// Mark the pending step started before calling the agent: it may be failed only once the
    /// job's step timeout passes without a submission, and while nothing has settled the poster
    /// cannot cancel until then (keeper).
    Start { job: String, index: u8 },
    /// Give up on the started step whose time ran out with nothing submitted: its milestone
    /// returns to the poster now (keeper).
    Fail {
        job: String,
        index: u8,
        /// Also give up on the rest of the job, returning everything unreleased.
        #[arg(long)]
        cancel: bool,
        /// Why; its SHA-256 is recorded on-chain in the MilestoneFailed event.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Release a milestone owed to the agent: its review window passed in silence (anyone).
    Release { job: String, index: u8 },
    /// Cancel before any submission and outside a started step's timeout, returning everything (poster).
    Cancel { job: String },
    /// Refund everything not owed to the agent after the deadline (anyone).
    Refund { job: String },
    /// Create the token accounts a job's settlements pay into (the agent's payout and the
    /// poster's), paid by you: keepers never pay for them (anyone).
    Prepare { job: String },
    /// Sweep the fees jobs earned from their vaults to the treasury, up to 12 jobs per
    /// transaction and mint; creates the treasury's token account if missing (anyone).
    SweepFees {
        /// Job addresses.
        #[arg(required = true)]
        jobs: Vec<String>,
    },
    /// Close a finished job and recover its rent; sweeps its earned fees to the treasury in
    /// the same transaction first when they are still in the vault (poster).
    Close { job: String },
    /// Show a job: milestones, amounts, state, and what can happen next.
    Show { job: String },
    /// What awaits a decision or an action by you (the signer, or --who): as poster (approve
    /// or reject, fund, cancel), as arbiter (decide a dispute), as keeper (run, release,
    /// refund), each with its time limit.
    Pending {
        /// Whose pending actions (default: the signer).
        #[arg(long)]
        who: Option<String>,
        /// Only this role: poster, arbiter or keeper.
        #[arg(long = "as")]
        role: Option<String>,
    },
    /// List jobs by poster, agent or state.
    List {
        #[arg(long)]
        poster: Option<String>,
        #[arg(long)]
        agent: Option<String>,
        /// created, funded, completed, cancelled or expired.
        #[arg(long)]
        state: Option<String>,
    },
}

/// `agentrail job create`: a job file and flags that override it.
#[derive(clap::Args, Debug)]
pub struct CreateCmd {
    /// JSON job file: {agent, mint, keeper, milestones: [{amount, requires_approval}],
    /// deadline_in, review_window, min_stage, nonce, terms, terms_uri, step_timeout, arbiter,
    /// dispute_window, dispute_default}. Flags override its fields.
    #[arg(long)]
    pub file: Option<String>,
    /// Agent id or address.
    #[arg(long)]
    pub agent: Option<String>,
    /// Token mint (SPL Token or Token-2022).
    #[arg(long)]
    pub mint: Option<String>,
    /// Keeper allowed to report milestones done.
    #[arg(long)]
    pub keeper: Option<String>,
    /// A milestone: `AMOUNT`, or `AMOUNT:approve` to require the poster's approval. Repeat.
    #[arg(long = "milestone")]
    pub milestones: Vec<String>,
    /// Time until the deadline, e.g. 7d.
    #[arg(long)]
    pub deadline_in: Option<String>,
    /// Review window for approval milestones, e.g. 24h.
    #[arg(long)]
    pub review_window: Option<String>,
    /// Minimum certification stage of the agent (A..E).
    #[arg(long)]
    pub min_stage: Option<String>,
    /// Job number, unique per poster (default: the clock's microseconds).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Terms document (JSON, schema agentrail.terms/v1): what each milestone's work is.
    /// Its SHA-256 is pinned on-chain; its milestones (amount, approval) define the job's
    /// unless --milestone flags are given, which must then agree with it.
    #[arg(long)]
    pub terms: Option<String>,
    /// Where the terms can be fetched (https://, ipfs://, file://); default: file:// of --terms,
    /// on a cluster on this machine only (a local path means nothing to anyone else).
    #[arg(long)]
    pub terms_uri: Option<String>,
    /// How long each started step has: the keeper may fail it only once this ran out with
    /// nothing submitted, and a started first step shields the job from cancellation that long
    /// (default 5m; approvals need it plus the review window before the deadline).
    #[arg(long)]
    pub step_timeout: Option<String>,
    /// Who decides a rejected milestone (any key: a person, a multisig, a DAO; not the poster).
    /// Without one, a rejection refunds at once.
    #[arg(long)]
    pub arbiter: Option<String>,
    /// How long the arbiter has to decide, from the rejection (1h to 90d; default 7d).
    #[arg(long)]
    pub dispute_window: Option<String>,
    /// The agent's share when the arbiter stays silent: `agent`, `poster` or a percentage
    /// (default 50%).
    #[arg(long)]
    pub dispute_default: Option<String>,
    /// Fund it in the same transaction.
    #[arg(long)]
    pub fund: bool,
}

/// A job file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct JobFile {
    agent: Option<String>,
    mint: Option<String>,
    keeper: Option<String>,
    #[serde(default)]
    milestones: Vec<MilestoneFile>,
    deadline_in: Option<String>,
    review_window: Option<String>,
    min_stage: Option<String>,
    nonce: Option<u64>,
    terms: Option<String>,
    terms_uri: Option<String>,
    step_timeout: Option<String>,
    arbiter: Option<String>,
    dispute_window: Option<String>,
    dispute_default: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MilestoneFile {
    amount: String,
    #[serde(default)]
    requires_approval: bool,
}

/// Parses `AMOUNT` or `AMOUNT:approve`.
fn milestone_flag(s: &str) -> Result<MilestoneFile> {
    let (amount, approval) = match s.split_once(':') {
        Some((a, "approve")) => (a, true),
        Some((_, other)) => bail!("milestone {s:?}: unknown flag {other:?} (use AMOUNT or AMOUNT:approve)"),
        None => (s, false),
    };
    Ok(MilestoneFile { amount: amount.to_string(), requires_approval: approval })
}

/// Decimals of a mint (same offset for SPL Token and Token-2022) and its token program.
pub(crate) fn mint_info(ctx: &Ctx, mint: &Pubkey) -> Result<(u8, Pubkey)> {
    let acc = ctx.raw(mint)?.ok_or_else(|| anyhow!("no mint at {mint}"))?;
    let decimals =
        agentrail_client::accounts::mint_decimals(&acc.owner, &acc.data).map_err(|e| anyhow!("{mint} is {e}"))?;
    Ok((decimals, acc.owner))
}

/// Everything about one job, read once per command.
struct Loaded {
    job: Job,
    keys: JobKeys,
    decimals: u8,
    /// The job's agent (its payout wallet, its standing).
    agent: Agent,
    /// The protocol config (its treasury, its pause switch).
    config: Config,
}

impl Loaded {
    /// What the program's checks read besides the job at `now` (pause, the agent's standing),
    /// reading the pinned certification when the job demanded a stage: only the commands that
    /// say what may happen next need it.
    fn conditions(&self, ctx: &Ctx, now: i64) -> Result<Conditions> {
        let cert: Option<Certification> = match self.keys.certification {
            Some(c) => ctx.raw(&c)?.and_then(|a| agentrail_client::accounts::decode(&a.data).ok()),
            None => None,
        };
        Ok(Conditions::read(&self.job, &self.agent, cert.as_ref(), &self.config, now))
    }
}

/// A job's step timeout when its poster names none: what the SDK's default policy asks.
const DEFAULT_STEP_TIMEOUT: &str = "5m";

fn load(ctx: &Ctx, job: &str) -> Result<Loaded> {
    let key = parse::pubkey("job", job)?;
    let state: Job = ctx.account(&key, "job")?;
    let agent: Agent = ctx.account(&state.agent, "agent")?;
    let config: Config = ctx.account(&pda::config(), "config")?;
    let (decimals, _) = mint_info(ctx, &state.mint)?;
    let keys = JobKeys::new(key, &state, &agent);
    Ok(Loaded { job: state, keys, decimals, agent, config })
}

/// Creation of those associated token accounts a transfer needs that do not exist yet. One
/// that exists is left as it is, even when its owner was reassigned: creating it "idempotently"
/// would then fail the whole transaction, while the program holds the share for its party.
fn ensure_atas(ctx: &Ctx, keys: &JobKeys, owners: &[Pubkey]) -> Result<Vec<Instruction>> {
    let payer = ctx.signer()?.pubkey();
    let mut ixs = Vec::with_capacity(owners.len());
    for owner in owners {
        if ctx.raw(&pda::ata(owner, &keys.mint, &keys.token_program))?.is_none() {
            ixs.push(create_associated_token_account_idempotent(&payer, owner, &keys.mint, &keys.token_program));
        }
    }
    Ok(ixs)
}

fn job_json(key: &Pubkey, j: &Job, decimals: u8, now: i64, c: &Conditions) -> Value {
    let ui = |v: u64| format_ui(v, decimals);
    json!({
        "address": key.to_string(), "poster": j.poster.to_string(), "agent": j.agent.to_string(),
        "agent_version_seq": j.agent_version_seq, "keeper": j.keeper.to_string(), "mint": j.mint.to_string(),
        "status": job_status_name(j.status), "fee_bps": j.fee_bps, "min_stage": stage_letter(j.min_stage),
        "pinned_stage": stage_letter(j.pinned_stage), "deadline": format_time(j.deadline), "review_window_secs": j.review_window,
        "total": ui(j.total()), "funded": ui(j.funded), "released": ui(j.released), "fees_earned": ui(j.fees_earned),
        "fees_swept": ui(j.fees_swept), "refunded": ui(j.refunded), "in_vault": ui(j.vault_owes().unwrap_or(u64::MAX)),
        "milestones": j.milestones().iter().enumerate().map(|(i, m)| json!({
            "index": i, "amount": ui(m.amount), "fee": ui(m.fee), "requires_approval": m.requires_approval,
            "state": milestone_state_name(m.state), "result_hash": hex::encode(m.result_hash),
            "submitted_at": (m.submitted_at > 0).then(|| format_time(m.submitted_at)),
            "disputed_at": (m.disputed_at > 0).then(|| format_time(m.disputed_at)),
            "decide_by": (m.disputed_at > 0).then(|| m.dispute_end(j.dispute_window).map(format_time).ok()),
            "agent_bps": (m.disputed_at > 0 && m.settled()).then_some(m.agent_bps),
        })).collect::<Vec<_>>(),
        "arbiter": j.arbiter().map(|a| a.to_string()),
        "dispute_window_secs": j.dispute_window,
        "dispute_default_bps": j.dispute_default_bps,
        "terms_hash": (j.terms_hash != [0; 32]).then(|| hex::encode(j.terms_hash)),
        "terms_uri": (!j.terms_uri().is_empty()).then(|| j.terms_uri().to_string()),
        "step_timeout_secs": j.step_timeout,
        "next": next_steps(j, now, c),
    })
}

impl JobCmd {
    pub fn run(self, ctx: &Ctx) -> Result<()> {
        match self {
            JobCmd::Create(create_cmd) => {
                let CreateCmd {
                    file,
                    agent,
                    mint,
                    keeper,
                    milestones,
                    deadline_in,
                    review_window,
                    min_stage,
                    nonce,
                    terms,
                    terms_uri,
                    step_timeout,
                    arbiter,
                    dispute_window,
                    dispute_default,
                    fund,
                } = *create_cmd;
                let mut spec: JobFile = match &file {
                    Some(path) => {
                        let text =
                            std::fs::read_to_string(path).with_context(|| format!("cannot read job file {path}"))?;
                        serde_json::from_str(&text).with_context(|| format!("job file {path} is not a valid job"))?
                    }
                    None => JobFile::default(),
                };
                spec.agent = agent.or(spec.agent);
                spec.mint = mint.or(spec.mint);
                spec.keeper = keeper.or(spec.keeper);
                spec.deadline_in = deadline_in.or(spec.deadline_in);
                spec.review_window = review_window.or(spec.review_window);
                spec.min_stage = min_stage.or(spec.min_stage);
                spec.nonce = nonce.or(spec.nonce);
                spec.terms = terms.or(spec.terms);
                spec.terms_uri = terms_uri.or(spec.terms_uri);
                spec.step_timeout = step_timeout.or(spec.step_timeout);
                spec.arbiter = arbiter.or(spec.arbiter);
                spec.dispute_window = dispute_window.or(spec.dispute_window);
                spec.dispute_default = dispute_default.or(spec.dispute_default);
                if !milestones.is_empty() {
                    spec.milestones = milestones.iter().map(|m| milestone_flag(m)).collect::<Result<_>>()?;
                }
                create(ctx, spec, fund)
            }
            JobCmd::Fund { job } => {
                let l = load(ctx, &job)?;
                let poster = ctx.signer()?.pubkey();
                if poster != l.job.poster {
                    bail!("only the poster {} can fund this job", l.job.poster);
                }
                let total = l.job.total();
                let have = token_balance(ctx, &l.keys.poster_token)?;
                if have < total {
                    bail!(
                        "insufficient balance: {} has {} but the job needs {}",
                        l.keys.poster_token,
                        format_ui(have, l.decimals),
                        format_ui(total, l.decimals)
                    );
                }
                // the poster creates the account the job pays into (a keeper pays for none)
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.agent.payout])?;
                ixs.push(escrow::fund_job(&l.keys, total));
                ctx.send(
                    "job fund",
                    &ixs,
                    &[],
                    &[("job", l.keys.job.to_string()), ("amount", format_ui(total, l.decimals))],
                )
            }
            JobCmd::Approve { job, index } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.agent.payout])?;
                ixs.push(escrow::approve_milestone(&l.keys, index));
                ctx.send("job approve", &ixs, &[], &[("job", l.keys.job.to_string()), ("milestone", index.to_string())])
            }
            JobCmd::Release { job, index } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.agent.payout])?;
                ixs.push(escrow::release_after_review(&l.keys, index));
                ctx.send("job release", &ixs, &[], &[("job", l.keys.job.to_string()), ("milestone", index.to_string())])
            }
            JobCmd::Reject { job, index, cancel } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                ixs.push(escrow::reject_milestone(&l.keys, index, cancel));
                ctx.send("job reject", &ixs, &[], &[("job", l.keys.job.to_string()), ("milestone", index.to_string())])
            }
            JobCmd::Accept { job } => {
                let l = load(ctx, &job)?;
                let me = ctx.signer()?.pubkey();
                if !l.agent.keys().include(&me) {
                    bail!(
                        "only the agent's authority {} or its signing key can accept its jobs (you are {me})",
                        l.agent.authority
                    );
                }
                let digest = l.job.consent_digest(&l.keys.job);
                let ix = escrow::accept_job(&me, &l.keys, digest);
                let fields = [
                    ("job", l.keys.job.to_string()),
                    ("keeper", l.job.keeper.to_string()),
                    ("arbiter", l.job.arbiter().map_or("none".into(), |a| a.to_string())),
                    ("total", format_ui(l.job.total(), l.decimals)),
                    ("deadline", format_time(l.job.deadline)),
                    ("consent_digest", hex::encode(digest)),
                ];
                ctx.send("job accept", &[ix], &[], &fields)
            }
            JobCmd::Submit { job, index, result_hash } => {
                let l = load(ctx, &job)?;
                let me = ctx.signer()?.pubkey();
                if me != l.job.keeper && !l.agent.keys().include(&me) {
                    bail!(
                        "only the job's keeper {} or its agent (authority {} or signing key) can submit work (you are {me})",
                        l.job.keeper,
                        l.agent.authority
                    );
                }
                let hash: [u8; 32] = hex::decode(result_hash.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| anyhow!("--result-hash must be 64 hex digits (a SHA-256)"))?;
                // a milestone without approval is released on submission: its payout account first
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.agent.payout])?;
                ixs.push(escrow::submit_milestone(&me, &l.keys, index, hash));
                let fields = [("job", l.keys.job.to_string()), ("milestone", index.to_string())];
                ctx.send("job submit", &ixs, &[], &fields)
            }
            JobCmd::Claim { job, to } => {
                let l = load(ctx, &job)?;
                let me = ctx.signer()?.pubkey();
                let held = match (me == l.job.poster, me == l.agent.payout) {
                    (true, true) => l.job.held_for_poster + l.job.held_for_agent,
                    (true, false) => l.job.held_for_poster,
                    (false, true) => l.job.held_for_agent,
                    (false, false) => bail!(
                        "only the job's poster {} or its agent's payout wallet {} can claim (you are {me})",
                        l.job.poster,
                        l.agent.payout
                    ),
                };
                if held == 0 {
                    bail!("nothing is held for you on job {}", l.keys.job);
                }
                let to = parse::pubkey("--to", &to)?;
                let ix = escrow::claim_held(&me, &l.keys, &to);
                let fields =
                    [("job", l.keys.job.to_string()), ("claimed", format_ui(held, l.decimals)), ("to", to.to_string())];
                ctx.send("job claim", &[ix], &[], &fields)
            }
            JobCmd::Concede { job, index } => {
                let l = load(ctx, &job)?;
                let authority = ctx.signer()?.pubkey();
                if authority != l.agent.authority {
                    bail!("only the agent's authority {} can concede (you are {authority})", l.agent.authority);
                }
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                ixs.push(escrow::concede_dispute(&authority, &l.keys, index));
                let m = l.job.milestone(index).map_err(|_| anyhow!("job has no milestone {index}"))?;
                let refunded = format_ui(m.gross(), l.decimals);
                let fields =
                    [("job", l.keys.job.to_string()), ("milestone", index.to_string()), ("refunded", refunded)];
                ctx.send("job concede", &ixs, &[], &fields)
            }
            JobCmd::Decide { job, index, agent_share } => {
                let l = load(ctx, &job)?;
                let bps = parse::share(&agent_share).map_err(|e| anyhow!(e))?;
                let arbiter = ctx.signer()?.pubkey();
                match l.job.arbiter() {
                    None => bail!("job {} has no arbiter: its rejections refund at once", l.keys.job),
                    Some(a) if a != arbiter => bail!("only the job's arbiter {a} can decide (you are {arbiter})"),
                    Some(_) => {}
                }
                decide(ctx, &l, index, bps, escrow::decide_dispute(&arbiter, &l.keys, index, bps), "job decide")
            }
            JobCmd::SettleDispute { job, index } => {
                let l = load(ctx, &job)?;
                let bps = l.job.dispute_default_bps;
                decide(ctx, &l, index, bps, escrow::apply_dispute_default(&l.keys, index), "job settle-dispute")
            }
            JobCmd::Fail { job, index, cancel, reason } => {
                let l = load(ctx, &job)?;
                let keeper = ctx.signer()?.pubkey();
                if keeper != l.job.keeper {
                    bail!("only the job's keeper {} can fail a milestone (you are {keeper})", l.job.keeper);
                }
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                let reason_hash = Sha256::digest(reason.as_bytes()).into();
                ixs.push(escrow::fail_milestone(&keeper, &l.keys, index, cancel, reason_hash));
                ctx.send("job fail", &ixs, &[], &[("job", l.keys.job.to_string()), ("milestone", index.to_string())])
            }
            JobCmd::Start { job, index } => {
                let l = load(ctx, &job)?;
                let keeper = ctx.signer()?.pubkey();
                if keeper != l.job.keeper {
                    bail!("only the job's keeper {} can start a step (you are {keeper})", l.job.keeper);
                }
                let ix = escrow::start_milestone(&keeper, &l.keys.job, index);
                ctx.send("job start", &[ix], &[], &[("job", l.keys.job.to_string()), ("milestone", index.to_string())])
            }
            JobCmd::Cancel { job } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                ixs.push(escrow::cancel_job(&l.keys));
                ctx.send("job cancel", &ixs, &[], &[("job", l.keys.job.to_string())])
            }
            JobCmd::Refund { job } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                ixs.push(escrow::refund_expired(&l.keys));
                // what returns: everything unsettled except milestones owed to an eligible agent
                // (and disputes); nothing, or not yet: 0, and the program's refusal names why
                let now = ctx.now()?;
                let refunded = l
                    .job
                    .refundable_after_deadline(now, l.conditions(ctx, now)?.agent_ineligible)
                    .map_or(0, |which| refund_amount(&l.job, which));
                let amount = format_ui(refunded, l.decimals);
                ctx.send("job refund", &ixs, &[], &[("job", l.keys.job.to_string()), ("refunded", amount)])
            }
            JobCmd::Prepare { job } => {
                let l = load(ctx, &job)?;
                let owners = [l.agent.payout, l.job.poster];
                let ixs = ensure_atas(ctx, &l.keys, &owners)?;
                let accounts = [l.keys.payee_token, l.keys.poster_token];
                let missing: Vec<String> =
                    accounts.iter().filter(|k| matches!(ctx.raw(k), Ok(None))).map(|k| k.to_string()).collect();
                if ixs.is_empty() {
                    let summary =
                        json!({"action": "job prepare", "job": l.keys.job.to_string(), "created": "none (all exist)"});
                    if ctx.json {
                        print_json(&summary);
                    } else {
                        println!("job prepare: nothing to create, both token accounts exist");
                    }
                    return Ok(());
                }
                let created = missing.join(", ");
                ctx.send("job prepare", &ixs, &[], &[("job", l.keys.job.to_string()), ("created", created)])
            }
            JobCmd::SweepFees { jobs } => sweep_fees(ctx, &jobs),
            JobCmd::Close { job } => {
                let l = load(ctx, &job)?;
                let mut ixs = ensure_atas(ctx, &l.keys, &[l.job.poster])?;
                let unswept = l.job.unswept_fees();
                if unswept > 0 && l.job.finished() {
                    // closing hands the vault to the poster: the treasury's fees leave first
                    // (its account is created if it is missing, at your expense)
                    ixs.extend(ensure_atas(ctx, &l.keys, &[l.config.treasury])?);
                    ixs.push(escrow::sweep_fees(
                        &l.config.treasury,
                        &l.keys.mint,
                        &l.keys.token_program,
                        &[l.keys.job],
                    ));
                }
                ixs.push(escrow::close_job(&l.keys));
                let fields = [("job", l.keys.job.to_string()), ("fees_swept", format_ui(unswept, l.decimals))];
                ctx.send("job close", &ixs, &[], &fields)
            }
            JobCmd::Show { job } => {
                let l = load(ctx, &job)?;
                let now = ctx.now()?;
                let conditions = l.conditions(ctx, now)?;
                if ctx.json {
                    let mut v = job_json(&l.keys.job, &l.job, l.decimals, now, &conditions);
                    let (check, terms) = terms_status(&l.job, ctx.local_cluster());
                    v["terms_check"] = json!(check);
                    v["terms"] = json!(terms);
                    print_json(&v);
                    return Ok(());
                }
                show(&l, now, &conditions, ctx.local_cluster());
                Ok(())
            }
            JobCmd::Pending { who, role } => pending(ctx, who, role),
            JobCmd::List { poster, agent, state } => {
                let mut filters = Vec::new();
                if let Some(p) = poster {
                    filters.push((JOB_POSTER_OFFSET, parse::pubkey("poster", &p)?.to_bytes().to_vec()));
                }
                if let Some(a) = agent {
                    filters.push((JOB_AGENT_OFFSET, parse::agent(&a)?.to_bytes().to_vec()));
                }
                let wanted = state.map(|s| s.to_ascii_lowercase());
                if let Some(w) = &wanted
                    && !["created", "funded", "completed", "cancelled", "expired"].contains(&w.as_str())
                {
                    bail!("unknown state {w:?}: use created, funded, completed, cancelled or expired");
                }
                let mut jobs: Vec<(Pubkey, Job)> = ctx
                    .program_accounts::<Job>(&filters)?
                    .into_iter()
                    .filter(|(_, j)| wanted.as_deref().is_none_or(|w| job_status_name(j.status) == w))
                    .collect();
                jobs.sort_by_key(|(_, j)| j.created_at);
                let now = ctx.now()?;
                if ctx.json {
                    let list: Vec<Value> = jobs
                        .iter()
                        // a list does not read every agent: next steps assume one that may be paid
                        .map(|(k, j)| {
                            let decimals = mint_info(ctx, &j.mint).map_or(0, |m| m.0);
                            job_json(k, j, decimals, now, &Conditions::assumed())
                        })
                        .collect();
                    print_json(&list);
                    return Ok(());
                }
                let mut t = Table::new(&["job", "status", "milestones", "total", "released", "deadline"]);
                for (k, j) in &jobs {
                    let d = mint_info(ctx, &j.mint).map_or(0, |m| m.0);
                    let settled = j.milestones().iter().filter(|m| m.settled()).count();
                    t.row(vec![
                        k.to_string(),
                        job_status_name(j.status).into(),
                        format!("{settled}/{} settled", j.milestones().len()),
                        format_ui(j.total(), d),
                        format_ui(j.released, d),
                        format_time(j.deadline),
                    ]);
                }
                println!("{}", t.render());
                Ok(())
            }
        }
    }
}

/// Sends a dispute decision `ix` giving `bps` of milestone `index` to the agent, creating the
/// two associated token accounts the shares go to, and reports the shares.
fn decide(ctx: &Ctx, l: &Loaded, index: u8, bps: u16, ix: Instruction, what: &str) -> Result<()> {
    let mut ixs = ensure_atas(ctx, &l.keys, &[l.agent.payout, l.job.poster])?;
    ixs.push(ix);
    // the program's own arithmetic, on a copy, names the shares (or the refusal)
    let mut after = l.job;
    let shares = after.decide(index, bps).map_err(|e| anyhow!("milestone {index} cannot be decided: {e}"))?;
    let ui = |v: u64| format_ui(v, l.decimals);
    let fields = [
        ("job", l.keys.job.to_string()),
        ("milestone", index.to_string()),
        ("agent_share", escrow::format_bps(bps)),
        ("to_agent", ui(shares.to_agent)),
        ("fee", ui(shares.fee)),
        ("to_poster", ui(shares.to_poster)),
    ];
    ctx.send(what, &ixs, &[], &fields)
}

/// `job sweep-fees`: one transaction per 12 jobs of the same mint, each moving the jobs'
/// unswept fees to the config treasury's associated token account.
fn sweep_fees(ctx: &Ctx, jobs: &[String]) -> Result<()> {
    let config: Config = ctx.account(&pda::config(), "config")?;
    let mut unswept = Vec::new();
    for job in jobs {
        let key = parse::pubkey("job", job)?;
        let j: Job = ctx.account(&key, "job")?;
        if j.unswept_fees() == 0 {
            bail!("job {key} has no unswept fees ({} earned, all swept)", j.fees_earned);
        }
        unswept.push(((j.mint, j.token_program), (key, j.unswept_fees())));
    }
    for ((mint, token_program), batches) in escrow::sweep_batches(unswept) {
        let (decimals, _) = mint_info(ctx, &mint)?;
        let payer = ctx.signer()?.pubkey();
        for batch in batches {
            let keys: Vec<Pubkey> = batch.iter().map(|(k, _)| *k).collect();
            let amount: u64 = batch.iter().map(|(_, a)| a).sum();
            // the treasury's account is created if it is missing, at the caller's expense
            let create = create_associated_token_account_idempotent(&payer, &config.treasury, &mint, &token_program);
            let ixs = [create, escrow::sweep_fees(&config.treasury, &mint, &token_program, &keys)];
            let fields = [
                ("mint", mint.to_string()),
                ("jobs", keys.len().to_string()),
                ("swept", format_ui(amount, decimals)),
                ("treasury", config.treasury.to_string()),
            ];
            ctx.send("job sweep-fees", &ixs, &[], &fields)?;
        }
    }
    Ok(())
}

fn token_balance(ctx: &Ctx, account: &Pubkey) -> Result<u64> {
    let acc = ctx
        .raw(account)?
        .ok_or_else(|| anyhow!("token account {account} does not exist: create it and fund it first"))?;
    token_amount(&acc.data).ok_or_else(|| anyhow!("{account} is not a token account"))
}

fn create(ctx: &Ctx, mut spec: JobFile, fund: bool) -> Result<()> {
    let need = |v: Option<String>, flag: &str| v.ok_or_else(|| anyhow!("missing {flag} (flag or job file field)"));
    let agent = parse::agent(&need(spec.agent, "--agent")?)?;
    let mint = parse::pubkey("mint", &need(spec.mint, "--mint")?)?;
    let keeper = parse::pubkey("keeper", &need(spec.keeper, "--keeper")?)?;
    let deadline_in = parse::duration(&need(spec.deadline_in, "--deadline-in")?).map_err(|e| anyhow!(e))?;
    let review_window = parse::duration(spec.review_window.as_deref().unwrap_or("24h")).map_err(|e| anyhow!(e))?;
    let min_stage = parse::stage(spec.min_stage.as_deref().unwrap_or("none")).map_err(|e| anyhow!(e))?;
    let step_timeout =
        parse::duration(spec.step_timeout.as_deref().unwrap_or(DEFAULT_STEP_TIMEOUT)).map_err(|e| anyhow!(e))?;
    let (arbiter, dispute_window, dispute_default_bps) = match &spec.arbiter {
        Some(a) => (
            Some(parse::pubkey("arbiter", a)?),
            parse::duration(spec.dispute_window.as_deref().unwrap_or("7d")).map_err(|e| anyhow!(e))?,
            parse::share(spec.dispute_default.as_deref().unwrap_or("50%")).map_err(|e| anyhow!(e))?,
        ),
        None if spec.dispute_window.is_some() || spec.dispute_default.is_some() => {
            bail!("--dispute-window and --dispute-default need --arbiter (who decides the disputes)")
        }
        None => (None, 0, 0),
    };
    let pinned = match &spec.terms {
        Some(path) => Some(read_terms(path, spec.terms_uri.as_deref(), &mut spec.milestones, ctx.local_cluster())?),
        None if spec.terms_uri.is_some() => bail!("--terms-uri needs --terms (the file whose hash is pinned)"),
        None => None,
    };
    if spec.milestones.is_empty() {
        bail!("a job needs at least one milestone (--milestone AMOUNT[:approve], or --terms)");
    }
    let (decimals, token_program) = mint_info(ctx, &mint)?;
    let milestones = spec
        .milestones
        .iter()
        .map(|m| Ok(MilestoneSpec { amount: parse_ui(&m.amount, decimals)?, requires_approval: m.requires_approval }))
        .collect::<Result<Vec<_>>>()?;
    let a: Agent = ctx.account(&agent, "agent")?;
    let config: Config = ctx.account(&pda::config(), "config")?;
    let now = ctx.now()?;
    let poster = ctx.signer()?.pubkey();
    // a nonce given is used as it is; otherwise the clock's microseconds: unused by this poster
    let nonce = spec.nonce.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
    });
    let job = pda::job(&poster, nonce);
    let record_shard = Job::default_record_shard(&job);
    let deadline = now.checked_add(deadline_in).ok_or_else(|| anyhow!("--deadline-in {deadline_in} s is too far"))?;
    let args = CreateJobArgs {
        nonce,
        milestones: milestones.clone(),
        keeper,
        min_stage,
        deadline,
        review_window,
        terms_hash: pinned.as_ref().map_or([0; 32], |p| p.hash),
        terms_uri: pinned.as_ref().map_or_else(String::new, |p| p.uri.clone()),
        step_timeout,
        arbiter,
        dispute_window,
        dispute_default_bps,
        record_shard,
    };
    let mut ixs = vec![escrow::create_job(&poster, &agent, a.version_seq, &mint, &token_program, args)];
    let total = milestones
        .iter()
        .try_fold(0u64, |t, m| t.checked_add(m.amount)?.checked_add(fee_for(m.amount, config.fee_bps)))
        .ok_or_else(|| anyhow!("the milestones and their fees add up to more than a token amount can hold"))?;
    if fund {
        let keys = JobKeys {
            job,
            poster,
            agent,
            mint,
            token_program,
            vault: pda::vault(&job),
            certification: None,
            payee_token: Pubkey::default(),
            poster_token: pda::ata(&poster, &mint, &token_program),
            track_record: pda::track_record(&agent, &mint, record_shard),
        };
        let have = token_balance(ctx, &keys.poster_token)?;
        if have < total {
            bail!(
                "insufficient balance: {} has {} but the job needs {}",
                keys.poster_token,
                format_ui(have, decimals),
                format_ui(total, decimals)
            );
        }
        // the poster creates the account the job pays into (a keeper pays for none)
        let payer = ctx.signer()?.pubkey();
        ixs.push(create_associated_token_account_idempotent(&payer, &a.payout, &mint, &token_program));
        ixs.push(escrow::fund_job(&keys, total));
    }
    let mut summary =
        vec![("job", job.to_string()), ("total", format_ui(total, decimals)), ("deadline", format_time(deadline))];
    if let Some(a) = arbiter {
        summary.push(("arbiter", a.to_string()));
        summary.push(("dispute_default", format!("{} to the agent", escrow::format_bps(dispute_default_bps))));
    }
    if let Some(p) = &pinned {
        summary.push(("terms_hash", hex::encode(p.hash)));
        summary.push(("terms_uri", p.uri.clone()));
    }
    // the agent's published policy, read where its SDK reads it: a job outside it is declined
    let mut terms_job =
        Job { keeper, step_timeout, review_window, arbiter: arbiter.unwrap_or_default(), ..Job::default() };
    terms_job.set_milestones(&milestones, config.fee_bps).map_err(|e| anyhow!("{e}"))?;
    let policy = agent_policy(&a, ctx.local_cluster()).map(|p| p.map(|p| p.refusal(&terms_job)));
    let verdict = match policy {
        Ok(Some(None)) => "inside the agent's published policy".to_string(),
        Ok(Some(Some(why))) => {
            eprintln!("warning: the agent will decline this job: {why}");
            format!("outside the agent's published policy: {why}")
        }
        Ok(None) => "the agent publishes no policy".to_string(),
        Err(e) => format!("unknown: {e}"),
    };
    summary.push(("agent_policy", verdict));
    ctx.send(if fund { "job create + fund" } else { "job create" }, &ixs, &[], &summary)
}

/// The policy agent `a` publishes in its manifest (served at its endpoint's origin, its SHA-256
/// the registry's `manifest_hash`); `None` when it declares none.
fn agent_policy(a: &Agent, local: bool) -> Result<Option<agentrail_client::consent::AgentPolicy>> {
    let mut url =
        reqwest::Url::parse(&a.metadata_uri).with_context(|| format!("the agent's endpoint {:?}", a.metadata_uri))?;
    url.set_path(agentrail_client::x402::MANIFEST_PATH);
    url.set_query(None);
    let manifest = fetch_published(url.as_str(), local)?;
    if <[u8; 32]>::from(Sha256::digest(&manifest)) != a.manifest_hash {
        bail!("the manifest at {url} is not the one the agent registered");
    }
    agentrail_client::consent::AgentPolicy::from_manifest(&manifest).map_err(|e| anyhow!(e))
}

/// A terms file read for pinning: its hash and where it will be fetched from.
struct PinnedTerms {
    hash: [u8; 32],
    uri: String,
}

/// Reads and checks the terms file at `path`; fills `milestones` from it when none were given
/// on the command line, or checks that those given agree with it.
fn read_terms(path: &str, uri: Option<&str>, milestones: &mut Vec<MilestoneFile>, local: bool) -> Result<PinnedTerms> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read terms file {path}"))?;
    let terms = Terms::parse(&bytes).with_context(|| format!("terms file {path}"))?;
    let from_terms: Vec<MilestoneFile> = terms
        .milestones
        .iter()
        .map(|m| MilestoneFile { amount: m.amount.clone(), requires_approval: m.requires_approval })
        .collect();
    if milestones.is_empty() {
        *milestones = from_terms;
    } else {
        let same = milestones.len() == from_terms.len()
            && milestones
                .iter()
                .zip(&from_terms)
                .all(|(a, b)| a.amount == b.amount && a.requires_approval == b.requires_approval);
        if !same {
            bail!("the --milestone flags disagree with the milestones of terms file {path} (amount and approval)");
        }
    }
    let uri = match uri {
        Some(u) => u.to_string(),
        None if local => {
            let abs = std::fs::canonicalize(path).with_context(|| format!("cannot resolve {path}"))?;
            format!("file://{}", abs.display())
        }
        // a path on this machine would be published on-chain, readable by nobody else
        None => bail!(
            "--terms needs --terms-uri on a cluster that is not on this machine: publish {path} at an https:// (or ipfs://) address and name it"
        ),
    };
    if uri.len() > agentrail::state::MAX_TERMS_URI_LEN {
        bail!("terms URI is {} bytes; the limit is {}", uri.len(), agentrail::state::MAX_TERMS_URI_LEN);
    }
    Ok(PinnedTerms { hash: terms_hash(&bytes), uri })
}

/// What `job show` says about a job's terms: fetched from its URI and checked against the hash.
fn terms_status(j: &Job, local: bool) -> (String, Option<Terms>) {
    if j.terms_hash == [0; 32] {
        return ("none (the job pins no terms)".into(), None);
    }
    let hash = hex::encode(j.terms_hash);
    match fetch_published(j.terms_uri(), local) {
        Err(e) => (format!("{hash} at {} (not fetched: {e:#})", j.terms_uri()), None),
        Ok(bytes) if terms_hash(&bytes) != j.terms_hash => {
            (format!("{hash} at {}: MISMATCH, the document there has another hash", j.terms_uri()), None)
        }
        Ok(bytes) => match Terms::parse(&bytes) {
            Ok(t) => (format!("{hash} at {} (matches)", j.terms_uri()), Some(t)),
            Err(e) => (format!("{hash} at {} (matches, but {e})", j.terms_uri()), None),
        },
    }
}

/// Most bytes read from a document an on-chain address names.
const MAX_PUBLISHED_BYTES: u64 = 256 * 1024;

/// Fetches a document whose address was read from the chain (a job's terms, an agent's
/// manifest): anyone chose it, so at most [`MAX_PUBLISHED_BYTES`] read as they stream; http(s)
/// within 10 s and without redirects, and, unless the cluster runs on this machine (`local`: a
/// local setup, its agents on loopback), only from a host that resolves to public addresses;
/// `file://` only for a local cluster, and only a regular file.
fn fetch_published(uri: &str, local: bool) -> Result<Vec<u8>> {
    use std::io::Read;
    let capped = |mut from: Box<dyn Read>| -> Result<Vec<u8>> {
        let mut body = Vec::new();
        (&mut from).take(MAX_PUBLISHED_BYTES + 1).read_to_end(&mut body)?;
        if body.len() as u64 > MAX_PUBLISHED_BYTES {
            bail!("the document is larger than {} KiB: not read", MAX_PUBLISHED_BYTES / 1024);
        }
        Ok(body)
    };
    // a file on this machine: only for a cluster on it (the user's own jobs), only a regular
    // file (never a device such as /dev/zero or /dev/stdin)
    if let Some(path) = uri.strip_prefix("file://") {
        if !local {
            bail!("a file:// address is read only for a cluster on this machine");
        }
        let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
        if !meta.is_file() {
            bail!("{path} is not a regular file");
        }
        return capped(Box::new(std::fs::File::open(path).with_context(|| format!("cannot read {path}"))?));
    }
    let url = reqwest::Url::parse(uri).with_context(|| format!("{uri:?} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("only http(s) addresses named on-chain are read, not {:?}", url.scheme());
    }
    if !local {
        use std::net::ToSocketAddrs;
        let host = url.host_str().context("the address has no host")?;
        let port = url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<_> = (host, port).to_socket_addrs().with_context(|| format!("cannot resolve {host}"))?.collect();
        if addrs.is_empty() || addrs.iter().any(|a| !agentrail_client::net::is_public(a.ip())) {
            bail!("{host} resolves to a private address; an address named on-chain is read only from public hosts");
        }
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let resp = client.get(url).send()?;
    if !resp.status().is_success() {
        bail!("it answered HTTP {} (redirects are not followed)", resp.status().as_u16());
    }
    capped(Box::new(resp))
}

fn show(l: &Loaded, now: i64, conditions: &Conditions, local: bool) {
    let (j, d) = (&l.job, l.decimals);
    let (terms_line, terms) = terms_status(j, local);
    let ui = |v: u64| format_ui(v, d);
    println!(
        "{}",
        fields(&[
            ("job", l.keys.job.to_string()),
            ("status", job_status_name(j.status).into()),
            ("poster", j.poster.to_string()),
            ("agent", format!("{} (version #{})", j.agent, j.agent_version_seq)),
            ("keeper", j.keeper.to_string()),
            ("mint", j.mint.to_string()),
            (
                "certification",
                format!("required {}, pinned {}", stage_letter(j.min_stage), stage_letter(j.pinned_stage))
            ),
            ("fee", format!("{} bps", j.fee_bps)),
            ("deadline", format_time(j.deadline)),
            (
                "review window",
                humantime::format_duration(std::time::Duration::from_secs(j.review_window as u64)).to_string()
            ),
            ("total", ui(j.total())),
            ("released", format!("{} to the agent, {} in fees", ui(j.released), ui(j.fees_earned))),
            ("fees swept", format!("{} of {} to the treasury", ui(j.fees_swept), ui(j.fees_earned))),
            ("refunded", ui(j.refunded)),
            ("in vault", ui(j.vault_owes().unwrap_or(u64::MAX))),
            ("terms", terms_line),
            (
                "arbiter",
                match j.arbiter() {
                    Some(a) => format!(
                        "{a}: decides within {} of a rejection, else {} to the agent",
                        humantime::format_duration(std::time::Duration::from_secs(j.dispute_window as u64)),
                        escrow::format_bps(j.dispute_default_bps)
                    ),
                    None => "none (a rejection refunds at once)".into(),
                }
            ),
        ])
    );
    let mut t = Table::new(&["#", "work", "amount", "fee", "approval", "state", "submitted"]);
    let state = |m: &agentrail::state::Milestone| match m.state {
        MilestoneState::Disputed => {
            let by = m.dispute_end(j.dispute_window).map(format_time).unwrap_or_default();
            format!("disputed (decide by {by})")
        }
        _ if m.disputed_at > 0 => {
            format!("{} ({} to agent)", milestone_state_name(m.state), escrow::format_bps(m.agent_bps))
        }
        other => milestone_state_name(other).into(),
    };
    for (i, m) in j.milestones().iter().enumerate() {
        let work = terms.as_ref().and_then(|t| t.milestones.get(i)).map_or_else(|| "-".into(), |m| m.title.clone());
        t.row(vec![
            i.to_string(),
            work,
            ui(m.amount),
            ui(m.fee),
            if m.needs_approval() { "yes" } else { "no" }.into(),
            state(m),
            if m.submitted_at > 0 { format_time(m.submitted_at) } else { "-".into() },
        ]);
    }
    println!("\n{}\n\nnext:", t.render());
    for step in next_steps(j, now, conditions) {
        println!("  - {step}");
    }
}

/// `job pending`: every open job where `who` is poster, arbiter or keeper, and what the
/// lifecycle offers that role now (the same offers `job show` prints), soonest limit first.
fn pending(ctx: &Ctx, who: Option<String>, role: Option<String>) -> Result<()> {
    use agentrail_client::accounts::{JOB_ARBITER_OFFSET, JOB_KEEPER_OFFSET};
    use agentrail_client::lifecycle::{Actor, next_actions};
    let me = match who {
        Some(w) => parse::pubkey("who", &w)?,
        None => ctx.signer()?.pubkey(),
    };
    let roles: &[(&str, usize, Actor)] = &[
        ("poster", JOB_POSTER_OFFSET, Actor::Poster),
        ("arbiter", JOB_ARBITER_OFFSET, Actor::Arbiter),
        ("keeper", JOB_KEEPER_OFFSET, Actor::Keeper),
    ];
    let wanted: Vec<_> = match role.as_deref() {
        None => roles.to_vec(),
        Some(r) => match roles.iter().find(|(name, _, _)| *name == r) {
            Some(one) => vec![*one],
            None => bail!("unknown role {r:?}: use poster, arbiter or keeper"),
        },
    };
    let config: Config = ctx.account(&pda::config(), "config")?;
    let now = ctx.now()?;
    let mut rows: Vec<(Option<i64>, Value)> = Vec::new();
    let mut agents: std::collections::HashMap<Pubkey, Agent> = std::collections::HashMap::new();
    for (name, offset, actor) in wanted {
        for (key, job) in ctx.program_accounts::<Job>(&[(offset, me.to_bytes().to_vec())])? {
            if !matches!(job.status, JobStatus::Created | JobStatus::Funded) {
                continue;
            }
            let agent = match agents.get(&job.agent) {
                Some(a) => a.clone(),
                None => {
                    let a: Agent = ctx.account(&job.agent, "agent")?;
                    agents.insert(job.agent, a.clone());
                    a
                }
            };
            let keys = JobKeys::new(key, &job, &agent);
            let cert: Option<Certification> = match keys.certification {
                Some(c) => ctx.raw(&c)?.and_then(|a| agentrail_client::accounts::decode(&a.data).ok()),
                None => None,
            };
            let conditions = Conditions::read(&job, &agent, cert.as_ref(), &config, now);
            let offers = next_actions(&job, now, &conditions)
                .into_iter()
                .filter(|o| agentrail_client::lifecycle::awaits(actor, o.action));
            for offer in offers {
                let milestone = offer.action.milestone();
                let amount = milestone.and_then(|i| job.milestones().get(usize::from(i))).map(|m| m.amount);
                rows.push((
                    offer.until,
                    json!({
                        "job": key.to_string(), "role": name, "action": offer.action.kind().as_str(),
                        "milestone": milestone, "amount_base_units": amount, "mint": job.mint.to_string(),
                        "until": offer.until,
                    }),
                ));
            }
        }
    }
    // the soonest limit first; those without one last
    rows.sort_by_key(|(until, v)| (until.is_none(), *until, v["job"].as_str().map(str::to_string)));
    if ctx.json {
        print_json(&rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>());
        return Ok(());
    }
    if rows.is_empty() {
        println!("nothing awaits {me}");
        return Ok(());
    }
    let mut t = Table::new(&["job", "as", "action", "milestone", "amount (base units)", "until"]);
    for (until, v) in &rows {
        t.row(vec![
            v["job"].as_str().unwrap_or_default().to_string(),
            v["role"].as_str().unwrap_or_default().to_string(),
            v["action"].as_str().unwrap_or_default().to_string(),
            v["milestone"].as_u64().map_or("-".into(), |m| m.to_string()),
            v["amount_base_units"].as_u64().map_or("-".into(), |a| a.to_string()),
            until.map_or("no limit".into(), format_time),
        ]);
    }
    println!("{}", t.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An HTTP server on loopback answering every request with `response`, once per
    /// connection; returns its address.
    fn serve_once(response: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{addr}")
    }

    /// A hostile job's terms address cannot take down the person reading the job (review M8):
    /// devices, remote files, private hosts, redirects and endless documents are refused, each
    /// promptly and by name.
    #[test]
    fn a_document_named_on_chain_is_read_within_bounds() {
        let err = |uri: &str, local: bool| fetch_published(uri, local).unwrap_err().to_string();
        assert!(err("file:///dev/zero", true).contains("not a regular file"));
        assert!(err("file:///dev/stdin", true).contains("not a regular file"));
        assert!(err("file:///etc/hostname", false).contains("only for a cluster on this machine"));
        let dir = std::env::temp_dir().join(format!("agentrail-fetch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.json");
        std::fs::write(&big, vec![b' '; 300 * 1024]).unwrap();
        assert!(err(&format!("file://{}", big.display()), true).contains("larger than 256 KiB"));
        let small = dir.join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(fetch_published(&format!("file://{}", small.display()), true).unwrap(), b"{}");
        assert!(err("ftp://example.com/terms", true).contains("only http(s)"));
        // loopback is private: refused unless the cluster itself is on this machine
        let ok = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
        assert!(err(&ok, false).contains("private address"));
        assert_eq!(fetch_published(&ok, true).unwrap(), b"{}");
        let moved = serve_once("HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n");
        assert!(err(&moved, true).contains("302"), "redirects are not followed");
        let huge: &'static str =
            Box::leak(format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{}", " ".repeat(300 * 1024)).into());
        assert!(err(&serve_once(huge), true).contains("larger than 256 KiB"), "read only up to the cap");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn milestone_flags() {
        let m = milestone_flag("12.5:approve").unwrap();
        assert_eq!((m.amount.as_str(), m.requires_approval), ("12.5", true));
        assert!(!milestone_flag("3").unwrap().requires_approval);
        assert!(milestone_flag("3:maybe").unwrap_err().to_string().contains("unknown flag"));
    }

    #[test]
    fn job_files_are_strict() {
        let ok: JobFile = serde_json::from_str(
            r#"{"agent":"0","milestones":[{"amount":"1.5","requires_approval":true}],"deadline_in":"3d"}"#,
        )
        .unwrap();
        assert_eq!(ok.milestones.len(), 1);
        assert!(serde_json::from_str::<JobFile>(r#"{"agnet":"0"}"#).is_err(), "typos are errors");
    }
}
