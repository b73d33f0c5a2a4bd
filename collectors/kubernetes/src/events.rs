//! Kubernetes Events (core/v1) about the Deployment, its ReplicaSets and its pods inside
//! the window: Warning events first (BackOff, FailedScheduling, Unhealthy, FailedCreate,
//! FailedMount, OOMKilling), then Normal ones, newest first within each. Also reads the
//! deployment-controller's `ScalingReplicaSet` events, which date a rollback.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event as KubeEvent;
use serde::Serialize;
use witness_collector::Window;

use crate::meta::{utc, utc_micro};

/// One event as the evidence shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EventSummary {
    #[serde(with = "witness_collector::time::millis")]
    pub time: DateTime<Utc>,
    /// `Warning` or `Normal`.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    /// `Pod/web-7d9c-abcde`.
    pub object: String,
    pub message: String,
    /// How many times it happened (the event's `count`, or its series count).
    pub count: i32,
}

impl EventSummary {
    pub fn is_warning(&self) -> bool {
        self.type_ == "Warning"
    }
}

/// What was selected: the kept events, and how many matched before the cap.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Selected {
    pub events: Vec<EventSummary>,
    pub matched: usize,
    pub warnings: usize,
}

/// The last time an event happened: its series' last observation, `lastTimestamp`,
/// `eventTime`, `firstTimestamp`, then its creation.
pub fn event_time(event: &KubeEvent) -> Option<DateTime<Utc>> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .and_then(utc_micro)
        .or_else(|| event.last_timestamp.as_ref().and_then(utc))
        .or_else(|| event.event_time.as_ref().and_then(utc_micro))
        .or_else(|| event.first_timestamp.as_ref().and_then(utc))
        .or_else(|| event.metadata.creation_timestamp.as_ref().and_then(utc))
}

/// The events about `objects` (kind, name) in `window`, Warning first, at most `max`.
pub fn select(
    events: &[KubeEvent],
    objects: &BTreeSet<(String, String)>,
    window: Window,
    max: usize,
) -> Selected {
    let mut matched: Vec<EventSummary> = events
        .iter()
        .filter(|e| is_about(e, objects, window))
        .filter_map(|e| {
            let kind = e.involved_object.kind.as_deref().unwrap_or_default();
            let name = e.involved_object.name.as_deref().unwrap_or_default();
            Some(EventSummary {
                time: event_time(e)?,
                type_: e.type_.clone().unwrap_or_else(|| "Normal".to_owned()),
                reason: e.reason.clone().unwrap_or_default(),
                object: format!("{kind}/{name}"),
                message: e.message.clone().unwrap_or_default(),
                count: e.series.as_ref().and_then(|s| s.count).or(e.count).unwrap_or(1),
            })
        })
        .collect();
    matched.sort_by(|a, b| b.is_warning().cmp(&a.is_warning()).then(b.time.cmp(&a.time)));
    let count = matched.len();
    let warnings = matched.iter().filter(|e| e.is_warning()).count();
    matched.truncate(max);
    Selected { events: matched, matched: count, warnings }
}

/// Whether `event` is about one of `objects` (kind, name) and happened in `window`.
pub fn is_about(event: &KubeEvent, objects: &BTreeSet<(String, String)>, window: Window) -> bool {
    let kind = event.involved_object.kind.clone().unwrap_or_default();
    let name = event.involved_object.name.clone().unwrap_or_default();
    objects.contains(&(kind, name))
        && event_time(event).is_some_and(|t| t >= window.start && t <= window.end)
}

/// The deployment-controller scaling one of the Deployment's ReplicaSets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleUp {
    pub replica_set: String,
    /// The replica count it was scaled up from, when the message says
    /// (`Scaled up replica set web-7d9c from 0 to 3`; older servers write `... to 3`).
    pub from: Option<i64>,
    pub time: DateTime<Utc>,
}

/// The `ScalingReplicaSet` scale-ups recorded on Deployment `deployment`, whatever their time.
pub fn scale_ups(events: &[KubeEvent], deployment: &str) -> Vec<ScaleUp> {
    events
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some("ScalingReplicaSet")
                && e.involved_object.kind.as_deref() == Some("Deployment")
                && e.involved_object.name.as_deref() == Some(deployment)
        })
        .filter_map(|e| {
            let (replica_set, from) = parse_scale_up(e.message.as_deref()?)?;
            // A scale-up repeated in a series happened first at its first time.
            let time = e
                .first_timestamp
                .as_ref()
                .and_then(utc)
                .or_else(|| e.event_time.as_ref().and_then(utc_micro))
                .or_else(|| event_time(e))?;
            Some(ScaleUp { replica_set, from, time })
        })
        .collect()
}

fn parse_scale_up(message: &str) -> Option<(String, Option<i64>)> {
    let rest = message.strip_prefix("Scaled up replica set ")?;
    let mut words = rest.split_whitespace();
    let name = words.next()?.to_owned();
    let from = match words.next()? {
        "from" => Some(words.next()?.parse().ok()?),
        _ => None,
    };
    Some((name, from))
}

/// The names of objects the selection is about, for [`select`].
pub fn object_set<'a>(
    deployment: &str,
    replica_sets: impl Iterator<Item = &'a str>,
    pods: impl Iterator<Item = &'a str>,
    hpa: Option<&str>,
) -> BTreeSet<(String, String)> {
    let mut set = BTreeSet::from([("Deployment".to_owned(), deployment.to_owned())]);
    set.extend(replica_sets.map(|n| ("ReplicaSet".to_owned(), n.to_owned())));
    set.extend(pods.map(|n| ("Pod".to_owned(), n.to_owned())));
    set.extend(hpa.map(|n| ("HorizontalPodAutoscaler".to_owned(), n.to_owned())));
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_scale_up_message_formats_parse() {
        assert_eq!(
            parse_scale_up("Scaled up replica set web-7d9c from 0 to 3"),
            Some(("web-7d9c".into(), Some(0)))
        );
        assert_eq!(
            parse_scale_up("Scaled up replica set web-7d9c to 3"),
            Some(("web-7d9c".into(), None))
        );
        assert_eq!(parse_scale_up("Scaled down replica set web-7d9c to 0"), None);
    }
}
