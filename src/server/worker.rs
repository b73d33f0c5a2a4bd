//! The worker: the task that takes accepted runs off the queue, in order, and starts each
//! when one of `max_parallel_runs` slots is free. Each run collects, seals its bundle (with
//! the alerts that joined it and the flight recorder), journals the seal, and applies
//! retention. A follow-up first waits, outside the queue, for the window after its
//! incident's resolution to pass (and for the incident's own bundle to be sealed); then it
//! is queued like any run, and collects over that window with the verified incident bundle
//! to compare with. Also the replay of unsealed runs and follow-ups after a restart, which
//! puts them back on the queue or back to waiting.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::fleet::Fleet;
use super::journal::{FollowUpReplay, Recent, Record, Replayed, Unsealed};
use super::metrics::MetricsProgress;
use super::recorder::Recorder;
use super::state::{FollowUpJob, Live, QueuedRun, Shared};
use crate::bundle::store;
use crate::run::follow_up::{FollowUpRequest, Incident, Resolution, window_after};
use crate::run::{self, RunRequest};
use crate::store::Join;
use crate::store::claim::Outcome;
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
        let run_slots = Arc::clone(&slots);
        shared.runs.spawn(
            async move {
                perform(&run_shared, queued, permit, &run_slots).await;
            }
            .instrument(span),
        );
    }
}

/// One run, from its queued trigger to its sealed bundle and the journal line saying so.
/// In a fleet the incident is claimed first ([`claim`]); the run holds `permit`, one of
/// the worker's `slots`, except while it waits for another replica's run.
async fn perform(
    shared: &Arc<Shared>,
    mut job: QueuedRun,
    permit: OwnedSemaphorePermit,
    slots: &Arc<Semaphore>,
) {
    let live = shared.live();
    let config = &live.config;
    let started = Instant::now();
    let bundle = job.bundle.clone();
    // The bundle id the run seals under: its own, or that of a claim it took over.
    let (run_id, claim_key, _permit) = match claim(shared, &mut job, permit, slots).await {
        Claimed::Run { id, key, permit } => (id, key, permit),
        Claimed::Done => return,
    };
    tracing::info!("Run started.");
    let request = match job.follow_up {
        None => RunRequest {
            anchor: job.trigger.starts_at,
            trigger: job.trigger,
            lookback: Duration::from_secs(config.collect.lookback_secs),
            only: None,
            store: config.store.dir.clone(),
            id: Some(run_id.clone()),
            follow_up: None,
        },
        Some(follow_up) => {
            match follow_up_request(shared, &live, &run_id, job.trigger, follow_up).await {
                Ok(request) => request,
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "Follow-up failed: no bundle was written."
                    );
                    if let (Some(fleet), Some(key)) = (&shared.fleet, &claim_key) {
                        fleet.release(key);
                    }
                    finish(shared, &bundle, Ended::failed(started)).await;
                    return;
                }
            }
        }
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
    let ended = match &result {
        Ok(collected) => {
            let slowest = collected.view.records.iter().map(|r| r.duration_ms).max().unwrap_or(0);
            let overhead = started.elapsed().saturating_sub(Duration::from_millis(slowest));
            shared.metrics.run_overhead(overhead.as_secs_f64());
            let dir = collected.bundle.dir.display();
            let overhead_ms = overhead.as_millis() as u64;
            let severity = collected.view.severity.as_ref().map(|s| s.level.as_str());
            // Cancelled at shutdown: the bundle holds what the collectors had by then.
            let status = if shared.runs_cancel.is_cancelled() { "cancelled" } else { "sealed" };
            if let Some(follow_up) = &collected.view.follow_up {
                shared.metrics.follow_up_checked(follow_up);
                let verdict = follow_up.verdict();
                tracing::info!(dir = %dir, incident = %follow_up.incident.id, verdict = %verdict, "Follow-up sealed.");
            }
            if status == "cancelled" {
                tracing::warn!(dir = %dir, overhead_ms, "Run cancelled at shutdown; sealed what it had.");
            } else {
                tracing::info!(dir = %dir, overhead_ms, "Run sealed.");
            }
            // Spooled before the seal is journaled: a crash between the two leaves a
            // bundle the replay finds and spools again.
            if let Some(fleet) = &shared.fleet
                && let Err(e) = fleet.spool.add(&run_id, claim_key.clone())
            {
                tracing::error!(error = %e, "Cannot spool the bundle for its upload; it stays local.");
            }
            Ended { status, severity, seconds: started.elapsed().as_secs_f64() }
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "Run failed: no bundle was written.");
            if let (Some(fleet), Some(key)) = (&shared.fleet, &claim_key) {
                fleet.release(key);
            }
            Ended::failed(started)
        }
    };
    finish(shared, &bundle, ended).await;
}

/// What the claim decided for a run.
enum Claimed {
    /// Run it under `id` (claimed under `key`, when in a fleet), holding `permit`.
    Run { id: String, key: Option<String>, permit: Option<OwnedSemaphorePermit> },
    /// Nothing to run: joined to another replica's run (and finished), or shutting down
    /// while waiting (the run stays in the journal).
    Done,
}

/// Claims the incident of `job` when this replica is one of a fleet: a run that wins
/// (or takes over an expired claim) runs; one whose incident another replica holds waits,
/// without its slot, until that run is done, and then records its alert (and the alerts
/// that joined it here) beside that bundle in the store, signed with the signing key when
/// one is configured. Manual runs (without an incident key) are not claimed.
///
/// A follow-up is claimed too, under its incident's id across the fleet, so that one
/// replica checks each resolution: the replica that has the incident's bundle claims at
/// once, the others one claim TTL later (the sealer goes first; when it is gone, another
/// takes the follow-up over and reads the incident from the object store). A follow-up
/// asked for by hand (`/api/collect`) is claimed without the cooldown: it always runs.
async fn claim(
    shared: &Arc<Shared>,
    job: &mut QueuedRun,
    permit: OwnedSemaphorePermit,
    slots: &Arc<Semaphore>,
) -> Claimed {
    let unclaimed =
        |permit| Claimed::Run { id: job.bundle.clone(), key: None, permit: Some(permit) };
    let Some(fleet) = shared.fleet.as_ref() else {
        return unclaimed(permit);
    };
    let (cooldown_secs, store) = {
        let live = shared.live();
        (live.config.server.cooldown_secs, live.config.store.dir.clone())
    };
    let mut cooldown = Duration::from_secs(cooldown_secs);
    let incident = match &job.follow_up {
        None => match job.trigger.dedup_keys().into_iter().next() {
            Some(incident) => incident,
            None => return unclaimed(permit),
        },
        Some(follow_up) => {
            if job.trigger.source == crate::trigger::TriggerSource::Manual {
                cooldown = Duration::ZERO;
            }
            follow_up_key(shared.intake().fleet_id(&follow_up.incident))
        }
    };
    let key = fleet.claim_key(&incident);
    drop(permit);
    let started = Instant::now();
    let stop = &shared.follow_ups_stop;
    if let Some(follow_up) = &job.follow_up {
        let id = shared.intake().fleet_id(&follow_up.incident).to_owned();
        if !store.join(&id).is_dir() {
            tracing::info!(incident = %id, "The incident was sealed by another replica: its follow-up is claimed one claim TTL later, to let that replica go first.");
            tokio::select! {
                () = stop.cancelled() => return Claimed::Done,
                () = tokio::time::sleep(fleet.claims.ttl()) => {}
            }
        }
    }
    match fleet.claim(&shared.metrics, &key, &job.bundle, cooldown, stop).await {
        None => Claimed::Done,
        Some(Outcome::Won { bundle }) => {
            if bundle != job.bundle {
                shared.intake().set_fleet_id(&job.bundle, &bundle);
                tracing::warn!(theirs = %bundle, "Took over the incident of a replica whose claim expired; running it under that replica's bundle id.");
            }
            let permit = Arc::clone(slots).acquire_owned().await.ok();
            Claimed::Run { id: bundle, key: Some(key), permit }
        }
        Some(Outcome::Held { bundle: theirs, holder, .. }) => {
            shared.intake().set_fleet_id(&job.bundle, &theirs);
            let mut trigger = job.trigger.clone();
            trigger.joined.extend(shared.intake().close(&job.bundle));
            if let Some(follow_up) = &job.follow_up {
                trigger.joined.extend(follow_up.resolutions.iter().cloned());
            }
            let join = Join {
                replica: fleet.claims.replica().to_owned(),
                bundle: job.bundle.clone(),
                recorded_at: Utc::now(),
                trigger,
            };
            // The key in force now (a reload may have changed it while this waited).
            let signing_key = shared.live().prepared.signing_key.clone();
            if !fleet.join(&theirs, &join, signing_key.as_ref(), stop).await {
                return Claimed::Done;
            }
            tracing::info!(theirs = %theirs, holder = %holder, "Another replica's run holds this incident; the alert is recorded beside its bundle.");
            let seconds = started.elapsed().as_secs_f64();
            finish(shared, &job.bundle, Ended { status: "joined", severity: None, seconds }).await;
            Claimed::Done
        }
    }
}

/// The incident key a follow-up of incident bundle `id` is claimed under.
fn follow_up_key(id: &str) -> String {
    format!("follow-up:{id}")
}

/// How a run ended, for `witness_runs_total` and `witness_run_duration_seconds`.
struct Ended {
    /// `sealed`, `cancelled`, `failed` or `joined`.
    status: &'static str,
    severity: Option<&'static str>,
    seconds: f64,
}

impl Ended {
    /// No bundle was written.
    fn failed(started: Instant) -> Self {
        Self { status: "failed", severity: None, seconds: started.elapsed().as_secs_f64() }
    }
}

/// Journals the seal of `bundle` (or that it failed for good), applies retention, and
/// then counts the run: once a run shows in the metrics, its seal is on disk, the intake
/// knows it, and the store's gauge has its bytes.
async fn finish(shared: &Arc<Shared>, bundle: &str, ended: Ended) {
    let written = !matches!(ended.status, "failed" | "joined");
    let fleet_id = Some(shared.intake().fleet_id(bundle).to_owned()).filter(|id| id != bundle);
    let record = Record::Sealed { at: Utc::now(), bundle: bundle.to_owned(), written, fleet_id };
    if let Err(e) = shared.journal.append(&[record]).await {
        // The bundle exists; on restart the replay sees it and does not run it again.
        tracing::error!(error = %e, "Cannot journal the seal.");
    }
    shared.intake().finished(bundle);
    shared.update_gauges();
    apply_retention(shared, &shared.live().config).await;
    shared.metrics.run_finished(ended.status, ended.severity, ended.seconds);
}

/// The run of follow-up `bundle`, due now: the incident's bundle verified and loaded (with
/// the signing key's public half when one is configured), the trigger made of the
/// incident's alert and the resolutions gathered, the window after the resolution. In a
/// fleet the incident is the bundle its id names across the replicas: sealed here, or
/// else fetched from the object store (verified).
///
/// # Errors
/// The incident's bundle is missing (its run failed, retention removed it, it is not in
/// the object store), does not verify, or cannot be read.
async fn follow_up_request(
    shared: &Shared,
    live: &Live,
    bundle: &str,
    first: Trigger,
    job: FollowUpJob,
) -> anyhow::Result<RunRequest> {
    let config = &live.config;
    let id = shared.intake().fleet_id(&job.incident).to_owned();
    let dir = match &shared.fleet {
        Some(fleet) if !config.store.dir.join(&id).is_dir() => {
            fleet.fetch(&config.store.dir, &id).await.with_context(|| {
                format!("the incident bundle {id} is neither here nor readable in the object store")
            })?
        }
        _ => config.store.dir.join(&id),
    };
    let key = live.prepared.signing_key.as_ref().map(|k| k.verifying_key());
    let incident =
        tokio::task::spawn_blocking(move || Incident::load(&dir, key.as_ref())).await??;
    let span = config.follow_up.window();
    let mut trigger = incident.follow_up_trigger(first.source, job.resolved_at);
    let mut resolutions = job.resolutions;
    // The first notification's body goes with the trigger, once.
    trigger.raw = resolutions.iter_mut().find_map(|r| r.raw.take()).or(first.raw);
    trigger.joined = resolutions;
    Ok(RunRequest {
        trigger,
        anchor: job.resolved_at,
        lookback: span,
        only: None,
        store: config.store.dir.clone(),
        id: Some(bundle.to_owned()),
        follow_up: Some(FollowUpRequest {
            incident,
            resolution: Resolution {
                at: job.resolved_at,
                source: first.source.as_str().to_owned(),
            },
            window: window_after(job.resolved_at, span, Utc::now()),
        }),
    })
}

/// How often a follow-up whose window has passed looks again for its incident's seal.
const SEAL_POLL: Duration = Duration::from_secs(1);

/// Starts the wait of follow-up `bundle` of `incident` (resolved by `first`): until one
/// `[follow_up] window_secs` after its latest resolution (a resolution that joins it
/// meanwhile moves that), and until the incident's own run is sealed; then it is queued.
/// The wait ends at the shutdown, leaving it in the journal for the restart.
pub fn schedule_follow_up(shared: Arc<Shared>, incident: String, bundle: String, first: Trigger) {
    tokio::spawn(async move {
        loop {
            let due = shared.intake().follow_up_due(&incident, &bundle);
            let Some((resolved_at, incident_unsealed)) = due else { return };
            let window = chrono::Duration::from_std(shared.live().config.follow_up.window())
                .unwrap_or(chrono::Duration::MAX);
            let wait = (resolved_at + window - Utc::now()).to_std().unwrap_or_default();
            let pause = if !wait.is_zero() {
                wait
            } else if incident_unsealed {
                SEAL_POLL
            } else {
                break;
            };
            tokio::select! {
                () = shared.follow_ups_stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
        let Some((resolved_at, resolutions)) = shared.intake().queue_follow_up(&incident, &bundle)
        else {
            return;
        };
        shared.update_gauges();
        tracing::info!(bundle = %bundle, incident = %incident, "Follow-up queued: the window after the resolution has passed.");
        let job = FollowUpJob { incident, resolved_at, resolutions };
        let _ = shared.queue_tx.send(QueuedRun { bundle, trigger: first, follow_up: Some(job) });
    });
}

async fn apply_retention(shared: &Arc<Shared>, config: &crate::config::WitnessConfig) {
    let (dir, max_bundles, max_bytes) =
        (config.store.dir.clone(), config.store.max_bundles, config.store.max_bytes);
    if max_bundles > 0 || max_bytes > 0 {
        // Bundles still being written are `.tmp-*` directories, which retention never
        // sees; sealed ones are removed oldest first, but not an incident's while its
        // follow-up still has to read it.
        let mut keep = shared.intake().followed_incidents();
        // Nor a bundle still waiting for its upload.
        keep.extend(shared.fleet.iter().flat_map(|f| f.spool.ids()));
        let removed = tokio::task::spawn_blocking(move || {
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            store::apply_retention(&dir, max_bundles, max_bytes, &keep)
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
    let Replayed { unsealed, recent, follow_ups, recent_follow_ups } = replayed;
    let store = shared.live().config.store.dir.clone();
    {
        // Sealed inside the cooldown: the incident's keys point to its bundle again, aged
        // as they were, so a refire joins it instead of starting a second run; and its
        // resolutions point to its follow-up.
        let mut intake = shared.intake();
        let (now, utc_now) = (Instant::now(), Utc::now());
        let aged = |at: chrono::DateTime<Utc>| {
            let age = (utc_now - at).to_std().unwrap_or_default();
            now.checked_sub(age).unwrap_or(now)
        };
        for Recent { bundle, keys, accepted_at, fleet_id } in recent {
            intake.remember_sealed(&bundle, keys, aged(accepted_at));
            if let Some(fleet_id) = fleet_id {
                intake.set_fleet_id(&bundle, &fleet_id);
            }
        }
        for f in recent_follow_ups {
            intake.remember_follow_up(&f.incident, &f.bundle, f.resolved_at, aged(f.accepted_at));
        }
    }
    for Unsealed { bundle, trigger } in unsealed {
        if store.join(&bundle).is_dir() {
            // Sealed, and maybe not spooled yet: spooling it again is harmless.
            if let Some(fleet) = &shared.fleet {
                let key = trigger.dedup_keys().first().map(|k| fleet.claim_key(k));
                if let Err(e) = fleet.spool.add(&bundle, key) {
                    tracing::error!(bundle = %bundle, error = %e, "Cannot spool the bundle for its upload.");
                }
            }
            let record = Record::Sealed { at: Utc::now(), bundle, written: true, fleet_id: None };
            let _ = shared.journal.append(&[record]).await;
            continue;
        }
        remove_staging(&store, &bundle);
        shared.intake().restore(&bundle, trigger.dedup_keys(), Instant::now());
        tracing::info!(bundle = %bundle, alert = %trigger.name, "Replaying a run accepted before a restart.");
        let _ = shared.queue_tx.send(QueuedRun { bundle, trigger, follow_up: None });
    }
    // After the runs: a follow-up waits for its incident's run to be sealed.
    for FollowUpReplay { bundle, incident, resolved_at, accepted_at, trigger, resolutions } in
        follow_ups
    {
        if store.join(&bundle).is_dir() {
            let record = Record::Sealed { at: Utc::now(), bundle, written: true, fleet_id: None };
            let _ = shared.journal.append(&[record]).await;
            continue;
        }
        remove_staging(&store, &bundle);
        let now = Instant::now();
        let age = (Utc::now() - accepted_at).to_std().unwrap_or_default();
        let accepted = now.checked_sub(age).unwrap_or(now);
        shared.intake().restore_follow_up(&incident, &bundle, resolved_at, resolutions, accepted);
        tracing::info!(bundle = %bundle, incident = %incident, "Replaying a follow-up accepted before a restart.");
        schedule_follow_up(Arc::clone(shared), incident, bundle, trigger);
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

/// Starts the uploader and the claim renewal; both stop with `stop`.
pub fn spawn_fleet(shared: &Arc<Shared>, fleet: &Arc<Fleet>, stop: &CancellationToken) {
    let (upload_shared, upload_fleet, upload_stop) =
        (Arc::clone(shared), Arc::clone(fleet), stop.clone());
    tokio::spawn(async move {
        let fleet = &upload_fleet;
        let shared = &upload_shared;
        fleet.update_gauges(&shared.metrics);
        crate::store::spool::upload_loop(
            &fleet.spool,
            &fleet.store,
            fleet.claims.replica(),
            fleet.retry_max,
            &upload_stop,
            |event| match event {
                crate::store::spool::Event::Uploaded { pending, seconds } => {
                    shared.metrics.upload_seconds.observe(seconds);
                    tracing::info!(bundle = %pending.id, seconds, store = %fleet.store.url(), "Bundle uploaded.");
                }
                crate::store::spool::Event::Failed { pending, error, retry_in } => {
                    shared.metrics.upload_failures.inc();
                    let (depth, bytes) = fleet.spool.depth();
                    tracing::warn!(bundle = %pending.id, error = format!("{error:#}"), retry_in_ms = retry_in.as_millis() as u64, spooled = depth, spooled_bytes = bytes, "Upload failed; the bundle stays spooled.");
                }
            },
            |pending| {
                let (fleet, shared) = (Arc::clone(fleet), Arc::clone(shared));
                Box::pin(async move {
                    if let Some(key) = &pending.claim {
                        if let Err(e) = fleet.claims.done(key, &pending.id).await {
                            tracing::warn!(bundle = %pending.id, error = format!("{e:#}"), "Cannot mark the claim done; it expires instead.");
                        }
                        fleet.held().remove(key);
                    }
                    fleet.update_gauges(&shared.metrics);
                    fleet.retention().await;
                })
            },
        )
        .await;
    });
    let (renew_fleet, renew_stop) = (Arc::clone(fleet), stop.clone());
    tokio::spawn(async move {
        let every = renew_fleet.claims.ttl() / 3;
        let mut pruned_at: Option<Instant> = None;
        loop {
            tokio::select! {
                () = renew_stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            renew_fleet.renew_all().await;
            if pruned_at.is_none_or(|at| at.elapsed() >= super::fleet::PRUNE_EVERY) {
                pruned_at = Some(Instant::now());
                match renew_fleet.claims.prune().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(deleted = n, "Deleted claims past the longest cooldown.")
                    }
                    Err(e) => tracing::warn!(error = format!("{e:#}"), "Cannot delete old claims."),
                }
            }
        }
    });
}
