//! Durations, part of analysing a run: how long the incident took to be seen and to be
//! over. The first new symptom (the first error of a new signature, a burst of errors or
//! 5xx, a failing health check, a crash loop, a lock wait) → the alert is the **time to
//! detect**; the alert → the mitigation witness observed (a rollout after the alert: the
//! rollback's) is the **time to mitigate**; the alert → the resolution is the **time to
//! resolve**. An incident's own bundle knows the first; its follow-up knows all three.
//! A moment that was not observed is absent, never guessed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bundle::layout::CollectorRecord;
use crate::timeline::{EvidenceRef, Timeline};

/// The timeline kinds that are symptoms users feel (not causes, not background noise: the
/// first error of a signature the baseline already had is not one), each timed when it
/// happened. An `error_spike` is timed at the start of its minute, up to a minute before
/// its first error: it counts only when nothing else was seen.
pub const SYMPTOMS: &[&str] = &[
    "new_signature",
    "status_5xx_burst",
    "health_failing",
    "health_slow",
    "pod_waiting",
    "oom_killed",
    "deployment_unavailable",
    "lock_wait",
    "deadlock",
    "connections_near_max",
];

/// A moment of the incident, with what it was and where the evidence of it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    #[serde(with = "witness_collector::time::millis")]
    pub at: DateTime<Utc>,
    pub what: String,
    /// The bundle the evidence is in (the incident's, or the follow-up's).
    pub bundle: String,
    pub evidence: EvidenceRef,
}

/// The incident's durations, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    /// The first new symptom in the incident's evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_symptom: Option<Moment>,
    /// When the alert started (the incident's anchor).
    #[serde(with = "witness_collector::time::millis")]
    pub alert_at: DateTime<Utc>,
    /// The mitigation witness saw: a rollout after the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<Moment>,
    /// When the incident resolved (of a follow-up only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "witness_collector::time::millis_opt"
    )]
    pub resolved_at: Option<DateTime<Utc>>,
    /// First new symptom → alert; negative when the alert came first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_detect_secs: Option<i64>,
    /// Alert → mitigation observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_mitigate_secs: Option<i64>,
    /// Alert → resolution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_resolve_secs: Option<i64>,
}

impl Durations {
    /// What the incident bundle `id`, anchored at its alert, can tell: the first new
    /// symptom on its `timeline` and the time to detect.
    pub fn of_incident(id: &str, timeline: &Timeline) -> Self {
        let alert_at = timeline.anchor;
        let first = |kinds: &[&str]| {
            timeline
                .entries
                .iter()
                .filter(|e| kinds.contains(&e.kind.as_str()))
                .min_by_key(|e| e.time)
        };
        let first_symptom = first(SYMPTOMS).or_else(|| first(&["error_spike"])).map(|e| Moment {
            at: e.time,
            what: e.title.clone(),
            bundle: id.to_owned(),
            evidence: e.evidence.clone(),
        });
        let time_to_detect_secs = first_symptom.as_ref().map(|m| (alert_at - m.at).num_seconds());
        Self {
            first_symptom,
            alert_at,
            mitigation: None,
            resolved_at: None,
            time_to_detect_secs,
            time_to_mitigate_secs: None,
            time_to_resolve_secs: None,
        }
    }

    /// The incident's durations completed by its follow-up `id`: the mitigation its
    /// `records` show after the alert, and the resolution at `resolved_at`.
    pub fn with_follow_up(
        mut self,
        id: &str,
        records: &[CollectorRecord],
        resolved_at: DateTime<Utc>,
    ) -> Self {
        self.mitigation = rollout_after(records, self.alert_at, resolved_at)
            .map(|m| Moment { bundle: id.to_owned(), ..m });
        self.time_to_mitigate_secs =
            self.mitigation.as_ref().map(|m| (m.at - self.alert_at).num_seconds());
        self.resolved_at = Some(resolved_at);
        self.time_to_resolve_secs = Some((resolved_at - self.alert_at).num_seconds());
        self
    }

    /// `(label, value)` lines for a report, only those known.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = Vec::new();
        if let (Some(secs), Some(first)) = (self.time_to_detect_secs, &self.first_symptom) {
            let value = if secs >= 0 {
                format!("{} (first new symptom {} → alert)", label(secs), utc(first.at))
            } else {
                format!("the alert came {} before the first symptom seen", label(-secs))
            };
            lines.push(("time to detect", value));
        }
        if let (Some(secs), Some(m)) = (self.time_to_mitigate_secs, &self.mitigation) {
            lines.push(("time to mitigate", format!("{} (alert → {})", label(secs), m.what)));
        }
        if let (Some(secs), Some(at)) = (self.time_to_resolve_secs, self.resolved_at) {
            let value = if secs >= 0 {
                format!("{} (alert → resolved {})", label(secs), utc(at))
            } else {
                format!("resolved {} before the alert ({})", label(-secs), utc(at))
            };
            lines.push(("time to resolve", value));
        }
        lines
    }
}

fn utc(t: DateTime<Utc>) -> String {
    witness_collector::time::format(t)
}

/// `4m12s`, `1h05m`, `30s`: the way reports write offsets, without the `T+`.
pub fn label(secs: i64) -> String {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    let offset = witness_collector::time::offset_label(at + chrono::Duration::seconds(secs), at);
    let sign = if secs < 0 { "-" } else { "" };
    format!("{sign}{}", &offset[2..])
}

/// The current revision of a Deployment in `records` when it was rolled out after
/// `alert_at` (and by `until`): the rollback's rollout, or a fix's.
fn rollout_after(
    records: &[CollectorRecord],
    alert_at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Option<Moment> {
    let mut found: Vec<Moment> = Vec::new();
    for record in records.iter().filter(|r| r.kind == "kubernetes" && r.status().has_evidence()) {
        let deployments = record.evidence.data.get("deployments").and_then(|d| d.as_array());
        for (d, deployment) in deployments.into_iter().flatten().enumerate() {
            let revisions = deployment.pointer("/history/revisions").and_then(|r| r.as_array());
            for (r, revision) in revisions.into_iter().flatten().enumerate() {
                let current = revision.get("current").and_then(|c| c.as_bool()) == Some(true);
                let at = revision
                    .get("rolled_out_at")
                    .and_then(|t| t.as_str())
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.to_utc());
                let Some(at) = at.filter(|at| current && *at > alert_at && *at <= until) else {
                    continue;
                };
                let name = deployment.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                let number = revision.get("revision").and_then(|n| n.as_i64()).unwrap_or(0);
                found.push(Moment {
                    at,
                    what: format!("rollout of deployment/{name} revision {number}"),
                    bundle: String::new(),
                    evidence: EvidenceRef::into_record(
                        record,
                        format!("/data/deployments/{d}/history/revisions/{r}"),
                    ),
                });
            }
        }
    }
    found.into_iter().min_by_key(|m| m.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::TimelineEntry;
    use chrono::TimeZone;
    use witness_collector::{Evidence, Severity, Window};

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn entry(minutes: i64, kind: &str) -> TimelineEntry {
        TimelineEntry {
            time: at(minutes),
            offset: String::new(),
            offset_secs: minutes * 60,
            source: "logs/app".into(),
            kind: kind.into(),
            title: format!("{kind} at {minutes}"),
            detail: None,
            severity: Severity::Warning,
            count: 1,
            until: None,
            until_offset: None,
            signature: None,
            in_future: false,
            evidence: EvidenceRef { file: "evidence/logs-app.json".into(), pointer: "/x".into() },
            artifact: None,
        }
    }

    #[test]
    fn the_first_new_symptom_to_the_alert_is_the_time_to_detect() {
        let timeline = Timeline {
            anchor: at(0),
            window: Window::new(at(-30), at(1)),
            // Background errors (first_error) and the cause (rollout) are not symptoms.
            entries: vec![
                entry(-20, "first_error"),
                entry(-12, "rollout"),
                entry(-12, "error_spike"),
                entry(-11, "new_signature"),
            ],
            clocks: Vec::new(),
        };
        let d = Durations::of_incident("inc", &timeline);
        assert_eq!(d.first_symptom.as_ref().unwrap().at, at(-11));
        assert_eq!(d.time_to_detect_secs, Some(660));
        assert_eq!(d.lines()[0].1, "11m (first new symptom 2025-11-19T20:49:00.000Z → alert)");
        assert_eq!(d.time_to_resolve_secs, None, "an incident alone does not know its end");
    }

    #[test]
    fn a_rollout_after_the_alert_is_the_mitigation() {
        let timeline = Timeline {
            anchor: at(0),
            window: Window::new(at(-30), at(1)),
            entries: Vec::new(),
            clocks: Vec::new(),
        };
        let revisions = serde_json::json!({"deployments": [{"name": "web", "history": {"revisions": [
            {"revision": 8, "current": false, "rolled_out_at": witness_collector::time::format(at(-12))},
            {"revision": 9, "current": true, "rolled_out_at": witness_collector::time::format(at(7))}
        ]}}]});
        let record = CollectorRecord {
            kind: "kubernetes".into(),
            name: "prod".into(),
            started_at: at(20),
            finished_at: at(20),
            duration_ms: 1,
            error: None,
            redactions: Default::default(),
            evidence: Evidence::ok("x").data(revisions),
        };
        let d = Durations::of_incident("inc", &timeline).with_follow_up("fu", &[record], at(15));
        let mitigation = d.mitigation.as_ref().unwrap();
        assert_eq!((mitigation.at, mitigation.bundle.as_str()), (at(7), "fu"));
        assert_eq!(mitigation.evidence.pointer, "/data/deployments/0/history/revisions/1");
        assert_eq!((d.time_to_mitigate_secs, d.time_to_resolve_secs), (Some(420), Some(900)));
        assert_eq!(label(3900), "1h05m");
        assert_eq!(label(-30), "-30s");
    }
}
