//! The `status_page` collector kind: vendor status pages (Atlassian Statuspage v2 and others).
//!
//! Not built yet: configuring it is accepted, and building it reports that it is not
//! available in this version.

use std::time::Duration;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};

/// One `[[collectors.status_page]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// Instance name, unique among `status_page` instances; names `evidence/status_page-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl CollectorConfig for StatusPageConfig {
    fn kind(&self) -> &'static str {
        "status_page"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout_secs.map(Duration::from_secs)
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        Err(vec![ConfigProblem::new("", "the status_page collector is not available in this version")])
    }
}
