//! `witness show BUNDLE`: the bundle for a terminal (colour on a TTY), as markdown, or the
//! hypotheses and timeline as JSON.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ShowFormat;
use crate::escape::{Keep, terminal};
use crate::run::RunView;

/// Prints the bundle at `bundle` in `format`.
///
/// # Errors
/// When the bundle cannot be read.
pub fn show(bundle: &Path, format: ShowFormat) -> Result<ExitCode> {
    let view = RunView::load(bundle)?;
    match format {
        // Evidence is whatever the systems wrote: only witness's own layout and colour
        // reach the terminal.
        ShowFormat::Text => {
            let colour = std::io::stdout().is_terminal();
            let keep = if colour { Keep::LinesAndColour } else { Keep::Lines };
            print!("{}", terminal(&crate::report::text(&view, colour), keep));
        }
        ShowFormat::Md => print!("{}", terminal(&crate::report::markdown(&view), Keep::Lines)),
        ShowFormat::Json => {
            let json =
                serde_json::json!({"hypotheses": view.evaluation, "timeline": view.timeline});
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
