//! Getting a status page's documents: one GET per document over witness-net's client,
//! each with its own timeout cut short by the instance's deadline, the body capped, kept
//! as an artifact, and any failure kept with its kind (timeout, TLS, HTTP status,
//! invalid JSON) and the URL it concerns. A document is redacted as JSON where it is read
//! ([`Document`]), before a format parses it and before it is kept.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use witness_collector::{CollectContext, CollectError, Redactor};
use witness_net::client::{self, Failure, FailureKind};

/// A status page's JSON document, redacted as JSON (every string, and whole values under
/// secret-named keys whatever their type) before any format reads it: the only thing a
/// format parses.
#[derive(Debug, Clone)]
pub struct Document(serde_json::Value);

impl Document {
    /// Parses `body` as JSON and redacts it with `redactor`.
    ///
    /// # Errors
    /// When `body` is not JSON.
    pub fn read(body: &[u8], redactor: &Redactor) -> Result<Self, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_slice(body)?;
        redactor.redact_json(&mut value);
        Ok(Self(value))
    }

    /// The document as the type `T` a format reads it into.
    ///
    /// # Errors
    /// When the document does not have `T`'s shape.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_value(self.0)
    }
}

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
    /// The error for a body that is not the expected JSON. serde quotes values of the
    /// wrong type, so the message is redacted too.
    pub fn decode(url: &str, err: &serde_json::Error, redactor: &Redactor) -> Self {
        Self {
            url: url.to_owned(),
            failure: Failure::new(
                FailureKind::Decode,
                redactor.redact(&format!("invalid JSON: {err}")),
            ),
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

    /// GETs `path` and returns its body as a [`Document`]; any status but 2xx is a
    /// failure. The document is kept, redacted, as the artifact `artifact` (a body that is
    /// not JSON as redacted text).
    ///
    /// # Errors
    /// A [`FetchError`] naming the URL and why.
    pub async fn get(&self, path: &str, artifact: &str) -> Result<Document, FetchError> {
        let url = self.url(path);
        let timeout = self.request_timeout.min(self.ctx.remaining());
        let fail = |failure| FetchError { url: url.clone(), failure, timeout };
        if self.ctx.should_stop() || timeout < Duration::from_millis(10) {
            return Err(fail(Failure::generated(
                FailureKind::Timeout,
                "the instance's deadline passed before the request",
            )));
        }
        let request = self
            .client
            .get(&url)
            .header(witness_net::client::reqwest::header::ACCEPT, "application/json");
        let redactor = &self.ctx.redactor;
        let fetched = tokio::select! {
            r = client::fetch(request, timeout, self.max_body_bytes, redactor) => r.map_err(|(f, _)| fail(f))?,
            _ = self.ctx.cancel.cancelled() => {
                return Err(fail(Failure::generated(FailureKind::Other, "the run was cancelled")));
            }
        };
        tracing::debug!(url = %url, status = fetched.status, bytes = fetched.body_len(), "Fetched status page document.");
        let document = fetched.body_json().map(Document);
        let keep = fetched.body_len() <= MAX_ARTIFACT_BYTES;
        if keep {
            match &document {
                Ok(Document(value)) => self.ctx.artifacts.put_json(artifact, value),
                Err(_) => self.ctx.artifacts.put(artifact, fetched.body_text().into_string()),
            }
        }
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(Fetched {
            url: url.clone(),
            status: fetched.status,
            bytes: fetched.body_len(),
            latency_ms: u64::try_from(fetched.latency.as_millis()).unwrap_or(u64::MAX),
            truncated: fetched.body_truncated,
            artifact: keep.then(|| artifact.to_owned()),
        });
        if !(200..300).contains(&fetched.status) {
            return Err(fail(Failure::generated(
                FailureKind::HttpStatus,
                format!("HTTP {}", fetched.status),
            )));
        }
        if fetched.body_truncated {
            return Err(fail(Failure::generated(
                FailureKind::Body,
                format!("body larger than {} bytes (max_body_bytes)", self.max_body_bytes),
            )));
        }
        document.map_err(|e| FetchError::decode(&url, &e, redactor))
    }

    /// GETs `path` and parses it with `parse`.
    ///
    /// # Errors
    /// A [`FetchError`] when the GET fails or the body does not parse.
    pub async fn get_parsed<T>(
        &self,
        path: &str,
        artifact: &str,
        parse: impl FnOnce(Document) -> Result<T, serde_json::Error>,
    ) -> Result<T, FetchError> {
        let document = self.get(path, artifact).await?;
        parse(document).map_err(|e| FetchError::decode(&self.url(path), &e, &self.ctx.redactor))
    }

    /// What was fetched so far.
    pub fn fetched(&self) -> Vec<Fetched> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
