//! `witness serve` as one replica of a fleet sharing `[store] url`: the object store, the
//! claims ([`crate::store::claim`]), the spool and its uploader ([`crate::store::spool`]),
//! the renewal of this replica's claims, and retention on the object store. Started by
//! [`super::serve_on`] when `[store] url` is set; the worker claims each incident through
//! [`Fleet::claim`] before its run, spools each sealed bundle, and runs the uploader and
//! the renewal ([`super::worker::spawn_fleet`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;
use crate::config::WitnessConfig;
use crate::redact::Redactor;
use crate::store::claim::{Claims, Outcome};
use crate::store::spool::{self, Spool};
use crate::store::{Join, Store};

/// What the replicas share, from this replica's side.
pub struct Fleet {
    pub store: Store,
    pub claims: Claims,
    pub spool: Spool,
    /// This replica's claims that are not done: claim key -> bundle. Renewed every third
    /// of the TTL.
    held: Mutex<HashMap<String, String>>,
    pub(super) retry_max: Duration,
    retention: (u64, usize),
    retention_at: Mutex<Option<Instant>>,
}

/// How many bundles fetched from the object store the API keeps on disk.
const CACHED: usize = 32;

/// How long an alert's answer waits for its incident's claim ([`Fleet::claim_early`]).
const CLAIM_BEFORE_ANSWER: Duration = Duration::from_secs(3);

/// How often old claims are deleted from the coordinator.
pub(super) const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often retention may run on the object store.
const RETENTION_EVERY: Duration = Duration::from_secs(60);

impl Fleet {
    /// Opens the store and the spool of `config`, and the claims: through the
    /// `[fleet] coordinator` when one is set, else through the store, after checking that
    /// it honors conditional create.
    ///
    /// # Errors
    /// The store or coordinator cannot be opened or reached, the store has no conditional
    /// create and no coordinator is set, the spool cannot be read.
    pub async fn open(
        config: &WitnessConfig,
        url: &str,
        redactor: &Redactor,
    ) -> anyhow::Result<Self> {
        let store = Store::open(&config.store, url, redactor)?;
        let replica = config.fleet.replica_name();
        let ttl = Duration::from_secs(config.fleet.claim_ttl_secs);
        let claims = match config
            .fleet
            .coordinator()
            .read(redactor)
            .map_err(|e| anyhow::anyhow!("[fleet] {e}"))?
        {
            Some(dsn) => Claims::postgres(dsn, replica, ttl).await?,
            None => {
                Claims::probe(&store, &replica).await?;
                Claims::store(store.clone(), replica, ttl)
            }
        };
        let spool = Spool::open(
            &config.store.dir,
            config.store.spool_max_bundles,
            config.store.spool_max_bytes,
        )
        .with_context(|| format!("cannot open the spool in {}", config.store.dir.display()))?;
        // Claims of bundles spooled before a restart are still this replica's to finish.
        let held = spool.pending().into_iter().filter_map(|p| Some((p.claim?, p.id))).collect();
        Ok(Self {
            store,
            claims,
            spool,
            held: Mutex::new(held),
            retry_max: Duration::from_secs(config.store.retry_max_secs),
            retention: (config.store.max_age_days, config.store.max_bundles_per_service),
            retention_at: Mutex::new(None),
        })
    }

    pub(super) fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Claims the incident of a run accepted here under `bundle`; when another replica
    /// holds it and its run is not done, waits (every third of the TTL) until that run is
    /// done or its claim expires and this replica takes over. A coordinator that cannot
    /// be reached for one TTL lets the run go ahead unclaimed, logged: a duplicate bundle
    /// is better than a lost one. `None` when `stop` ends the wait (the run stays in the
    /// journal).
    pub async fn claim(
        &self,
        metrics: &Metrics,
        key: &str,
        bundle: &str,
        cooldown: Duration,
        stop: &CancellationToken,
    ) -> Option<Outcome> {
        let pause = self.claims.ttl() / 3;
        let started = Instant::now();
        let mut waiting = false;
        loop {
            match self.claims.claim(key, bundle, cooldown).await {
                Ok(Outcome::Won { bundle: won }) if won != bundle && self.uploaded(&won).await => {
                    // The dead replica had uploaded it and died before saying so: done.
                    let _ = self.claims.done(key, &won).await;
                    self.held().remove(key);
                    metrics.claim("joined");
                    let holder = self.claims.replica().to_owned();
                    return Some(Outcome::Held { bundle: won, holder, done: true });
                }
                Ok(Outcome::Won { bundle: won }) => {
                    metrics.claim(if won == bundle { "won" } else { "taken_over" });
                    self.held().insert(key.to_owned(), won.clone());
                    return Some(Outcome::Won { bundle: won });
                }
                Ok(Outcome::Held { bundle, holder, done: true }) => {
                    metrics.claim("joined");
                    return Some(Outcome::Held { bundle, holder, done: true });
                }
                Ok(Outcome::Held { bundle: theirs, holder, done: false }) => {
                    if !waiting {
                        metrics.claim("waited");
                        tracing::info!(bundle = %bundle, holder = %holder, theirs = %theirs, "Another replica holds this incident; waiting for its run or for its claim to expire.");
                        waiting = true;
                    }
                }
                Err(e) if started.elapsed() >= self.claims.ttl() => {
                    metrics.claim("unclaimed");
                    tracing::error!(bundle = %bundle, error = format!("{e:#}"), "Cannot claim the incident for one claim TTL; running it unclaimed (another replica may run it too).");
                    return Some(Outcome::Won { bundle: bundle.to_owned() });
                }
                Err(e) => {
                    tracing::warn!(bundle = %bundle, error = format!("{e:#}"), "Cannot claim the incident yet; retrying.");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return None,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One attempt to claim the incident of a run just accepted under `bundle`, within
    /// [`CLAIM_BEFORE_ANSWER`], so that the sender's answer names the id the incident has
    /// across the fleet: `bundle` when this replica won, the winner's bundle when another
    /// replica holds it, the expired claim's bundle when this replica took it over. `None`
    /// when the claim could not be made in time (the worker claims again before the run,
    /// and decides then). A claim won here is renewed from now on.
    pub async fn claim_early(
        &self,
        key: &str,
        bundle: &str,
        cooldown: Duration,
    ) -> Option<Outcome> {
        let attempt =
            tokio::time::timeout(CLAIM_BEFORE_ANSWER, self.claims.claim(key, bundle, cooldown));
        match attempt.await {
            Ok(Ok(outcome)) => {
                if let Outcome::Won { bundle: won } = &outcome {
                    self.held().insert(key.to_owned(), won.clone());
                }
                Some(outcome)
            }
            Ok(Err(e)) => {
                tracing::warn!(bundle = %bundle, error = format!("{e:#}"), "Cannot claim the incident before answering; the run claims it again.");
                None
            }
            Err(_) => {
                tracing::warn!(bundle = %bundle, seconds = CLAIM_BEFORE_ANSWER.as_secs(), "The incident's claim did not answer in time; answering with this replica's id, and the run claims it again.");
                None
            }
        }
    }

    /// The claim key of `incident` (a dedup key) in this fleet's store.
    pub fn claim_key(&self, incident: &str) -> String {
        crate::store::claim::claim_key(self.store.url(), incident)
    }

    /// Bundle `id` from the object store, downloaded and verified (every hash, the root
    /// hash) into `<store>/.fleet-cache/<id>` unless it is there already; returns that
    /// directory. The cache keeps the newest [`CACHED`] bundles fetched.
    ///
    /// # Errors
    /// Not in the store, unreachable, or it does not verify.
    pub async fn fetch(
        &self,
        store: &std::path::Path,
        id: &str,
    ) -> anyhow::Result<std::path::PathBuf> {
        let cache = store.join(".fleet-cache");
        let bundle = cache.join(id);
        if bundle.join(crate::bundle::MANIFEST).is_file() {
            return Ok(bundle);
        }
        let staging = cache.join(format!(".tmp-{:08x}", rand::random::<u32>()));
        let dir = self.store.download(id, &staging).await?;
        let verified = tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || crate::bundle::verify::verify(&dir, None)
        })
        .await??;
        if !verified.ok() {
            let _ = std::fs::remove_dir_all(&staging);
            anyhow::bail!("bundle {id} in {} does not verify", self.store.url());
        }
        let mut cached: Vec<_> = std::fs::read_dir(&cache)?
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        cached.sort();
        for (_, old) in cached.iter().take((cached.len() + 1).saturating_sub(CACHED)) {
            let _ = std::fs::remove_dir_all(old);
        }
        let _ = std::fs::rename(&dir, &bundle);
        let _ = std::fs::remove_dir_all(&staging);
        Ok(bundle)
    }

    /// Whether bundle `id` is in the store; an unreachable store counts as not (the
    /// takeover then runs, and its upload waits for the store).
    async fn uploaded(&self, id: &str) -> bool {
        self.store.has_bundle(id).await.unwrap_or(false)
    }

    /// Records `join` beside bundle `winner` in the store, signed with `key` when there
    /// is one, retrying with backoff until it is written or `stop`. Returns whether it
    /// was written.
    pub async fn join(
        &self,
        winner: &str,
        join: &Join,
        key: Option<&ed25519_dalek::SigningKey>,
        stop: &CancellationToken,
    ) -> bool {
        let mut failures = 0;
        loop {
            match self.store.put_join(winner, join, key).await {
                Ok(()) => return true,
                Err(e) => {
                    let wait = spool::backoff(failures, self.retry_max);
                    failures += 1;
                    tracing::warn!(bundle = %winner, error = %e, retry_in_ms = wait.as_millis() as u64, "Cannot record the joined alert beside its bundle yet.");
                    tokio::select! {
                        () = stop.cancelled() => return false,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    /// Forgets a claim this replica will not finish (its run wrote no bundle): it expires
    /// and another replica may take the incident over.
    pub fn release(&self, key: &str) {
        self.held().remove(key);
    }

    /// Waits until the spool is empty, at most `for_at_most` (the shutdown).
    pub async fn drain(&self, for_at_most: Duration) {
        let started = Instant::now();
        while self.spool.depth().0 > 0 && started.elapsed() < for_at_most {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (left, _) = self.spool.depth();
        if left > 0 {
            tracing::warn!(
                spooled = left,
                "Stopping with bundles not uploaded yet; they upload after the restart."
            );
        }
    }

    /// Refreshes the spool gauges.
    pub fn update_gauges(&self, metrics: &Metrics) {
        let (bundles, bytes) = self.spool.depth();
        metrics.spool_bundles.set(bundles as i64);
        metrics.spool_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub(super) async fn renew_all(&self) {
        let held: Vec<(String, String)> =
            self.held().iter().map(|(k, b)| (k.clone(), b.clone())).collect();
        for (key, bundle) in held {
            match self.claims.renew(&key, &bundle).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(bundle = %bundle, "This replica's claim expired and was taken over: another replica runs the incident too.");
                    self.held().remove(&key);
                }
                Err(e) => {
                    tracing::warn!(bundle = %bundle, error = format!("{e:#}"), "Cannot renew a claim.")
                }
            }
        }
    }

    /// Retention on the object store, at most once a minute, by one replica at a time (a
    /// claim of the key `retention` serializes the passes).
    pub(super) async fn retention(&self) {
        let (max_age_days, per_service) = self.retention;
        if max_age_days == 0 && per_service == 0 {
            return;
        }
        {
            let mut at =
                self.retention_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if at.is_some_and(|at| at.elapsed() < RETENTION_EVERY) {
                return;
            }
            *at = Some(Instant::now());
        }
        let key = self.claim_key("retention");
        let pass = format!("retention-{}", Utc::now().format("%Y%m%dT%H%M%S"));
        match self.claims.claim(&key, &pass, Duration::ZERO).await {
            Ok(Outcome::Won { bundle }) => {
                match self.store.apply_retention(max_age_days, per_service, Utc::now()).await {
                    Ok(removed) if !removed.is_empty() => {
                        tracing::info!(removed = ?removed, "Retention removed bundles from the object store.")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(
                        error = format!("{e:#}"),
                        "Retention on the object store failed."
                    ),
                }
                let _ = self.claims.done(&key, &bundle).await;
            }
            Ok(Outcome::Held { .. }) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "Cannot claim the retention pass."),
        }
    }
}
