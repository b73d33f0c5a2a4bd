//! API objects in the shapes the API server returns them, around a fixed anchor: a
//! Deployment `prod/web` (selector `app=web`), its ReplicaSets, pods, events and HPA.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

pub const DEPLOYMENT_UID: &str = "3f1c0d52-9c1e-4d7e-8a43-0d2c6b1e7a10";
/// A literal env value in every pod template; it must never reach an artifact.
pub const ENV_SECRET: &str = "hunter2-db-password";

pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

/// The anchor plus `minutes` (negative: before), as the API writes times.
pub fn at(minutes: i64) -> String {
    (anchor() + Duration::minutes(minutes)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Merges `patch` into `base` (JSON merge patch: objects merge, the rest replaces).
pub fn merge(mut base: Value, patch: Value) -> Value {
    fn go(base: &mut Value, patch: Value) {
        match (base, patch) {
            (Value::Object(b), Value::Object(p)) => {
                for (k, v) in p {
                    if v.is_null() {
                        b.remove(&k);
                    } else {
                        go(b.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
            (b, p) => *b = p,
        }
    }
    go(&mut base, patch);
    base
}

fn template(image: &str, hash: Option<&str>) -> Value {
    let mut labels = json!({"app": "web"});
    if let Some(hash) = hash {
        labels["pod-template-hash"] = json!(hash);
    }
    json!({
        "metadata": {"labels": labels},
        "spec": {"containers": [{
            "name": "web",
            "image": image,
            "env": [{"name": "DB_PASSWORD", "value": ENV_SECRET}],
            "resources": {"limits": {"memory": "256Mi"}}
        }]}
    })
}

/// Deployment `name` running `image` at `revision`, rolled out and healthy, 3 replicas.
pub fn deployment(name: &str, uid: &str, image: &str, revision: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name, "namespace": "prod", "uid": uid, "generation": 7,
            "resourceVersion": "48100",
            "labels": {"app": name, "tier": "frontend"},
            "annotations": {
                "deployment.kubernetes.io/revision": revision.to_string(),
                "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"env\":\"{ENV_SECRET}\"}}")
            },
            "creationTimestamp": at(-60 * 24 * 30)
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": merge(template(image, None), json!({"metadata": {"labels": {"app": name}}})),
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        },
        "status": {
            "observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
            "availableReplicas": 3,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.",
                 "lastUpdateTime": at(-60), "lastTransitionTime": at(-60)},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": format!("ReplicaSet \"{name}\" has successfully progressed."),
                 "lastUpdateTime": at(-10), "lastTransitionTime": at(-60 * 24)}
            ]
        }
    })
}

/// The ReplicaSet of Deployment `web` for `revision`, created `created_min` from the anchor.
pub fn replica_set(
    hash: &str,
    revision: i64,
    image: &str,
    created_min: i64,
    replicas: i64,
) -> Value {
    json!({
        "metadata": {
            "name": format!("web-{hash}"), "namespace": "prod",
            "uid": format!("rs-uid-{hash}"),
            "labels": {"app": "web", "pod-template-hash": hash},
            "annotations": {
                "deployment.kubernetes.io/revision": revision.to_string(),
                "deployment.kubernetes.io/desired-replicas": "3",
                "deployment.kubernetes.io/max-replicas": "4",
                "kubernetes.io/change-cause": format!("kubectl set image deployment/web web={image}")
            },
            "creationTimestamp": at(created_min),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                 "uid": DEPLOYMENT_UID, "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
            "template": template(image, Some(hash))
        },
        "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                   "fullyLabeledReplicas": replicas, "observedGeneration": 2}
    })
}

/// A running, ready pod of ReplicaSet `web-<hash>`, started `started_min` from the anchor.
pub fn pod(name: &str, hash: &str, image: &str, started_min: i64) -> Value {
    json!({
        "metadata": {
            "name": name, "namespace": "prod", "uid": format!("pod-uid-{name}"),
            "labels": {"app": "web", "pod-template-hash": hash},
            "creationTimestamp": at(started_min),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("web-{hash}"),
                                 "uid": format!("rs-uid-{hash}"), "controller": true, "blockOwnerDeletion": true}]
        },
        "spec": template(image, Some(hash))["spec"].clone(),
        "status": {
            "phase": "Running",
            "startTime": at(started_min),
            "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": at(started_min)},
                {"type": "Ready", "status": "True", "lastTransitionTime": at(started_min)}
            ],
            "containerStatuses": [{
                "name": "web", "image": image, "imageID": format!("docker.io/library/{image}@sha256:00"),
                "ready": true, "restartCount": 0, "started": true,
                "state": {"running": {"startedAt": at(started_min)}}
            }]
        }
    })
}

/// A core/v1 Event about `kind/name`, last seen `minutes` from the anchor.
pub fn event(
    kind: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
    minutes: i64,
    count: i64,
) -> Value {
    json!({
        "metadata": {"name": format!("{name}.{reason}.{minutes}"), "namespace": "prod",
                     "creationTimestamp": at(minutes)},
        "involvedObject": {"kind": kind, "namespace": "prod", "name": name,
                           "apiVersion": if kind == "Pod" { "v1" } else { "apps/v1" }},
        "reason": reason, "message": message, "type": type_, "count": count,
        "firstTimestamp": at(minutes), "lastTimestamp": at(minutes),
        "source": {"component": if reason == "ScalingReplicaSet" { "deployment-controller" } else { "kubelet" }},
        "reportingComponent": "", "reportingInstance": ""
    })
}

/// An autoscaling/v2 HPA for Deployment `target`.
pub fn hpa(
    name: &str,
    target: &str,
    min: i64,
    max: i64,
    current: i64,
    desired: i64,
    cpu_now: i64,
) -> Value {
    json!({
        "metadata": {"name": name, "namespace": "prod", "uid": format!("hpa-uid-{name}")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": min, "maxReplicas": max,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                         "target": {"type": "Utilization", "averageUtilization": 70}}}]
        },
        "status": {
            "currentReplicas": current, "desiredReplicas": desired, "lastScaleTime": at(-6),
            "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu",
                                "current": {"averageUtilization": cpu_now, "averageValue": "900m"}}}],
            "conditions": [
                {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale", "lastTransitionTime": at(-100)},
                {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound", "lastTransitionTime": at(-100)}
            ]
        }
    })
}
