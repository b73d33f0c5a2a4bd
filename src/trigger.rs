//! The normalized trigger of a run: what started it (a responder, an Alertmanager, Grafana,
//! PagerDuty or generic webhook), with its labels, annotations and start time. Written to
//! `trigger.json` with the raw payload, redacted.
//!
//! An alert's identity lives here too, since every reader of a trigger needs the same
//! answer: which incident it belongs to ([`Trigger::dedup_keys`]: fingerprint, group key,
//! PagerDuty incident id), whether it is a redelivery of one already seen
//! ([`Trigger::redelivery_key`]), and how it is recorded in the run it joins
//! ([`Trigger::joined_at`]). What to do with an alert is the server's intake's business.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::redact::Redactor;

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
    /// `firing`, `resolved`, or an update's own status (PagerDuty `acknowledged`, ...).
    pub status: String,
    #[serde(with = "witness_collector::time::millis")]
    pub received_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub starts_at: DateTime<Utc>,
    /// When a resolved alert stopped (its sender's `endsAt`, PagerDuty's resolution time).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "witness_collector::time::millis_opt"
    )]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The body of the notification, redacted in the bundle, for the first alert of a
    /// notification that joined this run (the others of it point here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
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
    /// When the alert started; the anchor of the run (of a follow-up: the resolution).
    #[serde(with = "witness_collector::time::millis")]
    pub starts_at: DateTime<Utc>,
    /// When a resolved alert stopped: Alertmanager's and Grafana's `endsAt`, the time of
    /// PagerDuty's `incident.resolved`, the generic body's `ends_at`. Absent while firing,
    /// and when the sender gave none (the resolution is then when it arrived).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "witness_collector::time::millis_opt"
    )]
    pub ends_at: Option<DateTime<Utc>>,
    /// Alertmanager/Grafana alert fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Alertmanager/Grafana group key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// PagerDuty incident id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    /// The alert's `generatorURL` (Alertmanager, Grafana): the link to the rule that
    /// fired it, which for Prometheus carries the rule's expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
    /// Alerts that joined this run after it started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub joined: Vec<JoinedAlert>,
    /// The payload as received (redacted when written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<serde_json::Value>,
}

impl Trigger {
    /// An alert from `source` with nothing but its name, status and start: the webhook
    /// parsers add its labels, annotations and identity (fingerprint, group key, incident).
    pub fn alert(
        source: TriggerSource,
        name: String,
        status: String,
        starts_at: DateTime<Utc>,
    ) -> Self {
        Self {
            source,
            name,
            status,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            starts_at,
            ends_at: None,
            fingerprint: None,
            group_key: None,
            incident_id: None,
            generator_url: None,
            joined: Vec::new(),
            raw: None,
        }
    }

    /// A responder's `collect now` / `collect at`, with `--label` pairs.
    pub fn manual(anchor: DateTime<Utc>, labels: BTreeMap<String, String>) -> Self {
        let name = "collect now".to_owned();
        Self { labels, ..Self::alert(TriggerSource::Manual, name, "firing".into(), anchor) }
    }

    /// What collectors see of the trigger.
    pub fn for_collectors(&self) -> witness_collector::Trigger {
        witness_collector::Trigger {
            source: self.source.as_str().into(),
            name: self.name.clone(),
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            generator_url: self.generator_url.clone(),
        }
    }

    /// Whether the alert is firing (and may start a run), rather than resolved or a
    /// PagerDuty update such as `incident.acknowledged`.
    pub fn is_firing(&self) -> bool {
        self.status == "firing"
    }

    /// Whether the alert says its incident is over (and may start a follow-up).
    pub fn is_resolved(&self) -> bool {
        self.status == "resolved"
    }

    /// When the incident resolved, for a resolution received at `received_at`: the
    /// sender's end time when it has a plausible one (not before the alert started, not
    /// ahead of the arrival by more than a clock's skew), else the arrival.
    pub fn resolved_at(&self, received_at: DateTime<Utc>) -> DateTime<Utc> {
        let skew = chrono::Duration::minutes(5);
        self.ends_at
            .filter(|end| *end >= self.starts_at && *end <= received_at + skew)
            .map_or(received_at, |end| end.min(received_at))
    }

    /// The keys that make two alerts the same incident: fingerprint, group key, incident id.
    /// None for a manual run, which is never deduplicated.
    pub fn dedup_keys(&self) -> Vec<String> {
        let mut keys = Vec::with_capacity(3);
        if let Some(fp) = &self.fingerprint {
            keys.push(format!("fp:{}:{fp}", self.source.as_str()));
        }
        if let Some(group) = &self.group_key {
            keys.push(format!("group:{}:{group}", self.source.as_str()));
        }
        if let Some(id) = &self.incident_id {
            keys.push(format!("incident:{id}"));
        }
        keys
    }

    /// Same fingerprint (or incident), start and status: a redelivery (Alertmanager's
    /// repeat interval, an HA pair sending twice) rather than a new alert. `None` for a
    /// trigger with neither (a manual run), which is never a redelivery.
    pub fn redelivery_key(&self) -> Option<String> {
        let id = self.fingerprint.as_deref().or(self.incident_id.as_deref())?;
        Some(format!(
            "{}|{id}|{}|{}",
            self.source.as_str(),
            self.starts_at.timestamp_millis(),
            self.status
        ))
    }

    /// The alert as recorded in the trigger of the run it joined, received at `received_at`.
    pub fn joined_at(&self, received_at: DateTime<Utc>) -> JoinedAlert {
        JoinedAlert {
            source: self.source,
            name: self.name.clone(),
            status: self.status.clone(),
            received_at,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            fingerprint: self.fingerprint.clone().or_else(|| self.incident_id.clone()),
            labels: self.labels.clone(),
            raw: self.raw.clone(),
        }
    }

    /// Every string of the trigger through `redactor`, as the webhook parsers redact them
    /// where they read a body: keys, values with their key in view, names, identities and
    /// the raw body. Redacted text stays as it is, so this is for text that may not have
    /// been redacted yet (a journal written by an older witness).
    pub fn redact(&mut self, redactor: &Redactor) {
        let text = |s: &mut String| *s = redactor.redact(s).into_string();
        text(&mut self.name);
        text(&mut self.status);
        redact_map(&mut self.labels, redactor);
        redact_map(&mut self.annotations, redactor);
        for id in [
            &mut self.fingerprint,
            &mut self.group_key,
            &mut self.incident_id,
            &mut self.generator_url,
        ] {
            id.iter_mut().for_each(text);
        }
        if let Some(raw) = &mut self.raw {
            redactor.redact_json(raw);
        }
        for joined in &mut self.joined {
            text(&mut joined.name);
            text(&mut joined.status);
            joined.fingerprint.iter_mut().for_each(text);
            redact_map(&mut joined.labels, redactor);
            if let Some(raw) = &mut joined.raw {
                redactor.redact_json(raw);
            }
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

/// A label's or annotation's key redacted, and its value redacted with the (raw) key in
/// view: a `db_password` label takes its whole value.
pub fn redact_label(redactor: &Redactor, key: &str, value: &str) -> (String, String) {
    (redactor.redact(key).into_string(), redactor.redact_pair(key, value).into_string())
}

/// `map` with every entry through [`redact_label`].
fn redact_map(map: &mut BTreeMap<String, String>, redactor: &Redactor) {
    *map = std::mem::take(map).iter().map(|(k, v)| redact_label(redactor, k, v)).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(source: TriggerSource, status: &str) -> Trigger {
        let at = DateTime::parse_from_rfc3339("2025-11-19T21:00:00Z").unwrap().with_timezone(&Utc);
        Trigger {
            fingerprint: Some("32c16fb6eca3387b".into()),
            group_key: Some("{}:{alertname=\"HighErrorRate\"}".into()),
            ..Trigger::alert(source, "HighErrorRate".into(), status.into(), at)
        }
    }

    #[test]
    fn an_alert_is_known_by_fingerprint_group_and_start() {
        let firing = alert(TriggerSource::Alertmanager, "firing");
        assert_eq!(
            firing.dedup_keys(),
            [
                "fp:alertmanager:32c16fb6eca3387b",
                "group:alertmanager:{}:{alertname=\"HighErrorRate\"}"
            ]
        );
        assert_eq!(
            firing.redelivery_key().as_deref(),
            Some("alertmanager|32c16fb6eca3387b|1763586000000|firing")
        );
        let resolved = alert(TriggerSource::Alertmanager, "resolved");
        assert!(!resolved.is_firing());
        assert_ne!(resolved.redelivery_key(), firing.redelivery_key());
        let joined = resolved.joined_at(firing.starts_at);
        assert_eq!(
            (joined.status.as_str(), joined.fingerprint.as_deref()),
            ("resolved", Some("32c16fb6eca3387b"))
        );
    }

    #[test]
    fn a_manual_run_is_never_deduplicated_nor_a_redelivery() {
        let manual = Trigger::manual(Utc::now(), BTreeMap::new());
        assert!(manual.is_firing());
        assert!(manual.dedup_keys().is_empty());
        assert_eq!(manual.redelivery_key(), None);
    }
}
