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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;
    use witness_collector::{Event, Evidence};

    use super::*;
    use crate::bundle::layout::CollectorRecord;
    use crate::rules::rule::RuleSet;
    use crate::run::analyse::{Gathered, analyse};
    use crate::run::view::BundleInfo;
    use crate::trigger::Trigger;

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
    }

    fn record(kind: &str, evidence: Evidence) -> CollectorRecord {
        CollectorRecord {
            kind: kind.into(),
            name: "prod".into(),
            started_at: at(0),
            finished_at: at(0),
            duration_ms: 1,
            error: None,
            redactions: Default::default(),
            evidence,
        }
    }

    /// A rollout at T-12m, and a request rate that left its baseline at T-10m, with a
    /// gap of missing points at T-20m; a second query that Prometheus refused.
    fn view() -> RunView {
        let points: Vec<Value> = (-90..=0)
            .filter(|m| !(-22..-19).contains(m))
            .map(|m| {
                json!([witness_collector::time::format(at(m)), if m < -10 { 100.0 } else { 300.0 }])
            })
            .collect();
        let data = json!({
            "url": "http://prometheus:9090", "step_secs": 60,
            "baseline": {"start": "2025-11-19T19:30:00.000Z", "end": "2025-11-19T20:30:00.000Z"},
            "window": {"start": "2025-11-19T20:30:00.000Z", "end": "2025-11-19T21:00:00.000Z"},
            "queries": [
                {"name": "request_rate", "source": "query", "expr": "sum(rate(x[5m]))", "unit": "req/s",
                 "how": {"as": "departure", "direction": "up", "baseline_floor": 0.0}, "status": "ok",
                 "series_count": 1, "series": [{"labels": {}, "points": points}],
                 "reading": {"baseline_points": 60, "baseline_mean": 100.0, "window_points": 28,
                             "window_mean": 200.0, "peak": 300.0, "level": 150.0,
                             "onset_at": "2025-11-19T20:50:00.000Z", "onset_offset_secs": -600, "ratio": 3.0}},
                {"name": "broken", "source": "query", "expr": "sum(", "how": {"as": "departure"},
                 "status": "failed", "error": "Prometheus refused the query (bad PromQL or parameters): bad_data: parse error",
                 "series_count": 0, "series": []}
            ]
        });
        let records = vec![
            record("prometheus", Evidence::ok("metrics").data(data)),
            record(
                "kubernetes",
                Evidence::ok("k").event(Event::new(at(-12), "rollout", "Rollout of revision 42")),
            ),
        ];
        let gathered = Gathered {
            trigger: Trigger::manual(at(0), Default::default()),
            anchor: at(0),
            window: Window::new(at(-30), at(0)),
            records,
        };
        let bundle =
            BundleInfo { id: "b".into(), files: Vec::new(), signed: false, manifest: None };
        analyse(gathered, &RuleSet::default(), bundle)
    }

    #[test]
    fn each_series_reads_with_its_figures_and_a_failed_one_is_never_healthy() {
        let view = view();
        let metrics = metrics(&view);
        assert_eq!(metrics.len(), 2);
        assert_eq!(
            metrics[0].reading(view.anchor),
            "baseline 100 req/s · peak 300 req/s · ×3 · onset T-10m (2025-11-19T20:50:00.000Z)"
        );
        assert_eq!(
            metrics[0].evidence.to_string(),
            "evidence/prometheus-prod.json#/data/queries/0"
        );
        assert_eq!(
            metrics[1].reading(view.anchor),
            "failed: Prometheus refused the query (bad PromQL or parameters): bad_data: parse error; nothing measured, which is not healthy"
        );
    }

    #[test]
    fn a_chart_shades_the_baseline_and_marks_the_level_the_onset_the_rollout_and_the_anchor() {
        let view = view();
        let metrics = metrics(&view);
        let chart = super::super::svg::metric_chart(&metrics[0], &view).unwrap();
        assert_eq!(
            chart.matches("<rect class=\"baseline-span\"").count(),
            2,
            "the span and its legend"
        );
        assert!(chart.contains("<title>departure level 150 req/s</title>"), "{chart}");
        assert!(chart.contains(">onset T-10m</text>"), "{chart}");
        assert!(chart.contains("<line class=\"rollout\""), "{chart}");
        assert!(chart.contains("<title>Rollout of revision 42</title>"), "{chart}");
        assert!(chart.contains("class=\"anchor\""), "{chart}");
        // The missing minutes break the line: two runs, plus the legend's line.
        assert_eq!(chart.matches("<polyline class=\"metric-line\"").count(), 2, "{chart}");
        assert!(super::super::svg::metric_chart(&metrics[1], &view).is_none());
    }
}
