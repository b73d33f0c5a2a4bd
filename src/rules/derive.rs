//! Facts witness derives from several kinds at once (`run.*`), because no one collector
//! can see them: whether a component a health body reports down fails with the service's
//! own new error (then it is a symptom of the service, not a dependency that is down), and
//! whether the new errors name what a deployed migration changed. Each derived fact keeps
//! the evidence it came from, so a hypothesis that uses it still cites the bundle.

use std::collections::{BTreeMap, BTreeSet};

use witness_collector::FactValue;

use super::facts::FactSet;
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
    let words: BTreeSet<String> = texts(&paths.value)
        .flat_map(|p| {
            let file = p.rsplit('/').next().unwrap_or(p);
            file.split(|c: char| !c.is_ascii_alphanumeric())
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

/// `run.symptoms`: what users feel in this run, each judged against the baseline where
/// there is one (see [`super::rule::SYMPTOMS`]). Causes are changes of state; these are
/// not causes, and a hypothesis is weighed by how many of them its cause explains.
pub fn symptoms(facts: &mut FactSet) {
    let number = |name: &str| facts.get(name).and_then(|m| m.value.as_f64());
    let list_len = |name: &str| match facts.get(name).map(|m| &m.value) {
        Some(FactValue::List(items)) => items.len(),
        _ => 0,
    };
    let above = |name: &str, at_least: f64| number(name).is_some_and(|v| v >= at_least);
    let status_5xx = number("logs.status_5xx_ratio").is_some_and(|r| {
        r >= 0.05 && number("logs.status_5xx_baseline_ratio").is_none_or(|b| r >= 2.0 * b)
    });
    let latency = match (number("logs.latency_p95_ms"), number("logs.latency_p95_baseline_ms")) {
        (Some(now), Some(before)) => now >= 1.5 * before && now >= 100.0,
        _ => false,
    };
    let found: Vec<(&str, bool)> = vec![
        (
            "error_rate",
            above("logs.error_rate_ratio", 2.0) || above("logs.spiking_signatures", 1.0),
        ),
        ("new_errors", above("logs.new_error_count", 1.0)),
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
