//! The checks of a follow-up: each compares what one collector instance saw during the
//! incident with what the same instance (same kind and name) sees after the resolution.
//! A check exists where the incident's evidence can answer its question (errors with a
//! baseline, a health endpoint, a Deployment in trouble, a degraded vendor, a lock tree,
//! a rollback or scale-up recommended). Its answer is `passed` or `not_yet` only when the
//! follow-up has the evidence; a collector that failed, logs that went quiet, a window
//! with no request are `could_not_check`: missing data never reads as fixed.
//!
//! Here: every check of a follow-up, and those of health, replicas, vendors and locks;
//! [`logs`] has those of errors, 5xx and latency, [`action`] whether the recommendation
//! was carried out, and [`pair`] the comparison they all share.

mod action;
mod logs;
mod pair;

use witness_collector::Window;

use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
use crate::run::follow_up::check::{Check, CheckKind, CheckStatus};
use crate::run::view::RunView;
use pair::{Pair, after_of, flag, found, number, texts};

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
