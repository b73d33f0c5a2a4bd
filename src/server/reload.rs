//! Config reload on file change: `notify` watches the config file's directory (editors
//! and Kubernetes ConfigMaps replace the file rather than write it) but wakes only for the
//! file itself and for ConfigMap swaps (`..data`), so that other files busy in the same
//! directory cannot starve it; changes are debounced, for at most [`MAX_DEBOUNCE`],
//! and a file whose bytes changed is loaded and validated whole, with the rules and the
//! signing key it names; the new config's redactor (with witness's own secrets it names as
//! literals) then redacts new alerts, runs and witness's log lines. A broken config is logged
//! and counted (`witness_config_reloads_total{result="failed"}`) and the old one stays in
//! force. The listen address, the journal, `max_parallel_runs` and the flight recorder are
//! fixed at start; a change to them is logged as needing a restart.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::auth::Auth;
use super::state::{Live, Shared};
use crate::config::WitnessConfig;

/// How long the file must be quiet before it is read.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// The longest a change waits for the file to be quiet.
const MAX_DEBOUNCE: Duration = Duration::from_secs(2);
/// A slow poll as well, for filesystems where notifications do not arrive.
const POLL: Duration = Duration::from_secs(30);

/// Watches `path` until `cancel`. The watch is set up and the file's digest taken before
/// this returns, so a change made as soon as the server answers is never missed.
pub fn spawn(shared: Arc<Shared>, path: PathBuf, cancel: CancellationToken) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let watcher = watch(&path, Arc::clone(&wake));
    let mut last = digest(&path);
    tokio::spawn(async move {
        let _watcher = watcher;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(POLL) => {}
            }
            // Debounce: wait until no event came for DEBOUNCE, at most MAX_DEBOUNCE.
            let give_up = tokio::time::Instant::now() + MAX_DEBOUNCE;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    () = wake.notified() => continue,
                    () = tokio::time::sleep(DEBOUNCE) => break,
                    () = tokio::time::sleep_until(give_up) => break,
                }
            }
            let now = digest(&path);
            if now.is_none() || now == last {
                continue;
            }
            last = now;
            reload(&shared, &path);
        }
    });
}

fn digest(path: &std::path::Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok().map(|bytes| Sha256::digest(bytes).into())
}

fn watch(
    path: &std::path::Path,
    wake: Arc<tokio::sync::Notify>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let dir =
        path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(ToOwned::to_owned);
    // The config file itself, or the `..data` link a ConfigMap update swaps.
    let concerns_config = move |event: &notify::Event| {
        event.paths.iter().any(|p| {
            let file = p.file_name();
            file == name.as_deref() || file.is_some_and(|f| f.as_encoded_bytes().starts_with(b".."))
        })
    };
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            // Reading the file (witness's own reads included) changes nothing.
            Ok(event) if event.kind.is_access() || !concerns_config(&event) => {}
            _ => wake.notify_one(),
        })
        .map_err(|e| tracing::warn!(error = %e, "Cannot watch the config file; polling it."))
        .ok()?;
    if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
        tracing::warn!(dir = %dir.display(), error = %e, "Cannot watch the config directory; polling it.");
    }
    Some(watcher)
}

/// Loads, validates and installs the file at `path`, or keeps the old config.
pub fn reload(shared: &Shared, path: &std::path::Path) {
    let loaded = WitnessConfig::load(path).map_err(|e| e.to_string()).and_then(|config| {
        let auth = Auth::load(&config.server.auth).map_err(|e| format!("{e:#}"))?;
        let config = Arc::new(config);
        let prepared = crate::run::prepare(Arc::clone(&config)).map_err(|e| e.to_string())?;
        Ok((config, auth, prepared))
    });
    match loaded {
        Ok((config, auth, prepared)) => {
            let old = shared.live();
            let fixed = &old.config.server;
            let new = &config.server;
            if fixed.listen != new.listen
                || fixed.journal != new.journal
                || fixed.max_parallel_runs != new.max_parallel_runs
                || format!("{:?}", fixed.recorder) != format!("{:?}", new.recorder)
            {
                tracing::warn!(
                    "The new config changes listen, journal, max_parallel_runs or the recorder: those take effect after a restart."
                );
            }
            shared.replace_live(Live::new(config, auth, prepared, shared.redaction_key));
            shared.metrics.config_reload("ok");
            tracing::info!(path = %path.display(), "Config reloaded.");
        }
        Err(e) => {
            shared.metrics.config_reload("failed");
            tracing::error!(path = %path.display(), error = %e, "The changed config is broken; keeping the old one.");
        }
    }
}
