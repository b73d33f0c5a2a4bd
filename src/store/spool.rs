//! The spool: sealed bundles waiting for their upload to the object store. A bundle is
//! spooled right after its seal, before the seal is journaled, by writing a marker file
//! `<dir>/.spool/<id>.json` (fsync'ed, directory too), so a `kill -9` or a restart loses
//! no upload: on start every marker is read back and its bundle uploaded. The uploader
//! takes the oldest first; a failure waits (one second, doubling up to
//! `[store] retry_max_secs`, each wait between half and all of that, at random) and tries
//! the same bundle again. The marker goes once the index entry is written (or when the
//! store holds another bundle under the same id, which is never written over).
//!
//! The spool is bounded by `[store] spool_max_bundles` and `spool_max_bytes`: at the bound
//! [`Spool::is_full`] is true and `witness serve` refuses new incidents with `503` (their
//! senders retry; another replica may take them), logging why; what is spooled already
//! is never dropped.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Store;

/// A spooled bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub id: String,
    pub bytes: u64,
    /// The claim key its incident was claimed under: marked done after the upload.
    #[serde(default)]
    pub claim: Option<String>,
    #[serde(with = "witness_collector::time::millis")]
    pub spooled_at: DateTime<Utc>,
}

/// The spool of one replica.
pub struct Spool {
    /// `<store dir>/.spool`
    dir: PathBuf,
    /// Where the sealed bundles are (`<store dir>`).
    bundles: PathBuf,
    pending: Mutex<BTreeMap<String, Pending>>,
    wake: tokio::sync::Notify,
    max_bundles: usize,
    max_bytes: u64,
}

impl Spool {
    /// Opens the spool of the store directory `bundles`, reading back what a previous
    /// process left (a marker whose bundle is gone is dropped with a warning).
    ///
    /// # Errors
    /// The spool directory cannot be created or read.
    pub fn open(bundles: &Path, max_bundles: usize, max_bytes: u64) -> io::Result<Self> {
        let dir = bundles.join(".spool");
        fs::create_dir_all(&dir)?;
        let mut pending = BTreeMap::new();
        for entry in fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                // A marker torn by a crash mid-write was never acknowledged.
                let _ = fs::remove_file(&path);
                continue;
            }
            match fs::read(&path).ok().and_then(|b| serde_json::from_slice::<Pending>(&b).ok()) {
                Some(p) if bundles.join(&p.id).is_dir() => {
                    pending.insert(p.id.clone(), p);
                }
                _ => {
                    tracing::warn!(marker = %path.display(), "Dropping a spool marker without its bundle.");
                    let _ = fs::remove_file(&path);
                }
            }
        }
        Ok(Self {
            dir,
            bundles: bundles.to_owned(),
            pending: Mutex::new(pending),
            wake: tokio::sync::Notify::new(),
            max_bundles,
            max_bytes,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pending>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Spools the sealed bundle `id`: its marker is on disk when this returns.
    ///
    /// # Errors
    /// The marker cannot be written.
    pub fn add(&self, id: &str, claim: Option<String>) -> io::Result<()> {
        let dir = self.bundles.join(id);
        let bytes = crate::bundle::store::describe(&dir).map(|b| b.bytes).unwrap_or(0);
        let pending = Pending { id: id.to_owned(), bytes, claim, spooled_at: Utc::now() };
        let tmp = self.dir.join(format!("{id}.tmp"));
        {
            let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
            file.write_all(&serde_json::to_vec(&pending)?)?;
            file.sync_all()?;
        }
        fs::rename(&tmp, self.dir.join(format!("{id}.json")))?;
        File::open(&self.dir)?.sync_all()?;
        self.lock().insert(id.to_owned(), pending);
        self.wake.notify_one();
        Ok(())
    }

    fn remove(&self, id: &str) {
        if let Err(e) = fs::remove_file(self.dir.join(format!("{id}.json"))) {
            tracing::warn!(bundle = %id, error = %e, "Cannot remove a spool marker.");
        }
        self.lock().remove(id);
    }

    /// Bundles and bytes waiting.
    pub fn depth(&self) -> (usize, u64) {
        let pending = self.lock();
        (pending.len(), pending.values().map(|p| p.bytes).sum())
    }

    /// Whether the spool is at one of its bounds.
    pub fn is_full(&self) -> bool {
        let (bundles, bytes) = self.depth();
        bundles >= self.max_bundles || bytes >= self.max_bytes
    }

    /// The ids waiting: local retention keeps them.
    pub fn ids(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// What is waiting, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        self.lock().values().cloned().collect()
    }

    fn oldest(&self) -> Option<Pending> {
        self.lock().values().next().cloned()
    }
}

/// What the uploader reports.
pub enum Event<'a> {
    /// `pending` is in the store, after `seconds`.
    Uploaded { pending: &'a Pending, seconds: f64 },
    /// An attempt failed; the next one is in `retry_in`.
    Failed { pending: &'a Pending, error: &'a anyhow::Error, retry_in: Duration },
}

/// The wait before attempt `failures + 1`: one second doubling up to `max`, then between
/// half and all of it, at random (replicas that failed together do not retry together).
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let full = Duration::from_secs(1).saturating_mul(1 << failures.min(20)).min(max);
    full.mul_f64(0.5 + rand::random::<f64>() * 0.5)
}

/// Uploads spooled bundles to `store` until `stop`, oldest first, calling `on_event` after
/// each attempt and awaiting `after` after each upload (the claim is marked done there).
pub async fn upload_loop<F, A>(
    spool: &Spool,
    store: &Store,
    replica: &str,
    retry_max: Duration,
    stop: &CancellationToken,
    on_event: F,
    after: A,
) where
    F: Fn(Event<'_>),
    A: Fn(Pending) -> futures::future::BoxFuture<'static, ()>,
{
    let mut failures = 0u32;
    loop {
        let Some(pending) = spool.oldest() else {
            tokio::select! {
                () = stop.cancelled() => return,
                () = spool.wake.notified() => continue,
            }
        };
        let started = Instant::now();
        let dir = spool.bundles.join(&pending.id);
        let attempt = tokio::select! {
            () = stop.cancelled() => return,
            attempt = store.upload(&dir, replica) => attempt,
        };
        match attempt {
            Ok(_) => {
                failures = 0;
                on_event(Event::Uploaded {
                    pending: &pending,
                    seconds: started.elapsed().as_secs_f64(),
                });
                after(pending.clone()).await;
                spool.remove(&pending.id);
            }
            Err(error) if error.is::<super::UploadConflict>() => {
                tracing::error!(bundle = %pending.id, error = %error, "Upload given up: it stays in the local directory only.");
                spool.remove(&pending.id);
            }
            Err(error) => {
                let retry_in = backoff(failures, retry_max);
                failures = failures.saturating_add(1);
                on_event(Event::Failed { pending: &pending, error: &error, retry_in });
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(retry_in) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let max = Duration::from_secs(60);
        for failures in 0..30 {
            let full = Duration::from_secs(1 << failures.min(6)).min(max);
            let wait = backoff(failures, max);
            assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?} vs {full:?}");
        }
    }

    #[test]
    fn markers_survive_a_reopen_and_the_bounds_hold() {
        let tmp = tempfile::tempdir().unwrap();
        for id in ["20251119T210000Z-000001", "20251119T210000Z-000002"] {
            fs::create_dir_all(tmp.path().join(id)).unwrap();
        }
        let spool = Spool::open(tmp.path(), 2, 1 << 20).unwrap();
        spool.add("20251119T210000Z-000001", Some("k".into())).unwrap();
        assert!(!spool.is_full());
        spool.add("20251119T210000Z-000002", None).unwrap();
        assert!(spool.is_full(), "two bundles is the bound");
        // A marker whose bundle is gone, and one torn mid-write.
        fs::write(tmp.path().join(".spool/20251119T210000Z-000009.json"), b"{}").unwrap();
        fs::write(tmp.path().join(".spool/x.tmp"), b"{").unwrap();
        drop(spool);
        let spool = Spool::open(tmp.path(), 10, 1 << 20).unwrap();
        assert_eq!(spool.ids(), ["20251119T210000Z-000001", "20251119T210000Z-000002"]);
        assert_eq!(spool.pending()[0].claim.as_deref(), Some("k"));
        spool.remove("20251119T210000Z-000001");
        let spool = Spool::open(tmp.path(), 10, 1 << 20).unwrap();
        assert_eq!(spool.depth().0, 1);
    }
}
