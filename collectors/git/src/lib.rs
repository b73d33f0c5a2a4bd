//! The `git` collector kind: commits, tags and the files they touch before the anchor.
//!
//! Not built yet: configuring it is accepted, and building it reports that it is not
//! available in this version.

use std::time::Duration;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};

/// One `[[collectors.git]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// Instance name, unique among `git` instances; names `evidence/git-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl CollectorConfig for GitConfig {
    fn kind(&self) -> &'static str {
        "git"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout_secs.map(Duration::from_secs)
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        Err(vec![ConfigProblem::new("", "the git collector is not available in this version")])
    }
}

impl GitConfig {
    /// The zero-config instance: the repository containing the current directory, if any.
    pub fn discover_from_current_dir() -> Option<Self> {
        None
    }
}
