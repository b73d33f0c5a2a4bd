//! `report.md`: the postmortem evidence appendix, recommendation first.

use std::fmt::Write;

use witness_collector::time::format as utc;

use crate::view::RunView;

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Renders `report.md`.
pub fn markdown(view: &RunView) -> String {
    let mut out = String::new();
    let service = view.trigger.service().map(|s| format!(" — {s}")).unwrap_or_default();
    let _ = writeln!(out, "# {}{service} — {}\n", cell(&view.trigger.name), utc(view.anchor));
    let _ = writeln!(
        out,
        "Bundle `{}` · window {} to {}\n",
        view.id,
        utc(view.window.start),
        utc(view.window.end)
    );

    if let Some(top) = view.evaluation.hypotheses.first() {
        let _ = writeln!(
            out,
            "## Recommendation: {:?} ({:?} likelihood)\n",
            top.recommendation, top.likelihood
        );
        let _ = writeln!(out, "**{}**\n\n{}\n", cell(&top.title), top.explanation);
        for command in &top.commands {
            let _ = writeln!(out, "```sh\n{command}\n```\n");
        }
        if !top.evidence.is_empty() {
            let refs: Vec<String> = top.evidence.iter().map(|r| format!("`{r}`")).collect();
            let _ = writeln!(out, "Evidence: {}\n", refs.join(", "));
        }
    }

    let _ = writeln!(
        out,
        "## Collectors\n\n| collector | status | duration | summary or error |\n|---|---|---|---|"
    );
    for r in &view.records {
        let text = r.error.as_deref().unwrap_or(&r.evidence.summary);
        let _ = writeln!(
            out,
            "| {}/{} | {} | {} ms | {} |",
            r.kind,
            r.name,
            r.status(),
            r.duration_ms,
            cell(text)
        );
    }

    let _ = writeln!(out, "\n## Timeline\n\n| UTC | offset | source | what |\n|---|---|---|---|");
    for e in &view.timeline.entries {
        let count = if e.count > 1 { format!("{} × ", e.count) } else { String::new() };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {count}{} |",
            utc(e.time),
            e.offset,
            e.source,
            cell(&e.title)
        );
    }

    let _ = writeln!(out, "\n## Facts\n\n| fact | value | from |\n|---|---|---|");
    for (name, (record, value)) in view.facts() {
        let value = serde_json::to_string(value).unwrap_or_default();
        let _ = writeln!(out, "| {name} | {} | {}/{} |", cell(&value), record.kind, record.name);
    }
    let _ = writeln!(
        out,
        "\n## Integrity\n\nThe SHA-256 of every file and the root hash are in `manifest.json`. Check them with:\n\n```sh\nwitness verify {}\n```",
        view.id
    );
    out
}
