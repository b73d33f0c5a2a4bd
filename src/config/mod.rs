//! The configuration file, `witness.toml`: where bundles go, how a run collects, signing,
//! redaction, rules, the daemon, and the `[collectors]` instances. Loading happens in
//! three stages: parse (serde, unknown keys rejected), validate (every problem at once),
//! and later build (each collector config builds its collector). Every problem is reported
//! with the file, the line and the key.
//!
//! The sections live here, or in a submodule for the larger ones ([`server`]: `[server]`);
//! the code that uses a section imports its type from here, never the other way round.

pub mod fleet;
pub mod follow_up;
pub mod server;
pub mod severity;
pub mod store;

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use witness_collector::{ConfigProblem, TIMEOUT_SECS};

use crate::redact::RedactionConfig;
use crate::registry::CollectorsConfig;
use crate::rules::RulesConfig;
use fleet::FleetConfig;
use follow_up::FollowUpConfig;
use server::ServerConfig;
use severity::SeverityConfig;
pub use store::StoreConfig;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Where bundles are written and kept.
    #[serde(default)]
    pub store: StoreConfig,
    /// How a run collects.
    #[serde(default)]
    pub collect: CollectConfig,
    /// Signing of bundles (`manifest.sig`).
    #[serde(default)]
    pub signing: SigningConfig,
    /// What is redacted from every bundle, beyond the built-in rules.
    #[serde(default)]
    pub redaction: RedactionConfig,
    /// Where the hypothesis rules come from.
    #[serde(default)]
    pub rules: RulesConfig,
    /// The thresholds a run's severity (P0-P3) is estimated with.
    #[serde(default)]
    pub severity: SeverityConfig,
    /// The follow-up that checks an incident after it resolved.
    #[serde(default)]
    pub follow_up: FollowUpConfig,
    /// `witness serve`: listener, auth, webhooks, dedup, flight recorder.
    #[serde(default)]
    pub server: ServerConfig,
    /// Replicas sharing the object store: claims of incidents.
    #[serde(default)]
    pub fleet: FleetConfig,
    /// The collector instances, one array per kind.
    #[serde(default)]
    pub collectors: CollectorsConfig,
}

/// The range of `[store] max_bundles` (0 = no limit).
pub const MAX_BUNDLES: RangeInclusive<u64> = 0..=1_000_000;
/// The range of `[store] max_bytes` (0 = no limit; at most 1 PiB).
pub const MAX_BYTES: RangeInclusive<u64> = 0..=1 << 50;
/// The range of `[collect] lookback_secs` and of `--since`: one second to 366 days.
pub const LOOKBACK_SECS: RangeInclusive<u64> = 1..=366 * 86_400;
/// The range of `[collect] max_bundle_bytes`: 64 KiB to 64 GiB.
pub const MAX_BUNDLE_BYTES: RangeInclusive<u64> = 64 * 1024..=64 << 30;

/// `[collect]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectConfig {
    /// How far before the anchor the window starts, in seconds (default 1800 = 30 min).
    /// `--since` overrides it.
    #[serde(default = "default_lookback_secs")]
    pub lookback_secs: u64,
    /// Deadline of each collector unless it sets its own `timeout_secs` (default 20).
    #[serde(default = "default_collector_timeout_secs")]
    pub collector_timeout_secs: u64,
    /// Cap on the bytes of one bundle (default 50 MiB). Past it, the largest raw
    /// artifacts are cut, and the cut is recorded in the manifest.
    #[serde(default = "default_max_bundle_bytes")]
    pub max_bundle_bytes: u64,
}

fn default_lookback_secs() -> u64 {
    30 * 60
}
fn default_collector_timeout_secs() -> u64 {
    20
}
fn default_max_bundle_bytes() -> u64 {
    50 * 1024 * 1024
}

impl Default for CollectConfig {
    fn default() -> Self {
        Self {
            lookback_secs: default_lookback_secs(),
            collector_timeout_secs: default_collector_timeout_secs(),
            max_bundle_bytes: default_max_bundle_bytes(),
        }
    }
}

/// `[signing]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// Private key made by `witness keygen` (`PREFIX.key`); when set, every bundle gets a
    /// `manifest.sig`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

/// A problem or warning about one key: (full key path, message).
type KeyMessage = (String, String);

impl SigningConfig {
    /// The key file's problems (cannot be read, not a key made by `witness keygen`) and
    /// warnings (group or others may read it), as (key, message).
    fn check(&self) -> (Vec<KeyMessage>, Vec<KeyMessage>) {
        use std::os::unix::fs::PermissionsExt;
        let Some(path) = &self.key_file else { return (Vec::new(), Vec::new()) };
        let key = || "signing.key_file".to_owned();
        if let Err(e) = crate::bundle::sign::load_signing_key(path) {
            return (vec![(key(), e.to_string())], Vec::new());
        }
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        let warnings = if mode & 0o077 != 0 {
            vec![(
                key(),
                format!(
                    "{} is readable by others (mode {mode:04o}): anyone who reads it can sign \
                     bundles; chmod 600 it",
                    path.display()
                ),
            )]
        } else {
            Vec::new()
        };
        (Vec::new(), warnings)
    }
}

/// What `witness config check` found ([`WitnessConfig::inspect`]).
#[derive(Debug)]
pub struct Inspection {
    /// The configuration as parsed (checked only when `valid`).
    pub config: WitnessConfig,
    /// Whether validation passed, so the collectors can be built.
    pub valid: bool,
    /// Every problem, as `file:line: key: message`.
    pub problems: Vec<String>,
    /// What works but should not be so, in the same form.
    pub warnings: Vec<String>,
}

/// A configuration that could not be loaded: every problem, each naming the file, the line
/// and the key.
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: String) -> Self {
        Self { problems: vec![problem] }
    }
}

impl WitnessConfig {
    /// Reads, parses and validates the file at `path`.
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read, does not parse, has unknown keys or
    /// values that do not validate.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(format!("{}: cannot read the config file: {e}", path.display()))
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates `text`, naming `path` in errors.
    ///
    /// # Errors
    /// See [`WitnessConfig::load`].
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: WitnessConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|span| line_of(text, span.start)).unwrap_or(1);
            ConfigError::one(format!("{}:{line}: {}", path.display(), e.message().trim()))
        })?;
        let problems: Vec<String> = config
            .problems()
            .into_iter()
            .map(|(key, message)| {
                let line = locate::line_of_key(text, &key).unwrap_or(1);
                format!("{}:{line}: {key}: {message}", path.display())
            })
            .collect();
        if problems.is_empty() { Ok(config) } else { Err(ConfigError { problems }) }
    }

    /// `witness config check`: reads and parses the file at `path`, then reports every
    /// problem at once, each with file:line:key — validation, and what only this machine
    /// can tell (an `_env` variable that is not set, a secret, kubeconfig or key file that
    /// is missing, a signing key that is not one) — plus warnings (a signing key others
    /// can read).
    ///
    /// # Errors
    /// [`ConfigError`] when the file cannot be read or is not TOML of this shape: then
    /// nothing else can be checked.
    pub fn inspect(path: &Path) -> Result<Inspection, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(format!("{}: cannot read the config file: {e}", path.display()))
        })?;
        let config: WitnessConfig = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|span| line_of(&text, span.start)).unwrap_or(1);
            ConfigError::one(format!("{}:{line}: {}", path.display(), e.message().trim()))
        })?;
        let validation = config.problems();
        let valid = validation.is_empty();
        let mut environment = config.environment_problems();
        let (key_problems, warnings) = config.signing.check();
        environment.extend(key_problems);
        let place = |list: Vec<(String, String)>| -> Vec<String> {
            list.into_iter()
                .map(|(key, message)| {
                    let line = locate::line_of_key(&text, &key).unwrap_or(1);
                    format!("{}:{line}: {key}: {message}", path.display())
                })
                .collect()
        };
        let mut problems = place(validation);
        problems.extend(place(environment));
        Ok(Inspection { config, valid, problems, warnings: place(warnings) })
    }

    /// What only this machine can tell, as (full key path, message): secrets whose
    /// variable is unset or whose file cannot be read, files a collector needs.
    fn environment_problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        for (key, index, instance) in self.collectors.instances() {
            for p in instance.check_environment() {
                problems.push((format!("collectors.{key}[{index}].{}", p.key), p.message));
            }
        }
        let auth = &self.server.auth;
        for (stem, secret) in [
            ("bearer_token", auth.bearer()),
            ("basic_password", auth.basic_password()),
            ("pagerduty_secret", auth.pagerduty()),
        ] {
            for p in secret.check(stem) {
                problems.push((format!("server.auth.{}", p.key), p.message));
            }
        }
        problems.extend(self.store.environment_problems());
        problems.extend(self.fleet.environment_problems());
        problems
    }

    /// The configuration `collect now` uses when no file is given and none is found.
    pub fn zero_config() -> Self {
        Self { collectors: CollectorsConfig::zero_config(), ..Self::default() }
    }

    /// Every validation problem as (full key path, message).
    fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = ConfigProblem::out_of_range([
            ("store.max_bundles", self.store.max_bundles as u64, MAX_BUNDLES),
            ("store.max_bytes", self.store.max_bytes, MAX_BYTES),
            ("collect.lookback_secs", self.collect.lookback_secs, LOOKBACK_SECS),
            ("collect.collector_timeout_secs", self.collect.collector_timeout_secs, TIMEOUT_SECS),
            ("collect.max_bundle_bytes", self.collect.max_bundle_bytes, MAX_BUNDLE_BYTES),
        ])
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect();
        let mut seen = std::collections::BTreeSet::new();
        for (key, index, instance) in self.collectors.instances() {
            let prefix = format!("collectors.{key}[{index}]");
            if !crate::bundle::is_safe_name(instance.name()) {
                problems.push((
                    format!("{prefix}.name"),
                    "must be 1-64 characters of a-z, A-Z, 0-9, '.', '_' or '-'".into(),
                ));
            } else if !seen.insert((key, instance.name().to_owned())) {
                problems.push((
                    format!("{prefix}.name"),
                    format!("another {key} instance is already named {:?}", instance.name()),
                ));
            }
            for problem in instance.validate() {
                let key = if problem.key.is_empty() {
                    prefix.clone()
                } else {
                    format!("{prefix}.{}", problem.key)
                };
                problems.push((key, problem.message));
            }
        }
        problems.extend(
            self.redaction.problems().into_iter().map(|(k, m)| (format!("redaction.{k}"), m)),
        );
        problems
            .extend(self.server.problems().into_iter().map(|(k, m)| (format!("server.{k}"), m)));
        problems.extend(
            self.severity.problems().into_iter().map(|(k, m)| (format!("severity.{k}"), m)),
        );
        problems.extend(
            self.follow_up.problems().into_iter().map(|(k, m)| (format!("follow_up.{k}"), m)),
        );
        problems.extend(
            self.store.remote_problems().into_iter().map(|(k, m)| (format!("store.{k}"), m)),
        );
        problems.extend(self.fleet.problems().into_iter().map(|(k, m)| (format!("fleet.{k}"), m)));
        problems
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Finds where a key path (`collectors.logs[0].paths[1]`) sits in the TOML source.
mod locate {
    use toml_edit::{Document, Item, Table};

    enum Segment<'a> {
        Key(&'a str),
        Index(usize),
    }

    fn segments(path: &str) -> Vec<Segment<'_>> {
        let mut out = Vec::new();
        for part in path.split('.') {
            let mut pieces = part.split('[');
            if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
                out.push(Segment::Key(key));
            }
            out.extend(
                pieces.filter_map(|i| i.trim_end_matches(']').parse().ok()).map(Segment::Index),
            );
        }
        out
    }

    /// `text` with every run of 19 or more digits replaced by `1` and spaces of the same
    /// length: serde reads integers up to `u64::MAX` but `toml_edit` only `i64`, and the
    /// key of an absurd value (the very one to point at) must still be found. Offsets and
    /// lines stay where they were.
    fn shrink_big_integers(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut digits = String::new();
        let flush = |digits: &mut String, out: &mut String| {
            if digits.len() >= 19 {
                out.push('1');
                out.extend(std::iter::repeat_n(' ', digits.len() - 1));
            } else {
                out.push_str(digits);
            }
            digits.clear();
        };
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
        flush(&mut digits, &mut out);
        out
    }

    /// The line of the deepest part of `path` found in `text`; inside a value (an array
    /// or inline table) the line of its key.
    pub fn line_of_key(text: &str, path: &str) -> Option<usize> {
        let doc = Document::parse(text.to_owned())
            .or_else(|_| Document::parse(shrink_big_integers(text)))
            .ok()?;
        let mut table: &Table = doc.as_table();
        let mut best = None;
        let mut segments = segments(path).into_iter();
        while let Some(Segment::Key(name)) = segments.next() {
            let Some((key, item)) = table.get_key_value(name) else { break };
            best = key.span().or(best);
            match item {
                Item::Table(inner) => {
                    best = inner.span().or(best);
                    table = inner;
                }
                Item::ArrayOfTables(array) => {
                    let Some(Segment::Index(i)) = segments.next() else { break };
                    let Some(inner) = array.get(i) else { break };
                    best = inner.span().or(best);
                    table = inner;
                }
                Item::Value(_) | Item::None => break,
            }
        }
        best.map(|span| super::line_of(text, span.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WitnessConfig, ConfigError> {
        WitnessConfig::parse(text, Path::new("w.toml"))
    }

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        let err = parse("[store]\ndir = \"x\"\n\n[collect]\nlookback = 5\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("w.toml:5: unknown field `lookback`"), "{text}");
    }

    #[test]
    fn validation_problems_are_all_reported_with_lines() {
        let err = parse(
            "[collect]\ncollector_timeout_secs = 0\n\n[[collectors.host]]\nname = \"a\"\n\n[[collectors.host]]\nname = \"a\"\n",
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert_eq!(err.problems[0], "w.toml:2: collect.collector_timeout_secs: must be at least 1");
        assert_eq!(
            err.problems[1],
            "w.toml:8: collectors.host[1].name: another host instance is already named \"a\""
        );
    }

    /// Issue 22: `u64::MAX` deadlines, parallelism and history passed validation and then
    /// panicked (an `Instant` overflowed, tokio refused the semaphore).
    #[test]
    fn every_numeric_key_has_a_range() {
        let max = u64::MAX;
        let err = parse(&format!(
            "[store]\nmax_bundles = {max}\n[collect]\nlookback_secs = {max}\ncollector_timeout_secs = {max}\nmax_bundle_bytes = 1\n[server]\nmax_parallel_runs = {max}\ncooldown_secs = {max}\n[server.recorder]\nretain_secs = {max}\n[[collectors.host]]\nname = \"h\"\ntimeout_secs = {max}\n"
        ))
        .unwrap_err();
        assert_eq!(
            err.problems,
            [
                "w.toml:2: store.max_bundles: must be at most 1000000",
                "w.toml:4: collect.lookback_secs: must be at most 31622400",
                "w.toml:5: collect.collector_timeout_secs: must be at most 86400",
                "w.toml:6: collect.max_bundle_bytes: must be at least 65536",
                "w.toml:14: collectors.host[0].timeout_secs: must be at most 86400",
                "w.toml:9: server.cooldown_secs: must be at most 2592000",
                "w.toml:8: server.max_parallel_runs: must be at most 256",
                "w.toml:11: server.recorder.retain_secs: must be at most 604800",
            ]
        );
    }

    /// Issue 19: the object-store and fleet keys are validated, every problem at once.
    #[test]
    fn store_and_fleet_keys_are_validated_with_file_line_and_key() {
        let err = parse(
            "[store]\nurl = \"ftp://x\"\nendpoint = \"garage:3900\"\naccess_key_id_env = \"K\"\nspool_max_bundles = 0\n\n[fleet]\nclaim_ttl_secs = 1\nreplica = \"a b\"\ncoordinator_env = \"D\"\ncoordinator_file = \"/d\"\n",
        )
        .unwrap_err();
        assert_eq!(
            err.problems,
            [
                "w.toml:5: store.spool_max_bundles: must be at least 1",
                "w.toml:2: store.url: ftp:// is not a store witness knows: use one of s3, gs, az, file",
                "w.toml:3: store.endpoint: must start with http:// or https://",
                "w.toml:4: store.access_key_id_env: needs secret_access_key_env or secret_access_key_file too",
                "w.toml:3: store.endpoint: is for s3:// stores, not ftp://",
                "w.toml:4: store.access_key_id_env: is for s3:// stores, not ftp://",
                "w.toml:8: fleet.claim_ttl_secs: must be at least 5",
                "w.toml:10: fleet.coordinator_env: set only one of `coordinator_env` and `coordinator_file`",
                "w.toml:9: fleet.replica: must be 1-64 characters of a-z, A-Z, 0-9, '.', '_' or '-'",
            ]
        );
        let ok = parse(
            "[store]\nurl = \"s3://b/p\"\nendpoint = \"http://127.0.0.1:3900\"\n\n[fleet]\ncoordinator_env = \"D\"\n",
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
    }

    #[test]
    fn an_empty_file_is_a_valid_config() {
        let config = parse("").unwrap();
        assert_eq!(config.collect.collector_timeout_secs, 20);
        assert!(config.collectors.instances().is_empty());
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/witness.toml");
        WitnessConfig::load(&path).unwrap();
    }
}
