//! `POST /api/collect` with `"follow_up"`: the follow-up of a sealed bundle asked for over
//! HTTP, as `witness collect now --follow-up` runs it, through a real `witness serve`
//! (the built binary): journaled, waited for, sealed beside its incident naming it by id
//! and root hash, and good for `witness postmortem --follow-up`. A bundle that does not
//! verify, or is not there, is refused before anything is journaled.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Daemon, client, journal_lines, post_json, wait_for, write_config};
use crate::util::{copy_tree, make_writable, text, witness};

#[tokio::test(flavor = "multi_thread")]
async fn a_follow_up_asked_for_on_the_api_is_sealed_beside_its_incident() {
    let dir = tempfile::tempdir().unwrap();
    crate::follow_up::app_log(&dir.path().join("app.log"));
    let store = dir.path().join("store");
    // The incident: its alert two minutes ago, as the new errors stopped.
    let anchor = (chrono::Utc::now() - chrono::Duration::minutes(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let logs = "[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\n";
    let incident = crate::postmortem::collect(dir.path(), "store", logs, &["at", &anchor]);
    let id = incident.file_name().unwrap().to_str().unwrap().to_owned();
    let config = format!(
        "[store]\ndir = {store:?}\n\n[follow_up]\nwindow_secs = 2\n\n[server]\nrate_limit_per_sec = 0\n\n[server.auth]\nbearer_token_env = \"WITNESS_TEST_TOKEN\"\n\n[[collectors.logs]]\nname = \"app\"\npaths = [{:?}]\n",
        dir.path().join("app.log")
    );
    let daemon = Daemon::start(&write_config(dir.path(), &config));
    let c = client();
    let collect = |body: Value| post_json(&c, &daemon.url("/api/collect"), body.to_string()).send();

    // Refused before anything is journaled.
    let lines_before = journal_lines(&store).len();
    let answer = |r: reqwest::Response| async move {
        let status = r.status();
        (status, r.json::<Value>().await.unwrap()["error"].as_str().unwrap_or("").to_owned())
    };
    let (status, _) = answer(collect(json!({"follow_up": "no-such-bundle"})).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = answer(collect(json!({"follow_up": 42})).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains("follow_up must be the id of a bundle"), "{error}");
    let (status, error) =
        answer(collect(json!({"follow_up": id, "since": "soon"})).await.unwrap()).await;
    assert_eq!((status, error.contains("not a duration")), (StatusCode::BAD_REQUEST, true));
    let (status, error) =
        answer(collect(json!({"follow_up": id, "since": "1h"})).await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error.contains("before the incident's alert"), "{error}");
    let changed = store.join("changed");
    copy_tree(&incident, &changed);
    make_writable(&changed);
    std::fs::write(changed.join("report.md"), "nothing happened\n").unwrap();
    let (status, error) = answer(collect(json!({"follow_up": "changed"})).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert!(error.contains("does not verify (modified: report.md)"), "{error}");
    std::fs::remove_dir_all(&changed).unwrap();
    assert_eq!(journal_lines(&store).len(), lines_before, "nothing refused is journaled");

    // The fix was a minute ago: the window after it (2 s) has passed, the follow-up runs
    // now.
    let r = collect(json!({"follow_up": id, "since": "1m"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body = r.json::<Value>().await.unwrap();
    assert_eq!(body["follow_up"]["incident"], id.as_str(), "{body:#}");
    assert_eq!(body["follow_up"]["started"], true, "{body:#}");
    let fu = body["follow_up"]["bundle"].as_str().unwrap().to_owned();
    assert_eq!(body["bundles"], json!([fu]));
    let follow_up = store.join(&fu);
    wait_for(Duration::from_secs(60), "the follow-up's seal", async || {
        follow_up.join("manifest.json").exists().then_some(())
    })
    .await;

    let read = |path: std::path::PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    };
    let manifest = read(follow_up.join("manifest.json"));
    let incident_root = read(incident.join("manifest.json"))["root_sha256"].clone();
    assert_eq!(manifest["follows"], json!({"id": id, "root_sha256": incident_root}));
    let checked = read(follow_up.join("follow-up.json"));
    assert_eq!(checked["resolution"]["source"], "manual", "{checked:#}");
    let status = |name: &str| {
        checked["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap()["status"]
            .clone()
    };
    assert_eq!(status("new_errors"), "passed", "{checked:#}");
    assert_eq!(status("error_rate"), "passed", "{checked:#}");
    let journaled = journal_lines(&store);
    assert!(
        journaled.iter().any(|l| l["follow_up"] == fu.as_str() && l["bundle"] == id.as_str()),
        "the request is journaled like a resolution: {journaled:#?}"
    );

    // The follow-up is what `witness postmortem --follow-up` reads.
    let work = dir.path().to_owned();
    let drafted = tokio::task::spawn_blocking(move || {
        witness(
            &work,
            &["postmortem", incident.to_str().unwrap(), "--follow-up", follow_up.to_str().unwrap()],
        )
    })
    .await
    .unwrap();
    assert!(drafted.status.success(), "{}", text(&drafted));
    let md = String::from_utf8_lossy(&drafted.stdout);
    assert!(md.contains("## Verification (follow-up)"), "{md}");
    assert!(md.contains("Resolved (manual)"), "{md}");
}
