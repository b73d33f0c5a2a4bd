//! Reports people attach to postmortems, rendered from a [`RunView`]: `report.md`.

mod markdown;

pub use markdown::markdown;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ShowFormat;
use crate::view::RunView;

/// `witness show`: the bundle's report for a terminal, as markdown, or the hypotheses and
/// timeline as JSON.
pub fn show(bundle: &Path, format: ShowFormat) -> Result<ExitCode> {
    let view = RunView::load(bundle)?;
    match format {
        ShowFormat::Text | ShowFormat::Md => print!("{}", markdown(&view)),
        ShowFormat::Json => {
            let json =
                serde_json::json!({"hypotheses": view.evaluation, "timeline": view.timeline});
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
