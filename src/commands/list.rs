//! `witness list`: the bundles of the store, newest first.

use std::process::ExitCode;

use anyhow::Result;

use crate::config::WitnessConfig;
use crate::escape::{Keep, terminal};

/// Prints one line per bundle: id, severity, trigger, collectors, and the top
/// recommendation (of a follow-up: the incident it checks and its verdict), each with its
/// control characters escaped (an alert title is whatever a sender wrote).
///
/// # Errors
/// When the store exists but cannot be read.
pub fn list(config: &WitnessConfig) -> Result<ExitCode> {
    let bundles = crate::bundle::store::list(&config.store.dir)?;
    if bundles.is_empty() {
        println!("no bundles in {}", config.store.dir.display());
    }
    let field = |text: &str| terminal(text, Keep::Nothing);
    for b in bundles {
        let top = crate::run::follow_up::listing(&b.dir).or(b.top).unwrap_or_default();
        let severity = b.severity.unwrap_or_else(|| "-".to_owned());
        let line =
            [&b.id, &severity, &b.trigger, &b.collectors.to_string(), &top].map(|f| field(f));
        println!("{}", line.join("  "));
    }
    Ok(ExitCode::SUCCESS)
}
