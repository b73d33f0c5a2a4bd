//! The collector against the fake API server (see [`crate::fake_api`]: a real HTTP server
//! in the real API shapes, reached by a real `kube::Client` from a kubeconfig), one test
//! per situation a responder meets: a normal deploy, a rollback, a stuck rollout, crashing
//! pods, an autoscaler at its ceiling, missing RBAC, a hung API server, long lists, and an
//! alert that names only a pod.

use std::time::Duration;

use chrono::Duration as Minutes;
use serde_json::{Value, json};
use tempfile::TempDir;
use witness_collector::{
    CollectContext, CollectError, CollectorConfig, Evidence, FactValue, Status, Window,
};
use witness_kubernetes::{Credentials, KubernetesConfig};

use crate::fake_api::{FakeApi, TOKEN};
use crate::fixtures::*;

pub(crate) struct Setup {
    pub(crate) api: FakeApi,
    pub(crate) config: KubernetesConfig,
    _dir: TempDir,
}

pub(crate) async fn setup() -> Setup {
    let api = FakeApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = KubernetesConfig::named("prod");
    config.credentials = Credentials::Kubeconfig;
    config.kubeconfig_path = Some(api.kubeconfig(dir.path()));
    config.context = Some("fake".into());
    config.deployments = vec!["web".into()];
    Setup { api, config, _dir: dir }
}

/// Anchor 2025-11-19T21:00Z, window T-30m..T+2m, a 20 s deadline.
pub(crate) fn ctx() -> CollectContext {
    CollectContext::for_test_at(
        anchor(),
        Window::new(anchor() - Minutes::minutes(30), anchor() + Minutes::minutes(2)),
    )
}

pub(crate) async fn run(
    config: &KubernetesConfig,
    ctx: &CollectContext,
) -> Result<Evidence, CollectError> {
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let collector = config.build().unwrap_or_else(|p| panic!("build: {p:?}"));
    tokio::time::timeout(Duration::from_secs(30), collector.collect(ctx))
        .await
        .expect("collect did not finish within 30 s")
}

async fn collect_ok(setup: &Setup) -> (Evidence, Value) {
    let evidence =
        run(&setup.config, &ctx()).await.unwrap_or_else(|e| panic!("collect failed: {e}"));
    let json = serde_json::to_value(&evidence).unwrap();
    (evidence, json)
}

pub(crate) fn fact(evidence: &Evidence, name: &str) -> FactValue {
    evidence
        .facts
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("fact {name} missing: {:#?}", evidence.facts))
}

fn titles(evidence: &Evidence, kind: &str) -> Vec<String> {
    evidence.events.iter().filter(|e| e.kind == kind).map(|e| e.title.clone()).collect()
}

/// Revisions 1, 2, 3 of `web` (images 1.4.0, 1.4.1, 1.4.2; 3 rolled out at T-12m), a
/// ReplicaSet that matches the selector but belongs to someone else, and one of another app.
fn three_revisions(api: &FakeApi) {
    api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:1.4.2", 3)]);
    let mut foreign = replica_set("f00", 9, "web:9.9.9", -60, 1);
    foreign["metadata"]["ownerReferences"][0]["uid"] = json!("someone-else");
    let mut other_app = replica_set("a11", 5, "api:2.0.0", -60, 1);
    other_app["metadata"]["labels"]["app"] = json!("api");
    api.add(
        "replicasets",
        [
            replica_set("r1", 1, "web:1.4.0", -3 * 24 * 60, 0),
            replica_set("r2", 2, "web:1.4.1", -24 * 60, 0),
            replica_set("r3", 3, "web:1.4.2", -12, 3),
            foreign,
            other_app,
        ],
    );
    api.add("pods", (0..3).map(|i| pod(&format!("web-r3-p{i}"), "r3", "web:1.4.2", -11)));
}

#[tokio::test]
async fn history_of_three_revisions_is_derived_like_kubectl() {
    let s = setup().await;
    three_revisions(&s.api);
    s.api.add(
        "events",
        [event(
            "Deployment",
            "web",
            "Normal",
            "ScalingReplicaSet",
            "Scaled up replica set web-r3 from 0 to 1",
            -12,
            1,
        )],
    );
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "kubernetes.deployment"), FactValue::Text("web".into()));
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(3));
    assert_eq!(fact(&evidence, "kubernetes.previous_revision"), FactValue::Int(2));
    assert_eq!(fact(&evidence, "kubernetes.minutes_since_rollout"), FactValue::Float(12.0));
    assert_eq!(fact(&evidence, "kubernetes.images_changed"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.rollout_complete"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.rollout_stuck"), FactValue::Bool(false));
    assert_eq!(fact(&evidence, "kubernetes.restarts_in_window"), FactValue::Int(0));
    // Listed fine and none targets the Deployment: known false, not missing.
    assert_eq!(fact(&evidence, "kubernetes.hpa_at_max"), FactValue::Bool(false));

    let history = &json["data"]["deployments"][0]["history"];
    let revisions: Vec<(i64, &str, bool, bool)> = history["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["images"]["web"].as_str().unwrap(),
                r["current"].as_bool().unwrap(),
                r["previous"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        revisions,
        [
            (1, "web:1.4.0", false, false),
            (2, "web:1.4.1", false, true),
            (3, "web:1.4.2", true, false)
        ],
        "only controlled ReplicaSets count"
    );
    assert_eq!(
        history["revisions"][2]["change_cause"],
        "kubectl set image deployment/web web=web:1.4.2"
    );
    assert_eq!(history["revisions"][2]["rolled_out_at"], "2025-11-19T20:48:00.000Z");

    // Only revision 3 is near the window; revision 2 (a day before) is history, not timeline.
    assert_eq!(
        titles(&evidence, "rollout"),
        ["Rollout of prod/web revision 3: web: web:1.4.1 → web:1.4.2"]
    );
    let rollout = evidence.events.iter().find(|e| e.kind == "rollout").unwrap();
    assert_eq!(json.pointer(rollout.pointer.as_deref().unwrap()).unwrap()["revision"], 3);

    let commands: Vec<&str> = json["data"]["suggested_commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        commands,
        [
            "kubectl --context fake rollout undo deployment/web -n prod --to-revision=2",
            "kubectl --context fake scale deployment/web -n prod --replicas=5",
            "kubectl --context fake rollout status deployment/web -n prod",
        ]
    );

    // The real client sent the kubeconfig context's bearer token on every call, and listed
    // ReplicaSets with the Deployment's selector.
    let requests = s.api.requests();
    assert!(
        requests.iter().all(|r| r.authorization.as_deref() == Some(&*format!("Bearer {TOKEN}")))
    );
    let rs_list =
        requests.iter().find(|r| r.path == "/apis/apps/v1/namespaces/prod/replicasets").unwrap();
    assert_eq!(rs_list.query.get("labelSelector").map(String::as_str), Some("app=web"));
    assert!(requests.iter().all(|r| r.method == "GET"), "witness only reads");

    // Raw objects are kept, without the env value the pod template carries.
    let artifacts = s_artifacts(&evidence, &s).await;
    assert!(
        artifacts.iter().any(|(p, _)| p == "prod/web/replicasets.json"),
        "{:?}",
        artifacts.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
    assert!(
        artifacts.iter().all(|(_, text)| !text.contains(ENV_SECRET)),
        "env value leaked into an artifact"
    );
}

/// Runs once more with a fresh context to read the artifacts the collector stores.
async fn s_artifacts(_evidence: &Evidence, s: &Setup) -> Vec<(String, String)> {
    let ctx = ctx();
    run(&s.config, &ctx).await.unwrap();
    artifacts(&ctx)
}

/// The artifacts the collector stored in `ctx`, as text (taken).
pub(crate) fn artifacts(ctx: &CollectContext) -> Vec<(String, String)> {
    ctx.artifacts
        .take()
        .into_iter()
        .map(|a| (a.path, String::from_utf8(a.contents).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_rollback_is_dated_by_its_scale_up_event_not_the_replicaset_age() {
    let s = setup().await;
    // 1.4.1 (revision 2) was rolled out, then 1.4.2 (3), then `rollout undo` reused the
    // 1.4.1 ReplicaSet as revision 4 at T-8m.
    s.api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:1.4.1", 4)]);
    let mut reused = replica_set("r2", 4, "web:1.4.1", -24 * 60, 3);
    reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] = json!("2");
    s.api.add(
        "replicasets",
        [
            replica_set("r1", 1, "web:1.4.0", -3 * 24 * 60, 0),
            reused,
            replica_set("r3", 3, "web:1.4.2", -40, 0),
        ],
    );
    s.api.add(
        "events",
        [
            event(
                "Deployment",
                "web",
                "Normal",
                "ScalingReplicaSet",
                "Scaled up replica set web-r3 from 0 to 1",
                -40,
                1,
            ),
            event(
                "Deployment",
                "web",
                "Normal",
                "ScalingReplicaSet",
                "Scaled up replica set web-r2 from 0 to 1",
                -8,
                1,
            ),
            event(
                "Deployment",
                "web",
                "Normal",
                "ScalingReplicaSet",
                "Scaled up replica set web-r2 from 1 to 3",
                -7,
                1,
            ),
        ],
    );
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(4));
    assert_eq!(fact(&evidence, "kubernetes.previous_revision"), FactValue::Int(3));
    assert_eq!(fact(&evidence, "kubernetes.minutes_since_rollout"), FactValue::Float(8.0));
    let revisions = json["data"]["deployments"][0]["history"]["revisions"].as_array().unwrap();
    let numbers: Vec<i64> = revisions.iter().map(|r| r["revision"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 3, 4], "revision 2 became 4, as kubectl shows it");
    assert_eq!(revisions[2]["revision_history"], json!([2]));
    assert_eq!(revisions[2]["rolled_out_at_source"], "scaling_replica_set_event");
    assert_eq!(revisions[2]["rolled_out_at"], "2025-11-19T20:52:00.000Z");
    assert_eq!(
        titles(&evidence, "rollout"),
        [
            "Rollout of prod/web revision 3: web: web:1.4.1 → web:1.4.2",
            "Rollback of prod/web to revision 4 (was revision 2): web: web:1.4.2 → web:1.4.1",
        ]
    );
}

#[tokio::test]
async fn a_stuck_rollout_reads_as_stuck_with_kubectls_words() {
    let s = setup().await;
    let stuck = merge(
        deployment("web", DEPLOYMENT_UID, "web:2.0.0", 4),
        json!({"status": {
            "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.", "lastUpdateTime": at(-60), "lastTransitionTime": at(-60)},
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                 "message": "ReplicaSet \"web-r4\" has timed out progressing.", "lastUpdateTime": at(-2), "lastTransitionTime": at(-2)}
            ]
        }}),
    );
    s.api.add("deployments", [stuck]);
    s.api.add(
        "replicasets",
        [replica_set("r3", 3, "web:1.4.2", -24 * 60, 3), replica_set("r4", 4, "web:2.0.0", -13, 1)],
    );
    let mut pulling = pod("web-r4-new", "r4", "web:2.0.0", -13);
    pulling["status"]["conditions"][1]["status"] = json!("False");
    pulling["status"]["containerStatuses"][0] = json!({
        "name": "web", "image": "web:2.0.0", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"web:2.0.0\""}}
    });
    s.api.add("pods", [pulling]);
    s.api.add("pods", (0..3).map(|i| pod(&format!("web-r3-p{i}"), "r3", "web:1.4.2", -24 * 60)));
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(fact(&evidence, "kubernetes.rollout_stuck"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.rollout_complete"), FactValue::Bool(false));
    assert_eq!(fact(&evidence, "kubernetes.unavailable_replicas"), FactValue::Int(1));
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(4));
    assert_eq!(fact(&evidence, "kubernetes.not_ready_pods"), FactValue::Int(1));
    let state = &json["data"]["deployments"][0]["state"];
    assert_eq!(state["kubectl_status"], "deployment \"web\" exceeded its progress deadline");
    let stuck =
        evidence.events.iter().find(|e| e.kind == "rollout_stuck").expect("rollout_stuck event");
    assert_eq!(stuck.severity, witness_collector::Severity::Critical);
    assert_eq!(stuck.detail.as_deref(), Some("ReplicaSet \"web-r4\" has timed out progressing."));
    assert_eq!(
        titles(&evidence, "pod_waiting"),
        ["ImagePullBackOff: pod web-r4-new container web"]
    );
    assert_eq!(
        evidence.summary,
        "prod/web: revision 4 rolled out T-13m, 3/3 available, rollout stuck (ProgressDeadlineExceeded), \
         pod logs: no errors in the window"
    );
}

#[tokio::test]
async fn crash_looping_and_oom_killed_pods_are_counted_in_the_window() {
    let s = setup().await;
    three_revisions(&s.api);
    // Started long before the window, crash-looping: its last exit (T-3m) is in the window.
    let mut looping = pod("web-r3-loop", "r3", "web:1.4.2", -90);
    looping["status"]["conditions"][1]["status"] = json!("False");
    looping["status"]["containerStatuses"][0] = json!({
        "name": "web", "image": "web:1.4.2", "imageID": "", "ready": false, "restartCount": 5,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container=web"}},
        "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "startedAt": at(-4), "finishedAt": at(-3)}}
    });
    // Started in the window, OOM-killed twice, running again.
    let mut oom = pod("web-r3-oom", "r3", "web:1.4.2", -10);
    oom["status"]["containerStatuses"][0]["restartCount"] = json!(2);
    oom["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": at(-2), "finishedAt": at(-1)}});
    s.api.add("pods", [looping, oom]);
    s.api.add(
        "events",
        [
            event(
                "Pod",
                "web-r3-loop",
                "Warning",
                "BackOff",
                "Back-off restarting failed container web in pod web-r3-loop",
                -2,
                14,
            ),
            event(
                "Pod",
                "web-r3-oom",
                "Normal",
                "Pulled",
                "Container image \"web:1.4.2\" already present on machine",
                -1,
                1,
            ),
            event(
                "Pod",
                "web-r3-loop",
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                -5,
                3,
            ),
            event("Pod", "web-r3-loop", "Warning", "BackOff", "long before the window", -180, 1),
            event("Pod", "unrelated-pod", "Warning", "FailedMount", "not ours", -4, 1),
        ],
    );
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(
        evidence.summary,
        "prod/web: revision 3 rolled out T-12m, 3/3 available, 1 pod(s) in CrashLoopBackOff, \
         1 OOM kill(s), 3 restart(s) in window, pod logs: no errors in the window"
    );
    assert_eq!(fact(&evidence, "kubernetes.crashloop_pods"), FactValue::Int(1));
    assert_eq!(fact(&evidence, "kubernetes.oom_kills_in_window"), FactValue::Int(1));
    // 1 (the loop's last exit; a lower bound) + 2 (the OOM pod started inside the window).
    assert_eq!(fact(&evidence, "kubernetes.restarts_in_window"), FactValue::Int(3));
    assert_eq!(fact(&evidence, "kubernetes.not_ready_pods"), FactValue::Int(1));
    assert_eq!(fact(&evidence, "kubernetes.warning_events"), FactValue::Int(2));
    let pods = &json["data"]["deployments"][0]["pods"];
    assert_eq!(pods["totals"]["restarts_in_window_exact"], false);
    assert_eq!(pods["totals"]["waiting_reasons"]["CrashLoopBackOff"], 1);
    let names: Vec<&str> =
        pods["pods"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..2], ["web-r3-loop", "web-r3-oom"], "problem pods first");
    assert_eq!(pods["pods"][1]["containers"][0]["last_termination"]["exit_code"], 137);

    // Warning first, newest first; the out-of-window and unrelated events are not there.
    let events: Vec<(&str, &str)> = json["data"]["deployments"][0]["events"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(events, [("Warning", "BackOff"), ("Warning", "Unhealthy"), ("Normal", "Pulled")]);

    assert_eq!(
        titles(&evidence, "oom_killed"),
        ["OOMKilled: pod web-r3-oom container web (exit 137)"]
    );
    assert_eq!(
        titles(&evidence, "pod_waiting"),
        ["CrashLoopBackOff: pod web-r3-loop container web (last exit: Error, code 1)"]
    );
    assert_eq!(
        titles(&evidence, "kubernetes_event"),
        ["Warning Unhealthy on Pod/web-r3-loop", "Warning BackOff on Pod/web-r3-loop"]
    );
}

#[tokio::test]
async fn an_hpa_pinned_at_its_ceiling_is_reported_with_its_metrics() {
    let s = setup().await;
    three_revisions(&s.api);
    let mut at_max = hpa("web", "web", 2, 10, 10, 10, 180);
    at_max["status"]["conditions"].as_array_mut().unwrap().push(json!({
        "type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
        "message": "the desired replica count is more than the maximum replica count", "lastTransitionTime": at(-6)
    }));
    s.api.add("horizontalpodautoscalers", [hpa("api", "api", 2, 4, 2, 2, 20), at_max]);
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(fact(&evidence, "kubernetes.hpa_at_max"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.hpa_max_replicas"), FactValue::Int(10));
    assert_eq!(fact(&evidence, "kubernetes.hpa_desired_replicas"), FactValue::Int(10));
    let hpa = &json["data"]["deployments"][0]["hpa"];
    assert_eq!(hpa["name"], "web");
    assert_eq!(hpa["metrics"][0]["name"], "cpu");
    assert_eq!(hpa["metrics"][0]["current"]["averageUtilization"], 180);
    assert_eq!(hpa["metrics"][0]["target"]["averageUtilization"], 70);
    assert_eq!(
        titles(&evidence, "hpa_at_max"),
        ["HPA prod/web at its ceiling: desired 10, max 10"]
    );
    let hpa_event = evidence.events.iter().find(|e| e.kind == "hpa_at_max").unwrap();
    assert_eq!(hpa_event.time, anchor() - Minutes::minutes(6));
    // Scaling the Deployment by hand would be undone by the HPA: raise its ceiling instead.
    let raise = json["data"]["suggested_commands"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["purpose"] == "raise_hpa_max")
        .expect("raise_hpa_max command");
    assert_eq!(
        raise["command"],
        r#"kubectl --context fake patch hpa/web -n prod -p '{"spec":{"maxReplicas":15}}'"#
    );
}

#[tokio::test]
async fn a_403_on_events_makes_the_evidence_partial_and_the_rest_is_still_read() {
    let s = setup().await;
    three_revisions(&s.api);
    s.api.forbid("events");
    let (evidence, json) = collect_ok(&s).await;

    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with("forbidden: cannot list events in namespace prod")),
        "{:?}",
        evidence.notes
    );
    assert_eq!(
        json["data"]["forbidden"],
        json!([{"verb": "list", "resource": "events", "namespace": "prod"}])
    );
    // History, pods and HPA were still read; what depends on events is absent, not zero.
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(3));
    assert_eq!(fact(&evidence, "kubernetes.restarts_in_window"), FactValue::Int(0));
    assert_eq!(fact(&evidence, "kubernetes.hpa_at_max"), FactValue::Bool(false));
    assert!(!evidence.facts.contains_key("kubernetes.warning_events"));
    assert!(json["data"]["deployments"][0]["events"].is_null());
}

#[tokio::test]
async fn a_hung_api_server_fails_at_the_deadline_with_a_clear_reason() {
    let s = setup().await;
    s.api.hang();
    let mut ctx = ctx();
    ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let started = std::time::Instant::now();
    let error = run(&s.config, &ctx).await.expect_err("a hung server gives no evidence");
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?} past a 2 s deadline");
    let message = error.to_string();
    assert!(matches!(error, CollectError::Timeout { .. }), "{message}");
    assert!(
        message.contains(&format!("the Kubernetes API server at http://{}/", s.api.addr))
            && message.contains("`get deployments.apps`"),
        "{message}"
    );
    assert_eq!(s.api.requests().len(), 1, "no further calls once the server hung");
}

#[tokio::test]
async fn replicaset_lists_are_followed_across_continue_pages() {
    let mut s = setup().await;
    s.config.list_page_size = 2;
    s.api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:1.5.0", 5)]);
    s.api.add(
        "replicasets",
        (1..=5).map(|r| {
            replica_set(
                &format!("r{r}"),
                r,
                &format!("web:1.{r}.0"),
                -100 + r * 10,
                i64::from(r == 5) * 3,
            )
        }),
    );
    let (evidence, json) = collect_ok(&s).await;

    let numbers: Vec<i64> = json["data"]["deployments"][0]["history"]["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["revision"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(fact(&evidence, "kubernetes.previous_revision"), FactValue::Int(4));
    let pages: Vec<(Option<String>, Option<String>)> = s
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/replicasets"))
        .map(|r| (r.query.get("limit").cloned(), r.query.get("continue").cloned()))
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        pages,
        [(some("2"), None), (some("2"), some("offset-2")), (some("2"), some("offset-4"))]
    );
}

#[tokio::test]
async fn a_pod_label_resolves_to_its_deployment_through_its_replicaset() {
    let mut s = setup().await;
    s.config.deployments.clear();
    s.config.namespace = Some("staging".into());
    three_revisions(&s.api);
    let mut ctx = ctx();
    ctx.trigger.labels =
        [("namespace".to_owned(), "prod".to_owned()), ("pod".to_owned(), "web-r3-p1".to_owned())]
            .into();
    let evidence = run(&s.config, &ctx).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "kubernetes.deployment"), FactValue::Text("web".into()));
    assert_eq!(fact(&evidence, "kubernetes.namespace"), FactValue::Text("prod".into()));
    assert_eq!(json["data"]["deployments"][0]["selected_by"], "alert label pod=web-r3-p1");
    let paths: Vec<String> = s.api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        &paths[..3],
        [
            "/api/v1/namespaces/prod/pods/web-r3-p1",
            "/apis/apps/v1/namespaces/prod/replicasets/web-r3",
            "/apis/apps/v1/namespaces/prod/deployments/web",
        ]
    );
}

#[tokio::test]
async fn with_several_deployments_the_facts_describe_the_one_in_trouble() {
    let mut s = setup().await;
    s.config.deployments.clear();
    s.config.label_selector = Some("tier=frontend".into());
    three_revisions(&s.api);
    let mut api = merge(
        deployment("api", "api-uid", "api:3.1.0", 1),
        json!({"status": {"conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"api-x\" has timed out progressing.", "lastUpdateTime": at(-3)}
        ]}}),
    );
    api["metadata"]["labels"]["tier"] = json!("frontend");
    s.api.add(
        "deployments",
        [
            api,
            merge(
                deployment("batch", "batch-uid", "batch:1", 1),
                json!({"metadata": {"labels": {"tier": "jobs"}}}),
            ),
        ],
    );
    let (evidence, json) = collect_ok(&s).await;

    let read: Vec<&str> = json["data"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(read, ["web", "api"], "the label selector chose them");
    assert_eq!(json["data"]["facts_deployment"], "prod/api");
    assert_eq!(fact(&evidence, "kubernetes.deployment"), FactValue::Text("api".into()));
    assert_eq!(fact(&evidence, "kubernetes.rollout_stuck"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.deployments_read"), FactValue::Int(2));
    assert_eq!(
        s.api.requests().iter().filter(|r| r.path.ends_with("/events")).count(),
        1,
        "events read once per namespace"
    );
}

#[tokio::test]
async fn a_server_that_hangs_midway_leaves_partial_evidence_and_no_healthy_looking_facts() {
    let s = setup().await;
    three_revisions(&s.api);
    s.api.hang_on("pods");
    let mut ctx = ctx();
    ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let started = std::time::Instant::now();
    let evidence = run(&s.config, &ctx).await.expect("history was read before the hang");
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());

    assert_eq!(evidence.status, Status::Partial);
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(3));
    for missing in
        ["kubernetes.restarts_in_window", "kubernetes.crashloop_pods", "kubernetes.hpa_at_max"]
    {
        assert!(!evidence.facts.contains_key(missing), "{missing} must be absent, not healthy");
    }
    let notes = evidence.notes.join("\n");
    assert!(notes.contains("did not answer `list pods`"), "{notes}");
    assert!(notes.contains("not read: HorizontalPodAutoscalers in prod"), "{notes}");
    assert!(
        !s.api.requests().iter().any(|r| r.path.ends_with("/horizontalpodautoscalers")),
        "no call after the server stopped answering"
    );
}

#[tokio::test]
async fn a_service_label_maps_to_its_deployment_when_configured() {
    let mut s = setup().await;
    s.config.deployments.clear();
    s.config.service_deployments = [("checkout".to_owned(), "web".to_owned())].into();
    three_revisions(&s.api);
    let mut ctx = ctx();
    ctx.trigger.labels = [("service".to_owned(), "checkout".to_owned())].into();
    let evidence = run(&s.config, &ctx).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    // No namespace label: the kubeconfig context's namespace (prod) is used.
    assert_eq!(json["data"]["facts_deployment"], "prod/web");
    assert_eq!(
        json["data"]["deployments"][0]["selected_by"],
        "alert label service=checkout (service_deployments)"
    );

    ctx.trigger.labels = [("service".to_owned(), "unmapped".to_owned())].into();
    let skipped = run(&s.config, &ctx).await.unwrap();
    assert_eq!(skipped.status, Status::Skipped);
    assert_eq!(
        skipped.notes,
        ["alert label service=unmapped has no entry in `service_deployments`"]
    );
}

#[tokio::test]
async fn refused_credentials_fail_the_collector_and_say_so() {
    let mut s = setup().await;
    three_revisions(&s.api);
    // The context whose user has the wrong token.
    s.config.context = Some("wrong".into());
    let error = run(&s.config, &ctx()).await.expect_err("401 gives no evidence");
    assert!(matches!(error, CollectError::Unreachable { .. }), "{error}");
    assert!(error.to_string().contains("credentials refused (401)"), "{error}");
    assert_eq!(s.api.requests()[0].authorization.as_deref(), Some("Bearer not-the-token"));
}

#[tokio::test]
async fn cancelling_the_run_stops_a_hung_call_at_once() {
    let s = setup().await;
    s.api.hang();
    let ctx = ctx();
    let cancel = ctx.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = std::time::Instant::now();
    let error = run(&s.config, &ctx).await.expect_err("cancelled");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(
        error.to_string().starts_with("cancelled before `get deployments.apps` finished"),
        "{error}"
    );
}

#[tokio::test]
async fn in_cluster_credentials_outside_a_cluster_are_a_configuration_error() {
    let mut config = KubernetesConfig::named("incluster");
    config.credentials = Credentials::InCluster;
    config.deployments = vec!["web".into()];
    // Only meaningful where no service account is mounted, as on these machines.
    assert!(
        std::env::var_os("KUBERNETES_SERVICE_HOST").is_none(),
        "test needs a non-cluster machine"
    );
    let error = run(&config, &ctx()).await.expect_err("no service account here");
    assert!(matches!(error, CollectError::Config(_)), "{error}");
    assert!(error.to_string().contains("in-cluster service account"), "{error}");
}

#[tokio::test]
async fn a_pod_that_is_gone_still_leads_to_its_deployment_by_name() {
    let mut s = setup().await;
    s.config.deployments.clear();
    three_revisions(&s.api);
    let mut ctx = ctx();
    ctx.trigger.labels = [("pod".to_owned(), "web-7d9c8b6f4-x2k4p".to_owned())].into();
    let evidence = run(&s.config, &ctx).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "kubernetes.deployment"), FactValue::Text("web".into()));
    assert_eq!(
        json["data"]["deployments"][0]["selected_by"],
        "alert label pod=web-7d9c8b6f4-x2k4p (pod gone; Deployment named by its prefix)"
    );
}

/// A busy namespace: 400 pods and 3000 events over 250-item pages stay within the caps,
/// and the totals still count every pod.
#[tokio::test]
async fn a_busy_namespace_is_read_within_the_caps() {
    let s = setup().await;
    three_revisions(&s.api);
    s.api.add("pods", (0..397).map(|i| pod(&format!("web-r3-b{i:03}"), "r3", "web:1.4.2", -11)));
    s.api.add(
        "events",
        (0..3000).map(|i| {
            let pod = format!("web-r3-b{:03}", i % 397);
            event("Pod", &pod, "Warning", "Unhealthy", "Readiness probe failed", -(i % 25), 1)
        }),
    );
    let (evidence, json) = collect_ok(&s).await;

    let pods = &json["data"]["deployments"][0]["pods"];
    assert_eq!(pods["totals"]["total"], 400);
    assert_eq!(pods["pods"].as_array().unwrap().len(), 50);
    assert_eq!(json["data"]["deployments"][0]["events"]["events"].as_array().unwrap().len(), 100);
    assert_eq!(json["data"]["deployments"][0]["events"]["matched"], 3000);
    assert_eq!(fact(&evidence, "kubernetes.warning_events"), FactValue::Int(3000));
    assert!(
        evidence.notes.iter().any(|n| n
            == "kept 50 of 400 pods of prod/web (max_pods; problem pods first); totals count all")
    );
    let events_pages = s.api.requests().iter().filter(|r| r.path.ends_with("/events")).count();
    assert_eq!(events_pages, 12, "3000 events in pages of 250");
    assert!(
        json.to_string().len() < 256 * 1024,
        "evidence stays small: {} bytes",
        json.to_string().len()
    );
}

/// Runs the collector over every kind of object, its alert naming a pod, and returns the
/// requests the fake API server received (for the RBAC test).
pub async fn run_full_scenario() -> Vec<crate::fake_api::Recorded> {
    let mut s = setup().await;
    s.config.deployments.clear();
    three_revisions(&s.api);
    s.api.add("horizontalpodautoscalers", [hpa("web", "web", 2, 10, 3, 3, 50)]);
    s.api.add("events", [event("Pod", "web-r3-p0", "Warning", "Unhealthy", "probe failed", -3, 1)]);
    let mut ctx = ctx();
    ctx.trigger.labels = [("pod".to_owned(), "web-r3-p0".to_owned())].into();
    let evidence = run(&s.config, &ctx).await.unwrap();
    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    s.api.requests()
}
