//! `witness postmortem BUNDLE [--follow-up BUNDLE] [--out FILE] [--format md|html]`: the
//! postmortem draft of a sealed incident bundle, every statement cited
//! ([`crate::report::postmortem`]).
//!
//! Each bundle is read once and verified as `witness verify` does (every hash, the root
//! hash, and with `--key` the signature) before anything is drafted from the very bytes
//! that verified: a bundle that changed is refused with one error and nothing is written.
//! A follow-up must name the incident by its id and root hash. The bundles are only read:
//! `--out` may not point inside one, and is written whole or not at all (a temporary file
//! beside it, synced, then renamed over it).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::DraftFormat;
use crate::escape::{Keep, terminal};
use crate::report::postmortem::{self, Sealed};
use crate::run::RunView;

/// A bundle read once and verified: its files and its view.
struct Verified {
    files: BTreeMap<String, Vec<u8>>,
    view: RunView,
    root: String,
    /// Of a follow-up: the incident it names.
    follows: Option<crate::bundle::manifest::BundleRef>,
}

/// Writes the draft of `bundle` (with `follow_up`) to `out`, or to stdout.
///
/// # Errors
/// A bundle that cannot be read or does not verify, a follow-up of another bundle, an
/// `--out` inside a bundle or that cannot be written.
pub fn postmortem(
    bundle: &Path,
    follow_up: Option<&Path>,
    out: Option<&Path>,
    format: DraftFormat,
    key: Option<&Path>,
) -> Result<ExitCode> {
    if let Some(out) = out {
        for read in std::iter::once(bundle).chain(follow_up) {
            refuse_inside(out, read)?;
        }
    }
    let key = key.map(crate::bundle::sign::load_verifying_key).transpose()?;
    let incident = verified(bundle, key.as_ref())?;
    if let Some(follows) = &incident.follows {
        bail!(
            "{} is a follow-up of {}: give the incident's bundle, and this one with --follow-up",
            bundle.display(),
            follows.id
        );
    }
    let follow_up = match follow_up {
        None => None,
        Some(path) => {
            let verified = verified(path, key.as_ref())?;
            match &verified.follows {
                None => bail!("{} is not a follow-up: it names no incident bundle", path.display()),
                Some(f) if f.id != incident.view.id || f.root_sha256 != incident.root => bail!(
                    "{} is the follow-up of {} (root {}), not of {} (root {})",
                    path.display(),
                    f.id,
                    f.root_sha256,
                    incident.view.id,
                    incident.root
                ),
                Some(_) => Some(verified),
            }
        }
    };
    let sealed = Sealed::incident(&incident.view, &incident.files);
    let checked = follow_up.as_ref().map(|f| Sealed::follow_up(&f.view, &f.files));
    let draft = postmortem::build(&sealed, checked.as_ref());
    let text = match format {
        DraftFormat::Md => postmortem::markdown(&draft),
        DraftFormat::Html => postmortem::html(&draft),
    };
    match out {
        // Evidence is whatever the systems wrote: only layout reaches the terminal.
        None => print!("{}", terminal(&text, Keep::Lines)),
        Some(out) => {
            write_atomically(out, text.as_bytes())?;
            eprintln!("witness: postmortem draft written to {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the bundle at `path` once, verifies those bytes as `witness verify` does, and
/// makes its view of them.
///
/// # Errors
/// The bundle cannot be read, does not verify, or misses a file it must have.
fn verified(path: &Path, key: Option<&ed25519_dalek::VerifyingKey>) -> Result<Verified> {
    let files = crate::bundle::verify::read_bundle(path)?;
    let verification = crate::bundle::verify::verify_files(path, &files, key)?;
    if !verification.ok() {
        let problems: Vec<String> = verification.problems.iter().map(ToString::to_string).collect();
        bail!(
            "{} does not verify ({}): a postmortem is only drafted from a sealed, unchanged bundle",
            path.display(),
            terminal(&problems.join("; "), Keep::Nothing)
        );
    }
    let view = RunView::from_files(&files)
        .with_context(|| format!("cannot read the bundle {}", path.display()))?;
    Ok(Verified {
        files,
        view,
        root: verification.manifest.root_sha256,
        follows: verification.manifest.follows,
    })
}

/// Refuses an `--out` inside the bundle directory `bundle`: a sealed bundle is only read.
fn refuse_inside(out: &Path, bundle: &Path) -> Result<()> {
    let Ok(bundle) = bundle.canonicalize() else { return Ok(()) };
    if !bundle.is_dir() {
        return Ok(());
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if parent.canonicalize().is_ok_and(|dir| dir.starts_with(&bundle)) {
        bail!(
            "--out {} is inside the bundle {}: a sealed bundle is never written into",
            out.display(),
            bundle.display()
        );
    }
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, synced, then
/// renamed over it (and the directory synced). On any error the temporary file is removed
/// and `path` is as it was.
///
/// # Errors
/// The directory does not exist or cannot be written, or `path` is a directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        bail!("--out {}: not a file name", path.display());
    };
    if path.is_dir() {
        bail!("--out {}: is a directory", path.display());
    }
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:08x}",
        name.to_string_lossy(),
        std::process::id(),
        rand::random::<u32>()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write --out {}", path.display()));
    }
    Ok(())
}
