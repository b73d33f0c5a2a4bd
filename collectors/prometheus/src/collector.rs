//! The `prometheus` collector: decides what to evaluate (the alert's own expression, the
//! configured queries filled in from the alert's labels), evaluates each over the baseline
//! and the window in one range query, reads each series (see [`crate::series`]) and writes
//! the facts, the onset events and the series kept as evidence.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::time::offset_label;
use witness_collector::{
    CollectContext, CollectError, Collector, Event, Evidence, Severity, Window,
};
use witness_net::client::{FailureKind, instance_client};

use crate::api::{Auth, QueryError, Range, Server};
use crate::config::PrometheusConfig;
use crate::expr::{self, Condition, Origin};
use crate::series::{self, Direction, Reading, Series, Spans};
use crate::units::{short, with_unit};
use crate::{grafana, template};

/// Evaluates the alert's expression and the configured queries against one server; built
/// by [`PrometheusConfig`].
#[derive(Debug)]
pub struct PrometheusCollector {
    config: PrometheusConfig,
}

impl PrometheusCollector {
    pub fn new(config: PrometheusConfig) -> Self {
        Self { config }
    }
}

/// How a target's series is read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "as", rename_all = "snake_case")]
enum How {
    /// Against its baseline (a configured query).
    Departure { direction: Direction, baseline_floor: f64 },
    /// Against the alert's threshold.
    Crossing { op: expr::Op, threshold: f64 },
    /// The alert's condition holds where the expression returns values.
    Presence,
}

/// Something to evaluate: the alert's expression or a configured query.
#[derive(Debug, Clone)]
struct Target {
    /// `alert`, or the query's name.
    name: String,
    /// The PromQL sent (for a split alert condition, its value's side).
    expr: String,
    how: How,
    unit: Option<String>,
    /// The alert's expression as the rule has it, and where it was found.
    alert: Option<(String, Origin)>,
}

/// One target as evaluated, as written under `data.queries[]`.
#[derive(Debug, Serialize)]
struct Evaluated {
    name: String,
    /// `alert` for the alert's expression, `query` for a configured one.
    source: &'static str,
    /// The PromQL evaluated (filled in from the alert's labels).
    expr: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    alert_expr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<Origin>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    how: How,
    /// `ok`, `empty` (no series), `failed` or `skipped` (could not be filled in).
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_kind: Option<String>,
    series_count: usize,
    /// The series kept, the one the facts come from first.
    series: Vec<Series>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reading: Option<Reading>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact: Option<String>,
    /// Whether the Prometheus API itself answered (a result, or an error of its own),
    /// rather than the network, a proxy or an authentication layer failing first.
    #[serde(skip)]
    api_answered: bool,
}

impl Evaluated {
    fn of(target: &Target, status: &'static str) -> Self {
        Self {
            name: target.name.clone(),
            source: if target.alert.is_some() { "alert" } else { "query" },
            expr: target.expr.clone(),
            alert_expr: target.alert.as_ref().map(|(e, _)| e.clone()),
            origin: target.alert.as_ref().map(|(_, o)| *o),
            unit: target.unit.clone(),
            how: target.how,
            status,
            error: None,
            error_kind: None,
            series_count: 0,
            series: Vec::new(),
            reading: None,
            warnings: Vec::new(),
            artifact: None,
            api_answered: true,
        }
    }

    fn failed(target: &Target, error: &QueryError) -> Self {
        let kind = match error {
            QueryError::Transport { failure, .. } => failure.kind.as_str().to_owned(),
            QueryError::Refused { error_type, .. } => error_type.clone(),
            QueryError::Http { status, .. } => format!("http_{status}"),
            QueryError::Decode { .. } => "decode".to_owned(),
        };
        Self {
            error: Some(error.to_string()),
            error_kind: Some(kind),
            api_answered: matches!(error, QueryError::Refused { .. }),
            ..Self::of(target, "failed")
        }
    }
}

/// The instance's findings, as written under `data` in its evidence file.
#[derive(Debug, Serialize)]
struct PrometheusData {
    url: String,
    step_secs: u64,
    baseline: Window,
    window: Window,
    queries: Vec<Evaluated>,
}

#[async_trait]
impl Collector for PrometheusCollector {
    fn secrets(&self) -> Vec<witness_collector::SecretRef> {
        self.config.secrets()
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let config = &self.config;
        let client = instance_client(config.ca_file.clone()).await?;
        let server = Server {
            client,
            base: config.url.trim_end_matches('/').to_owned(),
            auth: self.auth(ctx)?,
            tenant: config.tenant.clone(),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            max_body_bytes: config.max_body_bytes,
        };
        let baseline = ctx.window.baseline();
        let range = range(baseline.start, ctx.window.end, config.step_secs, config.max_points);
        let spans = Spans {
            baseline,
            window: ctx.window,
            anchor: ctx.anchor,
            step: chrono::Duration::seconds(i64::try_from(range.step_secs).unwrap_or(i64::MAX)),
        };

        let mut evidence = Evidence::ok(String::new());
        let (targets, mut evaluated) = self.targets(ctx, &server, &mut evidence).await;
        // Concurrently: each under its own timeout, all under the instance's deadline, so a
        // slow query does not starve the others of time.
        let runs = targets.iter().map(|target| self.evaluate(target, &server, range, &spans, ctx));
        evaluated.extend(futures::future::join_all(runs).await);
        let order = |e: &Evaluated| config.queries.iter().position(|q| q.name == e.name);
        evaluated.sort_by_key(|e| (e.source != "alert", order(e)));
        if let Some(error) = unreachable(&evaluated, &server, ctx) {
            return Err(error);
        }
        for e in &evaluated {
            note_problems(&mut evidence, e);
        }
        let queries_failed = evaluated.iter().filter(|e| e.status != "ok").count();
        evidence = evidence.fact("prometheus.queries_failed", queries_failed);
        for (i, e) in evaluated.iter().enumerate() {
            evidence = facts_of(evidence, e);
            if let Some(event) = onset_event(e, i, ctx.anchor) {
                evidence.events.push(event);
            }
        }
        evidence.summary = summary(&evaluated, ctx.anchor);
        Ok(evidence.data(PrometheusData {
            url: ctx.redact(&config.url).into_string(),
            step_secs: range.step_secs,
            baseline,
            window: ctx.window,
            queries: evaluated,
        }))
    }
}

impl PrometheusCollector {
    /// What to evaluate: the alert's expression, and each configured query filled in from
    /// the alert's labels. A query that cannot be filled in is returned as `skipped`, and
    /// it and an alert expression that could not be read are noted in `evidence`.
    async fn targets(
        &self,
        ctx: &CollectContext,
        server: &Server,
        evidence: &mut Evidence,
    ) -> (Vec<Target>, Vec<Evaluated>) {
        let mut targets = Vec::new();
        let mut skipped = Vec::new();
        if self.config.alert_expression {
            match self.alert_target(ctx, server).await {
                Ok(target) => targets.extend(target),
                Err(note) => evidence.add_partial(note),
            }
        }
        for query in &self.config.queries {
            let target = Target {
                name: query.name.clone(),
                expr: query.query.clone(),
                how: How::Departure {
                    direction: query.direction,
                    baseline_floor: query.baseline_floor,
                },
                unit: query.unit.clone(),
                alert: None,
            };
            match template::render(&query.query, &ctx.trigger.labels) {
                Ok(expr) => targets.push(Target { expr, ..target }),
                Err(e) => {
                    evidence.add_partial(format!("query {}: not run: it {e}", query.name));
                    let error = Some(e.to_string());
                    skipped.push(Evaluated { error, ..Evaluated::of(&target, "skipped") });
                }
            }
        }
        (targets, skipped)
    }

    /// The credentials, read now (and registered for redaction).
    fn auth(&self, ctx: &CollectContext) -> Result<Auth, CollectError> {
        if let Some(token) = self.config.bearer_token().read(&ctx.redactor)? {
            return Ok(Auth::Bearer(token));
        }
        match (&self.config.basic_user, self.config.basic_password().read(&ctx.redactor)?) {
            (Some(user), Some(password)) => Ok(Auth::Basic { user: user.clone(), password }),
            _ => Ok(Auth::None),
        }
    }

    /// The alert's expression as a target: from the trigger's `generatorURL`, or from the
    /// Grafana rule it links to. `Ok(None)` (with nothing to say) for a run without one, a
    /// note when it should have had one and could not be read.
    async fn alert_target(
        &self,
        ctx: &CollectContext,
        server: &Server,
    ) -> Result<Option<Target>, String> {
        let Some(url) = ctx.trigger.generator_url.as_deref() else { return Ok(None) };
        let target = |expr: String, origin: Origin, condition: Option<Condition>| {
            let (sent, how) = match condition {
                Some(c) => (c.value, How::Crossing { op: c.op, threshold: c.threshold }),
                None => (expr.clone(), How::Presence),
            };
            let alert = Some((expr, origin));
            Target { name: "alert".into(), expr: sent, how, unit: None, alert }
        };
        if let Some((expr, origin)) = expr::from_generator_url(url) {
            let condition = Condition::split(&expr);
            return Ok(Some(target(expr, origin, condition)));
        }
        let Some(uid) = expr::grafana_rule_uid(url) else { return Ok(None) };
        let Some(grafana) = &self.config.grafana else {
            return Err(format!(
                "the alert comes from the Grafana-managed rule {uid}, whose query its webhook does not carry: set `grafana` to read it"
            ));
        };
        let token = grafana.token().read(&ctx.redactor).map_err(|e| format!("grafana: {e}"))?;
        let grafana_server = Server {
            base: grafana.url.trim_end_matches('/').to_owned(),
            auth: token.map_or(Auth::None, Auth::Bearer),
            tenant: None,
            ..server.clone()
        };
        let rule = grafana_server
            .get_json(&format!("api/v1/provisioning/alert-rules/{uid}"), ctx)
            .await
            .map_err(|e| format!("the Grafana rule {uid} could not be read: {e}"))?;
        ctx.artifacts.put_json("grafana-rule.json", &rule);
        let query = grafana::rule_query(&rule).ok_or_else(|| {
            format!("the Grafana rule {uid} has no Prometheus query (another data source?)")
        })?;
        let condition = query.condition();
        Ok(Some(target(query.expr, Origin::GrafanaRule, condition)))
    }

    /// Evaluates one target and reads its series.
    async fn evaluate(
        &self,
        target: &Target,
        server: &Server,
        range: Range,
        spans: &Spans,
        ctx: &CollectContext,
    ) -> Evaluated {
        let matrix = match server.query_range(&target.expr, range, ctx).await {
            Ok(matrix) => matrix,
            Err(error) => {
                tracing::debug!(query = %target.name, error = %error, "Prometheus query failed.");
                return Evaluated::failed(target, &error);
            }
        };
        let artifact = matrix.raw.as_ref().map(|raw| {
            let path = format!("query_range/{}.json", target.name);
            ctx.artifacts.put_json(path.clone(), raw);
            path
        });
        let mut warnings = matrix.warnings.clone();
        if matrix.non_finite_points > 0 {
            warnings.push(format!("{} NaN or infinite points left out", matrix.non_finite_points));
        }
        let base = Evaluated { artifact, warnings, ..Evaluated::of(target, "ok") };
        if matrix.series.iter().all(|s| s.points.is_empty()) {
            return Evaluated { status: "empty", ..base };
        }
        let mut read: Vec<(Series, Reading)> = matrix
            .series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .map(|s| {
                let reading = match target.how {
                    How::Departure { direction, baseline_floor } => {
                        series::departure(&s, spans, direction, baseline_floor)
                    }
                    How::Crossing { op, threshold } => series::crossing(&s, spans, op, threshold),
                    How::Presence => series::presence(&s, spans),
                };
                (s, reading)
            })
            .collect();
        let direction = match target.how {
            How::Departure { direction, .. } => direction,
            How::Crossing { op, .. } if op.downward() => Direction::Down,
            _ => Direction::Up,
        };
        // The alert's own series first (its labels are the alert's), then the ones that
        // left their baseline furthest.
        let labels = &ctx.trigger.labels;
        let own = |s: &Series| {
            target.alert.is_some()
                && s.labels
                    .iter()
                    .filter(|(k, _)| *k != "__name__")
                    .all(|(k, v)| labels.get(k) == Some(v))
        };
        read.sort_by(|a, b| {
            own(&b.0)
                .cmp(&own(&a.0))
                .then(b.1.departure_score(direction).total_cmp(&a.1.departure_score(direction)))
        });
        let series_count = read.len();
        let reading = read.first().map(|(_, r)| r.clone());
        let mut kept: Vec<Series> =
            read.into_iter().take(self.config.max_series).map(|(s, _)| s).collect();
        for s in &mut kept {
            s.labels = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), ctx.redactor.redact_pair(k, v).into_string()))
                .collect();
        }
        if series_count > 1 {
            let mut warnings = base.warnings.clone();
            warnings.push(format!(
                "{series_count} series: the facts come from the first kept (sum the query for one)"
            ));
            return Evaluated { series_count, series: kept, reading, warnings, ..base };
        }
        Evaluated { series_count, series: kept, reading, ..base }
    }
}

/// The instance's failure when nothing reached the Prometheus API (it is down, TLS or
/// credentials failed, a proxy refused): every query that ran failed before it. Queries
/// Prometheus itself refused are notes instead, each with its reason.
fn unreachable(
    evaluated: &[Evaluated],
    server: &Server,
    ctx: &CollectContext,
) -> Option<CollectError> {
    let ran: Vec<&Evaluated> = evaluated.iter().filter(|e| e.status != "skipped").collect();
    let first = ran.first()?;
    if ran.iter().any(|e| e.api_answered) {
        return None;
    }
    Some(if first.error_kind.as_deref() == Some(FailureKind::Timeout.as_str()) {
        CollectError::Timeout {
            what: server.url("api/v1/query_range"),
            after: server.request_timeout.min(ctx.remaining().max(Duration::from_millis(1))),
        }
    } else {
        CollectError::Unreachable {
            target: ctx.redact(&server.base).into_string(),
            reason: first.error.clone().unwrap_or_default(),
        }
    })
}

/// The range of one run's queries: the baseline's start (on a whole step, so points fall
/// on round times) to the window's end, at `step_secs` or coarser so that no series has
/// more than `max_points` points.
fn range(start: DateTime<Utc>, end: DateTime<Utc>, step_secs: u64, max_points: usize) -> Range {
    let span = u64::try_from((end - start).num_seconds()).unwrap_or(0);
    // Two points fewer than allowed: one for the start moved back onto a whole step, one
    // for the end itself.
    let intervals = u64::try_from(max_points.saturating_sub(2).max(1)).unwrap_or(1);
    let step = step_secs.max(span.div_ceil(intervals)).max(1);
    let step_i = i64::try_from(step).unwrap_or(i64::MAX);
    let aligned = start.timestamp().div_euclid(step_i) * step_i;
    Range { start: DateTime::from_timestamp(aligned, 0).unwrap_or(start), end, step_secs: step }
}

/// The notes of a target that did not give a reading, and of a reading's caveats.
fn note_problems(evidence: &mut Evidence, e: &Evaluated) {
    let what = match e.source {
        "alert" => "the alert's expression".to_owned(),
        _ => format!("query {}", e.name),
    };
    match e.status {
        "failed" => evidence.add_partial(format!("{what}: {}", e.error.as_deref().unwrap_or("failed"))),
        "empty" => evidence.add_partial(format!(
            "{what}: no series over the window and the baseline (`{}`): nothing measured, which is not healthy",
            e.expr
        )),
        _ => {}
    }
    for warning in &e.warnings {
        evidence.add_note(format!("{what}: {warning}"));
    }
    for note in e.reading.iter().flat_map(|r| &r.notes) {
        evidence.add_note(format!("{what}: {note}"));
    }
}

/// The facts of one evaluated target: `prometheus.<name>_ratio`, `_peak`, `_baseline`,
/// `_onset_offset_secs`, each only when it could be read.
fn facts_of(mut evidence: Evidence, e: &Evaluated) -> Evidence {
    let Some(r) = &e.reading else { return evidence };
    let name = |suffix: &str| format!("prometheus.{}_{suffix}", e.name);
    let figures = [("ratio", r.ratio), ("peak", r.peak), ("baseline", r.baseline_mean)];
    for (suffix, value) in figures {
        if let Some(value) = value {
            evidence = evidence.fact(name(suffix), value);
        }
    }
    if let Some(offset) = r.onset_offset_secs {
        evidence = evidence.fact(name("onset_offset_secs"), offset);
    }
    if let How::Crossing { threshold, .. } = e.how {
        evidence = evidence.fact("prometheus.alert_threshold", threshold);
    }
    evidence
}

/// The timeline event of a target's onset: where its series left the baseline, or where
/// the alert's condition began to hold.
fn onset_event(e: &Evaluated, index: usize, anchor: DateTime<Utc>) -> Option<Event> {
    let r = e.reading.as_ref()?;
    let at = r.onset_at?;
    let unit = e.unit.as_deref();
    let value = |v: Option<f64>| v.map_or_else(|| "unknown".to_owned(), |v| with_unit(v, unit));
    let (kind, title, severity) = match e.how {
        How::Crossing { op, threshold } => (
            "alert_expression_crossed",
            format!(
                "The alert's expression crossed {op} {} (peak {})",
                with_unit(threshold, unit),
                value(r.peak)
            ),
            Severity::Critical,
        ),
        How::Presence => (
            "alert_expression_crossed",
            format!("The alert's condition began to hold (peak {})", value(r.peak)),
            Severity::Critical,
        ),
        How::Departure { direction, .. } => {
            let verb = if direction == Direction::Down { "fell" } else { "rose" };
            let ratio = r.ratio.map(|x| format!(" ×{}", short(x))).unwrap_or_default();
            let from = match r.baseline_mean {
                Some(b) => value(Some(b)),
                None => "none in the baseline".to_owned(),
            };
            (
                "metric_onset",
                format!(
                    "{} {verb}{ratio} against the baseline ({from} → {})",
                    e.name,
                    value(r.peak)
                ),
                Severity::Warning,
            )
        }
    };
    let detail = format!(
        "{} at {}; `{}`",
        offset_label(at, anchor),
        witness_collector::time::format(at),
        e.alert_expr.as_deref().unwrap_or(&e.expr)
    );
    let mut event = Event::new(at, kind, title)
        .severity(severity)
        .signature(e.name.clone())
        .detail(detail)
        .pointer(format!("/data/queries/{index}"));
    if let Some(artifact) = &e.artifact {
        event = event.artifact(artifact.clone());
    }
    Some(event)
}

/// One line: what each target said.
fn summary(evaluated: &[Evaluated], anchor: DateTime<Utc>) -> String {
    if evaluated.is_empty() {
        return "nothing to evaluate: the trigger carries no expression and no query is configured"
            .to_owned();
    }
    let parts: Vec<String> = evaluated
        .iter()
        .map(|e| {
            let name = if e.source == "alert" { "the alert's expression" } else { e.name.as_str() };
            match (e.status, &e.reading) {
                ("ok", Some(r)) => {
                    let ratio = r.ratio.map(|x| format!(" ×{}", short(x))).unwrap_or_default();
                    match r.onset_at {
                        Some(at) if e.source == "alert" => {
                            format!("{name} held from {}", offset_label(at, anchor))
                        }
                        Some(at) => format!("{name}{ratio} from {}", offset_label(at, anchor)),
                        None if e.source == "alert" => format!("{name} did not hold in the window"),
                        None => format!("{name}{ratio}, no departure from the baseline"),
                    }
                }
                (status, _) => format!("{name} {status}"),
            }
        })
        .collect();
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_range_starts_on_a_whole_step_and_keeps_within_max_points() {
        let start = Utc.with_ymd_and_hms(2025, 11, 19, 19, 30, 7).unwrap();
        let end = Utc.with_ymd_and_hms(2025, 11, 19, 21, 30, 0).unwrap();
        let r = range(start, end, 60, 500);
        let whole_minute = Utc.with_ymd_and_hms(2025, 11, 19, 19, 30, 0).unwrap();
        assert_eq!((r.start, r.step_secs), (whole_minute, 60));
        let r = range(start, end, 15, 100);
        let step = i64::try_from(r.step_secs).unwrap();
        assert!(step > 15, "{step}");
        assert!((r.end - r.start).num_seconds() / step < 100, "at most 100 points");
    }
}
