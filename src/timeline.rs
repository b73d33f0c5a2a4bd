//! The timeline: the trigger and every collector's events merged into one list sorted by
//! time, each entry with its offset from the anchor, its source and a ref into the bundle.
//! Written to `timeline.json`; the reports render it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::{Severity, Window};

use crate::run::CollectorRecord;
use crate::trigger::Trigger;

/// Where in the bundle a piece of evidence is: a file and a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pointer: String,
}

impl std::fmt::Display for EvidenceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.file)
        } else {
            write!(f, "{}#{}", self.file, self.pointer)
        }
    }
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "witness_collector::time::millis")]
    pub time: DateTime<Utc>,
    /// `T-12m`, `T+30s`.
    pub offset: String,
    pub offset_secs: i64,
    /// `trigger`, or `<kind>/<name>` of the collector instance.
    pub source: String,
    pub kind: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub severity: Severity,
    /// How many events this entry stands for (bursts are folded).
    pub count: u64,
    /// The time of the last folded event, when `count > 1`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "witness_collector::time::millis_opt"
    )]
    pub until: Option<DateTime<Utc>>,
    #[serde(rename = "ref")]
    pub evidence: EvidenceRef,
}

/// `timeline.json`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(with = "witness_collector::time::millis")]
    pub anchor: DateTime<Utc>,
    pub window: Window,
    pub entries: Vec<TimelineEntry>,
}

/// Merges the trigger and the events of every record into one timeline.
pub fn build(
    trigger: &Trigger,
    anchor: DateTime<Utc>,
    window: Window,
    records: &[CollectorRecord],
) -> Timeline {
    let entry = |time: DateTime<Utc>, source: String, kind: &str, title: String| TimelineEntry {
        time,
        offset: witness_collector::time::offset_label(time, anchor),
        offset_secs: (time - anchor).num_seconds(),
        source,
        kind: kind.to_owned(),
        title,
        detail: None,
        severity: Severity::Info,
        count: 1,
        until: None,
        evidence: EvidenceRef { file: "trigger.json".into(), pointer: String::new() },
    };
    let mut entries = vec![TimelineEntry {
        severity: Severity::Critical,
        ..entry(
            trigger.starts_at,
            "trigger".into(),
            "alert",
            format!("{} started ({})", trigger.name, trigger.source.as_str()),
        )
    }];
    for (i, joined) in trigger.joined.iter().enumerate() {
        entries.push(TimelineEntry {
            evidence: EvidenceRef { file: "trigger.json".into(), pointer: format!("/joined/{i}") },
            ..entry(
                joined.received_at,
                "trigger".into(),
                "alert_joined",
                format!("{} {} joined the run", joined.name, joined.status),
            )
        });
    }
    for record in records {
        let source = format!("{}/{}", record.kind, record.name);
        for (i, event) in record.evidence.events.iter().enumerate() {
            entries.push(TimelineEntry {
                detail: event.detail.clone(),
                severity: event.severity,
                evidence: EvidenceRef {
                    file: record.evidence_path(),
                    pointer: format!("/events/{i}"),
                },
                ..entry(event.time, source.clone(), &event.kind, event.title.clone())
            });
        }
    }
    entries.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.source.cmp(&b.source)));
    Timeline { anchor, window, entries }
}
