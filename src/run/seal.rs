//! Sealing, the last step of a run: the view and the raw artifacts become the bundle's
//! files (named by [`layout`]), the reports are rendered, and the bundle writer redacts,
//! writes, hashes and signs them. Nothing here collects or evaluates.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use witness_collector::Redactor;

use super::prepare::Prepared;
use super::view::RunView;
use crate::bundle::layout::{self, CollectorRecord};
use crate::bundle::manifest::{BundleRef, CollectorEntry, TriggerSummary};
use crate::bundle::writer::DraftFile;
use crate::bundle::{self, BundleDraft, Content, WrittenBundle};

/// A sealed run: the bundle on disk and the view its reports were rendered from.
pub struct Sealed {
    pub bundle: WrittenBundle,
    pub view: RunView,
}

/// Every file the bundle of a run will hold, sorted: the raw artifacts and other `loose`
/// files, the trigger, timeline, hypotheses and severity, the checks of a `follow_up`, one
/// evidence record per collector, and the reports.
pub fn file_list(records: &[CollectorRecord], loose: &[DraftFile], follow_up: bool) -> Vec<String> {
    let mut files: Vec<String> = loose.iter().map(|f| f.path.clone()).collect();
    files.extend(
        [layout::TRIGGER, layout::TIMELINE, layout::HYPOTHESES, layout::SEVERITY]
            .map(str::to_owned),
    );
    if follow_up {
        files.push(layout::FOLLOW_UP.to_owned());
    }
    files.extend(records.iter().map(CollectorRecord::evidence_path));
    files.extend([layout::REPORT_MD, layout::REPORT_HTML].map(str::to_owned));
    files.sort();
    files
}

/// Renders the reports of `view` and writes its bundle, with the `loose` files (raw
/// artifacts, the flight recorder), into `store`, through the run's `redactor` once more:
/// the bundle writer scans every byte it writes.
///
/// # Errors
/// When the bundle cannot be written (the store is not writable).
pub async fn seal(
    prepared: &Prepared,
    view: RunView,
    mut files: Vec<DraftFile>,
    created_at: DateTime<Utc>,
    redactor: &Redactor,
    store: PathBuf,
) -> anyhow::Result<Sealed> {
    files.push(json_file(layout::TRIGGER, &view.trigger));
    files.push(json_file(layout::TIMELINE, &view.timeline));
    files.push(json_file(layout::HYPOTHESES, &view.evaluation));
    if let Some(severity) = &view.severity {
        files.push(json_file(layout::SEVERITY, severity));
    }
    if let Some(follow_up) = &view.follow_up {
        files.push(json_file(layout::FOLLOW_UP, follow_up));
    }
    for record in &view.records {
        files.push(json_file(&record.evidence_path(), record));
    }
    for (path, text) in [
        (layout::REPORT_MD, crate::report::markdown(&view)),
        (layout::REPORT_HTML, crate::report::html(&view)),
    ] {
        files.push(DraftFile { path: path.into(), content: Content::Text(text), cuttable: false });
    }

    let draft = BundleDraft {
        id: view.id.clone(),
        created_at,
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        trigger: TriggerSummary {
            source: view.trigger.source.as_str().into(),
            name: view.trigger.name.clone(),
            labels: view.trigger.labels.clone(),
            fingerprint: view.trigger.fingerprint.clone(),
        },
        anchor: view.anchor,
        window: view.window,
        follows: view.follow_up.as_ref().map(|f| BundleRef {
            id: f.incident.id.clone(),
            root_sha256: f.incident.root_sha256.clone(),
        }),
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
                redactions: r.redactions.clone(),
            })
            .collect(),
        files,
    };
    let config = &prepared.config;
    let redactor = redactor.clone();
    let signing_key = prepared.signing_key.clone();
    let max_bytes = config.collect.max_bundle_bytes;
    let written = tokio::task::spawn_blocking(move || {
        bundle::writer::write(&store, draft, &redactor, signing_key.as_ref(), max_bytes)
    })
    .await??;
    let view = RunView { manifest: Some(written.manifest.clone()), ..view };
    Ok(Sealed { bundle: written, view })
}

fn json_file(path: &str, value: &impl serde::Serialize) -> DraftFile {
    let value =
        serde_json::to_value(value).unwrap_or_else(|e| serde_json::json!({"error": e.to_string()}));
    DraftFile { path: path.to_owned(), content: Content::Json(value), cuttable: false }
}
