//! The configuration file, `witness.toml`: where bundles go, how a run collects, signing,
//! redaction, rules, the daemon, and the `[collectors]` instances. Loading happens in
//! three stages: parse (serde, unknown keys rejected), validate (every problem at once),
//! and later build (each collector config builds its collector). Every problem is reported
//! with the file, the line and the key.
//!
//! The sections live here, or in a submodule for the larger ones ([`server`]: `[server]`);
//! the code that uses a section imports its type from here, never the other way round.

pub mod server;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::redact::RedactionConfig;
use crate::registry::CollectorsConfig;
use crate::rules::RulesConfig;
use server::ServerConfig;

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
    /// `witness serve`: listener, auth, webhooks, dedup, flight recorder.
    #[serde(default)]
    pub server: ServerConfig,
    /// The collector instances, one array per kind.
    #[serde(default)]
    pub collectors: CollectorsConfig,
}

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory bundles are written to (default `./witness-bundles`).
    #[serde(default = "default_store_dir")]
    pub dir: PathBuf,
    /// Keep at most this many bundles; the oldest go first (0 = no limit).
    #[serde(default)]
    pub max_bundles: usize,
    /// Keep at most this many bytes of bundles; the oldest go first (0 = no limit).
    #[serde(default)]
    pub max_bytes: u64,
}

fn default_store_dir() -> PathBuf {
    PathBuf::from("./witness-bundles")
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { dir: default_store_dir(), max_bundles: 0, max_bytes: 0 }
    }
}

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

    /// The configuration `collect now` uses when no file is given and none is found.
    pub fn zero_config() -> Self {
        Self { collectors: CollectorsConfig::zero_config(), ..Self::default() }
    }

    /// Every validation problem as (full key path, message).
    fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.collect.collector_timeout_secs == 0 {
            problems.push(("collect.collector_timeout_secs".into(), "must be at least 1".into()));
        }
        if self.collect.lookback_secs == 0 {
            problems.push(("collect.lookback_secs".into(), "must be at least 1".into()));
        }
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

    /// The line of the deepest part of `path` found in `text`; inside a value (an array
    /// or inline table) the line of its key.
    pub fn line_of_key(text: &str, path: &str) -> Option<usize> {
        let doc = Document::parse(text).ok()?;
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
