//! Writes a bundle: every file passes through redaction, is hashed and written into a
//! temporary directory inside the store; the manifest (and signature) follow; the tree is
//! sealed read-only (files 0444, directories 0555) and renamed into place in one step, so
//! a reader never sees a half-written bundle.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use witness_collector::Window;

use super::layout::{MANIFEST, REPORT_HTML, REPORT_MD, SIGNATURE, is_safe_path};
use super::manifest::{
    self, BundleRef, CollectorEntry, FileEntry, Manifest, TriggerSummary, Truncation,
};
use super::sign;
use crate::redact::{Escaping, Redactor};

/// What a file of the draft holds.
pub enum Content {
    /// Written as pretty JSON; strings under sensitive keys are redacted whole.
    Json(serde_json::Value),
    /// Written as UTF-8 text.
    Text(String),
    /// Raw bytes (an artifact); read as text (lossily) for redaction, and as JSON when the
    /// path ends in `.json` and it parses.
    Bytes(Vec<u8>),
}

/// One file of the draft.
pub struct DraftFile {
    pub path: String,
    pub content: Content,
    /// Whether this file may be cut (keeping its end, the newest lines) to keep the bundle
    /// under its size cap: raw artifacts may, evidence and reports may not.
    pub cuttable: bool,
}

/// Everything a bundle will hold, before redaction.
pub struct BundleDraft {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub host: String,
    pub trigger: TriggerSummary,
    pub anchor: DateTime<Utc>,
    pub window: Window,
    /// Of a follow-up: the incident bundle it checks.
    pub follows: Option<BundleRef>,
    pub collectors: Vec<CollectorEntry>,
    pub files: Vec<DraftFile>,
}

/// A sealed bundle on disk.
#[derive(Debug)]
pub struct WrittenBundle {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// Why a bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("refusing to write {0:?}: not a safe path inside a bundle")]
    UnsafePath(String),
    #[error("two files of the bundle have the path {0:?}")]
    DuplicatePath(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_owned(), source }
}

/// Redacts, hashes, writes, seals and publishes `draft` under `store`.
///
/// # Errors
/// [`WriteError`] when a path is unsafe or the store cannot be written. Nothing is left
/// visible under the bundle's id then: the temporary directory is removed.
pub fn write(
    store: &Path,
    draft: BundleDraft,
    redactor: &Redactor,
    signing_key: Option<&SigningKey>,
    max_bundle_bytes: u64,
) -> Result<WrittenBundle, WriteError> {
    fs::create_dir_all(store).map_err(io(store))?;
    let staging = store.join(format!(".tmp-{}", draft.id));
    let result = write_staged(&staging, store, draft, redactor, signing_key, max_bundle_bytes);
    if result.is_err() && staging.exists() {
        make_writable(&staging);
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

fn write_staged(
    staging: &Path,
    store: &Path,
    draft: BundleDraft,
    redactor: &Redactor,
    signing_key: Option<&SigningKey>,
    max_bundle_bytes: u64,
) -> Result<WrittenBundle, WriteError> {
    let mut seen = std::collections::BTreeSet::new();
    for file in &draft.files {
        if !is_safe_path(&file.path) || file.path == MANIFEST || file.path == SIGNATURE {
            return Err(WriteError::UnsafePath(file.path.clone()));
        }
        if !seen.insert(file.path.as_str()) {
            return Err(WriteError::DuplicatePath(file.path.clone()));
        }
    }
    // The last scan: every byte of every file, JSON strings decoded and reports read
    // through their escaping, each file with counts of its own.
    let mut counts = Vec::with_capacity(draft.files.len());
    let mut rendered: Vec<(String, Vec<u8>, bool)> = draft
        .files
        .into_iter()
        .map(|f| {
            let scope = redactor.scope();
            let (escaping, is_json) = (f.escaping(), f.path_is_json());
            let bytes = redacted_bytes(f.content, is_json, escaping, &scope);
            counts.push((f.path.clone(), scope.counts()));
            (f.path, bytes, f.cuttable)
        })
        .collect();
    let truncated = fit_under_cap(&mut rendered, max_bundle_bytes);

    fs::create_dir(staging).map_err(io(staging))?;
    let mut files = Vec::with_capacity(rendered.len());
    for (path, bytes, _) in &rendered {
        write_file(&staging.join(path), bytes)?;
        files.push(FileEntry {
            path: path.clone(),
            sha256: manifest::sha256_hex(bytes),
            bytes: bytes.len() as u64,
            redactions: counts
                .iter()
                .find(|(p, _)| p == path)
                .map(|(_, c)| c.clone())
                .unwrap_or_default(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));

    let collectors: Vec<CollectorEntry> = draft
        .collectors
        .into_iter()
        .map(|c| CollectorEntry {
            error: c.error.map(|e| redactor.redact_text(&e).into_owned()),
            ..c
        })
        .collect();
    let mut trigger = draft.trigger;
    trigger.name = redactor.redact(&trigger.name).into_string();
    trigger.labels = trigger
        .labels
        .iter()
        .map(|(k, v)| (redactor.redact(k).into_string(), redactor.redact_pair(k, v).into_string()))
        .collect();
    trigger.fingerprint = trigger.fingerprint.map(|f| redactor.redact(&f).into_string());
    // Totals: where the text was read (per collector), at sealing (per file), and in the
    // manifest's own fields.
    let mut redactions = redactor.counts();
    let per_source =
        collectors.iter().map(|c| &c.redactions).chain(files.iter().map(|f| &f.redactions));
    for counts in per_source {
        for (rule, n) in counts {
            *redactions.entry(rule.clone()).or_default() += n;
        }
    }
    let root_sha256 = manifest::root_hash(&files);
    let manifest = Manifest {
        id: draft.id.clone(),
        created_at: draft.created_at,
        witness_version: env!("CARGO_PKG_VERSION").to_owned(),
        host: draft.host,
        trigger,
        anchor: draft.anchor,
        window: draft.window,
        follows: draft.follows,
        collectors,
        files,
        redactions,
        truncated,
        root_sha256,
    };
    let manifest_bytes =
        serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
    write_file(&staging.join(MANIFEST), &manifest_bytes)?;
    if let Some(key) = signing_key {
        write_file(&staging.join(SIGNATURE), sign::sign(key, &manifest_bytes).as_bytes())?;
    }

    sync_filesystem(staging)?;
    seal(staging)?;
    let dir = store.join(&draft.id);
    fs::rename(staging, &dir).map_err(io(&dir))?;
    fs::File::open(store).and_then(|d| d.sync_all()).map_err(io(store))?;
    Ok(WrittenBundle { dir, manifest })
}

impl DraftFile {
    fn path_is_json(&self) -> bool {
        self.path.ends_with(".json")
    }

    /// How the file's text is escaped, for the reports.
    fn escaping(&self) -> Option<Escaping> {
        match self.path.as_str() {
            REPORT_MD => Some(Escaping::Markdown),
            REPORT_HTML => Some(Escaping::Html),
            _ => None,
        }
    }
}

fn redacted_bytes(
    content: Content,
    is_json_path: bool,
    escaping: Option<Escaping>,
    redactor: &Redactor,
) -> Vec<u8> {
    let pretty = |mut value: serde_json::Value| {
        redactor.redact_json(&mut value);
        let mut bytes = serde_json::to_vec_pretty(&value).expect("JSON values always serialize");
        bytes.push(b'\n');
        bytes
    };
    match content {
        Content::Json(value) => pretty(value),
        Content::Text(text) => match escaping {
            Some(escaping) => redactor.redact_rendered(&text, escaping).into_owned().into_bytes(),
            None => redactor.redact_text(&text).into_owned().into_bytes(),
        },
        Content::Bytes(bytes) => {
            if is_json_path && let Ok(value) = serde_json::from_slice(&bytes) {
                return pretty(value);
            }
            redactor.redact_text(&String::from_utf8_lossy(&bytes)).into_owned().into_bytes()
        }
    }
}

/// Cuts the largest cuttable files, keeping their ends (the newest lines), until the total
/// fits `cap` (0 = no cap).
fn fit_under_cap(files: &mut [(String, Vec<u8>, bool)], cap: u64) -> Vec<Truncation> {
    const MARKER_ROOM: usize = 160;
    let mut truncations: Vec<Truncation> = Vec::new();
    let mut total: u64 = files.iter().map(|f| f.1.len() as u64).sum();
    while cap > 0 && total > cap {
        let Some(largest) =
            files.iter_mut().filter(|f| f.2 && f.1.len() > MARKER_ROOM).max_by_key(|f| f.1.len())
        else {
            break;
        };
        let original = largest.1.len();
        let excess = usize::try_from(total - cap).unwrap_or(usize::MAX);
        let mut cut_at = excess.saturating_add(MARKER_ROOM).min(original);
        // Start the kept part on a whole line when there is one.
        if let Some(newline) = largest.1[cut_at..].iter().position(|b| *b == b'\n') {
            cut_at += newline + 1;
        }
        let mut kept = format!(
            "[witness: the first {cut_at} bytes were cut to keep the bundle under its size cap]\n"
        )
        .into_bytes();
        kept.extend_from_slice(&largest.1[cut_at..]);
        total = total - original as u64 + kept.len() as u64;
        let original_bytes = truncations
            .iter()
            .find(|t| t.path == largest.0)
            .map_or(original as u64, |t| t.original_bytes);
        truncations.retain(|t| t.path != largest.0);
        truncations.push(Truncation {
            path: largest.0.clone(),
            original_bytes,
            kept_bytes: (original - cut_at) as u64,
        });
        largest.1 = kept;
    }
    truncations
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut file = fs::File::create(path).map_err(io(path))?;
    // Not synced here: `write_staged` syncs the whole staging tree in one call before the
    // rename, which costs one flush instead of one per file.
    file.write_all(bytes).map_err(io(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o444)).map_err(io(path))
}

/// Flushes every file written under `dir` to disk, in one `syncfs` of its filesystem, so
/// the rename that publishes the bundle never exposes files whose data is not on disk.
fn sync_filesystem(dir: &Path) -> Result<(), WriteError> {
    let handle = fs::File::open(dir).map_err(io(dir))?;
    rustix::fs::syncfs(&handle)
        .map_err(|e| WriteError::Io { path: dir.to_owned(), source: e.into() })
}

/// Makes every directory under and including `dir` read-only (0555), deepest first.
fn seal(dir: &Path) -> Result<(), WriteError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_type().map_err(io(&entry.path()))?.is_dir() {
            seal(&entry.path())?;
        }
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o555)).map_err(io(dir))
}

/// Undoes [`seal`] so a failed staging directory can be removed.
pub(crate) fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&entry.path());
            }
        }
    }
}
