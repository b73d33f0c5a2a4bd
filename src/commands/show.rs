//! `witness show BUNDLE`: the bundle for a terminal (colour on a TTY), as markdown, or the
//! hypotheses and timeline as JSON.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ShowFormat;
use crate::run::RunView;

/// Prints the bundle at `bundle` in `format`.
///
/// # Errors
/// When the bundle cannot be read.
pub fn show(bundle: &Path, format: ShowFormat) -> Result<ExitCode> {
    let view = RunView::load(bundle)?;
    match format {
        ShowFormat::Text => {
            print!("{}", crate::report::text(&view, std::io::stdout().is_terminal()));
        }
        ShowFormat::Md => print!("{}", crate::report::markdown(&view)),
        ShowFormat::Json => {
            let json =
                serde_json::json!({"hypotheses": view.evaluation, "timeline": view.timeline});
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
