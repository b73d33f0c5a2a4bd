//! The HTTP client every HTTP-speaking collector of witness uses (`http`, `status_page`):
//! how it is built (rustls with the ring provider and the platform's roots, proxies from
//! `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, a bounded redirect policy), one request with its
//! own timeout and a capped body, and why a request failed, told apart the way a responder
//! needs it: DNS, connection refused, TLS, timeout, redirect loop, HTTP status.
//!
//! What comes back is redacted where it is read: [`fetch`] takes the run's [`Redactor`],
//! and an answer's URL, headers, body and a failure's message are only reachable as text
//! that went through it, so a kind cannot excerpt, match or parse a secret first.
//!
//! It lives in this support crate, not in a kind, so the kinds share it instead of one
//! depending on another.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::tls::FixedVerifier;
use witness_collector::{ConfigProblem, Redacted, Redactor};

/// The reqwest this client is built on, for callers that build requests with it.
pub use reqwest;

/// What the client is built with.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Redirects followed before the request fails as a redirect loop.
    pub max_redirects: usize,
    /// A PEM file of extra root certificates trusted beside the platform's roots (an
    /// internal CA).
    pub ca_file: Option<PathBuf>,
    /// Keep the peer certificate of TLS connections, for [`Fetched::peer_certificate`].
    pub keep_peer_certificate: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self { max_redirects: 10, ca_file: None, keep_peer_certificate: false }
    }
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
}

/// The checks every HTTP-speaking kind makes of its configured `url` (key `url`): that it
/// parses and is `http` or `https`. The parsed URL is returned for the kind's own checks.
///
/// # Errors
/// The problem with the URL, under the key `url`.
pub fn config_url(url: &str) -> Result<reqwest::Url, ConfigProblem> {
    match reqwest::Url::parse(url) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
        Ok(url) => Err(ConfigProblem::new(
            "url",
            format!("scheme `{}` is not http or https", url.scheme()),
        )),
        Err(e) => Err(ConfigProblem::new("url", format!("not a URL: {e}"))),
    }
}

/// The problem with a configured `ca_file` (key `ca_file`) that is not a file.
pub fn config_ca_file(ca_file: Option<&Path>) -> Option<ConfigProblem> {
    ca_file
        .filter(|path| !path.is_file())
        .map(|path| ConfigProblem::new("ca_file", format!("{} is not a file", path.display())))
}

/// Builds a client: rustls (ring) verifying against the platform's roots plus `ca_file`,
/// the system proxy settings, no default timeout (every request sets its own, see
/// [`fetch`]).
///
/// Without any root certificate (a minimal image, no `ca_file`) the client is still built:
/// plain-http requests work and https ones fail as TLS errors naming the cause.
///
/// # Errors
/// [`ClientError`] when the CA file cannot be read or parsed, or when reqwest refuses the
/// settings.
pub fn build_client(options: &ClientOptions) -> Result<reqwest::Client, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra_roots = match &options.ca_file {
        Some(path) => read_pem_certificates(path)?,
        None => Vec::new(),
    };
    let has_extra_roots = !extra_roots.is_empty();
    let verifier: Arc<dyn rustls::client::danger::ServerCertVerifier> =
        match rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots,
            provider.clone(),
        ) {
            Ok(verifier) => Arc::new(verifier),
            Err(e) if has_extra_roots => return Err(ClientError::Tls(e.to_string())),
            // A minimal image without CA certificates can still probe plain-http endpoints;
            // https ones fail as TLS errors that say why.
            Err(e) => {
                tracing::warn!(error = %e, "No root certificates; https requests will fail.");
                Arc::new(FixedVerifier::reject_all(
                    provider.clone(),
                    format!("no trusted root certificates on this machine ({e}); set ca_file"),
                ))
            }
        };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // HTTP/1.1 only: health endpoints and status pages gain nothing from h2, and it keeps
    // the client small.
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];

    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tls_info(options.keep_peer_certificate)
        .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
        .user_agent(concat!("witness/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Build(error_chain(&e)))
}

/// [`build_client`] off the async runtime's workers: loading the platform's root
/// certificates reads and parses files, which should not stall other collectors.
///
/// # Errors
/// As [`build_client`].
pub async fn build_client_off_runtime(
    options: ClientOptions,
) -> Result<reqwest::Client, ClientError> {
    tokio::task::spawn_blocking(move || build_client(&options))
        .await
        .map_err(|e| ClientError::Build(format!("the client builder did not finish: {e}")))?
}

/// The client of a collector instance: [`build_client_off_runtime`] with the platform's
/// roots and the instance's `ca_file`, its failure the instance's configuration error.
///
/// # Errors
/// [`witness_collector::CollectError::Config`] naming the CA file or the TLS problem.
pub async fn instance_client(
    ca_file: Option<PathBuf>,
) -> Result<reqwest::Client, witness_collector::CollectError> {
    build_client_off_runtime(ClientOptions { ca_file, ..ClientOptions::default() })
        .await
        .map_err(|e| witness_collector::CollectError::Config(e.to_string()))
}

fn read_pem_certificates(
    path: &Path,
) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, ClientError> {
    use rustls_pki_types::pem::PemObject;
    let bad = |reason: String| ClientError::CaFile { path: path.to_owned(), reason };
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// Why a request produced no usable answer, in the words a responder uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens on the port (TCP reset on connect).
    ConnectionRefused,
    /// Any other failure to open the connection (unreachable network, reset).
    Connect,
    /// The TLS handshake failed: untrusted or expired certificate, wrong host name,
    /// protocol mismatch.
    Tls,
    /// No full answer within the request's timeout.
    Timeout,
    /// More redirects than allowed, or a redirect back to an address already visited.
    RedirectLoop,
    /// An answer came, with a status code that was not expected.
    HttpStatus,
    /// The body could not be read to the end (connection cut mid-body).
    Body,
    /// The body was read but is not what the format says (invalid JSON, wrong shape).
    Decode,
    /// The body was read and parsed but says something is wrong: a health body saying
    /// DOWN, a configured body match that did not hold.
    UnexpectedBody,
    /// Anything else.
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Dns => "dns",
            FailureKind::ConnectionRefused => "connection_refused",
            FailureKind::Connect => "connect",
            FailureKind::Tls => "tls",
            FailureKind::Timeout => "timeout",
            FailureKind::RedirectLoop => "redirect_loop",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Body => "body",
            FailureKind::Decode => "decode",
            FailureKind::UnexpectedBody => "unexpected_body",
            FailureKind::Other => "other",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: its kind and the full message (the error's source chain), redacted:
/// an error can quote a URL or a header the server sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: Redacted,
}

impl Failure {
    pub fn new(kind: FailureKind, message: Redacted) -> Self {
        Self { kind, message }
    }

    /// A failure whose message witness wrote itself, holding nothing it read.
    pub fn generated(kind: FailureKind, message: impl Into<String>) -> Self {
        Self { kind, message: Redacted::generated(message) }
    }
}

/// Tells apart why reqwest failed. Order matters: a TLS failure is also a connect
/// failure to reqwest, and a timeout can happen while connecting.
pub fn classify(err: &reqwest::Error) -> FailureKind {
    if err.is_timeout() {
        FailureKind::Timeout
    } else if err.is_redirect() {
        FailureKind::RedirectLoop
    } else if is_tls(err) {
        FailureKind::Tls
    } else if err.is_dns() {
        FailureKind::Dns
    } else if has_io_kind(err, std::io::ErrorKind::ConnectionRefused) {
        FailureKind::ConnectionRefused
    } else if err.is_connect() {
        FailureKind::Connect
    } else if err.is_body() || err.is_decode() {
        FailureKind::Body
    } else {
        FailureKind::Other
    }
}

fn sources(err: &reqwest::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(err), |e| e.source())
}

fn is_tls(err: &reqwest::Error) -> bool {
    sources(err).any(|e| {
        e.is::<rustls::Error>()
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| io_wraps_rustls(io, 4))
    })
}

/// Whether an io::Error carries a rustls error, possibly inside further io::Errors:
/// hyper-util wraps tokio-rustls's io::Error in another, and io::Error's `source()`
/// skips the wrapped error itself, so the chain has to be walked by hand.
fn io_wraps_rustls(io: &std::io::Error, depth: usize) -> bool {
    let Some(inner) = io.get_ref() else { return false };
    inner.is::<rustls::Error>()
        || (depth > 0
            && inner
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io_wraps_rustls(io, depth - 1)))
}

fn has_io_kind(err: &reqwest::Error, kind: std::io::ErrorKind) -> bool {
    sources(err).any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == kind))
}

/// The error and its sources in one line, each distinct part once, with the URL removed
/// from reqwest's own text (it may carry a query string with a token).
pub fn error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let top = err.to_string();
    let top = top.split(" for url (").next().unwrap_or(&top).to_owned();
    parts.push(top);
    for source in sources(err) {
        let text = source.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// A request that got an answer. Everything the server said is redacted: the URL it
/// redirected to (a token in a query string), each header beside its name (`Set-Cookie`,
/// an echoed `Authorization`), and the body, which is read only through
/// [`Fetched::body_text`] or [`Fetched::body_json`].
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    /// The URL answered after redirects.
    pub final_url: Redacted,
    /// The response headers in the order sent: lower-case names, redacted values.
    pub headers: Vec<(String, Redacted)>,
    /// At most the requested number of bytes of the body, as the server sent them.
    body: Vec<u8>,
    /// Whether the body was longer than what was kept.
    pub body_truncated: bool,
    /// From sending the request to the last byte kept.
    pub latency: Duration,
    /// The server's leaf certificate (DER), when the client keeps it and TLS was used.
    pub peer_certificate: Option<Vec<u8>>,
    redactor: Redactor,
}

impl Fetched {
    /// How many bytes of the body were kept.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The body as text (invalid UTF-8 replaced), redacted whole before anyone cuts,
    /// matches or parses it. A JSON body is redacted as JSON too, and then given compact:
    /// a secret-named key takes its value whole whatever its type (`"client_secret":
    /// ["…"]`), which rules over text cannot see.
    pub fn body_text(&self) -> Redacted {
        let text = self.redactor.redact_bytes(&self.body);
        if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(&text) {
            let before = value.clone();
            self.redactor.redact_json(&mut value);
            if value != before {
                return self.redactor.redact(&value.to_string());
            }
        }
        text
    }

    /// The body parsed as JSON and redacted as JSON: every string, and whole values under
    /// secret-named keys whatever their type (`"client_secret": [...]`).
    ///
    /// # Errors
    /// When the body is not JSON. serde's message quotes no part of the body.
    pub fn body_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        let mut value: serde_json::Value = serde_json::from_slice(&self.body)?;
        self.redactor.redact_json(&mut value);
        Ok(value)
    }
}

/// The headers of `map`, each value redacted beside its name.
fn redacted_headers(map: &HeaderMap, redactor: &Redactor) -> Vec<(String, Redacted)> {
    map.iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (
                redactor.redact(name.as_str()).into_string(),
                redactor.redact_pair(name.as_str(), &value),
            )
        })
        .collect()
}

/// Sends `request` and reads at most `max_body_bytes` of the answer, all within `timeout`
/// (set on the request and enforced around it, so a server that trickles its body cannot
/// hold the collector past it). Any status code is an answer; judging it is the caller's.
///
/// What the server said reaches the caller redacted with `redactor` ([`Fetched`]).
///
/// # Errors
/// A [`Failure`] classified by [`classify`]; a timeout names its duration.
pub async fn fetch(
    request: reqwest::RequestBuilder,
    timeout: Duration,
    max_body_bytes: usize,
    redactor: &Redactor,
) -> Result<Fetched, (Failure, Duration)> {
    let started = Instant::now();
    let to_failure =
        |err: reqwest::Error| Failure::new(classify(&err), redactor.redact(&error_chain(&err)));
    let work = async {
        let mut response = request.timeout(timeout).send().await.map_err(to_failure)?;
        let status = response.status().as_u16();
        let final_url = redactor.redact(response.url().as_str());
        let headers = redacted_headers(response.headers(), redactor);
        let peer_certificate = response
            .extensions()
            .get::<reqwest::tls::TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(<[u8]>::to_vec);
        let mut body = Vec::new();
        let mut body_truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(to_failure)? {
            let room = max_body_bytes.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                body_truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            status,
            final_url,
            headers,
            body,
            body_truncated,
            latency: started.elapsed(),
            peer_certificate,
            redactor: redactor.clone(),
        })
    };
    // reqwest's own timeout covers the body too; the outer one is a second guard with a
    // little slack so reqwest's (better worded) error normally wins.
    match tokio::time::timeout(timeout + Duration::from_millis(250), work).await {
        Ok(Ok(fetched)) => Ok(fetched),
        Ok(Err(failure)) => Err((with_duration(failure, timeout), started.elapsed())),
        Err(_) => Err((timed_out(timeout), started.elapsed())),
    }
}

fn with_duration(failure: Failure, timeout: Duration) -> Failure {
    if failure.kind == FailureKind::Timeout { timed_out(timeout) } else { failure }
}

fn timed_out(timeout: Duration) -> Failure {
    Failure::generated(FailureKind::Timeout, format!("no answer within {} ms", timeout.as_millis()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_certificates_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let options = ClientOptions { ca_file: Some(path.clone()), ..ClientOptions::default() };
        let err = build_client(&options).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!("cannot read CA file {}", path.display())),
            "{err}"
        );
    }

    #[tokio::test]
    async fn connection_refused_is_told_apart() {
        // Bind then drop a listener: its port is free and nothing listens there.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let client = build_client(&ClientOptions::default()).unwrap();
        let (failure, _) = fetch(
            client.get(format!("http://127.0.0.1:{port}/health")),
            Duration::from_secs(5),
            1024,
            &Redactor::builtin(),
        )
        .await
        .unwrap_err();
        assert_eq!(failure.kind, FailureKind::ConnectionRefused, "{failure}");
    }
}
