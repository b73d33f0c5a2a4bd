//! Facts witness derives from several kinds at once (`run.*`), because no one collector
//! can see them: whether a component a health body reports down fails with the service's
//! own new error (then it is a symptom of the service, not a dependency that is down), and
//! whether the new errors name what a deployed migration changed, when what is new began
//! (the onset), and whether the error rate rose by more than the baseline's own noise.
//! Each derived fact keeps the evidence it came from, so a hypothesis that uses it still
//! cites the bundle.

use std::collections::{BTreeMap, BTreeSet};

use statrs::distribution::{Binomial, DiscreteCDF};
use witness_collector::FactValue;

use super::facts::FactSet;
use crate::bundle::layout::CollectorRecord;
use crate::timeline::{EvidenceRef, Timeline, TimelineEntry};

/// Derived facts and the refs each one rests on.
pub type DerivedRefs = BTreeMap<String, Vec<EvidenceRef>>;

/// Words in an error text that say a connection to something else failed: a component
/// failing with them is a dependency, whatever the service logs about it.
const CONNECTIVITY: &[&str] = &[
    "connection refused",
    "connection reset",
    "connect timeout",
    "connection timed out",
    "timed out",
    "timeout",
    "unreachable",
    "econnrefused",
    "etimedout",
    "no route to host",
    "name or service not known",
    "could not connect",
    "unable to connect",
    "cannot connect",
    "broken pipe",
    "no such host",
];

/// Words of a migration path that say nothing about what it changes.
const MIGRATION_NOISE: &[&str] = &[
    "migration",
    "migrations",
    "migrate",
    "db",
    "sql",
    "up",
    "down",
    "add",
    "alter",
    "create",
    "drop",
    "table",
    "column",
    "index",
    "not",
    "null",
    "rename",
    "change",
    "update",
    "set",
    "src",
    "schema",
    "alembic",
    "versions",
    "flyway",
    "liquibase",
    "changelog",
    "resources",
    "main",
    "default",
    "remove",
    "to",
    "from",
    "and",
    "the",
    "py",
    "rb",
    "js",
    "ts",
    "xml",
    "yaml",
    "yml",
    "json",
    "go",
];

/// `run.dependencies_down` and `run.components_down_own_error`.
///
/// A component is the service's own when its error text is the text of one of the
/// service's new error signatures (an example line of a `new_signature` event contains
/// most of its words) and is not a failure to reach something. Without logs evidence no
/// component can be told apart, and every down component counts as a dependency.
pub fn components_down(facts: &mut FactSet, timeline: &Timeline, refs: &mut DerivedRefs) {
    let Some(down) = facts.get("http.components_down").cloned() else { return };
    let FactValue::List(down) = down.value else { return };
    let errors: Vec<(String, String)> = match facts.get("http.components_down_errors") {
        Some(m) => texts(&m.value)
            .filter_map(|t| t.split_once(": ").map(|(n, e)| (n.to_owned(), e.to_owned())))
            .collect(),
        None => Vec::new(),
    };
    let new_errors: Vec<&TimelineEntry> = timeline
        .entries
        .iter()
        .filter(|e| e.source.starts_with("logs/") && e.kind == "new_signature")
        .collect();
    let mut dependencies = Vec::new();
    let mut own = Vec::new();
    let mut own_refs = Vec::new();
    for name in down.iter().filter_map(|v| match v {
        FactValue::Text(t) => Some(t),
        _ => None,
    }) {
        let error = errors.iter().find(|(n, _)| n == name).map(|(_, e)| e.as_str());
        let matching: Vec<&TimelineEntry> = match error {
            Some(error) if !is_connectivity(error) => {
                new_errors.iter().copied().filter(|e| same_error(error, e)).collect()
            }
            _ => Vec::new(),
        };
        if matching.is_empty() {
            dependencies.push(FactValue::Text(name.clone()));
        } else {
            own.push(FactValue::Text(name.clone()));
            own_refs.extend(matching.iter().map(|e| e.evidence.clone()));
        }
    }
    let http_from = facts.get("http.components_down").map(|m| m.from.clone()).unwrap_or_default();
    facts.derive("run.dependencies_down", FactValue::List(dependencies), http_from.clone());
    facts.derive("run.components_down_own_error", FactValue::List(own), http_from);
    own_refs.sort();
    own_refs.dedup();
    refs.insert("run.components_down_own_error".into(), own_refs);
}

/// `run.migration_named_in_errors`: the words of the deployed (or recent) migrations'
/// paths that the service's new errors name (`users_email_not_null` → `users`, `email`).
/// Present when both migration paths and logs evidence are.
pub fn migration_named_in_errors(facts: &mut FactSet, timeline: &Timeline, refs: &mut DerivedRefs) {
    const NAME: &str = "run.migration_named_in_errors";
    let Some(paths) = facts.get("git.migration_paths").cloned() else { return };
    if !facts.has_kind("logs") {
        return;
    }
    // The file's name and its directory's: tools that name the migration by its directory
    // (`prisma/migrations/20260307_invoices_currency_required/migration.sql`) put what it
    // changes there.
    let words: BTreeSet<String> = texts(&paths.value)
        .flat_map(|p| {
            let mut segments = p.rsplit('/');
            let file = segments.next().unwrap_or(p);
            let dir = segments.next().unwrap_or_default();
            [file, dir]
                .into_iter()
                .flat_map(|segment| segment.split(|c: char| !c.is_ascii_alphanumeric()))
                .map(str::to_ascii_lowercase)
                .filter(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
                .filter(|w| !MIGRATION_NOISE.contains(&w.as_str()))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut named = Vec::new();
    let mut cited = Vec::new();
    for word in &words {
        let entries: Vec<&TimelineEntry> = timeline
            .entries
            .iter()
            .filter(|e| e.source.starts_with("logs/"))
            .filter(|e| matches!(e.kind.as_str(), "new_signature" | "first_error"))
            .filter(|e| {
                [Some(e.title.as_str()), e.detail.as_deref(), e.signature.as_deref()]
                    .into_iter()
                    .flatten()
                    .any(|t| has_word(t, word))
            })
            .collect();
        if !entries.is_empty() {
            named.push(FactValue::Text(word.clone()));
            cited.extend(entries.iter().map(|e| e.evidence.clone()));
        }
    }
    cited.sort();
    cited.dedup();
    facts.derive(NAME, FactValue::List(named), paths.from.clone());
    refs.insert(NAME.into(), cited);
}

/// How errors say a disk (or a quota on it) is full: POSIX `ENOSPC`, PostgreSQL, SQLite,
/// Windows, and the plain words.
const DISK_FULL: &[&str] = &[
    "no space left",
    "disk full",
    "enospc",
    "disk quota",
    "could not extend file",
    "database or disk is full",
    "not enough space on the disk",
];

/// `run.errors_say_disk_full`: one of the service's new error signatures says a disk is
/// full. Present when the logs named the new signatures.
pub fn errors_say_disk_full(facts: &mut FactSet) {
    let Some(messages) = facts.get("logs.new_signature_messages").cloned() else { return };
    let says = texts(&messages.value).any(|message| {
        let message = message.to_lowercase();
        DISK_FULL.iter().any(|phrase| message.contains(phrase))
    });
    facts.derive("run.errors_say_disk_full", FactValue::Bool(says), messages.from);
}

/// How many sessions must queue behind one transaction before the lock is the incident.
const LOCK_QUEUE: f64 = 5.0;

/// `run.lock_predates_rollout`: at least five sessions wait behind a root blocker whose
/// transaction has been open since before the latest rollout and runs no DDL (a
/// migration's DDL is the rollout's own doing). Such a lock was there before the new
/// revision: the revision met it, it did not make it. Present when the lock tree and the
/// rollout's time are both known.
pub fn lock_predates_rollout(facts: &mut FactSet) {
    let (Some(blocked), Some(open_secs), Some(rollout_minutes)) = (
        facts.number("postgres.blocked_sessions"),
        facts.number("postgres.root_blocker_longest_xact_secs"),
        facts.number("kubernetes.minutes_since_rollout"),
    ) else {
        return;
    };
    let ddl = matches!(
        facts.get("postgres.root_blocker_runs_ddl").map(|m| &m.value),
        Some(FactValue::Bool(true))
    );
    let predates = blocked >= LOCK_QUEUE && open_secs > 60.0 * rollout_minutes && !ddl;
    let from = facts.get("postgres.root_blocker_longest_xact_secs").map(|m| m.from.clone());
    facts.derive("run.lock_predates_rollout", FactValue::Bool(predates), from.unwrap_or_default());
}

fn texts(value: &FactValue) -> impl Iterator<Item = &String> {
    let list: &[FactValue] = match value {
        FactValue::List(items) => items,
        _ => &[],
    };
    list.iter().filter_map(|v| match v {
        FactValue::Text(t) => Some(t),
        _ => None,
    })
}

fn is_connectivity(error: &str) -> bool {
    let lower = error.to_lowercase();
    CONNECTIVITY.iter().any(|w| lower.contains(w))
}

/// Lowercase alphanumeric words of three letters or more.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() >= 3)
        .map(str::to_lowercase)
        .collect()
}

fn has_word(text: &str, word: &str) -> bool {
    words(text).contains(word)
}

/// Whether a component's error text is the error of a new-signature event: at least 80%
/// of its words (and at least two) are in the event's example line or signature.
fn same_error(error: &str, entry: &TimelineEntry) -> bool {
    let mine = words(error);
    if mine.len() < 2 {
        return false;
    }
    let mut theirs = words(&entry.title);
    for t in [entry.detail.as_deref(), entry.signature.as_deref()].into_iter().flatten() {
        theirs.extend(words(t));
    }
    let shared = mine.intersection(&theirs).count();
    shared * 5 >= mine.len() * 4
}

/// How many standard deviations a count must stand above what the baseline's rate
/// predicts before it is a rise and not the baseline's own noise (two Poisson counts:
/// `(window − expected) / √(window + expected)`).
const RISE_SIGMAS: f64 = 3.0;

/// Whether `count` errors, where the baseline's rate predicts `count / ratio`, is a rise of
/// at least `at_least`× that stands out of the noise.
pub fn rose(count: f64, ratio: f64, at_least: f64) -> bool {
    if ratio < at_least || count <= 0.0 {
        return false;
    }
    let expected = count / ratio;
    (count - expected) / (count + expected).sqrt() >= RISE_SIGMAS
}

/// The chance that the baseline's noise alone makes one of the signatures tested
/// together rise as far as it did, below which a signature's rise counts: that of a count
/// 3σ above its expected value (one-sided).
const SIGNATURE_NOISE_CHANCE: f64 = 0.00135;

/// Whether one of `signatures` (count in the window, count in the baseline, and the
/// window's rate against the baseline's, a baseline of 0 counting as 1) rose by at least
/// 3×, beyond what one steady rate gives by chance: with `n` errors of a signature in the
/// window and baseline together, and the window `q` of the time the two cover, the chance
/// that `count` or more of them fall in the window is the binomial tail (the exact test of
/// two Poisson counts). The more signatures a log holds, the likelier one of them jumps
/// by chance, so that chance must be below [`SIGNATURE_NOISE_CHANCE`] divided by their
/// number (Bonferroni): a background error seen once in the baseline and 13 times in the
/// window, beside two other signatures, is noise; 40 of a new one is not.
fn a_signature_rose(signatures: &[(u64, u64, f64)]) -> bool {
    let tests = signatures.len().max(1) as f64;
    signatures.iter().any(|&(count, baseline, ratio)| {
        if ratio < 3.0 || count == 0 {
            return false;
        }
        // The ratio counts a baseline of 0 as 1 error: what the window's length is
        // against the baseline's follows from it.
        let window_per_baseline = count as f64 / ratio / baseline.max(1) as f64;
        let q = window_per_baseline / (1.0 + window_per_baseline);
        let Ok(split) = Binomial::new(q, count + baseline) else { return false };
        split.sf(count - 1) < SIGNATURE_NOISE_CHANCE / tests
    })
}

/// `run.error_rate_up`: the errors rose against the baseline by at least 2× in all, or one
/// signature (new, or one the baseline had) by at least 3×, and the rise stands out of the
/// baseline's noise: 12 background errors then 24 is a doubled ratio and no signal; 2
/// then 87 is, and so are 16 of a new signature over steady background errors (see
/// [`a_signature_rose`]). Present when the logs reach into the baseline. Without `logs`
/// evidence, the pods' logs the `kubernetes` kind read (`kubernetes.pod_log_*`, through
/// the same analysis) measure it; without either, a Prometheus `error_ratio` query
/// measured against its baseline says it: up when it left the baseline (a sustained rise
/// past 1.5× and the baseline's noise, see the `prometheus` kind) or doubled.
pub fn error_rate_up(facts: &mut FactSet, records: &[CollectorRecord], refs: &mut DerivedRefs) {
    let (count, ratio, ratio_fact) = match (
        facts.number("logs.error_count"),
        facts.number("logs.error_rate_ratio"),
        facts.number("kubernetes.pod_log_error_count"),
        facts.number("kubernetes.pod_log_error_rate_ratio"),
    ) {
        (Some(count), Some(ratio), _, _) => (count, ratio, "logs.error_rate_ratio"),
        (_, _, Some(count), Some(ratio)) if !facts.has_kind("logs") => {
            (count, ratio, "kubernetes.pod_log_error_rate_ratio")
        }
        _ => {
            metric_error_rate_up(facts, records, refs);
            return;
        }
    };
    let signatures: Vec<(u64, u64, f64)> =
        error_signatures(records, ratio_fact.starts_with("kubernetes."))
            .map(|s| {
                let field = |key: &str| s.get(key).and_then(serde_json::Value::as_u64);
                let ratio = s.get("rate_ratio").and_then(serde_json::Value::as_f64);
                (
                    field("count").unwrap_or(0),
                    field("baseline_count").unwrap_or(0),
                    ratio.unwrap_or(0.0),
                )
            })
            .collect();
    let up = rose(count, ratio, 2.0) || a_signature_rose(&signatures);
    let from = facts.get(ratio_fact).map(|m| m.from.clone()).unwrap_or_default();
    facts.derive("run.error_rate_up", FactValue::Bool(up), from);
}

/// `run.error_rate_up` from a Prometheus `error_ratio` query, when there are no logs.
fn metric_error_rate_up(facts: &mut FactSet, records: &[CollectorRecord], refs: &mut DerivedRefs) {
    const ONSET: &str = "prometheus.error_ratio_onset_offset_secs";
    const RATIO: &str = "prometheus.error_ratio_ratio";
    let measured = [ONSET, RATIO, "prometheus.error_ratio_baseline"];
    let Some(source) = measured.iter().find_map(|name| facts.get(name).map(|m| (*name, m.clone())))
    else {
        return;
    };
    let ratio = facts.number(RATIO);
    let up = facts.get(ONSET).is_some() || ratio.is_some_and(|r| r >= 2.0);
    let cited = if up && facts.get(ONSET).is_some() { ONSET } else { source.0 };
    let from = facts.get(cited).map_or(source.1.from, |m| m.from.clone());
    refs.insert("run.error_rate_up".into(), fact_refs(records, &from, cited));
    facts.derive("run.error_rate_up", FactValue::Bool(up), from);
}

/// Refs to fact `name` in the evidence of `records[i]` for each `i` of `from`.
fn fact_refs(records: &[CollectorRecord], from: &[usize], name: &str) -> Vec<EvidenceRef> {
    from.iter()
        .filter_map(|&i| records.get(i))
        .map(|r| EvidenceRef::into_record(r, format!("/facts/{name}")))
        .collect()
}

/// The error signatures of the logs evidence (`data.signatures` of each `logs` record),
/// or with `pods` those of the pods' logs the `kubernetes` records read.
fn error_signatures(
    records: &[CollectorRecord],
    pods: bool,
) -> impl Iterator<Item = &serde_json::Value> {
    records
        .iter()
        .filter(|r| r.status().has_evidence())
        .filter_map(move |r| match (pods, r.kind.as_str()) {
            (false, "logs") => Some(&r.evidence.data),
            (true, "kubernetes") => pod_log_analysis(r),
            _ => None,
        })
        .filter_map(|data| data.get("signatures")?.as_array())
        .flatten()
}

/// The analysis of the pods' logs of the Deployment a `kubernetes` record's facts
/// describe (`data.deployments[N].pod_logs.analysis`, where `data.facts_deployment`
/// names it): the shape of a `logs` record's `data` (series, signatures, first error).
pub fn pod_log_analysis(record: &CollectorRecord) -> Option<&serde_json::Value> {
    let data = &record.evidence.data;
    let described = data.get("facts_deployment")?.as_str()?;
    data.get("deployments")?
        .as_array()?
        .iter()
        .find(|d| {
            let part = |key: &str| d.get(key).and_then(serde_json::Value::as_str).unwrap_or("");
            format!("{}/{}", part("namespace"), part("name")) == described
        })?
        .pointer("/pod_logs/analysis")
        .filter(|a| !a.is_null())
}

/// `run.onset_offset_secs`: seconds from the anchor to when what is new began — the first
/// error of a signature the baseline never had; without one, where a Prometheus
/// `error_ratio` query left its baseline, or where the alert's own expression began to
/// hold. Background errors at their usual rate
/// say nothing about when an incident began. When the logs do not reach into the
/// baseline, nothing can be told new: the onset is then the first appearance of the
/// window's most frequent signature (the incident's dominant error), not of the first
/// error of any kind. Absent when the baseline was read and nothing in it is new. Without
/// `logs` evidence, the first new error of the pods' logs (`kubernetes`) is the onset.
pub fn onset(
    facts: &mut FactSet,
    records: &[CollectorRecord],
    timeline: &Timeline,
    refs: &mut DerivedRefs,
) {
    const NAME: &str = "run.onset_offset_secs";
    if let Some(first_new) = facts.get("logs.first_new_error_offset_secs").cloned() {
        facts.derive(NAME, first_new.value, first_new.from);
        return;
    }
    // Then the metrics: where the error ratio left its baseline, else where the alert's
    // own condition began to hold. Both are exact to the query's step, and say when the
    // incident began even when no error is new (a known error, many times as often).
    for metric in ["prometheus.error_ratio_onset_offset_secs", "prometheus.alert_onset_offset_secs"]
    {
        if let Some(onset) = facts.get(metric).cloned() {
            refs.insert(NAME.into(), fact_refs(records, &onset.from, metric));
            facts.derive(NAME, onset.value, onset.from);
            return;
        }
    }
    if facts.get("logs.new_error_count").is_some() {
        return;
    }
    if !facts.has_kind("logs") {
        const PODS: &str = "kubernetes.pod_log_first_new_error_offset_secs";
        if let Some(first_new) = facts.get(PODS).cloned() {
            let pointer = format!("/facts/{PODS}");
            let cited = first_new
                .from
                .iter()
                .map(|&i| EvidenceRef::into_record(&records[i], pointer.clone()));
            refs.insert(NAME.into(), cited.collect());
            facts.derive(NAME, first_new.value, first_new.from);
        }
        return;
    }
    let dominant = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == "logs" && r.status().has_evidence())
        .filter_map(|(i, r)| Some((i, r.evidence.data.get("signatures")?.as_array()?)))
        .flat_map(|(i, signatures)| signatures.iter().enumerate().map(move |(j, s)| (i, j, s)))
        .filter_map(|(i, j, s)| {
            let count = s.get("count")?.as_i64()?;
            let first_seen: chrono::DateTime<chrono::Utc> =
                s.get("first_seen")?.as_str()?.parse().ok()?;
            Some((count, i, j, first_seen))
        })
        .max_by_key(|(count, _, _, first_seen)| (*count, std::cmp::Reverse(*first_seen)));
    if let Some((_, i, j, first_seen)) = dominant {
        let offset = (first_seen - timeline.anchor).num_seconds();
        facts.derive(NAME, FactValue::Int(offset), vec![i]);
        refs.insert(
            NAME.into(),
            vec![EvidenceRef::into_record(&records[i], format!("/data/signatures/{j}"))],
        );
    }
}

/// `run.onset_earliest_offset_secs`: the earliest the incident can have begun, in seconds
/// from the anchor (negative before it). Where the onset was found
/// (`run.onset_offset_secs`), that. Where nothing read could tell it — no logs, no pods'
/// logs, no metric onset — the window's start: the window is chosen to hold the
/// incident's beginning, so a change up to an hour before it may still be what began it.
/// Absent when logs were read and nothing in them is new: then there is no onset to
/// bound.
pub fn onset_earliest(facts: &mut FactSet, records: &[CollectorRecord], timeline: &Timeline) {
    const NAME: &str = "run.onset_earliest_offset_secs";
    if let Some(onset) = facts.get("run.onset_offset_secs").cloned() {
        facts.derive(NAME, onset.value, onset.from);
        return;
    }
    let read_logs = facts.has_kind("logs") || facts.get("kubernetes.pod_log_error_count").is_some();
    if read_logs {
        return;
    }
    let start = (timeline.window.start - timeline.anchor).num_seconds().min(0);
    let from = (0..records.len()).collect();
    facts.derive(NAME, FactValue::Int(start), from);
}

/// `run.symptoms`: what users feel in this run, each judged against the baseline where
/// there is one (see [`super::rule::SYMPTOMS`]). Causes are changes of state; these are
/// not causes, and a hypothesis is weighed by how many of them its cause explains.
pub fn symptoms(facts: &mut FactSet) {
    let list_len = |name: &str| match facts.get(name).map(|m| &m.value) {
        Some(FactValue::List(items)) => items.len(),
        _ => 0,
    };
    let above = |name: &str, at_least: f64| facts.number(name).is_some_and(|v| v >= at_least);
    let status_5xx = facts.number("logs.status_5xx_ratio").is_some_and(|r| {
        r >= 0.05 && facts.number("logs.status_5xx_baseline_ratio").is_none_or(|b| r >= 2.0 * b)
    });
    // Over the whole window, or over its last minutes: a slowdown that began late is
    // diluted in the window's p95 by the normal requests before it.
    let slower = |now: Option<f64>| match (now, facts.number("logs.latency_p95_baseline_ms")) {
        (Some(now), Some(before)) => now >= 1.5 * before && now >= 100.0,
        _ => false,
    };
    let latency = slower(facts.number("logs.latency_p95_ms"))
        || slower(facts.number("logs.latency_p95_recent_ms"));
    // A Prometheus `latency_p95` query that left its baseline (a sustained rise past 1.5×
    // and the baseline's noise) or stands at 1.5× it.
    let latency = latency
        || facts.get("prometheus.latency_p95_onset_offset_secs").is_some()
        || above("prometheus.latency_p95_ratio", 1.5);
    let found: Vec<(&str, bool)> = vec![
        (
            "error_rate",
            matches!(facts.get("run.error_rate_up").map(|m| &m.value), Some(FactValue::Bool(true))),
        ),
        (
            "new_errors",
            above("logs.new_error_count", 1.0)
                || above("kubernetes.pod_log_new_error_count", 1.0)
                || matches!(
                    facts.get("kubernetes.errors_only_on_new_revision").map(|m| &m.value),
                    Some(FactValue::Bool(true))
                ),
        ),
        ("status_5xx", status_5xx),
        ("latency", latency),
        ("health_failing", above("http.failing_probes", 1.0)),
        ("components_down", list_len("http.components_down") > 0),
        (
            "crash_loop",
            above("kubernetes.crashloop_pods", 1.0) || above("kubernetes.oom_kills_in_window", 1.0),
        ),
        ("lock_waits", above("postgres.blocked_sessions", 1.0)),
        ("connections", above("postgres.connections_used_ratio", 0.9)),
    ];
    let symptoms: Vec<FactValue> =
        found.into_iter().filter(|(_, present)| *present).map(|(s, _)| s.into()).collect();
    facts.derive("run.symptoms", FactValue::List(symptoms), Vec::new());
}

/// The names in a list fact.
pub fn names(facts: &FactSet, name: &str) -> Vec<String> {
    facts.get(name).map_or_else(Vec::new, |m| texts(&m.value).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(count, baseline_count, rate_ratio)` of a signature seen `count` times in a window
    /// `window_per_baseline` as long as the baseline it saw `baseline` in, as the logs
    /// collector reports it (a baseline of 0 counts as 1 error).
    fn seen(count: u64, baseline: u64, window_per_baseline: f64) -> (u64, u64, f64) {
        (count, baseline, count as f64 / (baseline.max(1) as f64 * window_per_baseline))
    }

    #[test]
    fn a_jump_that_stands_alone_counts_and_one_among_several_is_noise() {
        let jump = seen(13, 1, 1.0);
        assert!(a_signature_rose(&[jump]));
        assert!(!a_signature_rose(&[jump, seen(9, 8, 1.0), seen(4, 5, 1.0)]));
    }

    #[test]
    fn new_errors_and_real_rises_count_however_many_signatures_there_are() {
        let quiet = [seen(9, 8, 1.0), seen(4, 5, 1.0), seen(20, 23, 1.0), seen(2, 1, 1.0)];
        for rise in
            [seen(16, 0, 1.0), seen(300, 100, 1.0), seen(40, 3, 1.0), seen(12, 40, 1.0 / 48.0)]
        {
            let mut signatures = quiet.to_vec();
            signatures.push(rise);
            assert!(a_signature_rose(&signatures), "{rise:?} among {quiet:?}");
        }
    }

    #[test]
    fn rises_under_three_times_never_count() {
        assert!(!a_signature_rose(&[seen(250, 100, 1.0)]));
        assert!(!a_signature_rose(&[seen(29, 10, 1.0)]));
        assert!(!a_signature_rose(&[]));
    }

    /// Background errors at one steady rate, split at random between a window and a
    /// baseline as long: over thousands of logs of one to six signatures, a rise is seen
    /// in about as few as the 3σ chance allows (0.135 % of logs), whatever the number of
    /// signatures and their rates.
    #[test]
    fn steady_background_errors_rarely_count_as_a_rise() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let logs = 20_000;
        let mut rose = 0;
        for _ in 0..logs {
            let signatures: Vec<_> = (0..1 + next() % 6)
                .map(|_| {
                    let total = 2 + next() % 60;
                    let window = (0..total).filter(|_| next() % 2 == 0).count() as u64;
                    seen(window, total - window, 1.0)
                })
                .collect();
            rose += usize::from(a_signature_rose(&signatures));
        }
        assert!(rose * 1000 <= logs * 2, "{rose} of {logs} logs of steady errors rose");
    }
}
