//! The incident every activity test looks at, built in a test database:
//! - `root` altered table `t` in a transaction it keeps open (a migration stuck mid-way);
//! - `a` and `b` wait to read `t`; `b` holds `t2`, and `c` waits to read `t2`:
//!   one tree, root `root`, depth 2, three waiting sessions;
//! - `sleeper` runs `pg_sleep(60)`; `idle` sits idle in an open transaction.
//!
//! Thresholds of 1 s make the statement and the idle transaction count once the scene has
//! stood for [`Scene::AGE`].

use std::time::Duration;

use serde_json::Value;
use witness_postgres::PostgresConfig;

use crate::support::{Session, TestDb, wait_until_waiting};

pub struct Scene {
    pub root: Session,
    pub a: Session,
    pub b: Session,
    pub c: Session,
    pub sleeper: Session,
    pub idle: Session,
}

impl Scene {
    /// How long the scene stands before collecting: past the 1 s thresholds.
    pub const AGE: Duration = Duration::from_millis(1500);

    pub async fn build(db: &TestDb) -> Scene {
        let admin = db.session().await;
        admin
            .client
            .batch_execute("CREATE TABLE t (id int); CREATE TABLE t2 (id int)")
            .await
            .expect("tables");
        let root = db.session().await;
        root.client
            .batch_execute("BEGIN; ALTER TABLE t ADD COLUMN note text")
            .await
            .expect("root alters t");
        let b = db.session().await;
        b.client
            .batch_execute("BEGIN; LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("b locks t2");
        b.send("SELECT * FROM t");
        wait_until_waiting(&admin.client, b.pid).await;
        let a = db.session().await;
        a.send("SELECT * FROM t");
        wait_until_waiting(&admin.client, a.pid).await;
        let c = db.session().await;
        c.send("SELECT * FROM t2");
        wait_until_waiting(&admin.client, c.pid).await;
        let sleeper = db.session().await;
        sleeper.send("SELECT pg_sleep(60)");
        let idle = db.session().await;
        idle.client.batch_execute("BEGIN; SELECT count(*) FROM pg_class").await.expect("idle");
        tokio::time::sleep(Self::AGE).await;
        Scene { root, a, b, c, sleeper, idle }
    }

    /// The collector config for this scene's database as `role`, thresholds at 1 s and a
    /// short sampling interval.
    pub fn config(db: &TestDb, role: Option<&str>) -> PostgresConfig {
        let mut config = db.config_for(&db.dsn_as(role, "sslmode=disable"));
        config.long_statement_secs = 1;
        config.idle_in_transaction_secs = 1;
        config.sample_interval_ms = 200;
        config
    }
}

/// The lock trees of the evidence whose root is `pid`.
pub fn tree_of(data: &Value, pid: i32) -> Option<&Value> {
    data["lock_trees"].as_array()?.iter().find(|t| t["root_pid"] == pid)
}

/// The pids of a JSON list of sessions.
pub fn pids(list: &Value) -> Vec<i64> {
    list.as_array().into_iter().flatten().filter_map(|s| s["pid"].as_i64()).collect()
}
