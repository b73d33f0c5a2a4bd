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

pub use layout::{MANIFEST, SIGNATURE, is_safe_name, is_safe_path, new_id};
pub use manifest::Manifest;
pub use writer::{BundleDraft, Content, WrittenBundle};
