//! The follow-up of a resolved incident, end to end: a service that logs and answers a
//! health endpoint, a Deployment behind it, a real Alertmanager, and `witness serve`. The
//! alert fires after a bad rollout, witness seals the incident's bundle; the responder
//! rolls back; Alertmanager resolves the alert, and witness seals a follow-up bundle that
//! names the incident's id and root hash and checks what actually changed.
//!
//! No Kubernetes API server can run here: the Deployment is served by the fake API server
//! of the kubernetes collector's tests (`collectors/kubernetes/tests/fake_api.rs`), which
//! speaks the real HTTP API, and witness reaches it through its real `kube::Client` from a
//! kubeconfig. The cluster before the rollback and after it are two such servers; the
//! rollback is the kubeconfig moving from the first to the second.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::alertmanager::rfc3339;
use super::{
    Daemon, InProcess, TOKEN, client, config_text, post_json, sealed_bundles, trigger_of, wait_for,
    write_config,
};
use crate::util::alertmanager::Alertmanager;

use crate::util::{fake_api, fixtures};

use fake_api::FakeApi;
use fixtures::merge;

/// The error the bad revision logs, and the background error the baseline already had.
const NEW_ERROR: &str = "TypeError: Cannot read property 'email' of undefined";
const OLD_ERROR: &str = "cache miss for key 42";

/// A service that logs a line every 100 ms (five errors when broken) to `app.log`, after
/// an hour of history (a background error every two minutes), and answers `/health`
/// (503 when broken). Stops when dropped.
struct Service {
    log: PathBuf,
    health: String,
    broken: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn line(at: chrono::DateTime<Utc>, level: &str, message: &str) -> String {
    format!(
        "{} {level} checkout: {message}\n",
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

impl Service {
    async fn start(dir: &Path) -> Self {
        let log = dir.join("app.log");
        let now = Utc::now();
        let mut history = String::new();
        for i in (1..=360).rev() {
            let at = now - chrono::Duration::seconds(i * 10);
            history.push_str(&line(at, "INFO", "GET /api/orders 200"));
            if i % 12 == 0 {
                history.push_str(&line(at, "ERROR", OLD_ERROR));
            }
        }
        std::fs::write(&log, history).unwrap();
        let (broken, stop) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
        let (thread_broken, thread_stop, path) = (broken.clone(), stop.clone(), log.clone());
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            while !thread_stop.load(Ordering::SeqCst) {
                let mut text = line(Utc::now(), "INFO", "GET /api/orders 200");
                if thread_broken.load(Ordering::SeqCst) {
                    for _ in 0..5 {
                        text.push_str(&line(Utc::now(), "ERROR", NEW_ERROR));
                    }
                }
                file.write_all(text.as_bytes()).unwrap();
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let health = format!("http://{}/health", listener.local_addr().unwrap());
        let answer_broken = broken.clone();
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(move || {
                let broken = answer_broken.load(Ordering::SeqCst);
                async move {
                    let (code, status) = if broken {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "DOWN")
                    } else {
                        (axum::http::StatusCode::OK, "UP")
                    };
                    (code, axum::Json(json!({"status": status})))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { log, health, broken, stop }
    }

    fn set_broken(&self, broken: bool) {
        self.broken.store(broken, Ordering::SeqCst);
    }
}

/// `t` as the API server writes times.
fn api_time(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The ReplicaSet `web-<hash>` of `revision`, created at `created`.
fn replica_set(
    hash: &str,
    revision: i64,
    image: &str,
    created: chrono::DateTime<Utc>,
    replicas: i64,
    history: Option<&str>,
) -> Value {
    let mut annotations = json!({"deployment.kubernetes.io/revision": revision.to_string()});
    if let Some(history) = history {
        annotations["deployment.kubernetes.io/revision-history"] = json!(history);
    }
    merge(
        fixtures::replica_set(hash, revision, image, 0, replicas),
        json!({"metadata": {"creationTimestamp": api_time(created), "annotations": annotations}}),
    )
}

/// The cluster during the incident: revision 8 (`web:1.4.2`) rolled out two minutes ago
/// over revision 7 (`web:1.4.1`).
async fn cluster_before() -> FakeApi {
    let now = Utc::now();
    let api = FakeApi::start().await;
    api.add("deployments", [fixtures::deployment("web", fixtures::DEPLOYMENT_UID, "web:1.4.2", 8)]);
    api.add(
        "replicasets",
        [
            replica_set("7d9c", 7, "web:1.4.1", now - chrono::Duration::days(2), 0, None),
            replica_set("5f6b", 8, "web:1.4.2", now - chrono::Duration::minutes(2), 3, None),
        ],
    );
    api
}

/// The cluster after `kubectl rollout undo --to-revision=7`: revision 7's ReplicaSet,
/// reused, is revision 9, scaled up again just now.
async fn cluster_after() -> FakeApi {
    let now = Utc::now();
    let api = FakeApi::start().await;
    api.add("deployments", [fixtures::deployment("web", fixtures::DEPLOYMENT_UID, "web:1.4.1", 9)]);
    api.add(
        "replicasets",
        [
            replica_set("7d9c", 9, "web:1.4.1", now - chrono::Duration::days(2), 3, Some("7")),
            replica_set("5f6b", 8, "web:1.4.2", now - chrono::Duration::minutes(3), 0, None),
        ],
    );
    let scaled = fixtures::event(
        "Deployment",
        "web",
        "Normal",
        "ScalingReplicaSet",
        "Scaled up replica set web-7d9c from 0 to 3",
        0,
        1,
    );
    let at = api_time(now);
    api.add(
        "events",
        [merge(scaled, json!({"firstTimestamp": at, "lastTimestamp": at, "metadata": {"creationTimestamp": at}}))],
    );
    api
}

/// Points the kubeconfig at `path` to `api`.
fn point_kubeconfig(api: &FakeApi, dir: &Path, path: &Path) {
    std::fs::rename(api.kubeconfig(dir), path).unwrap();
}

struct Incident {
    dir: tempfile::TempDir,
    service: Service,
    /// The cluster after the rollback, once it happened.
    after: Option<FakeApi>,
    kubeconfig: PathBuf,
    daemon: Daemon,
    am: Alertmanager,
    labels: Value,
    starts_at: String,
    bundle: PathBuf,
    _before: FakeApi,
}

/// A bad rollout, the service failing, an alert through Alertmanager, and the incident's
/// sealed bundle.
async fn incident() -> Incident {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path()).await;
    let before = cluster_before().await;
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    point_kubeconfig(&before, dir.path(), &kubeconfig);
    let collectors = format!(
        "\n[follow_up]\nwindow_secs = 4\n\n[[collectors.logs]]\nname = \"app\"\npaths = [{log:?}]\n\n[[collectors.http]]\nname = \"api\"\nurl = {health:?}\nprobes = 2\nprobe_interval_ms = 100\n\n[[collectors.kubernetes]]\nname = \"prod\"\ncredentials = \"kubeconfig\"\nkubeconfig_path = {kubeconfig:?}\ncontext = \"fake\"\n",
        log = service.log,
        health = service.health,
    );
    // The same config without the host collector, which tells nothing here.
    let text = config_text(dir.path(), "")
        .replace("\n[[collectors.host]]\nname = \"local\"\ncpu_sample_ms = 200\n", &collectors);
    let daemon = Daemon::start(&write_config(dir.path(), &text));
    let am = Alertmanager::start(dir.path(), &daemon.url("/hooks/alertmanager"), TOKEN).await;

    service.set_broken(true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let starts_at = rfc3339(Utc::now());
    let labels = json!({"alertname": "CheckoutErrors", "service": "checkout", "severity": "critical",
                        "namespace": "prod", "deployment": "web"});
    am.post(&labels, &starts_at, None).await;
    let fingerprint = am.fingerprint("CheckoutErrors").await;
    let store = dir.path().join("store");
    let bundle = wait_for(Duration::from_secs(60), "the incident's bundle", async || {
        sealed_bundles(&store)
            .into_iter()
            .find(|b| trigger_of(b)["fingerprint"] == fingerprint.as_str())
    })
    .await;
    let hypotheses: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("hypotheses.json")).unwrap()).unwrap();
    assert_eq!(
        hypotheses["hypotheses"][0]["recommendation"], "rollback",
        "the incident recommends the rollback: {:#}",
        hypotheses["hypotheses"][0]
    );
    Incident {
        dir,
        service,
        after: None,
        kubeconfig,
        daemon,
        am,
        labels,
        starts_at,
        bundle,
        _before: before,
    }
}

impl Incident {
    fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// The responder rolls back (the kubeconfig now reaches the cluster after it); the
    /// service recovers when `fixed`. A moment later Alertmanager resolves the alert.
    async fn roll_back_and_resolve(&mut self, fixed: bool) {
        let after = cluster_after().await;
        point_kubeconfig(&after, self.dir.path(), &self.kubeconfig);
        self.after = Some(after);
        self.service.set_broken(!fixed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let ends_at = rfc3339(Utc::now() - chrono::Duration::seconds(1));
        self.am.post(&self.labels, &self.starts_at, Some(&ends_at)).await;
    }

    /// The follow-up bundle of the incident, once sealed.
    async fn follow_up(&self) -> PathBuf {
        let id = self.bundle.file_name().unwrap().to_str().unwrap().to_owned();
        let store = self.store();
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            let found = sealed_bundles(&store)
                .into_iter()
                .find(|b| manifest(b)["follows"]["id"] == id.as_str());
            if let Some(found) = found {
                return found;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no follow-up of {id} within 90 s; witness logged:\n{}",
                self.daemon.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap()
}

fn follow_up_json(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("follow-up.json")).unwrap()).unwrap()
}

/// Fails unless every `(check, status)` of `expected` is among the follow-up's checks.
fn assert_checks(follow_up: &Value, expected: &[(&str, &str)]) {
    let checks = follow_up["checks"].as_array().unwrap();
    for (check, status) in expected {
        assert!(
            checks.iter().any(|c| c["check"] == *check && c["status"] == *status),
            "{check} {status} in {follow_up:#}"
        );
    }
}

fn witness(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(args)
        .env("WITNESS_LOG", "off")
        .env_remove("WITNESS_CONFIG")
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
async fn a_resolution_through_a_real_alertmanager_seals_a_follow_up_that_sees_the_rollback() {
    let mut incident = incident().await;
    incident.roll_back_and_resolve(true).await;
    let follow_up = incident.follow_up().await;

    // It names the incident by id and root hash, which is unchanged and still verifies.
    let incident_manifest = manifest(&incident.bundle);
    assert_eq!(manifest(&follow_up)["follows"]["root_sha256"], incident_manifest["root_sha256"]);
    for bundle in [&incident.bundle, &follow_up] {
        let (ok, said) = witness(&["verify", bundle.to_str().unwrap()]);
        assert!(ok, "{said}");
    }
    let (_, said) = witness(&["verify", follow_up.to_str().unwrap()]);
    assert!(said.contains("beside it with the same root hash"), "{said}");

    let checks = follow_up_json(&follow_up);
    let passed = [("error_rate", "passed"), ("new_errors", "passed"), ("health", "passed")];
    assert_checks(&checks, &passed);
    assert_checks(&checks, &[("action", "passed")]);
    let action =
        checks["checks"].as_array().unwrap().iter().find(|c| c["check"] == "action").unwrap();
    assert!(
        action["detail"].as_str().unwrap().contains("runs revision 7's ReplicaSet web-7d9c again"),
        "{action}"
    );
    // Every ref of every check resolves, in the bundle it names.
    for check in checks["checks"].as_array().unwrap() {
        for (dir, refs) in
            [(&incident.bundle, &check["incident_evidence"]), (&follow_up, &check["evidence"])]
        {
            for r in refs.as_array().unwrap() {
                let file: Value = serde_json::from_slice(
                    &std::fs::read(dir.join(r["file"].as_str().unwrap())).unwrap(),
                )
                .unwrap();
                let pointer = r["pointer"].as_str().unwrap_or("");
                assert!(
                    file.pointer(pointer).is_some(),
                    "{r} does not resolve in {}",
                    dir.display()
                );
            }
        }
    }
    let durations = &checks["durations"];
    assert!(durations["time_to_detect_secs"].as_i64().unwrap() >= 0, "{durations}");
    assert!(
        durations["time_to_mitigate_secs"].as_i64().unwrap() > 0,
        "the rollback's rollout: {durations}"
    );
    assert!(
        durations["time_to_resolve_secs"].as_i64() >= durations["time_to_mitigate_secs"].as_i64(),
        "{durations}"
    );
    let trigger = trigger_of(&follow_up);
    assert_eq!(
        (trigger["status"].as_str(), trigger["source"].as_str()),
        (Some("resolved"), Some("alertmanager"))
    );
    assert_eq!(trigger["raw"]["status"], "resolved", "the resolved notification is kept");

    // Shown everywhere a run is shown.
    let md = std::fs::read_to_string(follow_up.join("report.md")).unwrap();
    assert!(md.contains("## Follow-up: fixed: every check passed"), "{md}");
    assert!(md.contains("| time to mitigate |"), "{md}");
    assert!(!md.contains("## Recommendation"), "a follow-up offers no command first: {md}");
    let html = std::fs::read_to_string(follow_up.join("report.html")).unwrap();
    assert!(html.find("id=\"follow-up\"").unwrap() < html.find("id=\"impact\"").unwrap());
    let (_, shown) = witness(&["show", follow_up.to_str().unwrap()]);
    assert!(shown.contains("FOLLOW-UP fixed"), "{shown}");
    let (_, shown) = witness(&["show", incident.bundle.to_str().unwrap()]);
    let follow_up_id = follow_up.file_name().unwrap().to_str().unwrap();
    assert!(shown.contains(&format!("{follow_up_id}  follow-up of")), "{shown}");
    let config = incident.dir.path().join("witness.toml");
    let (_, listed) = witness(&["list", "--config", config.to_str().unwrap()]);
    let line = listed.lines().find(|l| l.starts_with(follow_up_id)).unwrap();
    assert!(line.contains("follow-up of") && line.contains("fixed"), "{listed}");
    // Counted once the seal is journaled, a moment after the bundle appears.
    let c = client();
    let metrics = wait_for(Duration::from_secs(10), "the follow-up in the metrics", async || {
        let text = c.get(incident.daemon.url("/metrics")).send().await.ok()?.text().await.ok()?;
        text.contains(r#"witness_runs_total{status="sealed",severity="P3"} 1"#).then_some(text)
    })
    .await;
    for series in [
        r#"witness_follow_up_checks_total{check="action",status="passed"} 1"#,
        // The incident: every probe of its health endpoint failed.
        r#"witness_runs_total{status="sealed",severity="P0"} 1"#,
        "witness_follow_ups_waiting 0",
    ] {
        assert!(metrics.contains(series), "{series} missing from:\n{metrics}");
    }
}

/// The rollback was made, but the errors go on and the health check still fails: the
/// follow-up says "not yet" for them, and that the rollback was taken.
#[tokio::test]
async fn a_fix_that_did_not_take_is_not_yet() {
    let mut incident = incident().await;
    incident.roll_back_and_resolve(false).await;
    let follow_up = incident.follow_up().await;
    let checks = follow_up_json(&follow_up);
    let not_yet = [("error_rate", "not_yet"), ("new_errors", "not_yet"), ("health", "not_yet")];
    assert_checks(&checks, &not_yet);
    assert_checks(&checks, &[("action", "passed")]);
    let md = std::fs::read_to_string(follow_up.join("report.md")).unwrap();
    assert!(md.contains("## Follow-up: not yet: 3 of"), "{md}");
    let (_, summary) = witness(&["show", follow_up.to_str().unwrap(), "--format", "json"]);
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        summary["follow_up"]["incident"]["id"],
        incident.bundle.file_name().unwrap().to_str().unwrap()
    );
}

/// A follow-up accepted and still waiting for its window is in the journal: after a
/// restart it waits again and is sealed under the id the `202` named.
#[tokio::test]
async fn a_follow_up_waiting_for_its_window_survives_a_restart() {
    let server = InProcess::start_with(|dir| {
        format!("{}\n[follow_up]\nwindow_secs = 3\n", config_text(dir, ""))
    })
    .await;
    let c = client();
    let url = server.url("/hooks/generic");
    let start = rfc3339(Utc::now() - chrono::Duration::minutes(5));
    let body = |status: &str| {
        json!({"title": "DiskFull", "fingerprint": "disk1", "status": status, "starts_at": start,
               "ends_at": rfc3339(Utc::now())})
        .to_string()
    };
    let r = post_json(&c, &url, body("firing")).send().await.unwrap();
    let incident = r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned();
    let store = server.store();
    wait_for(Duration::from_secs(30), "the incident's bundle", async || {
        store.join(&incident).is_dir().then_some(())
    })
    .await;
    let r = post_json(&c, &url, body("resolved")).send().await.unwrap();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["alerts"][0]["action"], "resolved");
    assert_eq!(answer["alerts"][0]["bundle"], incident.as_str());
    let follow_up = answer["alerts"][0]["follow_up"].as_str().unwrap().to_owned();
    assert!(answer["bundles"].as_array().unwrap().contains(&json!(follow_up)));
    // The same resolution again is a redelivery, not a second follow-up.
    let again: Value =
        post_json(&c, &url, body("resolved")).send().await.unwrap().json().await.unwrap();
    assert_eq!(again["alerts"][0]["action"], "redelivered", "{again}");

    let server = server.restart().await;
    let store = server.store();
    let sealed = wait_for(Duration::from_secs(60), "the replayed follow-up", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&follow_up))
    })
    .await;
    assert_eq!(manifest(&sealed)["follows"]["id"], incident.as_str());
    assert_eq!(sealed_bundles(&store).len(), 2, "one incident, one follow-up");
    let checked = follow_up_json(&sealed);
    assert_eq!(checked["resolution"]["source"], "generic");
    // A host snapshot shows nothing of a disk's incident: never "fixed".
    let checks = checked["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] == "could_not_check"), "{checks:#?}");
    server.stop().await;
}

/// PagerDuty's `incident.resolved` resolves its incident when it occurred, and starts the
/// follow-up of the incident's run.
#[tokio::test]
async fn a_pagerduty_resolution_starts_the_follow_up_of_its_incident() {
    let server = InProcess::start_with(|dir| {
        format!("{}\n[follow_up]\nwindow_secs = 1\n", config_text(dir, ""))
    })
    .await;
    let c = client();
    let url = server.url("/hooks/pagerduty");
    let send = async |event: &str| -> Value {
        let body = super::operator::pagerduty_event(event, "PFU1");
        let signature = witness::server::auth::sign_pagerduty(b"pd-secret", body.as_bytes());
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .header("x-pagerduty-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
        r.json().await.unwrap()
    };
    let incident = send("incident.triggered").await["bundles"][0].as_str().unwrap().to_owned();
    let store = server.store();
    wait_for(Duration::from_secs(30), "the incident's bundle", async || {
        store.join(&incident).is_dir().then_some(())
    })
    .await;
    let answer = send("incident.resolved").await;
    assert_eq!(answer["alerts"][0]["bundle"], incident.as_str(), "{answer}");
    let follow_up = answer["alerts"][0]["follow_up"].as_str().unwrap().to_owned();
    let sealed = wait_for(Duration::from_secs(30), "the follow-up", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&follow_up))
    })
    .await;
    let checked = follow_up_json(&sealed);
    assert_eq!(checked["resolution"]["source"], "pagerduty");
    assert_eq!(checked["resolution"]["at"], "2025-11-19T21:00:02.169Z", "when it occurred");
    assert_eq!(manifest(&sealed)["follows"]["id"], incident.as_str());
    server.stop().await;
}
