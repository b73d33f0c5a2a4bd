//! `[[collectors.postgres]]`: what the user writes in `witness.toml`, its defaults and its
//! validation. The config is the factory: [`PostgresConfig::build`] makes the collector.

use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem, SecretRef};

use crate::collector::PostgresCollector;

/// One `[[collectors.postgres]]` instance: a PostgreSQL server read through one DSN.
///
/// ```toml
/// [[collectors.postgres]]
/// name = "main"
/// dsn_env = "WITNESS_PG_DSN"   # postgresql://witness@db:5432/app?sslmode=verify-full
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Instance name, unique among `postgres` instances; names `evidence/postgres-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Environment variable holding the libpq connection string (URL
    /// `postgresql://user:pass@host:5432/db?sslmode=require` or `key=value` form).
    /// `sslmode` may be `disable`, `allow` (treated as `prefer`), `prefer` (the default),
    /// `require`, `verify-ca` or `verify-full`; `sslrootcert` names a PEM file of trusted
    /// roots (or `system`; without it the system's trust store is used). Set exactly one of
    /// `dsn_env` and `dsn_file`.
    #[serde(default)]
    pub dsn_env: Option<String>,
    /// File holding the connection string (trailing newline ignored), instead of `dsn_env`.
    #[serde(default)]
    pub dsn_file: Option<PathBuf>,
    /// How long to wait for the server to accept the connection, TLS and authentication
    /// included, in seconds.
    #[serde(default = "default_connect_timeout_secs")]
    pub connect_timeout_secs: u64,
    /// `statement_timeout` set on every transaction witness runs, in milliseconds: witness
    /// gives up on a query rather than add load to a struggling server.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
    /// `lock_timeout` set on every transaction witness runs, in milliseconds: witness never
    /// waits on the locks it is looking at.
    #[serde(default = "default_lock_timeout_ms")]
    pub lock_timeout_ms: u64,
    /// Time between the two samples of `pg_stat_database` whose difference gives the
    /// deadlocks, rollbacks, conflicts and temp files during collection, in milliseconds.
    #[serde(default = "default_sample_interval_ms")]
    pub sample_interval_ms: u64,
    /// A statement running longer than this many seconds is a long-running statement.
    #[serde(default = "default_long_statement_secs")]
    pub long_statement_secs: u64,
    /// A session idle in transaction for longer than this many seconds is reported.
    #[serde(default = "default_idle_in_transaction_secs")]
    pub idle_in_transaction_secs: u64,
    /// Query texts are cut to this many characters, after they are redacted whole (a cut
    /// never leaves part of a secret, and never splits a redaction token).
    #[serde(default = "default_max_query_chars")]
    pub max_query_chars: u32,
    /// At most this many sessions are read in detail (sessions in lock trees first).
    #[serde(default = "default_max_sessions")]
    pub max_sessions: u32,
    /// How many statements of `pg_stat_statements`, slowest mean time first, to keep when
    /// the extension is installed in the database of the DSN; 0 turns this off.
    #[serde(default = "default_top_statements")]
    pub top_statements: u32,
}

pub fn default_connect_timeout_secs() -> u64 {
    5
}
pub fn default_statement_timeout_ms() -> u64 {
    2000
}
pub fn default_lock_timeout_ms() -> u64 {
    2000
}
pub fn default_sample_interval_ms() -> u64 {
    1000
}
pub fn default_long_statement_secs() -> u64 {
    5
}
pub fn default_idle_in_transaction_secs() -> u64 {
    5
}
pub fn default_max_query_chars() -> u32 {
    1000
}
pub fn default_max_sessions() -> u32 {
    500
}
pub fn default_top_statements() -> u32 {
    10
}

/// The longest sampling interval accepted: the two samples must fit in one run.
const MAX_SAMPLE_INTERVAL_MS: u64 = 60_000;

impl PostgresConfig {
    /// A config with every default and the DSN read from the environment variable `dsn_env`.
    pub fn new(name: impl Into<String>, dsn_env: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            dsn_env: Some(dsn_env.into()),
            dsn_file: None,
            connect_timeout_secs: default_connect_timeout_secs(),
            statement_timeout_ms: default_statement_timeout_ms(),
            lock_timeout_ms: default_lock_timeout_ms(),
            sample_interval_ms: default_sample_interval_ms(),
            long_statement_secs: default_long_statement_secs(),
            idle_in_transaction_secs: default_idle_in_transaction_secs(),
            max_query_chars: default_max_query_chars(),
            max_sessions: default_max_sessions(),
            top_statements: default_top_statements(),
        }
    }

    /// Where the DSN comes from.
    pub fn dsn(&self) -> SecretRef {
        SecretRef::new(self.dsn_env.as_deref(), self.dsn_file.as_deref())
    }
}

impl CollectorConfig for PostgresConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let dsn = self.dsn();
        if !dsn.is_set() {
            problems.push(ConfigProblem::new(
                "dsn_env",
                "set `dsn_env` or `dsn_file` to say where the connection string is",
            ));
        }
        problems.extend(dsn.validate("dsn"));
        problems.extend(ConfigProblem::zeros([("sample_interval_ms", self.sample_interval_ms)]));
        let day_ms = witness_collector::TIMEOUT_SECS.end() * 1000;
        problems.extend(ConfigProblem::out_of_range([
            ("connect_timeout_secs", self.connect_timeout_secs, witness_collector::TIMEOUT_SECS),
            ("statement_timeout_ms", self.statement_timeout_ms, 1..=day_ms),
            ("lock_timeout_ms", self.lock_timeout_ms, 1..=day_ms),
            ("long_statement_secs", self.long_statement_secs, 0..=30 * 86_400),
            ("idle_in_transaction_secs", self.idle_in_transaction_secs, 0..=30 * 86_400),
            ("max_query_chars", self.max_query_chars.into(), 1..=1_000_000),
            ("max_sessions", self.max_sessions.into(), 1..=100_000),
            ("top_statements", self.top_statements.into(), 0..=1000),
        ]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        if self.sample_interval_ms > MAX_SAMPLE_INTERVAL_MS {
            problems.push(ConfigProblem::new(
                "sample_interval_ms",
                format!("must be at most {MAX_SAMPLE_INTERVAL_MS} (one minute)"),
            ));
        }
        if let Some(timeout) = self.timeout_secs
            && timeout > 0
            && self.sample_interval_ms >= timeout.saturating_mul(1000)
        {
            problems.push(ConfigProblem::new(
                "sample_interval_ms",
                format!(
                    "{} ms does not fit in timeout_secs = {timeout}: both samples must be taken before the deadline",
                    self.sample_interval_ms
                ),
            ));
        }
        problems
    }

    fn check_environment(&self) -> Vec<ConfigProblem> {
        self.dsn().check("dsn")
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(PostgresCollector::new(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PostgresConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_fill_everything_but_the_name_and_dsn() {
        let config = parse("name = \"main\"\ndsn_env = \"WITNESS_PG_DSN\"").unwrap();
        assert_eq!(config.statement_timeout_ms, 2000);
        assert_eq!(config.lock_timeout_ms, 2000);
        assert_eq!(config.sample_interval_ms, 1000);
        assert_eq!(config.long_statement_secs, 5);
        assert!(config.validate().is_empty());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("name = \"main\"\ndsn_env = \"X\"\npassword = \"p\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `password`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let mut config = PostgresConfig::new("main", "X");
        config.dsn_env = None;
        config.statement_timeout_ms = 0;
        config.sample_interval_ms = 5000;
        config.timeout_secs = Some(3);
        let problems = config.validate();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["dsn_env", "statement_timeout_ms", "sample_interval_ms"]);
        assert_eq!(
            problems[0].message,
            "set `dsn_env` or `dsn_file` to say where the connection string is"
        );
        assert!(config.build().is_err());
    }

    #[test]
    fn a_zero_timeout_is_one_problem_not_two() {
        let mut config = PostgresConfig::new("main", "X");
        config.timeout_secs = Some(0);
        assert_eq!(config.validate(), [ConfigProblem::new("timeout_secs", "must be at least 1")]);
    }

    #[test]
    fn both_dsn_sources_is_a_problem() {
        let mut config = PostgresConfig::new("main", "X");
        config.dsn_file = Some("/run/secrets/dsn".into());
        assert_eq!(config.validate()[0].message, "set only one of `dsn_env` and `dsn_file`");
    }
}
