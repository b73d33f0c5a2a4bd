//! What a follow-up adds to every report, and the durations every report shows: the
//! verdict and each check (passed, not yet, could not check) with the evidence in both
//! bundles, the incident it checks (id and root hash), and the time to detect, to mitigate
//! and to resolve. One module for the three renderings (markdown, HTML, terminal), so
//! that they say the same thing; the reports call it where the sections go.
//!
//! A follow-up's own hypotheses (the rules run over its window, where the rollback is a
//! rollout) are listed without their commands: the follow-up answers "is it fixed?", and a
//! new diagnosis is `witness collect now`.

use std::fmt::Write;

use witness_collector::time::format as utc;

use super::anchors::evidence_link;
use super::words::{likelihood_words, recommendation_words};
use crate::escape::{html as esc, markdown_cell as cell};
use crate::run::follow_up::{Check, CheckStatus, FollowUp};
use crate::run::view::RunView;
use crate::timeline::EvidenceRef;

/// A ref into the incident's bundle, named by its id.
fn incident_ref(follow_up: &FollowUp, r: &EvidenceRef) -> String {
    format!("{}:{r}", follow_up.incident.id)
}

/// The lines about the incident and the resolution, as plain text.
fn context(f: &FollowUp) -> Vec<String> {
    let i = &f.incident;
    let mut lines = vec![format!(
        "Incident {} (root {}): {}, alert at {}{}",
        i.id,
        i.root_sha256,
        i.trigger,
        utc(i.anchor),
        i.severity.as_ref().map(|s| format!(", severity {s}")).unwrap_or_default()
    )];
    if let Some(recommendation) = &i.recommendation {
        lines.push(format!("It recommended: {recommendation}"));
    }
    lines.push(format!(
        "Resolved {} ({}); checked over {} → {}",
        utc(f.resolution.at),
        f.resolution.source,
        utc(f.window.start),
        utc(f.window.end)
    ));
    lines
}

fn status_class(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Passed => "s-ok",
        CheckStatus::NotYet => "s-failed",
        CheckStatus::CouldNotCheck => "s-partial",
    }
}

/// The follow-up section of `report.md`: the verdict first, then every check.
pub fn markdown(out: &mut String, view: &RunView) {
    let Some(f) = &view.follow_up else { return };
    let _ = writeln!(out, "## Follow-up: {}\n", cell(&f.verdict()));
    for line in context(f) {
        let _ = writeln!(out, "{}  ", cell(&line));
    }
    out.push('\n');
    if f.checks.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "| check | source | status | what the follow-up saw | evidence |\n|---|---|---|---|---|"
    );
    for c in &f.checks {
        let refs = check_refs(f, c, |r| format!("`{r}`"));
        let _ = writeln!(
            out,
            "| {} | {} | **{}** | {} | {} |",
            c.check.title(),
            cell(&c.source),
            c.status.words(),
            cell(&c.detail),
            refs
        );
    }
    out.push('\n');
}

/// `incident X; now Y`, each ref rendered by `render`.
fn check_refs(f: &FollowUp, c: &Check, render: impl Fn(&str) -> String) -> String {
    let before: Vec<String> =
        c.incident_evidence.iter().map(|r| render(&incident_ref(f, r))).collect();
    let after: Vec<String> = c.evidence.iter().map(|r| render(&r.to_string())).collect();
    let mut parts = Vec::new();
    if !before.is_empty() {
        parts.push(format!("incident {}", before.join(", ")));
    }
    if !after.is_empty() {
        parts.push(format!("now {}", after.join(", ")));
    }
    parts.join("; ")
}

/// The durations section of `report.md`, when any is known.
pub fn markdown_durations(out: &mut String, view: &RunView) {
    let lines = view.durations.lines();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Durations\n\n| duration | value |\n|---|---|");
    for (label, value) in lines {
        let _ = writeln!(out, "| {label} | {} |", cell(&value));
    }
    out.push('\n');
}

/// A follow-up's own hypotheses in `report.md`, without their commands.
pub fn markdown_hypotheses(out: &mut String, view: &RunView) {
    let _ = writeln!(
        out,
        "## Hypotheses over the follow-up's window\n\nThe rules ran again over the window after the resolution, where a rollback is itself a rollout: read these before acting, and run `witness collect now` for a new diagnosis with its commands.\n\n| recommendation | likelihood | hypothesis |\n|---|---|---|"
    );
    for h in &view.evaluation.hypotheses {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            recommendation_words(h.recommendation),
            likelihood_words(h.likelihood),
            cell(&h.title)
        );
    }
    out.push('\n');
}

/// The follow-up section of `report.html`.
pub fn html(out: &mut String, view: &RunView) {
    let Some(f) = &view.follow_up else { return };
    let c = f.counts();
    let class = if c.not_yet > 0 {
        "sev-p1"
    } else if c.could_not_check > 0 {
        "sev-p2"
    } else {
        "sev-p3"
    };
    let _ = writeln!(
        out,
        "<section id=\"follow-up\"><h2>Follow-up</h2><p class=\"severity {class}\"><strong>{}</strong></p>",
        esc(&f.verdict())
    );
    out.push_str("<p class=\"meta\">");
    let lines: Vec<String> = context(f).iter().map(|l| esc(l)).collect();
    out.push_str(&lines.join("<br>"));
    out.push_str("</p>\n");
    if !f.checks.is_empty() {
        out.push_str("<table><tr><th>check</th><th>source</th><th>status</th><th>what the follow-up saw</th><th>evidence</th></tr>\n");
        for check in &f.checks {
            let before: Vec<String> = check
                .incident_evidence
                .iter()
                .map(|r| format!("<code>{}</code>", esc(&incident_ref(f, r))))
                .collect();
            let after: Vec<String> = check.evidence.iter().map(evidence_link).collect();
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"{}\"><strong>{}</strong></td><td>{}</td><td>incident {}<br>now {}</td></tr>",
                esc(check.check.title()),
                esc(&check.source),
                status_class(check.status),
                check.status.words(),
                esc(&check.detail),
                before.join(", "),
                after.join(", ")
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

/// The durations section of `report.html`, when any is known.
pub fn html_durations(out: &mut String, view: &RunView) {
    let lines = view.durations.lines();
    if lines.is_empty() {
        return;
    }
    out.push_str("<section id=\"durations\"><h2>Durations</h2><table>\n");
    for (label, value) in lines {
        let _ = writeln!(out, "<tr><th>{label}</th><td>{}</td></tr>", esc(&value));
    }
    out.push_str("</table></section>\n");
}

/// A follow-up's own hypotheses in `report.html`, without their commands.
pub fn html_hypotheses(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"hypotheses\"><h2>Hypotheses over the follow-up's window</h2><p class=\"meta\">The rules ran again over the window after the resolution, where a rollback is itself a rollout: read these before acting, and run <code>witness collect now</code> for a new diagnosis with its commands.</p><table><tr><th>recommendation</th><th>likelihood</th><th>hypothesis</th></tr>\n");
    for h in &view.evaluation.hypotheses {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(recommendation_words(h.recommendation)),
            likelihood_words(h.likelihood),
            esc(&h.title)
        );
    }
    out.push_str("</table></section>\n");
}

/// The follow-up and durations for `witness show` (uncoloured; the caller cleans it).
pub fn text(view: &RunView) -> String {
    let mut out = String::new();
    if let Some(f) = &view.follow_up {
        let _ = writeln!(out, "FOLLOW-UP {}", f.verdict());
        for line in context(f) {
            let _ = writeln!(out, "  {line}");
        }
        for c in &f.checks {
            let _ = writeln!(
                out,
                "  {:<15} {:<31} {:<18} {}",
                c.status.words(),
                c.check.title(),
                c.source,
                c.detail
            );
            let refs = check_refs(f, c, str::to_owned);
            if !refs.is_empty() {
                let _ = writeln!(out, "  {:<15} {refs}", "");
            }
        }
        out.push('\n');
    }
    let lines = view.durations.lines();
    if !lines.is_empty() {
        for (label, value) in lines {
            let _ = writeln!(out, "{label:<17} {value}");
        }
        out.push('\n');
    }
    out
}
