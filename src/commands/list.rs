//! `witness list`: the bundles of the store, newest first.

use std::process::ExitCode;

use anyhow::Result;

use crate::config::WitnessConfig;

/// Prints one line per bundle: id, trigger, collectors, top recommendation.
///
/// # Errors
/// When the store exists but cannot be read.
pub fn list(config: &WitnessConfig) -> Result<ExitCode> {
    let bundles = crate::bundle::store::list(&config.store.dir)?;
    if bundles.is_empty() {
        println!("no bundles in {}", config.store.dir.display());
    }
    for b in bundles {
        println!("{}  {}  {}  {}", b.id, b.trigger, b.collectors, b.top.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}
