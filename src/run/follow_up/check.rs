//! What one check of a follow-up says: the question it answers ([`CheckKind`]), its
//! answer ([`CheckStatus`]: passed, not yet, could not check) and the evidence in both
//! bundles. The comparisons that make them are in [`super::checks`].

use serde::{Deserialize, Serialize};

use crate::timeline::EvidenceRef;

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    /// The follow-up still sees the problem.
    NotYet,
    /// The evidence to tell is missing: a collector failed, the logs went quiet, the
    /// incident's own evidence had no baseline. Never read as passed.
    CouldNotCheck,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::NotYet => "not_yet",
            CheckStatus::CouldNotCheck => "could_not_check",
        }
    }

    /// How reports say it.
    pub fn words(self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::NotYet => "not yet",
            CheckStatus::CouldNotCheck => "could not check",
        }
    }
}

/// What a check compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    ErrorRate,
    NewErrors,
    Status5xx,
    Latency,
    Health,
    Replicas,
    Action,
    Vendor,
    LockTree,
}

impl CheckKind {
    /// The question the check answers, as reports title it.
    pub fn title(self) -> &'static str {
        match self {
            CheckKind::ErrorRate => "errors back to the baseline",
            CheckKind::NewErrors => "the incident's new errors gone",
            CheckKind::Status5xx => "5xx back to the baseline",
            CheckKind::Latency => "latency back to the baseline",
            CheckKind::Health => "health checks passing",
            CheckKind::Replicas => "every replica available",
            CheckKind::Action => "the recommended action taken",
            CheckKind::Vendor => "the vendor's incident resolved",
            CheckKind::LockTree => "the lock tree gone",
        }
    }
}

/// One check of the follow-up against the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub check: CheckKind,
    /// The collector instance it compares, `<kind>/<name>`.
    pub source: String,
    pub status: CheckStatus,
    /// What was seen, before and after.
    pub detail: String,
    /// Where the incident bundle shows the problem.
    pub incident_evidence: Vec<EvidenceRef>,
    /// Where this bundle shows what is the case now.
    pub evidence: Vec<EvidenceRef>,
}
