//! What a [`Tally`] means: the facts the rules test (by their short name; each kind puts
//! its own prefix on those it publishes), the events of the timeline (pointing into the
//! analysis' place in the evidence), and the `data` in the shape the `logs` kind's FACTS.md
//! documents (the HTML report draws its error-rate chart from `series`).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use witness_collector::time::{format as fmt_time, offset_label};
use witness_collector::{Event, Facts, Redacted, Redactor, Severity};

use crate::access::Histogram;
use crate::tally::{Span, Tally};

/// Signatures listed in `data.signatures` (by count), beside every new one.
const TOP_SIGNATURES: usize = 50;
/// New signatures listed beyond the top ones, and named in facts and events.
const MAX_NEW: usize = 50;
const MAX_NEW_FACT: usize = 20;
const MAX_SPIKE_EVENTS: usize = 30;
const MAX_ENDPOINTS: usize = 50;
const MAX_BURST_EVENTS: usize = 20;
/// A minute is a spike when it has at least this many errors and is well above baseline.
const SPIKE_MIN_ERRORS: f64 = 5.0;
/// A signature the baseline had spikes when its rate is at least this many times the
/// baseline's (and it has at least [`SPIKE_MIN_ERRORS`] errors in the window).
const SIGNATURE_SPIKE_RATIO: f64 = 3.0;
/// 5xx responses of one endpoint within a minute that make a burst.
const BURST: usize = 3;

/// The analysis' part of the evidence's `data`, in the shape the `logs` kind's FACTS.md
/// documents (the HTML report draws its error-rate chart from `series`).
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisData {
    window: Range,
    baseline: BaselineInfo,
    bucket_secs: i64,
    series: Vec<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<FirstErrorData>,
    signatures: Vec<SignatureData>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<AccessData>,
    excerpt: ExcerptData,
    lines_cut: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Range {
    #[serde(with = "witness_collector::time::millis")]
    start: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    end: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
struct BaselineInfo {
    #[serde(with = "witness_collector::time::millis")]
    start: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    end: DateTime<Utc>,
    /// Seconds of the baseline the logs reach back to.
    covered_secs: i64,
    errors: u64,
}

#[derive(Debug, Clone, Serialize)]
struct Point {
    #[serde(with = "witness_collector::time::millis")]
    minute: DateTime<Utc>,
    baseline: bool,
    errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_5xx: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
struct FirstErrorData {
    #[serde(with = "witness_collector::time::millis")]
    time: DateTime<Utc>,
    offset_secs: i64,
    path: String,
    line: Redacted,
    signature: Redacted,
}

#[derive(Debug, Clone, Serialize)]
struct SignatureData {
    signature: Redacted,
    count: u64,
    baseline_count: u64,
    /// Absent from the baseline; `null` when the logs do not reach into the baseline.
    new: Option<bool>,
    /// Its errors per minute in the window over those in the covered baseline (a baseline
    /// of 0 counts as 1 error); `null` without baseline.
    rate_ratio: Option<f64>,
    #[serde(with = "witness_collector::time::millis_opt")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    last_seen: Option<DateTime<Utc>>,
    examples: Vec<Redacted>,
}

#[derive(Debug, Clone, Serialize)]
struct AccessData {
    requests: u64,
    status_5xx: u64,
    baseline_requests: u64,
    baseline_5xx: u64,
    latency_ms: LatencyData,
    endpoints_5xx: Vec<EndpointData>,
}

#[derive(Debug, Clone, Serialize)]
struct LatencyData {
    window: Percentiles,
    baseline: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
struct Percentiles {
    count: u64,
    p50: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
}

impl From<&Histogram> for Percentiles {
    fn from(h: &Histogram) -> Self {
        Self {
            count: h.count(),
            p50: h.quantile(0.5),
            p95: h.quantile(0.95),
            p99: h.quantile(0.99),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct EndpointData {
    method: Redacted,
    path: Redacted,
    count: u64,
    baseline_count: u64,
    #[serde(with = "witness_collector::time::millis_opt")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    burst_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
struct ExcerptData {
    artifact: String,
    bytes: usize,
    blocks: usize,
    dropped_blocks: u64,
}

/// How far back and forward the lines a source read reach.
#[derive(Debug, Clone, Copy, Default)]
pub struct Coverage {
    /// The earliest time the source reaches back to (its first line, or when it began to
    /// write), to judge how much of the baseline it covers.
    pub earliest: Option<DateTime<Utc>>,
    /// The newest line seen (logs that went quiet show here).
    pub latest: Option<DateTime<Utc>>,
}

/// Where an analysis sits in its evidence.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// JSON pointer of the analysis' data in the evidence (`/data` for the `logs` kind):
    /// the pointers of its events start with it.
    pub pointer: &'a str,
    /// The artifact the excerpt is kept as, which events that hold lines name.
    pub artifact: &'a str,
}

/// What a tally means: facts by their short name (`error_count`; the kind puts its prefix
/// on the ones it publishes), timeline events, notes, a one-line summary, the `data`, and
/// the rendered excerpt.
#[derive(Debug)]
pub struct Analysis {
    pub facts: Facts,
    pub events: Vec<Event>,
    /// Remarks that do not make the evidence partial.
    pub notes: Vec<String>,
    /// What makes the evidence partial (access logs in no known format).
    pub partial: Vec<String>,
    pub summary: String,
    pub data: AnalysisData,
    /// The excerpt, redacted block by block; `None` when no line was kept.
    pub excerpt: Option<Redacted>,
}

/// The caps an analysis renders its excerpt with.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_excerpt_bytes: usize,
    pub max_line_bytes: usize,
}

/// What `tally` means, for a run anchored at `anchor`. Every text taken from the logs is
/// already [`Redacted`]; the excerpt is redacted here, block by block, since only the
/// blocks that survived its cap are worth it.
pub fn analyse(
    tally: &Tally,
    coverage: Coverage,
    anchor: DateTime<Utc>,
    limits: Limits,
    redactor: &Redactor,
    place: Place<'_>,
) -> Analysis {
    let span = tally.span;
    let mut notes = Vec::new();
    let mut partial = Vec::new();
    let covered_secs = match coverage.earliest {
        Some(e) if e <= span.baseline.start => {
            span.baseline.end.signed_duration_since(span.baseline.start).num_seconds()
        }
        Some(e) if e < span.window.start => (span.window.start - e).num_seconds(),
        _ => 0,
    };
    if covered_secs == 0 {
        notes.push("the logs do not reach back into the baseline: no error-rate ratio and no new-signature detection".to_owned());
    }
    let window_minutes = (span.window.span().num_seconds() as f64 / 60.0).max(1.0 / 60.0);

    let mut facts = Facts::new();
    facts.insert("error_count".into(), tally.errors.into());
    facts.insert("errors_per_minute".into(), round(tally.errors as f64 / window_minutes).into());
    facts.insert("lines_cut".into(), tally.lines_cut.into());
    if let Some(latest) = coverage.latest {
        facts.insert("last_line_at".into(), fmt_time(latest).into());
        facts.insert("last_line_offset_secs".into(), (latest - anchor).num_seconds().into());
    }
    let mut baseline_rate = None;
    if covered_secs > 0 {
        let covered_minutes = covered_secs as f64 / 60.0;
        let rate = tally.baseline_errors as f64 / covered_minutes;
        baseline_rate = Some(rate);
        facts.insert("baseline_error_count".into(), tally.baseline_errors.into());
        let floor = 1.0 / covered_minutes;
        // No errors in the window nor in the baseline is "no errors", not a ratio of ×0.
        if tally.errors + tally.baseline_errors > 0 {
            facts.insert(
                "error_rate_ratio".into(),
                round(tally.errors as f64 / window_minutes / rate.max(floor)).into(),
            );
        }
        onset_facts(tally, &mut facts, anchor, window_minutes, covered_minutes);
    }

    let mut events = Vec::new();
    let first_error = tally.first_error.as_ref().map(|f| FirstErrorData {
        time: f.time,
        offset_secs: (f.time - anchor).num_seconds(),
        path: f.path.clone(),
        line: f.line.clone(),
        signature: f.signature.clone(),
    });
    if let Some(f) = &first_error {
        facts.insert("first_error_at".into(), fmt_time(f.time).into());
        facts.insert("first_error_offset_secs".into(), f.offset_secs.into());
        events.push(
            Event::new(
                f.time,
                "first_error",
                format!("First error in {}: {}", short(&f.path), f.signature),
            )
            .detail(f.line.clone())
            .severity(Severity::Warning)
            .pointer(format!("{}/first_error", place.pointer))
            .artifact(place.artifact),
        );
    }

    let minutes = (window_minutes, covered_secs as f64 / 60.0);
    let signatures = signatures(tally, minutes);
    let new: Vec<(usize, &SignatureData)> =
        signatures.iter().enumerate().filter(|(_, s)| s.new == Some(true)).collect();
    facts.insert(
        "signature_count".into(),
        tally.signatures.values().filter(|s| s.count > 0).count().into(),
    );
    if let Some(top) = signatures.first().filter(|s| s.count > 0) {
        facts.insert("top_signature".into(), top.signature.to_string().into());
    }
    if covered_secs > 0 {
        let total_new =
            tally.signatures.values().filter(|s| s.count > 0 && s.baseline_count == 0).count();
        facts.insert("new_signatures".into(), total_new.into());
        let mut by_count = new.clone();
        by_count.sort_by_key(|(_, s)| std::cmp::Reverse(s.count));
        let messages: Vec<String> =
            by_count.iter().take(MAX_NEW_FACT).map(|(_, s)| s.signature.to_string()).collect();
        facts.insert("new_signature_messages".into(), messages.into());
    }
    for (i, s) in new.iter().take(MAX_NEW) {
        let Some(at) = s.first_seen else { continue };
        let mut event = Event::new(at, "new_signature", format!("New error: {}", s.signature))
            .severity(Severity::Warning)
            .signature(s.signature.clone())
            .pointer(format!("{}/signatures/{i}", place.pointer))
            .artifact(place.artifact);
        if let Some(example) = s.examples.first() {
            event = event.detail(example.clone());
        }
        events.push(event);
    }

    let a = &tally.access;
    // Access logs whose lines are all in an unknown format give no request figures at
    // all: zeros would read as a quiet, healthy service.
    let unknown_access = a.requests + a.baseline_requests == 0 && a.unparsed > 0;
    let has_access = a.files > 0 && !unknown_access;
    if unknown_access {
        partial.push(format!(
            "{} access-log lines in the window and baseline are not in a known access format (nginx/Apache common or combined, JSON); no request figures",
            a.unparsed
        ));
    } else if a.unparsed > 0 {
        notes.push(format!(
            "{} access-log lines were not requests in a known format and are not counted",
            a.unparsed
        ));
    }
    let series: Vec<Point> = tally
        .series
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let minute = span.bucket_start(i);
            Point {
                minute,
                baseline: minute + Duration::seconds(span.bucket_secs) <= span.window.start,
                errors: b.errors,
                requests: has_access.then_some(b.requests),
                status_5xx: has_access.then_some(b.status_5xx),
            }
        })
        .collect();
    if let Some(rate) = baseline_rate {
        events.extend(spikes(&series, &span, rate, place));
    }

    let access = has_access.then(|| access_data(tally, &mut facts, &mut events, place));

    let excerpt_text = excerpt(tally, limits.max_line_bytes, redactor);
    if tally.excerpt.dropped > 0 || tally.excerpt.blocks.iter().any(|b| b.trimmed) {
        notes.push(format!(
            "the excerpt keeps the newest {} bytes of matched lines and their context: older ones were left out",
            limits.max_excerpt_bytes
        ));
    }
    if tally.signatures_lumped > 0 {
        notes.push(format!(
            "{} errors had signatures past the cap and are not grouped",
            tally.signatures_lumped
        ));
    }
    if tally.lines_cut > 0 {
        notes.push(format!("{} lines longer than max_line_bytes were cut", tally.lines_cut));
    }

    let summary = summary(tally, &facts, anchor, new.len());
    events.sort_by_key(|e| e.time);
    let data = AnalysisData {
        window: Range { start: span.window.start, end: span.window.end },
        baseline: BaselineInfo {
            start: span.baseline.start,
            end: span.baseline.end,
            covered_secs,
            errors: tally.baseline_errors,
        },
        bucket_secs: span.bucket_secs,
        series,
        first_error,
        signatures,
        access,
        excerpt: ExcerptData {
            artifact: place.artifact.to_owned(),
            bytes: excerpt_text.as_ref().map_or(0, |e| e.len()),
            blocks: tally.excerpt.blocks.len(),
            dropped_blocks: tally.excerpt.dropped,
        },
        lines_cut: tally.lines_cut,
    };
    Analysis { facts, events, notes, partial, summary, data, excerpt: excerpt_text }
}

/// Facts that keep the baseline's steady noise apart from what is new: the onset of the
/// signatures absent from the baseline (a background error present at the same rate before
/// says nothing about when the incident began), their count, and the rate ratio of the
/// signatures the baseline already had.
fn onset_facts(
    tally: &Tally,
    facts: &mut Facts,
    anchor: DateTime<Utc>,
    window_minutes: f64,
    covered_minutes: f64,
) {
    let new = tally.signatures.values().filter(|s| s.count > 0 && s.baseline_count == 0);
    let new_errors: u64 = new.clone().map(|s| s.count).sum();
    facts.insert("new_error_count".into(), new_errors.into());
    if let Some(first) = new.filter_map(|s| s.first_seen).min() {
        facts.insert("first_new_error_at".into(), fmt_time(first).into());
        facts.insert("first_new_error_offset_secs".into(), (first - anchor).num_seconds().into());
    }
    let known = tally.signatures.values().filter(|s| s.baseline_count > 0);
    let (window, baseline) =
        known.fold((0u64, 0u64), |(w, b), s| (w + s.count, b + s.baseline_count));
    if baseline > 0 {
        facts.insert(
            "known_error_rate_ratio".into(),
            round(window as f64 / window_minutes / (baseline as f64 / covered_minutes)).into(),
        );
    }
    // A signature the baseline had, now far more frequent: a spike of an old error (lock
    // timeouts that were rare) is a symptom even though nothing is new.
    let rate = |count: u64, minutes: f64| count as f64 / minutes;
    let mut spiking: Vec<(&Redacted, f64)> = tally
        .signatures
        .iter()
        .filter(|(_, s)| s.baseline_count > 0 && s.count >= SPIKE_MIN_ERRORS as u64)
        .map(|(text, s)| {
            (text, rate(s.count, window_minutes) / rate(s.baseline_count, covered_minutes))
        })
        .filter(|(_, ratio)| *ratio >= SIGNATURE_SPIKE_RATIO)
        .collect();
    spiking.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    facts.insert("spiking_signatures".into(), spiking.len().into());
    let messages: Vec<String> =
        spiking.iter().take(MAX_NEW_FACT).map(|(text, _)| text.to_string()).collect();
    facts.insert("spiking_signature_messages".into(), messages.into());
}

/// The signatures kept in `data`; `minutes` are the window's and the covered baseline's.
fn signatures(tally: &Tally, minutes: (f64, f64)) -> Vec<SignatureData> {
    let (window_minutes, covered_minutes) = minutes;
    let baseline_covered = covered_minutes > 0.0;
    let mut all: Vec<(&Redacted, &crate::tally::Signature)> =
        tally.signatures.iter().filter(|(_, s)| s.count > 0).collect();
    all.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.1.first_seen.cmp(&b.1.first_seen)));
    let is_new = |s: &crate::tally::Signature| baseline_covered.then_some(s.baseline_count == 0);
    let mut kept: Vec<_> = all.iter().take(TOP_SIGNATURES).copied().collect();
    kept.extend(
        all.iter()
            .skip(TOP_SIGNATURES)
            .filter(|(_, s)| is_new(s) == Some(true))
            .take(MAX_NEW)
            .copied(),
    );
    kept.into_iter()
        .map(|(sig, s)| SignatureData {
            signature: sig.clone(),
            count: s.count,
            baseline_count: s.baseline_count,
            new: is_new(s),
            rate_ratio: baseline_covered.then(|| {
                round(
                    s.count as f64
                        / window_minutes
                        / (s.baseline_count.max(1) as f64 / covered_minutes),
                )
            }),
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            examples: s.examples.clone(),
        })
        .collect()
}

/// Window minutes whose errors are far above the baseline's rate.
fn spikes(series: &[Point], span: &Span, baseline_per_minute: f64, place: Place<'_>) -> Vec<Event> {
    let per_bucket = baseline_per_minute * span.bucket_secs as f64 / 60.0;
    let threshold =
        SPIKE_MIN_ERRORS.max(3.0 * per_bucket).max(per_bucket + 4.0 * per_bucket.sqrt());
    series
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.baseline && p.errors as f64 >= threshold)
        .take(MAX_SPIKE_EVENTS)
        .map(|(i, p)| {
            Event::new(
                p.minute,
                "error_spike",
                format!(
                    "{} errors in a minute (baseline {:.1}/min)",
                    p.errors, baseline_per_minute
                ),
            )
            .severity(Severity::Warning)
            .signature("error_spike")
            .pointer(format!("{}/series/{i}", place.pointer))
        })
        .collect()
}

fn access_data(
    tally: &Tally,
    facts: &mut Facts,
    events: &mut Vec<Event>,
    place: Place<'_>,
) -> AccessData {
    let a = &tally.access;
    facts.insert("requests".into(), a.requests.into());
    facts.insert("status_5xx_count".into(), a.status_5xx.into());
    if a.requests > 0 {
        facts.insert(
            "status_5xx_ratio".into(),
            round(a.status_5xx as f64 / a.requests as f64).into(),
        );
    }
    if a.baseline_requests > 0 {
        facts.insert(
            "status_5xx_baseline_ratio".into(),
            round(a.baseline_5xx as f64 / a.baseline_requests as f64).into(),
        );
    }
    for (name, h, q) in [
        ("latency_p50_ms", &a.latency, 0.5),
        ("latency_p95_ms", &a.latency, 0.95),
        ("latency_p99_ms", &a.latency, 0.99),
        ("latency_p95_baseline_ms", &a.baseline_latency, 0.95),
    ] {
        if let Some(v) = h.quantile(q) {
            facts.insert(name.into(), v.into());
        }
    }
    // Fewer requests than this make the last minutes' p95 one slow request's time.
    const MIN_RECENT_REQUESTS: u64 = 20;
    if a.recent_latency.count() >= MIN_RECENT_REQUESTS
        && let Some(v) = a.recent_latency.quantile(0.95)
    {
        facts.insert("latency_p95_recent_ms".into(), v.into());
    }
    let mut endpoints: Vec<EndpointData> = a
        .endpoints
        .iter()
        .filter(|(_, e)| e.count_5xx > 0)
        .map(|((method, path), e)| {
            let mut times = e.early_5xx.clone();
            times.sort();
            let burst_at = times
                .windows(BURST)
                .find(|w| w[BURST - 1] - w[0] <= Duration::seconds(60))
                .map(|w| w[0]);
            EndpointData {
                method: method.clone(),
                path: path.clone(),
                count: e.count_5xx,
                baseline_count: e.baseline_5xx,
                first_seen: times.first().copied(),
                burst_at,
            }
        })
        .collect();
    endpoints.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
    endpoints.truncate(MAX_ENDPOINTS);
    let mut bursts: Vec<(usize, &EndpointData)> =
        endpoints.iter().enumerate().filter(|(_, e)| e.burst_at.is_some()).collect();
    bursts.sort_by_key(|(_, e)| e.burst_at);
    for (i, e) in bursts.into_iter().take(MAX_BURST_EVENTS) {
        let Some(at) = e.burst_at else { continue };
        events.push(
            Event::new(at, "status_5xx_burst", format!("5xx burst on {} {}", e.method, e.path))
                .detail(format!(
                    "{} 5xx responses in the window ({} in the baseline)",
                    e.count, e.baseline_count
                ))
                .severity(Severity::Critical)
                .signature(format!("{} {}", e.method, e.path))
                .pointer(format!("{}/access/endpoints_5xx/{i}", place.pointer))
                .artifact(place.artifact),
        );
    }
    AccessData {
        requests: a.requests,
        status_5xx: a.status_5xx,
        baseline_requests: a.baseline_requests,
        baseline_5xx: a.baseline_5xx,
        latency_ms: LatencyData {
            window: (&a.latency).into(),
            baseline: (&a.baseline_latency).into(),
        },
        endpoints_5xx: endpoints,
    }
}

fn excerpt(tally: &Tally, max_line_bytes: usize, redactor: &Redactor) -> Option<Redacted> {
    (!tally.excerpt.blocks.is_empty()).then(|| tally.excerpt.render(max_line_bytes, redactor))
}

fn summary(tally: &Tally, facts: &Facts, anchor: DateTime<Utc>, new: usize) -> String {
    let quiet =
        tally.errors + tally.baseline_errors == 0 && facts.contains_key("baseline_error_count");
    let mut parts = vec![if quiet {
        "no errors in the window nor in the baseline".to_owned()
    } else {
        format!("{} errors in the window", tally.errors)
    }];
    if let Some(ratio) = facts.get("error_rate_ratio").and_then(|v| v.as_f64()) {
        parts[0].push_str(&format!(" ({} in the baseline, rate ×{ratio})", tally.baseline_errors));
    }
    if let Some(f) = &tally.first_error {
        parts.push(format!("first at {} ({})", fmt_time(f.time), offset_label(f.time, anchor)));
    }
    if new > 0 {
        parts.push(format!("{new} new signatures"));
    }
    if tally.access.requests > 0 {
        let ratio = tally.access.status_5xx as f64 / tally.access.requests as f64;
        parts.push(format!("5xx {:.1}% of {} requests", ratio * 100.0, tally.access.requests));
    }
    parts.join("; ")
}

fn short(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
