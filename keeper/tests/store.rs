//! The keeper store on SQLite and on a real PostgreSQL server: same migrations, same behaviour.

mod support;

use agentrail_keeper::store::*;

fn receipt(i: u64, job: &str, milestone: u8) -> StoredReceipt {
    StoredReceipt {
        leaf_index: i,
        job: job.into(),
        milestone,
        hash: format!("{i:064x}"),
        body: vec![i as u8; 40],
        created_at: 1_000 + i as i64,
    }
}

fn intent(id: &str, status: IntentStatus) -> Intent {
    Intent {
        id: id.into(),
        job: "J".into(),
        milestone: 0,
        action: "submit".into(),
        tx: "dHg=".into(),
        signature: format!("sig-{id}"),
        last_valid_block_height: 100,
        status,
        attempts: 1,
        error: None,
    }
}

async fn exercise(store: Store) {
    // the log: append in order, reject a second writer for the same index
    assert_eq!(store.log_size().await.unwrap(), 0);
    for i in 0..5 {
        store.append_receipt(&receipt(i, if i % 2 == 0 { "A" } else { "B" }, i as u8)).await.unwrap();
    }
    assert!(store.append_receipt(&receipt(4, "C", 0)).await.is_err(), "a raced index is refused");
    assert_eq!(store.log_size().await.unwrap(), 5);
    assert_eq!(store.receipts().await.unwrap()[3], receipt(3, "B", 3));
    let times = store.receipt_times().await.unwrap();
    assert_eq!(times, store.receipts().await.unwrap().iter().map(|r| r.created_at).collect::<Vec<_>>());
    assert_eq!(store.receipts_for_job("A").await.unwrap().len(), 3);
    let tail: Vec<u64> = store.receipts_from(3).await.unwrap().iter().map(|r| r.leaf_index).collect();
    assert_eq!(tail, vec![3, 4]);
    assert_eq!(store.receipt(2).await.unwrap(), Some(receipt(2, "A", 2)));
    assert_eq!(store.receipt_for("B", 3).await.unwrap(), Some(receipt(3, "B", 3)));
    assert_eq!(store.receipt(9).await.unwrap(), None);

    // intents: a pending one is never replaced; an expired one is, counting attempts
    assert!(store.put_intent(&intent("J:0:submit", IntentStatus::Pending)).await.unwrap());
    let mut again = intent("J:0:submit", IntentStatus::Pending);
    again.signature = "other".into();
    assert!(!store.put_intent(&again).await.unwrap(), "pending intents are not replaced");
    assert_eq!(store.intent("J:0:submit").await.unwrap().unwrap().signature, "sig-J:0:submit");
    assert_eq!(store.pending_intents().await.unwrap().len(), 1);
    assert!(
        store
            .set_intent_status("J:0:submit", "sig-J:0:submit", IntentStatus::Expired, Some("blockhash expired"))
            .await
            .unwrap()
    );
    assert!(store.pending_intents().await.unwrap().is_empty());
    assert!(store.put_intent(&again).await.unwrap(), "expired intents are replaced");
    let i = store.intent("J:0:submit").await.unwrap().unwrap();
    assert_eq!((i.signature.as_str(), i.attempts, i.status, i.error), ("other", 2, IntentStatus::Pending, None));
    // a driver still following the old transaction cannot mark the new one expired
    assert!(!store.set_intent_status("J:0:submit", "sig-J:0:submit", IntentStatus::Expired, None).await.unwrap());
    assert_eq!(store.intent("J:0:submit").await.unwrap().unwrap().status, IntentStatus::Pending);
    assert!(store.set_intent_status("J:0:submit", "other", IntentStatus::Confirmed, None).await.unwrap());
    assert!(
        !store.put_intent(&intent("J:0:submit", IntentStatus::Pending)).await.unwrap(),
        "confirmed intents are final"
    );

    // steps and checkpoints
    let step = Step {
        job: "A".into(),
        milestone: 0,
        status: StepStatus::Failed,
        attempts: 2,
        last_error: Some("timeout".into()),
        receipt_index: None,
    };
    // every outcome is written under a claim: a failed run, then a run that finished
    assert!(store.claim_step("A", 0, "x", 600).await.unwrap());
    assert!(store.finish_step(&step, "x").await.unwrap());
    let done = Step { status: StepStatus::Done, attempts: 3, last_error: None, receipt_index: Some(4), ..step };
    assert!(store.claim_step("A", 0, "y", 600).await.unwrap());
    assert!(store.finish_step(&done, "y").await.unwrap());
    assert_eq!(store.step("A", 0).await.unwrap(), Some(done));
    assert_eq!(store.step("A", 1).await.unwrap(), None);
    // claims: one runner per step, leased on the database's clock and fenced by owner; a
    // finished step is not claimed again, a failed or lapsed one is
    assert!(store.claim_step("C", 0, "a", 600).await.unwrap(), "the first claim wins");
    assert!(!store.claim_step("C", 0, "b", 600).await.unwrap(), "a running step is not claimed twice");
    assert!(store.renew_claim("C", 0, "a", 600).await.unwrap(), "its owner renews it");
    assert!(!store.renew_claim("C", 0, "b", 600).await.unwrap(), "nobody else does");
    // a's lease lapses (renewed into the past): b takes over, and a's late writes are refused
    assert!(store.renew_claim("C", 0, "a", -10).await.unwrap());
    assert!(store.claim_step("C", 0, "b", 600).await.unwrap(), "a lapsed claim is taken over");
    let failed = Step {
        job: "C".into(),
        milestone: 0,
        status: StepStatus::Failed,
        attempts: 1,
        last_error: None,
        receipt_index: None,
    };
    assert!(!store.renew_claim("C", 0, "a", 600).await.unwrap(), "the old owner lost it");
    assert!(!store.finish_step(&failed, "a").await.unwrap(), "the old owner's outcome is not written");
    assert_eq!(store.step("C", 0).await.unwrap().unwrap().status, StepStatus::Running);
    assert!(store.finish_step(&failed, "b").await.unwrap(), "the owner's is");
    // a failed run rests before the step runs again (the database's clock): not within its rest
    assert!(!store.claim_step_after("C", 0, "c", 600, 3_600).await.unwrap(), "still resting");
    assert_eq!(store.step("C", 0).await.unwrap().unwrap().status, StepStatus::Failed, "nothing written");
    assert!(!store.claim_step("A", 0, "c", -1).await.unwrap(), "a done step is never claimed");
    assert!(store.claim_step("C", 0, "c", 600).await.unwrap(), "a failed step may run again");
    // a step never tried is claimed by creating its row (one write); a step with a row is
    // left to `claim_step`, which judges it
    assert!(store.claim_new_step("D", 0, "a", 600).await.unwrap(), "a new step is claimed by creating it");
    assert!(!store.claim_new_step("D", 0, "b", 600).await.unwrap(), "a step with a row is not");
    assert!(!store.claim_step("D", 0, "b", 600).await.unwrap(), "it runs under its first claim");
    assert!(!store.claim_new_step("A", 0, "b", 600).await.unwrap(), "a done step is never claimed");
    assert!(!store.claim_new_step("C", 0, "b", 600).await.unwrap(), "nor a running one");
    let d = store.step("D", 0).await.unwrap().unwrap();
    assert_eq!((d.status, d.attempts), (StepStatus::Running, 0));
    assert_eq!(store.step("C", 0).await.unwrap().unwrap().attempts, 1, "claims keep the attempt count");
    // one receipt per milestone: a second runner's receipt for it is refused by the schema
    assert!(
        store
            .append_receipt(&StoredReceipt { leaf_index: 5, hash: "ff".repeat(32), ..receipt(5, "B", 3) })
            .await
            .is_err()
    );
    // identity: bound once, then only the same keeper, cluster and program may use the store
    let me = [("keeper", "K1".to_string()), ("genesis", "G".to_string()), ("program", "P".to_string())];
    store.bind_identity(&me).await.unwrap();
    store.bind_identity(&me).await.unwrap();
    let other = [("keeper", "K2".to_string()), ("genesis", "G2".to_string()), ("program", "P".to_string())];
    let err = store.bind_identity(&other).await.unwrap_err().to_string();
    assert!(err.contains("keeper is K1, not K2") && err.contains("genesis is G, not G2"), "{err}");
    let cp = StoredCheckpoint { day: 20_779, size: 5, root: "ab".repeat(32), signature: "s".into(), anchored_at: 9 };
    store.put_checkpoint(&cp).await.unwrap();
    store.put_checkpoint(&StoredCheckpoint { size: 6, ..cp.clone() }).await.unwrap();
    assert_eq!(store.checkpoints().await.unwrap(), vec![cp], "a day's checkpoint never changes");
    // notifications: recorded once, due until delivered or failed, listed newest first
    let n = Notification {
        id: "J:1:approval_needed".into(),
        job: "J".into(),
        milestone: 1,
        kind: "approval_needed".into(),
        payload: r#"{"text":"t"}"#.into(),
        status: "pending".into(),
        attempts: 0,
        next_at: 100,
        error: None,
        created_at: 100,
        delivered_at: None,
    };
    assert!(store.add_notification(&n).await.unwrap());
    assert!(!store.add_notification(&Notification { payload: "{}".into(), ..n.clone() }).await.unwrap(), "once");
    assert!(store.due_notifications(99, 10).await.unwrap().is_empty(), "not due yet");
    assert_eq!(store.due_notifications(100, 10).await.unwrap(), vec![n.clone()]);
    let retry = Notification { attempts: 1, next_at: 200, error: Some("HTTP 500".into()), ..n.clone() };
    store.set_notification(&retry).await.unwrap();
    assert!(store.due_notifications(150, 10).await.unwrap().is_empty(), "backing off");
    let done = Notification { status: "delivered".into(), attempts: 2, error: None, delivered_at: Some(201), ..retry };
    store.set_notification(&done).await.unwrap();
    assert!(store.due_notifications(1_000, 10).await.unwrap().is_empty(), "delivered: never again");
    let other = Notification { id: "K:0:dispute_open".into(), job: "K".into(), created_at: 300, ..n.clone() };
    store.add_notification(&other).await.unwrap();
    assert_eq!(store.notifications(None, 10).await.unwrap(), vec![other.clone(), done.clone()]);
    assert_eq!(store.notifications(Some("J"), 10).await.unwrap(), vec![done]);
    // compensations: armed once per milestone (a re-run step re-arms it with its own receipt
    // while it is only armed), open until compensated, failed or not needed
    let c = Compensation {
        id: "J:1".into(),
        job: "J".into(),
        milestone: 1,
        undoes: "aa".into(),
        work: r#"{"instructions":"undo"}"#.into(),
        status: "armed".into(),
        attempts: 0,
        next_at: 0,
        error: None,
        receipt: None,
        updated_at: 1,
    };
    store.arm_compensation(&c).await.unwrap();
    store.arm_compensation(&Compensation { undoes: "bb".into(), ..c.clone() }).await.unwrap();
    store.arm_compensation(&Compensation { id: "J:0".into(), milestone: 0, ..c.clone() }).await.unwrap();
    let open = store.open_compensations(10).await.unwrap();
    assert_eq!(open.iter().map(|c| (c.milestone, c.undoes.as_str())).collect::<Vec<_>>(), [(0, "aa"), (1, "bb")]);
    let done =
        Compensation { status: "compensated".into(), attempts: 1, receipt: Some("cc".into()), ..open[1].clone() };
    store.set_compensation(&done).await.unwrap();
    store.arm_compensation(&Compensation { undoes: "dd".into(), ..c.clone() }).await.unwrap();
    let all = store.compensations_for_job("J").await.unwrap();
    assert_eq!(
        (all[1].status.as_str(), all[1].undoes.as_str(), all[1].receipt.as_deref()),
        ("compensated", "bb", Some("cc"))
    );
    assert_eq!(store.open_compensations(10).await.unwrap().len(), 1, "only milestone 0 is still open");
    // rounds choose fairly, never by address (review M6): 100 armed jobs at ground addresses
    // ("11…", looked at long ago) do not crowd out one that is due, nor one armed later
    for n in 0..100 {
        let job = format!("11{n:03}");
        let row = Compensation { id: format!("{job}:0"), job, milestone: 0, updated_at: 5, ..c.clone() };
        store.arm_compensation(&row).await.unwrap();
    }
    let due =
        Compensation { id: "9due:0".into(), job: "9due".into(), status: "due".into(), updated_at: 50, ..c.clone() };
    store.arm_compensation(&due).await.unwrap();
    let jobs = |open: Vec<Compensation>| open.into_iter().map(|c| c.job).collect::<std::collections::BTreeSet<_>>();
    let first = jobs(store.open_compensations(100).await.unwrap());
    assert!(first.contains("9due") && first.len() == 100, "the due one is in the round");
    // every job looked at goes to the back: the ones left out come next
    for job in &first {
        store.set_compensations_seen(job, 1_000).await.unwrap();
    }
    let second = jobs(store.open_compensations(100).await.unwrap());
    assert!(second.contains("9due"), "a due job stays first");
    let everyone: std::collections::BTreeSet<_> = first.union(&second).cloned().collect();
    assert_eq!(everyone.len(), 102, "two rounds reach every job: {:?}", everyone.len());
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("keeper.sqlite").display());
    exercise(Store::open(&url).await.unwrap()).await;
    // reopening keeps everything and re-running migrations is harmless
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.log_size().await.unwrap(), 5);
}

#[tokio::test]
async fn postgres_store() {
    let pg = support::Postgres::start();
    exercise(Store::open(&pg.url()).await.unwrap()).await;
    let again = Store::open(&pg.url()).await.unwrap();
    assert_eq!(again.log_size().await.unwrap(), 5);
}

#[tokio::test]
async fn bad_urls_are_named() {
    let err = Store::open("mysql://nowhere").await.unwrap_err();
    assert!(format!("{err:#}").contains("mysql://nowhere"), "{err:#}");
    // named, but never with its password
    let err = Store::open("postgres://keeper:s3cret@db.internal:notaport/agentrail").await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("db.internal") && !text.contains("s3cret"), "{text}");
}

#[tokio::test]
async fn an_undecodable_intent_is_quarantined_not_fatal() {
    use agentrail_keeper::{chain::Chain, metrics::Metrics, sender::Sender};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.sqlite").display())).await.unwrap();
    let mut poison = intent("J:0:submit", IntentStatus::Pending);
    poison.tx = "!!".into();
    store.put_intent(&poison).await.unwrap();
    // reconciliation never reaches the (dead) RPC endpoint for it
    let (chain, payer, metrics) =
        (Chain::new("http://127.0.0.1:1"), solana_sdk::signature::Keypair::new(), Metrics::default());
    let sender = Sender {
        chain: &chain,
        store: &store,
        payer: &payer,
        metrics: &metrics,
        fee_cap: 0,
        confirm_budget: std::time::Duration::from_secs(5),
    };
    sender.reconcile().await.expect("a poison intent does not stop start-up");
    let i = store.intent("J:0:submit").await.unwrap().unwrap();
    assert_eq!(i.status, IntentStatus::Failed);
    assert!(i.error.unwrap().contains("quarantined"));
    assert!(store.pending_intents().await.unwrap().is_empty());
}

/// L9: a store a newer keeper migrated (a migration this binary does not know) still opens, so
/// an older keeper restarting during a rolling upgrade keeps running; and reopening an
/// up-to-date store applies nothing twice.
#[tokio::test]
async fn migrations_from_a_newer_keeper_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.sqlite").display());
    drop(Store::open(&url).await.unwrap());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'a newer keeper', TRUE, X'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let store = Store::open(&url).await.expect("an older keeper still opens a store a newer one migrated");
    assert_eq!(store.log_size().await.unwrap(), 0);
}
