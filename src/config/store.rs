//! `[store]`: the directory bundles are sealed in, its retention, and the shared object
//! store (`url`) they are uploaded to, with its endpoint, credentials, spool bounds and
//! retention. The URL is parsed here ([`StoreUrl`]); the code that uses the object store
//! is `crate::store`.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{ConfigProblem, SecretRef};

/// The range of `[store] request_timeout_secs`.
pub const REQUEST_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3600;
/// The range of `[store] retry_max_secs`.
pub const RETRY_MAX_SECS: RangeInclusive<u64> = 1..=86_400;
/// The range of `[store] spool_max_bundles`.
pub const SPOOL_MAX_BUNDLES: RangeInclusive<u64> = 1..=1_000_000;
/// The range of `[store] spool_max_bytes`: 1 MiB to 1 TiB.
pub const SPOOL_MAX_BYTES: RangeInclusive<u64> = 1 << 20..=1 << 40;
/// The range of `[store] max_age_days` (0 = keep).
pub const MAX_AGE_DAYS: RangeInclusive<u64> = 0..=36_500;

/// The range of `[store] max_bundles_per_service` (0 = no limit).
pub const MAX_BUNDLES_PER_SERVICE: RangeInclusive<u64> = 0..=1_000_000;

/// `[store]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory bundles are written to (default `./witness-bundles`). With `url` set, it
    /// is where bundles are sealed and spooled before their upload.
    #[serde(default = "default_store_dir")]
    pub dir: PathBuf,
    /// Keep at most this many bundles; the oldest go first (0 = no limit). Bundles still
    /// waiting for their upload are never removed.
    #[serde(default)]
    pub max_bundles: usize,
    /// Keep at most this many bytes of bundles; the oldest go first (0 = no limit).
    #[serde(default)]
    pub max_bytes: u64,
    /// The shared object store every sealed bundle is uploaded to: `s3://bucket/prefix`,
    /// `gs://bucket/prefix`, `az://container/prefix` or `file:///path`. Unset: bundles
    /// stay in `dir` only.
    #[serde(default)]
    pub url: Option<String>,
    /// The S3 endpoint of a self-hosted store (`https://garage.internal:3900`); unset for
    /// AWS. `http://` is allowed (a store on the same host or behind a TLS proxy).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The S3 region (default `us-east-1`; Garage's is usually `garage`).
    #[serde(default)]
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted stores need
    /// (default true when `endpoint` is set, false otherwise).
    #[serde(default)]
    pub path_style: Option<bool>,
    /// S3 access key id: the environment variable (`access_key_id_env`) or file
    /// (`access_key_id_file`) that holds it. Unset: `AWS_ACCESS_KEY_ID` and the rest of
    /// the AWS environment (instance or pod identity included).
    #[serde(default)]
    pub access_key_id_env: Option<String>,
    #[serde(default)]
    pub access_key_id_file: Option<PathBuf>,
    /// S3 secret access key, as `access_key_id`.
    #[serde(default)]
    pub secret_access_key_env: Option<String>,
    #[serde(default)]
    pub secret_access_key_file: Option<PathBuf>,
    /// A PEM file of the CA that signed the store's TLS certificate (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Deadline of one request to the store, in seconds (default 30).
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Bundles sealed and not uploaded yet, at most (default 1000). At the bound new
    /// incidents are refused with `503` (Alertmanager retries; another replica may take
    /// them) until uploads drain; nothing already sealed is dropped.
    #[serde(default = "default_spool_max_bundles")]
    pub spool_max_bundles: usize,
    /// Bytes of bundles sealed and not uploaded yet, at most (default 1 GiB); as
    /// `spool_max_bundles`.
    #[serde(default = "default_spool_max_bytes")]
    pub spool_max_bytes: u64,
    /// The longest wait between two upload attempts of a spooled bundle, in seconds
    /// (default 60). Waits start at one second and double, with jitter.
    #[serde(default = "default_retry_max_secs")]
    pub retry_max_secs: u64,
    /// Remove bundles older than this many days from the object store (0 = keep).
    /// One replica at a time applies it.
    #[serde(default)]
    pub max_age_days: u64,
    /// Keep at most this many bundles per service (the alert's `service` label) in the
    /// object store; the oldest go first (0 = no limit).
    #[serde(default)]
    pub max_bundles_per_service: usize,
}

fn default_store_dir() -> PathBuf {
    PathBuf::from("./witness-bundles")
}
fn default_request_timeout_secs() -> u64 {
    30
}
fn default_spool_max_bundles() -> usize {
    1000
}
fn default_spool_max_bytes() -> u64 {
    1 << 30
}
fn default_retry_max_secs() -> u64 {
    60
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            dir: default_store_dir(),
            max_bundles: 0,
            max_bytes: 0,
            url: None,
            endpoint: None,
            region: None,
            path_style: None,
            access_key_id_env: None,
            access_key_id_file: None,
            secret_access_key_env: None,
            secret_access_key_file: None,
            ca_file: None,
            request_timeout_secs: default_request_timeout_secs(),
            spool_max_bundles: default_spool_max_bundles(),
            spool_max_bytes: default_spool_max_bytes(),
            retry_max_secs: default_retry_max_secs(),
            max_age_days: 0,
            max_bundles_per_service: 0,
        }
    }
}

/// The key a secret is configured under: `<stem>_env` or `<stem>_file`.
fn secret_key(secret: &SecretRef, stem: &str) -> String {
    if secret.env.is_some() { format!("{stem}_env") } else { format!("{stem}_file") }
}

/// The object stores `[store] url` may name.
pub const SCHEMES: [&str; 4] = ["s3", "gs", "az", "file"];

/// `[store] url`, parsed: `s3://bucket/prefix`, `gs://…`, `az://container/prefix`,
/// `file:///dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub scheme: String,
    /// The bucket or container; for `file://`, the directory.
    pub bucket: String,
    /// Key prefix inside the bucket, without slashes at either end (may be empty).
    pub prefix: String,
}

/// A `[store] url` or `--store` that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("{0:?} is not a store URL: expected s3://bucket/prefix, gs://…, az://… or file:///dir")]
    NoScheme(String),
    #[error("{scheme}:// is not a store witness knows: use one of s3, gs, az, file")]
    Scheme { scheme: String },
    #[error("{0:?} names no bucket")]
    NoBucket(String),
    #[error("file:// needs an absolute path (file:///var/lib/witness/store), got {0:?}")]
    Relative(String),
}

impl StoreUrl {
    /// # Errors
    /// [`UrlError`] saying what is missing.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| UrlError::NoScheme(url.into()))?;
        if !SCHEMES.contains(&scheme) {
            return Err(UrlError::Scheme { scheme: scheme.into() });
        }
        if scheme == "file" {
            if !rest.starts_with('/') {
                return Err(UrlError::Relative(url.into()));
            }
            let dir = rest.trim_end_matches('/');
            return Ok(Self { scheme: scheme.into(), bucket: dir.into(), prefix: String::new() });
        }
        let rest = rest.trim_matches('/');
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(UrlError::NoBucket(url.into()));
        }
        Ok(Self {
            scheme: scheme.into(),
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').into(),
        })
    }

    /// Splits `s3://bucket/prefix/<id>` into the store's URL and the bundle id, when the
    /// last segment is a bundle id.
    pub fn split_bundle(url: &str) -> Option<(String, String)> {
        let (store, id) = url.trim_end_matches('/').rsplit_once('/')?;
        let looks_like_id = crate::bundle::is_safe_name(id)
            && id.len() > 8
            && id.as_bytes()[..8].iter().all(u8::is_ascii_digit)
            && id.as_bytes()[8] == b'T';
        (looks_like_id && store.contains("://")).then(|| (store.to_owned(), id.to_owned()))
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.scheme.as_str(), self.prefix.is_empty()) {
            ("file", _) => write!(f, "file://{}", self.bucket),
            (_, true) => write!(f, "{}://{}", self.scheme, self.bucket),
            (_, false) => write!(f, "{}://{}/{}", self.scheme, self.bucket, self.prefix),
        }
    }
}

impl StoreConfig {
    pub fn access_key_id(&self) -> SecretRef {
        SecretRef::new(self.access_key_id_env.as_deref(), self.access_key_id_file.as_deref())
    }

    pub fn secret_access_key(&self) -> SecretRef {
        SecretRef::new(
            self.secret_access_key_env.as_deref(),
            self.secret_access_key_file.as_deref(),
        )
    }

    /// The problems of the object-store keys, as (key under `store.`, message).
    pub(super) fn remote_problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = ConfigProblem::out_of_range([
            ("request_timeout_secs", self.request_timeout_secs, REQUEST_TIMEOUT_SECS),
            ("retry_max_secs", self.retry_max_secs, RETRY_MAX_SECS),
            ("spool_max_bundles", self.spool_max_bundles as u64, SPOOL_MAX_BUNDLES),
            ("spool_max_bytes", self.spool_max_bytes, SPOOL_MAX_BYTES),
            ("max_age_days", self.max_age_days, MAX_AGE_DAYS),
            (
                "max_bundles_per_service",
                self.max_bundles_per_service as u64,
                MAX_BUNDLES_PER_SERVICE,
            ),
        ])
        .into_iter()
        .chain(self.access_key_id().validate("access_key_id"))
        .chain(self.secret_access_key().validate("secret_access_key"))
        .map(|p| (p.key, p.message))
        .collect();
        if let Some(url) = &self.url
            && let Err(e) = StoreUrl::parse(url)
        {
            problems.push(("url".into(), e.to_string()));
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            problems.push(("endpoint".into(), "must start with http:// or https://".into()));
        }
        // Named where it is set, so that the line points at it.
        let (id, secret) = (self.access_key_id(), self.secret_access_key());
        if id.is_set() != secret.is_set() {
            let (set, missing) = if id.is_set() {
                (secret_key(&id, "access_key_id"), "secret_access_key")
            } else {
                (secret_key(&secret, "secret_access_key"), "access_key_id")
            };
            problems.push((set, format!("needs {missing}_env or {missing}_file too")));
        }
        let s3_only = [
            ("endpoint", self.endpoint.is_some()),
            ("region", self.region.is_some()),
            ("path_style", self.path_style.is_some()),
        ];
        let credentials = [(&id, "access_key_id"), (&secret, "secret_access_key")]
            .into_iter()
            .filter(|(s, _)| s.is_set())
            .map(|(s, stem)| (secret_key(s, stem), true));
        let scheme = self.url.as_deref().and_then(|u| u.split_once("://")).map(|(s, _)| s);
        if scheme != Some("s3") {
            let s3_only = s3_only.into_iter().map(|(k, set)| (k.to_owned(), set));
            for (key, set) in s3_only.chain(credentials) {
                if set {
                    let why = match scheme {
                        None => "needs [store] url".to_owned(),
                        Some(s) => format!("is for s3:// stores, not {s}://"),
                    };
                    problems.push((key, why));
                }
            }
        }
        problems
    }

    pub(super) fn environment_problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = self
            .access_key_id()
            .check("access_key_id")
            .into_iter()
            .chain(self.secret_access_key().check("secret_access_key"))
            .map(|p| (format!("store.{}", p.key), p.message))
            .collect();
        if let Some(ca) = &self.ca_file
            && let Err(e) = std::fs::read(ca)
        {
            problems.push(("store.ca_file".into(), format!("cannot read {}: {e}", ca.display())));
        }
        problems
    }
}
