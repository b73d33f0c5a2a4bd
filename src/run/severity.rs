//! Severity, part of analysing a run: how bad the incident is for users, estimated from
//! the evidence on the `[severity]` thresholds, with every reason cited. P0 (SEV1) the
//! service is down for all users; P1 (SEV2) a major function is broken for many; P2 (SEV3)
//! partial degradation or a subset of users; P3 (SEV4) no user impact seen yet. The
//! alert's own severity label is kept beside the estimate, never overridden.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::{FactValue, Window};

use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
use crate::timeline::EvidenceRef;
use crate::trigger::Trigger;

/// A severity level, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Level {
    P0,
    P1,
    P2,
    P3,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::P0 => "P0",
            Level::P1 => "P1",
            Level::P2 => "P2",
            Level::P3 => "P3",
        }
    }

    /// What the level means, in the words of the common definitions.
    pub fn meaning(self) -> &'static str {
        match self {
            Level::P0 => "critical: the service is down for all users",
            Level::P1 => "high: a major function is broken for many users",
            Level::P2 => "medium: partial degradation, or a subset of users",
            Level::P3 => "low: no user impact seen in the evidence",
        }
    }
}

/// One reason for the estimate, with the evidence it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub level: Level,
    pub text: String,
    pub evidence: EvidenceRef,
}

/// A run's severity: witness's estimate, why, and what the alert itself said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    pub level: Level,
    /// Every threshold crossed, most severe first; empty for P3.
    pub reasons: Vec<Reason>,
    /// The alert's own `severity` (or `priority`, `urgency`) label, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_severity: Option<String>,
}

impl Severity {
    /// `P1 (high: …)`, and the alert's own label when it has one.
    pub fn summary(&self) -> String {
        let mut text = format!("{} ({})", self.level.as_str(), self.level.meaning());
        if let Some(alert) = &self.alert_severity {
            text.push_str(&format!("; the alert says {alert}"));
        }
        text
    }
}

/// Facts of the records with evidence by name, each with every record that has it.
fn facts(records: &[CollectorRecord]) -> BTreeMap<&str, Vec<(&CollectorRecord, &FactValue)>> {
    let mut facts: BTreeMap<&str, Vec<(&CollectorRecord, &FactValue)>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.status().has_evidence()) {
        for (name, value) in &record.evidence.facts {
            facts.entry(name.as_str()).or_default().push((record, value));
        }
    }
    facts
}

fn cite(record: &CollectorRecord, fact: &str) -> EvidenceRef {
    EvidenceRef::into_record(record, format!("/facts/{fact}"))
}

/// Where errors are counted, with the facts of each: the logs, and the pods' logs the
/// kubernetes kind read through the same analysis.
struct ErrorSource {
    count: &'static str,
    ratio: &'static str,
    /// Errors of signatures the baseline never had.
    new: &'static str,
    /// Where, as a reason says it (`""`, `" in the pods' logs"`).
    place: &'static str,
}

const ERROR_SOURCES: &[ErrorSource] = &[
    ErrorSource {
        count: "logs.error_count",
        ratio: "logs.error_rate_ratio",
        new: "logs.new_error_count",
        place: "",
    },
    ErrorSource {
        count: "kubernetes.pod_log_error_count",
        ratio: "kubernetes.pod_log_error_rate_ratio",
        new: "kubernetes.pod_log_new_error_count",
        place: " in the pods' logs",
    },
];

/// Estimates the severity of a run from its records on `thresholds`.
pub fn assess(
    records: &[CollectorRecord],
    trigger: &Trigger,
    window: Window,
    thresholds: &SeverityConfig,
) -> Severity {
    let facts = facts(records);
    let number = |name: &str| -> Vec<(&CollectorRecord, f64)> {
        facts.get(name).into_iter().flatten().filter_map(|(r, v)| Some((*r, v.as_f64()?))).collect()
    };
    let mut reasons: Vec<Reason> = Vec::new();

    // 5xx share of requests, over enough requests.
    let requests: BTreeMap<String, f64> =
        number("logs.requests").into_iter().map(|(r, n)| (r.evidence_path(), n)).collect();
    for (record, share) in number("logs.status_5xx_ratio") {
        let seen = requests.get(&record.evidence_path()).copied().unwrap_or(0.0);
        if seen < thresholds.min_events as f64 {
            continue;
        }
        let percent = share * 100.0;
        let Some(level) = level_at(
            percent,
            &[
                (thresholds.critical_5xx_percent, Level::P0),
                (thresholds.high_5xx_percent, Level::P1),
                (thresholds.medium_5xx_percent, Level::P2),
            ],
        ) else {
            continue;
        };
        push(
            &mut reasons,
            level,
            format!("{percent:.1}% of {seen:.0} requests answered 5xx"),
            cite(record, "logs.status_5xx_ratio"),
        );
    }

    // Health: every endpoint failing is the service down; some failing is degradation.
    let http: Vec<&CollectorRecord> =
        records.iter().filter(|r| r.kind == "http" && r.status().has_evidence()).collect();
    let all_failing = |r: &CollectorRecord| {
        matches!(r.evidence.facts.get("http.all_failing"), Some(FactValue::Bool(true)))
    };
    if !http.is_empty() && http.iter().all(|r| all_failing(r)) {
        push(
            &mut reasons,
            Level::P0,
            format!("every probe of every health endpoint failed ({} endpoints)", http.len()),
            cite(http[0], "http.all_failing"),
        );
    } else {
        for record in http.iter().filter(|r| all_failing(r)) {
            push(
                &mut reasons,
                Level::P1,
                format!("every probe of {} failed", record.name),
                cite(record, "http.all_failing"),
            );
        }
        for (record, failing) in number("http.failing_probes") {
            if failing > 0.0 && !all_failing(record) {
                push(
                    &mut reasons,
                    Level::P2,
                    format!("{failing:.0} probes of {} failed", record.name),
                    cite(record, "http.failing_probes"),
                );
            }
        }
    }
    for (record, value) in facts.get("http.components_down").into_iter().flatten() {
        if let FactValue::List(down) = value
            && !down.is_empty()
        {
            let names: Vec<String> = down
                .iter()
                .map(|d| match d {
                    FactValue::Text(t) => t.clone(),
                    other => serde_json::to_string(other).unwrap_or_default(),
                })
                .collect();
            push(
                &mut reasons,
                Level::P1,
                format!("health reports components down: {}", names.join(", ")),
                cite(record, "http.components_down"),
            );
        }
    }

    // Replicas: none available is down; some unavailable is degradation.
    for (record, replicas) in number("kubernetes.replicas") {
        let available = record.evidence.facts.get("kubernetes.available_replicas");
        match available.and_then(FactValue::as_f64) {
            Some(0.0) if replicas > 0.0 => push(
                &mut reasons,
                Level::P0,
                format!("no replica of {replicas:.0} is available"),
                cite(record, "kubernetes.available_replicas"),
            ),
            Some(available) if available < replicas => {
                let level = if available * 2.0 <= replicas { Level::P1 } else { Level::P2 };
                push(
                    &mut reasons,
                    level,
                    format!("{available:.0} of {replicas:.0} replicas are available"),
                    cite(record, "kubernetes.available_replicas"),
                );
            }
            _ => {}
        }
    }

    // Errors against the baseline, over enough errors: in the logs, and in the pods' logs
    // the kubernetes kind read through the same analysis.
    for &ErrorSource { count: count_fact, ratio: ratio_fact, place, .. } in ERROR_SOURCES {
        let errors: BTreeMap<String, f64> =
            number(count_fact).into_iter().map(|(r, n)| (r.evidence_path(), n)).collect();
        for (record, ratio) in number(ratio_fact) {
            let count = errors.get(&record.evidence_path()).copied().unwrap_or(0.0);
            if count < thresholds.min_events as f64 {
                continue;
            }
            let Some(level) = level_at(
                ratio,
                &[
                    (thresholds.high_error_rate_ratio, Level::P1),
                    (thresholds.medium_error_rate_ratio, Level::P2),
                ],
            ) else {
                continue;
            };
            push(
                &mut reasons,
                level,
                format!("{count:.0} errors{place}, {ratio:.1}× the baseline's rate"),
                cite(record, ratio_fact),
            );
        }
    }

    // New errors where no rate against a baseline could be read (pods that did not exist
    // in the baseline: a new revision's): as many errors of signatures never seen before
    // are a partial degradation at least.
    for &ErrorSource { new: new_fact, ratio: ratio_fact, place, .. } in ERROR_SOURCES {
        let rated: Vec<String> =
            number(ratio_fact).into_iter().map(|(r, _)| r.evidence_path()).collect();
        for (record, count) in number(new_fact) {
            if count < thresholds.min_events as f64 || rated.contains(&record.evidence_path()) {
                continue;
            }
            push(
                &mut reasons,
                Level::P2,
                format!("{count:.0} errors{place} of signatures the baseline never had"),
                cite(record, new_fact),
            );
        }
    }

    // Containers crash-looping: the service runs on fewer pods than it should, or
    // restarts under its users.
    for (record, pods) in number("kubernetes.crashloop_pods") {
        if pods >= 1.0 {
            push(
                &mut reasons,
                Level::P2,
                format!("{pods:.0} pod(s) crash-looping"),
                cite(record, "kubernetes.crashloop_pods"),
            );
        }
    }

    // Endpoints answering more 5xx than before.
    let mut worse_endpoints = 0;
    let mut endpoints_record = None;
    for record in records.iter().filter(|r| r.kind == "logs" && r.status().has_evidence()) {
        let list = record.evidence.data.pointer("/access/endpoints_5xx").and_then(|v| v.as_array());
        for e in list.into_iter().flatten() {
            if e["count"].as_u64().unwrap_or(0) > e["baseline_count"].as_u64().unwrap_or(0) {
                worse_endpoints += 1;
                endpoints_record.get_or_insert(record);
            }
        }
    }
    if let Some(record) = endpoints_record
        && worse_endpoints >= thresholds.high_endpoints
    {
        push(
            &mut reasons,
            Level::P1,
            format!("{worse_endpoints} endpoints answer more 5xx than in the baseline"),
            EvidenceRef::into_record(record, "/data/access/endpoints_5xx"),
        );
    }

    // Latency against the baseline.
    for (record, p95) in number("logs.latency_p95_ms") {
        let before = record.evidence.facts.get("logs.latency_p95_baseline_ms");
        if let Some(before) = before.and_then(FactValue::as_f64)
            && before > 0.0
            && p95 / before >= thresholds.medium_latency_ratio as f64
        {
            push(
                &mut reasons,
                Level::P2,
                format!(
                    "p95 latency {p95:.0} ms, {:.1}× the baseline's {before:.0} ms",
                    p95 / before
                ),
                cite(record, "logs.latency_p95_ms"),
            );
        }
    }

    metric_reasons(&mut reasons, &number, thresholds);

    // A degradation that has lasted is worse.
    let mut level = reasons.iter().map(|r| r.level).min().unwrap_or(Level::P3);
    if level == Level::P2
        && thresholds.escalate_after_mins > 0
        && let Some((record, since)) = first_error(&facts)
    {
        let minutes = (window.end - since).num_minutes();
        if minutes >= thresholds.escalate_after_mins as i64 {
            level = Level::P1;
            push(
                &mut reasons,
                Level::P1,
                format!(
                    "degraded for {minutes} minutes (escalated after {})",
                    thresholds.escalate_after_mins
                ),
                cite(record, "logs.first_error_at"),
            );
        }
    }
    reasons.sort_by_key(|r| r.level);
    Severity { level, reasons, alert_severity: alert_severity(trigger) }
}

/// The same thresholds for what Prometheus measured: an `error_ratio` query that left its
/// baseline is a share of requests failing (its peak in the window) and a rate against the
/// baseline; a `latency_p95` query, latency against the baseline.
fn metric_reasons<'a>(
    reasons: &mut Vec<Reason>,
    number: &dyn Fn(&str) -> Vec<(&'a CollectorRecord, f64)>,
    thresholds: &SeverityConfig,
) {
    let departed = |record: &CollectorRecord, name: &str| {
        record.evidence.facts.contains_key(&format!("prometheus.{name}_onset_offset_secs"))
    };
    let share_ladder = [
        (thresholds.critical_5xx_percent, Level::P0),
        (thresholds.high_5xx_percent, Level::P1),
        (thresholds.medium_5xx_percent, Level::P2),
    ];
    for (record, share) in number("prometheus.error_ratio_peak") {
        if let Some(level) =
            level_at(share * 100.0, &share_ladder).filter(|_| departed(record, "error_ratio"))
        {
            let text =
                format!("the error ratio rose to {:.1}% of requests (metrics)", share * 100.0);
            push(reasons, level, text, cite(record, "prometheus.error_ratio_peak"));
        }
    }
    let ratio_ladder = [
        (thresholds.high_error_rate_ratio, Level::P1),
        (thresholds.medium_error_rate_ratio, Level::P2),
    ];
    for (record, ratio) in number("prometheus.error_ratio_ratio") {
        if let Some(level) = level_at(ratio, &ratio_ladder) {
            let text = format!("the error ratio is {ratio:.1}× the baseline's (metrics)");
            push(reasons, level, text, cite(record, "prometheus.error_ratio_ratio"));
        }
    }
    for (record, ratio) in number("prometheus.latency_p95_ratio") {
        if ratio >= thresholds.medium_latency_ratio as f64 {
            let text = format!("p95 latency {ratio:.1}× the baseline's (metrics)");
            push(reasons, Level::P2, text, cite(record, "prometheus.latency_p95_ratio"));
        }
    }
}

/// The first level of `ladder` (most severe first) whose threshold `value` reaches.
fn level_at(value: f64, ladder: &[(u64, Level)]) -> Option<Level> {
    ladder.iter().find(|(threshold, _)| value >= *threshold as f64).map(|(_, level)| *level)
}

fn push(reasons: &mut Vec<Reason>, level: Level, text: String, evidence: EvidenceRef) {
    reasons.push(Reason { level, text, evidence });
}

/// The earliest first error of the logs evidence, when there is one.
fn first_error<'a>(
    facts: &BTreeMap<&str, Vec<(&'a CollectorRecord, &FactValue)>>,
) -> Option<(&'a CollectorRecord, DateTime<Utc>)> {
    facts
        .get("logs.first_error_at")?
        .iter()
        .filter_map(|(r, v)| match v {
            FactValue::Text(t) => Some((*r, DateTime::parse_from_rfc3339(t).ok()?.to_utc())),
            _ => None,
        })
        .min_by_key(|(_, t)| *t)
}

/// The alert's own severity label, as sent.
fn alert_severity(trigger: &Trigger) -> Option<String> {
    ["severity", "priority", "urgency"]
        .iter()
        .find_map(|k| trigger.labels.get(*k))
        .filter(|v| !v.is_empty())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use witness_collector::Evidence;

    fn record(kind: &str, name: &str, evidence: Evidence) -> CollectorRecord {
        let at = Utc::now();
        CollectorRecord {
            kind: kind.into(),
            name: name.into(),
            started_at: at,
            finished_at: at,
            duration_ms: 1,
            error: None,
            redactions: BTreeMap::new(),
            evidence,
        }
    }

    fn window() -> Window {
        let end = Utc::now();
        Window::new(end - chrono::Duration::minutes(30), end)
    }

    fn assess_default(records: &[CollectorRecord], labels: &[(&str, &str)]) -> Severity {
        let mut trigger = Trigger::manual(Utc::now(), Default::default());
        trigger.labels = labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        assess(records, &trigger, window(), &SeverityConfig::default())
    }

    fn access(requests: i64, share: f64) -> CollectorRecord {
        record(
            "logs",
            "edge",
            Evidence::ok("x").fact("logs.requests", requests).fact("logs.status_5xx_ratio", share),
        )
    }

    #[test]
    fn the_5xx_share_sets_the_level_on_the_thresholds() {
        for (share, level) in [
            (0.8, Level::P0),
            (0.5, Level::P0),
            (0.2, Level::P1),
            (0.02, Level::P2),
            (0.001, Level::P3),
        ] {
            let severity = assess_default(&[access(1000, share)], &[]);
            assert_eq!(severity.level, level, "{share}: {severity:?}");
            assert_eq!(severity.reasons.is_empty(), level == Level::P3);
        }
    }

    #[test]
    fn too_few_requests_say_nothing() {
        assert_eq!(assess_default(&[access(5, 1.0)], &[]).level, Level::P3);
    }

    #[test]
    fn every_health_endpoint_failing_is_p0_and_one_of_two_is_p1() {
        let failing = |name: &str| {
            record(
                "http",
                name,
                Evidence::ok("x").fact("http.all_failing", true).fact("http.failing_probes", 3),
            )
        };
        let healthy = record(
            "http",
            "b",
            Evidence::ok("x").fact("http.all_failing", false).fact("http.failing_probes", 0),
        );
        assert_eq!(assess_default(&[failing("a"), failing("b")], &[]).level, Level::P0);
        let one = assess_default(&[failing("a"), healthy], &[]);
        assert_eq!(one.level, Level::P1);
        assert_eq!(
            one.reasons[0].evidence.to_string(),
            "evidence/http-a.json#/facts/http.all_failing"
        );
    }

    #[test]
    fn a_degradation_that_lasted_is_escalated_and_the_alert_label_is_kept() {
        let started = (Utc::now() - chrono::Duration::minutes(90)).to_rfc3339();
        let logs = record(
            "logs",
            "app",
            Evidence::ok("x")
                .fact("logs.error_count", 400)
                .fact("logs.error_rate_ratio", 4.0)
                .fact("logs.first_error_at", started),
        );
        let severity = assess_default(&[logs], &[("severity", "warning")]);
        assert_eq!(severity.level, Level::P1, "{severity:?}");
        assert!(severity.reasons.iter().any(|r| r.text.starts_with("degraded for")));
        assert_eq!(severity.alert_severity.as_deref(), Some("warning"));
        assert!(severity.summary().ends_with("the alert says warning"));
    }

    #[test]
    fn errors_in_the_pods_logs_count_like_errors_in_the_logs() {
        let pods = record(
            "kubernetes",
            "k",
            Evidence::ok("x")
                .fact("kubernetes.pod_log_error_count", 300)
                .fact("kubernetes.pod_log_error_rate_ratio", 12.0),
        );
        let severity = assess_default(&[pods], &[]);
        assert!(severity.level < Level::P3, "{severity:?}");
        let reason = &severity.reasons[0];
        assert_eq!(reason.text, "300 errors in the pods' logs, 12.0× the baseline's rate");
        assert_eq!(
            reason.evidence.to_string(),
            "evidence/kubernetes-k.json#/facts/kubernetes.pod_log_error_rate_ratio"
        );
    }

    #[test]
    fn new_errors_on_pods_without_a_baseline_and_a_crash_loop_are_a_degradation() {
        let pods = record(
            "kubernetes",
            "k",
            Evidence::ok("x")
                .fact("kubernetes.pod_log_error_count", 120)
                .fact("kubernetes.pod_log_new_error_count", 120)
                .fact("kubernetes.crashloop_pods", 1),
        );
        let severity = assess_default(&[pods], &[]);
        assert_eq!(severity.level, Level::P2, "{severity:?}");
        let texts: Vec<&str> = severity.reasons.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "120 errors in the pods' logs of signatures the baseline never had",
                "1 pod(s) crash-looping"
            ]
        );
        // With a rate against the baseline, that rate speaks, not the count again.
        let rated = record(
            "logs",
            "app",
            Evidence::ok("x")
                .fact("logs.error_count", 120)
                .fact("logs.new_error_count", 120)
                .fact("logs.error_rate_ratio", 1.0),
        );
        assert_eq!(assess_default(&[rated], &[]).level, Level::P3);
        // Too few to say.
        let few = record("logs", "app", Evidence::ok("x").fact("logs.new_error_count", 3));
        assert_eq!(assess_default(&[few], &[]).level, Level::P3);
    }

    #[test]
    fn failed_collectors_count_for_nothing() {
        let mut failed = access(1000, 0.9);
        failed.evidence.status = witness_collector::Status::Failed;
        assert_eq!(assess_default(&[failed], &[]).level, Level::P3);
    }
}
