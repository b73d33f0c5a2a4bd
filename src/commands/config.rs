//! Which configuration a command uses (`--config`, `$WITNESS_CONFIG`, `./witness.toml`,
//! else the zero configuration), and `witness config check`: inspects the file (every
//! problem at once, what only this machine can tell included), builds every collector,
//! prepares what the file names (rules, signing key), and prints what would run.

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
    let inspection = WitnessConfig::inspect(&path)?;
    for warning in &inspection.warnings {
        eprintln!("warning: {warning}");
    }
    let config = inspection.config;
    let mut problems = inspection.problems;
    // Collectors are built only from a valid config; building is what validation allows.
    let plan = if inspection.valid { plan(&config, None) } else { Vec::new() };
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
            // The inspection said some of these already, with their line.
            let new: Vec<String> = e
                .problems
                .into_iter()
                .filter(|p| !problems.iter().any(|q| q.ends_with(p)))
                .collect();
            problems.extend(new);
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
