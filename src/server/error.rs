//! The error answer of every route: a status, a JSON body `{"error": "..."}` that says
//! what is wrong, `Retry-After` on a `503` so that Alertmanager and PagerDuty retry,
//! `WWW-Authenticate` on a `401`, and `Connection: close` when the answer goes out before
//! the request's body was read (the client may still be sending it: keeping the connection
//! would read that body as the next request, or break the client's pipe). Also the answers
//! of paths and methods no route has.
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
    /// The `WWW-Authenticate` challenge of a `401`.
    pub challenge: Option<&'static str>,
    /// Answered before the body was read: `Connection: close`.
    pub close: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_secs: None,
            challenge: None,
            close: false,
        }
    }

    /// The same answer, sent before the body was read: the connection closes after it.
    #[must_use]
    pub fn before_body(self) -> Self {
        Self { close: true, ..self }
    }

    /// `503` with `Retry-After: retry_after_secs`.
    pub fn unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// `401` with why, and the `challenge` (`WWW-Authenticate`) saying which credentials.
    pub fn unauthorized(message: impl Into<String>, challenge: &'static str) -> Self {
        Self { challenge: Some(challenge), ..Self::new(StatusCode::UNAUTHORIZED, message) }
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
        // A message may quote what the sender sent (serde names the bad value): redacted
        // as witness's own log lines are, so no answer carries a secret either.
        let message = crate::logging::redact(&self.message);
        let mut response = (self.status, axum::Json(json!({ "error": message }))).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(challenge) = self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if self.close {
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// `404` for a path no route has, as JSON like every other error.
pub async fn no_route() -> ApiError {
    ApiError::not_found("route")
}

/// `405` for a method a route does not take, as JSON like every other error.
pub async fn wrong_method(method: axum::http::Method) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("{method} is not allowed here"))
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
