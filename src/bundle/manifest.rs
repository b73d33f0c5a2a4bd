//! `manifest.json`: what the bundle is, what ran, and the hash of every file.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use witness_collector::{Status, Window};

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// How many values each redaction rule replaced in this file at sealing, behind the
    /// redaction where the text was read (counted per collector).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
}

/// One collector instance, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorEntry {
    pub kind: String,
    pub name: String,
    pub status: Status,
    #[serde(with = "witness_collector::time::millis")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub finished_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many values each redaction rule replaced in what this collector read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub redactions: BTreeMap<String, u64>,
}

/// What the manifest says of the trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerSummary {
    pub source: String,
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Another sealed bundle, named by its id and root hash: a follow-up names the incident
/// bundle it checks, which it never modifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRef {
    pub id: String,
    pub root_sha256: String,
}

/// A cut made to keep the bundle under its size cap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    pub path: String,
    pub original_bytes: u64,
    pub kept_bytes: u64,
}

/// `manifest.json`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    #[serde(with = "witness_collector::time::millis")]
    pub created_at: DateTime<Utc>,
    pub witness_version: String,
    pub host: String,
    pub trigger: TriggerSummary,
    #[serde(with = "witness_collector::time::millis")]
    pub anchor: DateTime<Utc>,
    pub window: Window,
    /// Of a follow-up: the incident bundle it checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follows: Option<BundleRef>,
    pub collectors: Vec<CollectorEntry>,
    pub files: Vec<FileEntry>,
    /// How many values each redaction rule replaced; never the values.
    pub redactions: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Truncation>,
    pub root_sha256: String,
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The root hash over `files` (sorted by path here, whatever their order).
pub fn root_hash(files: &[FileEntry]) -> String {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = Sha256::new();
    for f in sorted {
        hasher.update(f.path.as_bytes());
        hasher.update([0]);
        hasher.update(f.sha256.as_bytes());
        hasher.update([0]);
        hasher.update(f.bytes.to_string().as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_hash_does_not_depend_on_listing_order_but_on_every_field() {
        let entry = |path: &str, content: &[u8]| FileEntry {
            path: path.into(),
            sha256: sha256_hex(content),
            bytes: 1,
            redactions: BTreeMap::new(),
        };
        let (a, b) = (entry("a", b"x"), entry("b", b"y"));
        let root = root_hash(&[a.clone(), b.clone()]);
        assert_eq!(root, root_hash(&[b.clone(), a.clone()]));
        assert_ne!(root, root_hash(&[a.clone(), FileEntry { bytes: 2, ..b.clone() }]));
        assert_ne!(root, root_hash(&[a]));
    }
}
