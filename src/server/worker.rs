//! The worker: the task that takes accepted runs off the queue, in order, and starts each
//! when one of `max_parallel_runs` slots is free. Each run collects, seals its bundle (with
//! the alerts that joined it and the flight recorder), journals the seal, and applies
//! retention. Also the replay of unsealed runs after a restart, which puts them back on
//! the queue.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::journal::{Recent, Record, Replayed, Unsealed};
use super::metrics::MetricsProgress;
use super::recorder::Recorder;
use super::state::{QueuedRun, Shared};
use crate::bundle::store;
use crate::run::{self, RunRequest};
use crate::trigger::Trigger;

/// Takes runs off the queue and starts them, at most `max_parallel` at once, until `stop`.
/// What is still queued then stays in the journal and runs after the restart.
pub async fn work(
    shared: Arc<Shared>,
    mut queue_rx: mpsc::UnboundedReceiver<QueuedRun>,
    max_parallel: usize,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_parallel.max(1)));
    loop {
        let queued = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            queued = queue_rx.recv() => match queued { Some(queued) => queued, None => return },
        };
        let permit = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            permit = Arc::clone(&slots).acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
        };
        shared.intake().started();
        shared.update_gauges();
        let span = tracing::info_span!(
            "run",
            bundle = %queued.bundle,
            source = queued.trigger.source.as_str(),
            alert = %queued.trigger.name,
        );
        let run_shared = Arc::clone(&shared);
        shared.runs.spawn(
            async move {
                perform(&run_shared, queued).await;
                drop(permit);
            }
            .instrument(span),
        );
    }
}

/// One run, from its queued trigger to its sealed bundle and the journal line saying so.
async fn perform(shared: &Arc<Shared>, job: QueuedRun) {
    let live = shared.live();
    let config = &live.config;
    let started = Instant::now();
    tracing::info!("Run started.");
    let bundle = job.bundle.clone();
    let request = RunRequest {
        anchor: job.trigger.starts_at,
        trigger: job.trigger,
        lookback: Duration::from_secs(config.collect.lookback_secs),
        only: None,
        store: config.store.dir.clone(),
        id: Some(bundle.clone()),
    };
    let plan = run::plan::plan(config, None);
    let amend_shared = Arc::clone(shared);
    let amend_bundle = bundle.clone();
    let amend = move |trigger: &mut Trigger| {
        trigger.joined.extend(amend_shared.intake().close(&amend_bundle));
        amend_shared.recorder.as_ref().map(Recorder::files).unwrap_or_default()
    };
    let progress = MetricsProgress(&shared.metrics);
    let result =
        run::collect_amended(&live.prepared, request, plan, &shared.runs_cancel, &progress, amend)
            .await;
    let written = match &result {
        Ok(collected) => {
            let slowest = collected.view.records.iter().map(|r| r.duration_ms).max().unwrap_or(0);
            let overhead = started.elapsed().saturating_sub(Duration::from_millis(slowest));
            shared.metrics.run_overhead(overhead.as_secs_f64());
            let dir = collected.bundle.dir.display();
            let overhead_ms = overhead.as_millis() as u64;
            // Cancelled at shutdown: the bundle holds what the collectors had by then.
            if shared.runs_cancel.is_cancelled() {
                shared.metrics.run_finished("cancelled", started.elapsed().as_secs_f64());
                tracing::warn!(dir = %dir, overhead_ms, "Run cancelled at shutdown; sealed what it had.");
            } else {
                shared.metrics.run_finished("sealed", started.elapsed().as_secs_f64());
                tracing::info!(dir = %dir, overhead_ms, "Run sealed.");
            }
            true
        }
        Err(e) => {
            shared.metrics.run_finished("failed", started.elapsed().as_secs_f64());
            tracing::error!(error = format!("{e:#}"), "Run failed: no bundle was written.");
            false
        }
    };
    let record = Record::Sealed { at: Utc::now(), bundle: bundle.clone(), written };
    if let Err(e) = shared.journal.append(&[record]).await {
        // The bundle exists; on restart the replay sees it and does not run it again.
        tracing::error!(error = %e, "Cannot journal the seal.");
    }
    shared.intake().finished(&bundle);
    shared.update_gauges();
    apply_retention(shared, config).await;
}

async fn apply_retention(shared: &Arc<Shared>, config: &crate::config::WitnessConfig) {
    let (dir, max_bundles, max_bytes) =
        (config.store.dir.clone(), config.store.max_bundles, config.store.max_bytes);
    if max_bundles > 0 || max_bytes > 0 {
        // Bundles still being written are `.tmp-*` directories, which retention never
        // sees; sealed ones are removed oldest first.
        let removed = tokio::task::spawn_blocking(move || {
            store::apply_retention(&dir, max_bundles, max_bytes, &[])
        })
        .await;
        match removed {
            Ok(Ok(ids)) if !ids.is_empty() => {
                tracing::info!(removed = ?ids, "Retention removed bundles.")
            }
            Ok(Err(e)) => tracing::warn!(error = format!("{e:#}"), "Retention failed."),
            _ => {}
        }
    }
    refresh_store_gauge(shared).await;
}

/// Sets `witness_bundle_bytes` from the store.
pub async fn refresh_store_gauge(shared: &Arc<Shared>) {
    let dir = shared.live().config.store.dir.clone();
    if let Ok(Ok(listed)) = tokio::task::spawn_blocking(move || store::list(&dir)).await {
        let bytes: u64 = listed.iter().map(|b| b.bytes).sum();
        shared.metrics.bundle_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
}

/// Queues again the runs a crash left unsealed. A run whose bundle is in the store after
/// all (the crash came between sealing and journaling) is journaled as sealed; the
/// staging directory of an interrupted write is removed first.
pub async fn replay(shared: &Arc<Shared>, replayed: Replayed) {
    let Replayed { unsealed, recent } = replayed;
    let store = shared.live().config.store.dir.clone();
    {
        // Sealed inside the cooldown: the incident's keys point to its bundle again, aged
        // as they were, so a refire joins it instead of starting a second run.
        let mut intake = shared.intake();
        let (now, utc_now) = (Instant::now(), Utc::now());
        for Recent { bundle, keys, accepted_at } in recent {
            let age = (utc_now - accepted_at).to_std().unwrap_or_default();
            intake.remember_sealed(&bundle, keys, now.checked_sub(age).unwrap_or(now));
        }
    }
    for Unsealed { bundle, trigger } in unsealed {
        if store.join(&bundle).is_dir() {
            let record = Record::Sealed { at: Utc::now(), bundle, written: true };
            let _ = shared.journal.append(&[record]).await;
            continue;
        }
        remove_staging(&store, &bundle);
        shared.intake().restore(&bundle, trigger.dedup_keys(), Instant::now());
        tracing::info!(bundle = %bundle, alert = %trigger.name, "Replaying a run accepted before a restart.");
        let _ = shared.queue_tx.send(QueuedRun { bundle, trigger });
    }
    shared.update_gauges();
}

fn remove_staging(store: &Path, bundle: &str) {
    let staging = store.join(format!(".tmp-{bundle}"));
    if staging.is_dir() {
        crate::bundle::writer::make_writable(&staging);
        if let Err(e) = std::fs::remove_dir_all(&staging) {
            tracing::warn!(dir = %staging.display(), error = %e, "Cannot remove a half-written bundle.");
        }
    }
}
