//! The charts of `report.html`, drawn as inline SVG by witness (no scripts): the timeline
//! (one lane per source, markers by kind, the anchor marked), the error rate per minute
//! over baseline and window (the anchor and rollouts as vertical lines), and one chart per
//! metric series (the baseline shaded, the level that counts as leaving it, the onset, the
//! anchor and rollouts marked).

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::metrics::Metric;
use crate::escape::html as esc;
use crate::run::view::RunView;
use crate::timeline::TimelineEntry;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 20.0;

/// A linear time scale from `start..end` onto `LEFT..WIDTH-RIGHT`.
struct Scale {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Scale {
    fn x(&self, t: DateTime<Utc>) -> f64 {
        let span = (self.end - self.start).num_milliseconds().max(1) as f64;
        let at = (t - self.start).num_milliseconds() as f64;
        LEFT + (at / span).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && t <= self.end
    }

    /// About six ticks on round minutes, labelled HH:MM.
    fn ticks(&self, out: &mut String, top: f64, bottom: f64) {
        let span_min = ((self.end - self.start).num_minutes()).max(1);
        let step = [1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440]
            .into_iter()
            .find(|s| span_min / s <= 7)
            .unwrap_or(2880);
        let first = self.start.timestamp().div_euclid(60 * step) * 60 * step + 60 * step;
        let mut t = first;
        while t < self.end.timestamp() {
            let Some(at) = DateTime::from_timestamp(t, 0) else { break };
            let x = self.x(at);
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                bottom + 14.0,
                at.format("%H:%M")
            );
            t += 60 * step;
        }
    }
}

/// The anchor's dashed line and its label, kept inside the chart at either edge.
fn anchor_line(out: &mut String, x: f64, top: f64, bottom: f64) {
    let (label_x, align) = if x > WIDTH - RIGHT - 30.0 { (x - 4.0, "end") } else { (x, "middle") };
    let _ = write!(
        out,
        r#"<line class="anchor" x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}"/><text class="anchor-label" x="{label_x:.1}" y="{:.1}" text-anchor="{align}">anchor</text>"#,
        top - 4.0,
        top - 8.0
    );
}

/// A vertical line at each rollout (or deploy) of the timeline inside the chart.
fn rollout_lines(out: &mut String, view: &RunView, scale: &Scale, top: f64, bottom: f64) {
    for e in view
        .timeline
        .entries
        .iter()
        .filter(|e| marker_class(&e.kind) == "m-rollout" && scale.contains(e.time))
    {
        let x = scale.x(e.time);
        let _ = write!(
            out,
            r#"<line class="rollout" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}"><title>{}</title></line>"#,
            esc(&e.title)
        );
    }
}

/// Which marker an event kind gets.
fn marker_class(kind: &str) -> &'static str {
    let k = kind.to_ascii_lowercase();
    if k.contains("rollout") || k.contains("deploy") || k.contains("scaling") {
        "m-rollout"
    } else if k.contains("migration") {
        "m-migration"
    } else if k.contains("commit") || k.contains("change") || k.contains("tag") {
        "m-commit"
    } else if k.contains("error")
        || k.contains("signature")
        || k.contains("5xx")
        || k.contains("oom")
        || k.contains("crash")
    {
        "m-error"
    } else if k.contains("lock")
        || k.contains("idle")
        || k.contains("deadlock")
        || k.contains("long_")
    {
        "m-lock"
    } else if k.contains("vendor")
        || k.contains("incident")
        || k.contains("maintenance")
        || k.contains("component")
    {
        "m-vendor"
    } else if k.contains("health") || k.contains("cert") || k.contains("saturation") {
        "m-health"
    } else if k.contains("alert") {
        "m-alert"
    } else if k.contains("metric") {
        "m-metric"
    } else {
        "m-other"
    }
}

fn marker(out: &mut String, class: &str, x: f64, y: f64) {
    let _ = match class {
        "m-rollout" => write!(
            out,
            r#"<path class="{class}" d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z"/>"#,
            y - 7.0,
            x + 7.0,
            y + 6.0,
            x - 7.0,
            y + 6.0
        ),
        "m-lock" => write!(
            out,
            r#"<path class="{class}" d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z"/>"#,
            y - 7.0,
            x + 7.0,
            y + 7.0,
            x - 7.0
        ),
        "m-commit" | "m-migration" => write!(
            out,
            r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="11" height="11"/>"#,
            x - 5.5,
            y - 5.5
        ),
        _ => write!(out, r#"<circle class="{class}" cx="{x:.1}" cy="{y:.1}" r="6"/>"#),
    };
}

/// The span the timeline chart covers: the window, widened to include the events before
/// it (up to three windows back, so a day-old commit does not squash the incident).
fn timeline_scale(view: &RunView) -> Scale {
    let span = view.window.span();
    let earliest_allowed = view.window.start - span * 3;
    let start = view
        .timeline
        .entries
        .iter()
        .map(|e| e.time)
        .filter(|t| *t >= earliest_allowed)
        .min()
        .map_or(view.window.start, |t| t.min(view.window.start));
    let end = view
        .timeline
        .entries
        .iter()
        .map(|e| e.until.unwrap_or(e.time))
        .max()
        .map_or(view.window.end, |t| t.max(view.window.end));
    let pad = (end - start) / 40;
    Scale { start: start - pad, end: end + pad }
}

/// The timeline chart.
pub fn timeline_chart(view: &RunView) -> String {
    let mut lanes: Vec<&str> = Vec::new();
    for e in &view.timeline.entries {
        if !lanes.contains(&e.source.as_str()) {
            lanes.push(&e.source);
        }
    }
    let scale = timeline_scale(view);
    let lane_h = 30.0;
    let top = 20.0;
    let bottom = top + lane_h * lanes.len().max(1) as f64;
    let height = bottom + 30.0;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="Timeline of events by source" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = top + lane_h * i as f64 + lane_h / 2.0;
        let _ = write!(
            out,
            r#"<line class="lane" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 8.0,
            y + 4.0,
            esc(lane)
        );
    }
    scale.ticks(&mut out, top, bottom);
    anchor_line(&mut out, scale.x(view.anchor), top, bottom);
    for (i, e) in view.timeline.entries.iter().enumerate() {
        let lane = lanes.iter().position(|l| *l == e.source).unwrap_or(0);
        let y = top + lane_h * lane as f64 + lane_h / 2.0;
        let x = scale.x(e.time);
        let class = marker_class(&e.kind);
        let _ = write!(
            out,
            r##"<a href="#ev-{i}"><g><title>{}</title>"##,
            esc(&hover(e, scale.contains(e.time)))
        );
        if let Some(until) = e.until {
            let _ = write!(
                out,
                r#"<line class="burst {class}" x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
                scale.x(until)
            );
        }
        marker(&mut out, class, x, y);
        out.push_str("</g></a>");
    }
    out.push_str("</svg>");
    out
}

fn hover(e: &TimelineEntry, in_range: bool) -> String {
    let mut text =
        format!("{} ({}) · {}", witness_collector::time::format(e.time), e.offset, e.source);
    if e.count > 1 {
        let _ = write!(text, " · {} ×", e.count);
    }
    let _ = write!(text, "\n{}", e.title);
    if let Some(detail) = &e.detail {
        let _ = write!(text, "\n{detail}");
    }
    if !in_range {
        text.push_str("\n(earlier than the chart: drawn at its left edge)");
    }
    text
}

/// One minute bucket summed over every logs instance (or, without logs evidence, over the
/// pods' logs the `kubernetes` instances read).
#[derive(Default, Clone, Copy)]
struct Bucket {
    baseline: bool,
    errors: u64,
    status_5xx: Option<u64>,
}

fn error_series(view: &RunView) -> (BTreeMap<DateTime<Utc>, Bucket>, i64) {
    let mut series: BTreeMap<DateTime<Utc>, Bucket> = BTreeMap::new();
    let mut bucket_secs = 60;
    let with_evidence = || view.records.iter().filter(|r| r.status().has_evidence());
    let mut sources: Vec<&serde_json::Value> =
        with_evidence().filter(|r| r.kind == "logs").map(|r| &r.evidence.data).collect();
    if sources.is_empty() {
        sources = with_evidence()
            .filter(|r| r.kind == "kubernetes")
            .filter_map(crate::rules::derive::pod_log_analysis)
            .collect();
    }
    for data in sources {
        bucket_secs = data["bucket_secs"].as_i64().unwrap_or(60).max(1);
        for point in data["series"].as_array().into_iter().flatten() {
            let Some(minute) =
                point["minute"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            else {
                continue;
            };
            let bucket = series.entry(minute.with_timezone(&Utc)).or_default();
            bucket.baseline = point["baseline"].as_bool().unwrap_or(false);
            bucket.errors += point["errors"].as_u64().unwrap_or(0);
            if let Some(n) = point["status_5xx"].as_u64() {
                bucket.status_5xx = Some(bucket.status_5xx.unwrap_or(0) + n);
            }
        }
    }
    (series, bucket_secs)
}

/// The error-rate chart, or `None` when no logs evidence (nor pod logs) carries a series.
pub fn error_rate_chart(view: &RunView) -> Option<String> {
    let (series, bucket_secs) = error_series(view);
    let (first, last) = (*series.keys().next()?, *series.keys().last()?);
    let scale = Scale { start: first, end: last + chrono::Duration::seconds(bucket_secs) };
    let (top, bottom, height) = (24.0, 200.0, 236.0);
    let max =
        series.values().map(|b| b.errors.max(b.status_5xx.unwrap_or(0))).max().unwrap_or(0).max(1)
            as f64;
    let y = |v: u64| bottom - (v as f64 / max) * (bottom - top);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="Errors per minute, baseline and window" xmlns="http://www.w3.org/2000/svg">"#
    );
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{max:.0}/{}s</text><text class="label" x="{:.1}" y="{bottom:.1}" text-anchor="end">0</text><line class="lane" x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}"/>"#,
        LEFT - 8.0,
        top + 4.0,
        bucket_secs,
        LEFT - 8.0,
        WIDTH - RIGHT
    );
    scale.ticks(&mut out, top, bottom);
    let bar_w =
        ((scale.x(first + chrono::Duration::seconds(bucket_secs)) - scale.x(first)) - 1.0).max(1.0);
    let mut line = Vec::new();
    for (minute, b) in &series {
        let x = scale.x(*minute);
        let class = if b.baseline { "bar-baseline" } else { "bar-window" };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{bar_w:.1}" height="{:.1}"><title>{} · {} errors{}</title></rect>"#,
            y(b.errors),
            bottom - y(b.errors),
            witness_collector::time::format(*minute),
            b.errors,
            b.status_5xx.map(|n| format!(", {n} × 5xx")).unwrap_or_default()
        );
        if let Some(n) = b.status_5xx {
            line.push(format!("{:.1},{:.1}", x + bar_w / 2.0, y(n)));
        }
    }
    if !line.is_empty() {
        let _ = write!(out, r#"<polyline class="line-5xx" points="{}"/>"#, line.join(" "));
    }
    rollout_lines(&mut out, view, &scale, top, bottom);
    anchor_line(&mut out, scale.x(view.anchor), top, bottom);
    let legend_y = height - 6.0;
    let _ = write!(
        out,
        r#"<rect class="bar-baseline" x="{LEFT}" y="{:.1}" width="10" height="10"/><text class="tick" x="{:.1}" y="{legend_y:.1}">baseline errors</text><rect class="bar-window" x="{:.1}" y="{:.1}" width="10" height="10"/><text class="tick" x="{:.1}" y="{legend_y:.1}">window errors</text><line class="line-5xx" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><text class="tick" x="{:.1}" y="{legend_y:.1}">5xx</text>"#,
        legend_y - 9.0,
        LEFT + 14.0,
        LEFT + 130.0,
        legend_y - 9.0,
        LEFT + 144.0,
        LEFT + 250.0,
        legend_y - 4.0,
        LEFT + 270.0,
        legend_y - 4.0,
        LEFT + 274.0
    );
    out.push_str("</svg>");
    Some(out)
}

/// The chart of one metric series over baseline and window: the baseline's span shaded,
/// the values as a line (broken where points are missing), the level that counted as
/// leaving the baseline (or the alert's threshold) dashed, the onset, the rollouts and the
/// anchor as vertical lines. `None` for a series without points.
pub fn metric_chart(metric: &Metric, view: &RunView) -> Option<String> {
    let (first, last) = (metric.points.first()?.0, metric.points.last()?.0);
    let scale = Scale { start: metric.baseline.start.min(first), end: metric.window.end.max(last) };
    let (top, bottom, height) = (24.0, 180.0, 216.0);
    let values = metric.points.iter().map(|(_, v)| *v).chain(metric.level);
    let (low, high) = values.fold((0.0f64, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let high = if high > low { high + (high - low) * 0.08 } else { low + 1.0 };
    let y = |v: f64| bottom - (v - low) / (high - low) * (bottom - top);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{} over baseline and window" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        esc(&metric.label()),
        esc(&metric.expr)
    );
    let (b0, b1) = (scale.x(metric.baseline.start), scale.x(metric.baseline.end));
    let _ = write!(
        out,
        r#"<rect class="baseline-span" x="{b0:.1}" y="{top}" width="{:.1}" height="{:.1}"><title>baseline</title></rect><text class="tick" x="{:.1}" y="{:.1}">baseline</text>"#,
        (b1 - b0).max(0.0),
        bottom - top,
        b0 + 4.0,
        top + 12.0
    );
    let _ = write!(
        out,
        r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text class="label" x="{:.1}" y="{bottom:.1}" text-anchor="end">{}</text><line class="lane" x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}"/>"#,
        LEFT - 8.0,
        top + 4.0,
        esc(&metric.value(high)),
        LEFT - 8.0,
        esc(&metric.value(low)),
        WIDTH - RIGHT
    );
    scale.ticks(&mut out, top, bottom);
    if let Some(level) = metric.level {
        let label = match &metric.condition {
            Some(_) => format!("threshold {}", metric.value(level)),
            None => format!("departure level {}", metric.value(level)),
        };
        let _ = write!(
            out,
            r#"<line class="metric-level" x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}"><title>{}</title></line>"#,
            y(level),
            WIDTH - RIGHT,
            y(level),
            esc(&label)
        );
    }
    // One polyline per run of consecutive points: a gap is missing data, not a slope.
    let gap = chrono::Duration::seconds(metric.step_secs * 3 / 2);
    let mut runs: Vec<Vec<String>> = Vec::new();
    for (i, (t, v)) in metric.points.iter().enumerate() {
        if i == 0 || *t - metric.points[i - 1].0 > gap {
            runs.push(Vec::new());
        }
        if let Some(run) = runs.last_mut() {
            run.push(format!("{:.1},{:.1}", scale.x(*t), y(*v)));
        }
    }
    for run in runs {
        let _ = write!(out, r#"<polyline class="metric-line" points="{}"/>"#, run.join(" "));
    }
    if let Some(onset) = metric.onset_at {
        let x = scale.x(onset);
        let _ = write!(
            out,
            r#"<line class="onset" x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}"><title>onset {}</title></line><text class="onset-label" x="{:.1}" y="{:.1}">onset {}</text>"#,
            witness_collector::time::format(onset),
            x + 4.0,
            bottom - 6.0,
            witness_collector::time::offset_label(onset, view.anchor)
        );
    }
    rollout_lines(&mut out, view, &scale, top, bottom);
    anchor_line(&mut out, scale.x(view.anchor), top, bottom);
    let legend_y = height - 6.0;
    let _ = write!(
        out,
        r#"<rect class="baseline-span" x="{LEFT}" y="{:.1}" width="10" height="10"/><text class="tick" x="{:.1}" y="{legend_y:.1}">baseline</text><line class="metric-line" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><text class="tick" x="{:.1}" y="{legend_y:.1}">{}</text><line class="metric-level" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}"/><text class="tick" x="{:.1}" y="{legend_y:.1}">{}</text>"#,
        legend_y - 9.0,
        LEFT + 14.0,
        LEFT + 90.0,
        legend_y - 4.0,
        LEFT + 110.0,
        legend_y - 4.0,
        LEFT + 114.0,
        esc(&metric.name),
        LEFT + 300.0,
        legend_y - 4.0,
        LEFT + 320.0,
        legend_y - 4.0,
        LEFT + 324.0,
        if metric.condition.is_some() { "threshold" } else { "departure level" }
    );
    out.push_str("</svg>");
    Some(out)
}
