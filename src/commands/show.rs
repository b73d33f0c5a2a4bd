//! `witness show BUNDLE`: the bundle for a terminal (colour on a TTY), as markdown, or the
//! hypotheses, timeline, severity, durations and follow-up checks as JSON; and what lies
//! beside it in the store: the alerts recorded after its seal, and its follow-ups. With
//! `--status-update`, status-page drafts of the incident instead
//! ([`crate::report::status_update`]).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cli::{ShowFormat, StageArg};
use crate::escape::{Keep, terminal};
use crate::report::status_update::{Incident, Stage};
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

/// Prints the status-page drafts of the incident at `bundle`: `stage`'s, else every stage
/// the evidence supports (the others are named on stderr, with why). The incident's
/// newest follow-up beside it in the store is read too; given a follow-up, its incident is
/// read from beside it.
///
/// # Errors
/// The bundle cannot be read; a follow-up whose incident is not beside it; a `stage` the
/// evidence does not support yet.
pub fn status_update(bundle: &Path, stage: Option<StageArg>) -> Result<ExitCode> {
    let view = RunView::load(bundle)?;
    let store = bundle.parent().filter(|_| bundle.is_dir());
    let (incident, follow_up) = match &view.follow_up {
        Some(f) => {
            let Some(dir) = store.map(|s| s.join(&f.incident.id)).filter(|d| d.is_dir()) else {
                bail!(
                    "{} is a follow-up of {}, which is not beside it: give the incident's bundle",
                    bundle.display(),
                    f.incident.id
                );
            };
            (RunView::load(&dir)?, Some(view))
        }
        None => {
            // The store lists newest first.
            let newest = store.and_then(|s| Some(s.join(&follow_ups_of(s, &view.id).first()?.0)));
            let follow_up = newest.map(|dir| RunView::load(&dir)).transpose()?;
            (view, follow_up)
        }
    };
    let incident = Incident {
        view: &incident,
        follow_up: follow_up.as_ref().and_then(|f| f.follow_up.as_ref()),
    };
    let stages = match stage {
        Some(stage) => vec![match stage {
            StageArg::Investigating => Stage::Investigating,
            StageArg::Identified => Stage::Identified,
            StageArg::Monitoring => Stage::Monitoring,
            StageArg::Resolved => Stage::Resolved,
        }],
        None => {
            for stage in Stage::ALL {
                if let Some(why) = incident.unsupported(stage) {
                    eprintln!("witness: no {} draft: {why}", stage.title().to_lowercase());
                }
            }
            incident.supported()
        }
    };
    match crate::report::status_update::text(&incident, &stages) {
        Ok(text) => print!("{}", terminal(&text, Keep::Lines)),
        Err(why) => bail!("{}: {why}", bundle.display()),
    }
    Ok(ExitCode::SUCCESS)
}
