//! `witness show` for a terminal: recommendation first, impact, the timeline, collectors,
//! and what was redacted — with colour when stdout is a TTY.

use std::fmt::Write;

use witness_collector::Status;
use witness_collector::time::format as utc;

use super::words::{likelihood_words, recommendation_words, title};
use crate::run::view::RunView;

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn red(&self, t: &str) -> String {
        self.wrap("31", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.wrap("33", t)
    }
    fn green(&self, t: &str) -> String {
        self.wrap("32", t)
    }
    fn dim(&self, t: &str) -> String {
        self.wrap("2", t)
    }
}

/// Removes control characters (terminal escapes from hostile evidence) from `text`.
fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect()
}

/// Renders the bundle for a terminal.
pub fn text(view: &RunView, colour: bool) -> String {
    let p = Paint(colour);
    let mut out = String::new();
    let _ = writeln!(out, "{}", p.bold(&clean(&title(view))));
    let _ = writeln!(
        out,
        "{}\n",
        p.dim(&format!(
            "bundle {} · window {} → {}",
            view.id,
            utc(view.window.start),
            utc(view.window.end)
        ))
    );
    if let Some(severity) = &view.severity {
        let level = format!("SEVERITY {}", severity.level.as_str());
        let level = match severity.level {
            crate::run::severity::Level::P0 | crate::run::severity::Level::P1 => p.red(&level),
            crate::run::severity::Level::P2 => p.yellow(&level),
            crate::run::severity::Level::P3 => p.bold(&level),
        };
        let alert = severity.alert_severity.as_ref().map(|a| format!("; the alert says {a}"));
        let meaning = format!("{}{}", severity.level.meaning(), alert.unwrap_or_default());
        let _ = writeln!(out, "{level} ({})", clean(&meaning));
        for r in &severity.reasons {
            let _ = writeln!(
                out,
                "  {}: {} {}",
                r.level.as_str(),
                clean(&r.text),
                p.dim(&r.evidence.to_string())
            );
        }
        out.push('\n');
    }
    out.push_str(&clean(&super::follow_up::text(view)));
    if let Some(top) = view.evaluation.hypotheses.first().filter(|_| view.follow_up.is_none()) {
        let rec = recommendation_words(top.recommendation).to_uppercase();
        let rec = match top.recommendation {
            crate::rules::Recommendation::Rollback => p.red(&rec),
            crate::rules::Recommendation::ScaleUp => p.yellow(&rec),
            crate::rules::Recommendation::Investigate => p.bold(&rec),
        };
        let _ = writeln!(
            out,
            "{rec} ({} likelihood) {}",
            likelihood_words(top.likelihood),
            p.bold(&clean(&top.title))
        );
        for command in &top.commands {
            let _ = writeln!(out, "  $ {}", clean(command));
        }
        let _ = writeln!(out, "  {}", clean(top.explanation.trim()));
        for r in &top.evidence {
            let _ = writeln!(out, "  {} {r}", p.dim("evidence:"));
        }
        out.push('\n');
    }
    let impact = &view.impact;
    if !impact.signals.is_empty() {
        let _ = writeln!(out, "{}", p.bold("Impact"));
        for s in &impact.signals {
            let _ = writeln!(out, "  {:<28} {}", clean(&s.label), clean(&s.value));
        }
        out.push('\n');
    }
    let metrics = super::metrics::metrics(view);
    if !metrics.is_empty() {
        let _ = writeln!(out, "{}", p.bold("Metrics"));
        for m in &metrics {
            let reading = clean(&m.reading(view.anchor));
            let reading = if m.status == "ok" { reading } else { p.yellow(&reading) };
            let _ = writeln!(
                out,
                "  {:<28} {reading} {}",
                clean(&format!("{} ({})", m.label(), m.source)),
                p.dim(&m.evidence.to_string())
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{}", p.bold("Timeline"));
    for e in &view.timeline.entries {
        let count = if e.count > 1 { format!("{} × ", e.count) } else { String::new() };
        let _ = writeln!(
            out,
            "  {} {:>9}  {:<22} {count}{}",
            utc(e.time),
            e.offset,
            clean(&e.source),
            clean(&e.title)
        );
    }
    out.push('\n');
    // A follow-up's hypotheses are what the rules see after the resolution: listed, not
    // offered as the next command.
    let (skip, word) = if view.follow_up.is_some() { (0, "after") } else { (1, "also") };
    for h in view.evaluation.hypotheses.iter().skip(skip) {
        let _ = writeln!(
            out,
            "  {word}: {} ({}) {}",
            recommendation_words(h.recommendation),
            likelihood_words(h.likelihood),
            clean(&h.title)
        );
    }
    for n in &view.evaluation.not_evaluated {
        let _ = writeln!(out, "  {} {}: {}", p.dim("not checked"), n.rule, clean(&n.reason));
    }
    let _ = writeln!(out, "\n{}", p.bold("Collectors"));
    for r in &view.records {
        let status = match r.status() {
            Status::Ok => p.green("ok"),
            Status::Partial => p.yellow("partial"),
            Status::Skipped => p.dim("skipped"),
            s => p.red(s.as_str()),
        };
        let _ = writeln!(
            out,
            "  {:<24} {status:<9} {:>6} ms  {}",
            format!("{}/{}", r.kind, r.name),
            r.duration_ms,
            clean(r.error.as_deref().unwrap_or(&r.evidence.summary))
        );
    }
    if let Some(manifest) = &view.manifest {
        let redacted: Vec<String> =
            manifest.redactions.iter().map(|(rule, n)| format!("{rule} × {n}")).collect();
        let _ = writeln!(
            out,
            "\n{} {}",
            p.bold("Redacted:"),
            if redacted.is_empty() { "nothing".to_owned() } else { redacted.join(", ") }
        );
        let _ = writeln!(
            out,
            "{} {} · {}",
            p.bold("Root hash:"),
            manifest.root_sha256,
            if view.signed { "signed" } else { "not signed" }
        );
    }
    out
}
