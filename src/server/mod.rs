//! `witness serve`: the sidecar triggered by alert webhooks. It answers hooks within
//! milliseconds (`202` with the bundle ids started or joined) and collects in the
//! background; deduplicates alert storms; journals every accepted alert before answering;
//! serves the sealed bundles read-only; exports its own metrics; reloads its config on
//! change; and keeps a flight recorder of the last hour.
//!
//! - [`router`]: the routes, the checks every sender passes, and the answers;
//!   [`error`]: the error answer; [`api`]: the bundle API;
//! - [`hooks`]: webhook bodies to triggers; [`auth`]: bearer/basic and PagerDuty
//!   signatures;
//! - [`accept`]: the one accept path (admit, journal, queue) of hooks and `/api/collect`;
//!   [`addendum`]: what reaches a run after its seal, beside the bundle;
//!   [`intake`]: what happens to each alert (start, join, dedup, redelivery, bounds);
//!   [`journal`]: durability; [`redaction`]: the intake's redactor, whose tokens
//!   survive restarts (every alert is redacted where it is parsed);
//! - [`worker`]: takes accepted runs off the queue, at most N at once, lets follow-ups of
//!   resolved incidents wait for their window, and replays the unsealed ones after a
//!   restart;
//! - [`state`]: what they all share; [`metrics`]; [`reload`]; [`recorder`].
//!
//! Its configuration, `[server]`, is [`crate::config::server`]. Shutdown follows
//! mini-redis: [`serve_on`] takes the shutdown future from outside (signals in [`serve`],
//! a channel in tests) and owns the whole sequence (see there).

pub mod accept;
pub mod addendum;
pub mod api;
pub mod auth;
pub mod error;
pub mod fleet;
pub mod hooks;
pub mod intake;
pub mod journal;
pub mod metrics;
pub mod recorder;
pub mod redaction;
pub mod reload;
pub mod router;
pub mod state;
pub mod worker;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::WitnessConfig;
use auth::Auth;
use journal::Journal;
use recorder::Recorder;
use state::{Live, Shared};

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
    serve_on(config_path, config, listener, shutdown_signal()).await
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
/// 2. no queued run starts, and follow-ups stop waiting for their window (both stay in
///    the journal: they run, or wait again, after the restart);
/// 3. running runs get `shutdown_grace_secs` to finish; then they are cancelled, and
///    what their collectors found is sealed; in a fleet, the spool gets up to 10 s more
///    to upload;
/// 4. the listener closes, the journal is synced and closed.
///
/// # Errors
/// Missing credentials on a non-loopback listener, secrets that cannot be read, a store
/// or journal that cannot be opened.
pub async fn serve_on(
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
    let redaction_key = redaction::load_key(&config.store.dir)?;
    let live = Live::new(Arc::clone(&config), auth, prepared, redaction_key);
    let cooldown = Duration::from_secs(config.server.cooldown_secs);
    let (journal, closer, replayed) =
        Journal::open(&journal_path(&config), cooldown, &live.intake)?;

    // Background helpers (recorder, config watcher) stop with this token.
    let background = CancellationToken::new();
    let recorder =
        config.server.recorder.enabled.then(|| {
            Recorder::start(config.server.recorder.clone(), &live.intake, background.clone())
        });
    let max_parallel = config.server.max_parallel_runs;
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    // A replica of a fleet: the shared store, the claims and the spool, checked before
    // anything is accepted.
    let fleet = match &config.store.url {
        Some(url) => Some(Arc::new(
            fleet::Fleet::open(&config, url, &live.intake)
                .await
                .with_context(|| format!("cannot use the store {url}"))?,
        )),
        None => None,
    };
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::new(live, journal, recorder, queue_tx, redaction_key, fleet));
    if let Some(fleet) = &shared.fleet {
        worker::spawn_fleet(&shared, fleet, &background);
    }

    worker::replay(&shared, replayed).await;
    let stop_worker = CancellationToken::new();
    let worker = tokio::spawn(worker::work(
        Arc::clone(&shared),
        queue_rx,
        max_parallel,
        stop_worker.clone(),
    ));
    if let Some(path) = &config_path {
        reload::spawn(Arc::clone(&shared), path.clone(), background.clone());
    }
    worker::refresh_store_gauge(&shared).await;

    let app = router::router(Arc::clone(&shared));
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
    // 2. Queued runs stay queued and waiting follow-ups stop waiting: they are in the
    //    journal and run (or wait again) after the restart.
    stop_worker.cancel();
    shared.follow_ups_stop.cancel();
    let _ = worker.await;
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
    // 3b. In a fleet, what was just sealed gets a moment (at most 10 s) to reach the
    //     object store; what is still spooled then uploads after the restart.
    if let Some(fleet) = &shared.fleet {
        fleet.drain(grace.min(Duration::from_secs(10))).await;
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
