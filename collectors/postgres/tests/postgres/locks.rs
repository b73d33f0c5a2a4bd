//! Lock trees from a real lock pile-up.

use witness_collector::{CollectContext, FactValue, Status};

use crate::scene::{Scene, pids, tree_of};
use crate::support::{TestDb, collect_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_holding_a_table_is_the_root_of_one_tree_two_deep() {
    let db = TestDb::create("tree").await;
    let scene = Scene::build(&db).await;
    let ctx = CollectContext::for_test();
    let ev = collect_in(&Scene::config(&db, None), &ctx).await.expect("collects");
    assert_eq!(ev.status, Status::Ok, "notes: {:?}", ev.notes);

    // Exactly one tree is rooted in this test's database, at the session that ran ALTER.
    let ours: Vec<_> = ev.data["lock_trees"]
        .as_array()
        .expect("lock_trees")
        .iter()
        .filter(|t| t["root"]["session"]["datname"] == db.name.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "trees: {:#}", ev.data["lock_trees"]);
    let tree = tree_of(&ev.data, scene.root.pid).expect("the tree of the root blocker");
    assert_eq!(tree["depth"], 2);
    assert_eq!(tree["waiting_sessions"], 3);
    assert_eq!(tree["cycle"], false);
    assert_eq!(tree["root_ddl"], "ALTER TABLE");
    let root = &tree["root"];
    assert_eq!(root["session"]["state"], "idle in transaction");
    assert_eq!(root["session"]["query"], "BEGIN; ALTER TABLE t ADD COLUMN note text");
    assert!(root["session"]["xact_age_secs"].as_f64().unwrap() >= 1.0);
    assert_eq!(root["holds"][0]["mode"], "AccessExclusiveLock");
    assert_eq!(root["holds"][0]["on"], "relation t");
    let mut children: Vec<i64> =
        root["children"].as_array().unwrap().iter().map(|c| c["pid"].as_i64().unwrap()).collect();
    children.sort_unstable();
    let mut expected = vec![i64::from(scene.a.pid), i64::from(scene.b.pid)];
    expected.sort_unstable();
    assert_eq!(children, expected);
    let b = root["children"].as_array().unwrap().iter().find(|c| c["pid"] == scene.b.pid).unwrap();
    assert_eq!(b["children"][0]["pid"], scene.c.pid);
    assert_eq!(b["holds"][0]["on"], "relation t2", "b holds what c waits for");
    assert_eq!(b["children"][0]["waits_for"][0]["mode"], "AccessShareLock");

    // Facts the rules read, and the commands a responder may run.
    let FactValue::List(roots) = &ev.facts["postgres.root_blocker_pids"] else {
        panic!("root_blocker_pids is a list: {:?}", ev.facts);
    };
    assert!(roots.contains(&FactValue::Int(scene.root.pid.into())));
    assert!(ev.facts["postgres.blocked_sessions"].as_f64().unwrap() >= 3.0);
    assert_eq!(ev.facts["postgres.root_blocker_runs_ddl"], FactValue::Bool(true));
    assert_eq!(ev.facts["postgres.root_blocker_holds_access_exclusive"], FactValue::Bool(true));
    let cmd = ev.data["suggested_commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["pid"] == scene.root.pid)
        .expect("commands for the root blocker");
    assert_eq!(cmd["cancel"], format!("SELECT pg_cancel_backend({})", scene.root.pid));
    assert_eq!(cmd["terminate"], format!("SELECT pg_terminate_backend({})", scene.root.pid));
    assert_eq!(cmd["prefer"], "terminate");

    // The timeline: when the root's transaction began, and each wait.
    let signature = format!("lock_tree:{}", scene.root.pid);
    let waits =
        ev.events.iter().filter(|e| e.signature.as_deref() == Some(signature.as_str())).count();
    assert_eq!(waits, 3);
    let waiters = [scene.a.pid, scene.b.pid, scene.c.pid].map(|p| format!("long_statement:{p}"));
    assert!(
        !ev.events.iter().any(|e| e.signature.as_ref().is_some_and(|s| waiters.contains(s))),
        "a lock waiter's wait is told once, as a lock_wait"
    );
    assert!(pids(&ev.data["long_statements"]).contains(&scene.c.pid.into()), "but it is listed");
    let began = ev
        .events
        .iter()
        .find(|e| {
            e.kind == "root_blocker_transaction" && e.title.contains(&scene.root.pid.to_string())
        })
        .expect("root blocker transaction event");
    assert!(began.pointer.as_deref().unwrap().starts_with("/data/lock_trees/"));

    // The ungranted locks carry relation names and, on 14+, when the wait began.
    let ungranted = ev.data["ungranted_locks"].as_array().unwrap();
    let a_wait = ungranted.iter().find(|l| l["pid"] == scene.a.pid).expect("a's ungranted lock");
    assert_eq!(a_wait["relation"], "t");
    if ev.facts["postgres.server_version_num"].as_f64().unwrap() >= 140000.0 {
        assert!(a_wait["waitstart"].is_string(), "{a_wait}");
    }

    // Every section's raw answer is kept as an artifact; both samples in one.
    let artifacts = ctx.artifacts.take();
    let mut names: Vec<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "activity.json",
            "connections.json",
            "database_stats.json",
            "replication.json",
            "server.json"
        ]
    );
    let activity = artifacts.iter().find(|a| a.path == "activity.json").unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&activity.contents).unwrap();
    assert!(raw["edges"].as_array().unwrap().iter().any(|e| e["pid"] == scene.c.pid));
    let samples = artifacts.iter().find(|a| a.path == "database_stats.json").unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&samples.contents).unwrap();
    assert!(raw["first"]["databases"].is_array() && raw["second"]["databases"].is_array());
}
