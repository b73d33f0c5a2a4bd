//! What one series says about the incident: its level in the baseline, its extreme in the
//! window, when it left the baseline (the onset) and by how much. Pure functions of the
//! points, so they are tested without a Prometheus.
//!
//! **Departure** (a configured query): the baseline's median `m` and spread `s` (1.4826 ×
//! the median absolute deviation, robust to the baseline's own spikes) set the level a
//! value must pass: `max(m + 3s, 1.5·m, m + floor)` upwards (`min(m − 3s, m / 1.5, m −
//! floor)` downwards). The onset is the first point of the first run of at least
//! [`SUSTAINED`] points past it (or of a run that lasts to the end of the data): one stray
//! point is noise. A series the baseline never had that appears inside the window departs
//! where it appears (a 5xx counter that did not exist before); one that has no baseline
//! points but is there from the window's start cannot be judged.
//!
//! **Crossing** (the alert's expression with a threshold): the onset is the point where
//! the condition began to hold in its run at or before the anchor (the one that fired the
//! alert), else in the first run after it.
//!
//! **Presence** (an expression without a threshold): the condition holds wherever the
//! expression returns a value; the onset is read from those runs the same way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::Window;

use crate::expr::Op;

/// A departure lasts at least this many consecutive points (or to the end of the data).
pub const SUSTAINED: usize = 3;

/// One time series as read: its labels and its points, in time order, finite values only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    #[serde(serialize_with = "points_rfc3339")]
    pub points: Vec<(DateTime<Utc>, f64)>,
}

fn points_rfc3339<S: serde::Serializer>(
    points: &[(DateTime<Utc>, f64)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(points.len()))?;
    for (t, v) in points {
        seq.serialize_element(&(witness_collector::time::format(*t), v))?;
    }
    seq.end()
}

/// Which way a series leaves its baseline when something is wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Up (errors, latency, traffic, saturation): the default.
    #[default]
    Up,
    /// Down (throughput, free space, healthy replicas).
    Down,
}

/// The span of a run as a series is read against it.
#[derive(Debug, Clone, Copy)]
pub struct Spans {
    pub baseline: Window,
    pub window: Window,
    pub anchor: DateTime<Utc>,
    /// The query's resolution: points farther apart than this are not consecutive.
    pub step: chrono::Duration,
}

/// What one series says, as written under `data.queries[].reading`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reading {
    pub baseline_points: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_mean: Option<f64>,
    pub window_points: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_mean: Option<f64>,
    /// The window's extreme in the series' direction (its maximum, or minimum downwards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", with = "witness_collector::time::millis_opt")]
    pub peak_at: Option<DateTime<Utc>>,
    /// The level a value had to pass to count as departed (or the alert's threshold).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", with = "witness_collector::time::millis_opt")]
    pub onset_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onset_offset_secs: Option<i64>,
    /// The window's mean from the onset on (the whole window's without one) over the
    /// baseline's mean (raised to the query's `baseline_floor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    /// Why a figure is missing, or how to read it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Reading {
    /// How far the series left its baseline, for choosing among several series: the
    /// ratio, or its inverse downwards; departed series first.
    pub fn departure_score(&self, direction: Direction) -> f64 {
        let ratio = self.ratio.unwrap_or(1.0);
        let ratio = if direction == Direction::Down && ratio > 0.0 { 1.0 / ratio } else { ratio };
        ratio + if self.onset_at.is_some() { 1e9 } else { 0.0 }
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        n if n % 2 == 1 => Some(sorted[n / 2]),
        n => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The baseline's and the window's points of `series`.
fn split(series: &Series, spans: &Spans) -> (Vec<f64>, Vec<(DateTime<Utc>, f64)>) {
    let baseline = series
        .points
        .iter()
        .filter(|(t, _)| spans.baseline.contains(*t))
        .map(|(_, v)| *v)
        .collect();
    let window = series
        .points
        .iter()
        .filter(|(t, _)| *t >= spans.window.start && *t <= spans.window.end)
        .copied()
        .collect();
    (baseline, window)
}

/// The runs of consecutive points (no more than one step apart) for which `holds` is true:
/// `(start index, length)` into `points`.
fn runs(
    points: &[(DateTime<Utc>, f64)],
    step: chrono::Duration,
    holds: impl Fn(f64) -> bool,
) -> Vec<(usize, usize)> {
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for (i, (t, v)) in points.iter().enumerate() {
        let adjacent = i > 0 && *t - points[i - 1].0 <= step;
        match (holds(*v), current) {
            (true, Some((start, len))) if adjacent => current = Some((start, len + 1)),
            (true, _) => {
                found.extend(current.take());
                current = Some((i, 1));
            }
            (false, _) => found.extend(current.take()),
        }
    }
    found.extend(current);
    found
}

/// The figures every reading shares: means, the window's extreme, the ratio from the onset.
fn figures(
    baseline: &[f64],
    window: &[(DateTime<Utc>, f64)],
    onset: Option<DateTime<Utc>>,
    downward: bool,
    floor: f64,
    spans: &Spans,
) -> Reading {
    let window_values: Vec<f64> = window.iter().map(|(_, v)| *v).collect();
    let extreme = window.iter().copied().reduce(|a, b| {
        let better = if downward { b.1 < a.1 } else { b.1 > a.1 };
        if better { b } else { a }
    });
    let baseline_mean = mean(baseline);
    let from_onset: Vec<f64> =
        window.iter().filter(|(t, _)| onset.is_none_or(|o| *t >= o)).map(|(_, v)| *v).collect();
    let mut notes = Vec::new();
    let ratio = match (baseline_mean, mean(&from_onset)) {
        (Some(before), Some(after)) => {
            let denominator = before.max(floor);
            if denominator > 0.0 {
                Some(after / denominator)
            } else {
                notes.push(
                    "the baseline's mean is 0: no ratio (set the query's baseline_floor)".into(),
                );
                None
            }
        }
        (None, _) => {
            notes.push("no points in the baseline: no ratio".into());
            None
        }
        (Some(_), None) => None,
    };
    Reading {
        baseline_points: baseline.len(),
        baseline_mean,
        window_points: window.len(),
        window_mean: mean(&window_values),
        peak: extreme.map(|(_, v)| v),
        peak_at: extreme.map(|(t, _)| t),
        level: None,
        onset_at: onset,
        onset_offset_secs: onset.map(|t| (t - spans.anchor).num_seconds()),
        ratio,
        notes,
    }
}

/// How a configured query's series departs from its baseline (see the module's doc).
pub fn departure(series: &Series, spans: &Spans, direction: Direction, floor: f64) -> Reading {
    let (baseline, window) = split(series, spans);
    let down = direction == Direction::Down;
    let level = match median(&baseline) {
        Some(m) => {
            let deviations: Vec<f64> = baseline.iter().map(|v| (v - m).abs()).collect();
            let s = 1.4826 * median(&deviations).unwrap_or(0.0);
            Some(if down {
                (m - 3.0 * s).min(m / 1.5).min(m - floor)
            } else {
                (m + 3.0 * s).max(1.5 * m).max(m + floor)
            })
        }
        // Absent from the baseline, then there: it appeared in the window.
        None if !down && appeared(&window, spans) => Some(floor),
        None => None,
    };
    let onset = level.and_then(|level| {
        let past = |v: f64| if down { v < level } else { v > level };
        runs(&window, spans.step, past)
            .into_iter()
            .find(|(start, len)| *len >= SUSTAINED || start + len == window.len())
            .map(|(start, _)| window[start].0)
    });
    let mut reading = figures(&baseline, &window, onset, down, floor, spans);
    reading.level = level;
    if level.is_none() && !window.is_empty() {
        reading.notes.push(
            "no points in the baseline and there from the window's start: no onset can be told"
                .into(),
        );
    }
    reading
}

/// Whether a series without baseline points appeared inside the window, rather than being
/// there from its start (when the baseline's absence says nothing).
fn appeared(window: &[(DateTime<Utc>, f64)], spans: &Spans) -> bool {
    window.first().is_some_and(|(t, _)| *t > spans.window.start + spans.step)
}

/// The run of `holds` that fired the alert: the one that began last at or before the
/// anchor, else the first after it. Its first point is the onset.
fn firing_run(
    window: &[(DateTime<Utc>, f64)],
    spans: &Spans,
    holds: impl Fn(f64) -> bool,
) -> Option<DateTime<Utc>> {
    let starts: Vec<DateTime<Utc>> =
        runs(window, spans.step, holds).into_iter().map(|(start, _)| window[start].0).collect();
    starts
        .iter()
        .rev()
        .find(|t| **t <= spans.anchor)
        .or_else(|| starts.iter().find(|t| **t > spans.anchor))
        .copied()
}

/// How the value of the alert's expression crossed its threshold.
pub fn crossing(series: &Series, spans: &Spans, op: Op, threshold: f64) -> Reading {
    let (baseline, window) = split(series, spans);
    let onset = firing_run(&window, spans, |v| op.holds(v, threshold));
    let mut reading = figures(&baseline, &window, onset, op.downward(), 0.0, spans);
    reading.level = Some(threshold);
    let held_before = baseline.iter().filter(|v| op.holds(**v, threshold)).count();
    if held_before > 0 {
        reading.notes.push(format!(
            "the condition also held at {held_before} of {} baseline points",
            baseline.len()
        ));
    }
    if onset.is_some_and(|t| t == spans.window.start) {
        reading.notes.push("the condition already held at the window's start".into());
    }
    reading
}

/// When the alert's expression (without a threshold to split off) returned values: the
/// condition holds wherever it does.
pub fn presence(series: &Series, spans: &Spans) -> Reading {
    let (baseline, window) = split(series, spans);
    let onset = firing_run(&window, spans, |_| true);
    let mut reading = figures(&baseline, &window, onset, false, 0.0, spans);
    // Values exist only where the condition holds: a ratio of them compares nothing.
    reading.ratio = None;
    reading.notes.retain(|n| !n.contains("no ratio"));
    reading
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn anchor() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
    }

    fn minute(m: i64) -> DateTime<Utc> {
        anchor() + chrono::Duration::minutes(m)
    }

    /// Baseline T-90m..T-30m, window T-30m..T+30m, one point a minute.
    fn spans() -> Spans {
        Spans {
            baseline: Window::new(minute(-90), minute(-30)),
            window: Window::new(minute(-30), minute(30)),
            anchor: anchor(),
            step: chrono::Duration::minutes(1),
        }
    }

    fn series(value: impl Fn(i64) -> Option<f64>) -> Series {
        Series {
            labels: BTreeMap::new(),
            points: (-90..=30).filter_map(|m| value(m).map(|v| (minute(m), v))).collect(),
        }
    }

    #[test]
    fn a_traffic_surge_departs_where_it_begins_and_is_measured_from_there() {
        // 100 req/s with noise, then 300 from T-10m.
        let s = series(|m| Some(if m < -10 { 100.0 + (m % 3) as f64 } else { 300.0 }));
        let r = departure(&s, &spans(), Direction::Up, 0.0);
        assert_eq!(r.onset_at, Some(minute(-10)));
        assert_eq!(r.onset_offset_secs, Some(-600));
        assert_eq!(r.peak, Some(300.0));
        let ratio = r.ratio.unwrap();
        assert!((ratio - 300.0 / r.baseline_mean.unwrap()).abs() < 1e-9, "{r:?}");
        assert!(ratio > 2.9 && ratio < 3.1, "{r:?}");
    }

    #[test]
    fn a_stray_point_is_noise_and_a_steady_series_has_no_onset() {
        let s = series(|m| Some(if m == -5 { 900.0 } else { 100.0 }));
        let r = departure(&s, &spans(), Direction::Up, 0.0);
        assert_eq!(r.onset_at, None, "{r:?}");
        assert_eq!(r.peak, Some(900.0));
        assert!((r.ratio.unwrap() - (100.0 * 60.0 + 900.0) / 61.0 / 100.0).abs() < 1e-9);
    }

    #[test]
    fn a_run_that_lasts_to_the_end_of_the_data_departs_even_when_short() {
        let s = series(|m| (m <= 0).then_some(if m >= -1 { 50.0 } else { 10.0 }));
        assert_eq!(departure(&s, &spans(), Direction::Up, 0.0).onset_at, Some(minute(-1)));
    }

    #[test]
    fn a_series_absent_from_the_baseline_departs_where_it_appears() {
        let s = series(|m| (m >= -6).then_some(0.2));
        let r = departure(&s, &spans(), Direction::Up, 0.0);
        assert_eq!(r.onset_at, Some(minute(-6)));
        assert_eq!(r.ratio, None);
        assert_eq!(r.notes, ["no points in the baseline: no ratio"]);
        // There from the window's start: nothing can be told.
        let s = series(|m| (m >= -30).then_some(0.2));
        let r = departure(&s, &spans(), Direction::Up, 0.0);
        assert_eq!((r.onset_at, r.level), (None, None));
    }

    #[test]
    fn a_zero_baseline_needs_a_floor_for_a_ratio() {
        let s = series(|m| Some(if m < -8 { 0.0 } else { 0.05 }));
        let r = departure(&s, &spans(), Direction::Up, 0.0);
        assert_eq!(r.onset_at, Some(minute(-8)));
        assert_eq!(r.ratio, None);
        let r = departure(&s, &spans(), Direction::Up, 0.001);
        assert!((r.ratio.unwrap() - 50.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn a_drop_departs_downwards() {
        let s = series(|m| Some(if m < -4 { 100.0 } else { 20.0 }));
        let r = departure(&s, &spans(), Direction::Down, 0.0);
        assert_eq!((r.onset_at, r.peak), (Some(minute(-4)), Some(20.0)));
        assert_eq!(departure(&s, &spans(), Direction::Up, 0.0).onset_at, None);
    }

    #[test]
    fn the_crossing_that_fired_the_alert_is_the_last_one_before_the_anchor() {
        // Crossed briefly at T-20m, fell back, crossed again at T-3m and stayed.
        let s = series(|m| Some(if (-20..-18).contains(&m) || m >= -3 { 0.09 } else { 0.01 }));
        let r = crossing(&s, &spans(), Op::Gt, 0.05);
        assert_eq!(r.onset_at, Some(minute(-3)));
        assert_eq!(r.level, Some(0.05));
        assert_eq!(r.peak, Some(0.09));
        // Only after the anchor (the data lags): the first crossing after it.
        let s = series(|m| Some(if m >= 2 { 0.09 } else { 0.01 }));
        assert_eq!(crossing(&s, &spans(), Op::Gt, 0.05).onset_at, Some(minute(2)));
    }

    #[test]
    fn a_filtering_expression_holds_where_it_has_values() {
        let s = series(|m| (m >= -7).then_some(0.3));
        let r = presence(&s, &spans());
        assert_eq!((r.onset_at, r.ratio), (Some(minute(-7)), None));
    }
}
