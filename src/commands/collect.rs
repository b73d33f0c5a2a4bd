//! `witness collect now` and `witness collect at <RFC3339>`: one run from the command line,
//! with a spinner per collector and a short summary of the sealed bundle. The
//! configuration and everything it names are prepared before any collector starts.
//! With `--follow-up BUNDLE` the run is the follow-up of that incident: the incident
//! bundle is verified and loaded first, then witness waits for the window after the
//! resolution to pass (Ctrl-C stops the wait and collects what there is).

use crate::escape::{Keep, terminal};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::cli::{CollectArgs, OutputFormat};
use crate::run::follow_up::{FollowUpRequest, Incident, Resolution, window_after};
use crate::run::{self, Prepared, RunRequest, Sealed};
use crate::trigger::{Trigger, TriggerSource};

/// `collect now`: anchored at this moment.
///
/// # Errors
/// Bad usage or configuration, or a bundle that cannot be written.
pub async fn now(args: CollectArgs) -> Result<ExitCode> {
    collect(Utc::now(), When::Now, args).await
}

/// `collect at`: anchored at a past moment, at most 5 minutes ahead of now.
///
/// # Errors
/// See [`now`]; also an anchor that is not RFC 3339 or lies in the future.
pub async fn at(anchor: &str, args: CollectArgs) -> Result<ExitCode> {
    let anchor = DateTime::parse_from_rfc3339(anchor)
        .with_context(|| format!("{anchor:?} is not an RFC 3339 time like 2025-11-19T21:00:00Z"))?
        .with_timezone(&Utc);
    if anchor > Utc::now() + chrono::Duration::minutes(5) {
        bail!("{} is in the future: `collect at` looks back at a past moment", anchor.to_rfc3339());
    }
    collect(anchor, When::At, args).await
}

/// Which command the run comes from: it names the run's trigger, and says where a
/// follow-up's window starts.
#[derive(Clone, Copy, PartialEq)]
enum When {
    Now,
    At,
}

impl When {
    fn command(self) -> &'static str {
        match self {
            When::Now => "collect now",
            When::At => "collect at",
        }
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
    let most = *crate::config::LOOKBACK_SECS.end();
    if d.as_secs() > most {
        bail!(
            "--since {text:?} reaches back further than {} days, the most a window may",
            most / 86_400
        );
    }
    Ok(d)
}

/// `--generator-url`: an absolute http(s) link, as an alert carries it.
fn parse_generator_url(url: &str) -> Result<String> {
    if let Some((scheme, _)) = url.split_once("://")
        && !scheme.eq_ignore_ascii_case("http")
        && !scheme.eq_ignore_ascii_case("https")
    {
        bail!("--generator-url {url:?}: the scheme {scheme:?} is not http or https");
    }
    let uri: axum::http::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => bail!("--generator-url {url:?} is not a URL: {e}"),
    };
    // Any scheme left is http or https: the check above refused every other one.
    match (uri.scheme_str(), uri.host()) {
        (Some(_), Some(_)) => Ok(url.to_owned()),
        _ => bail!("--generator-url {url:?} is not a URL: it needs http(s)://host"),
    }
}

/// `when` names the run's trigger (`collect now` or `collect at`), as reports show it.
async fn collect(anchor: DateTime<Utc>, when: When, args: CollectArgs) -> Result<ExitCode> {
    let config = super::config::load(&args.config)?;
    let labels = parse_labels(&args.labels)?;
    let generator_url = args.generator_url.as_deref().map(parse_generator_url).transpose()?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let lookback = since.unwrap_or(Duration::from_secs(config.collect.lookback_secs));
    if let Some(only) = &args.only {
        for kind in only {
            if !crate::registry::KINDS.iter().any(|k| k.name == kind) {
                let known: Vec<_> = crate::registry::KINDS.iter().map(|k| k.name).collect();
                bail!("--only {kind:?} is not a collector kind (known: {})", known.join(", "));
            }
        }
    }
    let store = args.out.clone().unwrap_or_else(|| config.store.dir.clone());
    let prepared = run::prepare(Arc::new(config))?;
    // From here on witness's own log lines know the configured rules and its own secrets.
    crate::logging::set_redactor(&prepared.redactor);
    let request = match &args.follow_up {
        None => RunRequest {
            trigger: Trigger {
                name: when.command().to_owned(),
                generator_url,
                ..Trigger::manual(anchor, labels)
            },
            anchor,
            lookback,
            only: args.only.clone(),
            store,
            id: None,
            follow_up: None,
        },
        Some(incident) => {
            let mut request = follow_up(&prepared, incident, anchor, when, since).await?;
            request.trigger.labels.extend(labels);
            if generator_url.is_some() {
                request.trigger.generator_url = generator_url;
            }
            RunRequest { only: args.only.clone(), store, ..request }
        }
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
    let sealed = run::collect(&prepared, request, &cancel, progress.as_ref()).await?;
    let archive = if args.archive {
        let path = sealed.bundle.dir.with_extension("tar.gz");
        crate::bundle::archive::export(&sealed.bundle.dir, &path)?;
        Some(path)
    } else {
        None
    };
    print_summary(&sealed, archive.as_deref(), args.format);
    Ok(ExitCode::SUCCESS)
}

/// The follow-up run of the incident bundle at `path`: verified and loaded first (a
/// bundle that does not verify is refused), then the wait for the window after the
/// resolution. The resolution is `anchor` (`collect now`: now; `collect at`: its moment),
/// except that `collect now --since D` says it was D ago. The window is `--since`, else
/// `[follow_up] window_secs`, long; Ctrl-C during the wait collects what there is.
///
/// # Errors
/// The incident bundle cannot be read, does not verify, or is itself a follow-up.
async fn follow_up(
    prepared: &Prepared,
    path: &Path,
    anchor: DateTime<Utc>,
    when: When,
    since: Option<Duration>,
) -> Result<RunRequest> {
    let key = prepared.signing_key.as_ref().map(|k| k.verifying_key());
    let incident = Incident::load(path, key.as_ref())?;
    let span = since.unwrap_or_else(|| prepared.config.follow_up.window());
    let resolved_at = match (when, since) {
        (When::Now, Some(_)) => anchor - chrono::Duration::from_std(span)?,
        _ => anchor,
    };
    let until = resolved_at + chrono::Duration::from_std(span)?;
    let wait = (until - Utc::now()).to_std().unwrap_or_default();
    if !wait.is_zero() {
        eprintln!(
            "witness: following up on {}: waiting {} for the window after the resolution (until {}); Ctrl-C collects what there is now",
            incident.view.id,
            humantime::format_duration(Duration::from_secs(wait.as_secs_f64().ceil() as u64)),
            witness_collector::time::format(until),
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = tokio::signal::ctrl_c() => eprintln!("witness: collecting now."),
        }
    }
    let trigger = incident.follow_up_trigger(TriggerSource::Manual, resolved_at);
    let window = window_after(resolved_at, span, Utc::now());
    Ok(RunRequest {
        trigger,
        anchor: resolved_at,
        lookback: span,
        only: None,
        store: prepared.config.store.dir.clone(),
        id: None,
        follow_up: Some(FollowUpRequest {
            incident,
            resolution: Resolution { at: resolved_at, source: "manual".to_owned() },
            window,
        }),
    })
}

fn print_summary(sealed: &Sealed, archive: Option<&Path>, format: OutputFormat) {
    let view = &sealed.view;
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
                "bundle": sealed.bundle.dir,
                "archive": archive,
                "root_sha256": sealed.bundle.manifest.root_sha256,
                "anchor": witness_collector::time::format(view.anchor),
                "collectors": view.records.iter().map(|r| serde_json::json!({
                    "kind": r.kind, "name": r.name, "status": r.status(), "duration_ms": r.duration_ms, "error": r.error,
                })).collect::<Vec<_>>(),
                "severity": view.severity,
                "top_hypothesis": top,
                "durations": view.durations,
                "follow_up": view.follow_up,
            });
            println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
        }
        OutputFormat::Text => {
            // Titles, commands and errors carry evidence: no control character goes out.
            let field = |text: &str| terminal(text, Keep::Nothing);
            println!("bundle: {}", sealed.bundle.dir.display());
            if let Some(archive) = archive {
                println!("archive: {}", archive.display());
            }
            if let Some(severity) = &view.severity {
                println!("severity: {}", field(&severity.summary()));
            }
            if let Some(follow_up) = &view.follow_up {
                println!(
                    "follow-up of {} (root {}): {}",
                    follow_up.incident.id,
                    follow_up.incident.root_sha256,
                    field(&follow_up.verdict())
                );
                for check in &follow_up.checks {
                    println!(
                        "  {:<15} {} ({}): {}",
                        check.status.words(),
                        check.check.title(),
                        field(&check.source),
                        field(&check.detail)
                    );
                }
            }
            // A follow-up answers with its checks; its own hypotheses (the rollback is a
            // rollout there) are in the bundle, not offered as the next command.
            if let Some(top) = top.filter(|_| view.follow_up.is_none()) {
                println!(
                    "top hypothesis: {} ({} likelihood) — {}",
                    top.recommendation.as_str(),
                    top.likelihood.as_str(),
                    field(&top.title)
                );
                for command in &top.commands {
                    println!("  $ {}", field(command));
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
                    field(r.error.as_deref().unwrap_or(""))
                );
            }
            println!("verify: witness verify {}", sealed.bundle.dir.display());
        }
    }
}
