//! `witness show BUNDLE --status-update`: drafts for a status page at each stage, from
//! bundles whose evidence holds exactly what must never reach customers — hostnames, IP
//! addresses, secrets (redacted into tokens), pod names, revisions and image tags, file
//! paths, and the `kubectl` commands of the hypotheses. Each stage is drafted only once the
//! evidence supports it; asking for a stage it does not support is refused.

use std::path::Path;

use chrono::Utc;
use regex::Regex;

use crate::postmortem::{bad_deploy, new_error_with_follow_up, ok};
use crate::util::{text, witness};

/// Every draft's text (stage titles included), checked for internal detail.
fn assert_plain(drafts: &str) {
    let forbidden = [
        "db-primary",
        "internal",
        "example",
        "10.1.2.3",
        "10.0.0.7",
        "hunter2",
        "REDACTED",
        "kubectl",
        "witness",
        "web-r4",
        "web-r3",
        "revision",
        "web:2.0.0",
        "/",
        "\\",
        "$",
        "`",
        "<",
        ">",
        "[",
        "TypeError",
        "payment failed",
        "panic",
        "PAYMENT_URL",
        "evidence",
        ".json",
    ];
    for needle in forbidden {
        assert!(!drafts.contains(needle), "{needle:?} reached a status update:\n{drafts}");
    }
    let patterns = [
        (r"\d+\.\d+\.\d+\.\d+", "an IP address"),
        (r"[A-Za-z0-9-]+\.[A-Za-z]{2,}", "a host name"),
        (r"\b[0-9a-f]{7,}\b", "a commit or an id"),
        (r"\d+:\d+:\d+", "a time to the second or a port"),
    ];
    for (pattern, what) in patterns {
        let found = Regex::new(pattern).unwrap().find(drafts);
        assert!(found.is_none(), "{what} ({found:?}) reached a status update:\n{drafts}");
    }
}

fn status(dir: &Path, bundle: &Path, stage: Option<&str>) -> std::process::Output {
    let mut args = vec!["show", bundle.to_str().unwrap(), "--status-update"];
    if let Some(stage) = stage {
        args.extend(["--stage", stage]);
    }
    witness(dir, &args)
}

/// The stage titles a draft holds, in order.
fn stages(drafts: &str) -> Vec<&str> {
    drafts
        .lines()
        .filter(|l| matches!(*l, "Investigating" | "Identified" | "Monitoring" | "Resolved"))
        .collect()
}

#[test]
fn every_stage_the_evidence_supports_is_drafted_plain() {
    let dir = tempfile::tempdir().unwrap();
    let at = (Utc::now() - chrono::Duration::minutes(5))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let extra: Vec<String> = (0..20)
        .map(|_| format!("{at} ERROR checkout: connect to db-primary.internal.example.com (10.1.2.3:5432) failed for /var/lib/app/data.db: password=hunter2-very-secret rejected; run kubectl rollout undo"))
        .collect();
    let (incident, follow_up) =
        new_error_with_follow_up(dir.path(), "db-primary.internal.example.com", &extra);
    let evidence = std::fs::read_to_string(incident.join("evidence/logs-app.json")).unwrap();
    assert!(evidence.contains("db-primary.internal.example.com") && evidence.contains("10.1.2.3"));
    assert!(evidence.contains("[REDACTED:"), "the password is a token in the bundle");

    let output = status(dir.path(), &incident, None);
    assert!(output.status.success(), "{}", text(&output));
    let drafts = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stages(&drafts), ["Investigating", "Monitoring", "Resolved"], "{drafts}");
    assert!(drafts.contains("affecting our service"), "a host name is no service name: {drafts}");
    assert!(drafts.contains("This incident has been resolved."), "{drafts}");
    assert_plain(&drafts);
    // No hypothesis names a cause for certain: identified is not drafted, and says why.
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("no identified draft: no hypothesis names a cause"), "{said}");
    let refused = status(dir.path(), &incident, Some("identified"));
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("does not support the identified stage")
    );

    // From the follow-up, the incident beside it is read: the same drafts.
    let from_follow_up = status(dir.path(), &follow_up, None);
    assert_eq!(String::from_utf8(from_follow_up.stdout).unwrap(), drafts);
    let one = status(dir.path(), &incident, Some("resolved"));
    let one = String::from_utf8(one.stdout).unwrap();
    assert_eq!(stages(&one), ["Resolved"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_deploy_is_identified_without_naming_a_pod_a_revision_or_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bad_deploy(dir.path()).await;
    let hypotheses = std::fs::read_to_string(bundle.join("hypotheses.json")).unwrap();
    assert!(hypotheses.contains("rollout undo deployment/web"), "{hypotheses}");
    let timeline = std::fs::read_to_string(bundle.join("timeline.json")).unwrap();
    assert!(timeline.contains("web-r4-b") && timeline.contains("revision 4"), "{timeline}");

    let work = dir.path().to_owned();
    let (output, refused) = tokio::task::spawn_blocking(move || {
        (status(&work, &bundle, None), status(&work, &bundle, Some("resolved")))
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let drafts = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stages(&drafts), ["Investigating", "Identified"], "{drafts}");
    assert!(
        drafts.contains("a recent change to the service. We are reverting the change."),
        "{drafts}"
    );
    assert!(drafts.contains("affecting web"), "{drafts}");
    assert_plain(&drafts);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no follow-up yet"));
    // The check above can fail: the same check on the report does.
    let report = ok(
        dir.path(),
        &[
            "show",
            dir.path()
                .join("store")
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path()
                .to_str()
                .unwrap(),
        ],
    );
    let shown = String::from_utf8_lossy(&report.stdout).into_owned();
    assert!(
        std::panic::catch_unwind(|| assert_plain(&shown)).is_err(),
        "the report holds internal detail"
    );
}
