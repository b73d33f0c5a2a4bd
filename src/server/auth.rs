//! Who may talk to `witness serve`: a bearer token or basic auth (what Alertmanager's
//! `http_config` sends) for hooks and the API, and PagerDuty's HMAC-SHA256 signature over
//! the raw body for `/hooks/pagerduty`. Every comparison is constant-time: credentials are
//! compared as SHA-256 digests (so even their lengths do not leak), signatures with
//! `subtle`.

use axum::http::HeaderMap;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use witness_collector::SecretRef;

use crate::config::server::AuthConfig;

/// The credentials in force, read from their `*_env`/`*_file` sources.
#[derive(Clone, Default)]
pub struct Auth {
    /// SHA-256 of the whole expected `Authorization` header value.
    expected: Option<[u8; 32]>,
    /// Basic auth rather than a bearer token.
    basic: bool,
    /// One secret per PagerDuty webhook subscription (empty: `/hooks/pagerduty` is 401).
    pagerduty_secrets: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.expected.is_some())
            .field("pagerduty_secrets", &self.pagerduty_secrets.len())
            .finish()
    }
}

/// Why a request was refused (`401`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    #[error("missing Authorization header")]
    Missing,
    #[error("wrong credentials")]
    Wrong,
    #[error("missing X-PagerDuty-Signature header")]
    MissingSignature,
    #[error("no X-PagerDuty-Signature matches the body")]
    BadSignature,
    #[error("no PagerDuty secret is configured ([server.auth] pagerduty_secret_env or _file)")]
    NoPagerdutySecret,
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Auth {
    /// Reads the configured secrets.
    ///
    /// # Errors
    /// Names the variable or file that cannot be read, or that holds nothing: an empty
    /// token would refuse every request with `401`, so witness refuses to start instead.
    pub fn load(config: &AuthConfig) -> anyhow::Result<Self> {
        let read = |secret: SecretRef, key: &str| -> anyhow::Result<Option<String>> {
            // The run's redactor registers these same secrets ([`crate::run::prepare`]).
            match secret.value()? {
                Some(value) if value.trim().is_empty() => {
                    let source = match (&secret.env, &secret.file) {
                        (Some(env), _) => format!("environment variable {env}"),
                        (None, Some(file)) => format!("file {}", file.display()),
                        (None, None) => key.to_owned(),
                    };
                    anyhow::bail!(
                        "[server.auth] {key}: the {source} is empty; every request would be \
                         refused with 401: set it, or remove {key}_env / {key}_file"
                    )
                }
                value => Ok(value),
            }
        };
        let basic = config.basic_username.is_some() && !config.bearer().is_set();
        let expected = if let Some(token) = read(config.bearer(), "bearer_token")? {
            Some(digest(format!("Bearer {token}").as_bytes()))
        } else if let (Some(user), Some(password)) =
            (&config.basic_username, read(config.basic_password(), "basic_password")?)
        {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            Some(digest(format!("Basic {encoded}").as_bytes()))
        } else {
            None
        };
        // Several subscriptions, each with its own secret: one per line (or comma).
        let pagerduty_secrets = read(config.pagerduty(), "pagerduty_secret")?
            .map(|all| {
                all.split(['\n', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.as_bytes().to_vec())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { expected, basic, pagerduty_secrets })
    }

    /// The `WWW-Authenticate` challenge of a `401`: the scheme the configuration expects.
    pub fn challenge(&self) -> &'static str {
        if self.basic { r#"Basic realm="witness""# } else { r#"Bearer realm="witness""# }
    }

    /// Whether credentials are required at all.
    pub fn is_required(&self) -> bool {
        self.expected.is_some()
    }

    /// Checks the `Authorization` header of hooks and API requests. Without configured
    /// credentials every request passes (only allowed on a loopback listener).
    ///
    /// # Errors
    /// [`AuthError::Missing`] or [`AuthError::Wrong`].
    pub fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let Some(expected) = &self.expected else { return Ok(()) };
        let given = headers.get(axum::http::header::AUTHORIZATION).ok_or(AuthError::Missing)?;
        // The scheme is case-insensitive; normalize it so "bearer x" matches "Bearer x".
        let given = given.as_bytes();
        let normalized = match given.iter().position(|b| *b == b' ') {
            Some(space) => {
                let scheme = String::from_utf8_lossy(&given[..space]).to_ascii_lowercase();
                let scheme = match scheme.as_str() {
                    "bearer" => "Bearer",
                    "basic" => "Basic",
                    _ => return Err(AuthError::Wrong),
                };
                [scheme.as_bytes(), &given[space..]].concat()
            }
            None => given.to_vec(),
        };
        if bool::from(digest(&normalized).ct_eq(expected)) { Ok(()) } else { Err(AuthError::Wrong) }
    }

    /// Verifies `X-PagerDuty-Signature` (`v1=<hex>[,v1=<hex>...]`, several during a secret
    /// rotation) over the raw body: accepted when any signature matches under any of the
    /// configured secrets (one per subscription).
    ///
    /// # Errors
    /// A missing secret, a missing header, or no matching signature.
    pub fn check_pagerduty(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
        if self.pagerduty_secrets.is_empty() {
            return Err(AuthError::NoPagerdutySecret);
        }
        let header = headers
            .get("x-pagerduty-signature")
            .and_then(|v| v.to_str().ok())
            .ok_or(AuthError::MissingSignature)?;
        // Every secret is tried, so timing does not say which subscription it was.
        let matched = self
            .pagerduty_secrets
            .iter()
            .fold(false, |any, secret| verify_pagerduty(secret, header, body).is_ok() | any);
        if matched { Ok(()) } else { Err(AuthError::BadSignature) }
    }
}

/// The signature check itself, for the hook and its tests.
///
/// # Errors
/// [`AuthError::BadSignature`] when no `v1=` entry matches.
pub fn verify_pagerduty(secret: &[u8], header: &str, body: &[u8]) -> Result<(), AuthError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| AuthError::BadSignature)?;
    mac.update(body);
    let computed = mac.finalize().into_bytes();
    // Check every entry without stopping early, so timing does not say which one matched.
    let mut matched = subtle::Choice::from(0);
    for entry in header.split(',') {
        if let Some(hex_sig) = entry.trim().strip_prefix("v1=")
            && let Ok(given) = hex::decode(hex_sig)
            && given.len() == computed.len()
        {
            matched |= given.ct_eq(&computed);
        }
    }
    if bool::from(matched) { Ok(()) } else { Err(AuthError::BadSignature) }
}

/// `v1=<hex>` for `body` under `secret`: what PagerDuty sends (tests, benchmarks).
pub fn sign_pagerduty(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_signatures_valid_rotated_invalid() {
        let body = br#"{"event":{}}"#;
        let good = sign_pagerduty(b"s3cret", body);
        let old = sign_pagerduty(b"old", body);
        assert_eq!(verify_pagerduty(b"s3cret", &good, body), Ok(()));
        assert_eq!(verify_pagerduty(b"s3cret", &format!("{old}, {good}"), body), Ok(()));
        assert_eq!(verify_pagerduty(b"s3cret", &old, body), Err(AuthError::BadSignature));
        assert_eq!(verify_pagerduty(b"s3cret", "v1=zz,v2=00", body), Err(AuthError::BadSignature));
        assert_eq!(verify_pagerduty(b"s3cret", &good, b"tampered"), Err(AuthError::BadSignature));
    }

    #[test]
    fn bearer_and_basic_headers() {
        let mut auth = Auth { expected: Some(digest(b"Bearer tok")), ..Auth::default() };
        let mut headers = HeaderMap::new();
        assert_eq!(auth.check(&headers), Err(AuthError::Missing));
        headers.insert("authorization", "bearer tok".parse().unwrap());
        assert_eq!(auth.check(&headers), Ok(()));
        headers.insert("authorization", "Bearer tok2".parse().unwrap());
        assert_eq!(auth.check(&headers), Err(AuthError::Wrong));
        let encoded = base64::engine::general_purpose::STANDARD.encode("u:p");
        auth.expected = Some(digest(format!("Basic {encoded}").as_bytes()));
        headers.insert("authorization", format!("Basic {encoded}").parse().unwrap());
        assert_eq!(auth.check(&headers), Ok(()));
    }
}
