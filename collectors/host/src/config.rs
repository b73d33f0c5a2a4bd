//! The `[[collectors.host]]` configuration: the sampling interval, the top-process lists
//! and the saturation thresholds; it validates itself and builds a [`HostCollector`].

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};

use crate::HostCollector;

/// One `[[collectors.host]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Instance name; names `evidence/host-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Time between the two CPU samples, in milliseconds (default 500; sysinfo needs at
    /// least 200).
    #[serde(default = "default_cpu_sample_ms")]
    pub cpu_sample_ms: u64,
    /// How many processes to keep in each top list (default 10).
    #[serde(default = "default_top_processes")]
    pub top_processes: usize,
    /// CPU busy ratio at or above which the host counts as CPU-saturated (default 0.9).
    #[serde(default = "default_saturation_ratio")]
    pub cpu_saturation_ratio: f64,
    /// Memory used ratio at or above which the host counts as memory-saturated (default 0.9).
    #[serde(default = "default_saturation_ratio")]
    pub mem_saturation_ratio: f64,
}

fn default_cpu_sample_ms() -> u64 {
    500
}
fn default_top_processes() -> usize {
    10
}
fn default_saturation_ratio() -> f64 {
    0.9
}

impl HostConfig {
    /// An instance with every default.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            timeout_secs: None,
            cpu_sample_ms: default_cpu_sample_ms(),
            top_processes: default_top_processes(),
            cpu_saturation_ratio: default_saturation_ratio(),
            mem_saturation_ratio: default_saturation_ratio(),
        }
    }
}

impl CollectorConfig for HostConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !(200..=10_000).contains(&self.cpu_sample_ms) {
            problems.push(ConfigProblem::new("cpu_sample_ms", "must be between 200 and 10000"));
        }
        for (key, ratio) in [
            ("cpu_saturation_ratio", self.cpu_saturation_ratio),
            ("mem_saturation_ratio", self.mem_saturation_ratio),
        ] {
            if !(ratio > 0.0 && ratio <= 1.0) {
                problems.push(ConfigProblem::new(key, "must be a ratio in (0, 1]"));
            }
        }
        problems.extend(ConfigProblem::out_of_range([(
            "top_processes",
            self.top_processes as u64,
            0..=1000,
        )]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        problems
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(HostCollector::new(self.clone())))
    }
}
