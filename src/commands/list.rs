//! `witness list`: the bundles of the store, newest first: the object store's index when
//! one is named (`--store`, or `[store] url`), else the local directory.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::StoreArg;
use crate::escape::{Keep, terminal};

/// Prints one line per bundle: id, severity, trigger, collectors, and the top
/// recommendation (of a follow-up: the incident it checks and its verdict), each with its
/// control characters escaped (an alert title is whatever a sender wrote).
///
/// # Errors
/// When the config does not load, or the store exists but cannot be read.
pub async fn list(arg: &StoreArg, limit: usize) -> Result<ExitCode> {
    let field = |text: &str| terminal(text, Keep::Nothing);
    if let Some(store) = super::remote::open(arg, None)? {
        let entries = store.list(limit).await?;
        if entries.is_empty() {
            println!("no bundles in {}", store.url());
        }
        for e in entries {
            let severity = e.severity.unwrap_or_else(|| "-".to_owned());
            let top = e.top.unwrap_or_default();
            let line = [&e.id, &severity, &e.trigger, &e.collectors, &top].map(|f| field(f));
            println!("{}", line.join("  "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let config = super::config::load(&arg.config)?;
    let bundles = crate::bundle::store::list(&config.store.dir)?;
    if bundles.is_empty() {
        println!("no bundles in {}", config.store.dir.display());
    }
    for b in bundles.into_iter().take(limit) {
        let top = crate::run::follow_up::listing(&b.dir).or(b.top).unwrap_or_default();
        let severity = b.severity.unwrap_or_else(|| "-".to_owned());
        let line =
            [&b.id, &severity, &b.trigger, &b.collectors.to_string(), &top].map(|f| field(f));
        println!("{}", line.join("  "));
    }
    Ok(ExitCode::SUCCESS)
}
