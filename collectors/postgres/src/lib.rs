//! The `postgres` collector kind: what a PostgreSQL server is doing while the alert fires —
//! who blocks whom, which statements run long, which transactions sit idle, how close the
//! connections are to the limit and whether deadlocks happen right now.
//!
//! ## How it reads
//! The DSN comes from `dsn_env` or `dsn_file` (its password is registered for redaction).
//! TLS is rustls, with libpq's `sslmode` meanings (`verify-ca`/`verify-full` checked here,
//! see [`tls`]). The session's `application_name` is `witness` unless the DSN sets one.
//! Every query runs in its own `READ ONLY` transaction with `SET LOCAL statement_timeout`
//! and `lock_timeout` (2 s by default), so witness never writes, never waits on the locks it
//! inspects and gives up before it adds load. `pg_stat_database` is sampled twice,
//! `sample_interval_ms` apart (the other sections are read in between), for deltas.
//!
//! ## Least privilege
//! A role with only `pg_monitor` sees everything (see `deploy/postgres-grant.sql`). Without
//! it, other roles' sessions show `<insufficient privilege>`: the evidence is `partial`, a
//! note names the facts that are withheld, and those facts are absent rather than zero.
//!
//! ## Evidence `data` sections (each also a raw JSON artifact)
//! `server` (`server.json`), `connections` (`connections.json`), `long_statements`,
//! `idle_in_transaction`, `lock_trees` and `ungranted_locks` (`activity.json`),
//! `database_stats` (`database_stats.json`), `replication` (`replication.json`),
//! `top_statements` (`statements.json`), `suggested_commands` (for each root blocker,
//! `SELECT pg_cancel_backend(PID)` / `SELECT pg_terminate_backend(PID)`; witness never
//! runs them), `privileges`.
//!
//! ## Events
//! `long_statement` (at `query_start`; lock waiters get `lock_wait` instead),
//! `root_blocker_transaction` (at the root blocker's `xact_start`), `lock_wait` (at
//! `waitstart` on 14+, else `query_start`), `idle_in_transaction` (at `state_change`),
//! `deadlock` (the counter moved between the samples), `connections_near_max` (90 % or more
//! of the usable connections).
//!
//! ## Facts
//! | name | type | meaning |
//! |---|---|---|
//! | `postgres.connections_used` | int | client backends, this one included |
//! | `postgres.connections_available` | int | `max_connections` − `superuser_reserved_connections` − `reserved_connections` (16+) |
//! | `postgres.connections_used_ratio` | float | used / available |
//! | `postgres.blocked_sessions` | int | sessions waiting for a lock another session holds or waits for |
//! | `postgres.other_databases_blocked_sessions` | int | sessions of other databases on the server waiting on a lock (left out of the facts about the DSN's database) |
//! | `postgres.root_blockers` | int | blockers that wait for nobody: the top of each lock tree |
//! | `postgres.root_blocker_pids` | list of int | their pids, the largest tree first |
//! | `postgres.lock_tree_max_depth` | int | longest chain of waits below a root (0 without lock waits) |
//! | `postgres.root_blocker_holds_access_exclusive` | bool | a root blocker holds an `AccessExclusiveLock` its waiters want |
//! | `postgres.root_blocker_runs_ddl` | bool | a root blocker's (last) statement is DDL (`ALTER`, `DROP`, `CREATE INDEX` without `CONCURRENTLY`, `VACUUM FULL`, `TRUNCATE`, `CLUSTER`, `REINDEX`, …); absent when a root's query is hidden |
//! | `postgres.root_blocker_idle_in_transaction` | bool | the first root blocker's session is idle in transaction (a cancel does not release its locks; terminate does); absent when a root's session is hidden |
//! | `postgres.root_blocker_longest_xact_secs` | float | age of the oldest root blocker's transaction; absent when a root is hidden |
//! | `postgres.longest_statement_secs` | float | age of the oldest active statement (0 when none); absent when sessions are hidden |
//! | `postgres.long_statements` | int | active statements older than `long_statement_secs`; absent when sessions are hidden |
//! | `postgres.idle_in_transaction` | int | sessions idle in transaction longer than `idle_in_transaction_secs`; absent when sessions are hidden |
//! | `postgres.longest_idle_in_transaction_secs` | float | the longest of those (0 when none); absent when sessions are hidden |
//! | `postgres.deadlocks_delta` | int | deadlocks in all databases between the two samples |
//! | `postgres.rollbacks_delta` | int | rolled back transactions between the samples |
//! | `postgres.conflicts_delta` | int | recovery conflicts between the samples (standbys) |
//! | `postgres.temp_files_delta` | int | temporary files written between the samples |
//! | `postgres.in_recovery` | bool | the server is a standby |
//! | `postgres.replication_max_lag_secs` | float | primary: the largest replica `replay_lag`; standby: 0 when all received WAL is replayed, else the time since the last replayed transaction |
//! | `postgres.server_version_num` | int | `server_version_num`, e.g. 150020 |
//! | `postgres.uptime_secs` | float | time since `pg_postmaster_start_time()` |
//!
//! A fact whose section could not be read is absent, never zero.

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    mod collector;
    mod config;
    mod connection;
    mod ddl;
    mod dsn;
    mod error;
    mod locks;
    mod queries;
    mod report;
    pub mod tls;

    pub use collector::PostgresCollector;
    pub use config::PostgresConfig;
    pub use error::PostgresError;
}
