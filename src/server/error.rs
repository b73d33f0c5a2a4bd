//! The error answer of every route: a status, a JSON body `{"error": "..."}` that says
//! what is wrong, and `Retry-After` on a `503` so that Alertmanager and PagerDuty retry.
//! The errors of the steps behind the routes (a body that does not parse, a journal that
//! cannot be written) become answers here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::accept::JournalFailed;
use super::hooks::HookError;

/// Seconds a sender is told to wait when the queue is full or witness is draining.
pub const RETRY_AFTER_SECS: u64 = 10;

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

    /// `503` with `Retry-After: retry_after_secs`.
    pub fn unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            retry_after_secs: Some(retry_after_secs),
        }
    }

    /// `401` with why.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// `404` for a missing `what` ("bundle", "file").
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }

    /// `500` with the cause.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
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

/// Nothing was acknowledged: the sender retries, as after any `503`.
impl From<JournalFailed> for ApiError {
    fn from(e: JournalFailed) -> Self {
        Self::unavailable(e.to_string(), RETRY_AFTER_SECS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unavailable_answer_says_when_to_retry_in_json() {
        let response =
            ApiError::unavailable("the run queue is full; retry later", 7).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
        let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body, json!({ "error": "the run queue is full; retry later" }));
    }
}
