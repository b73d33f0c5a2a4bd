//! The evidence of a `logs` instance: what the files held, through the shared analysis
//! (`witness_log_analysis::analysis`), with its facts named `logs.*`, its events pointing
//! into `/data`, and `data.files` saying how each file was read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{Evidence, Redacted, Redactor};
use witness_log_analysis::analysis::{self, AnalysisData, Coverage, Limits, Place};

use crate::files::{FileReport, Outcome};

/// The excerpt artifact's name under `evidence/logs-<name>/`.
pub const EXCERPT: &str = "excerpt.log";

#[derive(Serialize)]
struct Data<'a> {
    #[serde(flatten)]
    analysis: AnalysisData,
    files: &'a [FileReport],
}

/// The evidence of one run and the excerpt artifact's contents (when there is one).
pub fn build(
    outcome: Outcome,
    anchor: DateTime<Utc>,
    limits: Limits,
    redactor: &Redactor,
) -> (Evidence, Option<Redacted>) {
    let Outcome { tally, files, problems, remarks, earliest, latest, stopped } = outcome;
    let read = files.iter().filter(|f| f.mode != "skipped").count();
    let mut evidence = Evidence::ok("");
    for p in &problems {
        evidence.add_partial(p.clone());
    }
    for r in remarks {
        evidence.add_note(r);
    }
    if stopped {
        evidence.add_partial("the deadline passed or the run was cancelled before every file was read; counts cover what was read");
    }
    if read == 0 {
        evidence.summary = if problems.is_empty() {
            "no log file overlaps the window".into()
        } else {
            match problems.len() {
                1 => "no log file could be read (1 problem)".to_owned(),
                n => format!("no log file could be read ({n} problems)"),
            }
        };
        if problems.is_empty() {
            evidence.add_partial("no configured log file has lines in the window or its baseline");
        }
        evidence.facts.insert("logs.files_read".into(), 0usize.into());
        let data = serde_json::json!({ "files": files });
        return (evidence.data(data), None);
    }

    let place = Place { pointer: "/data", artifact: EXCERPT };
    let a = analysis::analyse(&tally, Coverage { earliest, latest }, anchor, limits, redactor, place);
    evidence.facts.insert("logs.files_read".into(), read.into());
    evidence.facts.extend(a.facts.into_iter().map(|(name, value)| (format!("logs.{name}"), value)));
    for note in a.partial {
        evidence.add_partial(note);
    }
    for note in a.notes {
        evidence.add_note(note);
    }
    evidence.summary = a.summary;
    evidence.events = a.events;
    (evidence.data(Data { analysis: a.data, files: &files }), a.excerpt)
}
