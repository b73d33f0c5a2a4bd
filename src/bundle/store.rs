//! The store: the directory sealed bundles live in. Lists them newest first and applies
//! retention. Staging directories (`.tmp-*`) are never listed or removed here: they belong
//! to a run still being written.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::layout::{self, MANIFEST, is_safe_name};
use super::manifest::Manifest;

/// A bundle as listings show it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub id: String,
    pub dir: PathBuf,
    pub bytes: u64,
    /// `source: name`.
    pub trigger: String,
    /// e.g. `5 collectors, 1 failed`.
    pub collectors: String,
    /// The top hypothesis, `rollback: Bad deploy of revision 42`.
    pub top: Option<String>,
    /// The run's severity level (`P1`), when the bundle has one.
    pub severity: Option<String>,
    #[serde(skip)]
    pub manifest: Manifest,
}

/// Every sealed bundle in `store`, newest first. A missing store is an empty list.
///
/// # Errors
/// When the store exists but cannot be read.
pub fn list(store: &Path) -> Result<Vec<Listed>> {
    let entries = match fs::read_dir(store) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read the store {}", store.display()));
        }
    };
    let mut listed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_safe_name(&name) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(bundle) = describe(&entry.path()) {
            listed.push(bundle);
        }
    }
    listed.sort_by(|a, b| {
        b.manifest.created_at.cmp(&a.manifest.created_at).then_with(|| b.id.cmp(&a.id))
    });
    Ok(listed)
}

/// The sealed bundle in `dir` as listings show it; `None` when it has no readable
/// manifest.
pub fn describe(dir: &Path) -> Option<Listed> {
    let bytes = fs::read(dir.join(MANIFEST)).ok()?;
    let manifest = serde_json::from_slice::<Manifest>(&bytes).ok()?;
    let failed = manifest.collectors.iter().filter(|c| !c.status.has_evidence()).count();
    let top = fs::read(dir.join(layout::HYPOTHESES))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            let top = v.get("hypotheses")?.get(0)?.clone();
            Some(format!(
                "{}: {}",
                top.get("recommendation")?.as_str()?,
                top.get("title")?.as_str()?
            ))
        });
    let severity = fs::read(dir.join(layout::SEVERITY))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| Some(v.get("level")?.as_str()?.to_owned()));
    Some(Listed {
        id: manifest.id.clone(),
        dir: dir.to_owned(),
        bytes: manifest.files.iter().map(|f| f.bytes).sum::<u64>() + bytes.len() as u64,
        trigger: format!("{}: {}", manifest.trigger.source, manifest.trigger.name),
        collectors: format!("{} collectors, {failed} without evidence", manifest.collectors.len()),
        top,
        severity,
        manifest,
    })
}

/// Removes the oldest bundles until at most `max_bundles` and `max_bytes` remain (0 = no
/// limit for that bound); `keep` names bundles that must stay (the one just written).
/// Returns the ids removed.
///
/// # Errors
/// When the store cannot be read or a bundle cannot be removed.
pub fn apply_retention(
    store: &Path,
    max_bundles: usize,
    max_bytes: u64,
    keep: &[&str],
) -> Result<Vec<String>> {
    let mut bundles = list(store)?;
    let mut total: u64 = bundles.iter().map(|b| b.bytes).sum();
    let mut removed = Vec::new();
    while let Some(oldest) = bundles.last() {
        let too_many = max_bundles > 0 && bundles.len() > max_bundles;
        let too_big = max_bytes > 0 && total > max_bytes;
        if !(too_many || too_big) || keep.contains(&oldest.id.as_str()) {
            break;
        }
        let oldest = bundles.pop().expect("checked above");
        super::writer::make_writable(&oldest.dir);
        fs::remove_dir_all(&oldest.dir)
            .with_context(|| format!("cannot remove {}", oldest.dir.display()))?;
        // What was recorded beside it goes with it.
        let _ = fs::remove_file(super::layout::addendum_file(store, &oldest.id));
        total -= oldest.bytes;
        removed.push(oldest.id);
    }
    Ok(removed)
}
