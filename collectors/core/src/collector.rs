//! The two traits a collector kind implements: its configuration, which validates itself
//! and builds the collector (the config struct is the factory), and the collector, which
//! does the work of one run.

use std::ops::RangeInclusive;
use std::time::Duration;

use async_trait::async_trait;

use crate::{CollectContext, Evidence};

/// What one configured instance of a collector kind does during a run.
///
/// The orchestrator calls [`Collector::collect`] once per run, concurrently with every
/// other collector, under the instance's deadline and the run's cancellation. A collector
/// should watch `ctx.deadline` and `ctx.cancel` itself and return what it has as
/// [`Status::Partial`](crate::Status::Partial) evidence; if it does not, it is stopped at the
/// deadline and recorded as `timed_out`.
#[async_trait]
pub trait Collector: Send + Sync {
    /// Collects the evidence of this instance for the run described by `ctx`.
    ///
    /// # Errors
    /// A [`CollectError`] when nothing useful could be collected (the target cannot be
    /// reached, the configuration cannot be used). The run records it as a `failed`
    /// collector with the error's message and goes on. Problems that still leave some
    /// evidence should be returned as `Ok` evidence with status `partial` and notes.
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError>;

    /// The secrets this instance reads (a DSN, a header's token). The run reads them into
    /// its redactor before any collector starts, so a secret of one source is redacted in
    /// text every other source reads, however the collectors interleave.
    fn secrets(&self) -> Vec<crate::SecretRef> {
        Vec::new()
    }
}

/// The configuration of one instance of a collector kind, as read from `witness.toml`.
///
/// Implementations are `#[serde(deny_unknown_fields)]` structs whose fields are the user's
/// documentation. They validate themselves and build the collector.
pub trait CollectorConfig: Send + Sync {
    /// The instance name, unique within its kind; it names `evidence/<kind>-<name>.json`.
    fn name(&self) -> &str;

    /// The instance's own deadline, when the config sets one (`timeout_secs`).
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// Every problem with this configuration, each with the key it concerns relative to
    /// the instance (`paths[1]`, `dsn_env`). Empty when the configuration can be built.
    fn validate(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// What only this machine can tell before a run, for `witness config check`: an
    /// environment variable that is not set, a file (kubeconfig, CA, secret) that is
    /// missing. Keys as for [`CollectorConfig::validate`]. A run meets the same problems
    /// as a failed collector; `config check` says them first.
    fn check_environment(&self) -> Vec<ConfigProblem> {
        Vec::new()
    }

    /// Builds the collector.
    ///
    /// # Errors
    /// The problems that stop the collector from being built. Callers run
    /// [`CollectorConfig::validate`] first, so this fails only on what validation cannot
    /// see without doing the work (a regex that compiles too large, say).
    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>>;
}

/// What every [`CollectorConfig::build`] checks first: `Ok` when the configuration
/// validates, else all its problems (`validated(self)?;`).
///
/// # Errors
/// Every problem [`CollectorConfig::validate`] reports, when there is one.
pub fn validated<C: CollectorConfig + ?Sized>(config: &C) -> Result<(), Vec<ConfigProblem>> {
    let problems = config.validate();
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// The range of every deadline in seconds, the run's `collector_timeout_secs` and each
/// instance's `timeout_secs`: one second to one day.
pub const TIMEOUT_SECS: RangeInclusive<u64> = 1..=86_400;

/// One thing wrong with a configuration: the key it concerns and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key path relative to the collector instance, e.g. `paths[0]` or `timezone`.
    pub key: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }

    /// One problem for each `(key, value, range)` whose value is outside its range:
    /// "must be at least MIN" or "must be at most MAX". Every numeric setting has a
    /// documented range, so that no value, however absurd, reaches arithmetic that
    /// overflows (an `Instant` plus `u64::MAX` seconds panics).
    pub fn out_of_range<'a>(
        settings: impl IntoIterator<Item = (&'a str, u64, RangeInclusive<u64>)>,
    ) -> Vec<ConfigProblem> {
        settings
            .into_iter()
            .filter_map(|(key, value, range)| {
                if value < *range.start() {
                    Some(ConfigProblem::new(key, format!("must be at least {}", range.start())))
                } else if value > *range.end() {
                    Some(ConfigProblem::new(key, format!("must be at most {}", range.end())))
                } else {
                    None
                }
            })
            .collect()
    }

    /// The problem with an instance's own `timeout_secs`, when it is set and outside
    /// [`TIMEOUT_SECS`]. Every kind calls it from its `validate`.
    pub fn timeout(timeout_secs: Option<u64>) -> Vec<ConfigProblem> {
        Self::out_of_range(timeout_secs.map(|t| ("timeout_secs", t, TIMEOUT_SECS)))
    }

    /// One problem, "must be at least 1", for each `(key, value)` whose value is 0: for the
    /// counts, sizes and timeouts that 0 would silently turn off (a 0 s deadline times every
    /// run out; a 0 row cap keeps nothing).
    pub fn zeros<'a>(settings: impl IntoIterator<Item = (&'a str, u64)>) -> Vec<ConfigProblem> {
        settings
            .into_iter()
            .filter(|(_, value)| *value == 0)
            .map(|(key, _)| ConfigProblem::new(key, "must be at least 1"))
            .collect()
    }
}

/// Implements the two [`CollectorConfig`] methods every kind writes the same way, inside
/// `impl CollectorConfig for XxxConfig { ... }`: `name()` returns the `name` field and
/// `timeout()` the `timeout_secs: Option<u64>` field as a duration (the conventions every
/// config struct follows). The kind is not repeated here: the registry knows which kind an
/// instance belongs to from the kind's declaration.
///
/// ```
/// use witness_collector::{Collector, CollectorConfig, ConfigProblem};
///
/// struct EchoConfig {
///     name: String,
///     timeout_secs: Option<u64>,
/// }
///
/// impl CollectorConfig for EchoConfig {
///     witness_collector::instance_settings!();
///
///     fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
///         Err(vec![ConfigProblem::new("name", "an example only")])
///     }
/// }
///
/// let config = EchoConfig { name: "a".into(), timeout_secs: Some(3) };
/// assert_eq!(config.name(), "a");
/// assert_eq!(config.timeout(), Some(std::time::Duration::from_secs(3)));
/// ```
#[macro_export]
macro_rules! instance_settings {
    () => {
        fn name(&self) -> &str {
            &self.name
        }

        fn timeout(&self) -> ::std::option::Option<::std::time::Duration> {
            self.timeout_secs.map(::std::time::Duration::from_secs)
        }
    };
}

/// Why a collector produced no evidence at all.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The target could not be reached (connection refused, DNS, TLS, authentication).
    #[error("cannot reach {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// An external call did not answer within its own deadline.
    #[error("{what} did not answer within {after:?}")]
    Timeout { what: String, after: Duration },
    /// The configuration could not be used at run time (a missing secret, say).
    #[error("configuration: {0}")]
    Config(String),
    /// Anything else, with its context.
    #[error("{0}")]
    Other(String),
}

impl CollectError {
    pub fn other(message: impl std::fmt::Display) -> Self {
        Self::Other(message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Limited(u64);

    impl CollectorConfig for Limited {
        fn name(&self) -> &str {
            "a"
        }
        fn validate(&self) -> Vec<ConfigProblem> {
            ConfigProblem::zeros([("max_rows", self.0)])
        }
        fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
            validated(self)?;
            Err(vec![ConfigProblem::new("build", "reached only when valid")])
        }
    }

    #[test]
    fn build_stops_at_the_validation_problems() {
        let Err(problems) = Limited(0).build() else { panic!("an invalid config built") };
        assert_eq!(problems, [ConfigProblem::new("max_rows", "must be at least 1")]);
        let Err(problems) = Limited(5).build() else { panic!("the example never builds") };
        assert_eq!(problems[0].key, "build");
    }

    #[test]
    fn out_of_range_names_each_bound_crossed() {
        let problems = ConfigProblem::out_of_range([
            ("a", 0, 1..=10),
            ("b", 5, 1..=10),
            ("c", u64::MAX, 1..=10),
        ]);
        assert_eq!(
            problems,
            [
                ConfigProblem::new("a", "must be at least 1"),
                ConfigProblem::new("c", "must be at most 10")
            ]
        );
        assert_eq!(
            ConfigProblem::timeout(Some(u64::MAX)),
            [ConfigProblem::new("timeout_secs", "must be at most 86400")]
        );
        assert!(ConfigProblem::timeout(None).is_empty());
    }

    #[test]
    fn zeros_names_every_zero_setting_and_only_those() {
        let problems = ConfigProblem::zeros([("max_rows", 0), ("probes", 3), ("timeout_secs", 0)]);
        assert_eq!(
            problems,
            vec![
                ConfigProblem::new("max_rows", "must be at least 1"),
                ConfigProblem::new("timeout_secs", "must be at least 1"),
            ]
        );
    }
}
