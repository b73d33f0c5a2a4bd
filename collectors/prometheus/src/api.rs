//! The Prometheus HTTP API as witness uses it: `POST /api/v1/query_range` (which
//! Prometheus, Thanos, Mimir, Cortex and VictoriaMetrics all answer), over witness-net's
//! client with the instance's credentials, each request under its own timeout cut short by
//! the deadline and the run's cancellation, the body capped, and every failure told apart
//! the way a responder needs it: Prometheus unreachable, the query refused (bad PromQL,
//! too many samples or series, a timeout inside Prometheus), an answer that is no matrix.
//!
//! Answers are read redacted ([`witness_net::client::Fetched::body_json`]): series labels
//! and error messages are text from the world.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use witness_collector::CollectContext;
use witness_net::client::reqwest::{self, Url};
use witness_net::client::{self, Failure, FailureKind};

use crate::series::Series;

/// How requests authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// HTTP basic auth.
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "None",
            Auth::Bearer(_) => "Bearer(..)",
            Auth::Basic { .. } => "Basic(..)",
        })
    }
}

/// A server witness asks: its base URL, credentials and limits.
#[derive(Debug, Clone)]
pub struct Server {
    pub client: reqwest::Client,
    /// The base URL, without a trailing `/` (`http://prometheus:9090`,
    /// `https://mimir.example/prometheus`).
    pub base: String,
    pub auth: Auth,
    /// Sent as `X-Scope-OrgID` (Mimir, Cortex, Loki-style multi-tenancy).
    pub tenant: Option<String>,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
}

/// Why a request gave no usable answer.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum QueryError {
    /// No answer: DNS, connection refused, TLS, a timeout, the deadline.
    #[error("{url}: {failure}")]
    Transport { url: String, failure: Failure },
    /// Prometheus answered with an error of its API (`errorType`: `bad_data` for bad
    /// PromQL, `execution` for too many samples or series, `timeout`, `canceled`, …).
    #[error("{}: {error_type}: {message}", describe(error_type))]
    Refused { status: u16, error_type: String, message: String },
    /// An HTTP error that is not Prometheus's own (a proxy's 502, a 401 or 404).
    #[error("HTTP {status} from {url}{}", excerpt.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    Http { status: u16, url: String, excerpt: Option<String> },
    /// The answer is not what the API returns.
    #[error("{url}: the answer is not the Prometheus API's: {reason}")]
    Decode { url: String, reason: String },
}

/// What a Prometheus error type means to a responder.
fn describe(error_type: &str) -> &'static str {
    match error_type {
        "bad_data" => "Prometheus refused the query (bad PromQL or parameters)",
        "execution" => {
            "the query failed inside Prometheus (too many samples or series, or an evaluation error)"
        }
        "timeout" => "the query timed out inside Prometheus",
        "canceled" => "Prometheus cancelled the query",
        "unavailable" => "Prometheus is not ready",
        _ => "Prometheus returned an error",
    }
}

/// A range query's answer: its series and Prometheus's warnings.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    pub series: Vec<Series>,
    pub warnings: Vec<String>,
    /// Points left out: NaN or infinite values.
    pub non_finite_points: usize,
    /// The answer as received, redacted, when it is small enough to keep.
    pub raw: Option<Value>,
}

/// Raw answers larger than this (in bytes) are read but not kept as artifacts.
pub const MAX_RAW_BYTES: usize = 2 * 1024 * 1024;

/// The span and resolution of a range query.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub step_secs: u64,
}

impl Server {
    /// `path` under the base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// Evaluates `expr` over `range`.
    ///
    /// # Errors
    /// A [`QueryError`] saying why no matrix came back.
    pub async fn query_range(
        &self,
        expr: &str,
        range: Range,
        ctx: &CollectContext,
    ) -> Result<Matrix, QueryError> {
        let url = self.url("api/v1/query_range");
        // A form body, so a long expression never meets a URL length limit.
        let mut form = Url::parse("http://form.invalid/").expect("a valid URL");
        form.query_pairs_mut()
            .append_pair("query", expr)
            .append_pair("start", &range.start.timestamp().to_string())
            .append_pair("end", &range.end.timestamp().to_string())
            .append_pair("step", &range.step_secs.to_string());
        let body = form.query().unwrap_or_default().to_owned();
        let request = self
            .client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let answer = self.send(request, &url, ctx).await?;
        matrix(&answer.value, answer.raw_bytes).map_err(|reason| QueryError::Decode { url, reason })
    }

    /// GETs `path` and returns its JSON.
    ///
    /// # Errors
    /// As [`Server::query_range`].
    pub async fn get_json(&self, path: &str, ctx: &CollectContext) -> Result<Value, QueryError> {
        let url = self.url(path);
        let request = self.client.get(&url);
        Ok(self.send(request, &url, ctx).await?.value)
    }

    /// Sends `request` with the credentials, under the request timeout cut short by the
    /// deadline and the run's cancellation, and reads the JSON of a 2xx answer.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
        ctx: &CollectContext,
    ) -> Result<Answer, QueryError> {
        let transport = |failure| QueryError::Transport { url: url.to_owned(), failure };
        let timeout = self.request_timeout.min(ctx.remaining());
        if ctx.should_stop() || timeout < Duration::from_millis(10) {
            return Err(transport(Failure::generated(
                FailureKind::Timeout,
                "the instance's deadline passed before the request",
            )));
        }
        let mut request = request.header(reqwest::header::ACCEPT, "application/json");
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
        };
        if let Some(tenant) = &self.tenant {
            request = request.header("X-Scope-OrgID", tenant);
        }
        let fetched = tokio::select! {
            r = client::fetch(request, timeout, self.max_body_bytes, &ctx.redactor) => {
                r.map_err(|(f, _)| transport(f))?
            }
            _ = ctx.cancel.cancelled() => {
                let cancelled = Failure::generated(FailureKind::Other, "the run was cancelled");
                return Err(transport(cancelled));
            }
        };
        let (status, bytes) = (fetched.status, fetched.body_len());
        tracing::debug!(url = %url, status, bytes, "Prometheus answered.");
        if fetched.body_truncated {
            return Err(transport(Failure::generated(
                FailureKind::Body,
                format!("answer larger than {} bytes (max_body_bytes)", self.max_body_bytes),
            )));
        }
        let json = fetched.body_json();
        if let Ok(value) = &json
            && value.get("status").and_then(Value::as_str) == Some("error")
        {
            let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
            return Err(QueryError::Refused {
                status: fetched.status,
                error_type: text("errorType"),
                message: text("error"),
            });
        }
        if !(200..300).contains(&fetched.status) {
            let excerpt = fetched.body_text().truncate(300).into_string();
            return Err(QueryError::Http {
                status: fetched.status,
                url: url.to_owned(),
                excerpt: (!excerpt.trim().is_empty()).then(|| excerpt.trim().to_owned()),
            });
        }
        let value = json.map_err(|e| QueryError::Decode {
            url: url.to_owned(),
            reason: format!("invalid JSON: {e}"),
        })?;
        Ok(Answer { value, raw_bytes: fetched.body_len() })
    }
}

/// A 2xx answer's JSON, redacted, and its size.
struct Answer {
    value: Value,
    raw_bytes: usize,
}

/// The series of a `query_range` answer (`{"status": "success", "data": {"resultType":
/// "matrix", "result": [{"metric": {...}, "values": [[t, "v"], ...]}]}}`), read redacted;
/// `raw_bytes` (the size of the answer) decides whether it is kept as an artifact.
pub fn matrix(answer: &Value, raw_bytes: usize) -> Result<Matrix, String> {
    let data = answer.get("data").ok_or("no `data`")?;
    match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        other => return Err(format!("resultType is {other:?}, not \"matrix\"")),
    }
    let result = data.get("result").and_then(Value::as_array).ok_or("no `data.result` array")?;
    let mut out = Matrix {
        warnings: answer
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect(),
        raw: (raw_bytes <= MAX_RAW_BYTES).then(|| answer.clone()),
        ..Matrix::default()
    };
    for (i, item) in result.iter().enumerate() {
        let labels: BTreeMap<String, String> = item
            .get("metric")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect();
        let values = item
            .get("values")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("series {i} has no `values`"))?;
        let mut points = Vec::with_capacity(values.len());
        for pair in values {
            let (Some(t), Some(v)) = (pair.get(0).and_then(Value::as_f64), pair.get(1)) else {
                return Err(format!("series {i} has a point that is not [time, \"value\"]"));
            };
            let value = v.as_str().and_then(|s| s.parse::<f64>().ok()).or_else(|| v.as_f64());
            let time = DateTime::from_timestamp_millis((t * 1000.0).round() as i64);
            match (time, value) {
                (Some(time), Some(value)) if value.is_finite() => points.push((time, value)),
                (Some(_), Some(_)) => out.non_finite_points += 1,
                _ => return Err(format!("series {i} has a point that is not [time, \"value\"]")),
            }
        }
        out.series.push(Series { labels, points });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_matrix_is_read_with_its_labels_and_without_non_finite_points() {
        let answer = json!({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"service": "checkout"}, "values": [[1763586000, "100"], [1763586060.5, "NaN"], [1763586120, "+Inf"], [1763586180, "1e2"]]}
        ]}, "warnings": ["PromQL info: metric might not be a counter"]});
        let m = matrix(&answer, 10).unwrap();
        assert_eq!(m.series.len(), 1);
        assert_eq!(m.series[0].labels["service"], "checkout");
        let values: Vec<f64> = m.series[0].points.iter().map(|(_, v)| *v).collect();
        assert_eq!(values, [100.0, 100.0]);
        assert_eq!(m.non_finite_points, 2);
        assert_eq!(m.warnings, ["PromQL info: metric might not be a counter"]);
        assert!(m.raw.is_some());
    }

    #[test]
    fn what_is_not_a_matrix_is_named() {
        let vector = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert_eq!(matrix(&vector, 10).unwrap_err(), "resultType is Some(\"vector\"), not \"matrix\"");
        let broken = json!({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [["x"]]}]}});
        assert_eq!(matrix(&broken, 10).unwrap_err(), "series 0 has a point that is not [time, \"value\"]");
    }

    #[test]
    fn refusals_say_what_went_wrong_in_words() {
        let e = QueryError::Refused {
            status: 400,
            error_type: "bad_data".into(),
            message: "1:34: parse error: unclosed left parenthesis".into(),
        };
        assert_eq!(
            e.to_string(),
            "Prometheus refused the query (bad PromQL or parameters): bad_data: 1:34: parse error: unclosed left parenthesis"
        );
    }
}
