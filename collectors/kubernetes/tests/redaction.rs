//! Secrets in what the API server returns (an event message quoting a token, a
//! container's args and command, an environment value, an annotation or label under a
//! secret-named key, a waiting container's message, a condition's message) never reach
//! the evidence or the artifacts: the collector redacts every object as it arrives.
//! Against the fake API server (see [`crate::fake_api`]).

use serde_json::json;
use witness_net::seeds::{self, Secret};

use crate::collect::{ctx, run, setup};
use crate::fixtures::*;

#[tokio::test]
async fn secrets_in_api_objects_never_reach_the_evidence_or_the_artifacts() {
    for seed in [9, 10] {
        let s = setup().await;
        let mut seeded = seeds::secrets(seed);
        let texts: Vec<String> = seeded.iter().map(|s| s.text.clone()).collect();
        let by = |class: &str| seeded.iter().find(|s| s.class == class).unwrap().value.clone();
        let (flag, inline, annotation, label, env) = (
            by("key_value"),
            by("github_token"),
            by("dsn_password"),
            by("key_value_api_key"),
            by("url_password"),
        );
        let container_secrets = json!({
            "name": "web", "image": "registry.example.com/web:1.4.2",
            "command": ["/app", format!("--token={inline}")],
            "args": ["--db-password", flag, "--log-level", "info"],
            "env": [{"name": "API_TOKEN", "value": env}]
        });
        let deployment = merge(
            deployment("web", DEPLOYMENT_UID, "registry.example.com/web:1.4.2", 3),
            json!({
                "metadata": {"annotations": {"db-password": annotation, "note": texts[1]},
                             "labels": {"api_token": label}},
                "spec": {"template": {"spec": {"containers": [container_secrets.clone()]}}},
                "status": {"conditions": [{"type": "Progressing", "status": "True",
                    "reason": "NewReplicaSetAvailable", "message": texts[5], "lastTransitionTime": at(-12)}]}
            }),
        );
        s.api.add("deployments", [deployment]);
        s.api.add("replicasets", [replica_set("r3", 3, "registry.example.com/web:1.4.2", -12, 1)]);
        let crashing = merge(
            pod("web-r3-p0", "r3", "registry.example.com/web:1.4.2", -11),
            json!({"spec": {"containers": [container_secrets]},
                   "status": {"containerStatuses": [{
                       "name": "web", "image": "registry.example.com/web:1.4.2", "imageID": "",
                       "ready": false, "restartCount": 4, "started": false,
                       "state": {"waiting": {"reason": "CrashLoopBackOff", "message": texts.join("\n")}}}]}}),
        );
        s.api.add("pods", [crashing]);
        s.api.add(
            "events",
            texts.iter().enumerate().map(|(i, text)| {
                event("Pod", "web-r3-p0", "Warning", "Failed", text, -10 + i as i64, 1)
            }),
        );
        let ctx = ctx();
        let evidence = run(&s.config, &ctx).await.unwrap_or_else(|e| panic!("collect failed: {e}"));

        let everything = seeds::everything(&evidence, &ctx);
        assert!(everything.contains("\"involvedObject\""), "the events are kept: {everything}");
        assert!(everything.contains("CrashLoopBackOff"), "{everything}");
        assert!(everything.contains("--db-password"), "{everything}");
        for (class, value) in [
            ("flag", flag),
            ("inline", inline),
            ("annotation", annotation),
            ("label", label),
            ("env", env),
        ] {
            seeded.push(Secret { class, value, text: String::new() });
        }
        seeds::assert_none_survive("the kubernetes evidence and artifacts", &everything, &seeded);
    }
}
