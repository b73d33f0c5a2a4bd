//! API objects in the shapes the API server returns them, around a fixed anchor: a
//! Deployment `prod/web` (selector `app=web`), its ReplicaSets, pods, events and HPA, and
//! the pod logs of a bad deploy ([`bad_deploy`]). Shared with the root integration tests,
//! which run the whole of witness against the fake API server.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::fake_api::{ContainerLog, FakeApi, LogLine};

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

/// The anchor plus `minutes` and `seconds`.
pub fn t(minutes: i64, seconds: i64) -> DateTime<Utc> {
    anchor() + Duration::minutes(minutes) + Duration::seconds(seconds)
}

/// An application log with its own ISO timestamps: INFO each minute from `from` to `to`,
/// and `error` at each of `error_at` (minutes from the anchor).
pub fn app_log(from: i64, to: i64, error_at: &[i64], error: &str) -> Vec<LogLine> {
    let mut lines = Vec::new();
    for m in from..=to {
        let at = t(m, 0);
        let stamp = at.format("%Y-%m-%d %H:%M:%S,000");
        lines.push((at, format!("{stamp} INFO app: GET /checkout 200")));
        if error_at.contains(&m) {
            let at = t(m, 20);
            let stamp = at.format("%Y-%m-%d %H:%M:%S,000");
            lines.push((at, format!("{stamp} ERROR app: {error}")));
        }
    }
    lines
}

/// A JSON log (zap-style) of the new revision.
pub fn json_log(from: i64, to: i64, errors: &[(i64, &str)]) -> Vec<LogLine> {
    let mut lines = Vec::new();
    for m in from..=to {
        lines.push((t(m, 0), json!({"level": "info", "msg": "GET /checkout 200"}).to_string()));
        for (at, msg) in errors.iter().filter(|(at, _)| *at == m) {
            lines.push((t(*at, 30), json!({"level": "error", "msg": msg}).to_string()));
        }
    }
    lines
}

pub const SHARED: &str = "upstream timeout after 3000 ms talking to 10.0.0.7:8443";
pub const NEW: &str = "payment failed: column \"currency\" does not exist";

/// Revision 4 (web:2.0.0, rolled out at T-12m) is half rolled out: two pods of revision 3
/// still run, one of revision 4 logs a new error (and the shared one), the other crash-loops
/// with a panic in its previous instance.
pub fn bad_deploy(api: &FakeApi) {
    api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:2.0.0", 4)]);
    api.add(
        "replicasets",
        [
            replica_set("r3", 3, "web:1.4.2", -3 * 24 * 60, 2),
            replica_set("r4", 4, "web:2.0.0", -12, 2),
        ],
    );
    let mut looping = pod("web-r4-b", "r4", "web:2.0.0", -11);
    looping["status"]["conditions"][1]["status"] = json!("False");
    looping["status"]["containerStatuses"][0] = json!({
        "name": "web", "image": "web:2.0.0", "imageID": "", "ready": false, "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=web"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 2, "startedAt": at(-2), "finishedAt": at(-1)}}
    });
    api.add(
        "pods",
        [
            pod("web-r3-a", "r3", "web:1.4.2", -180),
            pod("web-r3-b", "r3", "web:1.4.2", -180),
            pod("web-r4-a", "r4", "web:2.0.0", -11),
            looping,
        ],
    );
    for name in ["web-r3-a", "web-r3-b"] {
        let log = app_log(-70, 1, &[-50, -40, -20, -5], SHARED);
        api.log(name, "web", ContainerLog { current: Some(log), previous: None });
    }
    let new = json_log(-11, 1, &[(-9, NEW), (-8, NEW), (-6, SHARED), (-4, NEW)]);
    api.log("web-r4-a", "web", ContainerLog { current: Some(new), previous: None });
    let crash = vec![
        (t(-2, 0), "starting payment service 2.0.0".to_owned()),
        (t(-1, 58), "panic: missing config PAYMENT_URL".to_owned()),
        (t(-1, 58), String::new()),
        (t(-1, 58), "goroutine 1 [running]:".to_owned()),
        (t(-1, 58), "main.main()".to_owned()),
        (t(-1, 58), "\t/src/main.go:42 +0x1d".to_owned()),
    ];
    api.log("web-r4-b", "web", ContainerLog { current: None, previous: Some(crash) });
}
