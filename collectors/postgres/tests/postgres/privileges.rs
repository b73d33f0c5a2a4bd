//! Least privilege: `pg_monitor` is enough; without it the evidence says what it cannot see.

use witness_collector::Status;

use crate::scene::{Scene, pids, tree_of};
use crate::support::{TestDb, collect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_monitor_role_sees_everything_and_a_plain_role_gets_the_incomplete_facts_note() {
    let mut db = TestDb::create("privileges").await;
    let monitor = db.role("monitor", true).await;
    let plain = db.role("plain", false).await;
    let scene = Scene::build(&db).await;

    let ev = collect(&Scene::config(&db, Some(&monitor))).await.expect("pg_monitor collects");
    assert_eq!(ev.status, Status::Ok, "notes: {:?}", ev.notes);
    assert_eq!(ev.data["privileges"]["role"], monitor.as_str());
    assert_eq!(ev.data["privileges"]["sees_all_sessions"], true);
    assert_eq!(ev.data["privileges"]["hidden_sessions"], 0);
    let tree = tree_of(&ev.data, scene.root.pid).expect("the tree");
    assert_eq!(tree["depth"], 2);
    assert_eq!(tree["root_ddl"], "ALTER TABLE");
    assert!(pids(&ev.data["long_statements"]).contains(&scene.sleeper.pid.into()));
    assert!(pids(&ev.data["idle_in_transaction"]).contains(&scene.idle.pid.into()));
    for fact in [
        "longest_statement_secs",
        "idle_in_transaction",
        "root_blocker_runs_ddl",
        "deadlocks_delta",
    ] {
        assert!(
            ev.facts.contains_key(&format!("postgres.{fact}")),
            "{fact} missing: {:?}",
            ev.facts
        );
    }

    let ev = collect(&Scene::config(&db, Some(&plain))).await.expect("a plain role still collects");
    assert_eq!(ev.status, Status::Partial);
    let note = ev.notes.iter().find(|n| n.starts_with("incomplete facts:")).expect("the note");
    assert!(note.contains(&format!("GRANT pg_monitor TO {plain};")), "{note}");
    assert!(note.contains("postgres.longest_statement_secs"), "{note}");
    assert!(ev.data["privileges"]["hidden_sessions"].as_i64().unwrap() >= 6);
    // What it cannot see is absent, not zero; what pg_locks shows is still there.
    assert!(!ev.facts.contains_key("postgres.longest_statement_secs"));
    assert!(!ev.facts.contains_key("postgres.idle_in_transaction"));
    assert!(!ev.facts.contains_key("postgres.root_blocker_runs_ddl"));
    let tree = tree_of(&ev.data, scene.root.pid).expect("the tree is still built from pg_locks");
    assert_eq!(tree["depth"], 2);
    assert_eq!(tree["root"]["session"]["hidden"], true);
    assert!(ev.facts["postgres.blocked_sessions"].as_f64().unwrap() >= 3.0);
    assert!(ev.data["connections"]["by_state"]["hidden"].as_i64().unwrap() >= 6);
}
