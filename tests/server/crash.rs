//! Durability: `kill -9` while a run collects; after a restart the journaled trigger is
//! collected under the bundle id the `202` named, and no half-written bundle is visible.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{
    Daemon, am_body, client, config_text, post_json, sealed_bundles, trigger_of, wait_for,
    write_config,
};

#[tokio::test]
async fn a_kill_during_a_run_loses_no_accepted_alert() {
    let dir = tempfile::tempdir().unwrap();
    // A run that takes about 4 s, so the kill lands in the middle of it.
    let slow = config_text(dir.path(), "").replace("cpu_sample_ms = 200", "cpu_sample_ms = 4000");
    let path = write_config(dir.path(), &slow);
    let store = dir.path().join("store");
    let mut daemon = Daemon::start(&path);
    let c = client();
    let r = post_json(
        &c,
        &daemon.url("/hooks/alertmanager"),
        am_body("dead1", "firing", "2025-11-19T21:00:00Z", "k"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let bundle = r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(800)).await;
    daemon.signal(libc::SIGKILL);
    daemon.wait_exit(Duration::from_secs(10));
    assert!(sealed_bundles(&store).is_empty(), "the kill came before the seal");

    // The restart replays it (with a quick collector this time).
    write_config(dir.path(), &config_text(dir.path(), ""));
    let daemon = Daemon::start(&path);
    let sealed = wait_for(Duration::from_secs(30), "the replayed run", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&bundle))
    })
    .await;
    let trigger = trigger_of(&sealed);
    assert_eq!(trigger["fingerprint"], "dead1");
    assert_eq!(trigger["labels"]["alertname"], "HighErrorRate");
    assert_eq!(sealed_bundles(&store).len(), 1, "run once, under the id the 202 named");
    let staging: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(staging.is_empty(), "no half-written bundle is left: {staging:?}");
    assert!(
        daemon.logs().contains("Replaying a run accepted before a restart."),
        "{}",
        daemon.logs()
    );
}
