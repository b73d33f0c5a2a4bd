//! What reaches a run after its seal: alerts of the same incident inside the cooldown
//! (Alertmanager sends the rest of a group `group_wait` later), resolutions and updates.
//! The sealed bundle is never touched: each is one JSON line appended to the bundle's
//! addendum beside it ([`crate::bundle::layout::addendum_file`]), fsync'ed before the
//! sender is answered, and signed when a signing key is configured. `witness show` lists
//! them. An addendum holds at most [`MAX_BYTES`]; past that, later alerts are only in
//! the journal and the metrics. Its alerts were redacted where their bodies were parsed,
//! like the journal's; the file is private to witness (mode 0600) like the journal.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::trigger::JoinedAlert;

/// The most an addendum grows to: a storm of late alerts must not fill the disk.
pub const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// One line of an addendum.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    #[serde(with = "witness_collector::time::millis")]
    pub recorded_at: DateTime<Utc>,
    /// `deduplicated` (firing again), `resolved` or `updated`.
    pub action: String,
    pub alert: JoinedAlert,
    /// The ed25519 signature (hex) of this line without `signature` (as compact JSON with
    /// its keys sorted), when a signing key is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// Appends `entries` to the addendum of bundle `id` in `store`, signed with `key`, and
/// syncs it.
///
/// # Errors
/// When the file cannot be written; a full addendum is not an error (it is skipped).
pub fn append(
    store: &Path,
    id: &str,
    entries: Vec<Entry>,
    key: Option<&SigningKey>,
) -> std::io::Result<()> {
    let path: PathBuf = crate::bundle::layout::addendum_file(store, id);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= MAX_BYTES) {
        tracing::warn!(
            bundle = id,
            "The addendum is full; the late alert stays in the journal only."
        );
        return Ok(());
    }
    let mut bytes = Vec::new();
    for mut entry in entries {
        entry.signature = match key {
            Some(key) => {
                let unsigned = signed_form(&entry).map_err(std::io::Error::other)?;
                Some(crate::bundle::sign::sign(key, &unsigned).trim_end().to_owned())
            }
            None => None,
        };
        serde_json::to_writer(&mut bytes, &entry).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
    }
    let mode = super::redaction::PRIVATE_MODE;
    let mut file = OpenOptions::new().create(true).append(true).mode(mode).open(&path)?;
    file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.write_all(&bytes)?;
    file.sync_data()
}

/// What the signature covers, a form anyone can rebuild from the line: its JSON without
/// `signature`, keys sorted, compact.
fn signed_form(entry: &Entry) -> serde_json::Result<Vec<u8>> {
    let unsigned = Entry { signature: None, ..entry.clone() };
    serde_json::to_vec(&serde_json::to_value(&unsigned)?)
}

/// Whether `entry` carries a valid signature by `key`.
pub fn is_signed_by(entry: &Entry, key: &VerifyingKey) -> bool {
    match (&entry.signature, signed_form(entry)) {
        (Some(signature), Ok(bytes)) => crate::bundle::sign::verify(key, &bytes, signature),
        _ => false,
    }
}

/// The entries of bundle `id`'s addendum (none when there is no addendum); unreadable
/// lines are skipped.
pub fn read(store: &Path, id: &str) -> Vec<Entry> {
    std::fs::read_to_string(crate::bundle::layout::addendum_file(store, id))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}
