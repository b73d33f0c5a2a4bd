//! `[server]` of `witness.toml`: the listener, auth, intake limits, dedup, the journal,
//! run concurrency and the flight recorder. Parsed with the rest of the file; validated by
//! [`ServerConfig::problems`]. Only the shape and its checks live here: the server reads
//! the secrets these sections name when it starts or reloads.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{ConfigProblem, SecretRef};

/// The range of each numeric key of `[server]`, checked by `config check` and at load (the
/// README's limits table lists them). None lets a value reach arithmetic that overflows.
pub mod range {
    use std::ops::RangeInclusive;

    /// 1 byte to 256 MiB.
    pub const MAX_BODY_BYTES: RangeInclusive<u64> = 1..=256 << 20;
    /// 0 (no limit) to a million a second.
    pub const RATE_LIMIT_PER_SEC: RangeInclusive<u64> = 0..=1_000_000;
    /// 0 to ten million.
    pub const RATE_LIMIT_BURST: RangeInclusive<u64> = 0..=10_000_000;
    /// 0 (no dedup) to 30 days.
    pub const COOLDOWN_SECS: RangeInclusive<u64> = 0..=30 * 86_400;
    /// 1 to 256 runs at once.
    pub const MAX_PARALLEL_RUNS: RangeInclusive<u64> = 1..=256;
    /// 1 to 100 000 runs waiting.
    pub const QUEUE_SIZE: RangeInclusive<u64> = 1..=100_000;
    /// 0 to one hour.
    pub const SHUTDOWN_GRACE_SECS: RangeInclusive<u64> = 0..=3600;
    /// One second to 7 days of flight-recorder history.
    pub const RETAIN_SECS: RangeInclusive<u64> = 1..=7 * 86_400;
    /// One second to one hour between host samples.
    pub const SAMPLE_SECS: RangeInclusive<u64> = 1..=3600;
    /// 0 (keep no lines) to 1 GiB per followed file.
    pub const MAX_LOG_BYTES: RangeInclusive<u64> = 0..=1 << 30;
    /// 1 byte to 16 MiB per line.
    pub const MAX_LINE_BYTES: RangeInclusive<u64> = 1..=16 << 20;
}

/// `[server]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (default `127.0.0.1:9848`); `--listen` overrides it. A
    /// non-loopback address needs `[server.auth]`. Not changed by a reload.
    #[serde(default)]
    pub listen: Option<String>,
    /// Who may post alerts and read bundles. Without it only a loopback listener starts.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Largest request body accepted, in bytes (default 1 MiB); larger ones get `413`.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Requests accepted per second from each source (`alertmanager`, `grafana`,
    /// `pagerduty`, `generic`, `collect`), sustained (default 50); past it `503` with
    /// `Retry-After`, which Alertmanager and PagerDuty retry. 0 = no limit.
    #[serde(default = "default_rate_limit_per_sec")]
    pub rate_limit_per_sec: u32,
    /// Requests a source may send in a burst above the sustained rate (default 500).
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// Firing alerts with the same fingerprint, group key or PagerDuty incident id within
    /// this many seconds of a run's start join that run (or point to its bundle) instead of
    /// starting another (default 900 = 15 min).
    #[serde(default = "default_cooldown_secs")]
    pub cooldown_secs: u64,
    /// Runs collecting at once (default 2).
    #[serde(default = "default_max_parallel_runs")]
    pub max_parallel_runs: usize,
    /// Runs waiting for a free slot (default 64); past it new alerts get `503` with
    /// `Retry-After`.
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// The journal of accepted alerts, JSON lines, fsync'ed before each `202` (default
    /// `<store.dir>/.journal.jsonl`). Not changed by a reload.
    #[serde(default)]
    pub journal: Option<PathBuf>,
    /// On SIGTERM/SIGINT, how long running collections may take to finish before they are
    /// cancelled (default 30).
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// The flight recorder: host samples and followed log files kept in memory.
    #[serde(default)]
    pub recorder: RecorderConfig,
}

/// `[server.auth]`: a bearer token, or basic auth (what Alertmanager's `http_config`
/// sends), and PagerDuty's signing secret. Each secret comes from `*_env` or `*_file`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Environment variable holding the bearer token.
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    /// File holding the bearer token (trailing newline ignored).
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// User name for basic auth; set with `basic_password_env` or `basic_password_file`.
    #[serde(default)]
    pub basic_username: Option<String>,
    /// Environment variable holding the basic-auth password.
    #[serde(default)]
    pub basic_password_env: Option<String>,
    /// File holding the basic-auth password.
    #[serde(default)]
    pub basic_password_file: Option<PathBuf>,
    /// Environment variable holding the PagerDuty webhook subscription secret (several
    /// subscriptions: one secret per line, or comma-separated); without a PagerDuty
    /// secret, `/hooks/pagerduty` answers `401`.
    #[serde(default)]
    pub pagerduty_secret_env: Option<String>,
    /// File holding the PagerDuty webhook subscription secret (or several, one per line).
    #[serde(default)]
    pub pagerduty_secret_file: Option<PathBuf>,
}

impl AuthConfig {
    pub fn bearer(&self) -> SecretRef {
        SecretRef::new(self.bearer_token_env.as_deref(), self.bearer_token_file.as_deref())
    }
    pub fn basic_password(&self) -> SecretRef {
        SecretRef::new(self.basic_password_env.as_deref(), self.basic_password_file.as_deref())
    }
    pub fn pagerduty(&self) -> SecretRef {
        SecretRef::new(self.pagerduty_secret_env.as_deref(), self.pagerduty_secret_file.as_deref())
    }

    /// Every secret of this section: witness's own, redacted wherever they appear.
    pub fn secrets(&self) -> [SecretRef; 3] {
        [self.bearer(), self.basic_password(), self.pagerduty()]
    }
    /// Whether hooks other than PagerDuty and the API require credentials.
    pub fn is_set(&self) -> bool {
        self.bearer().is_set() || self.basic_username.is_some()
    }
}

/// `[server.recorder]`: the flight recorder. Memory bound: about 200 bytes per host
/// sample (`retain_secs / sample_interval_secs` samples, 72 KiB for the defaults) plus at
/// most `max_log_bytes` per followed file; with the defaults and one log file, under 5 MiB.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecorderConfig {
    /// Whether the recorder runs (default true).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How much history is kept, in seconds (default 3600).
    #[serde(default = "default_retain_secs")]
    pub retain_secs: u64,
    /// Seconds between host samples (default 10).
    #[serde(default = "default_sample_interval_secs")]
    pub sample_interval_secs: u64,
    /// Log files followed while serving (rotation and truncation handled); their recent
    /// lines go into every bundle under `flight-recorder/logs/`.
    #[serde(default)]
    pub log_files: Vec<PathBuf>,
    /// Bytes of recent lines kept per followed file (default 4 MiB); older lines go first.
    #[serde(default = "default_max_log_bytes")]
    pub max_log_bytes: usize,
    /// Longer lines are cut to this many bytes (default 8 KiB).
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
}

fn default_true() -> bool {
    true
}
fn default_retain_secs() -> u64 {
    3600
}
fn default_sample_interval_secs() -> u64 {
    10
}
fn default_max_log_bytes() -> usize {
    4 * 1024 * 1024
}
fn default_max_line_bytes() -> usize {
    8 * 1024
}
fn default_max_body_bytes() -> usize {
    1024 * 1024
}
fn default_rate_limit_per_sec() -> u32 {
    50
}
fn default_rate_limit_burst() -> u32 {
    500
}
fn default_cooldown_secs() -> u64 {
    15 * 60
}
fn default_max_parallel_runs() -> usize {
    2
}
fn default_queue_size() -> usize {
    64
}
fn default_shutdown_grace_secs() -> u64 {
    30
}

/// The listen address when neither `--listen` nor `[server] listen` is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9848";

impl Default for RecorderConfig {
    fn default() -> Self {
        Self {
            enabled: default_true(),
            retain_secs: default_retain_secs(),
            sample_interval_secs: default_sample_interval_secs(),
            log_files: Vec::new(),
            max_log_bytes: default_max_log_bytes(),
            max_line_bytes: default_max_line_bytes(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: None,
            auth: AuthConfig::default(),
            max_body_bytes: default_max_body_bytes(),
            rate_limit_per_sec: default_rate_limit_per_sec(),
            rate_limit_burst: default_rate_limit_burst(),
            cooldown_secs: default_cooldown_secs(),
            max_parallel_runs: default_max_parallel_runs(),
            queue_size: default_queue_size(),
            journal: None,
            shutdown_grace_secs: default_shutdown_grace_secs(),
            recorder: RecorderConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Every problem, each with its key relative to `[server]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| problems.push((key.to_owned(), message));
        if let Some(listen) = &self.listen
            && listen.parse::<SocketAddr>().is_err()
        {
            problem("listen", format!("{listen:?} is not an address like 127.0.0.1:9848"));
        }
        for (key, secret) in [
            ("auth.bearer_token", self.auth.bearer()),
            ("auth.basic_password", self.auth.basic_password()),
            ("auth.pagerduty_secret", self.auth.pagerduty()),
        ] {
            for p in secret.validate(key.rsplit('.').next().unwrap_or(key)) {
                problem(&format!("auth.{}", p.key), p.message);
            }
        }
        match (&self.auth.basic_username, self.auth.basic_password().is_set()) {
            (Some(_), false) => problem(
                "auth.basic_username",
                "needs `basic_password_env` or `basic_password_file`".into(),
            ),
            (None, true) => problem(
                "auth.basic_password_env",
                "needs `basic_username` to go with the password".into(),
            ),
            _ => {}
        }
        if self.auth.bearer().is_set() && self.auth.basic_username.is_some() {
            problem(
                "auth.basic_username",
                "set either a bearer token or basic auth, not both (Alertmanager sends one)".into(),
            );
        }
        let recorder = &self.recorder;
        for p in ConfigProblem::out_of_range([
            ("max_body_bytes", self.max_body_bytes as u64, range::MAX_BODY_BYTES),
            ("rate_limit_per_sec", self.rate_limit_per_sec.into(), range::RATE_LIMIT_PER_SEC),
            ("rate_limit_burst", self.rate_limit_burst.into(), range::RATE_LIMIT_BURST),
            ("cooldown_secs", self.cooldown_secs, range::COOLDOWN_SECS),
            ("max_parallel_runs", self.max_parallel_runs as u64, range::MAX_PARALLEL_RUNS),
            ("queue_size", self.queue_size as u64, range::QUEUE_SIZE),
            ("shutdown_grace_secs", self.shutdown_grace_secs, range::SHUTDOWN_GRACE_SECS),
            ("recorder.retain_secs", recorder.retain_secs, range::RETAIN_SECS),
            ("recorder.sample_interval_secs", recorder.sample_interval_secs, range::SAMPLE_SECS),
            ("recorder.max_log_bytes", recorder.max_log_bytes as u64, range::MAX_LOG_BYTES),
            ("recorder.max_line_bytes", recorder.max_line_bytes as u64, range::MAX_LINE_BYTES),
        ]) {
            problem(&p.key, p.message);
        }
        if self.rate_limit_per_sec > 0 && self.rate_limit_burst == 0 {
            problem("rate_limit_burst", "must be at least 1 when a rate limit is set".into());
        }
        problems
    }

    /// The address to listen on: `--listen`, else `[server] listen`, else the default.
    pub fn listen_addr(&self, flag: Option<&str>) -> anyhow::Result<SocketAddr> {
        let text = flag.or(self.listen.as_deref()).unwrap_or(DEFAULT_LISTEN);
        text.parse().map_err(|_| anyhow::anyhow!("{text:?} is not an address like 127.0.0.1:9848"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_their_keys() {
        let config: ServerConfig = toml::from_str(
            "listen = \"nowhere\"\nqueue_size = 0\n[auth]\nbearer_token_env = \"A\"\nbearer_token_file = \"/x\"\nbasic_username = \"u\"\n",
        )
        .unwrap();
        let keys: Vec<String> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "listen",
                "auth.bearer_token_env",
                "auth.basic_username",
                "auth.basic_username",
                "queue_size"
            ]
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config: ServerConfig = toml::from_str("").unwrap();
        assert_eq!(config.max_body_bytes, 1024 * 1024);
        assert_eq!((config.max_parallel_runs, config.queue_size), (2, 64));
        assert_eq!(config.cooldown_secs, 900);
        assert!(config.problems().is_empty());
    }
}
