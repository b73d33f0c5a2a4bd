//! What each command does, between the parsed command line and the modules that do the
//! work. Returns the exit status; errors become one line on stderr and status 2 in `main`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::cli::{
    CollectArgs, CollectWhen, Command, ConfigArg, ConfigCommand, OutputFormat, RulesCommand,
};
use crate::collect::{self, RunRequest};
use crate::config::WitnessConfig;
use crate::trigger::Trigger;

pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Collect { when: CollectWhen::Now { args } } => {
            collect_command(Utc::now(), args).await
        }
        Command::Collect { when: CollectWhen::At { anchor, args } } => {
            let anchor = DateTime::parse_from_rfc3339(&anchor)
                .with_context(|| {
                    format!("{anchor:?} is not an RFC 3339 time like 2025-11-19T21:00:00Z")
                })?
                .with_timezone(&Utc);
            if anchor > Utc::now() + chrono::Duration::minutes(5) {
                bail!(
                    "{} is in the future: `collect at` looks back at a past moment",
                    anchor.to_rfc3339()
                );
            }
            collect_command(anchor, args).await
        }
        Command::Serve { config, listen } => {
            let path = config_path(&config);
            crate::server::serve(path, listen).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { bundle, key } => verify(&bundle, key.as_deref()),
        Command::Show { bundle, format } => crate::report::show(&bundle, format),
        Command::List { config } => list(&load_config(&config)?),
        Command::Rules { command: RulesCommand::Check { files, config } } => {
            crate::rules::check_command(&files, &load_config(&config)?.rules)
        }
        Command::Rules { command: RulesCommand::Test { bundle, config } } => {
            crate::rules::test_command(&bundle, &load_config(&config)?.rules)
        }
        Command::Config { command: ConfigCommand::Check { config } } => config_check(&config),
        Command::Keygen { out } => {
            let (private, public) = crate::bundle::sign::keygen(&out)?;
            println!("private key: {} (set [signing] key_file to it)", private.display());
            println!("public key:  {} (give it to `witness verify --key`)", public.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The config file to use: `--config`/`WITNESS_CONFIG`, else `./witness.toml` when present.
fn config_path(arg: &ConfigArg) -> Option<PathBuf> {
    arg.config.clone().or_else(|| Some(PathBuf::from("witness.toml")).filter(|p| p.exists()))
}

/// Loads the configuration, or the zero config when there is no file.
fn load_config(arg: &ConfigArg) -> Result<WitnessConfig> {
    match config_path(arg) {
        Some(path) => Ok(WitnessConfig::load(&path)?),
        None => Ok(WitnessConfig::zero_config()),
    }
}

fn parse_labels(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => bail!("--label {pair:?} is not of the form key=value"),
        })
        .collect()
}

fn parse_since(text: &str) -> Result<Duration> {
    let d = humantime::parse_duration(text)
        .with_context(|| format!("--since {text:?} is not a duration like 30m or 2h"))?;
    if d.is_zero() {
        bail!("--since must be longer than zero");
    }
    Ok(d)
}

async fn collect_command(anchor: DateTime<Utc>, args: CollectArgs) -> Result<ExitCode> {
    let config = load_config(&args.config)?;
    let labels = parse_labels(&args.labels)?;
    let lookback = match &args.since {
        Some(text) => parse_since(text)?,
        None => Duration::from_secs(config.collect.lookback_secs),
    };
    if let Some(only) = &args.only {
        for kind in only {
            if !crate::registry::KINDS.iter().any(|k| k.name == kind) {
                let known: Vec<_> = crate::registry::KINDS.iter().map(|k| k.name).collect();
                bail!("--only {kind:?} is not a collector kind (known: {})", known.join(", "));
            }
        }
    }
    let store = args.out.clone().unwrap_or_else(|| config.store.dir.clone());
    let request = RunRequest {
        trigger: Trigger::manual(anchor, labels),
        anchor,
        lookback,
        only: args.only.clone(),
        store,
        id: None,
    };
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        // The first Ctrl-C stops the collectors and writes what was collected.
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    let progress = crate::progress::for_stderr();
    let collected = collect::collect(&config, request, &cancel, progress.as_ref()).await?;
    let archive = if args.archive {
        let path = collected.bundle.dir.with_extension("tar.gz");
        crate::bundle::archive::export(&collected.bundle.dir, &path)?;
        Some(path)
    } else {
        None
    };
    print_summary(&collected, archive.as_deref(), args.format);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(collected: &collect::Collected, archive: Option<&Path>, format: OutputFormat) {
    let view = &collected.view;
    let failed: Vec<_> = view
        .records
        .iter()
        .filter(|r| !r.status().has_evidence() && r.status() != witness_collector::Status::Skipped)
        .collect();
    let top = view.evaluation.hypotheses.first();
    match format {
        OutputFormat::Json => {
            let summary = serde_json::json!({
                "id": view.id,
                "bundle": collected.bundle.dir,
                "archive": archive,
                "root_sha256": collected.bundle.manifest.root_sha256,
                "anchor": witness_collector::time::format(view.anchor),
                "collectors": view.records.iter().map(|r| serde_json::json!({
                    "kind": r.kind, "name": r.name, "status": r.status(), "duration_ms": r.duration_ms, "error": r.error,
                })).collect::<Vec<_>>(),
                "top_hypothesis": top,
            });
            println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
        }
        OutputFormat::Text => {
            println!("bundle: {}", collected.bundle.dir.display());
            if let Some(archive) = archive {
                println!("archive: {}", archive.display());
            }
            if let Some(top) = top {
                println!(
                    "top hypothesis: {} ({} likelihood) — {}",
                    top.recommendation.as_str(),
                    top.likelihood.as_str(),
                    top.title
                );
                for command in &top.commands {
                    println!("  $ {command}");
                }
            }
            let ok = view.records.iter().filter(|r| r.status().has_evidence()).count();
            println!("collectors: {ok} of {} with evidence", view.records.len());
            for r in failed {
                println!(
                    "  {}/{} {}: {}",
                    r.kind,
                    r.name,
                    r.status(),
                    r.error.as_deref().unwrap_or("")
                );
            }
            println!("verify: witness verify {}", collected.bundle.dir.display());
        }
    }
}

fn verify(bundle: &Path, key: Option<&Path>) -> Result<ExitCode> {
    let key = key.map(crate::bundle::sign::load_verifying_key).transpose()?;
    let result = crate::bundle::verify::verify(bundle, key.as_ref())?;
    for problem in &result.problems {
        println!("{problem}");
    }
    if result.ok() {
        let signature = match (result.signed, result.signature_checked) {
            (true, true) => "signature valid",
            (true, false) => "signed (pass --key to check the signature)",
            (false, _) => "not signed",
        };
        println!(
            "ok: {} files match, root {}, {signature}",
            result.manifest.files.len(),
            result.manifest.root_sha256
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "witness: {} does not verify: {} problem(s)",
            bundle.display(),
            result.problems.len()
        );
        Ok(ExitCode::from(1))
    }
}

fn list(config: &WitnessConfig) -> Result<ExitCode> {
    let bundles = crate::bundle::store::list(&config.store.dir)?;
    if bundles.is_empty() {
        println!("no bundles in {}", config.store.dir.display());
    }
    for b in bundles {
        println!("{}  {}  {}  {}", b.id, b.trigger, b.collectors, b.top.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

fn config_check(arg: &ConfigArg) -> Result<ExitCode> {
    let Some(path) = config_path(arg) else {
        bail!("no configuration file: pass --config FILE (or set WITNESS_CONFIG)");
    };
    let inspection = WitnessConfig::inspect(&path)?;
    for warning in &inspection.warnings {
        eprintln!("warning: {warning}");
    }
    let config = inspection.config;
    let mut problems = inspection.problems;
    // Collectors are built only from a valid config; building is what validation allows.
    let plan = if inspection.valid { collect::plan(&config, None) } else { Vec::new() };
    for planned in &plan {
        if let crate::run::Planned::BuildFailed(reason) = &planned.action {
            problems.push(format!(
                "{}: collectors.{} {:?}: {reason}",
                path.display(),
                planned.kind,
                planned.name
            ));
        }
    }
    let rules = crate::rules::rule::RuleSet::load(&config.rules);
    problems.extend(rules.problems.iter().filter(|p| p.fatal).map(|p| format!("rules: {p}")));
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!(
        "{}: ok, {} rule(s), {} collector instance(s):",
        path.display(),
        rules.rules.len(),
        plan.len()
    );
    for planned in plan {
        println!("  {}/{} (deadline {:?})", planned.kind, planned.name, planned.timeout);
    }
    Ok(ExitCode::SUCCESS)
}
