//! Issue 17: pod logs through the whole of witness. `witness collect at` runs the
//! `kubernetes` collector against the fake Kubernetes API server of the kubernetes crate's
//! tests (no real API server can run here; the fake speaks the real HTTP API, pod logs as
//! the kubelet serves them), reached by a real `kube::Client` from a kubeconfig. A
//! crash-looping container's previous log and the errors only the new revision's pods log
//! must reach the bundle, the timeline and the report, and make the rollback the rules'
//! answer, citing them; the same errors on both revisions must count against it.

use std::path::Path;

use serde_json::Value;
use witness::rules::{Evaluation, Recommendation};

use crate::util::{only_entry, text, witness};

use crate::util::{fake_api, fixtures};

use fake_api::{ContainerLog, FakeApi};

/// Collects at the fixtures' anchor with only the `kubernetes` collector, against `api`;
/// returns the bundle's directory (under `dir`).
async fn collect(api: &FakeApi, dir: &Path) -> std::path::PathBuf {
    let kubeconfig = api.kubeconfig(dir);
    let config = dir.join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "[[collectors.kubernetes]]\nname = \"prod\"\ncredentials = \"kubeconfig\"\n\
             kubeconfig_path = \"{}\"\ncontext = \"fake\"\ndeployments = [\"web\"]\n",
            kubeconfig.display()
        ),
    )
    .unwrap();
    let out = dir.join("bundles");
    let (dir, config_path, out_path) = (dir.to_owned(), config.clone(), out.clone());
    let output = tokio::task::spawn_blocking(move || {
        witness(
            &dir,
            &[
                "collect",
                "at",
                "2025-11-19T21:00:00Z",
                "--since",
                "30m",
                "--config",
                config_path.to_str().unwrap(),
                "--only",
                "kubernetes",
                "--out",
                out_path.to_str().unwrap(),
            ],
        )
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    only_entry(&out)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loop_and_the_new_revisions_errors_reach_the_bundle_the_report_and_the_rules() {
    let api = FakeApi::start().await;
    fixtures::bad_deploy(&api);
    let dir = tempfile::tempdir().unwrap();
    let bundle = collect(&api, dir.path()).await;

    let evidence = read_json(&bundle.join("evidence/kubernetes-prod.json"));
    assert_eq!(evidence["facts"]["kubernetes.errors_only_on_new_revision"], true, "{evidence:#}");
    let previous = std::fs::read_to_string(
        bundle.join("evidence/kubernetes-prod/prod/web/pod-logs/web-r4-b/web.previous.log"),
    )
    .unwrap();
    assert!(previous.contains("panic: missing config PAYMENT_URL"), "{previous}");

    let timeline = read_json(&bundle.join("timeline.json"));
    let titles: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| matches!(e["kind"].as_str(), Some("crash_output" | "revision_errors")))
        .map(|e| e["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Errors only on revision 4's pods of prod/web: payment failed: column \"<s>\" does not exist (+1 more)",
            "Crash output of pod web-r4-b container web (Error, exit 2): panic: missing config PAYMENT_URL",
        ]
    );
    let report = std::fs::read_to_string(bundle.join("report.md")).unwrap();
    assert!(report.contains("Crash output of pod web-r4-b container web"), "{report}");
    assert!(report.contains("Errors only on revision 4's pods"), "{report}");
    let html = std::fs::read_to_string(bundle.join("report.html")).unwrap();
    assert!(!html.contains("no error-rate chart"), "the pods' logs give the error-rate chart");

    let evaluation: Evaluation =
        serde_json::from_value(read_json(&bundle.join("hypotheses.json"))).unwrap();
    let top = &evaluation.hypotheses[0];
    assert_eq!(top.recommendation, Recommendation::Rollback, "{:#?}", evaluation.hypotheses);
    let bad_deploy = evaluation
        .hypotheses
        .iter()
        .find(|h| h.id == "bad_deploy")
        .unwrap_or_else(|| panic!("{:#?}", evaluation.hypotheses));
    assert!(
        bad_deploy.explanation.contains("only revision 4's pods log the new errors"),
        "{}",
        bad_deploy.explanation
    );
    let cited: Vec<String> = bad_deploy.evidence.iter().map(ToString::to_string).collect();
    assert!(
        cited
            .iter()
            .any(|r| r == "evidence/kubernetes-prod.json#/data/deployments/0/pod_logs/comparison"),
        "the revision_errors event is cited: {cited:?}"
    );
    assert!(cited.iter().any(|r| r.ends_with("/crash")), "the crash output is cited: {cited:?}");
    assert!(
        bad_deploy.counter_evidence.iter().all(|c| !c.contains("same errors")),
        "{:?}",
        bad_deploy.counter_evidence
    );
    assert!(
        bad_deploy
            .commands
            .iter()
            .any(|c| c.contains("rollout undo deployment/web -n prod --to-revision=3"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_errors_on_both_revisions_count_against_the_bad_deploy() {
    use fixtures::{SHARED, app_log, json_log};

    let api = FakeApi::start().await;
    fixtures::bad_deploy(&api);
    // The shared error every minute on every pod, old and new: a dependency, not the deploy.
    let every_minute: Vec<i64> = (-50..=0).filter(|m| *m == -50 || *m == -40 || *m > -25).collect();
    for pod in ["web-r3-a", "web-r3-b"] {
        let log = app_log(-70, 1, &every_minute, SHARED);
        api.log(pod, "web", ContainerLog { current: Some(log), previous: None });
    }
    let errors: Vec<(i64, &str)> = (-11..=0).map(|m| (m, SHARED)).collect();
    api.log(
        "web-r4-a",
        "web",
        ContainerLog { current: Some(json_log(-11, 1, &errors)), previous: None },
    );
    api.log("web-r4-b", "web", ContainerLog { current: None, previous: Some(Vec::new()) });
    let dir = tempfile::tempdir().unwrap();
    let bundle = collect(&api, dir.path()).await;

    let evidence = read_json(&bundle.join("evidence/kubernetes-prod.json"));
    assert_eq!(evidence["facts"]["kubernetes.errors_on_both_revisions"], true, "{evidence:#}");
    assert_eq!(evidence["facts"]["kubernetes.errors_only_on_new_revision"], false);
    let evaluation: Evaluation =
        serde_json::from_value(read_json(&bundle.join("hypotheses.json"))).unwrap();
    let bad_deploy =
        evaluation.hypotheses.iter().find(|h| h.id == "bad_deploy").unwrap_or_else(|| {
            panic!("the errors rose after the rollout: {:#?}", evaluation.hypotheses)
        });
    assert!(
        bad_deploy.counter_evidence.iter().any(|c| c.starts_with(
            "the older revision's pods log the same errors as revision 4's: they are not the new revision's doing"
        )),
        "{:?}",
        bad_deploy.counter_evidence
    );
    assert!(
        !bad_deploy.explanation.contains("only revision 4's pods"),
        "{}",
        bad_deploy.explanation
    );
}
