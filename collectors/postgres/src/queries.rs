//! The SQL witness runs and the rows it reads back. Every statement returns one JSON
//! value (`json_build_object`/`json_agg`), so the rows deserialize by name. The statements
//! work as a role with only `pg_monitor`, on PostgreSQL 10 and later (`waitstart` is read
//! where it exists, 14+).
//!
//! Query text is read whole (never `left(query, n)` in SQL: a cut inside `PASSWORD '…`
//! leaves a fragment no rule can recognise) and reaches the evidence only through
//! [`Activity::read`] and [`Statement::read_all`], which redact each session's text whole
//! and then cut it to `max_query_chars` with [`Redacted::truncate`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::time::millis_opt;
use witness_collector::{Redacted, Redactor};

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
pub fn activity(max_sessions: u32) -> String {
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
             a.query,\
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

#[derive(Debug, Clone, Default, Serialize)]
pub struct Activity {
    pub sessions: Vec<Session>,
    pub candidate_sessions: i64,
    pub edges: Vec<Edge>,
    pub locks: Vec<Lock>,
}

impl Activity {
    /// The answer of [`activity`], with every text of every session and lock redacted
    /// as it is read, and query texts cut to `max_query_chars` characters after that.
    ///
    /// # Errors
    /// When the answer does not have the shape of [`activity`]'s.
    pub fn read(
        answer: serde_json::Value,
        redactor: &Redactor,
        max_query_chars: u32,
    ) -> Result<Self, serde_json::Error> {
        let raw: RawActivity = serde_json::from_value(answer)?;
        Ok(Self {
            sessions: raw
                .sessions
                .into_iter()
                .map(|s| s.redacted(redactor, max_query_chars))
                .collect(),
            candidate_sessions: raw.candidate_sessions,
            edges: raw.edges,
            locks: raw.locks.into_iter().map(|l| l.redacted(redactor)).collect(),
        })
    }
}

/// [`Activity`] as the server sends it: read only by [`Activity::read`].
#[derive(Deserialize)]
struct RawActivity {
    sessions: Vec<RawSession>,
    candidate_sessions: i64,
    edges: Vec<Edge>,
    locks: Vec<Lock>,
}

/// `text` redacted, when there is one.
fn redacted(redactor: &Redactor, text: Option<String>) -> Option<Redacted> {
    text.map(|t| redactor.redact(&t))
}

/// At most `max_chars` characters of a redacted query, and whether anything was cut. A
/// cut never splits a redaction token, so no fragment of a secret can remain.
pub fn cut_query(query: &Redacted, max_chars: u32) -> (Redacted, bool) {
    let max_chars = usize::try_from(max_chars).unwrap_or(usize::MAX);
    let at = query.char_indices().nth(max_chars).map_or(query.len(), |(i, _)| i);
    let cut = query.truncate(at);
    let truncated = cut.len() < query.len();
    (cut, truncated)
}

/// One backend from `pg_stat_activity`. Rows of other roles are `hidden` without
/// `pg_read_all_stats`: state, times and query are NULL then. The texts a client chose
/// (its query, user, database and application names, address) are [`Redacted`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub pid: i32,
    pub datname: Option<Redacted>,
    pub usename: Option<Redacted>,
    pub application_name: Option<Redacted>,
    pub client_addr: Option<Redacted>,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    #[serde(with = "millis_opt")]
    pub backend_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt")]
    pub xact_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt")]
    pub query_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt")]
    pub state_change: Option<DateTime<Utc>>,
    pub query_age_secs: Option<f64>,
    pub xact_age_secs: Option<f64>,
    pub state_age_secs: Option<f64>,
    /// Redacted whole, then cut to `max_query_chars`.
    pub query: Option<Redacted>,
    pub query_truncated: Option<bool>,
    pub hidden: Option<bool>,
}

/// A row of `sessions` as the server sends it: read only into a [`Session`].
#[derive(Deserialize)]
struct RawSession {
    pid: i32,
    datname: Option<String>,
    usename: Option<String>,
    application_name: Option<String>,
    client_addr: Option<String>,
    state: Option<String>,
    wait_event_type: Option<String>,
    wait_event: Option<String>,
    #[serde(with = "millis_opt", default)]
    backend_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    xact_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    query_start: Option<DateTime<Utc>>,
    #[serde(with = "millis_opt", default)]
    state_change: Option<DateTime<Utc>>,
    query_age_secs: Option<f64>,
    xact_age_secs: Option<f64>,
    state_age_secs: Option<f64>,
    query: Option<String>,
    #[serde(default)]
    hidden: Option<bool>,
}

impl RawSession {
    fn redacted(self, redactor: &Redactor, max_query_chars: u32) -> Session {
        let query = redacted(redactor, self.query).map(|q| cut_query(&q, max_query_chars));
        Session {
            pid: self.pid,
            datname: redacted(redactor, self.datname),
            usename: redacted(redactor, self.usename),
            application_name: redacted(redactor, self.application_name),
            client_addr: redacted(redactor, self.client_addr),
            state: self.state,
            wait_event_type: self.wait_event_type,
            wait_event: self.wait_event,
            backend_start: self.backend_start,
            xact_start: self.xact_start,
            query_start: self.query_start,
            state_change: self.state_change,
            query_age_secs: self.query_age_secs,
            xact_age_secs: self.xact_age_secs,
            state_age_secs: self.state_age_secs,
            query_truncated: query.as_ref().map(|(_, cut)| *cut),
            query: query.map(|(q, _)| q),
            hidden: self.hidden,
        }
    }
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
    /// The lock with the names it carries (database, relation) redacted.
    fn redacted(self, redactor: &Redactor) -> Self {
        let text = |t: Option<String>| t.map(|t| redactor.redact(&t).into_string());
        Self { datname: text(self.datname), relation: text(self.relation), ..self }
    }

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
pub fn top_statements(schema: &str, version_num: i64, limit: u32) -> String {
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
                  {total}::float8 AS total_exec_ms, rows, query \
           FROM {schema}.pg_stat_statements ORDER BY {mean} DESC NULLS LAST LIMIT {limit}) s"
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub queryid: Option<String>,
    pub calls: i64,
    pub mean_exec_ms: f64,
    pub total_exec_ms: f64,
    pub rows: i64,
    /// Redacted whole, then cut to `max_query_chars`.
    pub query: Option<Redacted>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub query_truncated: bool,
}

/// A row of [`top_statements`] as the server sends it: read only into a [`Statement`].
#[derive(Deserialize)]
struct RawStatement {
    queryid: Option<String>,
    calls: i64,
    mean_exec_ms: f64,
    total_exec_ms: f64,
    rows: i64,
    query: Option<String>,
}

impl Statement {
    /// The answer of [`top_statements`], each query redacted whole and then cut to
    /// `max_query_chars` characters.
    ///
    /// # Errors
    /// When the answer does not have the shape of [`top_statements`]'s.
    pub fn read_all(
        answer: serde_json::Value,
        redactor: &Redactor,
        max_query_chars: u32,
    ) -> Result<Vec<Self>, serde_json::Error> {
        let raw: Vec<RawStatement> = serde_json::from_value(answer)?;
        Ok(raw
            .into_iter()
            .map(|r| {
                let query = redacted(redactor, r.query).map(|q| cut_query(&q, max_query_chars));
                Statement {
                    queryid: r.queryid,
                    calls: r.calls,
                    mean_exec_ms: r.mean_exec_ms,
                    total_exec_ms: r.total_exec_ms,
                    rows: r.rows,
                    query_truncated: query.as_ref().is_some_and(|(_, cut)| *cut),
                    query: query.map(|(q, _)| q),
                }
            })
            .collect())
    }
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
        assert!(top_statements("public", 120_000, 5).contains("ORDER BY mean_time DESC"));
        assert!(top_statements("public", 150_000, 5).contains("ORDER BY mean_exec_time DESC"));
    }

    #[test]
    fn a_query_is_cut_by_characters_and_never_inside_a_token() {
        let r = Redactor::builtin();
        let query = r.redact("ALTER ROLE app PASSWORD 'hunter2-hunter2-hunter2' -- é");
        assert!(!query.contains("hunter2"), "{query}");
        let token_at = query.find("[REDACTED").unwrap();
        for max in 0..query.chars().count() as u32 + 2 {
            let (cut, truncated) = cut_query(&query, max);
            assert!(cut.chars().count() <= max as usize, "{max}: {cut}");
            assert_eq!(truncated, cut.len() < query.len(), "{max}");
            assert!(cut.len() <= token_at || cut.contains(']'), "a token was split at {max}: {cut}");
        }
    }
}
