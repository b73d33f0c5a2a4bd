//! The run's deadline and cancellation reach into the sampling interval: witness returns
//! what it has, says what it skipped, and never overstays.

use std::time::{Duration, Instant};

use witness_collector::{CollectContext, Status};

use crate::support::{TestDb, collect_in, within};

#[tokio::test]
async fn a_deadline_shorter_than_the_interval_shortens_it_and_says_so() {
    let db = TestDb::create("deadline").await;
    let mut config = db.config_for(&db.dsn_as(None, "sslmode=disable"));
    config.sample_interval_ms = 10_000;
    let mut ctx = CollectContext::for_test();
    ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let started = Instant::now();
    let ev = collect_in(&config, &ctx).await.expect("collects");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(ev.status, Status::Ok, "{:?}", ev.notes);
    assert!(
        ev.notes.iter().any(|n| n.starts_with("database_stats: samples taken ")
            && n.ends_with("apart instead of 10s to finish before the deadline")),
        "{:?}",
        ev.notes
    );
    let interval = ev.data["database_stats"]["interval_ms"].as_i64().unwrap();
    assert!((1000..2000).contains(&interval), "{interval}");
    assert!(ev.facts.contains_key("postgres.deadlocks_delta"));
}

#[tokio::test]
async fn cancelling_the_run_during_sampling_returns_partial_evidence_at_once() {
    let db = TestDb::create("cancel").await;
    let mut config = db.config_for(&db.dsn_as(None, "sslmode=disable"));
    config.sample_interval_ms = 10_000;
    let ctx = CollectContext::for_test();
    let cancel = ctx.cancel.clone();
    let started = Instant::now();
    let run = tokio::spawn(async move { collect_in(&config, &ctx).await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    cancel.cancel();
    let ev = within("the cancelled collection", run).await.expect("task").expect("evidence");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(ev.status, Status::Partial);
    assert!(
        ev.notes.contains(
            &"database_stats: no second sample, the run was cancelled; no deltas".to_owned()
        ),
        "{:?}",
        ev.notes
    );
    assert!(!ev.facts.contains_key("postgres.deadlocks_delta"), "no delta is not a zero delta");
    assert!(ev.facts.contains_key("postgres.blocked_sessions"), "what was read is kept");
}
