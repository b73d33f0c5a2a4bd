//! A run: one trigger turned into one sealed bundle. `collect now`, `collect at`, the
//! daemon's webhooks and `/api/collect` all come here. Data flows one way, each step in
//! its own module, none calling back into an earlier one:
//!
//! 1. [`prepare`](mod@prepare): everything the configuration names that can be wrong —
//!    the rules, the signing key, the redaction patterns — is loaded and checked once,
//!    before any collector starts (the daemon holds the result and prepares again on
//!    reload);
//! 2. [`plan`](mod@plan): the configured collectors, built, each with its deadline;
//! 3. [`gather`](mod@gather): the collectors run concurrently under their deadlines and
//!    the run's cancellation;
//! 4. [`correlate`](mod@correlate): links between what the collectors saw (it may gather
//!    again);
//! 5. [`analyse`](mod@analyse): a pure function from the evidence and the rules to the
//!    [`RunView`] (timeline, hypotheses, [`impact`](mod@impact),
//!    [`durations`](mod@durations)), then its [`severity`](mod@severity) on the
//!    configured thresholds, and for a [`follow_up`](mod@follow_up) of a resolved incident
//!    its checks against the incident's bundle;
//! 6. [`seal`](mod@seal): reports rendered, everything redacted, written and signed.
//!
//! A follow-up is an ordinary run with two differences: its window is the span after the
//! resolution (not the lookback before an anchor), and its analysis also compares it with
//! the incident's sealed bundle, which its manifest names by id and root hash.
//!
//! Evidence gathered elsewhere (a scenario case's records) takes steps 5 and 6 alone
//! through [`seal_gathered`].

pub mod analyse;
pub mod correlate;
pub mod durations;
pub mod follow_up;
pub mod gather;
pub mod impact;
pub mod plan;
pub mod prepare;
pub mod seal;
pub mod severity;
pub mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use witness_collector::{Redactor, Window};

use crate::bundle::writer::DraftFile;
use crate::bundle::{self, Content};
use crate::trigger::Trigger;
use analyse::{Gathered, analyse};
use gather::{CollectorOutcome, Progress, Scope, gather};
use plan::PlannedCollector;
pub use prepare::{PrepareError, Prepared, prepare};
pub use seal::Sealed;
use seal::seal;
use view::BundleInfo;
pub use view::RunView;

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
    /// A follow-up of a resolved incident: its window replaces the lookback's, and the
    /// run is checked against the incident's bundle.
    pub follow_up: Option<follow_up::FollowUpRequest>,
}

/// The window of a run: from `anchor - lookback` to now, or, for an anchor far in the
/// past (`collect at`), to `anchor + lookback`. Saturating: callers bound the lookback
/// (`[collect] lookback_secs`, `--since`), and no value may panic here regardless.
pub fn window_for(anchor: DateTime<Utc>, lookback: Duration, now: DateTime<Utc>) -> Window {
    let lookback = chrono::Duration::from_std(lookback).unwrap_or(chrono::Duration::MAX);
    let later = anchor.checked_add_signed(lookback).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let start = anchor.checked_sub_signed(lookback).unwrap_or(DateTime::<Utc>::MIN_UTC);
    Window::new(start, now.min(later).max(anchor))
}

/// Runs the configured collectors for `request` and seals the bundle.
///
/// # Errors
/// When the bundle cannot be written (the store is not writable). Collector failures are
/// evidence, not errors.
pub async fn collect(
    prepared: &Prepared,
    request: RunRequest,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> anyhow::Result<Sealed> {
    let plan = plan::plan(&prepared.config, request.only.as_deref());
    collect_planned(prepared, request, plan, cancel, progress).await
}

/// Runs `plan` (instead of the configured collectors) for `request` and seals the bundle.
///
/// # Errors
/// See [`collect`].
pub async fn collect_planned(
    prepared: &Prepared,
    request: RunRequest,
    plan: Vec<PlannedCollector>,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> anyhow::Result<Sealed> {
    collect_amended(prepared, request, plan, cancel, progress, |_| Vec::new()).await
}

/// [`collect_planned`], with `amend` called once the collectors are done and before
/// anything is analysed: it may add to the trigger (alerts that joined the run meanwhile)
/// and returns extra files for the bundle (the daemon's flight recorder).
///
/// # Errors
/// See [`collect`].
pub async fn collect_amended(
    prepared: &Prepared,
    mut request: RunRequest,
    plan: Vec<PlannedCollector>,
    cancel: &CancellationToken,
    progress: &dyn Progress,
    amend: impl FnOnce(&mut Trigger) -> Vec<DraftFile> + Send,
) -> anyhow::Result<Sealed> {
    let created_at = Utc::now();
    let id = request.id.clone().unwrap_or_else(|| bundle::new_id(created_at));
    let window = match &request.follow_up {
        Some(follow_up) => follow_up.window,
        None => window_for(request.anchor, request.lookback, created_at),
    };
    let redactor = prepared.redactor.for_bundle();
    gather::register_secrets(&plan, &redactor);
    // What started the run is text from the world too: redacted before anything reads it.
    request.trigger.redact(&redactor);
    let scope = Scope {
        anchor: request.anchor,
        window,
        trigger: request.trigger.for_collectors(),
        redactor,
    };

    let git = correlate::rerunnable(&plan);
    let mut outcomes = gather(plan, &scope, cancel, progress).await;
    correlate::deployed_revision_from_images(&mut outcomes, git, &scope, cancel, progress).await;

    let mut records = Vec::with_capacity(outcomes.len());
    let mut files = Vec::new();
    for CollectorOutcome { record, artifacts } in outcomes {
        for artifact in artifacts {
            files.push(DraftFile {
                path: record.artifact_path(&artifact.path),
                content: Content::Bytes(artifact.contents),
                cuttable: true,
            });
        }
        records.push(record);
    }
    files.extend(amend(&mut request.trigger));

    let gathered = Gathered { trigger: request.trigger, anchor: request.anchor, window, records };
    let sealing = Sealing { id, created_at, redactor: scope.redactor, store: request.store };
    analyse_and_seal(prepared, gathered, files, request.follow_up, sealing).await
}

/// Seals evidence gathered elsewhere — the records of a scenario case, a replay — into a
/// new bundle in `store`, exactly as a run seals what its collectors gathered: analysed on
/// the loaded rules, its severity assessed on the configured thresholds, the reports
/// rendered, everything redacted (the trigger first), written, hashed and signed. The
/// bundle verifies like any other.
///
/// # Errors
/// See [`collect`].
pub async fn seal_gathered(
    prepared: &Prepared,
    mut gathered: Gathered,
    store: PathBuf,
) -> anyhow::Result<Sealed> {
    let created_at = Utc::now();
    let redactor = prepared.redactor.for_bundle();
    gathered.trigger.redact(&redactor);
    let sealing = Sealing { id: bundle::new_id(created_at), created_at, redactor, store };
    analyse_and_seal(prepared, gathered, Vec::new(), None, sealing).await
}

/// Where and as what a run's bundle is sealed.
struct Sealing {
    id: String,
    created_at: DateTime<Utc>,
    redactor: Redactor,
    store: PathBuf,
}

/// The steps of a run after gathering: analysis, severity, the checks of a `follow_up`,
/// and the seal of `gathered` with the `files` beside it.
async fn analyse_and_seal(
    prepared: &Prepared,
    gathered: Gathered,
    files: Vec<DraftFile>,
    follow_up: Option<follow_up::FollowUpRequest>,
    sealing: Sealing,
) -> anyhow::Result<Sealed> {
    let Sealing { id, created_at, redactor, store } = sealing;
    let bundle = BundleInfo {
        id,
        files: seal::file_list(&gathered.records, &files, follow_up.is_some()),
        signed: prepared.signing_key.is_some(),
        manifest: None,
    };
    // Off the async threads: rules may take up to their deadline each, and signals,
    // `/healthz` and the other runs must go on meanwhile.
    let rules = Arc::clone(&prepared.rules);
    let thresholds = prepared.config.severity.clone();
    let view: RunView = tokio::task::spawn_blocking(move || {
        let mut view = analyse(gathered, &rules, bundle);
        view.severity =
            Some(severity::assess(&view.records, &view.trigger, view.window, &thresholds));
        if let Some(follow_up) = &follow_up {
            let checked = follow_up::assess(&view.id, follow_up, &view.records, &thresholds);
            view.durations = checked.durations.clone();
            view.follow_up = Some(checked);
        }
        view
    })
    .await
    .context("the analysis of the run stopped")?;
    seal(prepared, view, files, created_at, &redactor, store).await
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

    /// Issue 22: `--since 300000y` panicked here ("DateTime - TimeDelta overflowed").
    #[test]
    fn a_lookback_past_the_calendar_saturates() {
        let now = Utc.with_ymd_and_hms(2025, 11, 20, 12, 0, 0).unwrap();
        let w = window_for(now, Duration::from_secs(u64::MAX), now);
        assert_eq!((w.start, w.end), (DateTime::<Utc>::MIN_UTC, now));
    }
}
