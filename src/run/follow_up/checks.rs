//! The checks of a follow-up: each compares what one collector instance saw during the
//! incident with what the same instance (same kind and name) sees after the resolution.
//! A check exists where the incident's evidence can answer its question (errors with a
//! baseline, a health endpoint, a Deployment in trouble, a degraded vendor, a lock tree,
//! a rollback or scale-up recommended). Its answer is `passed` or `not_yet` only when the
//! follow-up has the evidence; a collector that failed, logs that went quiet, a window
//! with no request are `could_not_check`: missing data never reads as fixed.
//!
//! Here: the comparison every check shares ([`Pair::compare`]), and the checks of health,
//! replicas, vendors and locks; [`logs`] has those of errors, 5xx and latency, [`action`]
//! whether the recommendation was carried out.

mod action;
mod logs;

use witness_collector::{FactValue, Window};

use super::{Check, CheckKind, CheckStatus};
use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
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
            "logs" => checks.extend(logs::checks(&pair, thresholds)),
            "http" => checks.push(health(&pair)),
            "kubernetes" => checks.extend(replicas(&pair)),
            "status_page" => checks.extend(vendor(&pair)),
            "postgres" => checks.extend(lock_tree(&pair)),
            _ => {}
        }
    }
    checks.extend(action::check(incident, records, window));
    checks
}

/// One instance before (in the incident) and after (in the follow-up, or why not).
struct Pair<'a> {
    before: &'a CollectorRecord,
    after: Result<&'a CollectorRecord, String>,
    window: Window,
}

/// What a comparison found: its status, what was seen, and where in the follow-up (fact
/// names, or pointers into its record). `Err`: why it could not tell.
type Outcome = Result<(CheckStatus, String, Vec<String>), String>;

/// A comparison's answer, citing `refs` of the follow-up's record.
fn found(status: CheckStatus, detail: String, refs: &[&str]) -> Outcome {
    Ok((status, detail, refs.iter().map(|r| (*r).to_owned()).collect()))
}

impl Pair<'_> {
    fn source(&self) -> String {
        format!("{}/{}", self.before.kind, self.before.name)
    }

    /// The check `check`, citing `cited` of the incident's record: `compare` answers when
    /// the follow-up has evidence of the instance; otherwise, or when `compare` says why
    /// it cannot tell, it is `could_not_check`.
    fn compare(
        &self,
        check: CheckKind,
        cited: &[&str],
        compare: impl FnOnce(&CollectorRecord) -> Outcome,
    ) -> Check {
        let incident_evidence = cited.iter().map(|p| fact_ref(self.before, p)).collect();
        let (status, detail, evidence) = match &self.after {
            Ok(after) => match compare(after) {
                Ok((status, detail, refs)) => {
                    (status, detail, refs.iter().map(|p| fact_ref(after, p)).collect())
                }
                Err(why) => {
                    (CheckStatus::CouldNotCheck, why, vec![EvidenceRef::into_record(after, "")])
                }
            },
            Err(why) => (CheckStatus::CouldNotCheck, why.clone(), Vec::new()),
        };
        Check { check, source: self.source(), status, detail, incident_evidence, evidence }
    }

    /// `could_not_check` for a reason on the incident's side.
    fn unknown(&self, check: CheckKind, why: String, cited: &[&str]) -> Check {
        self.compare(check, cited, |_| Err(why))
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

fn text(record: &CollectorRecord, fact: &str) -> Option<String> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::Text(t)) => Some(t.clone()),
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

fn health(pair: &Pair) -> Check {
    pair.compare(CheckKind::Health, &["http.failing_probes"], |after| {
        let Some(failing) = number(after, "http.failing_probes") else {
            return Err(format!("http/{} counted no probe", after.name));
        };
        let down = texts(after, "http.components_down");
        let status = if failing > 0.0 || !down.is_empty() {
            CheckStatus::NotYet
        } else {
            CheckStatus::Passed
        };
        let down =
            if down.is_empty() { String::new() } else { format!("; down: {}", down.join(", ")) };
        found(status, format!("{}{down}", after.evidence.summary), &["http.failing_probes"])
    })
}

fn replicas(pair: &Pair) -> Option<Check> {
    let before = pair.before;
    let unavailable = number(before, "kubernetes.unavailable_replicas").unwrap_or(0.0);
    let crashing = number(before, "kubernetes.crashloop_pods").unwrap_or(0.0);
    if unavailable <= 0.0 && crashing <= 0.0 {
        return None;
    }
    let cited = ["kubernetes.unavailable_replicas", "kubernetes.crashloop_pods"];
    Some(pair.compare(CheckKind::Replicas, &cited, |after| {
        let (Some(wanted), Some(available)) =
            (number(after, "kubernetes.replicas"), number(after, "kubernetes.available_replicas"))
        else {
            return Err(format!("kubernetes/{} read no replica counts", after.name));
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
        found(status, detail, &["kubernetes.available_replicas", "kubernetes.crashloop_pods"])
    }))
}

fn vendor(pair: &Pair) -> Option<Check> {
    let before = pair.before;
    let degraded = flag(before, "status_page.degraded") == Some(true);
    let unresolved = number(before, "status_page.unresolved_incidents").unwrap_or(0.0);
    if !degraded && unresolved <= 0.0 {
        return None;
    }
    let cited = ["status_page.degraded", "status_page.unresolved_incidents"];
    Some(pair.compare(CheckKind::Vendor, &cited, |after| {
        let state = (
            flag(after, "status_page.degraded"),
            number(after, "status_page.unresolved_incidents"),
        );
        let status = match state {
            (Some(false), Some(open)) if open <= 0.0 => CheckStatus::Passed,
            (Some(_), Some(_)) => CheckStatus::NotYet,
            _ => {
                return Err(format!(
                    "status_page/{} could not tell the vendor's state",
                    after.name
                ));
            }
        };
        found(status, after.evidence.summary.clone(), &cited)
    }))
}

fn lock_tree(pair: &Pair) -> Option<Check> {
    let before = pair.before;
    if number(before, "postgres.blocked_sessions")? <= 0.0 {
        return None;
    }
    let cited = ["postgres.blocked_sessions", "postgres.root_blocker_pids"];
    Some(pair.compare(CheckKind::LockTree, &cited, |after| {
        let Some(blocked) = number(after, "postgres.blocked_sessions") else {
            return Err(format!("postgres/{} could not read the lock waits", after.name));
        };
        let roots_before = texts(before, "postgres.root_blocker_pids");
        let roots_now = texts(after, "postgres.root_blocker_pids");
        if blocked <= 0.0 {
            let gone = if roots_before.is_empty() {
                String::new()
            } else {
                format!("; root blocker pid {} gone", roots_before.join(", "))
            };
            return found(CheckStatus::Passed, format!("no session waits on a lock{gone}"), &cited);
        }
        let still: Vec<&str> =
            roots_before.iter().filter(|p| roots_now.contains(p)).map(String::as_str).collect();
        let held = if still.is_empty() {
            format!("a new root blocker: pid {}", roots_now.join(", "))
        } else {
            format!("the incident's root blocker pid {} still blocks", still.join(", "))
        };
        let detail = format!("{blocked:.0} session(s) still wait on a lock; {held}");
        found(CheckStatus::NotYet, detail, &cited)
    }))
}

#[cfg(test)]
mod tests;
