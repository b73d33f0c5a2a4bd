//! The current revision's pods against the older revisions' pods a rollout left running:
//! the older pods are a control group. Errors only the current revision's pods log (of a
//! signature no older pod logged, in the window or the baseline) came with the new
//! revision, strong evidence for a bad deploy; the same errors on both revisions are not
//! its doing. Also the per-revision counts `data.deployments[N].pod_logs.revisions` shows.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{Event, Redacted, Severity};
use witness_log_analysis::Tally;

use super::plan::Plan;

/// Signatures listed per pod and per revision.
pub const TOP_SIGNATURES: usize = 5;
/// Signatures named in the comparison of revisions (and its fact).
const MAX_COMPARED: usize = 20;

/// A signature and how often it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCount {
    pub signature: Redacted,
    pub count: u64,
    pub baseline_count: u64,
}

/// One revision's pods and their errors.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionLogs {
    pub revision: Option<i64>,
    pub current: bool,
    pub pods: Vec<String>,
    pub errors: u64,
    pub baseline_errors: u64,
    pub signatures: Vec<SignatureCount>,
}

/// The current revision's pods against those of the older revisions still running.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub current_revision: i64,
    pub older_revisions: Vec<i64>,
    /// Errors in the window on the current revision's pods, and on the older ones'.
    pub current_errors: u64,
    pub older_errors: u64,
    /// Signatures the current revision's pods logged in the window and the older
    /// revisions' pods never did (window or baseline).
    pub only_on_current: Vec<Redacted>,
    /// Signatures both logged in the window.
    pub on_both: Vec<Redacted>,
}

/// How often a group of logs had one signature.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    count: u64,
    baseline_count: u64,
    first_seen: Option<DateTime<Utc>>,
}

/// The counts of a group of logs (a pod, a revision).
#[derive(Default)]
pub struct Counts {
    pub errors: u64,
    pub baseline_errors: u64,
    /// Logs added.
    pub logs: usize,
    signatures: HashMap<Redacted, Seen>,
}

impl Counts {
    pub fn add(&mut self, tally: &Tally) {
        self.logs += 1;
        self.errors += tally.errors;
        self.baseline_errors += tally.baseline_errors;
        for (signature, s) in &tally.signatures {
            let seen = self.signatures.entry(signature.clone()).or_default();
            seen.count += s.count;
            seen.baseline_count += s.baseline_count;
            seen.first_seen = match (seen.first_seen, s.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    pub fn top(&self, n: usize) -> Vec<SignatureCount> {
        let mut all: Vec<SignatureCount> = self
            .signatures
            .iter()
            .filter(|(_, seen)| seen.count > 0)
            .map(|(signature, seen)| SignatureCount {
                signature: signature.clone(),
                count: seen.count,
                baseline_count: seen.baseline_count,
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.signature.cmp(&b.signature)));
        all.truncate(n);
        all
    }

    /// The signatures seen in the window.
    fn in_window(&self) -> BTreeSet<&Redacted> {
        self.signatures.iter().filter(|(_, seen)| seen.count > 0).map(|(s, _)| s).collect()
    }
}

/// The counts per revision, newest first, as `data` lists them.
pub fn revisions(
    counts: &BTreeMap<Option<i64>, Counts>,
    plan: &Plan,
    current_revision: Option<i64>,
) -> Vec<RevisionLogs> {
    counts
        .iter()
        .rev()
        .map(|(revision, counts)| RevisionLogs {
            revision: *revision,
            current: revision.is_some() && *revision == current_revision,
            pods: plan
                .pods
                .iter()
                .filter(|p| p.revision == *revision)
                .map(|p| p.name.clone())
                .collect(),
            errors: counts.errors,
            baseline_errors: counts.baseline_errors,
            signatures: counts.top(TOP_SIGNATURES),
        })
        .collect()
}

/// The current revision's pods against the older revisions' pods, when both were read.
pub fn compare(
    revisions: &BTreeMap<Option<i64>, Counts>,
    current_revision: Option<i64>,
) -> Option<Comparison> {
    let current_revision = current_revision?;
    let current = revisions.get(&Some(current_revision)).filter(|c| c.logs > 0)?;
    let older: Vec<(i64, &Counts)> = revisions
        .iter()
        .filter_map(|(r, c)| Some(((*r)?, c)))
        .filter(|(r, c)| *r != current_revision && c.logs > 0)
        .collect();
    if older.is_empty() {
        return None;
    }
    let seen_before: BTreeSet<&Redacted> = older
        .iter()
        .flat_map(|(_, c)| {
            c.signatures.iter().filter(|(_, seen)| seen.count + seen.baseline_count > 0)
        })
        .map(|(s, _)| s)
        .collect();
    let older_window: BTreeSet<&Redacted> = older.iter().flat_map(|(_, c)| c.in_window()).collect();
    let by_count = |set: Vec<&Redacted>| {
        let mut set: Vec<(&Redacted, u64)> =
            set.into_iter().map(|s| (s, current.signatures.get(s).map_or(0, |c| c.count))).collect();
        set.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        set.into_iter().take(MAX_COMPARED).map(|(s, _)| s.clone()).collect::<Vec<_>>()
    };
    let mine = current.in_window();
    Some(Comparison {
        current_revision,
        older_revisions: older.iter().map(|(r, _)| *r).collect(),
        current_errors: current.errors,
        older_errors: older.iter().map(|(_, c)| c.errors).sum(),
        only_on_current: by_count(mine.iter().copied().filter(|s| !seen_before.contains(s)).collect()),
        on_both: by_count(mine.iter().copied().filter(|s| older_window.contains(s)).collect()),
    })
}

/// The timeline event of errors only on the current revision's pods, when the first of
/// them was logged.
pub fn comparison_event(c: &Comparison, current: &Counts, key: &str, base: &str) -> Option<Event> {
    let top = c.only_on_current.first()?;
    let first = c
        .only_on_current
        .iter()
        .filter_map(|s| current.signatures.get(s)?.first_seen)
        .min()?;
    let more = match c.only_on_current.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let older: Vec<String> = c.older_revisions.iter().map(ToString::to_string).collect();
    Some(
        Event::new(
            first,
            "revision_errors",
            format!("Errors only on revision {}'s pods of {key}: {top}{more}", c.current_revision),
        )
        .detail(format!(
            "revision {}: {} errors in the window; revision(s) {}: {} errors, none of these signatures",
            c.current_revision,
            c.current_errors,
            older.join(", "),
            c.older_errors
        ))
        .severity(Severity::Critical)
        .signature(format!("revision_errors:{key}:{}", c.current_revision))
        .pointer(format!("{base}/comparison")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts of one log with `(signature, window count, baseline count)`.
    fn counts(seen: &[(&str, u64, u64)]) -> Counts {
        let mut c = Counts { logs: 1, ..Counts::default() };
        for (signature, count, baseline_count) in seen {
            c.errors += count;
            c.baseline_errors += baseline_count;
            let first_seen = DateTime::from_timestamp(1_763_586_000 + *count as i64, 0);
            c.signatures.insert(
                Redacted::generated(*signature),
                Seen { count: *count, baseline_count: *baseline_count, first_seen },
            );
        }
        c
    }

    #[test]
    fn a_signature_the_older_pods_logged_even_in_the_baseline_is_not_the_new_revisions() {
        let revisions = BTreeMap::from([
            (Some(4), counts(&[("column missing", 5, 0), ("timeout", 2, 0), ("cache miss", 1, 0)])),
            (Some(3), counts(&[("timeout", 3, 1), ("cache miss", 0, 2)])),
        ]);
        let c = compare(&revisions, Some(4)).unwrap();
        assert_eq!(c.only_on_current, [Redacted::generated("column missing")]);
        assert_eq!(c.on_both, [Redacted::generated("timeout")], "cache miss: only in the baseline");
        assert_eq!((c.current_errors, c.older_errors, c.older_revisions.clone()), (8, 3, vec![3]));
        let event = comparison_event(&c, &revisions[&Some(4)], "prod/web", "/p").unwrap();
        assert_eq!(event.title, "Errors only on revision 4's pods of prod/web: column missing");
        assert_eq!(event.time, DateTime::from_timestamp(1_763_586_005, 0).unwrap());
    }

    #[test]
    fn without_an_older_revisions_log_there_is_nothing_to_compare() {
        let only_new = BTreeMap::from([(Some(4), counts(&[("boom", 1, 0)]))]);
        assert!(compare(&only_new, Some(4)).is_none());
        let unread_old = BTreeMap::from([
            (Some(4), counts(&[("boom", 1, 0)])),
            (Some(3), Counts::default()),
        ]);
        assert!(compare(&unread_old, Some(4)).is_none(), "a revision with no log read");
        assert!(compare(&only_new, None).is_none());
    }
}
