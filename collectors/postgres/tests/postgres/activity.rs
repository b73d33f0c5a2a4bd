//! Long statements, idle transactions and deadlocks on a real server.

use std::time::Duration;

use witness_collector::{CollectContext, Status};

use crate::scene::{Scene, pids};
use crate::support::{TestDb, collect, collect_in, wait_until_waiting, within};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_sleep_and_an_idle_transaction_are_reported_with_their_age() {
    let db = TestDb::create("activity").await;
    let scene = Scene::build(&db).await;
    let ev = collect(&Scene::config(&db, None)).await.expect("collects");
    assert_eq!(ev.status, Status::Ok, "notes: {:?}", ev.notes);

    let long = &ev.data["long_statements"];
    assert!(pids(long).contains(&scene.sleeper.pid.into()), "{long:#}");
    let sleeper = long.as_array().unwrap().iter().find(|s| s["pid"] == scene.sleeper.pid).unwrap();
    assert_eq!(sleeper["query"], "SELECT pg_sleep(60)");
    assert!(sleeper["query_age_secs"].as_f64().unwrap() >= 1.0);
    assert_eq!(sleeper["application_name"], "");
    assert!(ev.facts["postgres.longest_statement_secs"].as_f64().unwrap() >= 1.0);
    assert!(ev.facts["postgres.long_statements"].as_f64().unwrap() >= 1.0);
    assert!(ev.events.iter().any(|e| e.kind == "long_statement"
        && e.signature.as_deref() == Some(&*format!("long_statement:{}", scene.sleeper.pid))));

    let idle = &ev.data["idle_in_transaction"];
    assert!(pids(idle).contains(&scene.idle.pid.into()), "{idle:#}");
    assert!(
        pids(idle).contains(&scene.root.pid.into()),
        "the root blocker idles in its transaction"
    );
    assert!(ev.facts["postgres.idle_in_transaction"].as_f64().unwrap() >= 2.0);
    assert!(ev.facts["postgres.longest_idle_in_transaction_secs"].as_f64().unwrap() >= 1.0);
    assert!(
        ev.events.iter().any(|e| e.kind == "idle_in_transaction"
            && e.title.contains(&format!("pid {}", scene.idle.pid)))
    );
    // Each session event points at its own entry and at the raw activity artifact.
    for (kind, list) in
        [("long_statement", "long_statements"), ("idle_in_transaction", "idle_in_transaction")]
    {
        for e in ev.events.iter().filter(|e| e.kind == kind) {
            let pointer = e.pointer.as_deref().unwrap_or_default();
            let index: usize = pointer
                .strip_prefix(&format!("/data/{list}/"))
                .and_then(|i| i.parse().ok())
                .unwrap_or_else(|| panic!("{kind} event points at {pointer:?}"));
            let pid = &ev.data[list][index]["pid"];
            assert_eq!(e.signature.as_deref(), Some(&*format!("{kind}:{pid}")));
            assert_eq!(e.artifact.as_deref(), Some("activity.json"));
        }
    }

    // pg_stat_statements is optional: its absence is said, and is no failure.
    assert!(
        ev.notes.iter().any(|n| n.starts_with(&format!(
            "top statements: pg_stat_statements is not installed in database {}",
            db.name
        ))),
        "{:?}",
        ev.notes
    );
    assert!(ev.data["top_statements"].is_null());

    // Connections: this database's sessions are counted against the usable slots.
    let conns = &ev.data["connections"];
    assert!(conns["by_database"][&db.name].as_i64().unwrap() >= 7, "{conns:#}");
    assert!(ev.facts["postgres.connections_used_ratio"].as_f64().unwrap() > 0.0);
    assert_eq!(
        conns["available"].as_i64().unwrap(),
        conns["max_connections"].as_i64().unwrap()
            - conns["superuser_reserved_connections"].as_i64().unwrap()
            - conns["reserved_connections"].as_i64().unwrap()
    );

    // Query texts are cut to max_query_chars, and the cut is said.
    let mut short = Scene::config(&db, None);
    short.max_query_chars = 10;
    let ev = collect(&short).await.expect("collects");
    let sleeper = ev.data["long_statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["pid"] == scene.sleeper.pid)
        .unwrap();
    assert_eq!(sleeper["query"], "SELECT pg_");
    assert_eq!(sleeper["query_truncated"], true);
    assert!(
        ev.notes.iter().any(|n| n.contains("cut to max_query_chars (10 characters)")),
        "{:?}",
        ev.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_during_sampling_moves_the_delta() {
    let db = TestDb::create("deadlock").await;
    let admin = db.session().await;
    admin
        .client
        .batch_execute(
            "CREATE TABLE d (id int PRIMARY KEY, v int); INSERT INTO d VALUES (1, 0), (2, 0)",
        )
        .await
        .expect("table");
    let s1 = db.session().await;
    let s2 = db.session().await;
    for s in [&s1, &s2] {
        s.client.batch_execute("SET deadlock_timeout = '100ms'").await.expect("deadlock_timeout");
    }
    s1.client.batch_execute("BEGIN; UPDATE d SET v = v + 1 WHERE id = 1").await.expect("s1 row 1");
    s2.client.batch_execute("BEGIN; UPDATE d SET v = v + 1 WHERE id = 2").await.expect("s2 row 2");

    let mut config = db.config_for(&db.dsn_as(None, "sslmode=disable"));
    config.sample_interval_ms = 4000;
    let ctx = CollectContext::for_test();
    let collection = tokio::spawn(async move { collect_in(&config, &ctx).await });

    // Once witness is connected its first sample follows at once; then deadlock.
    within("witness to connect", async {
        loop {
            let row = admin
                .client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'witness' AND datname = $1",
                    &[&db.name],
                )
                .await
                .expect("activity");
            if row.get::<_, i64>(0) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = s1.start("UPDATE d SET v = v + 1 WHERE id = 2");
    wait_until_waiting(&admin.client, s1.pid).await;
    // Past s1's own deadlock check, so s2 is the one that finds the cycle.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second =
        within("s2's update", s2.client.batch_execute("UPDATE d SET v = v + 1 WHERE id = 1")).await;
    let victim = second.expect_err("s2 is the deadlock victim");
    assert_eq!(victim.code(), Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED));
    s2.client.batch_execute("ROLLBACK").await.expect("rollback s2");
    within("s1's update", first).await.expect("task").expect("s1 goes on once s2 is gone");
    s1.client.batch_execute("ROLLBACK").await.expect("rollback s1");
    for s in [&s1, &s2] {
        // PostgreSQL 15+ flushes a backend's counters at most once a second unless asked.
        let _ = s.client.batch_execute("SELECT pg_stat_force_next_flush()").await;
    }

    let ev = within("the collection", collection).await.expect("task").expect("collects");
    assert!(ev.facts["postgres.deadlocks_delta"].as_f64().unwrap() >= 1.0, "{:?}", ev.facts);
    let ours = ev.data["database_stats"]["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["datname"] == db.name.as_str())
        .expect("this database's counters");
    assert_eq!(ours["delta"]["deadlocks"], 1, "{ours:#}");
    assert!(ours["deadlocks"].as_i64().unwrap() >= 1);
    assert!(ev.data["database_stats"]["interval_ms"].as_i64().unwrap() >= 3000);
    let event = ev
        .events
        .iter()
        .find(|e| e.kind == "deadlock" && e.title.contains(&db.name))
        .expect("a deadlock event for this database");
    assert_eq!(event.severity, witness_collector::Severity::Critical);
}

/// witness never waits on the locks it looks at: a view it reads, locked by a session,
/// costs one `lock_timeout` (or `statement_timeout`, whichever is lower) and a note.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_view_costs_one_timeout_and_a_note_not_a_hang() {
    let db = TestDb::create("timeouts").await;
    let admin = db.session().await;
    admin.client.batch_execute("CREATE EXTENSION pg_stat_statements").await.expect("extension");
    let holder = db.session().await;
    holder
        .client
        .batch_execute("BEGIN; LOCK TABLE pg_stat_statements IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("lock the view");

    let cases = [
        (5000, 300, "canceling statement due to lock timeout (SQLSTATE 55P03)"),
        (300, 5000, "canceling statement due to statement timeout (SQLSTATE 57014)"),
    ];
    for (statement_timeout_ms, lock_timeout_ms, reason) in cases {
        let mut config = db.config_for(&db.dsn_as(None, "sslmode=disable"));
        config.statement_timeout_ms = statement_timeout_ms;
        config.lock_timeout_ms = lock_timeout_ms;
        config.sample_interval_ms = 100;
        let started = std::time::Instant::now();
        let ev = collect(&config).await.expect("collects the rest");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        // Other tests share the server: notes about their sessions (a query cut to
        // max_query_chars) may come too; the view gets exactly one note, this one.
        let view_notes: Vec<&String> =
            ev.notes.iter().filter(|n| n.starts_with("top statements:")).collect();
        assert_eq!(view_notes, vec![&format!("top statements: {reason}")], "{:?}", ev.notes);
        assert_eq!(ev.status, Status::Ok, "optional statements do not make the evidence partial");
        assert!(ev.facts.contains_key("postgres.blocked_sessions"), "the other sections were read");
    }
}
