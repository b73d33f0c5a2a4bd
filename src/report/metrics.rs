//! The metric series of a run as the reports show them: each series a `prometheus`
//! instance evaluated (the alert's own expression and every configured query), read back
//! from its evidence's `data` with what it said — baseline, peak, ratio, onset — and the
//! ones that gave nothing, with why: a query that failed or came back empty is listed as
//! such, never left out as if it were fine.

use chrono::{DateTime, Utc};
use serde_json::Value;
use witness_collector::Window;
use witness_prometheus::units::with_unit;

use crate::run::view::RunView;
use crate::timeline::EvidenceRef;

/// One evaluated series (or the reason there is none).
#[derive(Debug, Clone)]
pub struct Metric {
    /// `prometheus/<instance>`.
    pub source: String,
    /// `alert` for the alert's expression, else the query's name.
    pub name: String,
    pub alert: bool,
    /// The PromQL as configured (filled in) or as the alert rule has it.
    pub expr: String,
    pub unit: Option<String>,
    /// `ok`, `empty`, `failed` or `skipped`.
    pub status: String,
    pub error: Option<String>,
    /// The points of the series the facts come from.
    pub points: Vec<(DateTime<Utc>, f64)>,
    pub step_secs: i64,
    /// The level that counted as leaving the baseline, or the alert's threshold.
    pub level: Option<f64>,
    /// `> 0.05` for the alert's condition.
    pub condition: Option<String>,
    pub baseline_mean: Option<f64>,
    pub peak: Option<f64>,
    pub ratio: Option<f64>,
    pub onset_at: Option<DateTime<Utc>>,
    pub baseline: Window,
    pub window: Window,
    pub evidence: EvidenceRef,
}

impl Metric {
    /// What the series is, in words: `the alert's expression`, or the query's name.
    pub fn label(&self) -> String {
        if self.alert { "the alert's expression".to_owned() } else { self.name.clone() }
    }

    /// `value` in the series' unit.
    pub fn value(&self, value: f64) -> String {
        with_unit(value, self.unit.as_deref())
    }

    /// What the series said, in one line: `baseline 100 req/s · peak 330 req/s · ×3.29 ·
    /// onset T-10m (2025-11-19T20:50:00.000Z)`; for a query that gave nothing, its status
    /// and why.
    pub fn reading(&self, anchor: DateTime<Utc>) -> String {
        if self.status != "ok" {
            let why = self.error.as_deref().unwrap_or("no series over the window and the baseline");
            return format!("{}: {why}; nothing measured, which is not healthy", self.status);
        }
        let mut parts = Vec::new();
        if let Some(condition) = &self.condition {
            parts.push(format!("condition {condition}"));
        }
        if let Some(b) = self.baseline_mean {
            parts.push(format!("baseline {}", self.value(b)));
        }
        if let Some(p) = self.peak {
            parts.push(format!("peak {}", self.value(p)));
        }
        if let Some(r) = self.ratio {
            parts.push(format!("×{}", witness_prometheus::units::short(r)));
        }
        parts.push(match self.onset_at {
            Some(at) => format!(
                "onset {} ({})",
                witness_collector::time::offset_label(at, anchor),
                witness_collector::time::format(at)
            ),
            None if self.alert => "the condition did not hold in the window".to_owned(),
            None => "no departure from the baseline".to_owned(),
        });
        parts.join(" · ")
    }
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str()?.parse().ok()
}

fn window(value: &Value) -> Option<Window> {
    Some(Window::new(time(&value["start"])?, time(&value["end"])?))
}

/// Every series of every `prometheus` instance with evidence, in config order.
pub fn metrics(view: &RunView) -> Vec<Metric> {
    let mut out = Vec::new();
    for record in
        view.records.iter().filter(|r| r.kind == "prometheus" && r.status().has_evidence())
    {
        let data = &record.evidence.data;
        let (Some(baseline), Some(win)) = (window(&data["baseline"]), window(&data["window"]))
        else {
            continue;
        };
        let step_secs = data["step_secs"].as_i64().unwrap_or(60).max(1);
        for (i, q) in data["queries"].as_array().into_iter().flatten().enumerate() {
            let reading = &q["reading"];
            let points = q["series"][0]["points"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((time(&p[0])?, p[1].as_f64()?)))
                .collect();
            let how = &q["how"];
            let condition = (how["as"] == "crossing").then(|| {
                format!(
                    "{} {}",
                    how["op"].as_str().unwrap_or("?"),
                    how["threshold"].as_f64().map_or_else(|| "?".to_owned(), |t| t.to_string())
                )
            });
            out.push(Metric {
                source: format!("{}/{}", record.kind, record.name),
                name: q["name"].as_str().unwrap_or("?").to_owned(),
                alert: q["source"] == "alert",
                expr: q["alert_expr"].as_str().or(q["expr"].as_str()).unwrap_or("").to_owned(),
                unit: q["unit"].as_str().map(str::to_owned),
                status: q["status"].as_str().unwrap_or("?").to_owned(),
                error: q["error"].as_str().map(str::to_owned),
                points,
                step_secs,
                level: reading["level"].as_f64(),
                condition,
                baseline_mean: reading["baseline_mean"].as_f64(),
                peak: reading["peak"].as_f64(),
                ratio: reading["ratio"].as_f64(),
                onset_at: time(&reading["onset_at"]),
                baseline,
                window: win,
                evidence: EvidenceRef::into_record(record, format!("/data/queries/{i}")),
            });
        }
    }
    out
}
