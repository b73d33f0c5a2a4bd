//! Getting a status page's documents: one GET per document over witness-net's client,
//! each with its own timeout cut short by the instance's deadline, the body capped, kept
//! as a raw artifact, and any failure kept with its kind (timeout, TLS, HTTP status,
//! invalid JSON) and the URL it concerns.

use std::time::Duration;

use serde::Serialize;
use witness_collector::{CollectContext, CollectError};
use witness_net::client::{self, Failure, FailureKind};

/// A document that could not be read.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{url}: {failure}")]
pub struct FetchError {
    pub url: String,
    pub failure: Failure,
    #[serde(skip)]
    pub timeout: Duration,
}

impl FetchError {
    /// The error for a body that is not the expected JSON.
    pub fn decode(url: &str, err: &serde_json::Error) -> Self {
        Self {
            url: url.to_owned(),
            failure: Failure::new(FailureKind::Decode, format!("invalid JSON: {err}")),
            timeout: Duration::ZERO,
        }
    }
}

impl From<FetchError> for CollectError {
    fn from(e: FetchError) -> Self {
        match e.failure.kind {
            FailureKind::Timeout => CollectError::Timeout { what: e.url, after: e.timeout },
            FailureKind::Dns
            | FailureKind::ConnectionRefused
            | FailureKind::Connect
            | FailureKind::Tls => CollectError::Unreachable {
                target: e.url,
                reason: format!("{}: {}", e.failure.kind, e.failure.message),
            },
            _ => CollectError::Other(e.to_string()),
        }
    }
}

/// One document as fetched, for the evidence's `data.fetched`.
#[derive(Debug, Clone, Serialize)]
pub struct Fetched {
    pub url: String,
    pub status: u16,
    pub bytes: usize,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The artifact the raw document was kept as; `None` when it was too large to keep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
}

/// Raw documents larger than this are parsed but not kept as artifacts: Google Cloud's
/// whole incident history would swamp the bundle, and the evidence keeps what matters.
pub const MAX_ARTIFACT_BYTES: usize = 2 * 1024 * 1024;

/// Reads documents of one page for one run.
pub struct Fetcher<'a> {
    pub client: witness_net::client::reqwest::Client,
    pub base_url: String,
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub ctx: &'a CollectContext,
    pub log: std::sync::Mutex<Vec<Fetched>>,
}

impl Fetcher<'_> {
    /// The URL of `path` under the base URL (`https://www.githubstatus.com` +
    /// `api/v2/summary.json`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// GETs `path` and returns its body; any status but 2xx is a failure. The body is kept
    /// as the artifact `artifact` (the bundle writer redacts it).
    ///
    /// # Errors
    /// A [`FetchError`] naming the URL and why.
    pub async fn get(&self, path: &str, artifact: &str) -> Result<Vec<u8>, FetchError> {
        let url = self.url(path);
        let timeout = self.request_timeout.min(self.ctx.remaining());
        let fail = |failure| FetchError { url: url.clone(), failure, timeout };
        if self.ctx.should_stop() || timeout < Duration::from_millis(10) {
            return Err(fail(Failure::new(
                FailureKind::Timeout,
                "the instance's deadline passed before the request",
            )));
        }
        let request = self
            .client
            .get(&url)
            .header(witness_net::client::reqwest::header::ACCEPT, "application/json");
        let fetched = tokio::select! {
            r = client::fetch(request, timeout, self.max_body_bytes) => r.map_err(|(f, _)| fail(f))?,
            _ = self.ctx.cancel.cancelled() => {
                return Err(fail(Failure::new(FailureKind::Other, "the run was cancelled")));
            }
        };
        tracing::debug!(url = %url, status = fetched.status, bytes = fetched.body.len(), "Fetched status page document.");
        let keep = fetched.body.len() <= MAX_ARTIFACT_BYTES;
        if keep {
            self.ctx.artifacts.put(artifact, fetched.body.clone());
        }
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(Fetched {
            url: url.clone(),
            status: fetched.status,
            bytes: fetched.body.len(),
            latency_ms: u64::try_from(fetched.latency.as_millis()).unwrap_or(u64::MAX),
            truncated: fetched.body_truncated,
            artifact: keep.then(|| artifact.to_owned()),
        });
        if !(200..300).contains(&fetched.status) {
            return Err(fail(Failure::new(
                FailureKind::HttpStatus,
                format!("HTTP {}", fetched.status),
            )));
        }
        if fetched.body_truncated {
            return Err(fail(Failure::new(
                FailureKind::Body,
                format!("body larger than {} bytes (max_body_bytes)", self.max_body_bytes),
            )));
        }
        Ok(fetched.body)
    }

    /// GETs `path` and parses it with `parse`.
    ///
    /// # Errors
    /// A [`FetchError`] when the GET fails or the body does not parse.
    pub async fn get_parsed<T>(
        &self,
        path: &str,
        artifact: &str,
        parse: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, FetchError> {
        let body = self.get(path, artifact).await?;
        parse(&body).map_err(|e| FetchError::decode(&self.url(path), &e))
    }

    /// What was fetched so far.
    pub fn fetched(&self) -> Vec<Fetched> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
