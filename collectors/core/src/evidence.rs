//! The evidence model: what one collector instance saw during a run. Facts feed the
//! hypothesis rules, events feed the timeline, `data` keeps the collector's own findings
//! and notes say what is missing or truncated, so missing data never reads as healthy.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a collector instance ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything configured was collected.
    Ok,
    /// Some evidence was collected; `notes` say what is missing and why.
    Partial,
    /// Nothing useful was collected; the error says why.
    Failed,
    /// The deadline passed before the collector finished.
    TimedOut,
    /// Not run (not selected with `--only`, or nothing to look at).
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Partial => "partial",
            Status::Failed => "failed",
            Status::TimedOut => "timed_out",
            Status::Skipped => "skipped",
        }
    }

    /// Whether the evidence can be used by the rules (`ok` or `partial`).
    pub fn has_evidence(self) -> bool {
        matches!(self, Status::Ok | Status::Partial)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed value the rules can test: `host.cpu_busy_ratio = 0.97`,
/// `kubernetes.previous_revision = 41`, `status_page.vendors_degraded = ["GitHub"]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FactValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<FactValue>),
}

impl FactValue {
    /// The value as a number, when it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            FactValue::Int(i) => Some(*i as f64),
            FactValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl From<bool> for FactValue {
    fn from(v: bool) -> Self {
        FactValue::Bool(v)
    }
}
impl From<i64> for FactValue {
    fn from(v: i64) -> Self {
        FactValue::Int(v)
    }
}
impl From<i32> for FactValue {
    fn from(v: i32) -> Self {
        FactValue::Int(v.into())
    }
}
impl From<u32> for FactValue {
    fn from(v: u32) -> Self {
        FactValue::Int(v.into())
    }
}
impl From<usize> for FactValue {
    fn from(v: usize) -> Self {
        FactValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u64> for FactValue {
    fn from(v: u64) -> Self {
        FactValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for FactValue {
    fn from(v: f64) -> Self {
        FactValue::Float(v)
    }
}
impl From<&str> for FactValue {
    fn from(v: &str) -> Self {
        FactValue::Text(v.to_owned())
    }
}
impl From<String> for FactValue {
    fn from(v: String) -> Self {
        FactValue::Text(v)
    }
}
impl<T: Into<FactValue>> From<Vec<T>> for FactValue {
    fn from(v: Vec<T>) -> Self {
        FactValue::List(v.into_iter().map(Into::into).collect())
    }
}

/// Facts by full name, `<kind>.<fact>` (`logs.error_rate_ratio`).
pub type Facts = BTreeMap<String, FactValue>;

/// How much an event matters to a responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Info,
    Warning,
    Critical,
}

/// Something that happened at a point in time, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(with = "crate::time::millis")]
    pub time: DateTime<Utc>,
    /// What kind of event: `first_error`, `error_spike`, `rollout`, `lock_wait`, ...
    pub kind: String,
    /// One line a responder reads in the timeline.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default)]
    pub severity: Severity,
    /// Events of one kind with the same signature close together fold into one timeline
    /// entry (an error signature, a pod name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// A JSON pointer into this instance's evidence file where the event's details are
    /// (`/data/lock_chains/0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// An artifact of this instance that holds the raw lines or objects behind the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

impl Event {
    pub fn new(time: DateTime<Utc>, kind: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            time,
            kind: kind.into(),
            title: title.into(),
            detail: None,
            severity: Severity::Info,
            signature: None,
            pointer: None,
            artifact: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    pub fn pointer(mut self, pointer: impl Into<String>) -> Self {
        self.pointer = Some(pointer.into());
        self
    }

    pub fn artifact(mut self, artifact: impl Into<String>) -> Self {
        self.artifact = Some(artifact.into());
        self
    }
}

/// What one collector instance returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub status: Status,
    /// One line: what this collector saw.
    pub summary: String,
    #[serde(default)]
    pub facts: Facts,
    #[serde(default)]
    pub events: Vec<Event>,
    /// What is missing, truncated or approximate, and why.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The collector's own findings, in its own shape.
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Evidence {
    /// Evidence with status `ok`, to which facts, events and data are added.
    pub fn ok(summary: impl Into<String>) -> Self {
        Self {
            status: Status::Ok,
            summary: summary.into(),
            facts: Facts::new(),
            events: Vec::new(),
            notes: Vec::new(),
            data: serde_json::Value::Null,
        }
    }

    /// Evidence with status `skipped`: there was nothing to look at, and why.
    pub fn skipped(reason: impl Into<String>) -> Self {
        Self { status: Status::Skipped, ..Self::ok(reason) }
    }

    pub fn fact(mut self, name: impl Into<String>, value: impl Into<FactValue>) -> Self {
        self.facts.insert(name.into(), value.into());
        self
    }

    pub fn event(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    pub fn data(mut self, data: impl Serialize) -> Self {
        self.data = serde_json::to_value(data).unwrap_or_else(
            |e| serde_json::json!({"error": format!("data not serializable: {e}")}),
        );
        self
    }

    /// Records that something is missing and makes the status `partial` (unless it is
    /// already worse).
    pub fn partial(mut self, note: impl Into<String>) -> Self {
        self.add_partial(note);
        self
    }

    /// This evidence with every string redacted (facts, events, notes, data; keys too),
    /// a value under a secret-named key whole: the run's last pass over what a collector
    /// returns, behind the collector's own redaction where it read the text.
    #[must_use]
    pub fn redacted(self, redactor: &witness_redact::Redactor) -> Self {
        let mut value = serde_json::to_value(&self).unwrap_or_default();
        redactor.redact_json(&mut value);
        serde_json::from_value(value.clone()).unwrap_or_else(|_| Self {
            status: self.status,
            summary: redactor.redact(&self.summary).into_string(),
            facts: Facts::new(),
            events: Vec::new(),
            notes: vec!["facts and events were left out: they did not survive redaction".into()],
            data: value,
        })
    }

    /// In-place form of [`Evidence::partial`].
    pub fn add_partial(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
        if self.status == Status::Ok {
            self.status = Status::Partial;
        }
    }

    /// Records a note that does not make the evidence partial (a cap applied, an approach
    /// taken).
    pub fn add_note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_never_hides_a_worse_status() {
        let mut e = Evidence::ok("x");
        e.add_partial("missing /var/log/a.log: permission denied");
        assert_eq!(e.status, Status::Partial);
        let mut skipped = Evidence::skipped("nothing configured");
        skipped.add_partial("n");
        assert_eq!(skipped.status, Status::Skipped);
    }

    #[test]
    fn facts_serialize_as_plain_json_values() {
        let e = Evidence::ok("x")
            .fact("host.cpu_busy_ratio", 0.5)
            .fact("k.rev", 41)
            .fact("v.names", vec!["GitHub"])
            .fact("b", true);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["facts"]["host.cpu_busy_ratio"], 0.5);
        assert_eq!(json["facts"]["k.rev"], 41);
        assert_eq!(json["facts"]["v.names"][0], "GitHub");
        let back: Evidence = serde_json::from_value(json).unwrap();
        assert_eq!(back.facts["k.rev"], FactValue::Int(41));
    }
}
