//! `follow-up.json`, what a follow-up seals beside its evidence: the incident it checked
//! (id and root hash), the resolution, the window after it, every check and the
//! durations; and the verdict every reader says of it.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::Window;

use super::check::{Check, CheckStatus};
use crate::run::durations::Durations;

/// The incident a follow-up checks, as its sealed bundle says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRef {
    pub id: String,
    pub root_sha256: String,
    /// The alert that started it.
    pub trigger: String,
    #[serde(with = "witness_collector::time::millis")]
    pub anchor: DateTime<Utc>,
    /// Its severity level, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Its top recommendation: `rollback: Bad deploy: ...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// When and by whom the incident was resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resolution {
    #[serde(with = "witness_collector::time::millis")]
    pub at: DateTime<Utc>,
    /// `alertmanager`, `grafana`, `pagerduty`, `generic`, or `manual` (`collect
    /// --follow-up`).
    pub source: String,
}

/// `follow-up.json`: the incident checked, the resolution, the window after it, every
/// check and the durations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    pub incident: IncidentRef,
    pub resolution: Resolution,
    pub window: Window,
    pub checks: Vec<Check>,
    pub durations: Durations,
}

/// How many checks ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub not_yet: usize,
    pub could_not_check: usize,
}

impl FollowUp {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for check in &self.checks {
            match check.status {
                CheckStatus::Passed => counts.passed += 1,
                CheckStatus::NotYet => counts.not_yet += 1,
                CheckStatus::CouldNotCheck => counts.could_not_check += 1,
            }
        }
        counts
    }

    /// The verdict in a few words: `fixed: every check passed`, `not yet: 2 of 5 checks
    /// still see the problem`, `partly checked: ...`.
    pub fn verdict(&self) -> String {
        let c = self.counts();
        let total = self.checks.len();
        if total == 0 {
            "nothing to check: the incident's bundle holds no evidence the follow-up can compare"
                .to_owned()
        } else if c.not_yet > 0 {
            format!("not yet: {} of {total} checks still see the problem", c.not_yet)
        } else if c.could_not_check > 0 {
            format!(
                "partly checked: {} passed, {} could not be checked",
                c.passed, c.could_not_check
            )
        } else {
            format!("fixed: every check passed ({total})")
        }
    }

    /// `3 passed, 1 not yet, 1 could not check`.
    pub fn summary(&self) -> String {
        let c = self.counts();
        format!("{} passed, {} not yet, {} could not check", c.passed, c.not_yet, c.could_not_check)
    }
}

/// `follow-up of <incident>: <verdict>` for the sealed bundle in `dir`, when it is a
/// follow-up (for listings, which read no more of it).
pub fn listing(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(dir.join(crate::bundle::layout::FOLLOW_UP)).ok()?;
    let follow_up: FollowUp = serde_json::from_slice(&bytes).ok()?;
    Some(format!("follow-up of {}: {}", follow_up.incident.id, follow_up.verdict()))
}
