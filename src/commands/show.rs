//! `witness show BUNDLE`: the bundle for a terminal (colour on a TTY), as markdown, or the
//! hypotheses and timeline as JSON; and the alerts recorded beside it after its seal.

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
    let late = match (bundle.parent(), bundle.file_name().and_then(|n| n.to_str())) {
        (Some(store), Some(id)) if bundle.is_dir() => crate::server::addendum::read(store, id),
        _ => Vec::new(),
    };
    match format {
        // Evidence is whatever the systems wrote: only witness's own layout and colour
        // reach the terminal.
        ShowFormat::Text => {
            let colour = std::io::stdout().is_terminal();
            let keep = if colour { Keep::LinesAndColour } else { Keep::Lines };
            print!("{}", terminal(&crate::report::text(&view, colour), keep));
            print!("{}", terminal(&late_section(&late), Keep::Lines));
        }
        ShowFormat::Md => {
            print!("{}", terminal(&crate::report::markdown(&view), Keep::Lines));
            print!("{}", terminal(&late_section(&late), Keep::Lines));
        }
        ShowFormat::Json => {
            let json = serde_json::json!({
                "hypotheses": view.evaluation,
                "timeline": view.timeline,
                "after_seal": late,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The alerts recorded beside the bundle after its seal, one line each.
fn late_section(late: &[crate::server::addendum::Entry]) -> String {
    if late.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nRecorded after the seal (beside the bundle, not part of it):\n");
    for e in late {
        out.push_str(&format!(
            "  {}  {}  {} ({}){}{}\n",
            witness_collector::time::format(e.recorded_at),
            e.action,
            e.alert.name,
            e.alert.status,
            e.alert.fingerprint.as_deref().map(|f| format!(" {f}")).unwrap_or_default(),
            if e.signature.is_some() { "  signed" } else { "" },
        ));
    }
    out
}
