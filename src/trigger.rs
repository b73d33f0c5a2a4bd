//! The normalized trigger of a run: what started it (a responder, an Alertmanager, Grafana,
//! PagerDuty or generic webhook), with its labels, annotations, start time and the keys
//! used to deduplicate alerts. Written to `trigger.json` with the raw payload, redacted.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a trigger came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerSource {
    Manual,
    Alertmanager,
    Grafana,
    Pagerduty,
    Generic,
}

impl TriggerSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerSource::Manual => "manual",
            TriggerSource::Alertmanager => "alertmanager",
            TriggerSource::Grafana => "grafana",
            TriggerSource::Pagerduty => "pagerduty",
            TriggerSource::Generic => "generic",
        }
    }
}

/// An alert that joined a run after it started (same fingerprint or group inside the
/// cooldown), or a resolved notification for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinedAlert {
    pub source: TriggerSource,
    pub name: String,
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(with = "witness_collector::time::millis")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// What started a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    pub source: TriggerSource,
    /// The alert name, or `collect now` for a manual run.
    pub name: String,
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When the alert started; the anchor of the run.
    #[serde(with = "witness_collector::time::millis")]
    pub starts_at: DateTime<Utc>,
    /// Alertmanager/Grafana alert fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Alertmanager/Grafana group key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// PagerDuty incident id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// Alerts that joined this run after it started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joined: Vec<JoinedAlert>,
    /// The payload as received (redacted when written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

impl Trigger {
    /// A responder's `collect now` / `collect at`, with `--label` pairs.
    pub fn manual(anchor: DateTime<Utc>, labels: BTreeMap<String, String>) -> Self {
        Self {
            source: TriggerSource::Manual,
            name: "collect now".into(),
            status: "firing".into(),
            labels,
            annotations: BTreeMap::new(),
            starts_at: anchor,
            fingerprint: None,
            group_key: None,
            incident_id: None,
            joined: Vec::new(),
            raw: None,
        }
    }

    /// What collectors see of the trigger.
    pub fn for_collectors(&self) -> witness_collector::Trigger {
        witness_collector::Trigger {
            source: self.source.as_str().into(),
            name: self.name.clone(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
        }
    }

    /// The service the alert is about, for titles: `service`, `app`, `job` or `deployment`.
    pub fn service(&self) -> Option<&str> {
        ["service", "app", "job", "deployment"]
            .iter()
            .find_map(|k| self.labels.get(*k))
            .map(String::as_str)
    }
}
