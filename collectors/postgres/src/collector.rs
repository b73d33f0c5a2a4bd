//! One collection: read the DSN, connect, read each section in its own read-only
//! transaction, take the second `pg_stat_database` sample once the interval has passed,
//! and hand the [`Snapshot`] to the report. A section that fails becomes a note; only a
//! failure to connect at all is an error.
//!
//! Every answer is redacted where it is read, before it is kept as an artifact, parsed or
//! cut: sections of names and counters as JSON ([`witness_collector::Redactor::redact_json`]),
//! activity and statements through their readers, which redact each query whole before
//! cutting it to `max_query_chars`. Server errors are redacted too: they can quote a
//! value of the statement that failed.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};

use crate::config::PostgresConfig;
use crate::connection::{self, Connection, Limits};
use crate::dsn;
use crate::queries::{
    self, Activity, ConnectionGroup, DatabaseSample, Replica, Standby, Statement,
};
use crate::report::{self, Replication, Snapshot, Statements, Thresholds};

/// Most groups of (state, database, user, application) read for the connections section.
const MAX_CONNECTION_GROUPS: u32 = 1000;

/// Time kept free before the deadline for the second sample and closing.
const DEADLINE_RESERVE: Duration = Duration::from_millis(500);

/// The `postgres` collector, built by [`PostgresConfig`].
#[derive(Debug, Clone)]
pub struct PostgresCollector {
    config: PostgresConfig,
}

impl PostgresCollector {
    pub fn new(config: PostgresConfig) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Collector for PostgresCollector {
    fn secrets(&self) -> Vec<witness_collector::SecretRef> {
        vec![self.config.dsn()]
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let c = &self.config;
        let dsn = c.dsn().read(&ctx.redactor)?.ok_or_else(|| {
            CollectError::Config("no connection string: set dsn_env or dsn_file".into())
        })?;
        let target = dsn::parse(&dsn)?;
        if let Some(password) = target.password() {
            ctx.redactor.add_literal(&password);
        }
        let limits = Limits {
            statement_timeout: Duration::from_millis(c.statement_timeout_ms),
            lock_timeout: Duration::from_millis(c.lock_timeout_ms),
        };
        let within = Duration::from_secs(c.connect_timeout_secs).min(ctx.remaining());
        let conn = connection::connect(&target, within, limits, &ctx.cancel).await?;
        tracing::debug!(target = %target.display, tls = target.tls.as_str(), "Connected to PostgreSQL.");

        let mut snap = Snapshot {
            target: target.display.clone(),
            tls: target.tls.as_str(),
            ..Snapshot::default()
        };
        let mut run = Run { ctx, conn: &conn, snap: &mut snap };
        let sampled = Instant::now();
        let first: Option<DatabaseSample> =
            run.section(None, "pg_stat_database", &queries::database_stats()).await;
        if let Some(first) = &first {
            run.keep_samples(first, None);
        }
        run.snap.server = run.section(Some("server"), "server", &queries::server()).await;
        run.snap.connections = run
            .section::<Vec<ConnectionGroup>>(
                Some("connections"),
                "connections",
                &queries::connections(MAX_CONNECTION_GROUPS),
            )
            .await;
        run.snap.activity = run.activity(c).await;
        run.replication().await;
        run.statements(c).await;
        if let Some(first) = first {
            run.second_sample(&first, sampled, Duration::from_millis(c.sample_interval_ms)).await;
            run.snap.first_sample = Some(first);
        }
        conn.close().await;

        if snap.server.is_none()
            && snap.connections.is_none()
            && snap.activity.is_none()
            && snap.first_sample.is_none()
        {
            return Err(CollectError::Other(format!(
                "connected to PostgreSQL {} but every query failed: {}",
                snap.target,
                snap.problems.join("; ")
            )));
        }
        let thresholds = Thresholds {
            long_statement_secs: c.long_statement_secs as f64,
            idle_in_transaction_secs: c.idle_in_transaction_secs as f64,
            max_query_chars: c.max_query_chars,
        };
        Ok(report::evidence(&snap, &thresholds))
    }
}

/// The state of one collection on an open connection.
struct Run<'a> {
    ctx: &'a CollectContext,
    conn: &'a Connection,
    snap: &'a mut Snapshot,
}

impl Run<'_> {
    /// Runs one section's query, redacts its answer as JSON, keeps it as
    /// `<artifact>.json` (when named) and parses it; on failure records why under `what`
    /// and returns `None`.
    async fn section<T: DeserializeOwned>(
        &mut self,
        artifact: Option<&str>,
        what: &str,
        sql: &str,
    ) -> Option<T> {
        let mut value = self.raw(what, sql).await?;
        self.ctx.redactor.redact_json(&mut value);
        if let Some(artifact) = artifact {
            self.ctx.artifacts.put_json(format!("{artifact}.json"), &value);
        }
        self.parsed(what, serde_json::from_value(value))
    }

    /// `parsed`, or `None` with a problem naming `what`.
    fn parsed<T>(&mut self, what: &str, parsed: Result<T, serde_json::Error>) -> Option<T> {
        match parsed {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                // serde quotes values of the wrong type.
                let problem = format!("{what}: unexpected answer from the server: {e}");
                self.snap.problems.push(self.ctx.redact(&problem).into_string());
                None
            }
        }
    }

    /// Sessions and locks: each session's texts redacted as read, its query whole and
    /// then cut to `max_query_chars`; kept as `activity.json` as redacted and cut.
    async fn activity(&mut self, c: &PostgresConfig) -> Option<Activity> {
        let what = "activity and locks";
        let answer = self.raw(what, &queries::activity(c.max_sessions)).await?;
        let activity =
            self.parsed(what, Activity::read(answer, &self.ctx.redactor, c.max_query_chars))?;
        self.ctx.artifacts.put_json("activity.json", &activity);
        Some(activity)
    }

    async fn raw(&mut self, what: &str, sql: &str) -> Option<serde_json::Value> {
        if self.ctx.should_stop() {
            self.snap
                .problems
                .push(format!("{what}: not read, the deadline passed or the run was cancelled"));
            return None;
        }
        let remaining = self.ctx.remaining();
        let result = tokio::select! {
            biased;
            () = self.ctx.cancel.cancelled() => {
                self.snap.problems.push(format!("{what}: not read, the run was cancelled"));
                return None;
            }
            r = tokio::time::timeout(remaining, self.conn.json(sql)) => r,
        };
        match result {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                // The server's message can quote a value of the statement.
                let e = self.ctx.redact(&e.to_string());
                tracing::warn!(section = what, error = %e, "PostgreSQL query failed.");
                self.snap.problems.push(format!("{what}: {e}"));
                None
            }
            Err(_) => {
                self.snap
                    .problems
                    .push(format!("{what}: no answer before the deadline ({remaining:?})"));
                None
            }
        }
    }

    async fn replication(&mut self) {
        let Some(in_recovery) = self.snap.server.as_ref().map(|s| s.in_recovery) else {
            self.snap.problems.push(
                "replication: not read, the server section (primary or standby) is missing".into(),
            );
            return;
        };
        self.snap.replication = if in_recovery {
            self.section::<Standby>(
                Some("replication"),
                "replication (standby)",
                &queries::standby(),
            )
            .await
            .map(Replication::Standby)
        } else {
            self.section::<Vec<Replica>>(
                Some("replication"),
                "replication (primary)",
                &queries::replicas(),
            )
            .await
            .map(|replicas| Replication::Primary { replicas })
        };
    }

    async fn statements(&mut self, c: &PostgresConfig) {
        if c.top_statements == 0 {
            return;
        }
        let Some(server) = self.snap.server.as_ref() else { return };
        let Some(schema) = server.pg_stat_statements_schema.clone() else {
            self.snap.statements = Statements::Absent;
            self.snap.notes.push(format!(
                "top statements: pg_stat_statements is not installed in database {} \
                 (CREATE EXTENSION pg_stat_statements; it also needs shared_preload_libraries), \
                 so statements by mean time are not part of this evidence",
                server.database
            ));
            return;
        };
        let sql = queries::top_statements(&schema, server.version_num, c.top_statements);
        // Optional evidence: a failure here is worth a note, not a partial status.
        let before = self.snap.problems.len();
        let what = "top statements";
        if let Some(answer) = self.raw(what, &sql).await
            && let Some(list) = self.parsed(
                what,
                Statement::read_all(answer, &self.ctx.redactor, c.max_query_chars),
            )
        {
            self.ctx.artifacts.put_json("statements.json", &list);
            self.snap.statements = Statements::Listed(list);
        }
        let failed: Vec<String> = self.snap.problems.drain(before..).collect();
        self.snap.notes.extend(failed);
    }

    /// Takes the second `pg_stat_database` sample `interval` after the first, earlier if
    /// the deadline demands it.
    async fn second_sample(
        &mut self,
        first: &DatabaseSample,
        sampled: Instant,
        interval: Duration,
    ) {
        let wanted = sampled + interval;
        let latest = self.ctx.deadline.checked_sub(DEADLINE_RESERVE).unwrap_or(sampled);
        let at = wanted.min(latest);
        if at <= sampled {
            self.snap.problems.push(
                "database_stats: no second sample, the deadline left no time for it; no deltas"
                    .into(),
            );
            self.keep_samples(first, None);
            return;
        }
        tokio::select! {
            () = self.ctx.cancel.cancelled() => {
                self.snap.problems.push("database_stats: no second sample, the run was cancelled; no deltas".into());
                self.keep_samples(first, None);
                return;
            }
            () = tokio::time::sleep_until(at) => {}
        }
        if at < wanted {
            self.snap.notes.push(format!(
                "database_stats: samples taken {:?} apart instead of {interval:?} to finish before the deadline",
                at - sampled
            ));
        }
        let second: Option<DatabaseSample> = self
            .section(None, "pg_stat_database (second sample)", &queries::database_stats())
            .await;
        self.keep_samples(first, second.as_ref());
        self.snap.second_sample = second;
    }

    /// One artifact with both samples, the way the deltas were computed.
    fn keep_samples(&self, first: &DatabaseSample, second: Option<&DatabaseSample>) {
        self.ctx.artifacts.put_json(
            "database_stats.json",
            &serde_json::json!({ "first": first, "second": second }),
        );
    }
}
