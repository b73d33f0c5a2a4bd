//! `witness verify`: recomputes every file's hash, lists each modified, missing and
//! unexpected file by path, checks the root hash and, with a public key, the signature.
//! Works the same on a bundle directory and on its `.tar.gz`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;

use super::layout::{MANIFEST, SIGNATURE};
use super::manifest::{self, Manifest};
use super::{archive, sign};

/// One way a bundle differs from its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Modified(String),
    Missing(String),
    Unexpected(String),
    RootHashMismatch,
    SignatureMissing,
    SignatureInvalid,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Modified(p) => write!(f, "modified: {p}"),
            Problem::Missing(p) => write!(f, "missing: {p}"),
            Problem::Unexpected(p) => write!(f, "unexpected: {p}"),
            Problem::RootHashMismatch => {
                f.write_str("root hash: the manifest's file list does not match its root_sha256")
            }
            Problem::SignatureMissing => f.write_str("signature: manifest.sig is missing"),
            Problem::SignatureInvalid => {
                f.write_str("signature: manifest.sig does not match manifest.json with this key")
            }
        }
    }
}

/// The result of verifying a bundle.
#[derive(Debug)]
pub struct Verification {
    pub manifest: Manifest,
    pub problems: Vec<Problem>,
    /// Whether a signature was present, and checked when a key was given.
    pub signed: bool,
    pub signature_checked: bool,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why a bundle could not be verified at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{}: no such bundle directory or .tar.gz", .0.display())]
    NotFound(PathBuf),
    #[error("{}: cannot read: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: manifest.json is missing: this is not a witness bundle", .0.display())]
    NoManifest(PathBuf),
    #[error("{}: manifest.json is not a valid manifest: {source}", path.display())]
    BadManifest { path: PathBuf, source: serde_json::Error },
    #[error(
        "{}: not a directory or a regular file (a FIFO, a socket or a device): refusing to open it",
        .0.display()
    )]
    NotRegular(PathBuf),
    #[error("{}: the bundle holds more than {limit} bytes: refusing to read it", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

/// Reads every file of a bundle (directory or `.tar.gz`) into memory, by relative path.
/// Symbolic links in a directory are reported as files whose content is the link marker,
/// so they show up as unexpected or modified, and are never followed.
///
/// # Errors
/// [`VerifyError`] when the path does not exist or cannot be read, or is neither a
/// directory nor a regular file: a FIFO would block the reader forever, so it is refused
/// from its metadata, without opening it.
pub fn read_bundle(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, VerifyError> {
    let meta = fs::symlink_metadata(path).map_err(|_| VerifyError::NotFound(path.to_owned()))?;
    // An archive given through a link is read as what the link points to.
    let target = if meta.is_symlink() {
        fs::metadata(path).map_err(|_| VerifyError::NotFound(path.to_owned()))?
    } else {
        meta.clone()
    };
    if !meta.is_dir() && !target.is_file() {
        return Err(VerifyError::NotRegular(path.to_owned()));
    }
    if meta.is_dir() {
        let mut files = BTreeMap::new();
        let mut budget = archive::MAX_UNPACKED_BYTES;
        walk(path, path, &mut files, &mut budget)?;
        Ok(files)
    } else {
        Ok(archive::read(path)?)
    }
}

/// Reads `dir` into `files`, at most `budget` bytes in all, so a huge (or sparse) file
/// planted in a bundle cannot exhaust memory.
fn walk(
    root: &Path,
    dir: &Path,
    files: &mut BTreeMap<String, Vec<u8>>,
    budget: &mut u64,
) -> Result<(), VerifyError> {
    let err = |source| VerifyError::Read { path: dir.to_owned(), source };
    let mut entries: Vec<_> =
        fs::read_dir(dir).map_err(err)?.collect::<Result<_, _>>().map_err(err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(err)?;
        let relative = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if kind.is_dir() {
            walk(root, &path, files, budget)?;
        } else if kind.is_file() {
            let size = entry.metadata().map_err(err)?.len();
            *budget = budget.checked_sub(size).ok_or_else(|| VerifyError::TooLarge {
                path: root.to_owned(),
                limit: archive::MAX_UNPACKED_BYTES,
            })?;
            let bytes = fs::read(&path)
                .map_err(|source| VerifyError::Read { path: path.clone(), source })?;
            files.insert(relative, bytes);
        } else {
            files.insert(relative, b"\0witness: not a regular file\0".to_vec());
        }
    }
    Ok(())
}

/// Verifies the bundle at `path`.
///
/// # Errors
/// [`VerifyError`] when the bundle cannot be read or has no readable manifest; every
/// other difference is a [`Problem`] in the result.
pub fn verify(path: &Path, key: Option<&VerifyingKey>) -> Result<Verification, VerifyError> {
    verify_files(path, &read_bundle(path)?, key)
}

/// Verifies `files`, read from the bundle at `path` by [`read_bundle`]: what a reader
/// that goes on to use the files checks, so that what it verified is what it reads.
///
/// # Errors
/// See [`verify`].
pub fn verify_files(
    path: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    key: Option<&VerifyingKey>,
) -> Result<Verification, VerifyError> {
    let manifest_bytes =
        files.get(MANIFEST).ok_or_else(|| VerifyError::NoManifest(path.to_owned()))?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|source| VerifyError::BadManifest { path: path.to_owned(), source })?;
    let signature = files.get(SIGNATURE);

    let mut problems = Vec::new();
    for entry in &manifest.files {
        match files.get(&entry.path) {
            None => problems.push(Problem::Missing(entry.path.clone())),
            Some(bytes) => {
                if bytes.len() as u64 != entry.bytes || manifest::sha256_hex(bytes) != entry.sha256
                {
                    problems.push(Problem::Modified(entry.path.clone()));
                }
            }
        }
    }
    let listed: std::collections::BTreeSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).chain([MANIFEST, SIGNATURE]).collect();
    problems.extend(
        files.keys().filter(|p| !listed.contains(p.as_str())).cloned().map(Problem::Unexpected),
    );
    if manifest::root_hash(&manifest.files) != manifest.root_sha256 {
        problems.push(Problem::RootHashMismatch);
    }
    let signed = signature.is_some();
    if let Some(key) = key {
        match &signature {
            None => problems.push(Problem::SignatureMissing),
            Some(sig) => {
                if !sign::verify(key, manifest_bytes, &String::from_utf8_lossy(sig)) {
                    problems.push(Problem::SignatureInvalid);
                }
            }
        }
    }
    Ok(Verification { manifest, problems, signed, signature_checked: key.is_some() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sparse file far past the limit costs no disk, and must not be read into memory.
    #[test]
    fn a_planted_huge_file_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MANIFEST), "{}").unwrap();
        let huge = std::fs::File::create(dir.path().join("huge.log")).unwrap();
        huge.set_len(archive::MAX_UNPACKED_BYTES + 1).unwrap();
        let err = verify(dir.path(), None).unwrap_err();
        assert!(matches!(err, VerifyError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("refusing to read it"));
    }
}
