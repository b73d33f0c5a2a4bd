//! `report.md`: the postmortem evidence appendix. Recommendation first, then impact, the
//! timeline, the other hypotheses, each collector, and how to check integrity. CommonMark
//! with GitHub-style tables, which also paste into Confluence and Notion.

use std::fmt::Write;

use witness_collector::time::format as utc;

use super::words::{likelihood_words, recommendation_words, title};
use crate::escape::markdown_cell as cell;
use crate::rules::Hypothesis;
use crate::run::view::RunView;

/// A fenced code block whose fence cannot be closed by the content.
fn code_block(out: &mut String, lang: &str, code: &str) {
    let longest = code.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}{lang}\n{code}\n{fence}\n");
}

fn refs(h: &Hypothesis) -> String {
    h.evidence.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
}

/// Renders `report.md`.
pub fn markdown(view: &RunView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", cell(&title(view)));
    let _ = writeln!(
        out,
        "Bundle `{}` · trigger: {} · window {} → {}\n",
        view.id,
        view.trigger.source.as_str(),
        utc(view.window.start),
        utc(view.window.end)
    );

    severity_section(&mut out, view);
    super::follow_up::markdown(&mut out, view);
    if view.follow_up.is_none() {
        recommendation(&mut out, view);
    }
    impact_section(&mut out, view);
    super::follow_up::markdown_durations(&mut out, view);
    metrics_section(&mut out, view);
    timeline(&mut out, view);
    if view.follow_up.is_some() {
        super::follow_up::markdown_hypotheses(&mut out, view);
    }
    other_hypotheses(&mut out, view);
    collectors(&mut out, view);
    integrity(&mut out, view);
    out
}

fn recommendation(out: &mut String, view: &RunView) {
    let Some(top) = view.evaluation.hypotheses.first() else { return };
    let _ = writeln!(
        out,
        "## Recommendation: {} ({} likelihood)\n\n**{}**\n\n{}\n",
        recommendation_words(top.recommendation),
        likelihood_words(top.likelihood),
        cell(&top.title),
        top.explanation.trim()
    );
    for command in &top.commands {
        code_block(out, "sh", command);
    }
    if !top.evidence.is_empty() {
        let _ = writeln!(out, "Evidence: {}\n", refs(top));
    }
    if !top.counter_evidence.is_empty() {
        let _ = writeln!(out, "Against it:\n");
        for c in &top.counter_evidence {
            let _ = writeln!(out, "- {}", cell(c));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "witness only reads: it ran none of these commands.\n");
}

fn severity_section(out: &mut String, view: &RunView) {
    let Some(severity) = &view.severity else { return };
    let _ = writeln!(out, "**Severity: {}**\n", cell(&severity.summary()));
    for r in &severity.reasons {
        let _ = writeln!(out, "- {}: {} (`{}`)", r.level.as_str(), cell(&r.text), r.evidence);
    }
    if !severity.reasons.is_empty() {
        out.push('\n');
    }
}

fn impact_section(out: &mut String, view: &RunView) {
    let impact = &view.impact;
    let _ = writeln!(out, "## Impact\n");
    if impact.signals.is_empty() {
        let _ = writeln!(
            out,
            "No impact signals were collected (no logs, health or status evidence).\n"
        );
    } else {
        let _ = writeln!(out, "| signal | value | evidence |\n|---|---|---|");
        for s in &impact.signals {
            let _ = writeln!(out, "| {} | {} | `{}` |", cell(&s.label), cell(&s.value), s.evidence);
        }
        out.push('\n');
    }
    if !impact.endpoints.is_empty() {
        let _ = writeln!(
            out,
            "Endpoints answering 5xx:\n\n| endpoint | 5xx in window | 5xx in baseline |\n|---|---|---|"
        );
        for e in &impact.endpoints {
            let _ = writeln!(
                out,
                "| {} {} | {} | {} |",
                cell(&e.method),
                cell(&e.path),
                e.count,
                e.baseline_count
            );
        }
        out.push('\n');
    }
}

/// Each metric series a `prometheus` instance evaluated, with what it said (or why it
/// said nothing). Left out for a run without metrics.
fn metrics_section(out: &mut String, view: &RunView) {
    let metrics = super::metrics::metrics(view);
    if metrics.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Metrics\n\n| series | source | reading | query | evidence |\n|---|---|---|---|---|"
    );
    for m in &metrics {
        let _ = writeln!(
            out,
            "| {} | {} | {} | `{}` | `{}` |",
            cell(&m.label()),
            cell(&m.source),
            cell(&m.reading(view.anchor)),
            m.expr.replace('`', "'").replace('|', "\\|").replace(['\n', '\r'], " "),
            m.evidence
        );
    }
    out.push('\n');
}

fn timeline(out: &mut String, view: &RunView) {
    let _ = writeln!(out, "## Timeline\n\n| UTC | offset | source | what |\n|---|---|---|---|");
    for e in &view.timeline.entries {
        let what = match (e.count, e.until) {
            (n, Some(until)) if n > 1 => format!(
                "{n} × {} (until {})",
                e.title,
                witness_collector::time::offset_label(until, view.anchor)
            ),
            (n, _) if n > 1 => format!("{n} × {}", e.title),
            _ => e.title.clone(),
        };
        let what = if e.in_future {
            format!("{what} (later than collection: clock ahead?)")
        } else {
            what
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            utc(e.time),
            e.offset,
            cell(&e.source),
            cell(&what)
        );
    }
    out.push('\n');
}

fn other_hypotheses(out: &mut String, view: &RunView) {
    let others = view.evaluation.hypotheses.iter().skip(1);
    // A follow-up lists every hypothesis already, without commands.
    if view.evaluation.hypotheses.len() > 1 && view.follow_up.is_none() {
        let _ = writeln!(
            out,
            "## Other hypotheses\n\n| recommendation | likelihood | score | hypothesis | evidence |\n|---|---|---|---|---|"
        );
        for h in others {
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {} | {} |",
                recommendation_words(h.recommendation),
                likelihood_words(h.likelihood),
                h.score,
                cell(&h.title),
                refs(h)
            );
        }
        out.push('\n');
    }
    if !view.evaluation.not_evaluated.is_empty() {
        let _ = writeln!(out, "### Not checked\n");
        for n in &view.evaluation.not_evaluated {
            let _ = writeln!(out, "- `{}`: could not evaluate: {}", n.rule, cell(&n.reason));
        }
        out.push('\n');
    }
    if !view.evaluation.ruled_out.is_empty() {
        let _ = writeln!(out, "### Checked and ruled out\n");
        for r in &view.evaluation.ruled_out {
            let _ = writeln!(out, "- `{}`: {}", r.rule, cell(&r.reason));
        }
        out.push('\n');
    }
    let skewed: Vec<_> = view.timeline.clocks.iter().filter(|c| c.skewed).collect();
    if !skewed.is_empty() {
        let _ = writeln!(out, "### Clocks\n");
        for c in skewed {
            let _ = writeln!(
                out,
                "- {}: {} event(s) later than collection (newest {} s after it): its clock may run ahead; its times are shown as reported.",
                cell(&c.source),
                c.future_events,
                c.newest_event_offset_secs
            );
        }
        out.push('\n');
    }
}

fn collectors(out: &mut String, view: &RunView) {
    let _ = writeln!(
        out,
        "## Collectors\n\n| collector | status | duration | summary |\n|---|---|---|---|"
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
    out.push('\n');
    for r in &view.records {
        let _ = writeln!(out, "### {}/{} — {}\n", r.kind, r.name, r.status());
        let _ = writeln!(out, "{}\n", cell(&r.evidence.summary));
        if let Some(error) = &r.error
            && error != &r.evidence.summary
        {
            let _ = writeln!(out, "Error: {}\n", cell(error));
        }
        for note in &r.evidence.notes {
            let _ = writeln!(out, "- note: {}", cell(note));
        }
        if !r.evidence.facts.is_empty() {
            let facts: Vec<String> = r
                .evidence
                .facts
                .iter()
                .map(|(k, v)| {
                    format!("`{k}` = {}", cell(&serde_json::to_string(v).unwrap_or_default()))
                })
                .collect();
            let _ = writeln!(out, "- facts: {}", facts.join(", "));
        }
        let _ = writeln!(out, "- evidence: `{}`", r.evidence_path());
        let artifacts: Vec<String> = view.artifacts_of(r).map(|a| format!("`{a}`")).collect();
        if !artifacts.is_empty() {
            let _ = writeln!(out, "- raw artifacts: {}", artifacts.join(", "));
        }
        out.push('\n');
    }
}

fn integrity(out: &mut String, view: &RunView) {
    let _ = writeln!(out, "## Integrity\n");
    let _ = writeln!(
        out,
        "- Every file's SHA-256 and the root hash (`root_sha256`) are in `manifest.json`{}.",
        view.manifest.as_ref().map(|m| format!(": root `{}`", m.root_sha256)).unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "- Signature: {}.",
        if view.signed {
            "`manifest.sig` (ed25519) signs `manifest.json`"
        } else {
            "none (no signing key configured)"
        }
    );
    let _ = writeln!(
        out,
        "- Redaction: every file passed through redaction; counts per rule are in `manifest.json`.\n"
    );
    let key = if view.signed { " --key SIGNING.pub" } else { "" };
    code_block(out, "sh", &format!("witness verify {}{key}", view.id));
}
