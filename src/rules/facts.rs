//! The facts the rules see: every collector instance's facts, merged per kind (several
//! `logs` instances publish one `logs.error_rate_ratio`), with the instances each merged
//! value came from so that a hypothesis can cite them. Also the list of known facts that
//! `witness rules check` holds rule files against, and how each one merges: the kinds'
//! declarations (`witness_<kind>::KIND`, listed by the registry), plus witness's own `run`
//! facts.
//!
//! A fact is absent when no instance with evidence (`ok` or `partial`) published it: the
//! merge never invents a value, so missing data never reads as healthy.

use std::collections::BTreeMap;

pub use witness_collector::{Check, Merge};
use witness_collector::{FactDecl, FactValue, fact};

use crate::bundle::layout::CollectorRecord;
use crate::registry;

/// The collector kinds whose facts the rules can use, as the registry lists them, plus
/// `run` (facts witness derives from several collectors).
pub const KINDS: &[&str] = &KIND_NAMES;

const KIND_NAMES: [&str; registry::KINDS.len() + 1] = {
    let mut names = ["run"; registry::KINDS.len() + 1];
    let mut i = 0;
    while i < registry::KINDS.len() {
        names[i] = registry::KINDS[i].name;
        i += 1;
    }
    names
};

/// One documented fact: a kind's declaration of it.
pub type KnownFact = FactDecl;

/// The facts witness derives itself from several collectors (kind `run`).
const RUN_FACTS: &[KnownFact] = &[
    fact(
        "run.vendors_named_in_errors",
        "list",
        Merge::Union,
        Check::Word,
        "degraded vendors (status_page.vendors_degraded) named in a logs event or by a health component down (by name, name without spaces, or first word)",
    ),
    fact(
        "run.symptoms",
        "list",
        Merge::Union,
        Check::Word,
        "what users feel, against the baseline: error_rate, new_errors, status_5xx, latency, health_failing, components_down, crash_loop, lock_waits, connections",
    ),
    fact(
        "run.dependencies_down",
        "list",
        Merge::Union,
        Check::Word,
        "components down (http.components_down) not failing with the service's own new error",
    ),
    fact(
        "run.components_down_own_error",
        "list",
        Merge::Union,
        Check::Word,
        "components down whose error is one of the service's new error signatures",
    ),
    fact(
        "run.error_rate_up",
        "bool",
        Merge::Or,
        Check::Word,
        "errors rose against the baseline (×2 in all, or ×3 for one signature) by more than the baseline's noise (3σ); measured on the logs, else on the pods' logs (kubernetes.pod_log_*), else where a Prometheus error_ratio query left its baseline or doubled",
    ),
    fact(
        "run.onset_offset_secs",
        "int",
        Merge::Min,
        Check::Int,
        "seconds from the anchor to the first error of a signature new against the baseline (without a baseline: the first of the window's most frequent signature); without logs evidence, the pods' logs' first new error, else where a Prometheus error_ratio query left its baseline, else where the alert's expression began to hold",
    ),
    fact(
        "run.onset_earliest_offset_secs",
        "int",
        Merge::Min,
        Check::Int,
        "the earliest the incident can have begun, seconds from the anchor: run.onset_offset_secs where it is known; where nothing read could tell it (no logs, no pods' logs, no metric onset), the window's start; absent when logs were read and nothing in them is new",
    ),
    fact(
        "run.migration_named_in_errors",
        "list",
        Merge::Union,
        Check::Word,
        "words of the migration paths that the new errors name (a table, a column)",
    ),
    fact(
        "run.errors_say_disk_full",
        "bool",
        Merge::Or,
        Check::Word,
        "a new error signature says a disk is full (no space left, ENOSPC, disk full, disk quota, could not extend file, database or disk is full, not enough space on the disk)",
    ),
    fact(
        "run.lock_predates_rollout",
        "bool",
        Merge::Or,
        Check::Word,
        "5 or more sessions wait behind a root blocker whose transaction is older than the latest rollout and runs no DDL",
    ),
];

/// Every fact the kinds declare (and document in their FACTS.md), in registry order, then
/// the `run` facts. `witness rules check` rejects a rule that names a fact not in this
/// list.
pub const KNOWN_FACTS: &[KnownFact] = &ALL_FACTS;

const FACT_COUNT: usize = {
    let mut count = RUN_FACTS.len();
    let mut i = 0;
    while i < registry::KINDS.len() {
        count += registry::KINDS[i].facts.len();
        i += 1;
    }
    count
};

const ALL_FACTS: [KnownFact; FACT_COUNT] = {
    let mut all = [RUN_FACTS[0]; FACT_COUNT];
    let mut at = 0;
    let mut i = 0;
    while i < registry::KINDS.len() {
        let facts = registry::KINDS[i].facts;
        let mut j = 0;
        while j < facts.len() {
            all[at] = facts[j];
            at += 1;
            j += 1;
        }
        i += 1;
    }
    let mut j = 0;
    while j < RUN_FACTS.len() {
        all[at] = RUN_FACTS[j];
        at += 1;
        j += 1;
    }
    all
};

/// The documented fact named `name`.
pub fn known(name: &str) -> Option<&'static KnownFact> {
    KNOWN_FACTS.iter().find(|f| f.name == name)
}

/// The kind part of `logs.error_count`.
pub fn kind_of(name: &str) -> &str {
    name.split_once('.').map_or(name, |(kind, _)| kind)
}

/// A merged fact: its value and the records (indexes into the run's records) it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub value: FactValue,
    pub from: Vec<usize>,
}

/// The facts of a run as the rules see them.
#[derive(Debug, Clone, Default)]
pub struct FactSet {
    /// `logs.error_count` → merged value.
    pub merged: BTreeMap<String, Merged>,
    /// kind → record indexes with evidence, in config order.
    pub instances: BTreeMap<String, Vec<usize>>,
    /// kind → the primary instance's record index.
    pub primary: BTreeMap<String, usize>,
}

impl FactSet {
    /// Merges the facts of every record with evidence.
    pub fn of(records: &[CollectorRecord]) -> Self {
        let mut set = FactSet::default();
        for (i, record) in records.iter().enumerate() {
            if record.status().has_evidence() {
                set.instances.entry(record.kind.clone()).or_default().push(i);
            }
        }
        for (kind, indexes) in &set.instances {
            set.primary.insert(kind.clone(), primary_instance(kind, indexes, records));
        }
        let mut names: Vec<&String> = set
            .instances
            .values()
            .flatten()
            .flat_map(|&i| records[i].evidence.facts.keys())
            .collect();
        names.sort();
        names.dedup();
        for name in names {
            let kind = kind_of(name);
            let Some(indexes) = set.instances.get(kind) else { continue };
            let values: Vec<(usize, &FactValue)> = indexes
                .iter()
                .filter_map(|&i| records[i].evidence.facts.get(name).map(|v| (i, v)))
                .collect();
            // A fact named for another kind than its collector's (`host.x` from a `logs`
            // instance) is not that kind's: only the kind's own instances count.
            let Some((_, first)) = values.first() else { continue };
            let merge = known(name).map_or_else(|| default_merge(first), |f| f.merge);
            let primary = set.primary.get(kind).copied();
            if let Some(merged) = merge_values(merge, &values, primary) {
                set.merged.insert(name.clone(), merged);
            }
        }
        set
    }

    pub fn get(&self, name: &str) -> Option<&Merged> {
        self.merged.get(name)
    }

    /// Fact `name` as a number, when it is present and one.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(|m| m.value.as_f64())
    }

    /// Whether some instance of `kind` has evidence.
    pub fn has_kind(&self, kind: &str) -> bool {
        self.instances.contains_key(kind)
    }

    /// Whether the run measured the errors users see across the service: `logs` evidence,
    /// the pods' logs the `kubernetes` kind read through the same analysis, or a Prometheus
    /// `error_ratio` query against its baseline. Without one, no symptom seen is not "no
    /// symptom".
    pub fn measures_errors(&self) -> bool {
        self.has_kind("logs")
            || self.get("kubernetes.pod_log_error_count").is_some()
            || self.get("prometheus.error_ratio_baseline").is_some()
    }

    /// Adds a fact witness derives itself (`run.*`).
    pub fn derive(&mut self, name: &str, value: FactValue, from: Vec<usize>) {
        self.instances.entry(kind_of(name).to_owned()).or_default();
        self.merged.insert(name.to_owned(), Merged { value, from });
    }
}

/// The merge of a fact no collector documents: by the type of its first value.
fn default_merge(value: &FactValue) -> Merge {
    match value {
        FactValue::Int(_) | FactValue::Float(_) => Merge::Max,
        FactValue::Bool(_) => Merge::Or,
        FactValue::List(_) => Merge::Union,
        FactValue::Text(_) => Merge::Primary,
    }
}

/// The instance whose values [`Merge::Primary`] facts take. For `kubernetes`, every fact
/// but `deployments_read` is `primary`, so that they all describe one Deployment — the one
/// in the most trouble, scored as the collector scores the Deployments of one instance
/// (rollout stuck 4; a rollout 0–60 min before the anchor 3; unavailable replicas,
/// crash-looping pods and OOM kills 2 each; restarts and HPA at max 1 each), then the
/// freshest rollout at or before the anchor. For `postgres`, the one with the most blocked
/// sessions (the server whose pids matter). Otherwise, and on ties, the first in config
/// order.
pub fn primary_instance(kind: &str, indexes: &[usize], records: &[CollectorRecord]) -> usize {
    let number =
        |i: usize, name: &str| records[i].evidence.facts.get(name).and_then(|v| v.as_f64());
    let truthy = |i: usize, name: &str| {
        matches!(records[i].evidence.facts.get(name), Some(FactValue::Bool(true)))
    };
    let positive = |i: usize, name: &str| number(i, name).is_some_and(|n| n > 0.0);
    let best = match kind {
        "kubernetes" => indexes
            .iter()
            .map(|&i| {
                let rollout = number(i, "kubernetes.minutes_since_rollout").filter(|m| *m >= 0.0);
                let trouble = 4 * u32::from(truthy(i, "kubernetes.rollout_stuck"))
                    + 3 * u32::from(rollout.is_some_and(|m| m <= 60.0))
                    + 2 * u32::from(positive(i, "kubernetes.unavailable_replicas"))
                    + 2 * u32::from(positive(i, "kubernetes.crashloop_pods"))
                    + 2 * u32::from(positive(i, "kubernetes.oom_kills_in_window"))
                    + u32::from(positive(i, "kubernetes.restarts_in_window"))
                    + u32::from(truthy(i, "kubernetes.hpa_at_max"));
                (i, trouble, rollout.unwrap_or(f64::INFINITY))
            })
            // Most trouble, then the freshest rollout, then config order.
            .min_by(|a, b| b.1.cmp(&a.1).then(a.2.total_cmp(&b.2)).then(a.0.cmp(&b.0)))
            .map(|(i, _, _)| i),
        "postgres" => indexes
            .iter()
            .filter_map(|&i| number(i, "postgres.blocked_sessions").map(|m| (i, m)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i),
        _ => None,
    };
    best.or_else(|| indexes.first().copied()).unwrap_or(0)
}

fn indicator_rank(value: &FactValue) -> i32 {
    match value {
        FactValue::Text(t) => match t.as_str() {
            "none" => 0,
            "maintenance" => 1,
            "major" => 3,
            "critical" => 4,
            _ => 2,
        },
        _ => -1,
    }
}

fn merge_values(
    merge: Merge,
    values: &[(usize, &FactValue)],
    primary: Option<usize>,
) -> Option<Merged> {
    let (first_index, first) = *values.first()?;
    let one = |i: usize, v: &FactValue| Some(Merged { value: v.clone(), from: vec![i] });
    let numbers = || values.iter().filter_map(|(i, v)| v.as_f64().map(|n| (*i, n)));
    match merge {
        Merge::Max | Merge::Min => {
            let pick = numbers().reduce(|a, b| {
                let better = if merge == Merge::Max { b.1 > a.1 } else { b.1 < a.1 };
                if better { b } else { a }
            });
            match pick {
                Some((i, _)) => values.iter().find(|(j, _)| *j == i).and_then(|(i, v)| one(*i, v)),
                None => one(first_index, first),
            }
        }
        Merge::Sum => {
            let all_int = values.iter().all(|(_, v)| matches!(v, FactValue::Int(_)));
            let from: Vec<usize> = numbers().map(|(i, _)| i).collect();
            if from.is_empty() {
                return one(first_index, first);
            }
            let value = if all_int {
                FactValue::Int(
                    values
                        .iter()
                        .filter_map(|(_, v)| match v {
                            FactValue::Int(n) => Some(*n),
                            _ => None,
                        })
                        .fold(0i64, i64::saturating_add),
                )
            } else {
                FactValue::Float(numbers().map(|(_, n)| n).sum())
            };
            Some(Merged { value, from })
        }
        Merge::Or => {
            let truthy: Vec<usize> = values
                .iter()
                .filter(|(_, v)| matches!(v, FactValue::Bool(true)))
                .map(|(i, _)| *i)
                .collect();
            if truthy.is_empty() {
                Some(Merged {
                    value: FactValue::Bool(false),
                    from: values.iter().map(|(i, _)| *i).collect(),
                })
            } else {
                Some(Merged { value: FactValue::Bool(true), from: truthy })
            }
        }
        Merge::Union => {
            let mut items: Vec<FactValue> = Vec::new();
            let mut from = Vec::new();
            for (i, v) in values {
                let list = match v {
                    FactValue::List(list) => list.clone(),
                    other => vec![(*other).clone()],
                };
                if !list.is_empty() {
                    from.push(*i);
                }
                for item in list {
                    if !items.contains(&item) {
                        items.push(item);
                    }
                }
            }
            if from.is_empty() {
                from = values.iter().map(|(i, _)| *i).collect();
            }
            Some(Merged { value: FactValue::List(items), from })
        }
        Merge::Primary => match values.iter().find(|(i, _)| Some(*i) == primary) {
            Some((i, v)) => one(*i, v),
            // The primary instance did not publish it: another instance's value would not
            // go with the primary's other facts (a revision of another Deployment).
            None if primary.is_some() => None,
            None => one(first_index, first),
        },
        Merge::Worst => values
            .iter()
            .max_by_key(|(i, v)| (indicator_rank(v), std::cmp::Reverse(*i)))
            .and_then(|(i, v)| one(*i, v)),
        // Times are all written the same way (UTC, milliseconds), so text order is time
        // order.
        Merge::Earliest | Merge::Latest => {
            let texts = values.iter().filter_map(|(i, v)| match v {
                FactValue::Text(t) => Some((*i, t.as_str(), *v)),
                _ => None,
            });
            let pick = if merge == Merge::Earliest {
                texts.min_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)))
            } else {
                texts.max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
            };
            pick.and_then(|(i, _, v)| one(i, v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use witness_collector::{Evidence, Status};

    fn record(kind: &str, name: &str, evidence: Evidence) -> CollectorRecord {
        CollectorRecord {
            kind: kind.into(),
            name: name.into(),
            started_at: Utc::now(),
            finished_at: Utc::now(),
            duration_ms: 1,
            error: None,
            redactions: Default::default(),
            evidence,
        }
    }

    #[test]
    fn instances_merge_by_the_documented_rule_and_remember_their_source() {
        let records = vec![
            record(
                "http",
                "api",
                Evidence::ok("a")
                    .fact("http.failing_probes", 1)
                    .fact("http.all_failing", false)
                    .fact("http.latency_median_ms", 120.0)
                    .fact("http.components_down", vec!["db"])
                    .fact("http.cert_days_left", 30),
            ),
            record(
                "http",
                "web",
                Evidence::ok("b")
                    .fact("http.failing_probes", 3)
                    .fact("http.all_failing", true)
                    .fact("http.latency_median_ms", 80.0)
                    .fact("http.components_down", vec!["redis", "db"])
                    .fact("http.cert_days_left", 3),
            ),
        ];
        let set = FactSet::of(&records);
        let get = |n: &str| set.get(n).unwrap().clone();
        assert_eq!(get("http.failing_probes"), Merged { value: 4.into(), from: vec![0, 1] });
        assert_eq!(get("http.all_failing"), Merged { value: true.into(), from: vec![1] });
        assert_eq!(get("http.latency_median_ms"), Merged { value: 120.0.into(), from: vec![0] });
        assert_eq!(get("http.components_down").value, vec!["db", "redis"].into());
        assert_eq!(get("http.cert_days_left"), Merged { value: 3.into(), from: vec![1] });
    }

    #[test]
    fn identity_facts_come_together_from_the_deployment_with_the_freshest_rollout() {
        let k8s = |name: &str, minutes: f64, previous: Option<i64>| {
            let mut e = Evidence::ok(name)
                .fact("kubernetes.deployment", name)
                .fact("kubernetes.minutes_since_rollout", minutes);
            if let Some(p) = previous {
                e = e.fact("kubernetes.previous_revision", p);
            }
            record("kubernetes", name, e)
        };
        let records = vec![k8s("old", 3000.0, Some(7)), k8s("fresh", 12.0, None)];
        let set = FactSet::of(&records);
        assert_eq!(set.get("kubernetes.deployment").unwrap().value, "fresh".into());
        // The fresh Deployment has no previous revision: another one's would be wrong.
        assert!(set.get("kubernetes.previous_revision").is_none());
    }

    #[test]
    fn the_deployment_in_trouble_describes_kubernetes_even_with_an_older_rollout() {
        let records = vec![
            record(
                "kubernetes",
                "calm",
                Evidence::ok("calm")
                    .fact("kubernetes.deployment", "calm")
                    .fact("kubernetes.minutes_since_rollout", 5.0)
                    .fact("kubernetes.crashloop_pods", 0),
            ),
            record(
                "kubernetes",
                "sick",
                Evidence::ok("sick")
                    .fact("kubernetes.deployment", "sick")
                    .fact("kubernetes.minutes_since_rollout", 40.0)
                    .fact("kubernetes.crashloop_pods", 3)
                    .fact("kubernetes.rollout_stuck", true),
            ),
        ];
        let set = FactSet::of(&records);
        assert_eq!(set.get("kubernetes.deployment").unwrap().value, "sick".into());
        assert_eq!(
            set.get("kubernetes.crashloop_pods").unwrap(),
            &Merged { value: 3.into(), from: vec![1] }
        );
    }

    #[test]
    fn a_fact_named_for_another_kind_is_ignored() {
        let records = vec![
            record("host", "h", Evidence::ok("h").fact("host.cores", 8)),
            record("logs", "l", Evidence::ok("l").fact("host.cpu_saturated", true)),
        ];
        let set = FactSet::of(&records);
        assert!(set.get("host.cpu_saturated").is_none());
        assert_eq!(set.get("host.cores").unwrap().value, 8.into());
    }

    #[test]
    fn failed_instances_publish_nothing() {
        let mut failed = Evidence::ok("x").fact("host.cpu_busy_ratio", 0.99);
        failed.status = Status::Failed;
        let set = FactSet::of(&[record("host", "h", failed)]);
        assert!(set.get("host.cpu_busy_ratio").is_none());
        assert!(!set.has_kind("host"));
    }

    #[test]
    fn the_worst_indicator_wins() {
        let records = vec![
            record(
                "status_page",
                "a",
                Evidence::ok("a").fact("status_page.worst_indicator", "minor"),
            ),
            record(
                "status_page",
                "b",
                Evidence::ok("b").fact("status_page.worst_indicator", "major"),
            ),
        ];
        let set = FactSet::of(&records);
        assert_eq!(set.get("status_page.worst_indicator").unwrap().from, vec![1]);
    }

    #[test]
    fn every_known_fact_is_named_kind_dot_fact_once() {
        for (i, f) in KNOWN_FACTS.iter().enumerate() {
            assert!(KINDS.contains(&kind_of(f.name)), "{}", f.name);
            assert!(KNOWN_FACTS[..i].iter().all(|g| g.name != f.name), "{} twice", f.name);
        }
    }
}
