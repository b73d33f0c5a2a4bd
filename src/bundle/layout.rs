//! The layout of a bundle: every file name it holds and the schema of the evidence record
//! (`evidence/<kind>-<name>.json`). The writer, the readers, the reports, the timeline and
//! the rules name bundle files only through this module, so that the layout is changed
//! in one place and a reader and a writer can never disagree about it. It also says which
//! names a bundle may hold at all, and how a bundle directory is named.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use witness_collector::{Evidence, Status};

/// Whether `name` can be part of a bundle path: 1-64 characters of `a-z A-Z 0-9 . _ -`,
/// not starting with a dot.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Whether `path` is a safe relative path inside a bundle: `/`-separated safe names.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(is_safe_name)
}

/// A new bundle id: `<YYYYMMDDTHHMMSSZ>-<6 hex>`.
pub fn new_id(at: DateTime<Utc>) -> String {
    format!("{}-{:06x}", at.format("%Y%m%dT%H%M%SZ"), rand::random::<u32>() & 0xff_ffff)
}

/// The manifest: every file with its hash, and the root hash.
pub const MANIFEST: &str = "manifest.json";
/// The ed25519 signature of the manifest's exact bytes.
pub const SIGNATURE: &str = "manifest.sig";
/// The normalized trigger and its raw payload.
pub const TRIGGER: &str = "trigger.json";
/// Every event, merged and sorted.
pub const TIMELINE: &str = "timeline.json";
/// The ranked hypotheses and the rules that could not be evaluated.
pub const HYPOTHESES: &str = "hypotheses.json";
/// The run's severity, its reasons and the alert's own label.
pub const SEVERITY: &str = "severity.json";
/// Of a follow-up bundle only: the incident it checks, its checks and the durations.
pub const FOLLOW_UP: &str = "follow-up.json";
/// The postmortem evidence appendix.
pub const REPORT_MD: &str = "report.md";
/// The same as one self-contained page.
pub const REPORT_HTML: &str = "report.html";
/// `<store>/<id>.addendum.jsonl`, beside the sealed bundle `<id>` and never inside it:
/// the alerts that reached its run after the seal, one JSON line each.
pub fn addendum_file(store: &std::path::Path, id: &str) -> std::path::PathBuf {
    store.join(format!("{id}.addendum.jsonl"))
}

/// The directory of the evidence records and their raw artifacts.
pub const EVIDENCE_DIR: &str = "evidence";

/// `evidence/<kind>-<name>.json`: a collector instance's record.
pub fn evidence_file(kind: &str, name: &str) -> String {
    format!("{}.json", artifact_dir(kind, name))
}

/// `evidence/<kind>-<name>`: where a collector instance's raw artifacts go.
pub fn artifact_dir(kind: &str, name: &str) -> String {
    format!("{EVIDENCE_DIR}/{kind}-{name}")
}

/// `<kind>-<name>` of a path under `evidence/` (`evidence/logs-app.json` → `logs-app`),
/// the instance a ref into the evidence points at; `None` for other files.
pub fn evidence_stem(file: &str) -> Option<&str> {
    let rest = file.strip_prefix(EVIDENCE_DIR)?.strip_prefix('/')?;
    Some(rest.strip_suffix(".json").unwrap_or(rest))
}

/// What the run knows about one collector instance; this is `evidence/<kind>-<name>.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorRecord {
    pub kind: String,
    pub name: String,
    #[serde(with = "witness_collector::time::millis")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// Why the collector failed, timed out or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many values each redaction rule replaced in what this collector read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "counts")]
    pub redactions: BTreeMap<String, u64>,
    #[serde(flatten)]
    pub evidence: Evidence,
}

/// Redaction counts as read back from a sealed record. The seal's last scan reads a
/// count under a rule whose name looks like a secret's key (`key_value_secret: 2`) as a
/// secret, and writes a token in its place: such an entry is left out here (the
/// manifest, which the scan does not rewrite, keeps every count), rather than making the
/// whole bundle unreadable.
fn counts<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, u64>, D::Error> {
    let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    Ok(raw.into_iter().filter_map(|(rule, n)| Some((rule, n.as_u64()?))).collect())
}

impl CollectorRecord {
    pub fn status(&self) -> Status {
        self.evidence.status
    }

    /// `evidence/<kind>-<name>.json`
    pub fn evidence_path(&self) -> String {
        evidence_file(&self.kind, &self.name)
    }

    /// `evidence/<kind>-<name>/`, where its raw artifacts go.
    pub fn artifact_dir(&self) -> String {
        artifact_dir(&self.kind, &self.name)
    }

    /// Where its raw artifact `path` (as the collector named it) sits in the bundle.
    pub fn artifact_path(&self, path: &str) -> String {
        format!("{}/{path}", self.artifact_dir())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_paths_and_their_stems() {
        assert_eq!(evidence_file("logs", "app"), "evidence/logs-app.json");
        assert_eq!(artifact_dir("logs", "app"), "evidence/logs-app");
        assert_eq!(evidence_stem("evidence/logs-app.json"), Some("logs-app"));
        assert_eq!(evidence_stem("evidence/logs-app/excerpt.log"), Some("logs-app/excerpt.log"));
        assert_eq!(evidence_stem(TRIGGER), None);
    }

    /// Issue 18: the incident bundle of a follow-up could not be read back ("invalid type:
    /// string \"[REDACTED:key_value_secret:3d40]\", expected u64"): the seal had tokenized
    /// the count of the `key_value_secret` rule in the kubernetes record.
    #[test]
    fn a_record_whose_count_the_seal_tokenized_still_reads() {
        let text = r#"{"kind":"kubernetes","name":"prod","started_at":"2025-11-19T21:00:00.000Z",
            "finished_at":"2025-11-19T21:00:01.000Z","duration_ms":1000,
            "redactions":{"key_value_secret":"[REDACTED:key_value_secret:3d40]","bearer":2},
            "status":"ok","summary":"web","facts":{},"events":[],"notes":[],"data":null}"#;
        let record: CollectorRecord = serde_json::from_str(text).unwrap();
        assert_eq!(record.redactions, BTreeMap::from([("bearer".to_owned(), 2)]));
    }

    #[test]
    fn names_that_could_escape_are_not_safe() {
        for bad in ["", "..", ".hidden", "a/b", "a\\b", "a b", "é", &"x".repeat(65)] {
            assert!(!is_safe_name(bad), "{bad:?}");
        }
        assert!(is_safe_name("logs-app_1.json"));
        assert!(is_safe_path("evidence/logs-app/excerpt.log"));
        assert!(!is_safe_path("evidence/../manifest.json"));
        assert!(!is_safe_path("/etc/passwd"));
    }
}
