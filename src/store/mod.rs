//! The shared object store (`[store] url`): where every replica's sealed bundles end up,
//! and what the readers (`witness list/show/verify --store URL`, `/api/bundles`) read.
//! ([`crate::bundle::store`] is the local directory a bundle is sealed in first.)
//!
//! Keys under the URL's prefix:
//! - `bundles/<id>/<path>`: the bundle's files as sealed; `manifest.sig` and then
//!   `manifest.json` are uploaded after every other file, so a manifest that can be read
//!   names files that are all there;
//! - `index/<YYYY>/<MM>/<DD>/<id>.json`: the listing entry, written after the manifest;
//!   a bundle is visible to listings once it has one. Ids start with their UTC time, so
//!   "newest first" lists the newest days only, never the whole store;
//! - `joins/<id>/<replica>-<bundle>.json`: alerts that other replicas received for the
//!   incident `<id>` holds, beside the bundle and never inside it; each with
//!   `<replica>-<bundle>.json.sig` (written first) when the replica has a signing key:
//!   the ed25519 signature of the join's bytes, as `manifest.sig` is of the manifest's;
//! - `claims/<sha256 of the incident key>.json`: claims, on stores with conditional
//!   create ([`claim`]).
//!
//! [`spool`] uploads sealed bundles, retrying while the store is away.

pub mod claim;
pub mod spool;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use crate::bundle::{MANIFEST, Manifest, SIGNATURE, is_safe_name, is_safe_path};
use crate::config::StoreConfig;
use crate::redact::Redactor;

pub use crate::config::store::{StoreUrl, UrlError};

/// Whether `id` looks like a bundle id (`20251119T210000Z-3fa9c2`): its first 8 characters
/// are its UTC date.
pub fn is_bundle_id(id: &str) -> bool {
    is_safe_name(id) && date_of(id).is_some()
}

/// `YYYY/MM/DD` of a bundle id.
fn date_of(id: &str) -> Option<String> {
    let digits = id.get(..8).filter(|d| d.bytes().all(|b| b.is_ascii_digit()))?;
    (id.as_bytes().get(8) == Some(&b'T'))
        .then(|| format!("{}/{}/{}", &digits[..4], &digits[4..6], &digits[6..8]))
}

/// A bundle as the index lists it: enough for `witness list` and `/api/bundles` without
/// reading the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub id: String,
    #[serde(with = "witness_collector::time::millis")]
    pub created_at: DateTime<Utc>,
    pub bytes: u64,
    /// `source: name`.
    pub trigger: String,
    pub collectors: String,
    #[serde(default)]
    pub top: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    /// The alert's `service` label (retention per service).
    #[serde(default)]
    pub service: Option<String>,
    pub root_sha256: String,
    /// The replica that uploaded it.
    pub replica: String,
}

/// An alert received by another replica for an incident whose run this bundle is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Join {
    pub replica: String,
    /// The bundle id the other replica had given the alert.
    pub bundle: String,
    #[serde(with = "witness_collector::time::millis")]
    pub recorded_at: DateTime<Utc>,
    pub trigger: crate::trigger::Trigger,
}

/// The suffix of a join's signature beside it (`<join>.json.sig`).
const JOIN_SIGNATURE_SUFFIX: &str = ".sig";

/// A join as read from the store: its object name, its bytes and its signature (hex, as
/// `manifest.sig`), for `witness verify` to check.
#[derive(Debug, Clone)]
pub struct StoredJoin {
    /// `<replica>-<bundle>.json`.
    pub name: String,
    pub bytes: Vec<u8>,
    pub signature: Option<String>,
}

/// What the signature of a [`StoredJoin`] says, checked with a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinSignature {
    Valid,
    /// No signature beside it (its replica had no signing key, or someone else wrote it).
    Missing,
    /// A signature that does not match the join's bytes with this key.
    Invalid,
}

impl StoredJoin {
    /// The join, parsed.
    ///
    /// # Errors
    /// The object is not a join record.
    pub fn join(&self) -> serde_json::Result<Join> {
        serde_json::from_slice(&self.bytes)
    }

    /// Checks its signature with `key`.
    pub fn check(&self, key: &ed25519_dalek::VerifyingKey) -> JoinSignature {
        match &self.signature {
            None => JoinSignature::Missing,
            Some(signature) if crate::bundle::sign::verify(key, &self.bytes, signature) => {
                JoinSignature::Valid
            }
            Some(_) => JoinSignature::Invalid,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store {url}: {source}")]
    Request {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error(
        "the store {url} presented a TLS certificate witness does not trust ({detail}); if a private CA signed it, set [store] ca_file to the PEM of that CA"
    )]
    Untrusted { url: String, detail: String },
    #[error("the store {url}: {what} did not answer within {secs} s")]
    Timeout { url: String, what: String, secs: u64 },
    #[error("the store {url}: {0}", url = .1)]
    Bad(String, String),
}

/// The store already holds another bundle under this id: the upload is given up (the
/// bundle stays in the local directory).
#[derive(Debug, thiserror::Error)]
#[error("{url} already holds another bundle {id} (a different manifest): not written over")]
pub struct UploadConflict {
    pub id: String,
    pub url: String,
}

/// An open object store.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    url: StoreUrl,
    timeout: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.url)
    }
}

impl Store {
    /// Opens the store `config.url` names, with its credentials (registered with
    /// `redactor` as literals), endpoint, addressing, CA and deadline.
    ///
    /// # Errors
    /// A URL that does not parse, a secret or CA file that cannot be read, a builder
    /// that refuses the settings.
    pub fn open(config: &StoreConfig, url: &str, redactor: &Redactor) -> Result<Self> {
        let parsed = StoreUrl::parse(url)?;
        let timeout = Duration::from_secs(config.request_timeout_secs);
        let mut options = object_store::ClientOptions::new()
            .with_timeout(timeout)
            .with_connect_timeout(timeout.min(Duration::from_secs(10)));
        if let Some(ca) = &config.ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read [store] ca_file {}", ca.display()))?;
            let certificate = object_store::Certificate::from_pem(&pem).with_context(|| {
                format!("[store] ca_file {} is not a PEM certificate", ca.display())
            })?;
            options = options.with_root_certificate(certificate);
        }
        // witness retries whole uploads itself (the spool); one request retries little.
        let retry = object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: timeout,
            backoff: object_store::BackoffConfig::default(),
        };
        let inner: Arc<dyn ObjectStore> = match parsed.scheme.as_str() {
            "s3" => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&parsed.bucket)
                    .with_client_options(options)
                    .with_retry(retry)
                    .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
                for (name, value) in std::env::vars() {
                    if name.starts_with("AWS_")
                        && (name.contains("SECRET") || name.contains("TOKEN"))
                    {
                        redactor.add_literal(&value);
                    }
                }
                let key = config
                    .access_key_id()
                    .read(redactor)
                    .map_err(|e| anyhow::anyhow!("[store] {e}"))?;
                let secret = config
                    .secret_access_key()
                    .read(redactor)
                    .map_err(|e| anyhow::anyhow!("[store] {e}"))?;
                if let (Some(key), Some(secret)) = (key, secret) {
                    builder = builder.with_access_key_id(key).with_secret_access_key(secret);
                }
                builder = builder.with_region(config.region.as_deref().unwrap_or("us-east-1"));
                if let Some(endpoint) = &config.endpoint {
                    builder = builder
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(!config.path_style.unwrap_or(true));
                } else if let Some(path_style) = config.path_style {
                    builder = builder.with_virtual_hosted_style_request(!path_style);
                }
                Arc::new(builder.build().context("cannot open the s3:// store")?)
            }
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_bucket_name(&parsed.bucket)
                    .with_client_options(options)
                    .with_retry(retry)
                    .build()
                    .context("cannot open the gs:// store")?,
            ),
            "az" => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_container_name(&parsed.bucket)
                    .with_client_options(options)
                    .with_retry(retry)
                    .build()
                    .context("cannot open the az:// store")?,
            ),
            _ => {
                std::fs::create_dir_all(&parsed.bucket)
                    .with_context(|| format!("cannot create {}", parsed.bucket))?;
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&parsed.bucket)?)
            }
        };
        Ok(Self { inner, url: parsed, timeout })
    }

    /// Opens a store for a reader (`--store URL`): `[store]` settings of `config` (endpoint,
    /// credentials) with the URL given.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn for_reader(config: &StoreConfig, url: &str) -> Result<Self> {
        Self::open(config, url, &Redactor::builtin())
    }

    pub fn url(&self) -> &StoreUrl {
        &self.url
    }

    fn key(&self, rest: &str) -> Key {
        if self.url.prefix.is_empty() {
            Key::from(rest)
        } else {
            Key::from(format!("{}/{rest}", self.url.prefix))
        }
    }

    /// Runs `op` under the request deadline, naming `what` in errors.
    async fn call<T>(
        &self,
        what: &str,
        op: impl Future<Output = object_store::Result<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout + Duration::from_secs(1), op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(source)) => Err(self.request_error(source)),
            Err(_) => Err(StoreError::Timeout {
                url: self.url.to_string(),
                what: what.into(),
                secs: self.timeout.as_secs(),
            }),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let path = self.key(key);
        self.call(key, self.inner.put(&path, PutPayload::from(bytes))).await.map(|_| ())
    }

    /// Creates `key` only when it does not exist: `Ok(false)` when it does.
    pub(crate) async fn create(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        let path = self.key(key);
        let options = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.inner.put_opts(&path, PutPayload::from(bytes), options).await {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(source) => Err(self.request_error(source)),
        }
    }

    /// `source` as a [`StoreError`]: a TLS certificate the client refused is said so,
    /// with the key that fixes it; anything else keeps the store's own words.
    fn request_error(&self, source: object_store::Error) -> StoreError {
        let url = self.url.to_string();
        let mut cause: Option<&dyn std::error::Error> = Some(&source);
        let mut refused = None;
        while let Some(error) = cause {
            let text = error.to_string();
            // rustls's words for a certificate it refused.
            if text.contains("invalid peer certificate") {
                refused = Some(text);
            }
            cause = error.source();
        }
        match refused {
            // The innermost mention is the TLS library's own reason.
            Some(detail) => StoreError::Untrusted { url, detail },
            None => StoreError::Request { url, source },
        }
    }

    /// The bytes of `key`, `None` when it does not exist.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.key(key);
        let fetch = async {
            match self.inner.get(&path).await {
                Ok(result) => result.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        self.call(key, fetch).await
    }

    async fn size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let path = self.key(key);
        let head = async {
            match self.inner.head(&path).await {
                Ok(meta) => Ok(Some(meta.size)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        };
        self.call(key, head).await
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.key(key);
        let delete = async {
            match self.inner.delete(&path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        };
        self.call(key, delete).await
    }

    /// The names directly under `dir` (`index/2025`): sub-prefixes and objects, the last
    /// segment only, sorted.
    async fn children(&self, dir: &str) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let path = self.key(dir);
        let listed = self.call(dir, self.inner.list_with_delimiter(Some(&path))).await?;
        let last = |p: &Key| p.filename().map(str::to_owned);
        let mut prefixes: Vec<String> = listed.common_prefixes.iter().filter_map(last).collect();
        let mut objects: Vec<String> =
            listed.objects.iter().filter_map(|o| last(&o.location)).collect();
        prefixes.sort();
        objects.sort();
        Ok((prefixes, objects))
    }

    /// Uploads the sealed bundle in `dir` (its manifest names every file): each file, then
    /// the signature, the manifest, and last the index entry; an interrupted upload is
    /// done again whole. Returns the bytes uploaded.
    ///
    /// # Errors
    /// The bundle cannot be read, the store refuses or does not answer, or
    /// [`UploadConflict`]: the store holds another bundle under the same id.
    pub async fn upload(&self, dir: &Path, replica: &str) -> Result<u64> {
        let manifest_bytes = tokio::fs::read(dir.join(MANIFEST))
            .await
            .with_context(|| format!("cannot read {}", dir.join(MANIFEST).display()))?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .with_context(|| format!("{} is not a manifest", dir.join(MANIFEST).display()))?;
        if !is_bundle_id(&manifest.id) {
            bail!("{}: {:?} is not a bundle id", dir.display(), manifest.id);
        }
        let id = manifest.id.clone();
        // A bundle is immutable: the same id with another manifest (a replica that took
        // over a run another had uploaded) is never written over.
        let manifest_key = format!("bundles/{id}/{MANIFEST}");
        if let Some(there) = self.get(&manifest_key).await?
            && there != manifest_bytes
        {
            return Err(UploadConflict { id, url: self.url.to_string() }.into());
        }
        let mut uploaded = 0;
        // Every file again on a retry (not skipped by size): files a dead replica left
        // under the same id must not mix with these.
        for file in &manifest.files {
            if !is_safe_path(&file.path) {
                bail!("{}: unsafe path {:?} in the manifest", dir.display(), file.path);
            }
            let key = format!("bundles/{id}/{}", file.path);
            let bytes = tokio::fs::read(dir.join(&file.path))
                .await
                .with_context(|| format!("cannot read {}", dir.join(&file.path).display()))?;
            uploaded += bytes.len() as u64;
            self.put(&key, bytes).await?;
        }
        if let Ok(signature) = tokio::fs::read(dir.join(SIGNATURE)).await {
            self.put(&format!("bundles/{id}/{SIGNATURE}"), signature).await?;
        }
        uploaded += manifest_bytes.len() as u64;
        self.put(&manifest_key, manifest_bytes).await?;
        let entry = entry_of(dir, &manifest, replica);
        let date = date_of(&id).expect("checked above");
        self.put(&format!("index/{date}/{id}.json"), serde_json::to_vec(&entry)?).await?;
        Ok(uploaded)
    }

    /// The newest `limit` bundles, newest first, from the index: only the newest days are
    /// listed.
    ///
    /// # Errors
    /// The store refuses or does not answer.
    pub async fn list(&self, limit: usize) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for year in self.children("index").await?.0.into_iter().rev() {
            for month in self.children(&format!("index/{year}")).await?.0.into_iter().rev() {
                let days = self.children(&format!("index/{year}/{month}")).await?.0;
                for day in days.into_iter().rev() {
                    let dir = format!("index/{year}/{month}/{day}");
                    for name in self.children(&dir).await?.1.into_iter().rev() {
                        if entries.len() >= limit {
                            return Ok(entries);
                        }
                        let Some(bytes) = self.get(&format!("{dir}/{name}")).await? else {
                            continue;
                        };
                        match serde_json::from_slice::<Entry>(&bytes) {
                            Ok(entry) => entries.push(entry),
                            Err(e) => {
                                tracing::warn!(key = %name, error = %e, "Skipping an unreadable index entry.")
                            }
                        }
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Every index entry, oldest first (retention walks them all, once per pass).
    async fn all_entries(&self) -> Result<Vec<(String, Entry)>> {
        let mut out = Vec::new();
        for year in self.children("index").await?.0 {
            for month in self.children(&format!("index/{year}")).await?.0 {
                for day in self.children(&format!("index/{year}/{month}")).await?.0 {
                    let dir = format!("index/{year}/{month}/{day}");
                    for name in self.children(&dir).await?.1 {
                        let key = format!("{dir}/{name}");
                        if let Some(entry) =
                            self.get(&key).await?.and_then(|b| serde_json::from_slice(&b).ok())
                        {
                            out.push((key, entry));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether bundle `id` is uploaded (its manifest is there).
    ///
    /// # Errors
    /// The store refuses or does not answer.
    pub async fn has_bundle(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.size(&format!("bundles/{id}/{MANIFEST}")).await?.is_some())
    }

    /// Downloads bundle `id` into `dest` (created), every file its manifest names and the
    /// signature, for [`crate::bundle::verify`] to check. The manifest's paths are checked
    /// before anything is written.
    ///
    /// # Errors
    /// No such bundle, an unsafe path, the store refuses or does not answer.
    pub async fn download(&self, id: &str, dest: &Path) -> Result<PathBuf> {
        if !is_bundle_id(id) {
            bail!("{id:?} is not a bundle id (like 20251119T210000Z-3fa9c2)");
        }
        let manifest_bytes = self
            .get(&format!("bundles/{id}/{MANIFEST}"))
            .await?
            .with_context(|| format!("no bundle {id} in {}", self.url))?;
        let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
            .with_context(|| format!("the manifest of {id} in {} does not parse", self.url))?;
        let dir = dest.join(id);
        std::fs::create_dir_all(&dir)?;
        for file in &manifest.files {
            if !is_safe_path(&file.path) {
                bail!("the manifest of {id} names an unsafe path {:?}", file.path);
            }
            let key = format!("bundles/{id}/{}", file.path);
            // A missing file is written as nothing: verify then names it.
            let Some(bytes) = self.get(&key).await? else { continue };
            let path = dir.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)?;
        }
        if let Some(signature) = self.get(&format!("bundles/{id}/{SIGNATURE}")).await? {
            std::fs::write(dir.join(SIGNATURE), signature)?;
        }
        std::fs::write(dir.join(MANIFEST), manifest_bytes)?;
        Ok(dir)
    }

    /// Records `join` beside bundle `id`, signed with `key` when there is one: the
    /// signature first, so a join that can be listed has its signature.
    ///
    /// # Errors
    /// The store refuses or does not answer.
    pub async fn put_join(
        &self,
        id: &str,
        join: &Join,
        key: Option<&ed25519_dalek::SigningKey>,
    ) -> Result<(), StoreError> {
        let key_name = format!("joins/{id}/{}-{}.json", join.replica, join.bundle);
        let bytes = serde_json::to_vec(join)
            .map_err(|e| StoreError::Bad(e.to_string(), self.url.to_string()))?;
        if let Some(key) = key {
            let signature = crate::bundle::sign::sign(key, &bytes).into_bytes();
            self.put(&format!("{key_name}{JOIN_SIGNATURE_SUFFIX}"), signature).await?;
        }
        self.put(&key_name, bytes).await
    }

    /// The alerts other replicas joined to bundle `id`, as stored, with their signatures.
    ///
    /// # Errors
    /// The store refuses or does not answer.
    pub async fn joins(&self, id: &str) -> Result<Vec<StoredJoin>, StoreError> {
        let dir = format!("joins/{id}");
        let names = self.children(&dir).await?.1;
        let mut joins = Vec::new();
        for name in names.iter().filter(|n| n.ends_with(".json")) {
            let Some(bytes) = self.get(&format!("{dir}/{name}")).await? else { continue };
            let signature = match names.contains(&format!("{name}{JOIN_SIGNATURE_SUFFIX}")) {
                true => self.get(&format!("{dir}/{name}{JOIN_SIGNATURE_SUFFIX}")).await?,
                false => None,
            };
            let signature = signature.map(|s| String::from_utf8_lossy(&s).into_owned());
            joins.push(StoredJoin { name: name.clone(), bytes, signature });
        }
        Ok(joins)
    }

    /// Removes bundle `id`: its index entry first (it disappears from listings), then its
    /// files and joins.
    async fn remove(&self, index_key: &str, id: &str) -> Result<()> {
        self.delete(index_key).await?;
        for prefix in [format!("bundles/{id}"), format!("joins/{id}")] {
            let path = self.key(&prefix);
            let keys: Vec<Key> = self
                .inner
                .list(Some(&path))
                .map_ok(|meta| meta.location)
                .try_collect()
                .await
                .map_err(|source| self.request_error(source))?;
            for key in keys {
                self.call("delete", self.inner.delete(&key)).await?;
            }
        }
        Ok(())
    }

    /// Retention over the whole store: bundles older than `max_age_days` (0 = keep), and
    /// past `max_per_service` per service (0 = no limit), oldest first. Returns the ids
    /// removed.
    ///
    /// # Errors
    /// The store refuses or does not answer.
    pub async fn apply_retention(
        &self,
        max_age_days: u64,
        max_per_service: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let entries = self.all_entries().await?;
        let cutoff = (max_age_days > 0).then(|| now - chrono::Duration::days(max_age_days as i64));
        let mut per_service: std::collections::HashMap<String, usize> = Default::default();
        // Newest first, so that the count keeps the newest of each service.
        let mut doomed = Vec::new();
        for (key, entry) in entries.iter().rev() {
            let count = per_service.entry(entry.service.clone().unwrap_or_default()).or_default();
            *count += 1;
            let too_old = cutoff.is_some_and(|c| entry.created_at < c);
            let too_many = max_per_service > 0 && *count > max_per_service;
            if too_old || too_many {
                doomed.push((key.clone(), entry.id.clone()));
            }
        }
        let mut removed = Vec::new();
        for (key, id) in doomed.into_iter().rev() {
            self.remove(&key, &id).await?;
            removed.push(id);
        }
        Ok(removed)
    }
}

/// The listing entry of the sealed bundle in `dir`.
fn entry_of(dir: &Path, manifest: &Manifest, replica: &str) -> Entry {
    let listed = crate::bundle::store::describe(dir);
    let bytes = manifest.files.iter().map(|f| f.bytes).sum();
    Entry {
        id: manifest.id.clone(),
        created_at: manifest.created_at,
        bytes,
        trigger: format!("{}: {}", manifest.trigger.source, manifest.trigger.name),
        collectors: listed.as_ref().map(|l| l.collectors.clone()).unwrap_or_default(),
        top: listed.as_ref().and_then(|l| l.top.clone()),
        severity: listed.and_then(|l| l.severity),
        service: manifest.trigger.labels.get("service").cloned(),
        root_sha256: manifest.root_sha256.clone(),
        replica: replica.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_or_say_what_is_wrong() {
        let url = StoreUrl::parse("s3://bucket/team/witness/").unwrap();
        assert_eq!((url.bucket.as_str(), url.prefix.as_str()), ("bucket", "team/witness"));
        assert_eq!(url.to_string(), "s3://bucket/team/witness");
        assert_eq!(StoreUrl::parse("file:///var/w").unwrap().bucket, "/var/w");
        assert_eq!(
            StoreUrl::parse("ftp://x").unwrap_err().to_string(),
            "ftp:// is not a store witness knows: use one of s3, gs, az, file"
        );
        assert!(StoreUrl::parse("bucket/x").is_err());
        assert!(StoreUrl::parse("s3://").is_err());
        assert!(StoreUrl::parse("file://relative").is_err());
        assert_eq!(
            StoreUrl::split_bundle("s3://b/p/20251119T210000Z-3fa9c2"),
            Some(("s3://b/p".into(), "20251119T210000Z-3fa9c2".into()))
        );
        assert_eq!(StoreUrl::split_bundle("s3://b/p"), None);
        assert_eq!(date_of("20251119T210000Z-3fa9c2").as_deref(), Some("2025/11/19"));
    }

    fn sealed(store: &Path, id: &str, service: &str) -> PathBuf {
        let mut trigger = crate::trigger::Trigger::manual(Utc::now(), Default::default());
        trigger.labels.insert("service".into(), service.into());
        let dir = store.join(id);
        std::fs::create_dir_all(dir.join("evidence")).unwrap();
        std::fs::write(dir.join("evidence/x.json"), b"{}").unwrap();
        let files = vec![crate::bundle::manifest::FileEntry {
            path: "evidence/x.json".into(),
            sha256: crate::bundle::manifest::sha256_hex(b"{}"),
            bytes: 2,
            redactions: Default::default(),
        }];
        let manifest = serde_json::json!({
            "id": id, "created_at": "2025-11-19T21:00:00.000Z", "witness_version": "t",
            "host": "h", "trigger": {"source": "manual", "name": "T", "labels": {"service": service}},
            "anchor": "2025-11-19T21:00:00.000Z",
            "window": {"start": "2025-11-19T20:30:00.000Z", "end": "2025-11-19T21:00:00.000Z"},
            "collectors": [], "files": files, "redactions": {}, "truncated": [], "root_sha256": crate::bundle::manifest::root_hash(&files),
        });
        std::fs::write(dir.join(MANIFEST), serde_json::to_vec(&manifest).unwrap()).unwrap();
        dir
    }

    #[tokio::test]
    async fn upload_list_download_and_retention_on_a_file_store() {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("file://{}", tmp.path().join("remote").display());
        let store = Store::open(&StoreConfig::default(), &url, &Redactor::builtin()).unwrap();
        let local = tmp.path().join("local");
        let ids = ["20251119T210000Z-000001", "20251120T210000Z-000002", "20251121T090000Z-000003"];
        for (id, service) in ids.iter().zip(["a", "a", "b"]) {
            store.upload(&sealed(&local, id, service), "r1").await.unwrap();
        }
        let listed: Vec<String> = store.list(2).await.unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(listed, [ids[2], ids[1]], "newest first, limited");
        let down = store.download(ids[0], &tmp.path().join("down")).await.unwrap();
        let verified = crate::bundle::verify::verify(&down, None).unwrap();
        assert!(verified.ok(), "{:?}", verified.problems);
        // The same id with another manifest is never written over; the same bundle again
        // (a retry) is.
        store.upload(&local.join(ids[1]), "r1").await.unwrap();
        let other = sealed(&tmp.path().join("other"), ids[1], "z");
        let err = store.upload(&other, "r2").await.unwrap_err();
        assert!(err.is::<UploadConflict>(), "{err:#}");
        let removed = store.apply_retention(0, 1, Utc::now()).await.unwrap();
        assert_eq!(removed, [ids[0]], "service a keeps its newest");
        assert!(!store.has_bundle(ids[0]).await.unwrap());
        assert_eq!(store.list(10).await.unwrap().len(), 2);
    }

    /// Issue 19: joins recorded by other replicas were not signed.
    #[tokio::test]
    async fn a_join_is_signed_with_the_replica_key_and_checked_with_its_public_half() {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("file://{}", tmp.path().display());
        let store = Store::open(&StoreConfig::default(), &url, &Redactor::builtin()).unwrap();
        let (private, _) = crate::bundle::sign::keygen(&tmp.path().join("fleet")).unwrap();
        let (other, _) = crate::bundle::sign::keygen(&tmp.path().join("other")).unwrap();
        let key = crate::bundle::sign::load_signing_key(&private).unwrap();
        let other = crate::bundle::sign::load_signing_key(&other).unwrap();
        let join = |replica: &str| Join {
            replica: replica.into(),
            bundle: "20251119T210000Z-000002".into(),
            recorded_at: Utc::now(),
            trigger: crate::trigger::Trigger::manual(Utc::now(), Default::default()),
        };
        let id = "20251119T210000Z-000001";
        store.put_join(id, &join("a"), Some(&key)).await.unwrap();
        store.put_join(id, &join("b"), None).await.unwrap();
        store.put_join(id, &join("c"), Some(&other)).await.unwrap();
        let joins = store.joins(id).await.unwrap();
        let checked: Vec<(String, JoinSignature)> =
            joins.iter().map(|j| (j.name.clone(), j.check(&key.verifying_key()))).collect();
        let name = |r: &str| format!("{r}-20251119T210000Z-000002.json");
        assert_eq!(
            checked,
            [
                (name("a"), JoinSignature::Valid),
                (name("b"), JoinSignature::Missing),
                (name("c"), JoinSignature::Invalid)
            ],
            "the signatures are not listed as joins"
        );
        assert_eq!(joins[0].join().unwrap().replica, "a");
    }
}
