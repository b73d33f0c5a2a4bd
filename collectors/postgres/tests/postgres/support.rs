//! Shared helpers: a throwaway database (and roles) on the real server named by
//! `WITNESS_TEST_PG_URL`, sessions that hold and wait for locks, and collector runs.

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};
use witness_collector::{CollectContext, CollectError, CollectorConfig, Evidence};
use witness_postgres::PostgresConfig;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(15);

/// The server the test runner provides.
pub fn server_url() -> String {
    std::env::var("WITNESS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Awaits `f`, failing the test with `what` if it takes longer than [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// A unique name for this run: `witness_t_<tag>_<pid>_<n>`.
pub fn unique(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("witness_t_{tag}_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn base_config() -> Config {
    Config::from_str(&server_url()).expect("WITNESS_TEST_PG_URL is a libpq URL")
}

pub async fn connect(config: &Config) -> Client {
    let (client, connection) = within("a test connection", config.connect(NoTls))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test server {}: {e}", server_url()));
    tokio::spawn(connection);
    client
}

/// A database of its own, with the roles a test created; dropped (sessions terminated)
/// when the value is dropped.
pub struct TestDb {
    pub name: String,
    roles: Vec<String>,
    dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn create(tag: &str) -> Self {
        let name = unique(tag);
        let admin = connect(&base_config()).await;
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("create database");
        Self { name, roles: Vec::new(), dir: tempfile::tempdir().expect("temp dir") }
    }

    /// The connection config of this database as `role` (the URL's user when `None`).
    pub fn config_as(&self, role: Option<&str>) -> Config {
        let mut c = base_config();
        c.dbname(&self.name);
        if let Some(role) = role {
            c.user(role);
        }
        c
    }

    /// A new session on this database as the URL's user (a superuser on the test server).
    pub async fn session(&self) -> Session {
        let client = connect(&self.config_as(None)).await;
        let pid = client.query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0);
        Session { client: Arc::new(client), pid }
    }

    /// Creates a login role, a member of `pg_monitor` when asked.
    pub async fn role(&mut self, tag: &str, pg_monitor: bool) -> String {
        let name = unique(tag);
        let admin = connect(&base_config()).await;
        admin.batch_execute(&format!("CREATE ROLE {name} LOGIN")).await.expect("create role");
        if pg_monitor {
            admin.batch_execute(&format!("GRANT pg_monitor TO {name}")).await.expect("grant");
        }
        self.roles.push(name.clone());
        name
    }

    /// The libpq `key=value` DSN of this database as `role`.
    pub fn dsn_as(&self, role: Option<&str>, extra: &str) -> String {
        let c = self.config_as(role);
        let host = match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".to_owned(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let mut dsn = format!(
            "host={host} port={port} dbname={} user={}",
            self.name,
            c.get_user().unwrap_or("postgres")
        );
        if let Some(p) = c.get_password() {
            dsn.push_str(&format!(" password='{}'", String::from_utf8_lossy(p)));
        }
        format!("{dsn} {extra}")
    }

    /// A collector config reading `dsn` from a file (files, not environment variables:
    /// tests run in parallel threads of one process).
    pub fn config_for(&self, dsn: &str) -> PostgresConfig {
        dsn_file_config(self.dir.path(), dsn)
    }
}

pub fn dsn_file_config(dir: &std::path::Path, dsn: &str) -> PostgresConfig {
    let path = dir.join(unique("dsn"));
    std::fs::write(&path, format!("{dsn}\n")).expect("write dsn file");
    let mut config = PostgresConfig::new("test", "UNUSED");
    config.dsn_env = None;
    config.dsn_file = Some(path);
    config
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let roles = std::mem::take(&mut self.roles);
        // Drop runs inside the test's runtime: clean up on a thread with its own.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async move {
                let (admin, conn) = base_config().connect(NoTls).await?;
                tokio::spawn(conn);
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                for role in roles {
                    admin.batch_execute(&format!("DROP ROLE IF EXISTS {role}")).await?;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!("cleanup of test database failed: {e}");
        }
    }
}

/// A session of the test, with its backend pid. The client is shared so that a statement
/// expected to block can run on a task of its own.
pub struct Session {
    pub client: Arc<Client>,
    pub pid: i32,
}

impl Session {
    /// Sends `sql` and does not wait for it: it is expected to block.
    pub fn start(&self, sql: &str) -> tokio::task::JoinHandle<Result<(), tokio_postgres::Error>> {
        let client = Arc::clone(&self.client);
        let sql = sql.to_owned();
        tokio::spawn(async move { client.batch_execute(&sql).await })
    }

    /// Sends `sql` and forgets it: it blocks until the test database is dropped.
    pub fn send(&self, sql: &str) {
        drop(self.start(sql));
    }
}

/// Waits until `pid` waits for a lock.
pub async fn wait_until_waiting(admin: &Client, pid: i32) {
    within(&format!("pid {pid} to wait for a lock"), async {
        loop {
            let row = admin
                .query_one("SELECT count(*) FROM pg_locks WHERE pid = $1 AND NOT granted", &[&pid])
                .await
                .expect("pg_locks");
            if row.get::<_, i64>(0) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// Runs one collection with `config`.
pub async fn collect(config: &PostgresConfig) -> Result<Evidence, CollectError> {
    collect_in(config, &CollectContext::for_test()).await
}

pub async fn collect_in(
    config: &PostgresConfig,
    ctx: &CollectContext,
) -> Result<Evidence, CollectError> {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let collector = config.build().expect("config builds");
    within("the collection", collector.collect(ctx)).await
}
