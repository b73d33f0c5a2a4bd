//! `witness show BUNDLE`: the bundle for a terminal (colour on a TTY), as markdown, or the
//! hypotheses, timeline, severity, durations and follow-up checks as JSON; and what lies
//! beside it in the store: the alerts recorded after its seal, and its follow-ups.

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
    let (late, follow_ups) = match (bundle.parent(), bundle.file_name().and_then(|n| n.to_str())) {
        (Some(store), Some(id)) if bundle.is_dir() => {
            (crate::server::addendum::read(store, id), follow_ups_of(store, &view.id))
        }
        _ => (Vec::new(), Vec::new()),
    };
    match format {
        // Evidence is whatever the systems wrote: only witness's own layout and colour
        // reach the terminal.
        ShowFormat::Text => {
            let colour = std::io::stdout().is_terminal();
            let keep = if colour { Keep::LinesAndColour } else { Keep::Lines };
            print!("{}", terminal(&crate::report::text(&view, colour), keep));
            print!("{}", terminal(&late_section(&late), Keep::Lines));
            print!("{}", terminal(&follow_ups_section(&follow_ups), Keep::Lines));
        }
        ShowFormat::Md => {
            print!("{}", terminal(&crate::report::markdown(&view), Keep::Lines));
            print!("{}", terminal(&late_section(&late), Keep::Lines));
            print!("{}", terminal(&follow_ups_section(&follow_ups), Keep::Lines));
        }
        ShowFormat::Json => {
            let json = serde_json::json!({
                "severity": view.severity,
                "follow_up": view.follow_up,
                "durations": view.durations,
                "hypotheses": view.evaluation,
                "timeline": view.timeline,
                "after_seal": late,
                "follow_ups": follow_ups.iter().map(|(id, verdict)| serde_json::json!({"id": id, "verdict": verdict})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The follow-ups in `store` of the incident bundle `id`: (their id, their listing).
fn follow_ups_of(store: &Path, id: &str) -> Vec<(String, String)> {
    let Ok(listed) = crate::bundle::store::list(store) else { return Vec::new() };
    listed
        .into_iter()
        .filter(|b| b.manifest.follows.as_ref().is_some_and(|f| f.id == id))
        .filter_map(|b| Some((b.id, crate::run::follow_up::listing(&b.dir)?)))
        .collect()
}

fn follow_ups_section(follow_ups: &[(String, String)]) -> String {
    if follow_ups.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nFollow-ups (beside it, each its own bundle):\n");
    for (id, listing) in follow_ups {
        out.push_str(&format!("  {id}  {listing}\n"));
    }
    out
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
