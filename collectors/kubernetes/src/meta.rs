//! Small conversions shared by every object summary: Kubernetes times (k8s-openapi 0.29
//! wraps `jiff` timestamps) to the chrono UTC times the evidence model uses, status
//! conditions, label selectors and controller references.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, MicroTime, ObjectMeta, OwnerReference, Time,
};
use serde::Serialize;

/// A Kubernetes `Time` as chrono UTC, to the millisecond.
pub fn utc(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.0.as_millisecond())
}

/// A Kubernetes `MicroTime` as chrono UTC, to the millisecond.
pub fn utc_micro(t: &MicroTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(t.0.as_millisecond())
}

/// One status condition of a Deployment or an HPA, as the evidence shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<DateTime<Utc>>,
}

impl Condition {
    pub fn is(&self, type_: &str, status: &str) -> bool {
        self.type_ == type_ && self.status == status
    }

    /// When the condition last changed, or was last refreshed.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.last_update_time.or(self.last_transition_time)
    }
}

/// The controller among an object's owners (`ownerReferences[].controller == true`).
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.as_deref()?.iter().find(|r| r.controller == Some(true))
}

/// Whether `meta` is controlled by the object with `uid`: kubectl's
/// `metav1.IsControlledBy`.
pub fn is_controlled_by(meta: &ObjectMeta, uid: &str) -> bool {
    controller_of(meta).is_some_and(|r| r.uid == uid)
}

/// A `LabelSelector` in the query syntax of `labelSelector=` (`app=web,tier in (a,b)`),
/// or `None` when it selects nothing it can express (an unknown operator).
pub fn selector_query(selector: &LabelSelector) -> Option<String> {
    let mut terms: Vec<String> =
        selector.match_labels.iter().flatten().map(|(k, v)| format!("{k}={v}")).collect();
    for req in selector.match_expressions.iter().flatten() {
        let values = req.values.as_deref().unwrap_or_default().join(",");
        terms.push(match req.operator.as_str() {
            "In" => format!("{} in ({values})", req.key),
            "NotIn" => format!("{} notin ({values})", req.key),
            "Exists" => req.key.clone(),
            "DoesNotExist" => format!("!{}", req.key),
            _ => return None,
        });
    }
    Some(terms.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors_read_like_kubectl_queries() {
        let selector = LabelSelector {
            match_labels: Some([("app".to_string(), "web".to_string())].into()),
            match_expressions: Some(vec![
                LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["a".into(), "b".into()]),
                },
                LabelSelectorRequirement {
                    key: "canary".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                },
            ]),
        };
        assert_eq!(selector_query(&selector).unwrap(), "app=web,tier in (a,b),!canary");
    }

    #[test]
    fn times_keep_milliseconds_in_utc() {
        let t: Time = serde_json::from_str("\"2025-11-19T20:55:00.123Z\"").unwrap();
        assert_eq!(utc(&t).unwrap().to_rfc3339(), "2025-11-19T20:55:00.123+00:00");
    }
}
