//! One whole run, from a trigger to a sealed bundle: plan the configured collectors, run
//! them, merge the timeline, evaluate the rules, render the reports and write the bundle.
//! `collect now`, `collect at`, the daemon's webhooks and `/api/collect` all come here.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use witness_collector::{SecretRegistry, Window};

use crate::bundle::manifest::{CollectorEntry, TriggerSummary};
use crate::bundle::writer::DraftFile;
use crate::bundle::{self, BundleDraft, Content, WrittenBundle};
use crate::config::WitnessConfig;
use crate::redact::Redactor;
use crate::rules;
use crate::run::{self, CollectorOutcome, Planned, PlannedCollector, Progress, RunScope};
use crate::timeline;
use crate::trigger::Trigger;
use crate::view::RunView;

/// What to collect for.
pub struct RunRequest {
    pub trigger: Trigger,
    /// The moment the run is about: the alert's start, or now.
    pub anchor: DateTime<Utc>,
    /// How far before the anchor the window starts.
    pub lookback: Duration,
    /// Only these kinds run; the others are recorded as skipped.
    pub only: Option<Vec<String>>,
    /// Where the bundle goes (the configured store unless `--out`).
    pub store: PathBuf,
    /// The bundle id to use (the daemon picks it when it accepts the alert).
    pub id: Option<String>,
}

/// A finished run.
pub struct Collected {
    pub bundle: WrittenBundle,
    pub view: RunView,
}

/// The window of a run: from `anchor - lookback` to now, or, for an anchor far in the
/// past (`collect at`), to `anchor + lookback`.
pub fn window_for(anchor: DateTime<Utc>, lookback: Duration, now: DateTime<Utc>) -> Window {
    let lookback = chrono::Duration::from_std(lookback).unwrap_or(chrono::Duration::minutes(30));
    let end = now.min(anchor + lookback).max(anchor);
    Window::new(anchor - lookback, end)
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

/// Runs the configured collectors for `request` and seals the bundle.
///
/// # Errors
/// When the bundle cannot be written (the store is not writable, the signing key cannot be
/// read). Collector failures are evidence, not errors.
pub async fn collect(
    config: &WitnessConfig,
    request: RunRequest,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> anyhow::Result<Collected> {
    let plan = plan(config, request.only.as_deref());
    collect_planned(config, request, plan, cancel, progress).await
}

/// Runs `plan` (instead of the configured collectors) for `request` and seals the bundle.
///
/// # Errors
/// See [`collect`].
pub async fn collect_planned(
    config: &WitnessConfig,
    request: RunRequest,
    plan: Vec<PlannedCollector>,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> anyhow::Result<Collected> {
    collect_amended(config, request, plan, cancel, progress, |_| Vec::new()).await
}

/// [`collect_planned`], with `amend` called once the collectors are done and before
/// anything is written: it may add to the trigger (alerts that joined the run meanwhile)
/// and returns extra files for the bundle (the daemon's flight recorder).
///
/// # Errors
/// See [`collect`].
pub async fn collect_amended(
    config: &WitnessConfig,
    mut request: RunRequest,
    plan: Vec<PlannedCollector>,
    cancel: &CancellationToken,
    progress: &dyn Progress,
    amend: impl FnOnce(&mut Trigger) -> Vec<DraftFile> + Send,
) -> anyhow::Result<Collected> {
    let created_at = Utc::now();
    let id = request.id.clone().unwrap_or_else(|| bundle::new_id(created_at));
    let window = window_for(request.anchor, request.lookback, created_at);
    let scope = RunScope {
        anchor: request.anchor,
        window,
        trigger: request.trigger.for_collectors(),
        secrets: SecretRegistry::default(),
    };
    let git = crate::correlate::rerunnable(&plan);
    let mut outcomes = run::run_collectors(plan, &scope, cancel, progress).await;
    crate::correlate::deployed_revision_from_images(&mut outcomes, git, &scope, cancel, progress)
        .await;

    let mut records = Vec::with_capacity(outcomes.len());
    let mut files = Vec::new();
    for CollectorOutcome { record, artifacts } in outcomes {
        for artifact in artifacts {
            let path = format!("{}/{}", record.artifact_dir(), artifact.path);
            files.push(DraftFile {
                path,
                content: Content::Bytes(artifact.contents),
                cuttable: true,
            });
        }
        records.push(record);
    }
    files.extend(amend(&mut request.trigger));
    let timeline = timeline::build(&request.trigger, request.anchor, window, &records);
    let evaluation = rules::evaluate(&config.rules, &records, &timeline);
    let view = RunView {
        id: id.clone(),
        anchor: request.anchor,
        window,
        trigger: request.trigger,
        records,
        timeline,
        evaluation,
        manifest: None,
        files: Vec::new(),
        signed: config.signing.key_file.is_some(),
    };

    files.push(json_file("trigger.json", &view.trigger));
    files.push(json_file("timeline.json", &view.timeline));
    files.push(json_file("hypotheses.json", &view.evaluation));
    for record in &view.records {
        files.push(json_file(&record.evidence_path(), record));
    }
    let mut view = view;
    view.files = files.iter().map(|f| f.path.clone()).collect();
    view.files.extend(["report.md".to_owned(), "report.html".to_owned()]);
    view.files.sort();
    for (path, text) in
        [("report.md", crate::report::markdown(&view)), ("report.html", crate::report::html(&view))]
    {
        files.push(DraftFile { path: path.into(), content: Content::Text(text), cuttable: false });
    }

    let draft = BundleDraft {
        id,
        created_at,
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        trigger: TriggerSummary {
            source: view.trigger.source.as_str().into(),
            name: view.trigger.name.clone(),
            labels: view.trigger.labels.clone(),
            fingerprint: view.trigger.fingerprint.clone(),
        },
        anchor: view.anchor,
        window,
        collectors: view
            .records
            .iter()
            .map(|r| CollectorEntry {
                kind: r.kind.clone(),
                name: r.name.clone(),
                status: r.status(),
                started_at: r.started_at,
                finished_at: r.finished_at,
                error: r.error.clone(),
            })
            .collect(),
        files,
    };
    let redactor = Redactor::new(&config.redaction, scope.secrets.values())?;
    let signing_key = match &config.signing.key_file {
        Some(path) => Some(bundle::sign::load_signing_key(path)?),
        None => None,
    };
    let store = request.store;
    let max_bytes = config.collect.max_bundle_bytes;
    let written = tokio::task::spawn_blocking(move || {
        bundle::writer::write(&store, draft, &redactor, signing_key.as_ref(), max_bytes)
    })
    .await??;
    let view = RunView { manifest: Some(written.manifest.clone()), ..view };
    Ok(Collected { bundle: written, view })
}

fn json_file(path: &str, value: &impl serde::Serialize) -> DraftFile {
    let value =
        serde_json::to_value(value).unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
    DraftFile { path: path.to_owned(), content: Content::Json(value), cuttable: false }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_end_now_or_one_lookback_after_a_past_anchor() {
        let now = Utc.with_ymd_and_hms(2025, 11, 20, 12, 0, 0).unwrap();
        let thirty = Duration::from_secs(1800);
        let w = window_for(now, thirty, now);
        assert_eq!((w.start, w.end), (now - chrono::Duration::minutes(30), now));
        let past = now - chrono::Duration::days(1);
        let w = window_for(past, thirty, now);
        assert_eq!(
            (w.start, w.end),
            (past - chrono::Duration::minutes(30), past + chrono::Duration::minutes(30))
        );
    }
}
