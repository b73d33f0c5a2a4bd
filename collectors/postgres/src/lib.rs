//! The `postgres` collector kind: pg_stat_activity, lock chains, connection pressure, deadlocks.
//!
//! Not built yet: configuring it is accepted, and building it reports that it is not
//! available in this version.

use std::time::Duration;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};

/// One `[[collectors.postgres]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Instance name, unique among `postgres` instances; names `evidence/postgres-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl CollectorConfig for PostgresConfig {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout_secs.map(Duration::from_secs)
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        Err(vec![ConfigProblem::new("", "the postgres collector is not available in this version")])
    }
}
