//! Reports people attach to postmortems, all rendered from a [`RunView`]: `report.md` (the
//! evidence appendix, valid CommonMark with GitHub tables), `report.html` (one
//! self-contained page with SVG charts, no scripts and no network) and `witness show` for a
//! terminal. Every report puts the recommendation first.

mod html;
mod impact;
mod markdown;
mod svg;
mod terminal;

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

pub use html::html;
pub use impact::{Impact, impact};
pub use markdown::markdown;

use crate::cli::ShowFormat;
use crate::view::RunView;

/// `witness show`: the bundle for a terminal (colour on a TTY), as markdown, or the
/// hypotheses and timeline as JSON.
pub fn show(bundle: &Path, format: ShowFormat) -> Result<ExitCode> {
    let view = RunView::load(bundle)?;
    match format {
        ShowFormat::Text => print!("{}", terminal::text(&view, std::io::stdout().is_terminal())),
        ShowFormat::Md => print!("{}", markdown(&view)),
        ShowFormat::Json => {
            let json =
                serde_json::json!({"hypotheses": view.evaluation, "timeline": view.timeline});
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `rollback`, `scale up`, `investigate`.
fn recommendation_words(r: crate::rules::Recommendation) -> &'static str {
    match r {
        crate::rules::Recommendation::Rollback => "rollback",
        crate::rules::Recommendation::ScaleUp => "scale up",
        crate::rules::Recommendation::Investigate => "investigate",
    }
}

fn likelihood_words(l: crate::rules::Likelihood) -> &'static str {
    match l {
        crate::rules::Likelihood::High => "high",
        crate::rules::Likelihood::Medium => "medium",
        crate::rules::Likelihood::Low => "low",
    }
}

/// The title every report starts with: alert, service, anchor.
fn title(view: &RunView) -> String {
    let service = view.trigger.service().map(|s| format!(" · {s}")).unwrap_or_default();
    format!("{}{service} · {}", view.trigger.name, witness_collector::time::format(view.anchor))
}
