//! `[fleet]`, and the object-store half of `[store]`: what replicas of `witness serve`
//! share. A replica uploads every sealed bundle to `[store] url`, and claims each incident
//! before its run, so that one incident gets one run across the fleet. A claim is a
//! conditional create in the object store (`If-None-Match: *`) where the store supports it,
//! or a lease row in PostgreSQL when `[fleet] coordinator_env`/`_file` names a DSN (stores
//! without conditional create, such as Garage). The code that uses them is
//! [`crate::store`].

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{ConfigProblem, SecretRef};

use super::StoreConfig;

/// The range of `[fleet] claim_ttl_secs`: 5 s to one hour.
pub const CLAIM_TTL_SECS: RangeInclusive<u64> = 5..=3600;
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

/// `[fleet]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// This replica's name in claims (default: the host name, which is the pod's name in
    /// Kubernetes). A replica that restarts under the same name resumes its own claims at
    /// once; under another it waits for them to expire.
    #[serde(default)]
    pub replica: Option<String>,
    /// How long a claim holds without being renewed, in seconds (default 60). The
    /// claimant renews it every third of that while its run collects and its bundle
    /// waits for the upload; a replica that dies loses it after this long, and another
    /// replica that received the same alert takes the incident over.
    #[serde(default = "default_claim_ttl_secs")]
    pub claim_ttl_secs: u64,
    /// A PostgreSQL DSN (`postgresql://user@host/db`) for claims as lease rows (table
    /// `witness_claims`, created when missing): the environment variable
    /// (`coordinator_env`) or file (`coordinator_file`) that holds it. Needed when the
    /// object store has no conditional create; `witness serve` checks that at start.
    #[serde(default)]
    pub coordinator_env: Option<String>,
    #[serde(default)]
    pub coordinator_file: Option<PathBuf>,
}

fn default_claim_ttl_secs() -> u64 {
    60
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            replica: None,
            claim_ttl_secs: default_claim_ttl_secs(),
            coordinator_env: None,
            coordinator_file: None,
        }
    }
}

impl FleetConfig {
    pub fn coordinator(&self) -> SecretRef {
        SecretRef::new(self.coordinator_env.as_deref(), self.coordinator_file.as_deref())
    }

    /// This replica's name: `replica`, else the host name.
    pub fn replica_name(&self) -> String {
        self.replica
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned())
    }

    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> =
            ConfigProblem::out_of_range([("claim_ttl_secs", self.claim_ttl_secs, CLAIM_TTL_SECS)])
                .into_iter()
                .chain(self.coordinator().validate("coordinator"))
                .map(|p| (p.key, p.message))
                .collect();
        if let Some(name) = &self.replica
            && !crate::bundle::is_safe_name(name)
        {
            problems.push((
                "replica".into(),
                "must be 1-64 characters of a-z, A-Z, 0-9, '.', '_' or '-'".into(),
            ));
        }
        problems
    }

    pub(super) fn environment_problems(&self) -> Vec<(String, String)> {
        self.coordinator()
            .check("coordinator")
            .into_iter()
            .map(|p| (format!("fleet.{}", p.key), p.message))
            .collect()
    }
}

/// The key a secret is configured under: `<stem>_env` or `<stem>_file`.
fn secret_key(secret: &SecretRef, stem: &str) -> String {
    if secret.env.is_some() { format!("{stem}_env") } else { format!("{stem}_file") }
}

/// The object stores `[store] url` may name.
pub const SCHEMES: [&str; 4] = ["s3", "gs", "az", "file"];

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
            ("max_bundles_per_service", self.max_bundles_per_service as u64, super::MAX_BUNDLES),
        ])
        .into_iter()
        .chain(self.access_key_id().validate("access_key_id"))
        .chain(self.secret_access_key().validate("secret_access_key"))
        .map(|p| (p.key, p.message))
        .collect();
        if let Some(url) = &self.url
            && let Err(e) = crate::store::StoreUrl::parse(url)
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
