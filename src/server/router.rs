//! The HTTP layer of `witness serve`: its routes and what each answers. The hooks and
//! `/api/collect` pass the same checks (draining, credentials, content type, rate, size),
//! then their body becomes triggers and goes through the one accept path
//! ([`super::accept`]: admit, journal, queue) before the `202`. Also the bundle API
//! ([`super::api`]), health, readiness and metrics. Errors are [`ApiError`]: a status and
//! a JSON body that says what is wrong.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use http_body_util::BodyExt;
use serde_json::json;

use super::accept::{Accepted, accept};
use super::error::{ApiError, RETRY_AFTER_SECS};
use super::hooks::{self, HookError, Notification};
use super::journal::redact_webhook_id;
use super::state::Shared;
use crate::redact::Redactor;
use crate::trigger::{Trigger, TriggerSource};

/// The whole router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        // Grafana's contact points may be set to PUT; every hook takes both.
        .route("/hooks/alertmanager", post(alertmanager).put(alertmanager))
        .route("/hooks/grafana", post(grafana).put(grafana))
        .route("/hooks/pagerduty", post(pagerduty).put(pagerduty))
        .route("/hooks/generic", post(generic).put(generic))
        .route("/api/collect", post(api_collect))
        .route("/api/bundles", get(super::api::list))
        .route("/api/bundles/{id}", get(super::api::manifest))
        .route("/api/bundles/{id}/archive", get(super::api::archive))
        .route("/api/bundles/{id}/files/{*path}", get(super::api::file))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(super::error::no_route)
        .method_not_allowed_fallback(super::error::wrong_method)
        .with_state(shared)
}

/// The checks every hook and `/api/collect` share, in the order a sender can act on:
/// draining, credentials, content type, rate, size. Returns the body. Every refusal is
/// counted by its cause and logged (a few lines per source and cause, not one per request).
async fn intake_gate(
    shared: &Shared,
    source: &'static str,
    request: Request,
    pagerduty: bool,
) -> Result<(HeaderMap, Bytes), ApiError> {
    let refuse = |cause: &'static str, error: ApiError| -> ApiError {
        shared.refused(source, cause, 1, &error.message);
        error
    };
    if shared.is_draining() {
        let error =
            ApiError::unavailable("witness is shutting down; retry later", RETRY_AFTER_SECS);
        return Err(refuse("draining", error.before_body()));
    }
    let live = shared.live();
    let (parts, body) = request.into_parts();
    if !pagerduty && let Err(e) = live.auth.check(&parts.headers) {
        let error = ApiError::unauthorized(e.to_string(), live.auth.challenge());
        return Err(refuse("unauthorized", error.before_body()));
    }
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        let error = ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
        return Err(refuse("rejected", error.before_body()));
    }
    if let Err(wait) = shared.rate_limit(source) {
        let error =
            ApiError::unavailable(format!("too many requests from {source}; retry later"), wait);
        return Err(refuse("rate_limited", error.before_body()));
    }
    let limit = live.config.server.max_body_bytes;
    let body = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            let error = ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes ([server] max_body_bytes)"),
            );
            return Err(refuse("rejected", error.before_body()));
        }
        Err(e) => {
            let error =
                ApiError::new(StatusCode::BAD_REQUEST, format!("cannot read the body: {e}"));
            return Err(refuse("rejected", error.before_body()));
        }
    };
    if pagerduty && let Err(e) = live.auth.check_pagerduty(&parts.headers, &body) {
        let error = ApiError::unauthorized(e.to_string(), live.auth.challenge());
        return Err(refuse("unauthorized", error));
    }
    Ok((parts.headers, body))
}

async fn alertmanager(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "alertmanager", request, |body, redactor| {
        hooks::alertmanager(body, TriggerSource::Alertmanager, redactor)
    })
    .await
}

async fn grafana(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "grafana", request, |body, redactor| {
        hooks::alertmanager(body, TriggerSource::Grafana, redactor)
    })
    .await
}

async fn generic(
    State(shared): State<Arc<Shared>>,
    request: Request,
) -> Result<Response, ApiError> {
    hook(&shared, "generic", request, |body, redactor| {
        hooks::generic(body, TriggerSource::Generic, redactor)
    })
    .await
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
    parse: impl FnOnce(&[u8], &Redactor) -> Result<Notification, HookError>,
) -> Result<Response, ApiError> {
    let (headers, body) = intake_gate(shared, source, request, source == "pagerduty").await?;
    // Redacted where it is parsed: the intake, the journal and the logs see only tokens.
    let redactor = shared.live().intake.clone();
    let alerts = match parse(&body, &redactor) {
        Ok(Notification::Alerts(alerts)) => alerts,
        Ok(Notification::Ping) => {
            return Ok((StatusCode::OK, axum::Json(json!({"status": "pong"}))).into_response());
        }
        Err(e) => {
            let error = ApiError::from(e);
            shared.refused(source, "rejected", 1, &error.message);
            return Err(error);
        }
    };
    let webhook_id = headers
        .get("x-webhook-id")
        .and_then(|v| v.to_str().ok())
        .map(|id| redact_webhook_id(&redactor, id));
    let accepted = accept(shared, source, alerts, webhook_id.as_deref()).await?;
    let answers: Vec<serde_json::Value> = accepted
        .decisions
        .iter()
        .map(|d| {
            json!({
                "name": d.trigger.name,
                "status": d.trigger.status,
                "fingerprint": d.trigger.fingerprint.as_ref().or(d.trigger.incident_id.as_ref()),
                "action": d.action.as_str(),
                "bundle": d.bundle,
                "follow_up": d.follow_up.as_ref().map(|f| &f.bundle),
            })
        })
        .collect();
    if accepted.refused > 0 {
        let full = if shared.fleet.as_ref().is_some_and(|f| f.spool.is_full()) {
            "the upload spool is full (the object store is not taking uploads)".to_owned()
        } else {
            format!("the run queue is full ({} waiting)", shared.live().config.server.queue_size)
        };
        return Err(ApiError::unavailable(
            format!("{full}; retry later; admitted: {}", serde_json::Value::Array(answers)),
            RETRY_AFTER_SECS,
        ));
    }
    Ok(answer_202(&accepted, Some(answers)))
}

/// `202` with the bundles started or joined and, for hooks, what happened to each alert.
fn answer_202(accepted: &Accepted, alerts: Option<Vec<serde_json::Value>>) -> Response {
    let body = match alerts {
        Some(alerts) => json!({ "bundles": accepted.bundles, "alerts": alerts }),
        None => json!({ "bundles": accepted.bundles }),
    };
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// `POST /api/collect`: `{ "title"?, "labels"? }` (or no body): a manual run now, like
/// `witness collect now --label ...`. Never deduplicated. With `"follow_up": ID`, the
/// follow-up of that sealed bundle instead ([`super::api::collect_follow_up`]).
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
    // Redacted where it is parsed, like a hook's alerts.
    let redactor = shared.live().intake.clone();
    if value.get("follow_up").is_some() {
        return super::api::collect_follow_up(&shared, &value, &redactor).await;
    }
    let labels = hooks::string_map(value.get("labels"), "labels", &redactor)?;
    let mut trigger = Trigger::manual(Utc::now(), labels);
    if let Some(title) = value.get("title").and_then(|v| v.as_str()) {
        trigger.name = redactor.redact(title).into_string();
    }
    let accepted = accept(&shared, "collect", vec![trigger], None).await?;
    if accepted.refused > 0 {
        return Err(ApiError::unavailable("the run queue is full; retry later", RETRY_AFTER_SECS));
    }
    Ok(answer_202(&accepted, None))
}

/// `/readyz`: the config is loaded, the store writable, the journal open, not draining.
async fn readyz(State(shared): State<Arc<Shared>>) -> Response {
    let store = shared.live().config.store.dir.clone();
    let store_ok =
        tokio::task::spawn_blocking(move || store_is_writable(&store)).await.unwrap_or(false);
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

/// Whether `dir` accepts a new file (for `/readyz`).
fn store_is_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".readyz-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}
