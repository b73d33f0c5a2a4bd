//! The routes of `witness serve` and what each answers: the hooks (auth, content type,
//! rate limit, body limit, parse, admit, journal, `202`), `/api/collect`, the bundle API
//! ([`super::api`]), health, readiness and metrics. Errors are [`ApiError`]: a status and
//! a JSON body that says what is wrong.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::json;

use super::Shared;
use super::hooks::{self, HookError, Incoming, Notification};
use super::intake::Limits;
use super::journal::{Action, Record};
use super::runner::Job;
use crate::trigger::{Trigger, TriggerSource};

/// An error answer: status, message, and `Retry-After` for `503`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after_secs: None }
    }

    pub fn unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after_secs: Some(retry_after_secs),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({ "error": self.message }))).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<HookError> for ApiError {
    fn from(e: HookError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, e.to_string())
    }
}

/// Seconds a sender is told to wait when the queue is full or witness is draining.
const RETRY_AFTER_SECS: u64 = 10;

/// The whole router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/hooks/alertmanager", post(alertmanager))
        .route("/hooks/grafana", post(grafana))
        .route("/hooks/pagerduty", post(pagerduty))
        .route("/hooks/generic", post(generic))
        .route("/api/collect", post(api_collect))
        .route("/api/bundles", get(super::api::list))
        .route("/api/bundles/{id}", get(super::api::manifest))
        .route("/api/bundles/{id}/archive", get(super::api::archive))
        .route("/api/bundles/{id}/files/{*path}", get(super::api::file))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

/// The checks every hook and `/api/collect` share, in the order a sender can act on:
/// draining, credentials, content type, rate, size. Returns the body.
async fn intake_gate(
    shared: &Shared,
    source: &'static str,
    request: Request,
    pagerduty: bool,
) -> Result<(HeaderMap, Bytes), ApiError> {
    if shared.is_draining() {
        shared.metrics.alert(source, "throttled");
        return Err(ApiError::unavailable(
            "witness is shutting down; retry later",
            RETRY_AFTER_SECS,
        ));
    }
    let live = shared.live();
    let (parts, body) = request.into_parts();
    if !pagerduty && let Err(e) = live.auth.check(&parts.headers) {
        shared.metrics.alert(source, "unauthorized");
        return Err(unauthorized(e.to_string()));
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        shared.metrics.alert(source, "rejected");
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        ));
    }
    if let Err(wait) = shared.rate_limit(source) {
        shared.metrics.alert(source, "throttled");
        return Err(ApiError::unavailable(
            format!("too many requests from {source}; retry later"),
            wait,
        ));
    }
    let limit = live.config.server.max_body_bytes;
    let body = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            shared.metrics.alert(source, "rejected");
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes ([server] max_body_bytes)"),
            ));
        }
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("cannot read the body: {e}"),
            ));
        }
    };
    if pagerduty && let Err(e) = live.auth.check_pagerduty(&parts.headers, &body) {
        shared.metrics.alert(source, "unauthorized");
        return Err(unauthorized(e.to_string()));
    }
    Ok((parts.headers, body))
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

async fn alertmanager(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "alertmanager", request, |body| {
        hooks::alertmanager(body, TriggerSource::Alertmanager)
    })
    .await
}

async fn grafana(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "grafana", request, |body| hooks::alertmanager(body, TriggerSource::Grafana))
        .await
}

async fn generic(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "generic", request, |body| hooks::generic(body, TriggerSource::Generic)).await
}

async fn pagerduty(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "pagerduty", request, hooks::pagerduty).await
}

async fn hook(
    shared: &Arc<Shared>,
    source: &'static str,
    request: Request,
    parse: impl FnOnce(&[u8]) -> Result<Notification, HookError>,
) -> Result<Response, ApiError> {
    let (headers, body) = intake_gate(shared, source, request, source == "pagerduty").await?;
    let alerts = match parse(&body) {
        Ok(Notification::Alerts(alerts)) => alerts,
        Ok(Notification::Ping) => {
            return Ok((StatusCode::OK, axum::Json(json!({"status": "pong"}))).into_response());
        }
        Err(e) => {
            shared.metrics.alert(source, "rejected");
            return Err(e.into());
        }
    };
    let webhook_id = headers.get("x-webhook-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    accept(shared, source, alerts, webhook_id.as_deref()).await
}

/// Admits, journals and queues; answers `202` with what happened to each alert, or `503`
/// with `Retry-After` when some could not be admitted.
async fn accept(
    shared: &Arc<Shared>,
    source: &'static str,
    alerts: Vec<Incoming>,
    webhook_id: Option<&str>,
) -> Result<Response, ApiError> {
    let live = shared.live();
    let limits = Limits {
        cooldown: std::time::Duration::from_secs(live.config.server.cooldown_secs),
        queue_size: live.config.server.queue_size,
    };
    let received_at = Utc::now();
    let admitted =
        shared.intake().admit(alerts, webhook_id, limits, Instant::now(), received_at, &mut || {
            crate::bundle::new_id(received_at)
        });

    let records: Vec<Record> = admitted
        .decisions
        .iter()
        .map(|d| Record::Accepted {
            at: received_at,
            action: d.action,
            bundle: d.bundle.clone(),
            webhook_id: webhook_id.map(str::to_owned),
            trigger: Box::new(if d.action == Action::Started {
                d.trigger.clone()
            } else {
                Trigger { raw: None, ..d.trigger.clone() }
            }),
        })
        .collect();
    let started: Vec<String> = admitted
        .decisions
        .iter()
        .filter(|d| d.action == Action::Started)
        .filter_map(|d| d.bundle.clone())
        .collect();
    // Nothing is acknowledged before it is on disk.
    if !records.is_empty()
        && let Err(e) = shared.journal.append(&records).await
    {
        shared.intake().forget(&started);
        shared.metrics.alerts_n(source, "rejected", records.len() as u64);
        tracing::error!(error = %e, "Cannot journal accepted alerts; answering 503.");
        return Err(ApiError::unavailable(
            format!("cannot write the journal: {e}"),
            RETRY_AFTER_SECS,
        ));
    }
    let mut answers = Vec::with_capacity(admitted.decisions.len());
    let mut bundles: Vec<String> = Vec::new();
    for decision in admitted.decisions {
        let outcome = match decision.action {
            Action::Started => "accepted",
            Action::Joined | Action::Deduplicated | Action::Redelivered => "deduplicated",
            Action::Resolved => "resolved",
        };
        shared.metrics.alert(source, outcome);
        answers.push(json!({
            "name": decision.trigger.name,
            "status": decision.trigger.status,
            "fingerprint": decision.trigger.fingerprint.as_ref().or(decision.trigger.incident_id.as_ref()),
            "action": decision.action.as_str(),
            "bundle": decision.bundle,
        }));
        if let Some(bundle) = &decision.bundle
            && !bundles.contains(bundle)
        {
            bundles.push(bundle.clone());
        }
        if decision.action == Action::Started
            && let Some(bundle) = decision.bundle
        {
            tracing::info!(bundle = %bundle, source, alert = %decision.trigger.name, "Alert accepted; run queued.");
            let _ = shared.jobs.send(Job { bundle, trigger: decision.trigger });
        }
    }
    shared.update_gauges();
    if admitted.refused > 0 {
        shared.metrics.alerts_n(source, "throttled", admitted.refused as u64);
        let mut error = ApiError::unavailable(
            format!("the run queue is full ({} waiting); retry later", limits.queue_size),
            RETRY_AFTER_SECS,
        );
        error.message =
            format!("{}; admitted: {}", error.message, serde_json::Value::Array(answers));
        return Err(error);
    }
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "bundles": bundles, "alerts": answers })))
        .into_response())
}

/// `POST /api/collect`: `{ "title"?, "labels"? }` (or no body): a manual run now, like
/// `witness collect now --label ...`. Never deduplicated.
async fn api_collect(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    let mut request = request;
    // An empty POST is fine: only the credentials matter then.
    if !request.headers().contains_key(header::CONTENT_TYPE) {
        request
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    let (_, body) = intake_gate(&shared, "collect", request, false).await?;
    let value: serde_json::Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::from(HookError::NotJson(e.to_string())))?
    };
    let labels = match value.get("labels") {
        None | Some(serde_json::Value::Null) => Default::default(),
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                (k.clone(), v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string()))
            })
            .collect(),
        Some(_) => {
            return Err(HookError::Invalid {
                field: "labels".into(),
                problem: "must be an object of strings".into(),
            }
            .into());
        }
    };
    let mut trigger = Trigger::manual(Utc::now(), labels);
    if let Some(title) = value.get("title").and_then(|v| v.as_str()) {
        trigger.name = title.to_owned();
    }
    let live = shared.live();
    let bundle = shared
        .intake()
        .admit_manual(live.config.server.queue_size, &mut || crate::bundle::new_id(Utc::now()));
    let Some(bundle) = bundle else {
        shared.metrics.alert("collect", "throttled");
        return Err(ApiError::unavailable("the run queue is full; retry later", RETRY_AFTER_SECS));
    };
    let record = Record::Accepted {
        at: Utc::now(),
        action: Action::Started,
        bundle: Some(bundle.clone()),
        webhook_id: None,
        trigger: Box::new(trigger.clone()),
    };
    if let Err(e) = shared.journal.append(&[record]).await {
        shared.intake().forget(std::slice::from_ref(&bundle));
        return Err(ApiError::unavailable(
            format!("cannot write the journal: {e}"),
            RETRY_AFTER_SECS,
        ));
    }
    shared.metrics.alert("collect", "accepted");
    let _ = shared.jobs.send(Job { bundle: bundle.clone(), trigger });
    shared.update_gauges();
    Ok((StatusCode::ACCEPTED, axum::Json(json!({ "bundles": [bundle] }))).into_response())
}

/// `/readyz`: the config is loaded, the store writable, the journal open, not draining.
async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.live().config.store.dir.clone();
    let store_ok = tokio::task::spawn_blocking(move || super::store_is_writable(&store))
        .await
        .unwrap_or(false);
    let journal_ok = shared.journal.is_healthy();
    let draining = shared.is_draining();
    let ready = store_ok && journal_ok && !draining;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "ready": ready,
        "config": "loaded",
        "store_writable": store_ok,
        "journal_open": journal_ok,
        "draining": draining,
    });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    shared.update_gauges();
    let body = shared.metrics.render();
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
        .into_response()
}
