//! The plan of a run: every configured collector instance, built from its config, with its
//! deadline, or the reason it will not run (not selected with `--only`, or a configuration
//! that does not build). Planning does no I/O and starts nothing.

use std::sync::Arc;
use std::time::Duration;

use witness_collector::Collector;

use crate::config::WitnessConfig;

/// One collector instance of a run's plan.
pub struct PlannedCollector {
    pub kind: &'static str,
    pub name: String,
    pub timeout: Duration,
    pub action: Planned,
}

/// What the run does with a planned instance.
pub enum Planned {
    /// Run it.
    Run(Arc<dyn Collector>),
    /// Record it as `failed` with this reason: its configuration could not be built.
    BuildFailed(String),
    /// Record it as `skipped` with this reason (not selected with `--only`).
    Skip(String),
}

/// Builds the plan: every configured instance, built, with its deadline; instances of
/// kinds not in `only` are skipped.
pub fn plan(config: &WitnessConfig, only: Option<&[String]>) -> Vec<PlannedCollector> {
    let default_timeout = Duration::from_secs(config.collect.collector_timeout_secs);
    config
        .collectors
        .instances()
        .into_iter()
        .map(|(kind, _, instance)| {
            let name = instance.name().to_owned();
            let timeout = instance.timeout().unwrap_or(default_timeout);
            let action = match only {
                Some(kinds) if !kinds.iter().any(|k| k == kind) => {
                    Planned::Skip(format!("not selected (--only {})", kinds.join(",")))
                }
                _ => match instance.build() {
                    Ok(collector) => Planned::Run(Arc::from(collector)),
                    Err(problems) => Planned::BuildFailed(
                        problems
                            .iter()
                            .map(|p| format!("{}: {}", p.key, p.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                },
            };
            PlannedCollector { kind, name, timeout, action }
        })
        .collect()
}
