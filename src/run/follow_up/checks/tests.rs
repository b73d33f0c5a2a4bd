//! Each check against the incident it was made for: passed when the follow-up shows the
//! problem gone, not yet when it shows it still, could not check when it shows nothing.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use witness_collector::{Evidence, FactValue, Status, Window};

use super::*;
use crate::rules::{Evaluation, Hypothesis, Likelihood, Recommendation};
use crate::run::durations::Durations;
use crate::trigger::Trigger;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn time(minutes: i64) -> String {
    witness_collector::time::format(at(minutes))
}

fn record(kind: &str, name: &str, evidence: Evidence) -> CollectorRecord {
    CollectorRecord {
        kind: kind.into(),
        name: name.into(),
        started_at: at(0),
        finished_at: at(0),
        duration_ms: 1,
        error: None,
        redactions: Default::default(),
        evidence,
    }
}

/// The follow-up's window: five minutes after a resolution at T+40m.
fn window() -> Window {
    Window::new(at(40), at(45))
}

fn incident(records: Vec<CollectorRecord>, top: Option<Recommendation>) -> RunView {
    let timeline = crate::timeline::Timeline {
        anchor: at(0),
        window: Window::new(at(-30), at(1)),
        entries: Vec::new(),
        clocks: Vec::new(),
    };
    let hypotheses = top
        .map(|recommendation| Hypothesis {
            id: "bad_deploy".into(),
            recommendation,
            likelihood: Likelihood::High,
            score: 0.9,
            title: "Bad deploy: roll web back from revision 8 to 7".into(),
            explanation: String::new(),
            commands: Vec::new(),
            evidence: Vec::new(),
            rules: Vec::new(),
            counter_evidence: Vec::new(),
            cause: Some("rollout".into()),
            explains: Vec::new(),
            unexplained: Vec::new(),
        })
        .into_iter()
        .collect();
    RunView {
        id: "20251119T210000Z-inc001".into(),
        anchor: at(0),
        window: timeline.window,
        trigger: Trigger::manual(at(0), Default::default()),
        impact: crate::run::impact::impact(&records),
        severity: None,
        durations: Durations::of_incident("inc", &timeline),
        follow_up: None,
        records,
        timeline,
        evaluation: Evaluation {
            hypotheses,
            not_evaluated: Vec::new(),
            ruled_out: Vec::new(),
            rule_problems: Vec::new(),
        },
        manifest: None,
        files: Vec::new(),
        signed: false,
    }
}

fn only(checks: &[Check], kind: CheckKind) -> &Check {
    let found: Vec<&Check> = checks.iter().filter(|c| c.check == kind).collect();
    assert_eq!(found.len(), 1, "one {kind:?} check in {checks:#?}");
    found[0]
}

/// An app log during the incident: 30 errors in its 30-minute baseline (1/min), 900 in the
/// window, one new signature with a token in it.
fn incident_logs() -> CollectorRecord {
    record(
        "logs",
        "app",
        Evidence::ok("900 errors")
            .fact("logs.error_count", 900)
            .fact("logs.baseline_error_count", 30)
            .fact("logs.error_rate_ratio", 30.0)
            .fact("logs.new_signatures", 1)
            .data(json!({
                "baseline": {"covered_secs": 1800, "errors": 30},
                "signatures": [
                    {"signature": "TypeError: token [REDACTED:bearer:1a2b] of undefined", "count": 870, "new": true},
                    {"signature": "cache miss", "count": 30, "new": false}
                ]
            })),
    )
}

/// The same log after the resolution: `errors` errors of the new signature over the
/// follow-up's window, the last line written at `last`.
fn logs_after(errors: i64, last: i64) -> CollectorRecord {
    let mut signatures = vec![json!({"signature": "cache miss", "count": 2})];
    if errors > 0 {
        // The same secret, another bundle: another token.
        signatures.insert(0, json!({"signature": "TypeError: token [REDACTED:bearer:9f8e] of undefined", "count": errors}));
    }
    record(
        "logs",
        "app",
        Evidence::ok("after")
            .fact("logs.error_count", errors + 2)
            .fact("logs.signature_count", signatures.len() as i64)
            .fact("logs.last_line_at", time(last))
            .data(json!({"signatures": signatures})),
    )
}

#[test]
fn errors_back_to_the_baseline_pass_and_errors_still_up_are_not_yet() {
    let incident = incident(vec![incident_logs()], None);
    let checks = all(&incident, &[logs_after(0, 44)], window(), &SeverityConfig::default());
    let rate = only(&checks, CheckKind::ErrorRate);
    assert_eq!(rate.status, CheckStatus::Passed, "{rate:?}");
    assert_eq!(rate.detail, "2 errors in 5.0 min (0.40/min); 1.00/min before the incident");
    assert_eq!(
        rate.incident_evidence[0].to_string(),
        "evidence/logs-app.json#/facts/logs.baseline_error_count"
    );
    assert_eq!(rate.evidence[0].to_string(), "evidence/logs-app.json#/facts/logs.error_count");
    assert_eq!(only(&checks, CheckKind::NewErrors).status, CheckStatus::Passed);

    let checks = all(&incident, &[logs_after(150, 44)], window(), &SeverityConfig::default());
    let rate = only(&checks, CheckKind::ErrorRate);
    assert_eq!(rate.status, CheckStatus::NotYet, "{rate:?}");
    assert!(rate.detail.starts_with("152 errors in 5.0 min (30.4/min), 30×"), "{}", rate.detail);
    let new = only(&checks, CheckKind::NewErrors);
    assert_eq!(new.status, CheckStatus::NotYet, "a signature matches across bundles' tokens");
    assert_eq!(new.evidence[0].pointer, "/data/signatures/0");
}

/// Background noise at its usual rate is no reason to say "not yet".
#[test]
fn a_few_errors_at_the_baseline_rate_pass() {
    let incident = incident(vec![incident_logs()], None);
    let checks = all(&incident, &[logs_after(4, 44)], window(), &SeverityConfig::default());
    assert_eq!(only(&checks, CheckKind::ErrorRate).status, CheckStatus::Passed);
}

#[test]
fn quiet_or_failed_logs_could_not_check_and_never_pass() {
    let incident = incident(vec![incident_logs()], None);
    let quiet = all(&incident, &[logs_after(0, 38)], window(), &SeverityConfig::default());
    let rate = only(&quiet, CheckKind::ErrorRate);
    assert_eq!(rate.status, CheckStatus::CouldNotCheck);
    assert!(rate.detail.contains("the logs went quiet"), "{}", rate.detail);
    assert_eq!(only(&quiet, CheckKind::NewErrors).status, CheckStatus::CouldNotCheck);

    let mut failed = logs_after(0, 44);
    failed.evidence.status = Status::Failed;
    failed.error = Some("permission denied".into());
    let checks = all(&incident, &[failed], window(), &SeverityConfig::default());
    let rate = only(&checks, CheckKind::ErrorRate);
    assert_eq!(rate.status, CheckStatus::CouldNotCheck);
    assert!(rate.detail.contains("failed: permission denied"), "{}", rate.detail);
    let missing = all(&incident, &[], window(), &SeverityConfig::default());
    assert!(only(&missing, CheckKind::ErrorRate).detail.contains("did not run in the follow-up"));
}

#[test]
fn health_5xx_and_latency_compare_with_the_incident() {
    let http = |failing: i64| {
        record(
            "http",
            "api",
            Evidence::ok(format!("{failing} of 3 probes failed"))
                .fact("http.failing_probes", failing),
        )
    };
    let access = |requests: i64, failing: i64, p95: f64| {
        record(
            "logs",
            "edge",
            Evidence::ok("access")
                .fact("logs.error_count", failing)
                .fact("logs.requests", requests)
                .fact("logs.status_5xx_count", failing)
                .fact("logs.status_5xx_ratio", failing as f64 / requests as f64)
                .fact("logs.status_5xx_baseline_ratio", 0.001)
                .fact("logs.latency_p95_ms", p95)
                .fact("logs.latency_p95_baseline_ms", 40.0)
                .fact("logs.last_line_at", time(44))
                .data(json!({"access": {"status_5xx": failing, "baseline_requests": 1800}})),
        )
    };
    let incident = incident(vec![http(3), access(1800, 600, 900.0)], None);
    let fixed =
        all(&incident, &[http(0), access(300, 0, 42.0)], window(), &SeverityConfig::default());
    for kind in [CheckKind::Health, CheckKind::Status5xx, CheckKind::Latency] {
        assert_eq!(only(&fixed, kind).status, CheckStatus::Passed, "{:?}", only(&fixed, kind));
    }
    let broken =
        all(&incident, &[http(2), access(300, 90, 400.0)], window(), &SeverityConfig::default());
    for kind in [CheckKind::Health, CheckKind::Status5xx, CheckKind::Latency] {
        assert_eq!(only(&broken, kind).status, CheckStatus::NotYet, "{:?}", only(&broken, kind));
    }
    let idle = all(&incident, &[http(0), access(0, 0, 0.0)], window(), &SeverityConfig::default());
    assert_eq!(only(&idle, CheckKind::Status5xx).status, CheckStatus::CouldNotCheck);
}

/// Deployment `web` in `prod`: its history, `current` the revision running now.
fn kubernetes(
    revisions: serde_json::Value,
    current: i64,
    previous: i64,
    complete: bool,
) -> CollectorRecord {
    record(
        "kubernetes",
        "prod",
        Evidence::ok("web")
            .fact("kubernetes.deployment", "web")
            .fact("kubernetes.namespace", "prod")
            .fact("kubernetes.current_revision", current)
            .fact("kubernetes.previous_revision", previous)
            .fact("kubernetes.replicas", 3)
            .fact("kubernetes.available_replicas", 3)
            .data(json!({"deployments": [{"namespace": "prod", "name": "web",
                "state": {"complete": complete}, "history": {"revisions": revisions}}]})),
    )
}

fn revision(n: i64, rs: &str, image: &str, current: bool, history: &[i64]) -> serde_json::Value {
    json!({"revision": n, "replica_set": rs, "images": {"web": image}, "current": current,
           "revision_history": history, "rolled_out_at": time(if current { 35 } else { -12 })})
}

#[test]
fn a_rollback_to_the_named_revision_passes_and_no_rollback_is_not_yet() {
    let before = kubernetes(
        json!([
            revision(7, "web-7d9c", "web:1.4.1", false, &[]),
            revision(8, "web-5f6b", "web:1.4.2", true, &[])
        ]),
        8,
        7,
        true,
    );
    let incident = incident(vec![before.clone()], Some(Recommendation::Rollback));
    // The rollback reused revision 7's ReplicaSet, which became revision 9.
    let rolled_back = kubernetes(
        json!([
            revision(8, "web-5f6b", "web:1.4.2", false, &[]),
            revision(9, "web-7d9c", "web:1.4.1", true, &[7])
        ]),
        9,
        8,
        true,
    );
    let checks =
        all(&incident, std::slice::from_ref(&rolled_back), window(), &SeverityConfig::default());
    let action = only(&checks, CheckKind::Action);
    assert_eq!(action.status, CheckStatus::Passed, "{action:?}");
    assert!(
        action
            .detail
            .contains("runs revision 7's ReplicaSet web-7d9c again (now revision 9: web:1.4.1)"),
        "{}",
        action.detail
    );
    assert_eq!(action.evidence[0].pointer, "/data/deployments/0/history/revisions/1");

    let mut rolling = rolled_back;
    rolling.evidence.data["deployments"][0]["state"]["complete"] = json!(false);
    let checks = all(&incident, &[rolling], window(), &SeverityConfig::default());
    assert_eq!(only(&checks, CheckKind::Action).status, CheckStatus::NotYet);

    let checks = all(&incident, &[before], window(), &SeverityConfig::default());
    let action = only(&checks, CheckKind::Action);
    assert_eq!(action.status, CheckStatus::NotYet);
    assert!(action.detail.contains("still runs revision 8"), "{}", action.detail);

    let forward = kubernetes(
        json!([
            revision(8, "web-5f6b", "web:1.4.2", false, &[]),
            revision(9, "web-1a1a", "web:1.4.3", true, &[])
        ]),
        9,
        8,
        true,
    );
    let checks = all(&incident, &[forward], window(), &SeverityConfig::default());
    assert!(only(&checks, CheckKind::Action).detail.contains("a fix forward?"));

    let investigate = self::incident(incident.records.clone(), Some(Recommendation::Investigate));
    assert!(all(&investigate, &[], window(), &SeverityConfig::default()).is_empty());
}

#[test]
fn a_rollback_without_kubernetes_evidence_could_not_check() {
    let incident = incident(Vec::new(), Some(Recommendation::Rollback));
    let checks = all(&incident, &[], window(), &SeverityConfig::default());
    let action = only(&checks, CheckKind::Action);
    assert_eq!(action.status, CheckStatus::CouldNotCheck);
    assert_eq!(action.incident_evidence[0].to_string(), "hypotheses.json#/hypotheses/0");
}

#[test]
fn the_lock_tree_and_the_vendor_are_checked_where_the_incident_had_them() {
    let postgres = |blocked: i64, roots: Vec<i64>| {
        record(
            "postgres",
            "db",
            Evidence::ok("pg").fact("postgres.blocked_sessions", blocked).fact(
                "postgres.root_blocker_pids",
                roots.into_iter().map(FactValue::Int).collect::<Vec<_>>(),
            ),
        )
    };
    let vendor = |degraded: bool, open: i64| {
        record(
            "status_page",
            "stripe",
            Evidence::ok(if degraded { "Stripe: major outage" } else { "Stripe: operational" })
                .fact("status_page.degraded", degraded)
                .fact("status_page.unresolved_incidents", open),
        )
    };
    let incident = incident(vec![postgres(12, vec![4242]), vendor(true, 1)], None);
    let fixed = all(
        &incident,
        &[postgres(0, vec![]), vendor(false, 0)],
        window(),
        &SeverityConfig::default(),
    );
    let lock = only(&fixed, CheckKind::LockTree);
    assert_eq!(
        (lock.status, lock.detail.as_str()),
        (CheckStatus::Passed, "no session waits on a lock; root blocker pid 4242 gone")
    );
    assert_eq!(only(&fixed, CheckKind::Vendor).status, CheckStatus::Passed);
    let still = all(
        &incident,
        &[postgres(3, vec![4242]), vendor(true, 1)],
        window(),
        &SeverityConfig::default(),
    );
    let lock = only(&still, CheckKind::LockTree);
    assert_eq!(lock.status, CheckStatus::NotYet);
    assert!(lock.detail.contains("root blocker pid 4242 still blocks"), "{}", lock.detail);
    assert_eq!(only(&still, CheckKind::Vendor).status, CheckStatus::NotYet);

    let calm = self::incident(vec![postgres(0, vec![]), vendor(false, 0)], None);
    assert!(
        all(&calm, &[], window(), &SeverityConfig::default()).is_empty(),
        "nothing was wrong there"
    );
}
