//! The HorizontalPodAutoscaler (autoscaling/v2) that targets the Deployment: its replica
//! bounds, what it wants, its current metrics against their targets, and whether it is
//! pinned at its ceiling.

use chrono::{DateTime, Utc};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use serde::Serialize;
use serde_json::Value;

use crate::meta::{Condition, utc};

/// One metric the HPA scales on: its current value beside its target.
#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    /// `Resource`, `ContainerResource`, `Pods`, `Object`, `External`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `cpu`, `memory`, or the custom metric's name.
    pub name: String,
    /// `{averageUtilization}`, `{averageValue}` or `{value}` as the API reports it.
    pub current: Value,
    pub target: Value,
}

/// The HPA as the evidence shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HpaSummary {
    pub name: String,
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub current_replicas: Option<i32>,
    pub desired_replicas: Option<i32>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub last_scale_time: Option<DateTime<Utc>>,
    pub metrics: Vec<MetricSummary>,
    pub conditions: Vec<Condition>,
    /// It wants more than its ceiling or sits at it: `ScalingLimited=True` with reason
    /// `TooManyReplicas`, desired > max, or current and desired both at max.
    pub at_max: bool,
}

/// The HPA whose `scaleTargetRef` is Deployment `deployment`.
pub fn targeting<'a>(
    hpas: &'a [HorizontalPodAutoscaler],
    deployment: &str,
) -> Option<&'a HorizontalPodAutoscaler> {
    hpas.iter().find(|h| {
        h.spec.scale_target_ref.kind == "Deployment" && h.spec.scale_target_ref.name == deployment
    })
}

pub fn summarize(hpa: &HorizontalPodAutoscaler) -> HpaSummary {
    let spec = &hpa.spec;
    let status = hpa.status.as_ref();
    let max = spec.max_replicas;
    let conditions: Vec<Condition> = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|c| Condition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: c.last_transition_time.as_ref().and_then(utc),
            last_update_time: None,
        })
        .collect();
    let current = status.and_then(|s| s.current_replicas);
    let desired = status.map(|s| s.desired_replicas);
    let limited_at_max = conditions
        .iter()
        .any(|c| c.is("ScalingLimited", "True") && c.reason.as_deref() == Some("TooManyReplicas"));
    let at_max = limited_at_max
        || desired.is_some_and(|d| d > max)
        || (current.is_some_and(|c| c >= max) && desired.is_some_and(|d| d >= max));
    let targets: Vec<Value> = spec
        .metrics
        .as_ref()
        .map(|m| m.iter().filter_map(|m| serde_json::to_value(m).ok()).collect())
        .unwrap_or_default();
    let metrics = status
        .and_then(|s| s.current_metrics.as_ref())
        .map(|m| {
            m.iter()
                .filter_map(|m| serde_json::to_value(m).ok())
                .map(|current| metric(&current, &targets))
                .collect()
        })
        .unwrap_or_default();
    HpaSummary {
        name: hpa.metadata.name.clone().unwrap_or_default(),
        min_replicas: spec.min_replicas.unwrap_or(1),
        max_replicas: max,
        current_replicas: current,
        desired_replicas: desired,
        last_scale_time: status.and_then(|s| s.last_scale_time.as_ref()).and_then(utc),
        metrics,
        conditions,
        at_max,
    }
}

/// Reads a `MetricStatus` (as JSON: every source type has the same shape) and finds its
/// `MetricSpec` target by type and name.
fn metric(status: &Value, targets: &[Value]) -> MetricSummary {
    let type_ = status["type"].as_str().unwrap_or_default().to_owned();
    let key = source_key(&type_);
    let name = metric_name(&status[key]);
    let target = targets
        .iter()
        .find(|t| t["type"] == status["type"] && metric_name(&t[key]) == name)
        .map(|t| t[key]["target"].clone())
        .unwrap_or(Value::Null);
    MetricSummary { current: status[key]["current"].clone(), target, type_, name }
}

fn source_key(type_: &str) -> &'static str {
    match type_ {
        "Resource" => "resource",
        "ContainerResource" => "containerResource",
        "Pods" => "pods",
        "Object" => "object",
        _ => "external",
    }
}

fn metric_name(source: &Value) -> String {
    source["name"]
        .as_str()
        .or_else(|| source["metric"]["name"].as_str())
        .unwrap_or_default()
        .to_owned()
}
