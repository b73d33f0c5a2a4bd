//! The follow-up of an incident: after it resolves (an Alertmanager or Grafana
//! `resolved`, PagerDuty's `incident.resolved`, or `witness collect now --follow-up
//! BUNDLE`), the same collectors run over a short window after the resolution, and what
//! they see is compared with the incident's sealed bundle. Is the error rate back to the
//! baseline, are the incident's new error signatures gone, 5xx and latency back, health
//! passing, the recommended action taken (the Deployment at the revision the rollback
//! named), the vendor's incident resolved, the lock tree gone? Each check says `passed`,
//! `not_yet` or `could_not_check`, citing the evidence in both bundles.
//!
//! The follow-up is its own bundle: it names the incident bundle by id and root hash in
//! its manifest, and never touches it. This module owns what the follow-up adds to a run:
//! loading the incident ([`Incident::load`], verified first), the window after the
//! resolution ([`FollowUpRequest`]), and the comparison ([`assess`], a pure function of
//! the two, in [`checks`]), written as `follow-up.json`.

pub mod check;
mod checks;
pub mod outcome;

use std::path::Path;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use witness_collector::Window;

pub use check::{Check, CheckKind, CheckStatus};
pub use outcome::{Counts, FollowUp, IncidentRef, Resolution, listing};

use super::durations::Durations;
use super::view::RunView;
use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
use crate::trigger::{Trigger, TriggerSource};

/// The incident bundle a follow-up checks: its view, as sealed, after its hashes (and
/// signature, with a key) verified.
pub struct Incident {
    pub view: RunView,
    pub root_sha256: String,
}

impl Incident {
    /// Loads the incident bundle at `path` (a directory or `.tar.gz`), verifying every
    /// hash, its root hash and, with `key`, its signature first: a follow-up must not
    /// vouch for a bundle that was changed.
    ///
    /// # Errors
    /// When the bundle cannot be read, does not verify, or is itself a follow-up.
    pub fn load(path: &Path, key: Option<&ed25519_dalek::VerifyingKey>) -> anyhow::Result<Self> {
        let verified = crate::bundle::verify::verify(path, key)?;
        if !verified.ok() {
            let problems: Vec<String> = verified.problems.iter().map(ToString::to_string).collect();
            bail!(
                "the incident bundle {} does not verify ({}): a follow-up only checks a sealed, \
                 unchanged bundle",
                path.display(),
                problems.join("; ")
            );
        }
        if let Some(incident) = &verified.manifest.follows {
            bail!(
                "{} is a follow-up of {}: give the incident's own bundle",
                path.display(),
                incident.id
            );
        }
        let view = RunView::load(path)
            .with_context(|| format!("cannot read the incident bundle {}", path.display()))?;
        Ok(Self { view, root_sha256: verified.manifest.root_sha256 })
    }

    /// The trigger of the follow-up: the incident's alert (its labels pick what the
    /// collectors look at, as they did for the incident), resolved at `at` by `source`.
    pub fn follow_up_trigger(&self, source: TriggerSource, at: DateTime<Utc>) -> Trigger {
        Trigger {
            source,
            status: "resolved".to_owned(),
            ends_at: Some(at),
            joined: Vec::new(),
            raw: None,
            ..self.view.trigger.clone()
        }
    }

    fn reference(&self) -> IncidentRef {
        let view = &self.view;
        IncidentRef {
            id: view.id.clone(),
            root_sha256: self.root_sha256.clone(),
            trigger: format!("{}: {}", view.trigger.source.as_str(), view.trigger.name),
            anchor: view.anchor,
            severity: view.severity.as_ref().map(|s| s.level.as_str().to_owned()),
            recommendation: view
                .evaluation
                .hypotheses
                .first()
                .map(|h| format!("{}: {}", h.recommendation.as_str(), h.title)),
        }
    }
}

/// A follow-up run: the incident it checks, the resolution, and its window.
pub struct FollowUpRequest {
    pub incident: Incident,
    pub resolution: Resolution,
    /// From the resolution to one `[follow_up] window_secs` after it (or to now, when a
    /// responder stopped the wait).
    pub window: Window,
}

/// The window of a follow-up resolved at `resolved_at`: the `span` after it, ending no
/// later than `now` (a responder may stop the wait), and at least a second long.
pub fn window_after(
    resolved_at: DateTime<Utc>,
    span: std::time::Duration,
    now: DateTime<Utc>,
) -> Window {
    let span = chrono::Duration::from_std(span).unwrap_or(chrono::Duration::days(1));
    let end = (resolved_at + span).min(now).max(resolved_at + chrono::Duration::seconds(1));
    Window::new(resolved_at, end)
}

/// Compares the follow-up bundle `id` (its `records`, over `request`'s window) with the
/// incident: every check, and the durations. Pure: the same two bundles give the same
/// follow-up.
pub fn assess(
    id: &str,
    request: &FollowUpRequest,
    records: &[CollectorRecord],
    thresholds: &SeverityConfig,
) -> FollowUp {
    let incident = &request.incident;
    let checks = checks::all(&incident.view, records, request.window, thresholds);
    let durations = Durations::of_incident(&incident.view.id, &incident.view.timeline)
        .with_follow_up(id, records, request.resolution.at);
    FollowUp {
        incident: incident.reference(),
        resolution: request.resolution.clone(),
        window: request.window,
        checks,
        durations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_window_is_the_span_after_the_resolution_never_past_now() {
        let resolved = Utc.with_ymd_and_hms(2025, 11, 19, 21, 40, 0).unwrap();
        let five = std::time::Duration::from_secs(300);
        let later = resolved + chrono::Duration::hours(1);
        let w = window_after(resolved, five, later);
        assert_eq!((w.start, w.end), (resolved, resolved + chrono::Duration::minutes(5)));
        let stopped = window_after(resolved, five, resolved + chrono::Duration::seconds(90));
        assert_eq!(stopped.end, resolved + chrono::Duration::seconds(90));
        let at_once = window_after(resolved, five, resolved);
        assert_eq!(at_once.span(), chrono::Duration::seconds(1));
    }

    #[test]
    fn the_verdict_never_reads_missing_evidence_as_fixed() {
        let check = |status| Check {
            check: CheckKind::Health,
            source: "http/api".into(),
            status,
            detail: String::new(),
            incident_evidence: Vec::new(),
            evidence: Vec::new(),
        };
        let at = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
        let mut follow_up = FollowUp {
            incident: IncidentRef {
                id: "i".into(),
                root_sha256: "r".into(),
                trigger: "t".into(),
                anchor: at,
                severity: None,
                recommendation: None,
            },
            resolution: Resolution { at, source: "manual".into() },
            window: Window::new(at, at),
            checks: vec![check(CheckStatus::Passed), check(CheckStatus::CouldNotCheck)],
            durations: Durations::of_incident(
                "i",
                &crate::timeline::Timeline {
                    anchor: at,
                    window: Window::new(at, at),
                    entries: Vec::new(),
                    clocks: Vec::new(),
                },
            ),
        };
        assert!(follow_up.verdict().starts_with("partly checked"), "{}", follow_up.verdict());
        follow_up.checks.push(check(CheckStatus::NotYet));
        assert!(follow_up.verdict().starts_with("not yet: 1 of 3"), "{}", follow_up.verdict());
        follow_up.checks = vec![check(CheckStatus::Passed)];
        assert_eq!(follow_up.verdict(), "fixed: every check passed (1)");
        assert_eq!(follow_up.summary(), "1 passed, 0 not yet, 0 could not check");
    }
}
