//! The comparison every check of a follow-up shares: one collector instance before (in
//! the incident's bundle) and after (in the follow-up's, or why there is none), a check
//! made of what a comparison found, or `could_not_check` with the reason; and reading
//! facts off a record.

use witness_collector::{FactValue, Window};

use crate::bundle::layout::CollectorRecord;
use crate::run::follow_up::check::{Check, CheckKind, CheckStatus};
use crate::timeline::EvidenceRef;

/// One instance before (in the incident) and after (in the follow-up, or why not).
pub(super) struct Pair<'a> {
    pub before: &'a CollectorRecord,
    pub after: Result<&'a CollectorRecord, String>,
    pub window: Window,
}

/// What a comparison found: its status, what was seen, and where in the follow-up (fact
/// names, or pointers into its record). `Err`: why it could not tell.
pub(super) type Outcome = Result<(CheckStatus, String, Vec<String>), String>;

/// A comparison's answer, citing `refs` of the follow-up's record.
pub(super) fn found(status: CheckStatus, detail: String, refs: &[&str]) -> Outcome {
    Ok((status, detail, refs.iter().map(|r| (*r).to_owned()).collect()))
}

impl Pair<'_> {
    fn source(&self) -> String {
        format!("{}/{}", self.before.kind, self.before.name)
    }

    /// The check `check`, citing `cited` of the incident's record: `compare` answers when
    /// the follow-up has evidence of the instance; otherwise, or when `compare` says why
    /// it cannot tell, it is `could_not_check`.
    pub fn compare(
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
    pub fn unknown(&self, check: CheckKind, why: String, cited: &[&str]) -> Check {
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
pub(super) fn after_of<'a>(
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

pub(super) fn number(record: &CollectorRecord, fact: &str) -> Option<f64> {
    record.evidence.facts.get(fact).and_then(FactValue::as_f64)
}

pub(super) fn flag(record: &CollectorRecord, fact: &str) -> Option<bool> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::Bool(b)) => Some(*b),
        _ => None,
    }
}

pub(super) fn text(record: &CollectorRecord, fact: &str) -> Option<String> {
    match record.evidence.facts.get(fact) {
        Some(FactValue::Text(t)) => Some(t.clone()),
        _ => None,
    }
}

pub(super) fn texts(record: &CollectorRecord, fact: &str) -> Vec<String> {
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
