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

/// Issue 17: pod log lines are redacted where they enter, like a file's: secrets in error
/// lines (text and JSON, in the window and the baseline), in JSON fields under secret
/// names, and in a crashed instance's output (a private key printed over several lines
/// included) never reach the signatures, examples, excerpt, crash output or facts.
#[tokio::test]
async fn secrets_in_pod_logs_never_reach_the_evidence_or_the_artifacts() {
    use chrono::Duration;

    use crate::fake_api::{ContainerLog, LogLine};

    for seed in [17, 18] {
        let s = setup().await;
        let mut seeded = seeds::secrets(seed);
        let (objects, json_secrets) = seeds::json_fields(seed);
        seeded.extend(json_secrets);
        let texts: Vec<String> =
            seeded.iter().map(|s| s.text.clone()).filter(|t| !t.is_empty()).collect();
        let t = |minutes: i64, seconds: i64| {
            anchor() + Duration::minutes(minutes) + Duration::seconds(seconds)
        };
        // A PEM body: 64 base64 characters a line, from the seed.
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let pem_lines: Vec<String> = (0..6)
            .map(|_| {
                (0..64)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        B64[(x % 64) as usize] as char
                    })
                    .collect()
            })
            .collect();
        for (i, line) in pem_lines.iter().enumerate() {
            seeded.push(Secret {
                class: "pem_body",
                value: line[..40].to_owned(),
                text: format!("pem line {i}"),
            });
        }

        s.api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:2.0.0", 4)]);
        s.api.add(
            "replicasets",
            [
                replica_set("r3", 3, "web:1.4.2", -3 * 24 * 60, 1),
                replica_set("r4", 4, "web:2.0.0", -12, 1),
            ],
        );
        let mut looping = pod("web-r4-a", "r4", "web:2.0.0", -11);
        looping["status"]["containerStatuses"][0]["state"] =
            json!({"waiting": {"reason": "CrashLoopBackOff"}});
        looping["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "Error", "exitCode": 1, "startedAt": at(-3), "finishedAt": at(-2)}});
        s.api.add("pods", [pod("web-r3-a", "r3", "web:1.4.2", -180), looping]);

        let mut old: Vec<LogLine> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            for minutes in [-50, -10] {
                let at = t(minutes, i as i64);
                let stamp = at.format("%Y-%m-%d %H:%M:%S,000");
                old.push((at, format!("{stamp} ERROR app: login failed for {text}")));
                old.push((at, format!("{stamp} INFO app: retrying with {text}")));
            }
        }
        old.sort_by_key(|(at, _)| *at);
        s.api.log("web-r3-a", "web", ContainerLog { current: Some(old), previous: None });

        let mut crash: Vec<LogLine> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let message = json!({"level": "error", "msg": format!("upstream refused {text}")});
            crash.push((t(-3, i as i64), message.to_string()));
        }
        for (i, object) in objects.iter().enumerate() {
            let mut value: serde_json::Value = serde_json::from_str(object).unwrap();
            value["level"] = json!("error");
            value["msg"] = json!("bad credentials");
            crash.push((t(-3, 30 + i as i64), value.to_string()));
        }
        crash.push((t(-2, 0), "panic: could not load the signing key:".to_owned()));
        crash.push((t(-2, 0), "-----BEGIN RSA PRIVATE KEY-----".to_owned()));
        crash.extend(pem_lines.iter().map(|l| (t(-2, 0), l.clone())));
        crash.push((t(-2, 0), "-----END RSA PRIVATE KEY-----".to_owned()));
        s.api.log("web-r4-a", "web", ContainerLog { current: None, previous: Some(crash) });

        let ctx = ctx();
        let evidence = run(&s.config, &ctx).await.unwrap_or_else(|e| panic!("collect failed: {e}"));
        assert!(evidence.events.iter().any(|e| e.kind == "crash_output"), "{:?}", evidence.events);
        assert!(evidence.facts.contains_key("kubernetes.pod_log_new_signature_messages"));
        let everything = seeds::everything(&evidence, &ctx);
        assert!(everything.contains("login failed for"), "the errors are kept: {everything}");
        assert!(
            everything.contains("BEGIN RSA PRIVATE KEY") || everything.contains("REDACTED"),
            "{everything}"
        );
        seeds::assert_none_survive("the pod logs' evidence and artifacts", &everything, &seeded);
    }
}
