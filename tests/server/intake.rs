//! Intake over HTTP, in-process on port 0: auth, content type, size, validation,
//! PagerDuty signatures, dedup, resolved alerts, redeliveries, the queue bound and the
//! rate limit.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{InProcess, TOKEN, am_body, client, post_json, sealed_bundles, trigger_of, wait_for};

const T0: &str = "2025-11-19T21:00:00Z";

#[tokio::test]
async fn bad_requests_get_the_status_that_says_why() {
    let server = InProcess::start("max_body_bytes = 4096").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let body = am_body("aa", "firing", T0, "g");

    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(&url)
        .bearer_auth("wrong")
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = c
        .post(&url)
        .basic_auth("u", Some(TOKEN))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "basic auth is not configured here");

    let r = c
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let big = am_body("aa", "firing", T0, &"x".repeat(5000));
    let r = post_json(&c, &url, big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let missing = body.replace("\"startsAt\":\"2025-11-19T21:00:00Z\",", "");
    let r = post_json(&c, &url, missing).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"], "missing required field `alerts[0].startsAt`");
    let r = post_json(&c, &url, "{not json".into()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let metrics = c.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(
            r#"witness_alerts_received_total{source="alertmanager",outcome="unauthorized"} 3"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"witness_alerts_received_total{source="alertmanager",outcome="rejected"} 4"#
        ),
        "{metrics}"
    );
    assert!(sealed_bundles(&server.store()).is_empty(), "nothing was half-accepted");
    server.stop().await;
}

fn sign(body: &str, secret: &str) -> String {
    witness::server::auth::sign_pagerduty(secret.as_bytes(), body.as_bytes())
}

fn pd_body(event_type: &str) -> String {
    json!({"event": {
        "id": "5ac64822", "event_type": event_type, "resource_type": "incident",
        "occurred_at": "2025-11-19T21:00:02.169Z", "agent": null, "client": null,
        "data": {"id": "PGR0VU2", "type": "incident", "number": 2, "status": "triggered",
                 "title": "HighErrorRate checkout", "created_at": "2025-11-19T21:00:01Z",
                 "service": {"id": "PF9KMXH", "summary": "API Service"}, "urgency": "high"}
    }})
    .to_string()
}

#[tokio::test]
async fn pagerduty_signatures_valid_rotated_invalid_missing() {
    let server = InProcess::start("").await;
    let c = client();
    let url = server.url("/hooks/pagerduty");
    let send = |body: String, signature: Option<String>| {
        let mut request = c
            .post(&url)
            .header("content-type", "application/json")
            .header("user-agent", "PagerDuty-Webhook/V3.0")
            .header("x-webhook-id", format!("wh-{}", rand_suffix()));
        if let Some(signature) = signature {
            request = request.header("x-pagerduty-signature", signature);
        }
        request.body(body).send()
    };
    let body = pd_body("incident.triggered");

    let r = send(body.clone(), None).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "missing signature");
    let r = send(body.clone(), Some(sign(&body, "not-the-secret"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "invalid signature");
    let r = send(body.clone(), Some(sign(&body.replace("API", "APX"), "pd-secret"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "signature of another body");

    let rotated = format!("{},{}", sign(&body, "old-secret"), sign(&body, "pd-secret"));
    let r = send(body.clone(), Some(rotated)).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "rotated: one of two signatures is valid");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["alerts"][0]["action"], "started");
    let bundle = answer["bundles"][0].as_str().unwrap().to_owned();

    let r = send(body.clone(), Some(sign(&body, "pd-secret"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "valid signature");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["bundles"][0], bundle.as_str(), "the same incident joins its run");

    let ping = json!({"event": {"id": "p", "event_type": "pagey.ping", "resource_type": "pagey",
        "occurred_at": "2025-11-19T21:00:02.169Z", "data": {"message": "Hello from your friend Pagey!", "type": "ping"}}})
    .to_string();
    let r = send(ping.clone(), Some(sign(&ping, "pd-secret"))).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let store = server.store();
    let sealed = wait_for(Duration::from_secs(30), "the PagerDuty run to be sealed", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&bundle))
    })
    .await;
    let trigger = trigger_of(&sealed);
    assert_eq!(trigger["source"], "pagerduty");
    assert_eq!(trigger["incident_id"], "PGR0VU2");
    assert_eq!(trigger["labels"]["service"], "API Service");
    assert_eq!(sealed_bundles(&store).len(), 1, "one run for one incident");
    server.stop().await;
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test]
async fn same_incident_joins_resolved_never_starts_and_redeliveries_are_idempotent() {
    let server = InProcess::start("").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let post = async |body: String, webhook_id: Option<&str>| -> Value {
        let mut request = post_json(&c, &url, body);
        if let Some(id) = webhook_id {
            request = request.header("x-webhook-id", id);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        r.json().await.unwrap()
    };

    let resolved_first = post(am_body("f1", "resolved", "2025-11-19T20:00:00Z", "g1"), None).await;
    assert_eq!(resolved_first["alerts"][0]["action"], "resolved");
    assert_eq!(resolved_first["bundles"], json!([]), "a resolved alert starts nothing");

    let first = post(am_body("f1", "firing", T0, "g1"), Some("w1")).await;
    assert_eq!(first["alerts"][0]["action"], "started");
    let bundle = first["bundles"][0].as_str().unwrap().to_owned();
    let again = post(am_body("f1", "firing", T0, "g1"), Some("w1")).await;
    assert_eq!(again["alerts"][0]["action"], "redelivered");
    assert_eq!(again["alerts"][0]["bundle"], bundle.as_str());
    // Another alert of the same group (same group key, other fingerprint) joins.
    let joined = post(am_body("f2", "firing", "2025-11-19T21:01:00Z", "g1"), None).await;
    assert_eq!(joined["bundles"][0], bundle.as_str());
    assert!(matches!(joined["alerts"][0]["action"].as_str(), Some("joined" | "deduplicated")));
    let other = post(am_body("f3", "firing", T0, "g3"), None).await;
    assert_ne!(other["bundles"][0], bundle.as_str(), "another incident starts its own run");

    let store = server.store();
    wait_for(Duration::from_secs(30), "both runs to be sealed", async || {
        (sealed_bundles(&store).len() == 2).then_some(())
    })
    .await;
    let sealed = sealed_bundles(&store).into_iter().find(|b| b.ends_with(&bundle)).unwrap();
    let joined_fps: Vec<Value> = trigger_of(&sealed)["joined"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|j| j["fingerprint"].clone())
        .collect();
    if joined["alerts"][0]["action"] == "joined" {
        assert!(
            joined_fps.contains(&json!("f2")),
            "a joined alert is in the run's trigger: {joined_fps:?}"
        );
    } else {
        // It came while the trigger was being written: recorded beside the bundle.
        let addendum = witness::server::addendum::read(&store, &bundle);
        assert!(
            addendum.iter().any(|e| e.alert.fingerprint.as_deref() == Some("f2")),
            "a late alert is in the bundle's addendum: {addendum:?}"
        );
    }
    let after = post(am_body("f1", "firing", "2025-11-19T21:02:00Z", "g1"), None).await;
    assert_eq!(
        after["alerts"][0]["action"], "deduplicated",
        "inside the cooldown: points to the bundle"
    );
    assert_eq!(after["bundles"][0], bundle.as_str());
    let resolved = post(am_body("f1", "resolved", T0, "g1"), None).await;
    assert_eq!(resolved["alerts"][0]["action"], "resolved");
    assert_eq!(sealed_bundles(&store).len(), 2);

    let accepted =
        super::journal_lines(&store).into_iter().filter(|l| l["type"] == "accepted").count();
    assert_eq!(accepted, 7, "every accepted alert is journaled");
    server.stop().await;
}

#[tokio::test]
async fn a_full_queue_and_the_rate_limit_answer_503_with_retry_after() {
    let server = InProcess::start("max_parallel_runs = 1\nqueue_size = 1").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = post_json(&c, &url, am_body(&format!("q{i}"), "firing", T0, &format!("q{i}")))
            .send()
            .await
            .unwrap();
        statuses.push(r.status());
        if r.status() == StatusCode::SERVICE_UNAVAILABLE {
            assert!(r.headers().contains_key("retry-after"), "503 without Retry-After");
        }
    }
    assert_eq!(statuses[0], StatusCode::ACCEPTED);
    assert!(statuses.contains(&StatusCode::SERVICE_UNAVAILABLE), "{statuses:?}");
    server.stop().await;

    let server = InProcess::start("rate_limit_per_sec = 1\nrate_limit_burst = 2").await;
    let url = server.url("/hooks/generic");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let r = post_json(&c, &url, json!({"title": "x"}).to_string()).send().await.unwrap();
        statuses.push((r.status(), r.headers().get("retry-after").cloned()));
    }
    assert_eq!(statuses[0].0, StatusCode::ACCEPTED);
    assert_eq!(statuses[1].0, StatusCode::ACCEPTED);
    assert_eq!(statuses[2].0, StatusCode::SERVICE_UNAVAILABLE);
    assert!(statuses[2].1.is_some());
    server.stop().await;
}

#[tokio::test]
async fn manual_collect_over_http_seals_a_bundle_with_labels() {
    let server = InProcess::start("").await;
    let c = client();
    let r = c.post(server.url("/api/collect")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_json(
        &c,
        &server.url("/api/collect"),
        json!({"labels": {"service": "checkout"}}).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let answer: Value = r.json().await.unwrap();
    let bundle = answer["bundles"][0].as_str().unwrap().to_owned();
    let store = server.store();
    let dir = wait_for(Duration::from_secs(30), "the manual run", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&bundle))
    })
    .await;
    let trigger = trigger_of(&dir);
    assert_eq!(trigger["source"], "manual");
    assert_eq!(trigger["labels"]["service"], "checkout");
    assert!(
        dir.join("flight-recorder/host.json").is_file(),
        "the flight recorder is in the bundle"
    );
    server.stop().await;
}

#[tokio::test]
async fn grafana_bodies_with_basic_auth_on_either_hook() {
    let server = InProcess::start_with(|dir| {
        super::config_text(dir, "").replace(
            "bearer_token_env = \"WITNESS_TEST_TOKEN\"",
            "basic_username = \"grafana\"\nbasic_password_env = \"WITNESS_TEST_TOKEN\"",
        )
    })
    .await;
    let c = client();
    let body = am_body("9c1f6c2b1e0d7a55", "firing", T0, "graf").replace(
        "\"version\":\"4\"",
        "\"version\":\"1\",\"state\":\"alerting\",\"orgId\":1,\"title\":\"[FIRING:1] HighLatency\"",
    );
    let send = |path: &str, password: &str| {
        c.post(server.url(path))
            .basic_auth("grafana", Some(password))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(send("/hooks/grafana", "wrong").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let r = post_json(&c, &server.url("/hooks/grafana"), body.clone()).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a bearer token is not the configured basic auth"
    );
    let r = send("/hooks/grafana", TOKEN).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let bundle = r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned();
    let r = send("/hooks/alertmanager", TOKEN).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["bundles"][0],
        bundle.as_str(),
        "the same Grafana alert on the other hook joins"
    );

    let store = server.store();
    let sealed = wait_for(Duration::from_secs(30), "the Grafana run", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&bundle))
    })
    .await;
    let trigger = trigger_of(&sealed);
    assert_eq!(trigger["source"], "grafana");
    assert_eq!(trigger["fingerprint"], "9c1f6c2b1e0d7a55");
    server.stop().await;
}
