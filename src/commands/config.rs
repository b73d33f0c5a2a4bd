//! Which configuration a command uses (`--config`, `$WITNESS_CONFIG`, `./witness.toml`,
//! else the zero configuration), and `witness config check`: loads the file, builds every
//! collector, prepares what the file names (rules, signing key), and prints what would run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};

use crate::cli::ConfigArg;
use crate::config::WitnessConfig;
use crate::run::plan::{Planned, plan};

/// Prints the number of rules and each collector instance with its deadline; every
/// problem at once otherwise.
///
/// # Errors
/// No file, or the problems found.
pub fn check(arg: &ConfigArg) -> Result<ExitCode> {
    let Some(path) = path(arg) else {
        bail!("no configuration file: pass --config FILE (or set WITNESS_CONFIG)");
    };
    let config = WitnessConfig::load(&path)?;
    let mut problems = Vec::new();
    let plan = plan(&config, None);
    for planned in &plan {
        if let Planned::BuildFailed(reason) = &planned.action {
            problems.push(format!(
                "{}: collectors.{} {:?}: {reason}",
                path.display(),
                planned.kind,
                planned.name
            ));
        }
    }
    let prepared = match crate::run::prepare(Arc::new(config)) {
        Ok(prepared) => Some(prepared),
        Err(e) => {
            problems.extend(e.problems);
            None
        }
    };
    let Some(prepared) = prepared.filter(|_| problems.is_empty()) else {
        bail!("{}", problems.join("\n"));
    };
    println!(
        "{}: ok, {} rule(s), {} collector instance(s):",
        path.display(),
        prepared.rules.rules.len(),
        plan.len()
    );
    for planned in plan {
        println!("  {}/{} (deadline {:?})", planned.kind, planned.name, planned.timeout);
    }
    Ok(ExitCode::SUCCESS)
}

/// The config file to use: `--config`/`WITNESS_CONFIG`, else `./witness.toml` when present.
pub fn path(arg: &ConfigArg) -> Option<PathBuf> {
    arg.config.clone().or_else(|| Some(PathBuf::from("witness.toml")).filter(|p| p.exists()))
}

/// Loads the configuration, or the zero config when there is no file.
pub fn load(arg: &ConfigArg) -> Result<WitnessConfig> {
    match path(arg) {
        Some(path) => Ok(WitnessConfig::load(&path)?),
        None => Ok(WitnessConfig::zero_config()),
    }
}
