//! An alert storm: 10,000 posts over 100 fingerprints from 50 concurrent clients. Exactly
//! 100 runs start inside the cooldown; every post is answered 202, or 503 with
//! `Retry-After` (then retried, as Alertmanager does); every 202'd alert is journaled.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{
    Daemon, am_body, client, config_text, post_json, sealed_bundles, wait_for, write_config,
};

const POSTS: usize = 10_000;
const FINGERPRINTS: usize = 100;
const CLIENTS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_posts_over_a_hundred_fingerprints_make_a_hundred_runs() {
    let dir = tempfile::tempdir().unwrap();
    // A queue smaller than the number of incidents, so that some posts get 503.
    let text = config_text(dir.path(), "queue_size = 32\nmax_parallel_runs = 4");
    let path = write_config(dir.path(), &text);
    let daemon = Daemon::start(&path);
    let store = dir.path().join("store");
    let url = Arc::new(daemon.url("/hooks/alertmanager"));
    let c = client();

    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CLIENTS {
        let (c, url) = (c.clone(), Arc::clone(&url));
        tasks.push(tokio::spawn(async move {
            let mut accepted = Vec::new();
            let mut unavailable = 0usize;
            for i in (worker..POSTS).step_by(CLIENTS) {
                let fp = format!("{:016x}", i % FINGERPRINTS);
                // A few distinct starts per fingerprint: joins and redeliveries both.
                let starts = format!("2025-11-19T21:00:0{}Z", i % 3);
                let body = am_body(&fp, "firing", &starts, &fp);
                loop {
                    let r = post_json(&c, &url, body.clone()).send().await.unwrap();
                    match r.status() {
                        StatusCode::ACCEPTED => {
                            let answer: Value = r.json().await.unwrap();
                            accepted.push((
                                fp.clone(),
                                answer["alerts"][0]["action"].as_str().unwrap().to_owned(),
                            ));
                            break;
                        }
                        StatusCode::SERVICE_UNAVAILABLE => {
                            assert!(
                                r.headers().contains_key("retry-after"),
                                "503 without Retry-After"
                            );
                            unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        other => panic!("post answered {other}"),
                    }
                }
            }
            (accepted, unavailable)
        }));
    }
    let mut accepted = Vec::new();
    let mut unavailable = 0;
    for task in tasks {
        let (a, u) = tokio::time::timeout(Duration::from_secs(240), task)
            .await
            .expect("the storm ends")
            .unwrap();
        accepted.extend(a);
        unavailable += u;
    }
    let elapsed = started.elapsed();
    assert_eq!(accepted.len(), POSTS, "every post was eventually answered 202");
    let started_runs = accepted.iter().filter(|(_, action)| action == "started").count();
    assert_eq!(started_runs, FINGERPRINTS, "one run per fingerprint");

    let sealed = wait_for(Duration::from_secs(180), "100 sealed bundles", async || {
        let sealed = sealed_bundles(&store);
        (sealed.len() >= FINGERPRINTS).then_some(sealed)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sealed_bundles(&store).len(), FINGERPRINTS, "exactly 100 runs");
    let fingerprints: BTreeSet<String> = sealed
        .iter()
        .map(|b| super::trigger_of(b)["fingerprint"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fingerprints.len(), FINGERPRINTS);

    // Every 202'd alert is in the journal, with the action it was answered with.
    let mut journaled: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in super::journal_lines(&store) {
        if line["type"] == "accepted" {
            let fp = line["trigger"]["fingerprint"].as_str().unwrap().to_owned();
            *journaled.entry((fp, line["action"].as_str().unwrap().to_owned())).or_default() += 1;
        }
    }
    let mut answered: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (fp, action) in accepted {
        *answered.entry((fp, action)).or_default() += 1;
    }
    assert_eq!(journaled, answered, "the journal holds exactly the 202'd alerts");
    eprintln!("storm: {POSTS} posts in {elapsed:?}, {unavailable} answered 503 and retried");
    drop(daemon);
}
