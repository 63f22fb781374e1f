//! End to end on a real `solana-test-validator` (agave 4.2.2) with the program's `.so`: the
//! keeper, the CLI and demo agents run as separate release processes. Ignored by plain
//! `cargo test` (they need the validator and release binaries); `scripts/test.sh` builds those
//! and runs them with `--ignored`.

#[path = "../../keeper/tests/support/mod.rs"]
mod postgres;

use std::time::Duration;

use agentrail::state::{JobStatus, MilestoneState};
use agentrail_client::pda;
use agentrail_client::unix_now;
use agentrail_keeper::store::{IntentStatus, Store};
use agentrail_tests::env::{fee, gross};
use agentrail_tests::localnet::{Fault, RpcProxy};
use agentrail_tests::world::{KeeperOptions, World, write_json};
use anchor_lang::prelude::Pubkey;
use serde_json::{Value, json};

const UNIT: u64 = 1_000_000;
const MINUTE: Duration = Duration::from_secs(60);

use milestone_states::*;

/// The milestone states by their names, as the program's constants spell them.
#[allow(non_upper_case_globals)]
mod milestone_states {
    use agentrail::state::MilestoneState;
    pub const Pending: MilestoneState = MilestoneState::Pending;
    pub const Submitted: MilestoneState = MilestoneState::Submitted;
    pub const Released: MilestoneState = MilestoneState::Released;
    pub const Refunded: MilestoneState = MilestoneState::Refunded;
    pub const Disputed: MilestoneState = MilestoneState::Disputed;
    pub const Split: MilestoneState = MilestoneState::Split;
}

fn states(w: &World, job: &Pubkey) -> Vec<MilestoneState> {
    w.job(job).expect("job exists").milestones().iter().map(|m| m.state).collect()
}

/// Runs `f` on the keeper's store (SQLite file or PostgreSQL) from the test.
fn with_store<T>(url: &str, f: impl AsyncFnOnce(Store) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { f(Store::open(url).await.expect("open the keeper store")).await })
}

/// Receipts per milestone of `job` in the store: each milestone must have at most one.
fn receipts_per_milestone(url: &str, job: &Pubkey) -> Vec<u8> {
    with_store(url, async |s| s.receipts_for_job(&job.to_string()).await.expect("receipts"))
        .iter()
        .map(|r| r.milestone)
        .collect()
}

fn vault_balance(w: &World, job: &Pubkey) -> u64 {
    w.net.token_amount(&pda::vault(job))
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn full_flow_pays_approves_rejects_refunds_anchors_and_verifies() {
    let w = World::new(&["ok", "garbage", "disputed:ok"]);
    let (p0, a0, t0) = w.balances("ok");
    let keeper = w.keeper("keeper", KeeperOptions::default());

    // A: auto, approved by the poster, rejected by the poster, auto
    let a = w.post_job("ok", &["10", "20:approve", "30:approve", "40"], "10m", "60s");
    // B: auto, then an approval milestone the poster leaves to its review window
    let b = w.post_job("ok", &["15", "25:approve"], "10m", "3s");
    // C: the agent answers garbage, nothing is paid, the deadline passes, the keeper refunds
    let c = w.post_job("garbage", &["12"], "30s", "1s");
    let funded = [10, 20, 30, 40, 15, 25, 12].map(|m| gross(m * UNIT)).iter().sum::<u64>();
    assert_eq!(w.balances("ok").0, p0 - funded, "the poster funded every job exactly");

    let poster = w.poster.1.clone();
    // D: a job with an arbiter; the first rejection is split by the arbiter, the agent concedes the second
    let (arbiter, arbiter_key) = w.net.funded_key("arbiter", 1);
    let arbiter_s = arbiter.to_string();
    let dispute = ["--arbiter", arbiter_s.as_str(), "--dispute-window", "1h", "--dispute-default", "poster"];
    let d = w.post_job_with("disputed", &["10:approve", "20:approve"], "10m", "60s", &dispute);
    // E: an unfunded job naming the keeper, past its deadline at once, from a poster with no
    // token account: the keeper must spend nothing on it (no refund, no rent for an account)
    let (spammer, spammer_key) = w.net.funded_key("spammer", 1);
    let (ok_agent, mint_s, keeper_s) = (w.agents["ok"].address.to_string(), w.mint.to_string(), w.keeper.0.to_string());
    let spam = ["job", "create", "--agent", &ok_agent, "--mint", &mint_s, "--keeper", &keeper_s, "--milestone", "1"];
    let spam = [&spam[..], &["--deadline-in", "2s"]].concat();
    let e: Pubkey = w.net.cli(&spammer_key, &spam)["job"].as_str().expect("job").parse().expect("pubkey");
    let job = w.wait_job(&a, "A's approval milestone submitted", MINUTE, |j| j.milestones()[1].state == Submitted);
    assert_eq!(job.milestones()[0].state, Released, "a milestone without approval is paid on submission");
    w.net.cli(&poster, &["job", "approve", &a.to_string(), "1"]);
    w.wait_job(&a, "A's second approval milestone submitted", MINUTE, |j| j.milestones()[2].state == Submitted);
    w.net.cli(&poster, &["job", "reject", &a.to_string(), "2"]);
    w.wait_job(&a, "A completed", MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!(states(&w, &a), [Released, Released, Refunded, Released]);
    let shown = w.net.cli(&poster, &["job", "show", &a.to_string()]);
    assert_eq!(shown["status"], "completed", "{shown}");

    disputes_through_the_cli(&w, &d, &arbiter_key);

    w.wait_job(&b, "B completed after its review window", MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!(states(&w, &b), [Released, Released]);

    w.wait_job(&c, "C refunded after its deadline", 2 * MINUTE, |j| j.status == JobStatus::Expired);
    assert_eq!(states(&w, &c), [Refunded]);
    // dozens of scans after E's deadline: untouched, and no token account was opened for its poster
    assert_eq!(w.job(&e).expect("E exists").status, JobStatus::Created, "the keeper never acts on unfunded jobs");
    let spammer_ata = pda::ata(&spammer, &w.mint, &anchor_spl::token::ID);
    assert!(w.net.rpc.get_account(&spammer_ata).is_err(), "the keeper paid rent for the spammer's token account");
    // the track records, written only by settlements: A and B for the working agent, C for the other
    let ok = w.net.cli(&poster, &["agent", "show", &w.agents["ok"].address.to_string()]);
    let r = &ok["track_record"][0];
    let counts = ["jobs_funded", "released", "rejected", "failed", "refunded"].map(|k| r[k].as_u64().unwrap_or(99));
    assert_eq!(counts, [2, 5, 1, 0, 0], "{ok}");
    assert_eq!(r["volume_base_units"], (110 * UNIT).to_string(), "{ok}");
    let garbage = w.net.cli(&poster, &["agent", "show", &w.agents["garbage"].address.to_string()]);
    let r = &garbage["track_record"][0];
    let counts = ["jobs_funded", "released", "rejected", "failed", "refunded"].map(|k| r[k].as_u64().unwrap_or(99));
    assert_eq!(counts, [1, 0, 0, 0, 1], "expired, no verdict: {garbage}");
    let view = keeper.get(&format!("/jobs/{c}")).expect("keeper serves job C");
    assert_eq!(view["milestones"][0]["step"], "abandoned", "{view}");
    assert_eq!(view["milestones"][0]["attempts"], 3, "{view}");
    assert_eq!(w.agents["garbage"].calls(&c, 0), 3, "garbage is retried up to the policy's attempts");

    // balances, to the token unit
    let released = [10, 20, 40, 15, 25].map(|m| m * UNIT);
    let (p1, a1, _) = w.balances("ok");
    // D cost the poster the arbiter's 60% of milestone 0 and of its fee, nothing else
    let (d_agent, d_fee) = (6 * UNIT, fee(10 * UNIT) * 6 / 10);
    let paid = released.iter().map(|&m| gross(m)).sum::<u64>() + d_agent + d_fee;
    assert_eq!(p1, p0 - paid, "poster: paid what was released, no more");
    assert_eq!(a1, a0 + released.iter().sum::<u64>(), "agent: every released amount once");
    assert_eq!(w.balances("disputed").1, d_agent, "the disputed agent: the arbiter's share only");
    let fees = released.iter().map(|&m| fee(m)).sum::<u64>() + d_fee;
    // releases left the fees in the vaults; the keeper's fee duty swept the finished jobs'
    for job in [a, b, d] {
        w.wait_job(&job, "fees swept by the keeper", MINUTE, |j| j.fees_swept == j.fees_earned && j.fees_earned > 0);
    }
    let t1 = w.balances("ok").2;
    assert_eq!(t1, t0 + fees, "treasury: the fee of each release and of the share");
    assert!(keeper.metric("agentrail_keeper_fees_swept_jobs_total") >= 3.0, "the fee duty swept A, B and D");
    assert_eq!(w.balances("garbage").1, 0, "nothing paid for garbage");
    for job in [a, b, c, d] {
        assert_eq!(vault_balance(&w, &job), 0, "vault of {job} is empty");
    }

    // exactly one step execution and one receipt per executed milestone
    assert_eq!(receipts_per_milestone(&keeper.database, &a), [0, 1, 2, 3]);
    assert_eq!(receipts_per_milestone(&keeper.database, &b), [0, 1]);
    assert!(receipts_per_milestone(&keeper.database, &c).is_empty());
    for i in 0..4 {
        assert_eq!(w.agents["ok"].calls(&a, i), 1, "A milestone {i} executed once");
    }

    // the day's checkpoint is anchored; receipt 0 verifies against it with the CLI
    let bundle = agentrail_tests::localnet::wait_until("receipt 0 anchored", MINUTE, || {
        keeper.get("/receipts/0").filter(|b| !b["day"].is_null())
    });
    let anchors = w.net.cli(&poster, &["anchors", "show", &w.keeper.0.to_string()]);
    let checkpoint = &anchors["checkpoints"][0];
    assert_eq!(checkpoint["day"], bundle["day"], "{anchors}");
    assert_eq!(checkpoint["root"], bundle["root"], "{anchors}");
    let file = w.net.dir.path().join("receipt-0.json");
    write_json(&file, &bundle);
    let verified = w.net.cli(&poster, &["receipt", "verify", file.to_str().expect("utf-8")]);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["anchored"]["day"], bundle["day"], "{verified}");

    // a tampered receipt is refused, naming the problem
    let mut forged: Value = bundle.clone();
    forged["receipt"]["cost"] = (forged["receipt"]["cost"].as_u64().expect("cost") + 1).into();
    write_json(&file, &forged);
    let out = w.net.cli_output(&poster, &["receipt", "verify", file.to_str().expect("utf-8")]);
    assert!(!out.status.success(), "a forged receipt must not verify");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(keeper.metric("agentrail_keeper_anchors_total") >= 1.0);
    // once its job is closed the receipt still verifies as signed and logged, but says that it
    // proves no payment any more
    let job0: Pubkey = bundle["receipt"]["job"].as_str().expect("job").parse().expect("pubkey");
    w.net.cli(&poster, &["job", "close", &job0.to_string()]);
    write_json(&file, &bundle);
    let verified = w.net.cli(&poster, &["receipt", "verify", file.to_str().expect("utf-8")]);
    assert_eq!((&verified["valid"], &verified["job_exists"]), (&json!(false), &json!(false)), "{verified}");
    assert!(verified["result_hash"].as_str().is_some_and(|s| s.contains("closed")), "{verified}");

    // reported, not asserted: the keeper's CPU per milestone it settled, idle polling included
    let cpu = keeper.process.cpu_seconds().expect("keeper CPU time");
    eprintln!("keeper CPU: {:.3} s for 10 settled milestones, {:.1} ms each", cpu, cpu * 1e3 / 10.0);
    let mut keeper = keeper;
    assert!(keeper.process.terminate(Duration::from_secs(30)), "SIGTERM stops the keeper cleanly");
    assert!(keeper.process.output().contains("keeper stopped"), "{}", keeper.log_tail());
}

/// Job `d` (agent `disputed`, two approval milestones of 10 and 20, arbiter `arbiter_key`,
/// default share to the poster): the poster rejects milestone 0 and the arbiter gives the
/// agent 60% with `job decide`, while the agent's payout account cannot take it (held, then
/// claimed with `job claim`); the poster rejects milestone 1 and the agent concedes with
/// `job concede`. Each refusal names who may act; the track record counts how each ended.
fn disputes_through_the_cli(w: &World, d: &Pubkey, arbiter_key: &std::path::Path) {
    let (poster, owner) = (w.poster.1.clone(), w.agents["disputed"].owner.clone());
    let d_s = d.to_string();
    w.wait_job(d, "D's first milestone submitted", MINUTE, |j| j.milestones()[0].state == Submitted);
    w.net.cli(&poster, &["job", "reject", &d_s, "0"]);
    assert_eq!(states(w, d)[0], Disputed, "a rejection with an arbiter is a dispute");
    let shown = w.net.cli(&poster, &["job", "show", &d_s]);
    assert_eq!(shown["milestones"][0]["state"], "disputed", "{shown}");
    assert!(shown["next"].as_array().unwrap().iter().any(|s| s.as_str().unwrap().contains("may decide")), "{shown}");
    let err = cli_error(w, &poster, &["job", "decide", &d_s, "0", "--agent-share", "60%"]);
    assert!(err.contains("only the job's arbiter"), "{err}");
    let err = cli_error(w, arbiter_key, &["job", "decide", &d_s, "0", "--agent-share", "160%"]);
    assert!(err.contains("at most 100%"), "{err}");
    // the agent's payout account cannot take the award (its owner reassigned, as classic SPL
    // Token allows): the decision still lands and the share is held for the agent (audit M-1)
    use spl_token_interface::instruction::{AuthorityType, set_authority};
    let payout = w.agents["disputed"].payout;
    let payout_ata = pda::ata(&payout, &w.mint, &anchor_spl::token::ID);
    let (parker, parker_key) = w.net.funded_key("parker", 1);
    let reassign = |from: &Pubkey, to: &Pubkey| {
        set_authority(&anchor_spl::token::ID, &payout_ata, Some(to), AuthorityType::AccountOwner, from, &[]).unwrap()
    };
    send_as(w, &owner, &[reassign(&payout, &parker)]);
    let decided = w.net.cli(arbiter_key, &["job", "decide", &d_s, "0", "--agent-share", "60%"]);
    assert_eq!(decided["to_agent"], "6", "{decided}");
    let j = w.job(d).unwrap();
    assert_eq!((j.milestones()[0].state, j.milestones()[0].agent_bps), (Split, 6_000));
    assert_eq!((j.held_for_agent, w.net.token_amount(&payout_ata)), (6 * UNIT, 0), "held in the vault");
    let err = cli_error(w, &poster, &["job", "claim", &d_s, "--to", &payout_ata.to_string()]);
    assert!(err.contains("nothing is held for you"), "the poster cannot take the agent's share: {err}");
    // the agent claims it to an account its payout wallet owns at claim time (here its own
    // associated account, handed back)
    send_as(w, &parker_key, &[reassign(&parker, &payout)]);
    w.net.cli(&owner, &["job", "claim", &d_s, "--to", &payout_ata.to_string()]);
    assert_eq!((w.job(d).unwrap().held_for_agent, w.net.token_amount(&payout_ata)), (0, 6 * UNIT), "claimed");
    w.wait_job(d, "D's second milestone submitted", MINUTE, |j| j.milestones()[1].state == Submitted);
    w.net.cli(&poster, &["job", "reject", &d_s, "1"]);
    let err = cli_error(w, &poster, &["job", "concede", &d_s, "1"]);
    assert!(err.contains("only the agent's authority"), "{err}");
    w.net.cli(&owner, &["job", "concede", &d_s, "1"]);
    w.wait_job(d, "D completed", MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!(states(w, d), [Split, Refunded]);
    let shown = w.net.cli(&poster, &["agent", "show", &w.agents["disputed"].address.to_string()]);
    let r = &shown["track_record"][0];
    let disputes = ["opened", "conceded", "for_agent", "for_poster", "split", "decided_by_default"]
        .map(|k| r["disputes"][k].as_u64().unwrap_or(99));
    assert_eq!(disputes, [2, 1, 0, 0, 1, 0], "{shown}");
    assert_eq!((r["rejected"].as_u64(), r["released"].as_u64()), (Some(2), Some(0)), "{shown}");
    assert_eq!(r["volume_base_units"], (6 * UNIT).to_string(), "{shown}");
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn keeper_killed_between_broadcast_and_record_pays_exactly_once() {
    let w = World::new(&["ok"]);
    let (_, a0, _) = w.balances("ok");
    let job = w.post_job("ok", &["10", "20:approve", "30"], "10m", "2s");
    let crash = |failpoint: &str, paid: usize, what: &str| {
        let mut k = w.keeper("keeper", KeeperOptions { failpoint: Some(failpoint.into()), ..Default::default() });
        k.process.wait_for_output("failpoint after-broadcast reached", 2 * MINUTE);
        // the transaction is out: wait until it has landed, then kill -9 before it is recorded
        w.wait_job(&job, what, MINUTE, |j| j.milestones()[paid].state == Released);
        k.process.kill9();
        let pending = with_store(&k.database, async |s| s.pending_intents().await.expect("intents"));
        assert_eq!(pending.len(), 1, "the landed transaction is still only an intent in the store");
        pending[0].id.clone()
    };
    // crash 1: right after broadcasting the submission that pays milestone 0
    let first = crash("after-broadcast:submit", 0, "milestone 0 paid");
    // crash 2: the restarted keeper resolves it, runs milestone 1, and dies after broadcasting
    // the release after review
    let second = crash("after-broadcast:release", 1, "milestone 1 released after review");
    // crash 3: the submission of milestone 2 is persisted and signed, then the keeper dies
    // before broadcasting it: nothing landed, and the restart must send those same bytes
    let mut k =
        w.keeper("keeper", KeeperOptions { failpoint: Some("before-broadcast:submit".into()), ..Default::default() });
    k.process.wait_for_output("failpoint before-broadcast reached", 2 * MINUTE);
    k.process.kill9();
    assert_eq!(states(&w, &job)[2], Pending, "nothing was broadcast");
    let pending = with_store(&k.database, async |s| s.pending_intents().await.expect("intents"));
    assert_eq!(pending.len(), 1, "the unsent submission is an intent in the store");
    let third = pending[0].id.clone();
    let k = w.keeper("keeper", KeeperOptions::default());
    w.wait_job(&job, "job completed", MINUTE, |j| j.status == JobStatus::Completed);
    for id in [first, second, third] {
        // the chain shows the payment a moment before the keeper's poll records it
        let intent = agentrail_tests::localnet::wait_until("intent resolved from the chain", MINUTE, || {
            with_store(&k.database, async |s| s.intent(&id).await.expect("intent"))
                .filter(|i| i.status == IntentStatus::Confirmed)
        });
        assert_eq!(intent.attempts, 1, "{id} was never signed again");
    }
    assert_eq!(w.balances("ok").1, a0 + 60 * UNIT, "each milestone paid exactly once");
    assert_eq!(receipts_per_milestone(&k.database, &job), [0, 1, 2]);
    let calls: Vec<u64> = (0..3).map(|i| w.agents["ok"].calls(&job, i)).collect();
    assert_eq!(calls, [1, 1, 1], "no step ran twice");
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn anchoring_survives_a_crash_and_refuses_a_diverged_store() {
    let w = World::new(&["ok"]);
    let job = w.post_job("ok", &["1"], "10m", "1s");
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let today = (unix / 86_400) as u32;
    // crash right after broadcasting today's anchor, before its row is written
    let mut k = w.keeper(
        "keeper",
        KeeperOptions { failpoint: Some(format!("after-broadcast:anchor-{today}")), ..Default::default() },
    );
    k.process.wait_for_output("failpoint after-broadcast reached", 2 * MINUTE);
    let log = pda::receipt_log(&w.keeper.0);
    let onchain = agentrail_tests::localnet::wait_until("today's checkpoint on-chain", MINUTE, || {
        w.net.account::<agentrail::state::Checkpoint>(&pda::checkpoint(&log, today))
    });
    k.process.kill9();
    assert!(with_store(&k.database, async |s| s.checkpoints().await.expect("rows")).is_empty(), "no row yet");
    // the restarted keeper takes the day's row from the chain: the receipt's bundle names it
    let k = w.keeper("keeper", KeeperOptions::default());
    let bundle = agentrail_tests::localnet::wait_until("receipt 0 names its anchored day", MINUTE, || {
        k.get("/receipts/0").filter(|b| b["day"] == today)
    });
    let root: String = onchain.root.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(bundle["root"], root.as_str(), "{bundle}");
    assert_eq!(states(&w, &job), [Released]);
    // the same key on an empty store would anchor a forked log: it refuses, loudly
    let fresh = w.keeper("fresh", KeeperOptions::default());
    agentrail_tests::localnet::wait_until("divergence reported", MINUTE, || {
        (fresh.metric("agentrail_keeper_log_diverged") == 1.0).then_some(())
    });
    let (status, health) = fresh.get_with_status("/health").expect("health answers");
    assert_eq!(status, 503, "{health}");
    assert!(health["problems"].to_string().contains("diverged"), "{health}");
    assert!(fresh.log_tail().contains("diverged"), "an error-level line names it");
}

/// Chain watching: with a poll only every 30 s, a job funded after the keeper's first poll is
/// executed milestone after milestone long before the next one: each change (the funding, each
/// release) reaches the keeper over its websocket subscription and is handled at once.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn job_changes_arrive_over_the_websocket_between_polls() {
    let w = World::new(&["ok"]);
    let k = w.keeper("keeper", KeeperOptions { poll_interval: Some("30s"), ..Default::default() });
    agentrail_tests::localnet::wait_until("the subscription is up", MINUTE, || {
        (k.metric("agentrail_keeper_chain_subscribed") == 1.0).then_some(())
    });
    let started = std::time::Instant::now();
    let job = w.post_job("ok", &["1", "2", "3"], "10m", "1s");
    w.wait_job(&job, "job completed", MINUTE, |j| j.status == JobStatus::Completed);
    let took = started.elapsed();
    eprintln!("three milestones with a 30 s poll: {took:?}");
    // by polling alone: the next poll, then one more per milestone (at least 60 s)
    assert!(
        took < Duration::from_secs(25),
        "three milestones took {took:?}: the changes did not arrive\n{}",
        k.log_tail()
    );
    assert!(k.metric("agentrail_keeper_chain_notifications_total") >= 3.0, "{}", k.log_tail());
    assert_eq!(states(&w, &job), [Released, Released, Released]);
    // the duration histograms saw each step and each submission (a send is observed when the
    // keeper sees it confirmed, shortly after the chain does)
    agentrail_tests::localnet::wait_until("three submissions timed", MINUTE, || {
        (k.metric("agentrail_keeper_send_seconds_count{action=\"submit\"}") == 3.0).then_some(())
    });
    assert_eq!(k.metric("agentrail_keeper_step_seconds_count{outcome=\"ok\"}"), 3.0);
    assert_eq!(k.metric("agentrail_keeper_step_seconds_bucket{outcome=\"ok\",le=\"+Inf\"}"), 3.0);
}

/// The completed-day path, as production keepers run it (`anchor_today = false`): today's
/// receipts are not anchored while the day lasts; once their day is over (the test moves the
/// stored receipts' times back a day, standing in for the night, since the validator's clock
/// cannot be moved) the restarted keeper anchors that completed day and never today, and a
/// receipt's bundle names the day and verifies with the CLI against the checkpoint on-chain.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn a_completed_day_is_anchored_the_day_after() {
    let w = World::new(&["ok"]);
    let production = KeeperOptions { anchor_today: Some(false), ..Default::default() };
    let k = w.keeper("keeper", production.clone());
    let job = w.post_job("ok", &["1", "2"], "10m", "1s");
    w.wait_job(&job, "job completed", 2 * MINUTE, |j| j.status == JobStatus::Completed);
    let unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let (today, yesterday) = ((unix / 86_400) as u32, (unix / 86_400) as u32 - 1);
    let log = pda::receipt_log(&w.keeper.0);
    let checkpoint = |day: u32| w.net.account::<agentrail::state::Checkpoint>(&pda::checkpoint(&log, day));
    std::thread::sleep(Duration::from_secs(5)); // two anchor intervals
    assert!(checkpoint(today).is_none(), "today is not anchored while it lasts");
    let file = k.database.strip_prefix("sqlite://").expect("a SQLite store").to_string();
    drop(k);
    // the night passes for the store: its receipts now carry yesterday's times
    let moved = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE receipts SET created_at = created_at - 86400'); c.commit()"])
        .arg(&file)
        .status()
        .expect("python3");
    assert!(moved.success());
    let k = w.keeper("keeper", production);
    let anchored =
        agentrail_tests::localnet::wait_until("yesterday's checkpoint on-chain", MINUTE, || checkpoint(yesterday));
    assert_eq!(anchored.size, 2, "both receipts, under the completed day");
    assert!(checkpoint(today).is_none(), "still never today");
    let bundle = agentrail_tests::localnet::wait_until("receipt 1 names its anchored day", MINUTE, || {
        k.get("/receipts/1").filter(|b| b["day"] == yesterday)
    });
    let bundle_file = w.net.dir.path().join("receipt-1.json");
    write_json(&bundle_file, &bundle);
    let verified = w.net.cli(&w.poster.1, &["receipt", "verify", bundle_file.to_str().expect("utf-8")]);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["anchored"]["day"], yesterday, "{verified}");
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2, PostgreSQL and release binaries; run by scripts/test.sh"]
fn two_keepers_sharing_a_store_pay_each_milestone_once() {
    // the agent takes 1.5 s to answer, longer than a scan (1 s): while one keeper's step runs,
    // the other's scans find the milestone open and try to run it too
    let w = World::new(&["ok:ok:1500"]);
    let (p0, a0, t0) = w.balances("ok");
    let pg = postgres::Postgres::start();
    let shared = KeeperOptions { database: Some(pg.url()), ..Default::default() };
    let k1 = w.keeper("keeper-1", shared.clone());
    let k2 = w.keeper("keeper-2", shared);
    let jobs = [
        (w.post_job("ok", &["3", "4", "5"], "10m", "1s"), vec![3, 4, 5]),
        (w.post_job("ok", &["6", "7:approve"], "10m", "2s"), vec![6, 7]),
    ];
    for (job, amounts) in &jobs {
        w.wait_job(job, "job completed", 2 * MINUTE, |j| j.status == JobStatus::Completed);
        assert!(states(&w, job).iter().all(|s| *s == Released));
        let expected: Vec<u8> = (0..amounts.len() as u8).collect();
        assert_eq!(receipts_per_milestone(&pg.url(), job), expected, "one receipt per milestone");
        for i in 0..amounts.len() as u8 {
            assert_eq!(w.agents["ok"].calls(job, i), 1, "milestone {i} executed by one keeper only");
        }
    }
    // they competed: claims were refused to one while the other ran the step, and together
    // they ran each step once
    let lost: f64 = [&k1, &k2].iter().map(|k| k.metric("agentrail_keeper_step_claims_lost_total")).sum();
    assert!(lost >= 1.0, "no keeper ever found a step claimed by the other");
    let ran: f64 = [&k1, &k2].iter().map(|k| k.metric("agentrail_keeper_steps_run_total")).sum();
    assert_eq!(ran, 5.0, "five milestones, five steps run between the two keepers");
    eprintln!("two keepers: {lost} claims refused to the one that came second");
    // both sweep fees too; the shared store's intent lets one batch through
    for (job, _) in &jobs {
        w.wait_job(job, "fees swept", MINUTE, |j| j.fees_swept == j.fees_earned);
    }
    let paid: Vec<u64> = jobs.iter().flat_map(|(_, a)| a.iter().map(|m| m * UNIT)).collect();
    let (p1, a1, t1) = w.balances("ok");
    assert_eq!(a1, a0 + paid.iter().sum::<u64>(), "each milestone paid once");
    assert_eq!(t1, t0 + paid.iter().map(|&m| fee(m)).sum::<u64>());
    assert_eq!(p1, p0 - paid.iter().map(|&m| gross(m)).sum::<u64>());
    for k in [&k1, &k2] {
        assert!(k.get("/health").is_some_and(|h| h["ok"] == true), "{}", k.log_tail());
    }
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn an_intent_whose_blockhash_expired_is_signed_again() {
    // a `plain` agent counts every request it gets, paid or not: "never called before the step
    // is started" is the keeper's doing, not the SDK's refusal
    let w = World::new(&["ok:plain"]);
    let proxy = RpcProxy::start(w.net.url.trim_start_matches("http://"));
    let k = w.keeper("keeper", KeeperOptions { rpc_url: Some(proxy.url.clone()), ..Default::default() });
    // every broadcast is lost: the first transaction (marking the step started) can never land
    proxy.set(Fault::DropSends);
    let job = w.post_job("ok", &["3"], "10m", "1s");
    let id = format!("{job}:0:start");
    let expired = agentrail_tests::localnet::wait_until("the intent expired and was signed again", 3 * MINUTE, || {
        with_store(&k.database, async |s| s.intent(&id).await.expect("intent")).filter(|i| i.attempts >= 2)
    });
    assert_eq!(states(&w, &job), [Pending], "nothing landed while broadcasts were lost");
    assert_eq!(w.agents["ok"].calls(&job, 0), 0, "the agent is not called before the step is marked started");
    proxy.set(Fault::Pass);
    w.wait_job(&job, "the job paid once broadcasts get through", 2 * MINUTE, |j| j.status == JobStatus::Completed);
    let landed = with_store(&k.database, async |s| s.intent(&id).await.expect("intent")).expect("intent kept");
    assert_eq!(landed.status, IntentStatus::Confirmed);
    assert!(landed.attempts >= 2 && landed.attempts >= expired.attempts, "signed again, never reused: {landed:?}");
    assert_eq!(w.agents["ok"].calls(&job, 0), 1, "the step ran once");
    assert!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn rpc_outages_and_delays_lose_and_duplicate_nothing() {
    let w = World::new(&["ok"]);
    let (_, a0, _) = w.balances("ok");
    let upstream = w.net.url.trim_start_matches("http://").to_string();
    let proxy = RpcProxy::start(&upstream);
    let k = w.keeper("keeper", KeeperOptions { rpc_url: Some(proxy.url.clone()), ..Default::default() });
    let job = w.post_job("ok", &["5", "6", "7:approve", "8"], "10m", "2s");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // requests cut, delayed, and processed with their answers lost
            let cycle = [
                (Fault::Drop, 1_500),
                (Fault::Pass, 1_500),
                (Fault::Delay(1_200), 2_500),
                (Fault::Pass, 1_000),
                (Fault::LoseAnswers, 1_500),
                (Fault::Pass, 1_000),
            ];
            for (fault, ms) in cycle.iter().cycle() {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                proxy.set(*fault);
                std::thread::sleep(Duration::from_millis(*ms));
            }
            proxy.set(Fault::Pass);
        });
        let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            w.wait_job(&job, "job completed through the faults", 4 * MINUTE, |j| j.status == JobStatus::Completed)
        }));
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = finished {
            eprintln!("keeper log:\n{}", k.log_tail());
            std::panic::resume_unwind(e);
        }
    });
    assert!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst) > 0, "the proxy injected faults");
    assert!(k.metric("agentrail_keeper_rpc_errors_total") >= 1.0, "the keeper saw the failures");
    assert_eq!(w.balances("ok").1, a0 + [5, 6, 7, 8].map(|m| m * UNIT).iter().sum::<u64>(), "paid once each");
    assert_eq!(receipts_per_milestone(&k.database, &job), [0, 1, 2, 3]);
    for i in 0..4 {
        assert_eq!(w.agents["ok"].calls(&job, i), 1, "milestone {i} executed once");
    }
    agentrail_tests::localnet::wait_until("no pending intents", MINUTE, || {
        (k.metric("agentrail_keeper_pending_intents") == 0.0).then_some(())
    });
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn hostile_agents_delay_only_their_own_jobs() {
    let w = World::new(&["timeout", "garbage", "ok"]);
    // `retry-later`: the hostile steps are tried again on every scan, for as long as the test runs
    let k = w.keeper("keeper", KeeperOptions { on_failure: Some("retry-later"), ..Default::default() });
    let hostile: Vec<Pubkey> =
        ["timeout", "garbage", "timeout", "garbage"].iter().map(|a| w.post_job(a, &["1"], "10m", "1s")).collect();
    let posted = std::time::Instant::now();
    let honest = w.post_job("ok", &["5", "6", "7"], "10m", "1s");
    w.wait_job(&honest, "the honest job completed", 2 * MINUTE, |j| j.status == JobStatus::Completed);
    let took = posted.elapsed();
    eprintln!("honest job of 3 milestones beside 4 hostile agents: completed in {took:?}");
    // in one sequential loop every scan waited ~13 s on the two timeouts before reaching it (≥ 40 s)
    assert!(took < Duration::from_secs(25), "the honest job took {took:?} beside hostile agents");
    assert_eq!(states(&w, &honest), [Released, Released, Released]);
    for job in &hostile {
        assert_eq!(states(&w, job), [Pending], "nothing paid to a hostile agent");
    }
    // the hostile steps keep running beside it (the honest job may finish before the third call)
    agentrail_tests::localnet::wait_until("the hostile steps kept running beside it", MINUTE, || {
        (w.agents["timeout"].calls(&hostile[0], 0) >= 3).then_some(())
    });
    assert!(k.metric("agentrail_keeper_steps_run_total") >= 3.0);
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn agent_timeouts_are_retried_then_left_for_a_human_who_refunds() {
    let w = World::new(&["timeout"]);
    let (p0, a0, t0) = w.balances("timeout");
    let k = w.keeper("keeper", KeeperOptions::default());
    let job = w.post_job_with("timeout", &["9", "4"], "10m", "1s", &["--step-timeout", "60s"]);
    let view = agentrail_tests::localnet::wait_until("the step abandoned", MINUTE, || {
        k.get(&format!("/jobs/{job}")).filter(|v| v["milestones"][0]["step"] == "abandoned")
    });
    assert_eq!(view["milestones"][0]["attempts"], 3, "{view}");
    assert!(view["milestones"][0]["error"].as_str().is_some_and(|e| e.contains("did not answer")), "{view}");
    assert_eq!(w.agents["timeout"].calls(&job, 0), 3, "each attempt reached the agent");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(w.agents["timeout"].calls(&job, 0), 3, "policy `leave`: no further attempts");
    assert_eq!(states(&w, &job), [Pending, Pending], "nothing submitted for a step that never answered");
    // the keeper marked the step started before calling the agent: the poster cannot cancel now
    assert!(w.job(&job).unwrap().milestones()[0].started_at > 0, "started on-chain before the first call");
    let err = cli_error(&w, &w.poster.1, &["job", "cancel", &job.to_string()]);
    assert!(err.contains("StepInProgress"), "cancel while the agent may be working: {err}");
    // the human: only the keeper may give up, only once the step's time ran out (the agent
    // could still have submitted its own work until then), and then everything returns long
    // before the deadline
    let err = cli_error(&w, &w.poster.1, &["job", "fail", &job.to_string(), "0", "--cancel"]);
    assert!(err.contains("only the job's keeper"), "{err}");
    let err = cli_error(&w, &w.keeper.1, &["job", "fail", &job.to_string(), "0", "--cancel"]);
    assert!(err.contains("StepInProgress"), "failing before the step's time ran out: {err}");
    let started = w.job(&job).unwrap().milestones()[0].started_at;
    agentrail_tests::localnet::wait_until("the step's time ran out", 2 * MINUTE, || {
        (w.net.cluster_time() >= started + 60).then_some(())
    });
    let out =
        w.net.cli(&w.keeper.1, &["job", "fail", &job.to_string(), "0", "--cancel", "--reason", "agent unreachable"]);
    assert!(out["signature"].is_string(), "{out}");
    let j = w.job(&job).expect("job");
    assert_eq!((j.status, states(&w, &job)), (JobStatus::Cancelled, vec![Refunded, Refunded]));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!(j.deadline > now + 300, "refunded before the deadline, not by it");
    let (p1, a1, t1) = w.balances("timeout");
    assert_eq!((p1, a1, t1), (p0, a0, t0), "the poster has everything back, the agent and treasury got nothing");
    assert!(receipts_per_milestone(&k.database, &job).is_empty(), "no receipt for an unanswered step");
    let err = cli_error(&w, &w.keeper.1, &["job", "fail", &job.to_string(), "1"]);
    assert!(err.contains("not in a state that allows this"), "replay names the problem: {err}");
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn failed_steps_are_refunded_on_chain_by_policy() {
    let w = World::new(&["fail-first"]);
    // refund-milestone: milestone 0 goes back to the poster at once, the job moves on to 1
    let (p0, a0, t0) = w.balances("fail-first");
    // fees are left to the CLI here: `job close` sweeps them before it closes
    let no_sweep = KeeperOptions { sweep_interval: Some("0s"), ..Default::default() };
    let k = w.keeper("keeper", KeeperOptions { on_failure: Some("refund-milestone"), ..no_sweep });
    // a failed step is refunded once its time ran out: the least the program allows
    let minute_steps = ["--step-timeout", "60s"];
    let job = w.post_job_with("fail-first", &["9", "4"], "10m", "1s", &minute_steps);
    let j = w.wait_job(&job, "the job completed", 2 * MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!(states(&w, &job), [Refunded, Released]);
    assert_eq!(w.agents["fail-first"].calls(&job, 0), 3, "milestone 0 was retried up to the policy's attempts");
    assert_eq!(w.agents["fail-first"].calls(&job, 1), 1, "milestone 1 ran once");
    assert_eq!((j.released, j.refunded), (4 * UNIT, gross(9 * UNIT)));
    assert_eq!(w.balances("fail-first").2, t0, "the fee waits in the vault (the keeper's fee duty is off)");
    assert_eq!(vault_balance(&w, &job), fee(4 * UNIT));
    assert_eq!(receipts_per_milestone(&k.database, &job), [1], "a receipt for the executed step only");
    let view = k.get(&format!("/jobs/{job}")).expect("keeper serves the job");
    assert!(view["milestones"][0]["error"].as_str().is_some_and(|e| e.contains("after 3 attempts")), "{view}");
    assert_eq!(k.metric("agentrail_keeper_steps_refunded_total"), 1.0);
    // closing sweeps the fee to the treasury first, in the same transaction
    let closed = w.net.cli(&w.poster.1, &["job", "close", &job.to_string()]);
    assert_eq!(closed["fees_swept"], format!("{}", fee(4 * UNIT) as f64 / UNIT as f64), "{closed}");
    assert!(w.net.account::<agentrail::state::ClosedJob>(&job).is_some(), "closed after the sweep");
    let (p1, a1, t1) = w.balances("fail-first");
    assert_eq!(a1 - a0, 4 * UNIT, "the agent was paid for milestone 1 only");
    assert_eq!(t1 - t0, fee(4 * UNIT), "the treasury got milestone 1's fee only");
    assert_eq!(p0 - p1, gross(4 * UNIT), "the poster paid for milestone 1 only");
    drop(k);

    // refund-job: the first failed step gives the whole job back and cancels it
    let k = w.keeper("keeper-2", KeeperOptions { on_failure: Some("refund-job"), ..Default::default() });
    let job = w.post_job_with("fail-first", &["9", "4"], "10m", "1s", &minute_steps);
    w.wait_job(&job, "the job cancelled", 2 * MINUTE, |j| j.status == JobStatus::Cancelled);
    assert_eq!(states(&w, &job), [Refunded, Refunded]);
    assert_eq!(w.agents["fail-first"].calls(&job, 1), 0, "nothing ran after the job was given up");
    assert_eq!(w.balances("fail-first"), (p1, a1, t1), "every token of the second job went back");
    assert_eq!(vault_balance(&w, &job), 0);
    drop(k);
}

/// Runs the CLI expecting failure; returns its error text, which must name the problem without
/// a panic or a raw RPC dump.
fn cli_error(w: &World, signer: &std::path::Path, args: &[&str]) -> String {
    let out = w.net.cli_output(signer, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "agentrail {} should fail", args.join(" "));
    assert!(stderr.starts_with("error: ") && !stderr.contains("panicked"), "agentrail {}: {stderr}", args.join(" "));
    stderr
}

/// `job create` arguments: one funded milestone of `amount` for `agent`, due in an hour.
fn create_args(w: &World, agent: &str, amount: &str) -> Vec<String> {
    let (mint, keeper) = (w.mint.to_string(), w.keeper.0.to_string());
    let args = ["job", "create", "--agent", agent, "--mint", &mint, "--keeper", &keeper, "--milestone", amount];
    args.iter().chain(&["--deadline-in", "1h", "--fund"]).map(|a| a.to_string()).collect()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn cli_operator_flows_and_clear_errors() {
    let w = World::new(&["ok"]);
    let dir = w.net.dir.path();
    let owner = w.agents["ok"].owner.clone();
    let poster = w.poster.1.clone();
    let agent = w.agents["ok"].address.to_string();

    // registry: publish a new version, refuse a smaller one, pause/resume, new payout wallet
    let manifest = dir.join("manifest-2.json");
    std::fs::write(&manifest, r#"{"capabilities":["demo","swap"]}"#).unwrap();
    let manifest = manifest.to_str().unwrap();
    w.net.cli(&owner, &["agent", "publish", &agent, "--manifest", manifest, "--version", "1.1.0"]);
    let shown = w.net.cli(&owner, &["agent", "show", &agent]);
    assert_eq!((shown["version"].as_str(), shown["version_seq"].as_u64()), (Some("1.1.0"), Some(2)), "{shown}");
    assert_eq!(shown["effective_stage"], "-", "a new version starts uncertified: {shown}");
    let err = cli_error(&w, &owner, &["agent", "publish", &agent, "--manifest", manifest, "--version", "1.0.9"]);
    assert!(err.to_lowercase().contains("version"), "{err}");
    w.net.cli(
        &w.certifier.1,
        &["cert", "attest", &agent, "--stage", "A", "--evidence", manifest, "--expires-in", "30d"],
    );
    w.net.cli(&owner, &["agent", "pause", &agent]);
    assert_eq!(w.net.cli(&owner, &["agent", "show", &agent])["status"], "paused");
    let err = cli_error(&w, &poster, &strs(&create_args(&w, &agent, "1")));
    assert!(err.to_lowercase().contains("paused") || err.to_lowercase().contains("not active"), "{err}");
    w.net.cli(&owner, &["agent", "resume", &agent]);
    let (payout, payout_key) = w.net.funded_key("payout-2", 1);
    w.net.cli(&owner, &["agent", "set-payout", &agent, "--payout-keypair", payout_key.to_str().unwrap()]);
    let shown = w.net.cli(&owner, &["agent", "show", &agent]);
    assert_eq!(
        (shown["status"].as_str(), shown["payout"].as_str()),
        (Some("active"), Some(payout.to_string().as_str()))
    );
    assert_eq!(shown["effective_stage"], "A");
    let listed = w.net.cli(&owner, &["agent", "list"]);
    assert!(listed.as_array().unwrap().iter().any(|a| a["address"] == agent.as_str()), "{listed}");

    // --dry-run simulates, prints units and fee, and sends nothing
    let before = w.balances("ok").0;
    let dry = {
        let mut args = vec!["--dry-run".to_string()];
        args.extend(create_args(&w, &agent, "5"));
        w.net.cli(&poster, &strs(&args))
    };
    assert_eq!((dry["dry_run"].as_bool(), dry["ok"].as_bool()), (Some(true), Some(true)), "{dry}");
    assert!(dry["compute_units"].as_u64().unwrap() > 0 && dry["fee_lamports"].as_u64().unwrap() > 0, "{dry}");
    assert_eq!(w.balances("ok").0, before, "a dry run moves nothing");
    let lamports = w.net.rpc.get_balance(&w.poster.0).unwrap();
    let out = w.net.cli_output(&poster, &["--dry-run", "dev", "airdrop", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(w.net.rpc.get_balance(&w.poster.0).unwrap(), lamports, "a dry-run airdrop requests nothing");
    let key_file = dir.join("dry-run-key.json");
    w.net.cli_output(&poster, &["--dry-run", "dev", "keygen", key_file.to_str().unwrap()]);
    assert!(!key_file.exists(), "a dry-run keygen writes nothing");

    // cancel before any work returns everything; close recovers the rent
    let job = w.post_job("ok", &["5", "6:approve"], "1h", "10m");
    assert_eq!(w.balances("ok").0, before - gross(5 * UNIT) - gross(6 * UNIT));
    let err = cli_error(&w, &poster, &["job", "approve", &job.to_string(), "0"]);
    assert!(err.contains("not awaiting review"), "approving an unsubmitted milestone: {err}");
    let err = cli_error(&w, &poster, &["job", "refund", &job.to_string()]);
    assert!(err.contains("deadline"), "refund before the deadline: {err}");
    let listed = w.net.cli(&poster, &["job", "list", "--poster", &w.poster.0.to_string(), "--state", "funded"]);
    assert!(listed.as_array().unwrap().iter().any(|j| j["address"] == job.to_string().as_str()), "{listed}");
    w.net.cli(&poster, &["job", "cancel", &job.to_string()]);
    assert_eq!(w.job(&job).unwrap().status, JobStatus::Cancelled);
    assert_eq!(w.balances("ok").0, before, "cancelling returns every unit");
    let err = cli_error(&w, &poster, &["job", "sweep-fees", &job.to_string()]);
    assert!(err.contains("no unswept fees"), "a cancelled job earned nothing: {err}");
    let lamports = w.net.rpc.get_balance(&w.poster.0).unwrap();
    w.net.cli(&poster, &["job", "close", &job.to_string()]);
    let tombstone: Option<agentrail::state::ClosedJob> = w.net.account(&job);
    assert!(tombstone.is_some(), "closed: the job's address holds a tombstone, never a new job");
    assert!(w.net.rpc.get_balance(&w.poster.0).unwrap() > lamports, "the rent came back");

    // terms: pinned by hash at creation, shown with a check against the document at the URI
    let terms = dir.join("terms.json");
    let doc = r#"{"schema":"agentrail.terms/v1","title":"Rebalance","milestones":[
        {"title":"Quote","instructions":"quote 10 SOL","acceptance":["fresh quote"],"amount":"2"},
        {"title":"Swap","instructions":"swap it","acceptance":["landed"],"amount":"3","requires_approval":true}]}"#;
    std::fs::write(&terms, doc).unwrap();
    let terms_path = terms.to_str().unwrap();
    let (mint, keeper) = (w.mint.to_string(), w.keeper.0.to_string());
    let with_terms = |extra: &[&str]| {
        let mut args = vec!["job", "create", "--agent", &agent, "--mint", &mint, "--keeper", &keeper];
        args.extend(["--terms", terms_path, "--deadline-in", "1h", "--review-window", "10m"]);
        args.extend(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let err = cli_error(&w, &poster, &strs(&with_terms(&["--milestone", "2"])));
    assert!(err.contains("disagree"), "flags that contradict the terms: {err}");
    let created = w.net.cli(&poster, &strs(&with_terms(&["--fund"])));
    let hash = created["terms_hash"].as_str().expect("terms hash printed").to_string();
    let job = created["job"].as_str().unwrap().to_string();
    let shown = w.net.cli(&poster, &["job", "show", &job]);
    assert_eq!(shown["terms_hash"].as_str(), Some(hash.as_str()), "{shown}");
    assert!(shown["terms_check"].as_str().unwrap().ends_with("(matches)"), "{shown}");
    assert_eq!(shown["terms"]["milestones"][1]["title"], "Swap", "{shown}");
    assert_eq!(w.job(&job.parse().unwrap()).unwrap().milestones().len(), 2, "milestones come from the terms");
    std::fs::write(&terms, doc.replace("quote 10 SOL", "quote 1000 SOL")).unwrap();
    let shown = w.net.cli(&poster, &["job", "show", &job]);
    assert!(shown["terms_check"].as_str().unwrap().contains("MISMATCH"), "{shown}");
    std::fs::write(&terms, doc.replace(r#""acceptance":["landed"],"#, "")).unwrap();
    let err = cli_error(&w, &poster, &strs(&with_terms(&[])));
    assert!(err.contains("terms") && err.contains("acceptance"), "a terms file missing a field: {err}");

    // revocation: the job's stage requirement can no longer be met
    w.net.cli(&w.certifier.1, &["cert", "revoke", &agent, "--reason", manifest]);
    assert_eq!(w.net.cli(&owner, &["agent", "show", &agent])["effective_stage"], "-");

    // bad input: each error names the problem
    let missing = dir.join("no-such-key.json");
    let err = cli_error(&w, &missing, &["agent", "pause", &agent]);
    assert!(err.contains("no-such-key.json"), "{err}");
    let err = cli_error(&w, &poster, &["agent", "show", &Pubkey::new_unique().to_string()]);
    assert!(err.contains("agent"), "{err}");
    let err = cli_error(&w, &poster, &strs(&create_args(&w, &agent, "100000")));
    assert!(err.contains("insufficient balance"), "{err}");
    let out = std::process::Command::new(agentrail_tests::localnet::workspace_bin("agentrail"))
        .args(["--url", "http://127.0.0.1:1", "--keypair", poster.to_str().unwrap(), "job", "show", &job.to_string()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("127.0.0.1:1") && !err.contains("panicked"), "{err}");
}

/// Sends in flight ask for their transaction's status together: sixteen concurrent questions
/// (fifteen landed transfers and one signature the cluster never saw) cost the keeper's chain
/// reader one `getSignatureStatuses` request, and each gets its own answer.
#[test]
#[ignore = "needs solana-test-validator 4.2.2; run by scripts/test.sh"]
fn concurrent_status_questions_share_one_request() {
    use solana_sdk::signature::{Keypair, Signature, read_keypair_file};
    use solana_sdk::signer::Signer;
    use solana_sdk::transaction::Transaction;

    let net = agentrail_tests::localnet::Localnet::start();
    let (_, payer_path) = net.funded_key("payer", 10);
    let payer = read_keypair_file(&payer_path).expect("payer");
    let blockhash = net.rpc.get_latest_blockhash().expect("blockhash");
    let mut landed: Vec<Signature> = (0..15)
        .map(|_| {
            let to = Keypair::new().pubkey();
            let ix = solana_system_interface::instruction::transfer(&payer.pubkey(), &to, 1_000_000);
            let tx = Transaction::new_signed_with_payer(&[ix], Some(&payer.pubkey()), &[&payer], blockhash);
            net.rpc.send_and_confirm_transaction(&tx).expect("transfer")
        })
        .collect();
    let never_sent = Signature::from([7u8; 64]);
    landed.push(never_sent);

    let proxy = RpcProxy::start(net.url.trim_start_matches("http://"));
    let chain = agentrail_keeper::chain::Chain::new(&proxy.url);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let answers = runtime.block_on(futures::future::join_all(landed.iter().map(|s| chain.signature_status(*s))));
    for (sig, answer) in landed.iter().zip(&answers) {
        let status = answer.as_ref().unwrap_or_else(|e| panic!("status of {sig}: {e}"));
        if *sig == never_sent {
            assert!(status.is_none(), "a signature never sent has no status: {status:?}");
        } else {
            let status = status.as_ref().unwrap_or_else(|| panic!("{sig} landed but has no status"));
            assert!(
                status.err.is_none()
                    && status.satisfies_commitment(solana_commitment_config::CommitmentConfig::confirmed())
            );
        }
    }
    assert_eq!(proxy.requests("getSignatureStatuses"), 1, "sixteen questions, one request");
}

/// Signs and sends `ixs` as `signer` (the test acting as a job's keeper).
fn send_as(w: &World, signer: &std::path::Path, ixs: &[solana_sdk::instruction::Instruction]) {
    use solana_sdk::signer::Signer;
    let key = solana_sdk::signature::read_keypair_file(signer).expect("keypair");
    let blockhash = w.net.rpc.get_latest_blockhash().expect("blockhash");
    let tx = solana_sdk::transaction::Transaction::new_signed_with_payer(ixs, Some(&key.pubkey()), &[&key], blockhash);
    w.net.rpc.send_and_confirm_transaction(&tx).expect("transaction");
}

/// A step request for milestone `i` of `job`, as the keeper builds it.
fn step_request(w: &World, job: &Pubkey, i: u8) -> agentrail_client::x402::StepRequest {
    let j = w.job(job).expect("job");
    agentrail_client::x402::StepRequest {
        schema: agentrail_client::x402::STEP_SCHEMA.into(),
        job: job.to_string(),
        milestone: i,
        agent: j.agent.to_string(),
        budget: j.milestones()[usize::from(i)].amount,
        mint: j.mint.to_string(),
        deadline: j.deadline,
        terms_hash: hex::encode(j.terms_hash),
        terms_uri: j.terms_uri().to_string(),
        work: None,
        previous_results: vec![],
    }
}

/// POSTs `request` to `endpoint`, paid on `network` with an authorization `signer` makes at
/// `issued_at` (none when `signer` is `None`); returns the status, the headers and the JSON body.
fn post_step(
    network: &str,
    endpoint: &str,
    request: &agentrail_client::x402::StepRequest,
    signer: Option<&ed25519_dalek::SigningKey>,
    issued_at: i64,
) -> (u16, reqwest::header::HeaderMap, Value) {
    post_step_edited(network, endpoint, request, signer, issued_at, |_| {})
}

/// [`post_step`], with `edit` applied to the signed authorization before it is sent (a tamperer).
fn post_step_edited(
    network: &str,
    endpoint: &str,
    request: &agentrail_client::x402::StepRequest,
    signer: Option<&ed25519_dalek::SigningKey>,
    issued_at: i64,
    edit: impl FnOnce(&mut agentrail_client::x402::EscrowAuthorization),
) -> (u16, reqwest::header::HeaderMap, Value) {
    use agentrail_client::x402;
    let body = serde_json::to_vec(request).expect("body");
    let mut post = reqwest::blocking::Client::new().post(endpoint).header("content-type", "application/json");
    if let Some(key) = signer {
        let offer = x402::Offer {
            network: network.to_string(),
            mint: request.mint.parse().expect("mint"),
            price: 0,
            pay_to: Pubkey::default(),
            max_timeout_secs: 60,
        };
        let mut auth = x402::EscrowAuthorization::sign(request, &body, key, issued_at, 120);
        edit(&mut auth);
        post = post.header(x402::PAYMENT_SIGNATURE, x402::encode_header(&x402::payment(offer.requirements(), auth)));
    }
    let response = post.body(body).send().expect("agent answers");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().unwrap_or(Value::Null))
}

fn keeper_signing_key(w: &World) -> ed25519_dalek::SigningKey {
    let key = solana_sdk::signature::read_keypair_file(&w.keeper.1).expect("keeper keypair");
    agentrail_client::signing_key(&key.to_bytes()).expect("a keypair's own bytes")
}

/// The agent side, on the SDK (`agentrail-agent`): the keeper pays an SDK agent through the
/// x402 escrow scheme, and the agent itself refuses every request it would not be paid for,
/// each with its reason and without running the work: a stranger's (402 with a parseable
/// `PAYMENT-REQUIRED`), a forged or tampered keeper signature, an expired authorization, an
/// unfunded job, a job for another agent, a first milestone not started on-chain. A retried
/// step and two keepers asking at once each run the work once (the agent's own counter says 1);
/// a released milestone's answer is no longer served.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn an_sdk_agent_is_paid_from_escrow_refuses_the_rest_and_works_once() {
    use agentrail_client::x402::{self, PAYMENT_REQUIRED, PAYMENT_RESPONSE, PaymentRequired};
    let w = World::new(&["ok", "other:ok"]);
    let paid = &w.agents["ok"];

    // the keeper pays it through the protocol: each milestone worked once, released
    let k = w.keeper("keeper", KeeperOptions::default());
    let job = w.post_job("ok", &["1", "2"], "10m", "1s");
    w.wait_job(&job, "job completed", MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!((paid.calls(&job, 0), paid.calls(&job, 1)), (1, 1), "{}", k.log_tail());
    assert_eq!(states(&w, &job), [Released, Released]);
    drop(k);

    // from here the test is the keeper (its key; no keeper process runs)
    let keeper = keeper_signing_key(&w);
    let network = x402::network(&w.net.rpc.get_genesis_hash().expect("genesis").to_string());
    let fresh = w.post_job("ok", &["1"], "10m", "1s");
    let req = step_request(&w, &fresh, 0);
    let now = unix_now();

    // a stranger: a well-formed x402 v2 402, and no work
    let (status, headers, body) = post_step(&network, &paid.endpoint, &req, None, now);
    assert_eq!(status, 402);
    let header = headers.get(PAYMENT_REQUIRED).expect("PAYMENT-REQUIRED").to_str().unwrap();
    let required: PaymentRequired = x402::decode_header(PAYMENT_REQUIRED, header).expect("x402 v2 PaymentRequired");
    let offer = &required.accepts[0];
    assert_eq!((offer.scheme.as_str(), offer.asset.clone()), (x402::SCHEME, w.mint.to_string()));
    assert_eq!(offer.pay_to, paid.payout.to_string());
    assert_eq!(body["x402Version"], 2, "{body}");

    let refused = |req: &x402::StepRequest, signer: Option<&ed25519_dalek::SigningKey>, at: i64, reason: &str| {
        let (status, headers, body) = post_step(&network, &paid.endpoint, req, signer, at);
        assert_eq!(status, 402, "{body}");
        let header = headers.get(PAYMENT_REQUIRED).expect("PAYMENT-REQUIRED").to_str().unwrap();
        let why = x402::decode_header::<PaymentRequired>(PAYMENT_REQUIRED, header).unwrap().error.unwrap_or_default();
        assert!(why.contains(reason), "expected {reason:?}, got {why:?}");
    };
    // not started on-chain yet: the poster could still cancel
    refused(&req, Some(&keeper), now, "not marked started");
    send_as(&w, &w.keeper.1, &[agentrail_client::escrow::start_milestone(&w.keeper.0, &fresh, 0)]);
    // a stranger's key signs well, but it is not the job's keeper
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    refused(&req, Some(&stranger), now, "but the job's keeper is");
    refused(&req, Some(&keeper), now - 400, "expired");
    // the signature binds the request: a raised budget under the same signature does not verify
    let (status, _, body) = post_step_edited(&network, &paid.endpoint, &req, Some(&keeper), now, |a| a.amount += 1);
    assert_eq!(status, 402, "a tampered authorization is refused: {body}");
    // a job for the other agent, sent to this one
    let theirs = w.post_job("other", &["1"], "10m", "1s");
    send_as(&w, &w.keeper.1, &[agentrail_client::escrow::start_milestone(&w.keeper.0, &theirs, 0)]);
    refused(&step_request(&w, &theirs, 0), Some(&keeper), now, "not this agent");
    // an unfunded job
    let nonce = "777";
    let unfunded: Pubkey = w.net.cli(
        &w.poster.1,
        &[
            "job",
            "create",
            "--agent",
            &paid.address.to_string(),
            "--mint",
            &w.mint.to_string(),
            "--keeper",
            &w.keeper.0.to_string(),
            "--milestone",
            "1",
            "--deadline-in",
            "10m",
            "--review-window",
            "1s",
            "--min-stage",
            "A",
            "--nonce",
            nonce,
        ],
    )["job"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    refused(&step_request(&w, &unfunded, 0), Some(&keeper), now, "not funded");
    assert_eq!(paid.calls(&fresh, 0) + paid.calls(&theirs, 0) + paid.calls(&unfunded, 0), 0, "no refused request ran");

    // paid: worked once, and the same step asked again (a retry after a timeout) replays
    let (status, headers, first) = post_step(&network, &paid.endpoint, &req, Some(&keeper), now);
    assert_eq!(status, 200, "{first}");
    let settle: Value = x402::decode_header(PAYMENT_RESPONSE, headers[PAYMENT_RESPONSE].to_str().unwrap()).unwrap();
    assert_eq!(
        (settle["success"].as_bool(), settle["transaction"].as_str()),
        (Some(true), Some(fresh.to_string().as_str()))
    );
    let (status, headers, again) = post_step(&network, &paid.endpoint, &req, Some(&keeper), unix_now());
    assert_eq!((status, &again), (200, &first));
    assert_eq!(headers.get("Idempotent-Replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_eq!(paid.calls(&fresh, 0), 1, "the agent's own counter");
    // the stored answer is the keeper's own: a stranger signing the same request with its key,
    // or the keeper asking something else under the same key, gets a refusal and no output
    refused(&req, Some(&stranger), unix_now(), "answered for another request");
    let other = x402::StepRequest { budget: req.budget + 1, ..req.clone() };
    refused(&other, Some(&keeper), unix_now(), "answered for another request");
    assert_eq!(paid.calls(&fresh, 0), 1, "and nothing ran again");
    // once the milestone is paid the answer is no longer served, even to its own keeper
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(serde_json::to_vec(&first).unwrap()));
    let fresh_s = fresh.to_string();
    w.net.cli(&w.keeper.1, &["job", "submit", &fresh_s, "0", "--result-hash", &hash]);
    assert_eq!(states(&w, &fresh), [Released]);
    refused(&req, Some(&keeper), unix_now(), "milestone 0 is released: its answer is no longer served");

    // two keepers asking for the same step at once: one execution
    let both = w.post_job("ok", &["1"], "10m", "1s");
    send_as(&w, &w.keeper.1, &[agentrail_client::escrow::start_milestone(&w.keeper.0, &both, 0)]);
    let req = step_request(&w, &both, 0);
    let answers: Vec<(u16, Value)> = std::thread::scope(|s| {
        let asks: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let (status, _, body) = post_step(&network, &paid.endpoint, &req, Some(&keeper), unix_now());
                    (status, body)
                })
            })
            .collect();
        asks.into_iter().map(|a| a.join().unwrap()).collect()
    });
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 200);
    assert_eq!(paid.calls(&both, 0), 1, "two askers, one execution");
}

/// Vendor co-signatures: an SDK agent that registered a signing key co-signs each answer; the
/// keeper keeps the signature in a version-2 receipt naming the job's terms, which `agentrail
/// receipt verify` checks (and reports as the agent's registered key), and a receipt whose
/// co-signature was altered fails. An agent whose registry entry declares a key but whose
/// answers carry no co-signature is called, refused and never paid.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn a_cosigned_receipt_verifies_with_the_cli_and_unsigned_answers_are_never_paid() {
    use agentrail_client::receipt::{ReceiptJson, SignedReceipt};
    let w = World::new(&["cosigned", "unsigned:plain"]);
    let k = w.keeper("keeper", KeeperOptions::default());
    let signed = w.post_job("cosigned", &["1"], "10m", "1s");
    let unsigned = w.post_job("unsigned", &["1"], "10m", "1s");
    w.wait_job(&signed, "the co-signing agent's job completed", MINUTE, |j| j.status == JobStatus::Completed);

    // the agent that declares a key but does not co-sign: called, refused, unpaid, no receipt
    let step = agentrail_tests::localnet::wait_until("the unsigned answer refused", MINUTE, || {
        let m = k.get(&format!("/jobs/{unsigned}"))?["milestones"][0].clone();
        m["error"].as_str().is_some_and(|e| e.contains("co-signature")).then_some(m)
    });
    assert!(step["error"].as_str().unwrap().contains("sent no AGENTRAIL-OUTPUT-SIGNATURE"), "{step}");
    assert!(w.agents["unsigned"].calls(&unsigned, 0) >= 1, "it was asked and answered");
    assert_eq!(w.job(&unsigned).expect("job").milestones()[0].state, Pending);
    assert_eq!(w.balances("unsigned").1, 0, "nothing paid for an unsigned answer");
    assert!(k.receipts(&unsigned).is_empty());

    // the co-signed receipt: version 2, the job's terms, the registered key
    let bundle = agentrail_tests::localnet::wait_until("receipt 0 anchored", MINUTE, || {
        k.get("/receipts/0").filter(|b| !b["day"].is_null())
    });
    let registered = w.agents["cosigned"].signing_key.expect("a registered key").to_string();
    let job = w.job(&signed).expect("job");
    let r = &bundle["receipt"];
    assert_eq!((r["job"].as_str(), r["version"].as_u64()), (Some(signed.to_string().as_str()), Some(2)), "{r}");
    assert_eq!(r["terms_hash"].as_str(), Some(hex::encode(job.terms_hash).as_str()), "{r}");
    assert_eq!(r["vendor"].as_str(), Some(registered.as_str()), "{r}");
    let file = w.net.dir.path().join("cosigned-receipt.json");
    write_json(&file, &bundle);
    let verified = w.net.cli(&w.poster.1, &["receipt", "verify", file.to_str().expect("utf-8")]);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["vendor"].as_str(), Some(registered.as_str()), "{verified}");
    assert_eq!(verified["vendor_key_registered"], true, "{verified}");

    // an altered co-signature, re-encoded with a consistent hash, is refused by name
    let json: ReceiptJson = serde_json::from_value(r.clone()).expect("receipt JSON");
    let mut tampered = SignedReceipt::try_from(&json).expect("the keeper's receipt parses");
    tampered.vendor.as_mut().expect("co-signed").signature[0] ^= 1;
    let mut forged = bundle.clone();
    forged["receipt"] = serde_json::to_value(ReceiptJson::from(&tampered)).expect("JSON");
    write_json(&file, &forged);
    let out = w.net.cli_output(&w.poster.1, &["receipt", "verify", file.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("co-signature does not verify"), "{stderr}");
}

/// Audit H-1 end to end: a poster that keeps its own job (the real keeper binary, run with the
/// poster's key) has the real SDK agent accept the job and do the work, then withholds the
/// answer and tries to take the milestone back. The program refuses while the step's time runs,
/// the agent submits its own answer and is paid, and the poster gets nothing back.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and release binaries; run by scripts/test.sh"]
fn a_poster_keeping_its_own_job_cannot_take_the_work_for_free() {
    let w = World::new(&["self-submitting:cosigned"]);
    let (p0, a0, _) = w.balances("self-submitting");
    let poster = w.poster.1.clone();
    // the poster's keeper: the real binary with the poster's key, held before it would send the
    // submission (it got the answer and keeps it)
    let options = KeeperOptions {
        keypair: Some(poster.clone()),
        failpoint: Some("before-broadcast:submit".into()),
        ..Default::default()
    };
    let _k = w.keeper("poster-keeper", options);
    let agent = &w.agents["self-submitting"];
    let (agent_s, mint_s, poster_s) = (agent.address.to_string(), w.mint.to_string(), w.poster.0.to_string());
    let args = ["job", "create", "--agent", &agent_s, "--mint", &mint_s, "--keeper", &poster_s, "--milestone", "5"];
    let args = [&args[..], &["--deadline-in", "10m", "--step-timeout", "60s", "--min-stage", "A", "--fund"]].concat();
    let created = w.net.cli(&poster, &args);
    // the CLI read the policy the agent publishes in its manifest, as the SDK does
    assert_eq!(created["agent_policy"], "inside the agent's published policy", "{created}");
    let job: Pubkey = created["job"].as_str().expect("job").parse().expect("pubkey");
    // the poster's keeper carried the agent's acceptance and started the step; the agent worked
    let j = w.wait_job(&job, "accepted and started", MINUTE, |j| j.milestones()[0].started_at > 0);
    assert!(j.accepted_at > 0, "started only once the agent accepted");
    agentrail_tests::localnet::wait_until("the agent called", MINUTE, || (agent.calls(&job, 0) == 1).then_some(()));
    // the poster, as keeper and as poster, cannot take it back while the step's time runs
    let err = cli_error(&w, &poster, &["job", "fail", &job.to_string(), "0", "--cancel"]);
    assert!(err.contains("StepInProgress") || err.contains("not in a state"), "{err}");
    let err = cli_error(&w, &poster, &["job", "cancel", &job.to_string()]);
    assert!(err.contains("StepInProgress") || err.contains("not in a state"), "{err}");
    // the agent submits its own answer (the keeper never did) and is paid on it
    w.wait_job(&job, "paid on the agent's own submission", MINUTE, |j| j.status == JobStatus::Completed);
    assert_eq!(states(&w, &job), [Released]);
    let (p1, a1, _) = w.balances("self-submitting");
    assert_eq!((a1 - a0, p0 - p1), (5 * UNIT, gross(5 * UNIT)), "the agent got its pay, the poster paid it");
    let err = cli_error(&w, &poster, &["job", "fail", &job.to_string(), "0"]);
    assert!(err.contains("not in a state"), "nothing to take back: {err}");
    let shown = w.net.cli(&poster, &["agent", "show", &agent_s]);
    let r = &shown["track_record"][0];
    let counts = ["jobs_funded", "released", "failed"].map(|k| r[k].as_u64().unwrap_or(99));
    assert_eq!(counts, [1, 1, 0], "{shown}");
}

/// People told when they must decide: a milestone awaiting its poster's approval and, once
/// rejected, its arbiter's decision are each recorded once, streamed as server-sent events and
/// POSTed to the operator's webhook, HMAC-signed over the timestamp and body, retried after the
/// webhook answers 500 and recorded as delivered; `agentrail job pending` lists what awaits the
/// poster, the arbiter and the keeper.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn people_are_told_when_a_decision_awaits_them() {
    use hmac::{Hmac, Mac};
    let hook = agentrail_tests::http::Webhook::start(&[500]);
    let secret = "s3cret";
    let w = World::new(&["ok"]);
    let (arbiter, arbiter_key) = w.net.funded_key("arbiter", 1);
    let options = KeeperOptions { webhook: Some((hook.url.clone(), secret.into())), ..Default::default() };
    let k = w.keeper("keeper", options);
    let events = k.events();
    let arbiter_s = arbiter.to_string();
    let dispute = ["--arbiter", arbiter_s.as_str(), "--dispute-window", "1h", "--dispute-default", "poster"];
    let job = w.post_job_with("ok", &["10:approve", "20"], "3h", "1h", &dispute);
    let job_s = job.to_string();

    // the stream also carries each transaction the keeper lands (`job_updated`, for the
    // console's live pages; never sent to the webhook): set those aside
    let updates = std::cell::RefCell::new(Vec::<Value>::new());
    let next_notice = || loop {
        let (event, data) = events.recv_timeout(MINUTE).expect("an event");
        if event == "job_updated" {
            updates.borrow_mut().push(data);
            continue;
        }
        break (event, data);
    };
    // the approval: streamed, then delivered on the second attempt (the first got a 500)
    let (event, data) = next_notice();
    assert_eq!(
        (event.as_str(), data["job"].as_str(), data["milestone"].as_u64()),
        ("approval_needed", Some(job_s.as_str()), Some(0))
    );
    assert_eq!(data["decider"].as_str(), Some(w.poster.0.to_string().as_str()), "{data}");
    // the submission that made the approval due was announced first, with its signature
    assert!(
        updates.borrow().iter().any(|u| u["job"] == job_s.as_str()
            && u["action"] == "submit"
            && u["milestone"] == 0
            && u["signature"].as_str().is_some_and(|s| s.len() > 60)),
        "{:?}",
        updates.borrow()
    );
    let on_chain = w.job(&job).expect("job");
    assert_eq!(data["receipt"].as_str(), Some(hex::encode(on_chain.milestones()[0].result_hash).as_str()), "{data}");
    assert_eq!(data["amount"].as_str(), Some((10 * UNIT).to_string().as_str()), "{data}");
    let delivered = agentrail_tests::localnet::wait_until("the approval delivered after a 500", MINUTE, || {
        let got = hook.received();
        (got.len() >= 2).then_some(got)
    });
    assert_eq!((delivered[0].status, delivered[1].status), (500, 200));
    for r in &delivered[..2] {
        let ts = r.header("x-agentrail-timestamp").expect("timestamp");
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}.{}", r.body).as_bytes());
        let expected = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(r.header("x-agentrail-signature"), Some(expected.as_str()), "signed over the timestamp and body");
        let body: Value = serde_json::from_str(&r.body).expect("JSON");
        assert_eq!(body, data, "the webhook and the stream say the same");
        assert!(
            body["text"].as_str().unwrap().contains(&format!("agentrail job approve {job_s} 0")),
            "Slack text: {body}"
        );
    }
    let recorded = agentrail_tests::localnet::wait_until("the delivery recorded", MINUTE, || {
        let rows = k.get(&format!("/notifications?job={job_s}"))?;
        let row = rows.as_array()?.first()?.clone();
        (row["status"] == "delivered").then_some(row)
    });
    assert_eq!(
        (recorded["attempts"].as_u64(), recorded["kind"].as_str()),
        (Some(2), Some("approval_needed")),
        "{recorded}"
    );

    // what awaits whom: the poster decides milestone 0; the arbiter and the keeper, nothing yet
    let pending = |key: &std::path::Path, role: &str| -> Vec<(String, String, Option<u64>)> {
        let out = w.net.cli(key, &["job", "pending", "--as", role]);
        out.as_array()
            .expect("a list")
            .iter()
            .filter(|r| r["job"] == job_s.as_str())
            .map(|r| {
                (r["role"].as_str().unwrap().into(), r["action"].as_str().unwrap().into(), r["milestone"].as_u64())
            })
            .collect()
    };
    let poster_sees = pending(&w.poster.1, "poster");
    for action in ["approve", "reject"] {
        assert!(poster_sees.contains(&("poster".into(), action.into(), Some(0))), "{poster_sees:?}");
    }
    assert!(pending(&arbiter_key, "arbiter").is_empty());

    // the poster rejects: a dispute, which the arbiter is told about and sees as pending
    w.net.cli(&w.poster.1, &["job", "reject", &job_s, "0"]);
    let (event, data) = loop {
        let (event, data) = next_notice();
        if event != "approval_needed" {
            break (event, data);
        }
    };
    assert_eq!((event.as_str(), data["decider"].as_str()), ("dispute_open", Some(arbiter_s.as_str())), "{data}");
    agentrail_tests::localnet::wait_until("the dispute delivered", MINUTE, || {
        hook.received().iter().any(|r| r.status == 200 && r.body.contains("dispute_open")).then_some(())
    });
    assert_eq!(pending(&arbiter_key, "arbiter"), [("arbiter".to_string(), "decide".to_string(), Some(0))]);
    assert!(k.metric("agentrail_keeper_notifications_total{kind=\"approval_needed\",outcome=\"retried\"}") >= 1.0);

    // the keeper's pending work: a job it has not run yet (its process stopped)
    drop(k);
    let queued = w.post_job("ok", &["1"], "10m", "1s");
    let out = w.net.cli(&w.poster.1, &["job", "pending", "--as", "keeper", "--who", &w.keeper.0.to_string()]);
    let mine: Vec<&Value> =
        out.as_array().unwrap().iter().filter(|r| r["job"] == queued.to_string().as_str()).collect();
    assert_eq!(mine.len(), 1, "{out}");
    assert_eq!((mine[0]["action"].as_str(), mine[0]["milestone"].as_u64()), (Some("execute"), Some(0)), "{out}");
}

/// Risk rails on the agent's own transactions: an SDK agent does the on-chain work each job's
/// terms ask for (a real SPL transfer from its execution wallet) and reports the transaction;
/// before paying, the keeper reads each from the validator and checks the milestone's rails.
/// A transfer inside them is paid, with every rail in the receipt and what it observed; a
/// transfer over the outflow ceiling, one short of the minimum received, one that also calls the
/// System program, one that landed and failed, and one signed by another wallet are each
/// refused by the rail it breaks, and never paid.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn an_agents_own_transactions_are_checked_against_the_rails_before_it_is_paid() {
    use agentrail_keeper::rails::{PYTH_RECEIVER, pyth_price_update};
    // two Pyth price-update accounts on the validator: one published now, one an hour ago
    let (fresh, stale) = (Pubkey::new_unique(), Pubkey::new_unique());
    let now = unix_now();
    let feeds = [
        (fresh, PYTH_RECEIVER, pyth_price_update(true, now)),
        (stale, PYTH_RECEIVER, pyth_price_update(true, now - 3_600)),
    ];
    let w = World::with_accounts(&["executor:ok"], &feeds);
    let (wallet, _) = w.agents["executor"].exec_wallets.expect("an execution wallet");
    let poster = w.poster.0;
    let token_program = w.net.rpc.get_account(&w.mint).expect("mint").owner;
    let host = agentrail_tests::http::FileServer::start(w.net.dir.path().to_path_buf());
    // each job: one milestone of 1 token, rails allowing the token program, 2 tokens out of
    // the wallet and at least 1 token into the poster's account; the agent's transfer per `mode`
    let job_for = |name: &str, mode: &str, amount: u64, feed: Pubkey| -> Pubkey {
        let terms = json!({
            "schema": "agentrail.terms/v1", "title": format!("rails {name}"),
            "milestones": [{
                "title": "Pay the poster", "instructions": "Transfer tokens to the poster",
                "inputs": {"transfer": {"to": poster.to_string(), "amount": amount.to_string(), "mode": mode}},
                "acceptance": ["the transfer landed within the rails"], "amount": "1",
                "rails": {
                    "wallet": wallet.to_string(), "programs": [token_program.to_string()],
                    "max_outflow": {w.mint.to_string(): (2 * UNIT).to_string()},
                    "min_received": {"owner": poster.to_string(), "mint": w.mint.to_string(), "amount": UNIT.to_string()},
                    "price_feed": {"account": feed.to_string(), "max_age_secs": 900},
                },
            }],
        });
        let file = format!("terms-{name}.json");
        std::fs::write(w.net.dir.path().join(&file), terms.to_string()).expect("terms");
        let (path, url) = (w.net.dir.path().join(&file), format!("{}{file}", host.base));
        w.post_job_with("executor", &[], "10m", "1s", &["--terms", path.to_str().expect("utf-8"), "--terms-uri", &url])
    };
    let (_, paid0, _) = w.balances("executor");
    let honest = job_for("honest", "honest", 3 * UNIT / 2, fresh);
    let refused = [
        ("over", job_for("over", "honest", 3 * UNIT, fresh), "rail.outflow"),
        ("short", job_for("short", "honest", UNIT / 2, fresh), "rail.min_received"),
        ("system", job_for("system", "system", 3 * UNIT / 2, fresh), "rail.programs"),
        ("fail", job_for("fail", "fail", UNIT, fresh), "rail.landed"),
        ("foreign", job_for("foreign", "foreign", UNIT, fresh), "rail.signer"),
        ("stale", job_for("stale", "honest", 3 * UNIT / 2, stale), "rail.price_feed"),
    ];
    let k = w.keeper("keeper", KeeperOptions::default());
    w.wait_job(&honest, "the job within its rails paid", MINUTE, |j| j.status == JobStatus::Completed);
    let receipt = &k.receipts(&honest)[0]["receipt"];
    let guards: Vec<&Value> = receipt["guards"]
        .as_array()
        .expect("guards")
        .iter()
        .filter(|g| g["name"].as_str().unwrap().starts_with("rail."))
        .collect();
    let names: Vec<&str> = guards.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["rail.landed", "rail.signer", "rail.programs", "rail.outflow", "rail.min_received", "rail.price_feed"],
        "{receipt}"
    );
    assert!(guards.iter().all(|g| g["passed"] == true), "{receipt}");
    assert!(guards[3]["detail"].as_str().unwrap().contains(&format!("out {}/{}", 3 * UNIT / 2, 2 * UNIT)), "{receipt}");
    assert_eq!(receipt["tx_signatures"].as_array().map(Vec::len), Some(1), "{receipt}");

    for (name, job, rail) in refused {
        let step = agentrail_tests::localnet::wait_until(&format!("the {name} step refused"), MINUTE, || {
            let m = k.get(&format!("/jobs/{job}"))?["milestones"][0].clone();
            (m["step"] == "abandoned").then_some(m)
        });
        let error = step["error"].as_str().unwrap_or_default();
        assert!(error.contains(rail), "{name}: expected {rail} to fail: {step}");
        assert_eq!(states(&w, &job), [Pending], "{name}: not paid");
        assert!(k.receipts(&job).is_empty(), "{name}: no receipt");
    }
    assert_eq!(w.balances("executor").1, paid0 + UNIT, "only the job within its rails paid its agent");
}

/// Compensation: a two-step job whose terms say how to undo each step; its second milestone is
/// rejected, so the job ends with a refund and the keeper asks the agent to undo both, the last
/// first. The second's compensation fails once and is retried; the keeper is `kill -9`ed right
/// after the agent compensated it, before recording it: restarted, it asks again under the
/// same idempotency key and the agent answers from its store (its own log shows one failed
/// and one successful run of the second, then the first). Each compensation is a signed receipt
/// in the log naming the receipt it undoes, which `agentrail receipt verify` checks against
/// the chain.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn a_rejected_job_is_compensated_last_step_first_across_a_crash() {
    let w = World::new(&["ok"]);
    let host = agentrail_tests::http::FileServer::start(w.net.dir.path().to_path_buf());
    let terms = json!({
        "schema": "agentrail.terms/v1", "title": "Swap with a quote",
        "milestones": [
            {"title": "Quote", "instructions": "Reserve a quote", "acceptance": ["reserved"], "amount": "1",
             "compensation": {"instructions": "Release the reserved quote"}},
            {"title": "Swap", "instructions": "Swap on the quote", "acceptance": ["landed"], "amount": "2",
             "requires_approval": true,
             "compensation": {"instructions": "Swap back", "inputs": {"fail_first": true}, "paid": false}},
        ],
    });
    std::fs::write(w.net.dir.path().join("saga.json"), terms.to_string()).expect("terms");
    let (path, url) = (w.net.dir.path().join("saga.json"), format!("{}saga.json", host.base));
    let job = w.post_job_with("ok", &[], "3h", "1h", &["--terms", path.to_str().expect("utf-8"), "--terms-uri", &url]);
    let job_s = job.to_string();
    // today is anchored once, by the last keeper, when the log holds the compensations too
    let later = || KeeperOptions { anchor_today: Some(false), ..Default::default() };
    let mut k = w.keeper("keeper", KeeperOptions { failpoint: Some("after-call:compensate".into()), ..later() });
    w.wait_job(&job, "milestone 1 awaits approval", MINUTE, |j| j.milestones()[1].state == Submitted);
    let on_chain =
        w.job(&job).expect("job").milestones().iter().map(|m| hex::encode(m.result_hash)).collect::<Vec<_>>();
    let view = k.get(&format!("/jobs/{job_s}")).expect("job view");
    assert_eq!(view["compensations"].as_array().map(Vec::len), Some(2), "both armed: {view}");
    assert!(view["compensations"].as_array().unwrap().iter().all(|c| c["status"] == "armed"), "{view}");

    // the poster rejects the swap: the job ends with a refund, and is undone
    w.net.cli(&w.poster.1, &["job", "reject", &job_s, "1"]);
    assert_eq!(w.job(&job).expect("job").status, JobStatus::Completed);
    k.process.wait_for_output("failpoint after-call reached", 2 * MINUTE);
    k.process.kill9();
    let undone = |w: &World| -> Vec<(String, String)> {
        let url = w.agents["ok"].endpoint.replace("/step", "/compensations");
        reqwest::blocking::get(url).and_then(|r| r.json()).expect("the agent's compensations")
    };
    let key = |i: u8| format!("{job_s}:{i}:compensate");
    assert_eq!(undone(&w), [(key(1), "failed".into()), (key(1), "compensated".into())], "the swap first, retried");

    let k = w.keeper("keeper", later());
    let done = agentrail_tests::localnet::wait_until("both compensated", MINUTE, || {
        let view = k.get(&format!("/jobs/{job_s}"))?;
        let all = view["compensations"].as_array()?.clone();
        all.iter().all(|c| c["status"] == "compensated").then_some(all)
    });
    assert_eq!(
        undone(&w),
        [(key(1), "failed".into()), (key(1), "compensated".into()), (key(0), "compensated".into())],
        "last step first; after the crash the swap's compensation was replayed, not run again"
    );
    for (c, hash) in done.iter().zip(&on_chain) {
        assert_eq!(c["undoes"].as_str(), Some(hash.as_str()), "{c}");
    }
    // the failed attempt and the replay: the attempt the crash cut off left no record
    assert_eq!(done[1]["attempts"].as_u64(), Some(2), "{done:?}");

    // each compensation is a receipt in the log: the two steps' (0, 1), then the undo of 1, of 0
    drop(k);
    let k = w.keeper("keeper", KeeperOptions::default());
    for (index, milestone) in [(2u64, 1usize), (3, 0)] {
        let bundle = agentrail_tests::localnet::wait_until("the compensation's receipt anchored", MINUTE, || {
            k.get(&format!("/receipts/{index}")).filter(|b| !b["day"].is_null())
        });
        let r = &bundle["receipt"];
        assert_eq!((r["job"].as_str(), r["milestone"].as_u64()), (Some(job_s.as_str()), Some(milestone as u64)), "{r}");
        let guard =
            r["guards"].as_array().unwrap().iter().find(|g| g["name"] == "compensates").cloned().expect("the link");
        assert_eq!(guard["detail"].as_str(), Some(on_chain[milestone].as_str()), "{r}");
        assert_eq!(Some(r["hash"].as_str().unwrap()), done[milestone]["receipt"].as_str(), "{r}");
        let file = w.net.dir.path().join(format!("compensation-{index}.json"));
        write_json(&file, &bundle);
        let verified = w.net.cli(&w.poster.1, &["receipt", "verify", file.to_str().expect("utf-8")]);
        assert_eq!(verified["valid"], true, "{verified}");
        assert!(verified["result_hash"].as_str().unwrap().contains("compensation"), "{verified}");
    }
    assert_eq!(k.receipts(&job).len(), 2, "the steps' receipts stay one per milestone");
}

/// The endpoint is bound to the registry: an agent serving a manifest other than the one its
/// pinned version registered is never called (nothing started on-chain, no call, the step
/// recorded as abandoned with the two hashes), while the honest agent's receipt records the
/// check as a passed `manifest` guard.
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn a_manifest_other_than_the_pinned_one_stops_the_step_before_any_call() {
    let w = World::new(&["ok", "wrong-manifest:ok"]);
    let k = w.keeper("keeper", KeeperOptions::default());
    let good = w.post_job("ok", &["1"], "10m", "1s");
    let bad = w.post_job("wrong-manifest", &["1"], "10m", "1s");
    w.wait_job(&good, "the honest job completed", MINUTE, |j| j.status == JobStatus::Completed);
    let step = agentrail_tests::localnet::wait_until("the step is recorded as not run", MINUTE, || {
        let view = k.get(&format!("/jobs/{bad}"))?;
        let m = view["milestones"][0].clone();
        (m["step"] == "abandoned").then_some(m)
    });
    let error = step["error"].as_str().unwrap_or_default();
    assert!(error.contains("manifest") && error.contains("the registry pins"), "{step}");
    assert_eq!(w.agents["wrong-manifest"].calls(&bad, 0), 0, "the agent was never called");
    let j = w.job(&bad).expect("job");
    assert_eq!((j.milestones()[0].started_at, j.milestones()[0].state), (0, Pending), "nothing started on-chain");
    let receipts = k.receipts(&good);
    let guards = &receipts[0]["receipt"]["guards"];
    let manifest = guards.as_array().and_then(|g| g.iter().find(|c| c["name"] == "manifest")).cloned();
    assert_eq!(manifest.as_ref().map(|m| m["passed"].clone()), Some(Value::Bool(true)), "{guards}");
}

/// The request carries the work: for a job whose terms are served over HTTP, the keeper fetches
/// them, checks them against the pinned hash and sends each milestone's part with its step (the
/// SDK agent records the title it received).
#[test]
#[ignore = "needs solana-test-validator 4.2.2 and the binaries; run by scripts/test.sh"]
fn each_step_carries_its_milestones_work_from_the_pinned_terms() {
    let w = World::new(&["ok"]);
    let terms = r#"{"schema":"agentrail.terms/v1","title":"Rebalance","milestones":[
        {"title":"Quote","instructions":"Quote 10 SOL to USDC","inputs":{"amount":"10"},"acceptance":["fresh"],"amount":"1"},
        {"title":"Swap","instructions":"Execute the quote","acceptance":["landed"],"amount":"2"}]}"#;
    let path = w.net.dir.path().join("terms.json");
    std::fs::write(&path, terms).expect("terms");
    // the terms' host
    let url = format!("{}terms.json", agentrail_tests::http::FileServer::start(w.net.dir.path().to_path_buf()).base);
    let k = w.keeper("keeper", KeeperOptions::default());
    let job = w.post_job_with("ok", &[], "10m", "1s", &["--terms", path.to_str().expect("utf-8"), "--terms-uri", &url]);
    w.wait_job(&job, "job completed", MINUTE, |j| j.status == JobStatus::Completed);
    let endpoint = w.agents["ok"].endpoint.replace("/step", "/work");
    let got: Value = reqwest::blocking::get(endpoint).and_then(|r| r.json()).expect("agent's record");
    assert_eq!(got[format!("{job}:0")], "Quote", "{got} {}", k.log_tail());
    assert_eq!(got[format!("{job}:1")], "Swap", "{got}");
}

/// The web console in a real browser (Debian's Chromium, driven by
/// `web/tests/browser.mjs` with a Wallet Standard test wallet per person): the poster opens
/// the inbox, approves one milestone and rejects another into a dispute, the arbiter splits it,
/// each signed in the wallet after a simulated summary; the receipt page verifies the receipt
/// against the chain in the browser and refuses a tampered bundle and a forged one. The chain
/// is checked here: what the browser signed landed.
#[test]
#[ignore = "needs solana-test-validator, node and chromium (scripts/test.sh provides them)"]
fn a_person_decides_and_verifies_in_the_browser() {
    let w = World::new(&["ok"]);
    let (arbiter, arbiter_key) = w.net.funded_key("arbiter", 1);
    let k = w.keeper("keeper", KeeperOptions::default());
    let arbiter_s = arbiter.to_string();
    let dispute = ["--arbiter", arbiter_s.as_str(), "--dispute-window", "1h", "--dispute-default", "poster"];
    let approve = w.post_job("ok", &["10:approve", "5"], "3h", "1h");
    let reject = w.post_job_with("ok", &["20:approve"], "3h", "1h", &dispute);
    let fund = w.post_unfunded_job("ok", &["7"], "3h", "1h");
    for job in [&approve, &reject] {
        w.wait_job(job, "milestone 0 submitted for approval", 2 * MINUTE, |j| j.milestones()[0].state == Submitted);
    }
    let receipt = k
        .receipts(&approve)
        .iter()
        .find(|r| r["receipt"]["milestone"] == 0)
        .and_then(|r| r["index"].as_u64())
        .expect("the approved milestone's receipt");
    let (poster_before, agent_before, _) = w.balances("ok");

    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let screenshots = std::env::var("AGENTRAIL_SCREENSHOTS")
        .unwrap_or_else(|_| w.net.dir.path().join("screenshots").display().to_string());
    let input = json!({
        "url": k.api,
        "chromium": std::env::var("AGENTRAIL_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        "poster": w.poster.1, "arbiter": arbiter_key,
        "approve": { "job": approve.to_string(), "milestone": 0, "amount_ui": "10" },
        "reject": { "job": reject.to_string(), "milestone": 0, "share_percent": 30 },
        "fund": { "job": fund.to_string(), "total_ui": "7" },
        "receipt": receipt, "agent": w.agents["ok"].address.to_string(), "screenshots": screenshots,
    });
    let input_path = w.net.dir.path().join("browser.json");
    write_json(&input_path, &input);
    let out = std::process::Command::new("node")
        .arg(web.join("tests/browser.mjs"))
        .arg(&input_path)
        .current_dir(&web)
        .output()
        .expect("node runs (scripts/install-deps.sh installs it)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{}\nkeeper:\n{}",
        String::from_utf8_lossy(&out.stderr),
        k.log_tail()
    );
    let steps: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let step = |name: &str| {
        steps.iter().find(|s| s["step"] == name).cloned().unwrap_or_else(|| panic!("no step {name}: {stdout}"))
    };
    assert!(step("approve")["summary"].as_str().unwrap().contains("10 leaves the vault"), "{stdout}");
    assert!(step("tampered refused")["verdict"].as_str().unwrap().contains("altered"));
    assert!(step("forged refused")["verdict"].as_str().unwrap().contains("keeper's signature does not verify"));
    assert!(step("receipt verified")["checks"].as_str().unwrap().contains("milestone 0 was submitted on-chain"));

    // what the browser signed is on the chain
    let approved = w.job(&approve).expect("job");
    assert_eq!(approved.milestones()[0].state, Released, "approved in the browser");
    let decided = w.job(&reject).expect("job");
    assert_eq!(
        (decided.milestones()[0].state, decided.milestones()[0].agent_bps),
        (Split, 3_000),
        "split by the arbiter"
    );
    let funded = w.job(&fund).expect("job");
    assert!(
        funded.funded == funded.total() && funded.funded >= 7 * UNIT,
        "funded in the browser: {} of {}",
        funded.funded,
        funded.total()
    );
    assert!(step("fund")["summary"].as_str().unwrap().contains("arrives in the vault"), "{stdout}");
    let (poster_after, agent_after, _) = w.balances("ok");
    assert!(
        agent_after >= agent_before + 10 * UNIT + 6 * UNIT,
        "the agent got 10 + 30% of 20: {agent_before} -> {agent_after}"
    );
    // 70% of the disputed 20 came back; the third job's total went into its vault
    assert!(
        poster_after + funded.total() >= poster_before + 14 * UNIT,
        "the poster got 70% of 20 back: {poster_before} -> {poster_after} after funding {}",
        funded.total()
    );
}
