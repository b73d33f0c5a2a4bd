//! `report.html`: one self-contained page — inline CSS and SVG, no scripts, no fonts or
//! images from anywhere — that opens from an attachment on an air-gapped laptop, prints to
//! PDF and follows dark mode. The recommendation and its command come first; the bundle's
//! JSON (trigger, timeline, hypotheses) is embedded so the page is complete on its own.

use std::fmt::Write;

use witness_collector::time::format as utc;

use super::anchors::{collector_anchor, evidence_link};
use super::words::{likelihood_words, recommendation_words, title};
use super::{metrics, svg};
use crate::rules::Hypothesis;
use crate::run::view::RunView;

pub use crate::escape::html as esc;

/// The reports' style, shared by every page witness writes (the postmortem draft too).
pub(super) const STYLE: &str = r#"
:root{--bg:#fff;--fg:#1d2330;--muted:#5b6475;--card:#f5f7fa;--line:#d9dee7;--accent:#0b5fff;--bad:#c62828;--warn:#b26a00;--ok:#2e7d32;--code:#eef1f6}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--fg:#e6e9ef;--muted:#9aa3b2;--card:#1b2029;--line:#2c3340;--accent:#6ea2ff;--bad:#ff6b6b;--warn:#f0b44c;--ok:#6bd17a;--code:#0d1016}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1040px;padding:24px;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
.meta{color:var(--muted);font-size:13px}
a{color:var(--accent)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--code);border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;user-select:all}
.severity{font-size:1.1em;padding:8px 12px;border-radius:6px;border-left:6px solid var(--line)}.sev-p0,.sev-p1{border-left-color:var(--bad)}.sev-p2{border-left-color:#e8710a}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:10px 0}
.top{border-left:6px solid var(--accent)}
.top.rollback{border-left-color:var(--bad)}.top.scale_up{border-left-color:var(--warn)}
.rec{font-size:20px;font-weight:700;text-transform:uppercase;letter-spacing:.02em}
.pill{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;border:1px solid var(--line)}
.high{color:var(--bad)}.medium{color:var(--warn)}.low{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;font-size:13px}
th{color:var(--muted);font-weight:600}
td.num{text-align:right;white-space:nowrap}
.s-ok{color:var(--ok)}.s-partial{color:var(--warn)}.s-failed,.s-timed_out{color:var(--bad)}.s-skipped{color:var(--muted)}
.chart{display:block;margin:8px 0;background:var(--card);border:1px solid var(--line);border-radius:8px}
.chart .lane{stroke:var(--line)}.chart .grid{stroke:var(--line);stroke-dasharray:2 4}
.chart .label,.chart .tick{fill:var(--muted);font-size:11px}
.chart .anchor{stroke:var(--bad);stroke-width:2;stroke-dasharray:6 3}.chart .anchor-label{fill:var(--bad);font-size:11px;font-weight:700}
.chart .rollout{stroke:#7b3fe4;stroke-width:2}
.m-rollout{fill:#7b3fe4}.m-migration{fill:#e8710a}.m-commit{fill:#8a94a6}.m-error{fill:var(--bad)}.m-lock{fill:#e8710a}
.m-vendor{fill:#1a73e8}.m-health{fill:#d81b60}.m-alert{fill:var(--fg)}.m-other{fill:#8a94a6}
.burst{stroke-width:4;opacity:.45;stroke:var(--bad)}
.bar-baseline{fill:#9aa3b2}.bar-window{fill:var(--bad)}.line-5xx{fill:none;stroke:var(--fg);stroke-width:2}
.chart a:focus circle,.chart a:hover circle{stroke:var(--fg);stroke-width:2}
.baseline-span{fill:var(--muted);opacity:.15}.metric-line{fill:none;stroke:var(--accent);stroke-width:2}.metric-level{stroke:var(--warn);stroke-width:1.5;stroke-dasharray:5 4}
.chart .onset{stroke:var(--warn);stroke-width:2}.chart .onset-label{fill:var(--warn);font-size:11px;font-weight:700}.m-metric{fill:var(--warn)}
@media print{body{max-width:none;padding:0;font-size:12px}a{color:inherit;text-decoration:none}.card,.chart,tr{break-inside:avoid}pre{user-select:text}h2{break-after:avoid}}
"#;

/// Renders `report.html`.
pub fn html(view: &RunView) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = title(view);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&format!("witness · {title}"))
    );
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p class=\"meta\">Bundle <code>{}</code> · trigger {} · window {} → {}</p></header>",
        esc(&title),
        esc(&view.id),
        esc(view.trigger.source.as_str()),
        utc(view.window.start),
        utc(view.window.end)
    );
    out.push_str("<main>\n");
    severity_section(&mut out, view);
    super::follow_up::html(&mut out, view);
    if let Some(top) = view.evaluation.hypotheses.first().filter(|_| view.follow_up.is_none()) {
        out.push_str("<section id=\"recommendation\">\n");
        hypothesis_card(&mut out, top, true);
        out.push_str("<p class=\"meta\">witness only reads: it ran none of these commands.</p>\n</section>\n");
    }
    impact_section(&mut out, view);
    super::follow_up::html_durations(&mut out, view);
    out.push_str("<section id=\"timeline-chart\"><h2>Timeline</h2>\n");
    out.push_str(&svg::timeline_chart(view));
    out.push_str("</section>\n<section id=\"error-rate\"><h2>Error rate</h2>\n");
    match svg::error_rate_chart(view) {
        Some(chart) => out.push_str(&chart),
        None => out.push_str(
            "<p class=\"meta\">No logs evidence with an error series: no error-rate chart.</p>",
        ),
    }
    out.push_str("</section>\n");
    metrics_section(&mut out, view);
    timeline_table(&mut out, view);
    if view.follow_up.is_some() {
        super::follow_up::html_hypotheses(&mut out, view);
    }
    other_hypotheses(&mut out, view);
    collectors(&mut out, view);
    integrity(&mut out, view);
    out.push_str("</main>\n");
    embedded_json(&mut out, view);
    out.push_str("</body>\n</html>\n");
    out
}

fn hypothesis_card(out: &mut String, h: &Hypothesis, top: bool) {
    let rec = serde_json::to_value(h.recommendation)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let likelihood = likelihood_words(h.likelihood);
    let _ = writeln!(
        out,
        "<div class=\"card{}\"><div><span class=\"rec\">{}</span> <span class=\"pill {likelihood}\">{likelihood} likelihood</span> <span class=\"meta\">score {:.2}</span></div>",
        if top { format!(" top {rec}") } else { String::new() },
        esc(recommendation_words(h.recommendation)),
        h.score
    );
    let _ = writeln!(out, "<h3>{}</h3>", esc(&h.title));
    for command in &h.commands {
        let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(command));
    }
    let _ = writeln!(out, "<p>{}</p>", esc(h.explanation.trim()));
    if !h.evidence.is_empty() {
        let links: Vec<String> = h.evidence.iter().map(evidence_link).collect();
        let _ = writeln!(out, "<p class=\"meta\">Evidence: {}</p>", links.join(", "));
    }
    if !h.counter_evidence.is_empty() {
        out.push_str("<p class=\"meta\">Against it:</p><ul>");
        for c in &h.counter_evidence {
            let _ = write!(out, "<li>{}</li>", esc(c));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</div>\n");
}

fn severity_section(out: &mut String, view: &RunView) {
    let Some(severity) = &view.severity else { return };
    let _ = write!(
        out,
        "<section id=\"severity\"><p class=\"severity sev-{}\"><strong>Severity {}</strong> · {}",
        severity.level.as_str().to_ascii_lowercase(),
        severity.level.as_str(),
        esc(severity.level.meaning())
    );
    if let Some(alert) = &severity.alert_severity {
        let _ = write!(out, " · the alert says <code>{}</code>", esc(alert));
    }
    out.push_str("</p>\n");
    if !severity.reasons.is_empty() {
        out.push_str("<ul>\n");
        for r in &severity.reasons {
            let _ = writeln!(
                out,
                "<li>{}: {} ({})</li>",
                r.level.as_str(),
                esc(&r.text),
                evidence_link(&r.evidence)
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn impact_section(out: &mut String, view: &RunView) {
    let impact = &view.impact;
    out.push_str("<section id=\"impact\"><h2>Impact</h2>\n");
    if impact.signals.is_empty() {
        out.push_str("<p class=\"meta\">No impact signals were collected (no logs, health or status evidence).</p>\n");
    } else {
        out.push_str("<table><tr><th>signal</th><th>value</th><th>evidence</th></tr>\n");
        for s in &impact.signals {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.label),
                esc(&s.value),
                evidence_link(&s.evidence)
            );
        }
        out.push_str("</table>\n");
    }
    if !impact.endpoints.is_empty() {
        out.push_str("<h3>Endpoints answering 5xx</h3><table><tr><th>endpoint</th><th>window</th><th>baseline</th></tr>\n");
        for e in &impact.endpoints {
            let _ = writeln!(
                out,
                "<tr><td><code>{} {}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&e.method),
                esc(&e.path),
                e.count,
                e.baseline_count
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n");
}

/// Each metric series a `prometheus` instance evaluated: what it said and its chart, or
/// why there is none. Left out for a run without metrics.
fn metrics_section(out: &mut String, view: &RunView) {
    let metrics = metrics::metrics(view);
    if metrics.is_empty() {
        return;
    }
    out.push_str("<section id=\"metrics\"><h2>Metrics</h2>\n");
    for m in &metrics {
        let _ = writeln!(
            out,
            "<h3>{} <span class=\"meta\">· {}</span></h3><p class=\"meta\"><code>{}</code> {}</p>",
            esc(&m.label()),
            esc(&m.source),
            esc(&m.expr),
            evidence_link(&m.evidence)
        );
        let class = if m.status == "ok" { "" } else { " class=\"s-failed\"" };
        let _ = writeln!(out, "<p{class}>{}</p>", esc(&m.reading(view.anchor)));
        if let Some(chart) = svg::metric_chart(m, view) {
            out.push_str(&chart);
        }
    }
    out.push_str("</section>\n");
}

fn timeline_table(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"timeline\"><h2>Timeline entries</h2>\n<table><tr><th>UTC</th><th>offset</th><th>source</th><th>what</th></tr>\n");
    for (i, e) in view.timeline.entries.iter().enumerate() {
        let count = if e.count > 1 { format!("{} × ", e.count) } else { String::new() };
        let detail = e
            .detail
            .as_deref()
            .map(|d| format!("<br><span class=\"meta\">{}</span>", esc(d)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr id=\"ev-{i}\"><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{count}{}{detail} {}</td></tr>",
            utc(e.time),
            esc(&e.offset),
            esc(&e.source),
            esc(&e.title),
            evidence_link(&e.evidence)
        );
    }
    out.push_str("</table></section>\n");
}

fn other_hypotheses(out: &mut String, view: &RunView) {
    // A follow-up lists every hypothesis already, without commands.
    if view.evaluation.hypotheses.len() > 1 && view.follow_up.is_none() {
        out.push_str("<section id=\"hypotheses\"><h2>Other hypotheses</h2>\n");
        for h in view.evaluation.hypotheses.iter().skip(1) {
            hypothesis_card(out, h, false);
        }
        out.push_str("</section>\n");
    }
    if !view.evaluation.not_evaluated.is_empty() {
        out.push_str("<section id=\"not-checked\"><h2>Not checked</h2><ul>\n");
        for n in &view.evaluation.not_evaluated {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: could not evaluate: {}</li>",
                esc(&n.rule),
                esc(&n.reason)
            );
        }
        out.push_str("</ul></section>\n");
    }
    if !view.evaluation.ruled_out.is_empty() {
        out.push_str("<section id=\"ruled-out\"><h2>Checked and ruled out</h2><ul>\n");
        for r in &view.evaluation.ruled_out {
            let _ = writeln!(out, "<li><code>{}</code>: {}</li>", esc(&r.rule), esc(&r.reason));
        }
        out.push_str("</ul></section>\n");
    }
    let skewed: Vec<_> = view.timeline.clocks.iter().filter(|c| c.skewed).collect();
    if !skewed.is_empty() {
        out.push_str("<section id=\"clocks\"><h2>Clocks</h2><ul>\n");
        for c in skewed {
            let _ = writeln!(
                out,
                "<li>{}: {} event(s) later than collection (newest {} s after it): its clock may run ahead.</li>",
                esc(&c.source),
                c.future_events,
                c.newest_event_offset_secs
            );
        }
        out.push_str("</ul></section>\n");
    }
}

fn collectors(out: &mut String, view: &RunView) {
    out.push_str("<section id=\"collectors\"><h2>Collectors</h2>\n<table><tr><th>collector</th><th>status</th><th>duration</th><th>summary</th></tr>\n");
    for r in &view.records {
        let text = r.error.as_deref().unwrap_or(&r.evidence.summary);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{}\">{}/{}</a></td><td class=\"s-{}\">{}</td><td class=\"num\">{} ms</td><td>{}</td></tr>",
            collector_anchor(&r.evidence_path()),
            esc(&r.kind),
            esc(&r.name),
            r.status(),
            r.status(),
            r.duration_ms,
            esc(text)
        );
    }
    out.push_str("</table>\n");
    for r in &view.records {
        let _ = writeln!(
            out,
            "<div class=\"card\" id=\"{}\"><h3>{}/{} · <span class=\"s-{}\">{}</span></h3><p>{}</p>",
            collector_anchor(&r.evidence_path()),
            esc(&r.kind),
            esc(&r.name),
            r.status(),
            r.status(),
            esc(&r.evidence.summary)
        );
        if let Some(error) = r.error.as_ref().filter(|e| **e != r.evidence.summary) {
            let _ = writeln!(out, "<p class=\"s-failed\">{}</p>", esc(error));
        }
        if !r.evidence.notes.is_empty() {
            out.push_str("<ul>");
            for note in &r.evidence.notes {
                let _ = write!(out, "<li>{}</li>", esc(note));
            }
            out.push_str("</ul>\n");
        }
        if !r.evidence.facts.is_empty() {
            out.push_str("<table><tr><th>fact</th><th>value</th></tr>");
            for (k, v) in &r.evidence.facts {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td></tr>",
                    esc(k),
                    esc(&serde_json::to_string(v).unwrap_or_default())
                );
            }
            out.push_str("</table>\n");
        }
        let artifacts: Vec<String> =
            view.artifacts_of(r).map(|a| format!("<code>{}</code>", esc(a))).collect();
        let _ = writeln!(
            out,
            "<p class=\"meta\">Evidence file <code>{}</code>{}</p></div>",
            esc(&r.evidence_path()),
            if artifacts.is_empty() {
                String::new()
            } else {
                format!(" · raw artifacts {}", artifacts.join(", "))
            }
        );
    }
    out.push_str("</section>\n");
}

fn integrity(out: &mut String, view: &RunView) {
    let key = if view.signed { " --key SIGNING.pub" } else { "" };
    let _ = writeln!(
        out,
        "<section id=\"integrity\"><h2>Integrity</h2><ul><li>Every file's SHA-256 and the root hash (<code>root_sha256</code>) are in <code>manifest.json</code>{}.</li><li>Signature: {}.</li><li>Every file passed through redaction; counts per rule are in <code>manifest.json</code>.</li></ul><pre><code>witness verify {}{key}</code></pre></section>",
        view.manifest
            .as_ref()
            .map(|m| format!(": root <code>{}</code>", esc(&m.root_sha256)))
            .unwrap_or_default(),
        if view.signed {
            "<code>manifest.sig</code> (ed25519) signs <code>manifest.json</code>"
        } else {
            "none (no signing key configured)"
        },
        esc(&view.id)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\" id=\"trigger\">Trigger: {} · {} · labels {}</p>",
        esc(&view.trigger.name),
        esc(view.trigger.source.as_str()),
        esc(&serde_json::to_string(&view.trigger.labels).unwrap_or_default())
    );
}

/// The bundle's JSON, inert (`application/json` is never executed), with `<` escaped so no
/// string can close the element.
fn embedded_json(out: &mut String, view: &RunView) {
    let data = serde_json::json!({
        "id": view.id,
        "trigger": view.trigger,
        "timeline": view.timeline,
        "hypotheses": view.evaluation,
        "severity": view.severity,
        "durations": view.durations,
        "follow_up": view.follow_up,
        "collectors": view.records.iter().map(|r| serde_json::json!({
            "kind": r.kind, "name": r.name, "status": r.status(), "summary": r.evidence.summary, "facts": r.evidence.facts,
        })).collect::<Vec<_>>(),
    });
    let json = serde_json::to_string(&data)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = writeln!(out, "<script type=\"application/json\" id=\"bundle-data\">{json}</script>");
}
