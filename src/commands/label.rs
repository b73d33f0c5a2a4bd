//! `witness label BUNDLE --cause C`: records the true cause of a bundle's incident in
//! `<bundle>.label.json` beside it. The sealed files are never touched (a label is an
//! opinion formed after the fact, not evidence); `witness rules eval` reads the labels to
//! measure the rules on real incidents.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::bundle::layout;
use crate::rules::accuracy::{self, Label};
use crate::rules::rule::CAUSES;

/// Writes the label beside `bundle` (replacing an earlier one).
///
/// # Errors
/// An unknown cause, a path that is no bundle, or a label that cannot be written.
pub fn label(bundle: &std::path::Path, cause: &str, class: Option<String>) -> Result<ExitCode> {
    if !accuracy::is_cause(cause) {
        bail!(
            "unknown cause `{cause}`: use one of {}, or {} (nothing abnormal)",
            CAUSES.join(", "),
            accuracy::NO_CAUSE
        );
    }
    let is_archive = bundle.to_string_lossy().ends_with(".tar.gz") && bundle.is_file();
    if !is_archive && !bundle.join(layout::MANIFEST).is_file() {
        bail!("{} is not a bundle (no {})", bundle.display(), layout::MANIFEST);
    }
    let Some(path) = accuracy::label_path(bundle) else {
        bail!("{} has no file name to put a label beside", bundle.display());
    };
    let label = Label { cause: cause.to_owned(), class };
    let mut text = serde_json::to_string_pretty(&label)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}
