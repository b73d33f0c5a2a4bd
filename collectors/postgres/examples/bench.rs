//! Measures `postgres` collections against a busy server: it opens ~200 connections, of
//! which 51 form one lock tree (a root holding table `t` in an open transaction, 10
//! sessions waiting on it while each holds a table of its own, 4 more waiting on each of
//! those), 5 run `pg_sleep`, 5 sit idle in transaction, the rest idle. Then it times
//! collections with the default settings and with a 1 ms sampling interval (the query
//! work alone), and checks the evidence saw the tree and the top statements.
//!
//! Run by `tests/bench/postgres.sh`, which starts a throwaway cluster with
//! `max_connections = 300`:
//! `cargo run --release -p witness-postgres --example bench -- postgresql://postgres@127.0.0.1:PORT/postgres`

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, Config, NoTls};
use witness_collector::{CollectContext, CollectorConfig, Evidence};
use witness_postgres::PostgresConfig;

const CONNECTIONS: usize = 200;
const FIRST_LEVEL: usize = 10;
const PER_FIRST_LEVEL: usize = 4;
const RUNS: usize = 5;

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Failure> {
    let url = std::env::args().nth(1).ok_or("usage: bench <superuser libpq URL>")?;
    let mut config = Config::from_str(&url)?;
    let admin = connect(&config).await?;
    admin.batch_execute("DROP DATABASE IF EXISTS witness_bench WITH (FORCE)").await?;
    admin.batch_execute("CREATE DATABASE witness_bench").await?;
    config.dbname("witness_bench");
    let setup = connect(&config).await?;
    // Preloaded by tests/bench/postgres.sh: the top-statements section is measured too.
    let mut ddl =
        String::from("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; CREATE TABLE t (id int);");
    for i in 0..FIRST_LEVEL {
        ddl.push_str(&format!("CREATE TABLE u{i} (id int);"));
    }
    setup.batch_execute(&ddl).await?;

    let mut held: Vec<Arc<Client>> = Vec::new();
    let root = Arc::new(connect(&config).await?);
    root.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN note text").await?;
    held.push(root);
    for i in 0..FIRST_LEVEL {
        let first = Arc::new(connect(&config).await?);
        first.batch_execute(&format!("BEGIN; LOCK TABLE u{i} IN ACCESS EXCLUSIVE MODE")).await?;
        send(&first, "SELECT * FROM t".into());
        held.push(first);
        for _ in 0..PER_FIRST_LEVEL {
            let second = Arc::new(connect(&config).await?);
            send(&second, format!("SELECT * FROM u{i}"));
            held.push(second);
        }
    }
    for _ in 0..5 {
        let sleeper = Arc::new(connect(&config).await?);
        send(&sleeper, "SELECT pg_sleep(120)".into());
        held.push(sleeper);
        let idle = Arc::new(connect(&config).await?);
        idle.batch_execute("BEGIN; SELECT 1").await?;
        held.push(idle);
    }
    while held.len() + 2 < CONNECTIONS {
        held.push(Arc::new(connect(&config).await?));
    }
    let tree_size = 1 + FIRST_LEVEL * (1 + PER_FIRST_LEVEL);
    let expected_waiting = (tree_size - 1) as i64;
    wait_for_waiters(&setup, expected_waiting).await?;
    println!(
        "server: {} test connections open (+ setup and admin), lock tree of {tree_size} sessions",
        held.len()
    );

    let dsn_dir = std::env::temp_dir().join(format!("witness-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dsn_dir)?;
    let dsn_file = dsn_dir.join("dsn");
    std::fs::write(&dsn_file, format!("{url_db} sslmode=disable", url_db = key_values(&config)))?;
    for interval_ms in [1, 1000] {
        let mut pg = PostgresConfig::new("bench", "UNUSED");
        pg.dsn_env = None;
        pg.dsn_file = Some(dsn_file.clone());
        pg.sample_interval_ms = interval_ms;
        let collector = pg.build().map_err(|p| format!("config: {p:?}"))?;
        let mut times = Vec::new();
        let mut last: Option<Evidence> = None;
        for _ in 0..RUNS {
            let ctx = CollectContext::for_test();
            let started = Instant::now();
            let ev = collector.collect(&ctx).await?;
            times.push(started.elapsed());
            last = Some(ev);
        }
        let ev = last.ok_or("no run")?;
        check(&ev, expected_waiting)?;
        times.sort();
        println!(
            "sample_interval_ms={interval_ms:>4}: {RUNS} collections, median {:.1} ms, max {:.1} ms (status {}, {} connections used, tree of {} waiting, depth {})",
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1]),
            ev.status,
            ev.facts["postgres.connections_used"].as_f64().unwrap_or(-1.0),
            ev.data["lock_trees"][0]["waiting_sessions"],
            ev.data["lock_trees"][0]["depth"],
        );
    }
    drop(held);
    std::fs::remove_dir_all(&dsn_dir)?;
    admin.batch_execute("DROP DATABASE witness_bench WITH (FORCE)").await?;
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn check(ev: &Evidence, expected_waiting: i64) -> Result<(), Failure> {
    let tree = &ev.data["lock_trees"][0];
    if tree["waiting_sessions"].as_i64() != Some(expected_waiting) || tree["depth"] != 2 {
        return Err(format!("the evidence missed the lock tree: {tree:#}").into());
    }
    if ev.data["top_statements"].as_array().is_none_or(|s| s.is_empty()) {
        return Err(format!("no top statements: {:?}", ev.notes).into());
    }
    if ev.facts["postgres.connections_used"].as_f64().unwrap_or(0.0) < CONNECTIONS as f64 - 5.0 {
        return Err(format!("the evidence counted too few connections: {:?}", ev.facts).into());
    }
    Ok(())
}

async fn connect(config: &Config) -> Result<Client, Failure> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

fn send(client: &Arc<Client>, sql: String) {
    let client = Arc::clone(client);
    tokio::spawn(async move { client.batch_execute(&sql).await });
}

async fn wait_for_waiters(client: &Client, expected: i64) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = client
            .query_one("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted", &[])
            .await?
            .get(0);
        if n >= expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("only {n} of {expected} sessions wait after 30 s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The config as a `key=value` DSN (host, port, user, database).
fn key_values(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    format!(
        "host={host} port={} user={} dbname=witness_bench",
        config.get_ports().first().copied().unwrap_or(5432),
        config.get_user().unwrap_or("postgres"),
    )
}
