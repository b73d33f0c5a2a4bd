//! Operating the daemon: health, readiness and metrics; config reload on file change (a
//! broken file keeps the old config); graceful shutdown on SIGTERM (503 while draining,
//! the running run finishes, the journal records its seal).

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{
    Daemon, InProcess, am_body, client, config_text, post_json, sealed_bundles, wait_for,
    write_config,
};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let server = InProcess::start("").await;
    let c = client();
    let r = c.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = c.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ready: Value = r.json().await.unwrap();
    assert_eq!(ready["store_writable"], true);
    assert_eq!(ready["journal_open"], true);

    let r = post_json(&c, &server.url("/hooks/generic"), json!({"title": "x"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let store = server.store();
    wait_for(Duration::from_secs(30), "the run", async || {
        (sealed_bundles(&store).len() == 1).then_some(())
    })
    .await;
    let metrics = wait_for(Duration::from_secs(10), "the run in the metrics", async || {
        let text = c.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        // A host snapshot alone shows no user impact: P3.
        text.contains("witness_runs_total{status=\"sealed\",severity=\"P3\"} 1").then_some(text)
    })
    .await;
    for needle in [
        r#"witness_alerts_received_total{source="generic",outcome="accepted"} 1"#,
        r#"witness_collector_duration_seconds_count{kind="host"} 1"#,
        "witness_queue_depth 0",
        "witness_journal_lag_runs 0",
        "witness_bundle_bytes ",
        "witness_run_overhead_seconds_count 1",
        r#"witness_run_duration_seconds_count{severity="P3"} 1"#,
    ] {
        assert!(metrics.contains(needle), "missing {needle:?} in\n{metrics}");
    }
    assert!(!metrics.contains("witness_bundle_bytes 0\n"), "bundle bytes are counted:\n{metrics}");
    server.stop().await;
}

#[tokio::test]
async fn a_changed_config_is_picked_up_and_a_broken_one_is_ignored() {
    let server = InProcess::start("max_body_bytes = 100000").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let body = am_body("r1", "resolved", "2025-11-19T21:00:00Z", &"x".repeat(3000));
    let r = post_json(&c, &url, body.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let dir = server.dir.path();
    write_config(dir, &config_text(dir, "max_body_bytes = 1000"));
    wait_for(Duration::from_secs(10), "the smaller body limit to apply", async || {
        let r = post_json(&c, &url, body.clone()).send().await.unwrap();
        (r.status() == StatusCode::PAYLOAD_TOO_LARGE).then_some(())
    })
    .await;

    write_config(dir, &(config_text(dir, "max_body_bytes = 100000") + "\n[nonsense]\nkey = 1\n"));
    let metrics_url = server.url("/metrics");
    wait_for(Duration::from_secs(10), "the broken config to be counted", async || {
        let text = c.get(&metrics_url).send().await.unwrap().text().await.unwrap();
        text.contains(r#"witness_config_reloads_total{result="failed"} 1"#).then_some(())
    })
    .await;
    let r = post_json(&c, &url, body.clone()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE, "the old (good) config stays in force");
    server.stop().await;
}

#[tokio::test]
async fn sigterm_drains_finishes_the_run_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    // A run that takes about 3 s: the host collector's CPU sample.
    let text = config_text(dir.path(), "").replace("cpu_sample_ms = 200", "cpu_sample_ms = 3000");
    let path = write_config(dir.path(), &text);
    let mut daemon = Daemon::start(&path);
    let c = client();
    let r = post_json(
        &c,
        &daemon.url("/hooks/alertmanager"),
        am_body("s1", "firing", "2025-11-19T21:00:00Z", "s"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let bundle = r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;

    daemon.signal(libc::SIGTERM);
    let url = daemon.url("/hooks/alertmanager");
    let (status, retry_after) =
        wait_for(Duration::from_secs(5), "a 503 while draining", async || {
            let r = post_json(&c, &url, am_body("s2", "firing", "2025-11-19T21:00:00Z", "s2"))
                .send()
                .await
                .ok()?;
            (r.status() == StatusCode::SERVICE_UNAVAILABLE)
                .then(|| (r.status(), r.headers().get("retry-after").cloned()))
        })
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after.is_some());
    let r = c.get(daemon.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "not ready while draining");

    assert_eq!(daemon.wait_exit(Duration::from_secs(30)), Some(0), "{}", daemon.logs());
    let store = dir.path().join("store");
    assert!(
        sealed_bundles(&store).iter().any(|b| b.ends_with(&bundle)),
        "the running run was finished"
    );
    let journal = super::journal_lines(&store);
    assert!(
        journal.iter().any(|l| l["type"] == "sealed" && l["bundle"] == bundle.as_str()),
        "{journal:?}"
    );
    assert!(daemon.logs().contains("\"bundle\":\""), "runs log in a span with the bundle id");
}

#[tokio::test]
async fn retention_keeps_the_newest_bundles_and_the_flight_recorder_follows_rotated_logs() {
    let server = InProcess::start_with(|dir| {
        let log = dir.join("app.log");
        std::fs::write(&log, "booting\n").unwrap();
        config_text(dir, &format!("recorder = {{ log_files = [{log:?}] }}"))
            .replace("[store]\n", "[store]\nmax_bundles = 2\n")
    })
    .await;
    let log = server.dir.path().join("app.log");
    // The app logs, then its log is rotated away and a new one started.
    std::fs::write(&log, "booting\nERROR before the rotation\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::rename(&log, server.dir.path().join("app.log.1")).unwrap();
    std::fs::write(&log, "ERROR after the rotation\n").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let c = client();
    let store = server.store();
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = post_json(
            &c,
            &server.url("/hooks/generic"),
            json!({"title": format!("alert {i}")}).to_string(),
        )
        .send()
        .await
        .unwrap();
        ids.push(r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned());
        let id = ids[i].clone();
        wait_for(Duration::from_secs(30), "the run", async || {
            sealed_bundles(&store).iter().any(|b| b.ends_with(&id)).then_some(())
        })
        .await;
    }
    let kept = wait_for(Duration::from_secs(10), "retention to remove the oldest", async || {
        let kept = sealed_bundles(&store);
        (kept.len() == 2).then_some(kept)
    })
    .await;
    assert!(!kept.iter().any(|b| b.ends_with(&ids[0])), "the oldest went first: {kept:?}");

    let newest = kept.iter().find(|b| b.ends_with(&ids[2])).unwrap();
    let recorded = std::fs::read_to_string(newest.join("flight-recorder/logs/0-app.log")).unwrap();
    assert!(recorded.contains("ERROR before the rotation"), "{recorded}");
    assert!(recorded.contains("ERROR after the rotation"), "{recorded}");
    assert!(recorded.contains("was rotated"), "{recorded}");
    server.stop().await;
}
