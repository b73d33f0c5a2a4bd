//! The `.tar.gz` form of a bundle: export, and a careful reader for verification. The
//! reader trusts nothing in the archive: only regular files and directories under one top
//! directory, with safe relative names, within size limits; anything else is an error
//! that names the entry.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::layout::is_safe_path;

/// Most bytes an archive may unpack to before it is refused (a gzip bomb guard).
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;
/// Most entries an archive may hold.
pub const MAX_ENTRIES: usize = 100_000;

/// Why an archive could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{}: not a readable .tar.gz bundle: {source}", path.display())]
    Corrupt { path: PathBuf, source: std::io::Error },
    #[error("{}: entry {entry:?} {problem}", path.display())]
    Unsafe { path: PathBuf, entry: String, problem: String },
    #[error("{}: {problem}", path.display())]
    TooLarge { path: PathBuf, problem: String },
}

/// Writes `bundle_dir` as `out` (entries under `<bundle id>/`), atomically.
///
/// # Errors
/// [`ArchiveError::Write`] when the archive cannot be written.
pub fn export(bundle_dir: &Path, out: &Path) -> Result<(), ArchiveError> {
    let err = |source| ArchiveError::Write { path: out.to_owned(), source };
    let top = bundle_dir.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("bundle"));
    let staging = out.with_extension("tmp");
    let file = fs::File::create(&staging).map_err(err)?;
    let mut tar = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    tar.follow_symlinks(false);
    let result = tar
        .append_dir_all(&top, bundle_dir)
        .and_then(|()| tar.into_inner())
        .and_then(|gz| gz.finish())
        .and_then(|file| file.sync_all())
        .and_then(|()| fs::rename(&staging, out));
    if result.is_err() {
        let _ = fs::remove_file(&staging);
    }
    result.map_err(err)
}

/// Reads every file of a bundle archive into memory: paths relative to the bundle's top
/// directory.
///
/// # Errors
/// [`ArchiveError`] naming the entry for anything that is not a safe regular file or
/// directory, and for archives that are corrupt or too large.
pub fn read(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, ArchiveError> {
    let corrupt = |source| ArchiveError::Corrupt { path: path.to_owned(), source };
    let file = fs::File::open(path).map_err(corrupt)?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let mut files = BTreeMap::new();
    let mut top: Option<String> = None;
    let mut unpacked = 0u64;
    for (count, entry) in archive.entries().map_err(corrupt)?.enumerate() {
        let mut entry = entry.map_err(corrupt)?;
        if count >= MAX_ENTRIES {
            return Err(ArchiveError::TooLarge {
                path: path.to_owned(),
                problem: format!("more than {MAX_ENTRIES} entries"),
            });
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).trim_end_matches('/').to_owned();
        let unsafe_entry = |problem: &str| ArchiveError::Unsafe {
            path: path.to_owned(),
            entry: name.clone(),
            problem: problem.to_owned(),
        };
        let name_stripped = name.strip_prefix("./").unwrap_or(&name).to_owned();
        if !is_safe_path(&name_stripped) {
            return Err(unsafe_entry("is not a safe relative path"));
        }
        let (first, rest) = name_stripped
            .split_once('/')
            .map_or((name_stripped.as_str(), None), |(a, b)| (a, Some(b)));
        match &top {
            None => top = Some(first.to_owned()),
            Some(t) if t != first => {
                return Err(unsafe_entry("lies outside the bundle's top directory"));
            }
            Some(_) => {}
        }
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(unsafe_entry("is not a regular file (links and devices are refused)"));
        }
        let Some(rest) = rest else {
            return Err(unsafe_entry("is a file outside the bundle's directory"));
        };
        let size = entry.header().size().map_err(corrupt)?;
        unpacked = unpacked.saturating_add(size);
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(ArchiveError::TooLarge {
                path: path.to_owned(),
                problem: format!("unpacks to more than {MAX_UNPACKED_BYTES} bytes"),
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size.min(1 << 24)).unwrap_or(0));
        (&mut entry).take(size + 1).read_to_end(&mut bytes).map_err(corrupt)?;
        if files.insert(rest.to_owned(), bytes).is_some() {
            return Err(unsafe_entry("appears twice"));
        }
    }
    if top.is_none() {
        return Err(corrupt(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the archive is empty",
        )));
    }
    Ok(files)
}
