//! The `[[collectors.logs]]` configuration: what to read and what counts as an error. It
//! validates itself (every problem at once, with its key) and builds the collector.

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};
use witness_log_analysis::Matchers;
use witness_log_analysis::timestamp::{Custom, CustomError, TimeContext, TsFormat};

use std::sync::Arc;

use crate::LogsCollector;

/// One `[[collectors.logs]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsConfig {
    /// Instance name, unique among `logs` instances; names `evidence/logs-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Log files to read, as globs (`/var/log/app/*.log`). Rotated siblings of every
    /// matched file (`app.log.1`, `app.log.2.gz`, `app-2025-11-19.log`) are read too when
    /// their time range overlaps the window or its baseline.
    pub paths: Vec<String>,
    /// Regular expressions of lines that count as errors, for lines without a level field
    /// (a line with one — `ERROR`, `Error`, `error:`, `[error]`, `level=error`, `SEVERE`,
    /// logcat's and klog's `E`/`F`, syslog `<3>`, JSON `level`/`severity`/`lvl` names or
    /// numbers — is an error because of its level) and for the lines of a record without a
    /// timestamp (a stack trace). Default: the level words where they are the level
    /// (`ERROR`, `Error`, `error:`, `FATAL`, `CRITICAL`, `SEVERE`, `PANIC`, `panic:`, not
    /// `ERROR_INVALID_FUNCTION`), `Exception`, `Traceback`, `level=error`,
    /// `"level":"error"`, pino's `"level":50`/`60`, nginx/Apache `[error]`-style levels.
    #[serde(default = "default_patterns")]
    pub patterns: Vec<String>,
    /// Regular expressions of lines that never count as errors even when a pattern
    /// matches them (a noisy, known-harmless message).
    #[serde(default)]
    pub exclude: Vec<String>,
    /// The files' timestamp format, strftime-style (`%y/%m/%d %H:%M:%S`), for logs whose
    /// format is not detected; the timestamp is the first match in each line. Without a year
    /// (`%b %d %H:%M:%S`) the year comes from the file's modification time. Unset (the
    /// default): detected per file from its first lines.
    #[serde(default)]
    pub timestamp_format: Option<String>,
    /// IANA time zone (`Europe/Berlin`) of timestamps that carry none (default `UTC`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Lines of context kept around each matched line in the excerpt (default 2).
    #[serde(default = "default_context_lines")]
    pub context_lines: usize,
    /// Cap of the excerpt artifact in bytes; the newest lines are kept (default 262144).
    #[serde(default = "default_max_excerpt_bytes")]
    pub max_excerpt_bytes: usize,
    /// Lines longer than this are cut to it before they are kept or parsed, and counted
    /// (default 65536).
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: usize,
    /// What the files are: `app` (application logs: errors and signatures), `access`
    /// (nginx/Apache common or combined, or JSON access logs: requests, 5xx and latency per
    /// endpoint; an error is a 5xx response) or `auto`
    /// (decided per file from its first lines; the default).
    #[serde(default)]
    pub kind: LogKind,
}

/// What a log file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    #[default]
    Auto,
    App,
    Access,
}

pub fn default_patterns() -> Vec<String> {
    witness_log_analysis::default_patterns()
}

pub fn default_timezone() -> String {
    "UTC".into()
}

pub fn default_context_lines() -> usize {
    2
}

pub fn default_max_excerpt_bytes() -> usize {
    256 * 1024
}

pub fn default_max_line_bytes() -> usize {
    64 * 1024
}

/// Above this the scanner's buffers would stop being small.
const MAX_LINE_BYTES_LIMIT: usize = 16 * 1024 * 1024;
const MAX_CONTEXT_LINES: usize = 50;

impl LogsConfig {
    /// A config reading `paths` with every default, for tests and tools.
    pub fn new(name: impl Into<String>, paths: Vec<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            paths,
            patterns: default_patterns(),
            exclude: Vec::new(),
            timezone: default_timezone(),
            context_lines: default_context_lines(),
            max_excerpt_bytes: default_max_excerpt_bytes(),
            max_line_bytes: default_max_line_bytes(),
            kind: LogKind::Auto,
            timestamp_format: None,
        }
    }

    pub(crate) fn tz(&self) -> Option<chrono_tz::Tz> {
        self.timezone.parse().ok()
    }

    fn custom_format(&self) -> Option<Result<TsFormat, CustomError>> {
        let format = self.timestamp_format.as_deref()?;
        Some(Custom::new(format).map(|c| TsFormat::Custom(Arc::new(c))))
    }

    /// Problems of `timestamp_format` with the files it would read: a file whose first
    /// lines it does not read at all (`config check` finds a wrong format before a run).
    fn probe_timestamp_format(&self, format: &TsFormat) -> Vec<ConfigProblem> {
        let tcx = TimeContext::new(self.tz().unwrap_or(chrono_tz::Tz::UTC), chrono::Utc::now());
        let never = || false;
        let mut problems = Vec::new();
        let (paths, _) = crate::files::discover(&self.paths, &never);
        for path in
            paths.iter().filter(|p| p.extension().is_none_or(|e| e != "gz")).take(PROBED_FILES)
        {
            let Ok(head) = first_lines(path) else { continue };
            let lines: Vec<&[u8]> =
                head.split(|c| *c == b'\n').filter(|l| !l.trim_ascii().is_empty()).collect();
            if !lines.is_empty() && lines.iter().all(|l| format.parse(l, &tcx).is_none()) {
                problems.push(ConfigProblem::new(
                    "timestamp_format",
                    format!(
                        "reads no timestamp in the first {} lines of {}",
                        lines.len(),
                        path.display()
                    ),
                ));
            }
        }
        problems
    }
}

/// Files of the globs whose first lines `config check` tries `timestamp_format` on.
const PROBED_FILES: usize = 5;
const PROBED_BYTES: u64 = 8 * 1024;

fn first_lines(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(path)?.take(PROBED_BYTES).read_to_end(&mut head)?;
    if head.len() as u64 == PROBED_BYTES
        && let Some(i) = memchr::memrchr(b'\n', &head)
    {
        head.truncate(i);
    }
    Ok(head)
}

impl CollectorConfig for LogsConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.paths.is_empty() {
            problems.push(ConfigProblem::new("paths", "names no file: give at least one glob"));
        }
        for (i, path) in self.paths.iter().enumerate() {
            if let Err(e) = glob::Pattern::new(path) {
                problems.push(ConfigProblem::new(
                    format!("paths[{i}]"),
                    format!("not a valid glob: {e}"),
                ));
            }
        }
        for (key, list) in [("patterns", &self.patterns), ("exclude", &self.exclude)] {
            for (i, e) in witness_log_analysis::matchers::invalid(list) {
                problems.push(ConfigProblem::new(
                    format!("{key}[{i}]"),
                    format!("not a valid regular expression: {e}"),
                ));
            }
        }
        if self.patterns.is_empty() && self.kind != LogKind::Access {
            problems
                .push(ConfigProblem::new("patterns", "is empty: nothing would count as an error"));
        }
        if self.tz().is_none() {
            problems.push(ConfigProblem::new(
                "timezone",
                format!(
                    "`{}` is not an IANA time zone (e.g. `UTC`, `Europe/Berlin`)",
                    self.timezone
                ),
            ));
        }
        if self.context_lines > MAX_CONTEXT_LINES {
            problems
                .push(ConfigProblem::new("context_lines", format!("at most {MAX_CONTEXT_LINES}")));
        }
        if !(256..=MAX_LINE_BYTES_LIMIT).contains(&self.max_line_bytes) {
            problems.push(ConfigProblem::new(
                "max_line_bytes",
                format!("must be between 256 and {MAX_LINE_BYTES_LIMIT}"),
            ));
        }
        problems.extend(ConfigProblem::out_of_range([(
            "max_excerpt_bytes",
            self.max_excerpt_bytes as u64,
            1..=1 << 30,
        )]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        match self.custom_format() {
            Some(Err(e)) => problems.push(ConfigProblem::new("timestamp_format", e.to_string())),
            Some(Ok(format)) if problems.is_empty() => {
                problems.extend(self.probe_timestamp_format(&format));
            }
            _ => {}
        }
        problems
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        let matchers = Matchers::new(&self.patterns, &self.exclude)
            .map_err(|(list, e)| vec![ConfigProblem::new(list.key(), e.to_string())])?;
        let timestamp_format = self
            .custom_format()
            .transpose()
            .map_err(|e| vec![ConfigProblem::new("timestamp_format", e.to_string())])?;
        let tz = self.tz().ok_or_else(|| vec![ConfigProblem::new("timezone", "unknown")])?;
        Ok(Box::new(LogsCollector::new(self.clone(), matchers, timestamp_format, tz)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config: LogsConfig = toml_like(
            r#"{"name":"app","paths":["/var/log/[x"],"patterns":["("],"exclude":["[z"],
               "timezone":"Mars/Olympus","context_lines":99,"max_line_bytes":10,"max_excerpt_bytes":0}"#,
        );
        let keys: Vec<String> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "paths[0]",
                "patterns[0]",
                "exclude[0]",
                "timezone",
                "context_lines",
                "max_line_bytes",
                "max_excerpt_bytes"
            ]
        );
    }

    #[test]
    fn defaults_are_valid_and_unknown_keys_are_refused() {
        let config: LogsConfig = toml_like(r#"{"name":"app","paths":["/var/log/app.log"]}"#);
        assert!(config.validate().is_empty());
        assert_eq!(config.kind, LogKind::Auto);
        let matchers = Matchers::new(&config.patterns, &config.exclude).unwrap();
        assert!(matchers.patterns.unwrap().is_match(br#"{"level":"error"}"#));
        let err = serde_json::from_str::<LogsConfig>(r#"{"name":"a","paths":[],"path":"x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `path`"), "{err}");
    }

    fn toml_like(json: &str) -> LogsConfig {
        serde_json::from_str(json).unwrap()
    }
}
