//! `witness serve`: the sidecar triggered by alert webhooks. It answers hooks within
//! milliseconds (`202` with the bundle ids started or joined) and collects in the
//! background; deduplicates alert storms; journals every accepted alert before answering;
//! serves the sealed bundles read-only; exports its own metrics; reloads its config on
//! change; and keeps a flight recorder of the last hour.
//!
//! - [`config`]: `[server]`; [`auth`]: bearer/basic and PagerDuty signatures;
//! - [`hooks`]: webhook bodies to triggers; [`intake`]: dedup, redeliveries, bounds;
//! - [`journal`]: durability; [`runner`]: runs in the background, at most N at once;
//! - [`http`]: the routes; [`api`]: the bundle API; [`metrics`]; [`reload`]; [`recorder`].
//!
//! Shutdown follows mini-redis: [`run`] takes the shutdown future from outside (signals
//! in [`serve`], a channel in tests) and owns the whole sequence (see there).

pub mod api;
pub mod auth;
pub mod config;
pub mod hooks;
pub mod http;
pub mod intake;
pub mod journal;
pub mod metrics;
pub mod recorder;
pub mod reload;
pub mod runner;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::ServerConfig;

use crate::config::WitnessConfig;
use auth::Auth;
use intake::Intake;
use journal::Journal;
use metrics::Metrics;
use recorder::Recorder;

/// The configuration in force; replaced whole on a successful reload.
pub struct Live {
    pub config: Arc<WitnessConfig>,
    pub auth: Auth,
    /// The rules and signing key `config` names, loaded and checked.
    pub prepared: crate::run::Prepared,
}

/// Everything the handlers and the runner share.
pub struct Shared {
    live: RwLock<Arc<Live>>,
    pub intake: Mutex<Intake>,
    pub journal: Journal,
    pub metrics: Metrics,
    /// Set by the shutdown: hooks answer `503`, `/readyz` fails.
    pub draining: AtomicBool,
    pub jobs: mpsc::UnboundedSender<runner::Job>,
    pub recorder: Option<Recorder>,
    limiter: Mutex<HashMap<&'static str, Bucket>>,
    /// Cancelled when the grace period is over: running collectors stop and what they
    /// found is sealed.
    pub runs_cancel: CancellationToken,
    pub runs: TaskTracker,
}

impl Shared {
    /// The configuration in force now.
    pub fn live(&self) -> Arc<Live> {
        Arc::clone(&self.live.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn replace_live(&self, live: Live) {
        *self.live.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(live);
    }

    pub fn intake(&self) -> std::sync::MutexGuard<'_, Intake> {
        self.intake.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Takes a token from `source`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn rate_limit(&self, source: &'static str) -> Result<(), u64> {
        let live = self.live();
        let (rate, burst) =
            (live.config.server.rate_limit_per_sec, live.config.server.rate_limit_burst);
        if rate == 0 {
            return Ok(());
        }
        let mut buckets = self.limiter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets
            .entry(source)
            .or_insert_with(|| Bucket { tokens: f64::from(burst), at: Instant::now() });
        let now = Instant::now();
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.at).as_secs_f64() * f64::from(rate))
        .min(f64::from(burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / f64::from(rate)).ceil().max(1.0) as u64)
        }
    }

    /// Refreshes the gauges that mirror the intake.
    pub fn update_gauges(&self) {
        let intake = self.intake();
        self.metrics.queue_depth.set(intake.queued as i64);
        self.metrics.running.set(intake.running as i64);
        self.metrics.journal_lag.set(intake.unsealed() as i64);
    }
}

/// A token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Where the journal goes: `[server] journal`, else `<store>/.journal.jsonl` (a dot name:
/// never listed or served as a bundle).
pub fn journal_path(config: &WitnessConfig) -> PathBuf {
    config.server.journal.clone().unwrap_or_else(|| config.store.dir.join(".journal.jsonl"))
}

/// `witness serve`: loads the config, binds, and runs until SIGTERM or SIGINT; a second
/// signal quits at once (the journal is already on disk).
///
/// # Errors
/// A config that does not load, an address that cannot be bound, a journal that cannot
/// be opened.
pub async fn serve(config_path: Option<PathBuf>, listen: Option<String>) -> anyhow::Result<()> {
    let config = match &config_path {
        Some(path) => WitnessConfig::load(path)?,
        None => WitnessConfig::zero_config(),
    };
    let addr = config.server.listen_addr(listen.as_deref())?;
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    run(config_path, config, listener, shutdown_signal()).await
}

/// Resolves on the first SIGTERM or SIGINT, and arms the second: that one exits at once.
async fn shutdown_signal() {
    first_signal().await;
    tracing::info!("Shutting down; a second signal quits at once.");
    tokio::spawn(async {
        first_signal().await;
        tracing::warn!("Second signal: quitting without waiting for runs.");
        std::process::exit(130);
    });
}

async fn first_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Serves on `listener` until `shutdown` resolves, then:
///
/// 1. draining: hooks and `/api/collect` answer `503` with `Retry-After` (Alertmanager
///    and PagerDuty retry), `/readyz` fails, bundles can still be read;
/// 2. no queued run starts (they stay in the journal and run after the restart);
/// 3. running runs get `shutdown_grace_secs` to finish; then they are cancelled, and
///    what their collectors found is sealed;
/// 4. the listener closes, the journal is synced and closed.
///
/// # Errors
/// Missing credentials on a non-loopback listener, secrets that cannot be read, a store
/// or journal that cannot be opened.
pub async fn run(
    config_path: Option<PathBuf>,
    config: WitnessConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let auth = Auth::load(&config.server.auth).context("cannot read the [server.auth] secrets")?;
    let config = Arc::new(config);
    let prepared = crate::run::prepare(Arc::clone(&config))?;
    let addr = listener.local_addr()?;
    if !auth.is_required() && !addr.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {addr} without credentials: set [server.auth] bearer_token_env \
             (or basic auth), or listen on 127.0.0.1"
        );
    }
    std::fs::create_dir_all(&config.store.dir)
        .with_context(|| format!("cannot create the store {}", config.store.dir.display()))?;
    let (journal, closer, unsealed) = Journal::open(&journal_path(&config))?;

    // Background helpers (recorder, config watcher) stop with this token.
    let background = CancellationToken::new();
    let recorder = config
        .server
        .recorder
        .enabled
        .then(|| Recorder::start(config.server.recorder.clone(), background.clone()));
    let max_parallel = config.server.max_parallel_runs;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        live: RwLock::new(Arc::new(Live { config, auth, prepared })),
        intake: Mutex::new(Intake::default()),
        journal,
        metrics: Metrics::default(),
        draining: AtomicBool::new(false),
        jobs: jobs_tx,
        recorder,
        limiter: Mutex::new(HashMap::new()),
        runs_cancel: CancellationToken::new(),
        runs: TaskTracker::new(),
    });

    runner::replay(&shared, unsealed).await;
    let stop_dispatch = CancellationToken::new();
    let dispatcher = tokio::spawn(runner::dispatch(
        Arc::clone(&shared),
        jobs_rx,
        max_parallel,
        stop_dispatch.clone(),
    ));
    if let Some(path) = &config_path {
        reload::spawn(Arc::clone(&shared), path.clone(), background.clone());
    }
    runner::refresh_store_gauge(&shared).await;

    let app = http::router(Arc::clone(&shared));
    let close_listener = CancellationToken::new();
    let server = {
        let close = close_listener.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(close.cancelled_owned()).await
        })
    };
    tracing::info!(addr = %addr, "Listening.");

    shutdown.await;

    // 1. Drain: refuse new alerts (503, retried by senders), keep serving the rest.
    shared.draining.store(true, Ordering::SeqCst);
    tracing::info!("Draining: new alerts get 503 until the running runs finish.");
    // 2. Queued runs stay queued: they are in the journal and run after the restart.
    stop_dispatch.cancel();
    let _ = dispatcher.await;
    // 3. Running runs get the grace period, then are cancelled and seal what they have.
    shared.runs.close();
    if tokio::time::timeout(grace, shared.runs.wait()).await.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "Grace period over: cancelling the running runs."
        );
        shared.runs_cancel.cancel();
        // Cancelled collectors return at once; writing the bundle is what remains.
        if tokio::time::timeout(Duration::from_secs(30), shared.runs.wait()).await.is_err() {
            tracing::error!(
                "Runs still writing after cancellation; their triggers stay in the journal."
            );
        }
    }
    // 4. Close the listener (in-flight requests finish), stop helpers, sync the journal.
    close_listener.cancel();
    background.cancel();
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "The HTTP server ended with an error."),
        Err(_) => tracing::warn!("Open connections did not close in 5 s; leaving them."),
        _ => {}
    }
    shared.journal.close().await;
    let _ = tokio::task::spawn_blocking(move || closer.close()).await;
    tracing::info!("Stopped.");
    Ok(())
}

/// Whether `dir` accepts a new file (for `/readyz`).
pub fn store_is_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".readyz-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}
