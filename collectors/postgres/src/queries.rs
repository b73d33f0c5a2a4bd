//! The SQL witness runs and the rows it reads back. Every statement returns one JSON
//! value (`json_build_object`/`json_agg`), so the raw artifact is exactly what the server
//! said and the rows deserialize by name. The statements work as a role with only
//! `pg_monitor`, on PostgreSQL 10 and later (`waitstart` is read where it exists, 14+).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::time::millis_opt;

/// Client backends, counted the same way everywhere: rows of other roles that are hidden
/// from us have a NULL `backend_type`; those with a database are client backends (or
/// the odd parallel or autovacuum worker), so they still count as used connections.
const CLIENT_BACKENDS: &str =
    "(a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.datname IS NOT NULL))";

/// Server identity, settings and what this role may see.
pub fn server() -> String {
    "SELECT json_build_object(\
       'version', current_setting('server_version'),\
       'version_num', current_setting('server_version_num')::int,\
       'started_at', pg_postmaster_start_time(),\
       'uptime_secs', extract(epoch FROM now() - pg_postmaster_start_time())::float8,\
       'in_recovery', pg_is_in_recovery(),\
       'database', current_database(),\
       'role', current_user,\
       'sees_all_sessions', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)\
          OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),\
       'max_connections', current_setting('max_connections')::int,\
       'superuser_reserved_connections', current_setting('superuser_reserved_connections')::int,\
       'reserved_connections', coalesce(current_setting('reserved_connections', true), '0')::int,\
       'track_activity_query_size', current_setting('track_activity_query_size'),\
       'pg_stat_statements_schema', (SELECT n.nspname FROM pg_extension e \
          JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'),\
       'now', now())"
        .to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    pub version: String,
    pub version_num: i64,
    #[serde(with = "millis_opt", default)]
    pub started_at: Option<DateTime<Utc>>,
    pub uptime_secs: Option<f64>,
    pub in_recovery: bool,
    pub database: String,
    pub role: String,
    pub sees_all_sessions: bool,
    pub max_connections: i64,
    pub superuser_reserved_connections: i64,
    /// `reserved_connections` (PostgreSQL 16+, for `pg_use_reserved_connections`); 0 before.
    pub reserved_connections: i64,
    pub track_activity_query_size: Option<String>,
    pub pg_stat_statements_schema: Option<String>,
}

/// Client backends grouped by state, database, user and application.
pub fn connections(max_groups: u32) -> String {
    format!(
        "SELECT coalesce(json_agg(g), '[]') FROM (\
           SELECT coalesce(a.state, CASE WHEN a.query = '<insufficient privilege>' \
                    THEN 'hidden' ELSE 'unknown' END) AS state,\
                  a.datname, a.usename, a.application_name, count(*) AS sessions \
           FROM pg_stat_activity a WHERE {CLIENT_BACKENDS} \
           GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2, 3, 4 LIMIT {max_groups}) g"
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectionGroup {
    pub state: String,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub sessions: i64,
}

/// One consistent picture of activity and locks: the sessions worth looking at (in lock
/// graphs, not idle, hidden), who blocks whom, the ungranted locks and the locks the
/// blockers hold. One statement, so one snapshot of `pg_stat_activity`.
pub fn activity(max_query_chars: u32, max_sessions: u32) -> String {
    let n = max_query_chars;
    // `pg_blocking_pids` takes the lock manager's locks: call it only for pids that wait.
    format!(
        "WITH waiting AS (SELECT DISTINCT pid FROM pg_locks WHERE NOT granted AND pid IS NOT NULL),\
         edges AS (SELECT w.pid, pg_blocking_pids(w.pid) AS blockers FROM waiting w),\
         blockers AS (SELECT DISTINCT unnest(blockers) AS pid FROM edges),\
         here AS (SELECT oid FROM pg_database WHERE datname = current_database()),\
         candidates AS (\
           SELECT a.*, (a.pid IN (SELECT pid FROM waiting) OR a.pid IN (SELECT pid FROM blockers)) AS in_lock_graph \
           FROM pg_stat_activity a \
           WHERE a.pid <> pg_backend_pid() AND {CLIENT_BACKENDS} \
             AND (a.state IS DISTINCT FROM 'idle' OR a.pid IN (SELECT pid FROM blockers))),\
         sessions AS (\
           SELECT a.pid, a.datname, a.usename, a.application_name, host(a.client_addr) AS client_addr,\
             a.state, a.wait_event_type, a.wait_event, a.backend_start, a.xact_start, a.query_start, a.state_change,\
             extract(epoch FROM now() - a.query_start)::float8 AS query_age_secs,\
             extract(epoch FROM now() - a.xact_start)::float8 AS xact_age_secs,\
             extract(epoch FROM now() - a.state_change)::float8 AS state_age_secs,\
             left(a.query, {n}) AS query, length(a.query) > {n} AS query_truncated,\
             a.query = '<insufficient privilege>' AS hidden \
           FROM candidates a ORDER BY a.in_lock_graph DESC, a.xact_start NULLS LAST, a.pid LIMIT {max_sessions}),\
         locks AS (\
           SELECT l.pid, l.granted, l.locktype, l.mode,\
             (SELECT datname FROM pg_database d WHERE d.oid = l.database) AS datname,\
             CASE WHEN l.relation IS NULL THEN NULL \
                  WHEN l.database IN (SELECT oid FROM here) OR l.database = 0 THEN l.relation::regclass::text \
                  ELSE 'oid ' || l.relation::text END AS relation,\
             l.page, l.tuple, l.transactionid::text AS transactionid, l.virtualxid,\
             (to_jsonb(l) ->> 'waitstart')::timestamptz AS waitstart \
           FROM pg_locks l \
           WHERE NOT l.granted \
              OR (l.pid IN (SELECT pid FROM blockers) AND l.locktype <> 'virtualxid') \
           ORDER BY l.pid LIMIT 5000) \
         SELECT json_build_object(\
           'sessions', (SELECT coalesce(json_agg(s), '[]') FROM sessions s),\
           'candidate_sessions', (SELECT count(*) FROM candidates),\
           'edges', (SELECT coalesce(json_agg(e), '[]') FROM edges e),\
           'locks', (SELECT coalesce(json_agg(l), '[]') FROM locks l))"
    )
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Activity {
    pub sessions: Vec<Session>,
    pub candidate_sessions: i64,
    pub edges: Vec<Edge>,
    pub locks: Vec<Lock>,
}

/// One backend from `pg_stat_activity`. Rows of other roles are `hidden` without
/// `pg_read_all_stats`: state, times and query are NULL then.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub pid: i32,
    pub datname: Option<String>,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    #[serde(with = "millis_opt", default)]
    pub backend_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    pub xact_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    pub query_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    pub state_change: Option<DateTime<Utc>>,
    pub query_age_secs: Option<f64>,
    pub xact_age_secs: Option<f64>,
    pub state_age_secs: Option<f64>,
    pub query: Option<String>,
    #[serde(default)]
    pub query_truncated: Option<bool>,
    #[serde(default)]
    pub hidden: Option<bool>,
}

impl Session {
    pub fn is_hidden(&self) -> bool {
        self.hidden == Some(true)
    }

    pub fn is_idle_in_transaction(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("idle in transaction" | "idle in transaction (aborted)")
        )
    }
}

/// A waiting pid and every pid `pg_blocking_pids` says blocks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edge {
    pub pid: i32,
    pub blockers: Vec<i32>,
}

/// A row of `pg_locks`: ungranted ones, and the granted ones of blockers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    pub pid: i32,
    pub granted: bool,
    pub locktype: String,
    pub mode: String,
    pub datname: Option<String>,
    pub relation: Option<String>,
    pub page: Option<i64>,
    pub tuple: Option<i64>,
    pub transactionid: Option<String>,
    pub virtualxid: Option<String>,
    /// When the wait began (PostgreSQL 14+).
    #[serde(with = "millis_opt", default)]
    pub waitstart: Option<DateTime<Utc>>,
}

impl Lock {
    /// What the lock is on, for people: `relation orders`, `transaction 1234`.
    pub fn object(&self) -> String {
        match (self.locktype.as_str(), &self.relation, &self.transactionid, &self.virtualxid) {
            (_, Some(rel), _, _) if self.locktype == "relation" => format!("relation {rel}"),
            (kind, Some(rel), _, _) => format!("{kind} on {rel}"),
            ("transactionid", _, Some(xid), _) => format!("transaction {xid}"),
            ("virtualxid", _, _, Some(vxid)) => format!("virtual transaction {vxid}"),
            (kind, ..) => kind.to_owned(),
        }
    }

    /// Whether two locks are on the same object (the one a waiter wants, one a blocker holds).
    pub fn same_object(&self, other: &Lock) -> bool {
        self.locktype == other.locktype
            && self.datname == other.datname
            && self.relation == other.relation
            && self.transactionid == other.transactionid
            && self.page == other.page
            && self.tuple == other.tuple
    }
}

/// Cumulative counters of every database, with the time they were read.
pub fn database_stats() -> String {
    "SELECT json_build_object('sampled_at', clock_timestamp(), 'databases', \
       (SELECT coalesce(json_agg(d ORDER BY d.datname), '[]') FROM (\
         SELECT datname, numbackends, xact_commit, xact_rollback, deadlocks, conflicts,\
                temp_files, temp_bytes, stats_reset \
         FROM pg_stat_database WHERE datname IS NOT NULL) d))"
        .to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseSample {
    #[serde(with = "witness_collector::time::millis")]
    pub sampled_at: DateTime<Utc>,
    pub databases: Vec<DatabaseCounters>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseCounters {
    pub datname: String,
    pub numbackends: i64,
    pub xact_commit: i64,
    pub xact_rollback: i64,
    pub deadlocks: i64,
    pub conflicts: i64,
    pub temp_files: i64,
    pub temp_bytes: i64,
    #[serde(with = "millis_opt", default)]
    pub stats_reset: Option<DateTime<Utc>>,
}

/// Streaming replicas and their lag, as seen from a primary.
pub fn replicas() -> String {
    "SELECT coalesce(json_agg(r), '[]') FROM (\
       SELECT pid, usename, application_name, host(client_addr) AS client_addr, state, sync_state,\
         sent_lsn::text, replay_lsn::text,\
         extract(epoch FROM write_lag)::float8 AS write_lag_secs,\
         extract(epoch FROM flush_lag)::float8 AS flush_lag_secs,\
         extract(epoch FROM replay_lag)::float8 AS replay_lag_secs,\
         pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS replay_lag_bytes \
       FROM pg_stat_replication ORDER BY application_name, pid) r"
        .to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Replica {
    pub pid: i32,
    pub usename: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub state: Option<String>,
    pub sync_state: Option<String>,
    pub sent_lsn: Option<String>,
    pub replay_lsn: Option<String>,
    pub write_lag_secs: Option<f64>,
    pub flush_lag_secs: Option<f64>,
    pub replay_lag_secs: Option<f64>,
    pub replay_lag_bytes: Option<f64>,
}

/// How far a standby's replay is behind.
pub fn standby() -> String {
    "SELECT json_build_object(\
       'receive_lsn', pg_last_wal_receive_lsn()::text,\
       'replay_lsn', pg_last_wal_replay_lsn()::text,\
       'last_replayed_at', pg_last_xact_replay_timestamp(),\
       'since_last_replay_secs', extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,\
       'replay_lag_secs', CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 \
          ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END,\
       'replay_paused', pg_is_wal_replay_paused())"
        .to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Standby {
    pub receive_lsn: Option<String>,
    pub replay_lsn: Option<String>,
    #[serde(with = "millis_opt", default)]
    pub last_replayed_at: Option<DateTime<Utc>>,
    /// Time since the last replayed transaction (idle time too, when the primary is quiet).
    pub since_last_replay_secs: Option<f64>,
    /// 0 when everything received is replayed, else the time since the last replayed
    /// transaction: how far behind the primary the data is.
    pub replay_lag_secs: Option<f64>,
    pub replay_paused: Option<bool>,
}

/// The slowest statements by mean execution time from `pg_stat_statements` in `schema`.
pub fn top_statements(schema: &str, version_num: i64, limit: u32, max_query_chars: u32) -> String {
    // The timing columns were renamed in PostgreSQL 13 (pg_stat_statements 1.8).
    let (mean, total) = if version_num >= 130_000 {
        ("mean_exec_time", "total_exec_time")
    } else {
        ("mean_time", "total_time")
    };
    let schema = quote_ident(schema);
    format!(
        "SELECT coalesce(json_agg(s), '[]') FROM (\
           SELECT queryid::text AS queryid, calls, {mean}::float8 AS mean_exec_ms,\
                  {total}::float8 AS total_exec_ms, rows, left(query, {max_query_chars}) AS query \
           FROM {schema}.pg_stat_statements ORDER BY {mean} DESC NULLS LAST LIMIT {limit}) s"
    )
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Statement {
    pub queryid: Option<String>,
    pub calls: i64,
    pub mean_exec_ms: f64,
    pub total_exec_ms: f64,
    pub rows: i64,
    pub query: Option<String>,
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert!(top_statements("public", 120_000, 5, 100).contains("ORDER BY mean_time DESC"));
        assert!(top_statements("public", 150_000, 5, 100).contains("ORDER BY mean_exec_time DESC"));
    }
}
