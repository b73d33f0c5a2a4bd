//! The timeline: the trigger and every collector's events merged into one list sorted by
//! time, each entry with its offset from the anchor, its source and a ref into the bundle.
//! Bursts (many events of one source, kind and signature close together) fold into one
//! entry with a count and a span, and each source's clock is checked against the time it
//! was collected, so that a skewed clock is visible instead of silently reordering the
//! story. Written to `timeline.json`; the reports render it.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::{Event, Severity, Window};

use crate::bundle::layout::{self, CollectorRecord};
use crate::trigger::Trigger;

/// Events of one burst lie at most this far apart (each from the previous one).
pub const FOLD_GAP_SECS: i64 = 300;

/// An event later than its source's collection time by more than this is "in the future":
/// the source's clock is ahead of witness's (a small margin absorbs rounding and the time
/// the collector took).
pub const FUTURE_TOLERANCE_SECS: i64 = 5;

/// Where in the bundle a piece of evidence is: a file and a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EvidenceRef {
    pub file: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pointer: String,
}

impl EvidenceRef {
    /// A ref to `pointer` inside the evidence file of `record`.
    pub fn into_record(record: &CollectorRecord, pointer: impl Into<String>) -> Self {
        Self { file: record.evidence_path(), pointer: pointer.into() }
    }
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
    /// The highest severity among the events this entry stands for.
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
    /// The offset of `until` from the anchor (`T-0s`), when `count > 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_offset: Option<String>,
    /// The event's signature, when its collector gave one (what bursts fold by).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The source's clock put this event after the source was collected.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_future: bool,
    /// Where the details are: the event's own pointer into its evidence file when it gave
    /// one that exists, else the event itself (`/events/N`) — of the first folded event.
    #[serde(rename = "ref")]
    pub evidence: EvidenceRef,
    /// The raw artifact behind the event (`evidence/<kind>-<name>/<path>`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// What the timeline knows about one source's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceClock {
    /// `<kind>/<name>`.
    pub source: String,
    /// When witness finished collecting the source (witness's own clock).
    #[serde(with = "witness_collector::time::millis")]
    pub collected_at: DateTime<Utc>,
    /// The newest event time the source reported.
    #[serde(with = "witness_collector::time::millis")]
    pub newest_event: DateTime<Utc>,
    /// `newest_event - collected_at` in seconds: negative is normal (the last event came
    /// before collection); positive beyond a few seconds means the source's clock is ahead.
    pub newest_event_offset_secs: i64,
    /// Events of this source later than its collection time (beyond the tolerance).
    pub future_events: u64,
    /// Whether the source's clock looks ahead of witness's (some event in the future).
    pub skewed: bool,
}

/// `timeline.json`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(with = "witness_collector::time::millis")]
    pub anchor: DateTime<Utc>,
    pub window: Window,
    pub entries: Vec<TimelineEntry>,
    /// One line per source with events: its clock against collection time.
    #[serde(default)]
    pub clocks: Vec<SourceClock>,
}

impl Timeline {
    /// Entries of this kind, in time order.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a TimelineEntry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }
}

/// Merges the trigger and the events of every record into one timeline: sorted by time,
/// bursts folded, clocks checked.
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
        until_offset: None,
        signature: None,
        in_future: false,
        evidence: EvidenceRef { file: layout::TRIGGER.into(), pointer: String::new() },
        artifact: None,
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
    if let Some(ends_at) = trigger.ends_at {
        entries.push(entry(
            ends_at,
            "trigger".into(),
            "alert_resolved",
            format!("{} resolved ({})", trigger.name, trigger.source.as_str()),
        ));
    }
    for (i, joined) in trigger.joined.iter().enumerate() {
        entries.push(TimelineEntry {
            evidence: EvidenceRef { file: layout::TRIGGER.into(), pointer: format!("/joined/{i}") },
            ..entry(
                joined.received_at,
                "trigger".into(),
                "alert_joined",
                format!("{} {} joined the run", joined.name, joined.status),
            )
        });
    }
    let mut clocks = Vec::new();
    for record in records {
        let source = format!("{}/{}", record.kind, record.name);
        let future_after = record.finished_at + Duration::seconds(FUTURE_TOLERANCE_SECS);
        // Serialized once so that every event's own pointer can be checked: a ref that
        // leads nowhere is worse than a coarse one.
        let json = serde_json::to_value(record).unwrap_or_default();
        let mut events: Vec<TimelineEntry> = record
            .evidence
            .events
            .iter()
            .enumerate()
            .map(|(i, event)| TimelineEntry {
                detail: event.detail.clone(),
                severity: event.severity,
                signature: event.signature.clone(),
                in_future: event.time > future_after,
                evidence: event_ref(record, &json, event, i),
                artifact: event
                    .artifact
                    .as_ref()
                    .map(|a| format!("{}/{}", record.artifact_dir(), a.trim_start_matches('/'))),
                ..entry(event.time, source.clone(), &event.kind, event.title.clone())
            })
            .collect();
        if let Some(newest) = events.iter().map(|e| e.time).max() {
            let future_events = events.iter().filter(|e| e.in_future).count() as u64;
            clocks.push(SourceClock {
                source: source.clone(),
                collected_at: record.finished_at,
                newest_event: newest,
                newest_event_offset_secs: (newest - record.finished_at).num_seconds(),
                future_events,
                skewed: future_events > 0,
            });
        }
        events.sort_by_key(|e| e.time);
        entries.extend(fold(events, anchor));
    }
    entries.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.source.cmp(&b.source)));
    Timeline { anchor, window, entries, clocks }
}

fn event_ref(
    record: &CollectorRecord,
    json: &serde_json::Value,
    event: &Event,
    index: usize,
) -> EvidenceRef {
    let pointer = event
        .pointer
        .as_deref()
        .filter(|p| json.pointer(p).is_some())
        .map_or_else(|| format!("/events/{index}"), str::to_owned);
    EvidenceRef::into_record(record, pointer)
}

/// Folds bursts among one source's entries (sorted by time): entries of the same kind and
/// signature, each within [`FOLD_GAP_SECS`] of the previous one, become the first of them
/// with a count, the span and the highest severity. Entries without a signature stay alone.
fn fold(entries: Vec<TimelineEntry>, anchor: DateTime<Utc>) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = Vec::with_capacity(entries.len());
    // (kind, signature) -> index in `out` of the burst still open for it.
    let mut open: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in entries {
        let Some(signature) = entry.signature.clone() else {
            out.push(entry);
            continue;
        };
        let key = (entry.kind.clone(), signature);
        if let Some(&at) = open.get(&key) {
            let burst = &mut out[at];
            let last = burst.until.unwrap_or(burst.time);
            if (entry.time - last).num_seconds() <= FOLD_GAP_SECS {
                burst.count += 1;
                burst.until = Some(entry.time);
                burst.until_offset =
                    Some(witness_collector::time::offset_label(entry.time, anchor));
                burst.severity = burst.severity.max(entry.severity);
                burst.in_future |= entry.in_future;
                continue;
            }
        }
        open.insert(key, out.len());
        out.push(entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use witness_collector::Evidence;

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
    }

    fn record(name: &str, evidence: Evidence, finished_at: DateTime<Utc>) -> CollectorRecord {
        CollectorRecord {
            kind: "logs".into(),
            name: name.into(),
            started_at: finished_at - Duration::seconds(2),
            finished_at,
            duration_ms: 2000,
            error: None,
            redactions: Default::default(),
            evidence,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        anchor() + Duration::seconds(secs)
    }

    fn timeline(records: &[CollectorRecord]) -> Timeline {
        let trigger = Trigger::manual(anchor(), BTreeMap::new());
        build(&trigger, anchor(), Window::new(at(-1800), at(60)), records)
    }

    #[test]
    fn a_burst_of_one_signature_folds_into_one_entry_with_count_and_span() {
        let mut evidence = Evidence::ok("errors");
        for i in 0..412 {
            // From T-7m to T-0, one second apart.
            let e = Event::new(at(-420 + i64::from(i) * 420 / 411), "error", "TypeError: email")
                .signature("TypeError: Cannot read property 'email'");
            evidence = evidence.event(e);
        }
        evidence = evidence.event(
            Event::new(at(-300), "error", "Other").signature("other").severity(Severity::Critical),
        );
        let t = timeline(&[record("app", evidence, at(60))]);
        let bursts: Vec<_> = t.entries.iter().filter(|e| e.kind == "error").collect();
        assert_eq!(bursts.len(), 2);
        assert_eq!(bursts[0].count, 412);
        assert_eq!(bursts[0].offset, "T-7m");
        assert_eq!(bursts[0].until_offset.as_deref(), Some("T+0s"));
        assert_eq!(bursts[0].evidence.pointer, "/events/0");
        assert_eq!(bursts[1].count, 1);
        assert_eq!(bursts[1].severity, Severity::Critical);
    }

    #[test]
    fn events_far_apart_or_without_signature_stay_separate() {
        let evidence = Evidence::ok("x")
            .event(Event::new(at(-1700), "error", "a").signature("s"))
            .event(Event::new(at(-1000), "error", "a").signature("s"))
            .event(Event::new(at(-990), "error", "a").signature("s"))
            .event(Event::new(at(-980), "commit", "c1"))
            .event(Event::new(at(-970), "commit", "c2"));
        let t = timeline(&[record("app", evidence, at(60))]);
        let counts: Vec<(String, u64)> = t
            .entries
            .iter()
            .filter(|e| e.source != "trigger")
            .map(|e| (e.kind.clone(), e.count))
            .collect();
        let expected = [("error", 1), ("error", 2), ("commit", 1), ("commit", 1)];
        assert_eq!(counts, expected.map(|(k, c)| (k.to_owned(), c)));
    }

    #[test]
    fn sorted_with_the_trigger_and_offsets_from_the_anchor() {
        let a = Evidence::ok("a").event(Event::new(at(-60), "x", "late"));
        let b = Evidence::ok("b").event(Event::new(at(-600), "y", "early"));
        let t = timeline(&[record("a", a, at(60)), record("b", b, at(60))]);
        let titles: Vec<_> =
            t.entries.iter().map(|e| (e.offset.as_str(), e.source.as_str())).collect();
        assert_eq!(titles, vec![("T-10m", "logs/b"), ("T-1m", "logs/a"), ("T+0s", "trigger")]);
    }

    proptest::proptest! {
        /// Folding loses no event and keeps the timeline in time order.
        #[test]
        fn folding_keeps_every_event_and_the_order(
            events in proptest::collection::vec((-3600i64..600, 0usize..3, proptest::option::of(0usize..3)), 0..200),
        ) {
            let mut evidence = Evidence::ok("x");
            for (secs, kind, signature) in &events {
                let mut e = Event::new(at(*secs), format!("k{kind}"), "t");
                if let Some(sig) = signature {
                    e = e.signature(format!("s{sig}"));
                }
                evidence = evidence.event(e);
            }
            let t = timeline(&[record("app", evidence, at(60))]);
            let counted: u64 = t.entries.iter().filter(|e| e.source != "trigger").map(|e| e.count).sum();
            proptest::prop_assert_eq!(counted, events.len() as u64);
            proptest::prop_assert!(t.entries.windows(2).all(|w| w[0].time <= w[1].time));
            for e in &t.entries {
                proptest::prop_assert!(e.until.is_none_or(|u| u >= e.time));
            }
        }
    }

    #[test]
    fn a_source_with_events_after_its_collection_is_flagged_as_skewed() {
        let ahead = Evidence::ok("ahead")
            .event(Event::new(at(-100), "x", "fine"))
            .event(Event::new(at(400), "x", "from the future"));
        let fine = Evidence::ok("fine").event(Event::new(at(-30), "x", "recent"));
        let t = timeline(&[record("ahead", ahead, at(60)), record("fine", fine, at(60))]);
        assert_eq!(t.clocks.len(), 2);
        assert!(t.clocks[0].skewed);
        assert_eq!(t.clocks[0].future_events, 1);
        assert_eq!(t.clocks[0].newest_event_offset_secs, 340);
        assert!(!t.clocks[1].skewed);
        assert_eq!(t.clocks[1].newest_event_offset_secs, -90);
        assert!(t.entries.iter().any(|e| e.in_future && e.title == "from the future"));
    }

    #[test]
    fn refs_use_the_event_pointer_only_when_it_exists() {
        let evidence = Evidence::ok("x")
            .data(serde_json::json!({"lock_trees": [{"root_pid": 7}]}))
            .event(Event::new(at(-10), "lock_wait", "w").pointer("/data/lock_trees/0"))
            .event(Event::new(at(-5), "lock_wait", "w2").pointer("/data/lock_trees/9"))
            .event(Event::new(at(-4), "lock_wait", "w3").artifact("activity.json"));
        let t = timeline(&[record("db", evidence, at(60))]);
        let refs: Vec<String> = t
            .entries
            .iter()
            .filter(|e| e.source != "trigger")
            .map(|e| e.evidence.to_string())
            .collect();
        assert_eq!(
            refs,
            vec![
                "evidence/logs-db.json#/data/lock_trees/0",
                "evidence/logs-db.json#/events/1",
                "evidence/logs-db.json#/events/2"
            ]
        );
        assert_eq!(t.entries[2].artifact.as_deref(), Some("evidence/logs-db/activity.json"));
    }
}
