//! Whether the incident's top recommendation was carried out, where witness can see it:
//! a rollback (the Deployment runs again the revision the rollback named: its ReplicaSet,
//! reused under a new number, or its images; rolled out) or a scale-up (more replicas, or
//! a higher HPA ceiling). Lock and vendor causes are the lock-tree and vendor checks;
//! `investigate` has no action to check.

use serde_json::Value;
use witness_collector::Window;

use super::pair::{Outcome, Pair, after_of, found, number, text};
use crate::bundle::layout::CollectorRecord;
use crate::rules::Recommendation;
use crate::run::follow_up::check::{Check, CheckKind, CheckStatus};
use crate::run::view::RunView;
use crate::timeline::EvidenceRef;

const KIND: CheckKind = CheckKind::Action;

/// The action check of the incident's top hypothesis against the follow-up's `records`.
pub(super) fn check(
    incident: &RunView,
    records: &[CollectorRecord],
    window: Window,
) -> Option<Check> {
    let top = incident.evaluation.hypotheses.first()?;
    if top.recommendation == Recommendation::Investigate {
        return None;
    }
    let before = incident.records.iter().find(|r| {
        r.kind == "kubernetes"
            && r.status().has_evidence()
            && r.evidence.facts.contains_key("kubernetes.deployment")
    });
    let Some(before) = before else {
        return Some(Check {
            check: KIND,
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
fn deployment<'a>(
    record: &'a CollectorRecord,
    namespace: &str,
    name: &str,
) -> Option<(usize, &'a Value)> {
    record.evidence.data.get("deployments")?.as_array()?.iter().enumerate().find(|(_, d)| {
        d.get("name").and_then(Value::as_str) == Some(name)
            && d.get("namespace").and_then(Value::as_str) == Some(namespace)
    })
}

/// `(index, revision)` of the first revision of `section`'s history that `pick` takes.
fn revision(section: &Value, pick: impl Fn(&Value) -> bool) -> Option<(usize, &Value)> {
    section.pointer("/history/revisions")?.as_array()?.iter().enumerate().find(|(_, r)| pick(r))
}

fn field<'a>(revision: &'a Value, key: &str) -> &'a str {
    revision.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn images(revision: &Value) -> String {
    revision
        .get("images")
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

fn rollback(pair: &Pair) -> Check {
    let before = pair.before;
    let cited = ["kubernetes.previous_revision", "kubernetes.current_revision"];
    let named = (
        text(before, "kubernetes.namespace"),
        text(before, "kubernetes.deployment"),
        number(before, "kubernetes.previous_revision").map(|n| n as i64),
        number(before, "kubernetes.current_revision").map(|n| n as i64),
    );
    let (Some(namespace), Some(name), Some(target), Some(bad)) = named else {
        let why = "the incident's kubernetes evidence names no revision to roll back to";
        return pair.unknown(KIND, why.to_owned(), &cited);
    };
    let is = |n: i64| move |r: &Value| r.get("revision").and_then(Value::as_i64) == Some(n);
    let Some((_, target_rev)) =
        deployment(before, &namespace, &name).and_then(|(_, d)| revision(d, is(target)))
    else {
        let why = format!("the incident's history of deployment/{name} has no revision {target}");
        return pair.unknown(KIND, why, &cited);
    };
    let (target_rs, target_images) = (field(target_rev, "replica_set"), images(target_rev));
    pair.compare(KIND, &cited, |after| -> Outcome {
        let Some((d, section)) = deployment(after, &namespace, &name) else {
            return Err(format!("kubernetes/{} did not read deployment/{name}", after.name));
        };
        let current = |r: &Value| r.get("current").and_then(Value::as_bool) == Some(true);
        let Some((r, now)) = revision(section, current) else {
            return Err(format!("kubernetes/{} found no current revision of {name}", after.name));
        };
        let number_now = now.get("revision").and_then(Value::as_i64).unwrap_or(0);
        let reused: Vec<i64> = now
            .get("revision_history")
            .and_then(Value::as_array)
            .map(|h| h.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let images_now = images(now);
        let rolled_back = (!target_rs.is_empty() && field(now, "replica_set") == target_rs)
            || reused.contains(&target)
            || (!target_images.is_empty() && images_now == target_images && number_now != bad);
        let complete = section.pointer("/state/complete").and_then(Value::as_bool);
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
                     {target} ({target_images}) the rollback named: a fix forward? The other \
                     checks say whether it worked"
                ),
            ),
        };
        let history = format!("/data/deployments/{d}/history/revisions/{r}");
        found(status, detail, &[&history, &format!("/data/deployments/{d}/state")])
    })
}

fn scale_up(pair: &Pair) -> Check {
    let (fact, what) = match number(pair.before, "kubernetes.hpa_max_replicas") {
        Some(_) => ("kubernetes.hpa_max_replicas", "the autoscaler's ceiling"),
        None => ("kubernetes.replicas", "replicas"),
    };
    let Some(was) = number(pair.before, fact) else {
        return pair.unknown(KIND, format!("the incident read no {what}"), &[fact]);
    };
    pair.compare(KIND, &[fact], |after| {
        let Some(now) = number(after, fact) else {
            return Err(format!("kubernetes/{} did not read {what}", after.name));
        };
        let status = if now > was { CheckStatus::Passed } else { CheckStatus::NotYet };
        found(status, format!("{what}: {now:.0} now, {was:.0} during the incident"), &[fact])
    })
}
