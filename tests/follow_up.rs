//! `witness collect now --follow-up BUNDLE` from the command line: the incident's bundle
//! is verified before anything runs (a changed one, or a follow-up, is refused with exit
//! 2), the window is the span after the resolution (`--since` says it was that long ago;
//! without it witness waits `[follow_up] window_secs`), and the follow-up bundle names
//! the incident and checks it. The serve side, with a real Alertmanager, is
//! `server::follow_up`.

use std::path::Path;

use chrono::Utc;
use serde_json::Value;

use crate::util::{copy_tree, make_writable, text, witness};

/// An hour of an app's log up to now: a background error every two minutes, a new error
/// three times a second from 10 to 2 minutes ago, healthy lines since.
pub(crate) fn app_log(path: &Path) {
    let now = Utc::now();
    let mut log = String::new();
    for i in (1..=3600i64).rev() {
        let at = (now - chrono::Duration::seconds(i))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        log.push_str(&format!("{at} INFO checkout: GET /api/orders 200\n"));
        if i % 120 == 0 {
            log.push_str(&format!("{at} ERROR checkout: cache miss for key 42\n"));
        }
        if (120..600).contains(&i) {
            for _ in 0..3 {
                log.push_str(&format!(
                    "{at} ERROR checkout: TypeError: Cannot read property 'email' of undefined\n"
                ));
            }
        }
    }
    std::fs::write(path, log).unwrap();
}

fn collect(dir: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["collect", "now", "--config", "witness.toml", "--format", "json"];
    args.extend_from_slice(extra);
    let output = witness(dir, &args);
    assert!(output.status.success(), "{}", text(&output));
    (serde_json::from_slice(&output.stdout).unwrap(), output)
}

#[test]
fn a_follow_up_checks_the_incident_and_a_changed_incident_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    app_log(&dir.path().join("app.log"));
    std::fs::write(
        dir.path().join("witness.toml"),
        "[store]\ndir = \"store\"\n[follow_up]\nwindow_secs = 2\n[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\n",
    )
    .unwrap();
    let (incident, _) = collect(dir.path(), &[]);
    let incident_dir = dir.path().join(incident["bundle"].as_str().unwrap());
    let incident_arg = incident_dir.to_str().unwrap();

    // The fix was a minute ago: the window is that minute, collected at once.
    let (follow_up, _) = collect(dir.path(), &["--follow-up", incident_arg, "--since", "1m"]);
    let checks = &follow_up["follow_up"];
    assert_eq!(checks["incident"]["id"], incident["id"], "{follow_up:#}");
    assert_eq!(checks["incident"]["root_sha256"], incident["root_sha256"]);
    let status = |name: &str| {
        checks["checks"].as_array().unwrap().iter().find(|c| c["check"] == name).unwrap()["status"]
            .clone()
    };
    assert_eq!(status("error_rate"), "passed", "{checks:#}");
    assert_eq!(status("new_errors"), "passed", "{checks:#}");
    assert_eq!(checks["resolution"]["source"], "manual");
    let span = chrono::DateTime::parse_from_rfc3339(checks["window"]["end"].as_str().unwrap())
        .unwrap()
        - chrono::DateTime::parse_from_rfc3339(checks["window"]["start"].as_str().unwrap())
            .unwrap();
    assert_eq!(span.num_seconds(), 60, "{checks:#}");
    assert!(follow_up["durations"]["time_to_resolve_secs"].is_i64(), "{follow_up:#}");
    let follow_up_dir = dir.path().join(follow_up["bundle"].as_str().unwrap());
    let verified = witness(dir.path(), &["verify", follow_up_dir.to_str().unwrap()]);
    assert!(verified.status.success(), "{}", text(&verified));
    let page = tempfile::tempdir().unwrap();
    std::fs::copy(follow_up_dir.join("report.html"), page.path().join("report.html")).unwrap();
    crate::report::assert_valid_html(page.path());

    // Resolved now: witness waits for the window, in which this log has no line at all.
    let (waited, output) = collect(dir.path(), &["--follow-up", incident_arg]);
    // It waits what is left of the 2 s window (less when the machine is slow to start it).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        ["waiting 2s", "waiting 1s", "waiting 0s"].iter().any(|w| stderr.contains(w))
            && stderr.contains("for the window after the resolution"),
        "{}",
        text(&output)
    );
    let quiet = waited["follow_up"]["checks"].as_array().unwrap();
    assert!(
        quiet.iter().all(|c| c["status"] == "could_not_check"),
        "logs that went quiet are no fix: {quiet:#?}"
    );

    // A follow-up is not an incident, and a changed incident is not checked.
    let refused = witness(
        dir.path(),
        &[
            "collect",
            "now",
            "--config",
            "witness.toml",
            "--follow-up",
            follow_up_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("is a follow-up of"),
        "{}",
        text(&refused)
    );
    let changed = dir.path().join("changed");
    copy_tree(&incident_dir, &changed);
    make_writable(&changed);
    std::fs::write(changed.join("report.md"), "nothing happened\n").unwrap();
    let refused = witness(
        dir.path(),
        &["collect", "now", "--config", "witness.toml", "--follow-up", changed.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("does not verify (modified: report.md)"), "{said}");
}
