//! The checks of a follow-up: each compares what one collector instance saw during the
//! incident with what the same instance (same kind and name) sees after the resolution.
//! A check exists where the incident's evidence can answer its question (errors with a
//! baseline, a health endpoint, a Deployment in trouble, a degraded vendor, a lock tree,
//! a rollback or scale-up recommended). Its answer is `passed` or `not_yet` only when the
//! follow-up has the evidence; a collector that failed, logs that went quiet, a window
//! with no request are `could_not_check`: missing data never reads as fixed.
//!
//! "Back to the baseline" means what "up" meant for the incident, in reverse: errors are
//! still up when they rose at least 2× over what the incident's baseline rate predicts
//! and the rise stands out of the noise ([`crate::rules::derive::rose`], the test the
//! rules use); latency is still up at `[severity] medium_latency_ratio` times the
//! incident's baseline p95.

use std::collections::BTreeSet;

use chrono::DateTime;
use serde_json::Value;
use witness_collector::{FactValue, Window};

use super::{Check, CheckKind, CheckStatus};
use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
use crate::rules::Recommendation;
use crate::rules::derive::rose;
use crate::run::view::RunView;
use crate::timeline::EvidenceRef;

/// Every check of the follow-up's `records` (over `window`) against the `incident`.
pub fn all(
    incident: &RunView,
    records: &[CollectorRecord],
    window: Window,
    thresholds: &SeverityConfig,
) -> Vec<Check> {
    let mut checks = Vec::new();
    for before in incident.records.iter().filter(|r| r.status().has_evidence()) {
        let pair = Pair { before, after: after_of(records, before), window };
        match before.kind.as_str() {
            "logs" => {
                checks.extend(error_rate(&pair));
                checks.extend(new_errors(&pair));
                checks.extend(status_5xx(&pair));
                checks.extend(latency(&pair, thresholds));
            }
            "http" => checks.push(health(&pair)),
            "kubernetes" => checks.extend(replicas(&pair)),
            "status_page" => checks.extend(vendor(&pair)),
            "postgres" => checks.extend(lock_tree(&pair)),
            _ => {}
        }
    }
    checks.extend(action(incident, records, window));
    checks
}

/// One instance before (in the incident) and after (in the follow-up, or why not).
struct Pair<'a> {
    before: &'a CollectorRecord,
    after: Result<&'a CollectorRecord, String>,
    window: Window,
}

impl<'a> Pair<'a> {
    fn source(&self) -> String {
        format!("{}/{}", self.before.kind, self.before.name)
    }

    fn check(
        &self,
        check: CheckKind,
        status: CheckStatus,
        detail: String,
        before: &[&str],
        after: &[&str],
    ) -> Check {
        Check {
            check,
            source: self.source(),
            status,
            detail,
            incident_evidence: before.iter().map(|p| fact_ref(self.before, p)).collect(),
            evidence: match self.after {
                Ok(record) => after.iter().map(|p| fact_ref(record, p)).collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    /// `could_not_check`, saying why.
    fn unknown(&self, check: CheckKind, why: String, before: &[&str]) -> Check {
        let mut unknown = self.check(check, CheckStatus::CouldNotCheck, why, before, &[]);
        if let Ok(record) = self.after {
            unknown.evidence = vec![EvidenceRef::into_record(record, "")];
        }
        unknown
    }
}

/// A pointer into a record: `/facts/<name>` for a fact name, else the pointer as given.
fn fact_ref(record: &CollectorRecord, name_or_pointer: &str) -> EvidenceRef {
    let pointer = if name_or_pointer.starts_with('/') {
        name_or_pointer.to_owned()
    } else {
        format!("/facts/{name_or_pointer}")
    };
    EvidenceRef::into_record(record, pointer)
}

/// The follow-up's record of the same instance, or why there is none to compare.
fn after_of<'a>(
    records: &'a [CollectorRecord],
    before: &CollectorRecord,
) -> Result<&'a CollectorRecord, String> {
    let source = format!("{}/{}", before.kind, before.name);
    let Some(after) = records.iter().find(|r| r.kind == before.kind && r.name == before.name)
    else {
        return Err(format!("{source} did not run in the follow-up (not configured)"));
    };
    if after.status().has_evidence() {
        Ok(after)
    } else {
        let why = after.error.as_deref().unwrap_or(&after.evidence.summary);
        Err(format!("{source} has no evidence in the follow-up ({}: {why})", after.status()))
    }
}

fn number(record: &CollectorRecord, fact: &str) -> Option<f64> {
    record.evidence.facts.get(fact).and_then(FactValue::as_f64)
}

fn flag(record: &CollectorRecord, fact: &str) -> Option<bool> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn texts(record: &CollectorRecord, fact: &str) -> Vec<String> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::List(items)) => items
            .iter()
            .map(|i| match i {
                FactValue::Text(t) => t.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The minutes the logs of `record` cover in `window`.
fn minutes(window: Window) -> f64 {
    (window.span().num_milliseconds() as f64 / 60_000.0).max(1.0 / 60.0)
}

/// Why the follow-up's logs cannot tell anything: none read, or nothing written since the
/// resolution (a service that is down logs no error either).
fn logs_silent(after: &CollectorRecord, window: Window) -> Option<String> {
    if number(after, "logs.error_count").is_none() {
        return Some(format!("logs/{} read no log line", after.name));
    }
    match after.evidence.facts.get("logs.last_line_at") {
        Some(FactValue::Text(t)) => {
            let last = DateTime::parse_from_rfc3339(t).ok()?.to_utc();
            (last < window.start).then(|| {
                format!(
                    "logs/{} has no line since {} (before the resolution): the logs went quiet, \
                     which no error count can tell from a fix",
                    after.name,
                    witness_collector::time::format(last)
                )
            })
        }
        _ => Some(format!("logs/{} saw no line at all", after.name)),
    }
}

/// Errors per minute in the incident's baseline: a baseline with no error counts as one
/// (as the logs collector counts it), so a quiet service must stay quiet.
fn baseline_rate(before: &CollectorRecord) -> Option<f64> {
    let errors = number(before, "logs.baseline_error_count")?;
    let covered = before.evidence.data.pointer("/baseline/covered_secs")?.as_f64()?;
    (covered > 0.0).then(|| errors.max(1.0) / (covered / 60.0))
}

fn error_rate(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::ErrorRate;
    let before = pair.before;
    if number(before, "logs.error_count")? <= 0.0 {
        return None;
    }
    let cited = ["logs.baseline_error_count", "logs.error_count"];
    let Some(rate) = baseline_rate(before) else {
        let why = "the incident's logs did not reach into its baseline: no rate to go back to";
        return Some(pair.unknown(KIND, why.to_owned(), &["logs.error_count"]));
    };
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    if let Some(why) = logs_silent(after, pair.window) {
        return Some(pair.unknown(KIND, why, &cited));
    }
    let count = number(after, "logs.error_count").unwrap_or(0.0);
    let span = minutes(pair.window);
    let expected = rate * span;
    let now = count / span;
    let (status, detail) = if rose(count, count / expected, 2.0) {
        let times = count / expected;
        (
            CheckStatus::NotYet,
            format!(
                "{count:.0} errors in {span:.1} min ({now:.1}/min), {times:.0}× the {rate:.2}/min before the incident"
            ),
        )
    } else {
        (
            CheckStatus::Passed,
            format!(
                "{count:.0} errors in {span:.1} min ({now:.2}/min); {rate:.2}/min before the incident"
            ),
        )
    };
    Some(pair.check(KIND, status, detail, &cited, &["logs.error_count"]))
}

/// `[REDACTED:rule:hex]` tokens made plain (`[REDACTED:rule]`): every bundle has its own
/// token key, and the same signature must match across the two.
fn plain_tokens(signature: &str) -> String {
    let mut out = String::with_capacity(signature.len());
    let mut rest = signature;
    while let Some(start) = rest.find("[REDACTED:") {
        out.push_str(&rest[..start]);
        let token = &rest[start..];
        let end = token.find(']').map_or(token.len(), |e| e + 1);
        let body = &token[..end];
        match body.rfind(':') {
            Some(colon) if colon > "[REDACTED".len() => {
                out.push_str(&body[..colon]);
                out.push(']');
            }
            _ => out.push_str(body),
        }
        rest = &token[end..];
    }
    out.push_str(rest);
    out
}

/// `(index, signature, count)` of the signatures of a logs record, new ones only when
/// `only_new`.
fn signatures(record: &CollectorRecord, only_new: bool) -> Vec<(usize, String, u64)> {
    let list = record.evidence.data.get("signatures").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| !only_new || s.get("new").and_then(Value::as_bool) == Some(true))
        .filter_map(|(i, s)| {
            let text = s.get("signature")?.as_str()?;
            Some((i, text.to_owned(), s.get("count").and_then(Value::as_u64).unwrap_or(0)))
        })
        .collect()
}

fn new_errors(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::NewErrors;
    let new = signatures(pair.before, true);
    let first = new.first()?;
    let first_ref = format!("/data/signatures/{}", first.0);
    let cited = ["logs.new_signatures", first_ref.as_str()];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    if let Some(why) = logs_silent(after, pair.window) {
        return Some(pair.unknown(KIND, why, &cited));
    }
    let wanted: BTreeSet<String> = new.iter().map(|(_, s, _)| plain_tokens(s)).collect();
    let listed = signatures(after, false);
    let still: Vec<&(usize, String, u64)> =
        listed.iter().filter(|(_, s, n)| *n > 0 && wanted.contains(&plain_tokens(s))).collect();
    if let Some(top) = still.first() {
        let seen: u64 = still.iter().map(|(_, _, n)| n).sum();
        let pointer = format!("/data/signatures/{}", top.0);
        let detail = format!(
            "{} of the incident's {} new signature(s) still seen, {seen} error(s) since the \
             resolution: {}",
            still.len(),
            new.len(),
            top.1
        );
        return Some(pair.check(KIND, CheckStatus::NotYet, detail, &cited, &[pointer.as_str()]));
    }
    let distinct = number(after, "logs.signature_count").unwrap_or(0.0);
    if distinct > listed.len() as f64 {
        let why = format!(
            "the follow-up saw {distinct:.0} signatures and keeps {}: the incident's may be \
             among those left out",
            listed.len()
        );
        return Some(pair.unknown(KIND, why, &cited));
    }
    let detail = format!(
        "none of the incident's {} new signature(s) seen since the resolution ({distinct:.0} \
         signature(s) in all)",
        new.len()
    );
    Some(pair.check(KIND, CheckStatus::Passed, detail, &cited, &["logs.signature_count"]))
}

fn status_5xx(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::Status5xx;
    let before = pair.before;
    let access = before.evidence.data.get("access")?;
    if access.get("status_5xx").and_then(Value::as_f64).unwrap_or(0.0) <= 0.0 {
        return None;
    }
    let cited = ["logs.status_5xx_ratio", "logs.status_5xx_baseline_ratio"];
    let baseline = (
        number(before, "logs.status_5xx_baseline_ratio"),
        access.get("baseline_requests").and_then(Value::as_f64).filter(|n| *n > 0.0),
    );
    let (Some(baseline_ratio), Some(baseline_requests)) = baseline else {
        let why = "the incident's access logs did not reach into its baseline";
        return Some(pair.unknown(KIND, why.to_owned(), &["logs.status_5xx_ratio"]));
    };
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    let (Some(requests), Some(count)) =
        (number(after, "logs.requests"), number(after, "logs.status_5xx_count"))
    else {
        let why = format!("logs/{} logged no request since the resolution", after.name);
        return Some(pair.unknown(KIND, why, &cited));
    };
    if requests <= 0.0 {
        let why = format!("logs/{} logged no request since the resolution", after.name);
        return Some(pair.unknown(KIND, why, &cited));
    }
    // A baseline without a 5xx counts as one, as for errors.
    let expected = (baseline_ratio * requests).max(requests / baseline_requests);
    let percent = |share: f64| share * 100.0;
    let (status, word) = if rose(count, count / expected, 2.0) {
        (CheckStatus::NotYet, "against")
    } else {
        (CheckStatus::Passed, "and")
    };
    let detail = format!(
        "{count:.0} of {requests:.0} requests answered 5xx ({:.1}%) {word} {:.1}% before the incident",
        percent(count / requests),
        percent(baseline_ratio)
    );
    Some(pair.check(KIND, status, detail, &cited, &["logs.status_5xx_count", "logs.requests"]))
}

fn latency(pair: &Pair, thresholds: &SeverityConfig) -> Option<Check> {
    const KIND: CheckKind = CheckKind::Latency;
    let before = pair.before;
    let baseline = number(before, "logs.latency_p95_baseline_ms").filter(|b| *b > 0.0)?;
    number(before, "logs.latency_p95_ms")?;
    let cited = ["logs.latency_p95_ms", "logs.latency_p95_baseline_ms"];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    let Some(p95) = number(after, "logs.latency_p95_ms") else {
        let why = format!("logs/{} timed no request since the resolution", after.name);
        return Some(pair.unknown(KIND, why, &cited));
    };
    let ratio = p95 / baseline;
    let status = if ratio >= thresholds.medium_latency_ratio as f64 {
        CheckStatus::NotYet
    } else {
        CheckStatus::Passed
    };
    let detail = format!(
        "p95 {p95:.0} ms, {ratio:.1}× the {baseline:.0} ms before the incident (still up from {}×)",
        thresholds.medium_latency_ratio
    );
    Some(pair.check(KIND, status, detail, &cited, &["logs.latency_p95_ms"]))
}

fn health(pair: &Pair) -> Check {
    const KIND: CheckKind = CheckKind::Health;
    let cited = ["http.failing_probes"];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return pair.unknown(KIND, why.clone(), &cited),
    };
    let Some(failing) = number(after, "http.failing_probes") else {
        let why = format!("http/{} counted no probe", after.name);
        return pair.unknown(KIND, why, &cited);
    };
    let down = texts(after, "http.components_down");
    let status =
        if failing > 0.0 || !down.is_empty() { CheckStatus::NotYet } else { CheckStatus::Passed };
    let detail = format!(
        "{}{}",
        after.evidence.summary,
        if down.is_empty() { String::new() } else { format!("; down: {}", down.join(", ")) }
    );
    pair.check(KIND, status, detail, &cited, &["http.failing_probes"])
}

fn replicas(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::Replicas;
    let before = pair.before;
    let unavailable = number(before, "kubernetes.unavailable_replicas").unwrap_or(0.0);
    let crashing = number(before, "kubernetes.crashloop_pods").unwrap_or(0.0);
    if unavailable <= 0.0 && crashing <= 0.0 {
        return None;
    }
    let cited = ["kubernetes.unavailable_replicas", "kubernetes.crashloop_pods"];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    let (Some(wanted), Some(available)) =
        (number(after, "kubernetes.replicas"), number(after, "kubernetes.available_replicas"))
    else {
        let why = format!("kubernetes/{} read no replica counts", after.name);
        return Some(pair.unknown(KIND, why, &cited));
    };
    let crashing = number(after, "kubernetes.crashloop_pods").unwrap_or(0.0);
    let status = if available >= wanted && crashing <= 0.0 {
        CheckStatus::Passed
    } else {
        CheckStatus::NotYet
    };
    let detail = format!(
        "{available:.0} of {wanted:.0} replicas available, {crashing:.0} pod(s) crash-looping"
    );
    let after_refs = ["kubernetes.available_replicas", "kubernetes.crashloop_pods"];
    Some(pair.check(KIND, status, detail, &cited, &after_refs))
}

fn vendor(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::Vendor;
    let before = pair.before;
    let degraded = flag(before, "status_page.degraded") == Some(true);
    let unresolved = number(before, "status_page.unresolved_incidents").unwrap_or(0.0);
    if !degraded && unresolved <= 0.0 {
        return None;
    }
    let cited = ["status_page.degraded", "status_page.unresolved_incidents"];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    let still_degraded = flag(after, "status_page.degraded");
    let still_open = number(after, "status_page.unresolved_incidents");
    let status = match (still_degraded, still_open) {
        (Some(false), Some(open)) if open <= 0.0 => CheckStatus::Passed,
        (None, _) | (_, None) => {
            let why = format!("status_page/{} could not tell the vendor's state", after.name);
            return Some(pair.unknown(KIND, why, &cited));
        }
        _ => CheckStatus::NotYet,
    };
    Some(pair.check(KIND, status, after.evidence.summary.clone(), &cited, &cited))
}

fn lock_tree(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::LockTree;
    let before = pair.before;
    if number(before, "postgres.blocked_sessions")? <= 0.0 {
        return None;
    }
    let cited = ["postgres.blocked_sessions", "postgres.root_blocker_pids"];
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return Some(pair.unknown(KIND, why.clone(), &cited)),
    };
    let Some(blocked) = number(after, "postgres.blocked_sessions") else {
        let why = format!("postgres/{} could not read the lock waits", after.name);
        return Some(pair.unknown(KIND, why, &cited));
    };
    let roots_before = texts(before, "postgres.root_blocker_pids");
    let roots_now = texts(after, "postgres.root_blocker_pids");
    let still: Vec<&String> = roots_before.iter().filter(|p| roots_now.contains(p)).collect();
    let (status, detail) = if blocked <= 0.0 {
        let gone = if roots_before.is_empty() {
            String::new()
        } else {
            format!("; root blocker pid {} gone", roots_before.join(", "))
        };
        (CheckStatus::Passed, format!("no session waits on a lock{gone}"))
    } else {
        let held = if still.is_empty() {
            format!("a new root blocker: pid {}", roots_now.join(", "))
        } else {
            format!(
                "the incident's root blocker pid {} still blocks",
                still.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        };
        (CheckStatus::NotYet, format!("{blocked:.0} session(s) still wait on a lock; {held}"))
    };
    Some(pair.check(KIND, status, detail, &cited, &cited))
}

/// Whether the incident's top recommendation was carried out, where witness can see it:
/// a rollback (the Deployment runs the revision it named again) or a scale-up (more
/// replicas, or a higher HPA ceiling). Lock and vendor causes are the lock-tree and vendor
/// checks; `investigate` has no action to check.
fn action(incident: &RunView, records: &[CollectorRecord], window: Window) -> Option<Check> {
    let top = incident.evaluation.hypotheses.first()?;
    if top.recommendation == Recommendation::Investigate {
        return None;
    }
    let k8s: Vec<&CollectorRecord> = incident
        .records
        .iter()
        .filter(|r| r.kind == "kubernetes" && r.status().has_evidence())
        .filter(|r| r.evidence.facts.contains_key("kubernetes.deployment"))
        .collect();
    let Some(before) = k8s.first() else {
        return Some(Check {
            check: CheckKind::Action,
            source: format!("hypothesis/{}", top.id),
            status: CheckStatus::CouldNotCheck,
            detail: format!(
                "{} ({}): no kubernetes evidence in the incident shows what to look for",
                top.recommendation.as_str(),
                top.title
            ),
            incident_evidence: vec![EvidenceRef {
                file: crate::bundle::layout::HYPOTHESES.into(),
                pointer: "/hypotheses/0".into(),
            }],
            evidence: Vec::new(),
        });
    };
    let pair = Pair { before, after: after_of(records, before), window };
    Some(match top.recommendation {
        Recommendation::Rollback => rollback(&pair),
        _ => scale_up(&pair),
    })
}

/// The section of `record`'s data about Deployment `namespace/name`, with its index.
fn deployment<'a>(record: &'a CollectorRecord, ns: &str, name: &str) -> Option<(usize, &'a Value)> {
    record.evidence.data.get("deployments")?.as_array()?.iter().enumerate().find(|(_, d)| {
        d.get("name").and_then(Value::as_str) == Some(name)
            && d.get("namespace").and_then(Value::as_str) == Some(ns)
    })
}

fn text_fact(record: &CollectorRecord, fact: &str) -> Option<String> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

/// `(index, revision)` of `revision`'s entry, or of the current one.
fn revision_of(section: &Value, pick: impl Fn(&Value) -> bool) -> Option<(usize, &Value)> {
    section.pointer("/history/revisions")?.as_array()?.iter().enumerate().find(|(_, r)| pick(r))
}

fn images(revision: &Value) -> String {
    revision
        .get("images")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn rollback(pair: &Pair) -> Check {
    const KIND: CheckKind = CheckKind::Action;
    let before = pair.before;
    let cited = ["kubernetes.previous_revision", "kubernetes.current_revision"];
    let (Some(ns), Some(name), Some(target), Some(bad)) = (
        text_fact(before, "kubernetes.namespace"),
        text_fact(before, "kubernetes.deployment"),
        number(before, "kubernetes.previous_revision").map(|n| n as i64),
        number(before, "kubernetes.current_revision").map(|n| n as i64),
    ) else {
        let why = "the incident's kubernetes evidence names no revision to roll back to";
        return pair.unknown(KIND, why.to_owned(), &cited);
    };
    let is = |n: i64| move |r: &Value| r.get("revision").and_then(Value::as_i64) == Some(n);
    let target_before =
        deployment(before, &ns, &name).and_then(|(_, d)| revision_of(d, is(target)));
    let Some((_, target_rev)) = target_before else {
        let why = format!("the incident's history of deployment/{name} has no revision {target}");
        return pair.unknown(KIND, why, &cited);
    };
    let target_rs = target_rev.get("replica_set").and_then(Value::as_str).unwrap_or_default();
    let target_images = images(target_rev);
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return pair.unknown(KIND, why.clone(), &cited),
    };
    let Some((d, section)) = deployment(after, &ns, &name) else {
        let why = format!("kubernetes/{} did not read deployment/{name} in {ns}", after.name);
        return pair.unknown(KIND, why, &cited);
    };
    let current = |r: &Value| r.get("current").and_then(Value::as_bool) == Some(true);
    let Some((r, now)) = revision_of(section, current) else {
        let why =
            format!("kubernetes/{} found no current revision of deployment/{name}", after.name);
        return pair.unknown(KIND, why, &cited);
    };
    let number_now = now.get("revision").and_then(Value::as_i64).unwrap_or(0);
    let history: Vec<i64> = now
        .get("revision_history")
        .and_then(Value::as_array)
        .map(|h| h.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    let rs_now = now.get("replica_set").and_then(Value::as_str).unwrap_or_default();
    let images_now = images(now);
    let rolled_back = (!target_rs.is_empty() && rs_now == target_rs)
        || history.contains(&target)
        || (!target_images.is_empty() && images_now == target_images && number_now != bad);
    let complete = section.pointer("/state/complete").and_then(Value::as_bool);
    let refs = [
        format!("/data/deployments/{d}/history/revisions/{r}"),
        format!("/data/deployments/{d}/state"),
    ];
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let (status, detail) = match (rolled_back, complete) {
        (true, Some(true)) => (
            CheckStatus::Passed,
            format!(
                "deployment/{name} runs revision {target}'s ReplicaSet {target_rs} again (now \
                 revision {number_now}: {images_now}), rolled out"
            ),
        ),
        (true, _) => (
            CheckStatus::NotYet,
            format!(
                "deployment/{name} is rolling back to revision {target} ({images_now}): the \
                 rollout is not complete"
            ),
        ),
        (false, _) if number_now == bad => (
            CheckStatus::NotYet,
            format!(
                "deployment/{name} still runs revision {bad} ({images_now}); the rollback to \
                 revision {target} ({target_images}) was not made"
            ),
        ),
        (false, _) => (
            CheckStatus::NotYet,
            format!(
                "deployment/{name} runs revision {number_now} ({images_now}), not revision \
                 {target} ({target_images}) the rollback named: a fix forward? The other checks \
                 say whether it worked"
            ),
        ),
    };
    pair.check(KIND, status, detail, &cited, &refs)
}

fn scale_up(pair: &Pair) -> Check {
    const KIND: CheckKind = CheckKind::Action;
    let before = pair.before;
    let after = match pair.after {
        Ok(after) => after,
        Err(ref why) => return pair.unknown(KIND, why.clone(), &["kubernetes.replicas"]),
    };
    let hpa = number(before, "kubernetes.hpa_max_replicas");
    let (fact, what) = match hpa {
        Some(_) => ("kubernetes.hpa_max_replicas", "the autoscaler's ceiling"),
        None => ("kubernetes.replicas", "replicas"),
    };
    let (Some(was), Some(now)) = (number(before, fact), number(after, fact)) else {
        let why = format!("kubernetes/{} did not read {what}", after.name);
        return pair.unknown(KIND, why, &[fact]);
    };
    let status = if now > was { CheckStatus::Passed } else { CheckStatus::NotYet };
    let detail = format!("{what}: {now:.0} now, {was:.0} during the incident");
    pair.check(KIND, status, detail, &[fact], &[fact])
}

#[cfg(test)]
mod tests;
