//! Evidence bundles: the sealed, read-only directory a run leaves behind, its manifest of
//! per-file SHA-256 hashes and root hash, the optional ed25519 signature, the `.tar.gz`
//! export, and verification of both forms. [`layout`] names every file a bundle holds.
//!
//! The root hash is the SHA-256 of the manifest's file list sorted by path, one line per
//! file: `<path>\0<sha256 hex>\0<bytes>\n`. `manifest.sig` is the ed25519 signature of the
//! exact bytes of `manifest.json`, hex-encoded.

pub mod archive;
pub mod layout;
pub mod manifest;
pub mod sign;
pub mod store;
pub mod verify;
pub mod writer;

use chrono::{DateTime, Utc};

pub use layout::{MANIFEST, SIGNATURE};
pub use manifest::Manifest;
pub use writer::{BundleDraft, Content, WrittenBundle};

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

#[cfg(test)]
mod tests {
    use super::*;

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
