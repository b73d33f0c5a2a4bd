//! A run's severity as a responder meets it: estimated from what the collectors saw, on the
//! `[severity]` thresholds, shown first in the reports, in `list` and in the JSON summary,
//! each reason citing evidence that resolves inside the bundle, and the alert's own label
//! kept beside it.

use std::path::Path;

use chrono::Utc;
use serde_json::Value;

use crate::util::{text, witness};

/// An access log over the last ten minutes: `requests` requests, `failing` of them 5xx.
fn access_log(path: &Path, requests: usize, failing: usize) {
    let now = Utc::now();
    let mut log = String::new();
    for i in 0..requests {
        let t =
            (now - chrono::Duration::seconds(600 - i as i64 * 5)).format("%d/%b/%Y:%H:%M:%S +0000");
        let status = if i < failing { 503 } else { 200 };
        log.push_str(&format!(
            "10.0.0.{} - - [{t}] \"GET /api/orders/{i} HTTP/1.1\" {status} 12 \"-\" \"curl\"\n",
            i % 250
        ));
    }
    std::fs::write(path, log).unwrap();
}

fn run(dir: &Path, requests: usize, failing: usize, extra_config: &str) -> (Value, String) {
    access_log(&dir.join("access.log"), requests, failing);
    std::fs::write(
        dir.join("witness.toml"),
        format!(
            "[store]\ndir = \"store\"\n{extra_config}\n[[collectors.logs]]\nname = \"edge\"\nkind = \"access\"\npaths = [\"access.log\"]\n"
        ),
    )
    .unwrap();
    let output = witness(
        dir,
        &[
            "collect",
            "now",
            "--config",
            "witness.toml",
            "--format",
            "json",
            "--label",
            "severity=warning",
            "--since",
            "30m",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let bundle = dir.join(summary["bundle"].as_str().unwrap()).display().to_string();
    (summary, bundle)
}

#[test]
fn most_requests_failing_is_p0_everywhere_a_run_is_shown_with_its_reasons_cited() {
    let dir = tempfile::tempdir().unwrap();
    let (summary, bundle) = run(dir.path(), 200, 150, "");
    let severity = &summary["severity"];
    assert_eq!(severity["level"], "P0", "{summary:#}");
    assert_eq!(severity["alert_severity"], "warning", "the alert's own label is kept");
    let bundle = Path::new(&bundle);

    // Every reason's evidence resolves inside the sealed bundle.
    for reason in severity["reasons"].as_array().unwrap() {
        let evidence = &reason["evidence"];
        let file: Value = serde_json::from_slice(
            &std::fs::read(bundle.join(evidence["file"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let pointer = evidence["pointer"].as_str().unwrap();
        assert!(file.pointer(pointer).is_some(), "{pointer} does not resolve: {reason}");
    }
    let sealed: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("severity.json")).unwrap()).unwrap();
    assert_eq!(&sealed, severity);

    let md = std::fs::read_to_string(bundle.join("report.md")).unwrap();
    let first_section = md.split("\n## ").next().unwrap();
    assert!(first_section.contains("**Severity: P0 (critical"), "{first_section}");
    assert!(first_section.contains("the alert says warning"), "{first_section}");
    let html = std::fs::read_to_string(bundle.join("report.html")).unwrap();
    let severity_at = html.find("id=\"severity\"").expect("a severity section");
    assert!(severity_at < html.find("id=\"impact\"").unwrap(), "severity comes first");

    let list = witness(dir.path(), &["list", "--config", "witness.toml"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("  P0  "), "{}", text(&list));
    let show = witness(dir.path(), &["show", bundle.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&show.stdout).contains("SEVERITY P0"), "{}", text(&show));
}

#[test]
fn the_thresholds_are_the_configured_ones() {
    // 5% failing: P2 on the defaults, P1 when the team says 5% is high.
    let defaults = tempfile::tempdir().unwrap();
    let (summary, _) = run(defaults.path(), 200, 10, "");
    assert_eq!(summary["severity"]["level"], "P2", "{summary:#}");
    let strict = tempfile::tempdir().unwrap();
    let (summary, _) = run(strict.path(), 200, 10, "[severity]\nhigh_5xx_percent = 5\n");
    assert_eq!(summary["severity"]["level"], "P1", "{summary:#}");
    let healthy = tempfile::tempdir().unwrap();
    let (summary, _) = run(healthy.path(), 200, 0, "");
    assert_eq!(summary["severity"]["level"], "P3", "{summary:#}");
    assert!(summary["severity"]["reasons"].as_array().unwrap().is_empty());
}

#[test]
fn thresholds_out_of_order_are_refused_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("witness.toml"), "[severity]\nmedium_5xx_percent = 20\n")
        .unwrap();
    let output = witness(dir.path(), &["config", "check", "--config", "witness.toml"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("severity.medium_5xx_percent"), "{stderr}");
}
