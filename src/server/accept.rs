//! The one accept path of `witness serve`, shared by the webhook hooks and `/api/collect`:
//! the intake decides what happens to each trigger (under its lock, so that concurrent
//! deliveries agree), the decisions are journaled (fsync'ed: nothing is acknowledged
//! before it is on disk), the alerts that reach a sealed run are recorded beside its
//! bundle ([`super::addendum`]), the runs started go on the worker's queue, and the
//! follow-ups started begin to wait for their window ([`super::worker::schedule_follow_up`]).
//! Every alert is counted in the metrics by its outcome. In a fleet, the incidents started
//! are claimed before the answer, so that it names each incident's bundle across the
//! replicas (the winner's when another replica holds it). How the answer looks is the
//! router's business.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::addendum;
use super::fleet::Fleet;
use super::intake::{Action, Decision, Limits};
use super::journal::Record;
use super::state::{QueuedRun, Shared};
use crate::store::claim::Outcome;
use crate::trigger::Trigger;

/// What became of one notification's alerts.
#[derive(Debug)]
pub struct Accepted {
    /// What was decided for each alert admitted, in order.
    pub decisions: Vec<Decision>,
    /// The bundles started, joined or pointed to, each once, in order.
    pub bundles: Vec<String>,
    /// Alerts refused because the run queue is full: the sender must retry (what was
    /// admitted is then a redelivery).
    pub refused: usize,
}

/// The journal could not be written: nothing was acknowledged, nothing was queued.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the journal: {0}")]
pub struct JournalFailed(pub String);

/// Admits `triggers` (the alerts of one notification from `source`, or one manual run),
/// journals the decisions and queues the runs started.
///
/// # Errors
/// [`JournalFailed`] when the decisions cannot be journaled; the runs they started are
/// forgotten again.
pub async fn accept(
    shared: &Arc<Shared>,
    source: &'static str,
    triggers: Vec<Trigger>,
    webhook_id: Option<&str>,
) -> Result<Accepted, JournalFailed> {
    let live = shared.live();
    // A full upload spool takes no new run: refused like a full queue, retried by the
    // sender (or taken by another replica) once uploads drain.
    let spool_full = shared.fleet.as_ref().is_some_and(|f| f.spool.is_full());
    let limits = Limits {
        cooldown: Duration::from_secs(live.config.server.cooldown_secs),
        queue_size: if spool_full { 0 } else { live.config.server.queue_size },
        follow_up: live.config.follow_up.on_resolve,
    };
    let received_at = Utc::now();
    let mut admitted = shared.intake().admit(
        triggers,
        webhook_id,
        limits,
        Instant::now(),
        received_at,
        &mut || crate::bundle::new_id(received_at),
    );

    let records: Vec<Record> = admitted
        .decisions
        .iter()
        .map(|d| Record::Accepted {
            at: received_at,
            action: d.action,
            bundle: d.bundle.clone(),
            webhook_id: webhook_id.map(str::to_owned),
            // The body is on the alerts that started or first joined a run (the intake
            // chose them): kept with that run.
            trigger: Box::new(d.trigger.clone()),
            follow_up: d.follow_up.as_ref().map(|f| f.bundle.clone()),
        })
        .collect();
    // Nothing is acknowledged before it is on disk.
    if !records.is_empty()
        && let Err(e) = shared.journal.append(&records).await
    {
        let started: Vec<String> = admitted
            .decisions
            .iter()
            .filter(|d| d.action == Action::Started)
            .filter_map(|d| d.bundle.clone())
            .chain(admitted.decisions.iter().filter_map(|d| {
                d.follow_up.as_ref().filter(|f| f.started).map(|f| f.bundle.clone())
            }))
            .collect();
        shared.intake().forget(&started);
        shared.metrics.alerts_n(source, "rejected", records.len() as u64);
        tracing::error!(error = %e, "Cannot journal accepted alerts; answering 503.");
        return Err(JournalFailed(e));
    }
    if let Err(e) =
        record_late(std::sync::Arc::clone(&live), &admitted.decisions, received_at).await
    {
        // They are journaled (until the next compaction) and counted; say so loudly.
        tracing::error!(error = %e, "Cannot record late alerts beside their bundle.");
    }
    // In a fleet each incident started here is claimed before the answer, which then
    // names the id the incident has across the replicas.
    let held_elsewhere = match &shared.fleet {
        Some(fleet) => claim_started(shared, fleet, &admitted.decisions, limits.cooldown).await,
        None => HashSet::new(),
    };
    let mut bundles: Vec<String> = Vec::new();
    for decision in &mut admitted.decisions {
        shared.metrics.alert(source, outcome(decision.action));
        if let Some(bundle) = &decision.bundle
            && !bundles.contains(bundle)
        {
            bundles.push(bundle.clone());
        }
        if decision.action == Action::Started
            && let Some(bundle) = &decision.bundle
        {
            tracing::info!(bundle = %bundle, source, alert = %decision.trigger.name, "Alert accepted; run queued.");
            // The raw payload goes with the run; the answer needs only the alert's names.
            let raw = decision.trigger.raw.take();
            let trigger = Trigger { raw, ..decision.trigger.clone() };
            let queued = QueuedRun { bundle: bundle.clone(), trigger, follow_up: None };
            let _ = shared.queue_tx.send(queued);
        }
        if let (Some(follow_up), Some(incident)) = (&decision.follow_up, &decision.bundle) {
            if !bundles.contains(&follow_up.bundle) {
                bundles.push(follow_up.bundle.clone());
            }
            if follow_up.started {
                tracing::info!(bundle = %follow_up.bundle, incident = %incident, source, alert = %decision.trigger.name, "Incident resolved; its follow-up waits for the window after the resolution.");
                super::worker::schedule_follow_up(
                    Arc::clone(shared),
                    incident.clone(),
                    follow_up.bundle.clone(),
                    decision.trigger.clone(),
                );
            }
        }
    }
    if admitted.refused > 0 {
        let reason = if spool_full {
            "the upload spool is full ([store] spool_max_bundles, spool_max_bytes): the object store is not taking uploads"
        } else {
            "the run queue is full ([server] queue_size)"
        };
        shared.refused(source, "queue_full", admitted.refused as u64, reason);
    }
    shared.update_gauges();
    if shared.fleet.is_some() {
        let intake = shared.intake();
        for decision in &mut admitted.decisions {
            let Some(bundle) = &decision.bundle else { continue };
            if decision.action == Action::Started && held_elsewhere.contains(bundle) {
                decision.action = Action::Joined;
            }
            decision.bundle = Some(intake.fleet_id(bundle).to_owned());
        }
        let mut named: Vec<String> = Vec::new();
        for bundle in bundles.iter().map(|b| intake.fleet_id(b)) {
            if !named.iter().any(|n| n == bundle) {
                named.push(bundle.to_owned());
            }
        }
        bundles = named;
    }
    Ok(Accepted { decisions: admitted.decisions, bundles, refused: admitted.refused })
}

/// Claims, at once and all together, the incidents of the runs `decisions` started, and
/// records in the intake the id each has across the fleet when it is not the local one.
/// Returns the local ids of those another replica holds.
async fn claim_started(
    shared: &Arc<Shared>,
    fleet: &Fleet,
    decisions: &[Decision],
    cooldown: Duration,
) -> HashSet<String> {
    let claims = decisions.iter().filter(|d| d.action == Action::Started).filter_map(|d| {
        let bundle = d.bundle.as_deref()?;
        let key = fleet.claim_key(&d.trigger.dedup_keys().into_iter().next()?);
        Some(async move { (bundle, fleet.claim_early(&key, bundle, cooldown).await) })
    });
    let mut held_elsewhere = HashSet::new();
    for (bundle, outcome) in futures::future::join_all(claims).await {
        let fleet_id = match outcome {
            Some(Outcome::Won { bundle: won }) => won,
            Some(Outcome::Held { bundle: theirs, .. }) => {
                held_elsewhere.insert(bundle.to_owned());
                theirs
            }
            None => continue,
        };
        shared.intake().set_fleet_id(bundle, &fleet_id);
    }
    held_elsewhere
}

/// The `outcome` label of `witness_alerts_received_total` for a decision.
fn outcome(action: Action) -> &'static str {
    match action {
        Action::Started => "accepted",
        Action::Joined | Action::Deduplicated | Action::Redelivered => "deduplicated",
        Action::Resolved => "resolved",
        Action::Updated => "updated",
    }
}

/// Appends the alerts that reached a sealed (or sealing) run to its addendum, before the
/// sender is answered: the journal forgets them when it is compacted.
///
/// # Errors
/// The addendum cannot be written (the journal still has the alerts).
async fn record_late(
    live: std::sync::Arc<super::state::Live>,
    decisions: &[Decision],
    received_at: chrono::DateTime<Utc>,
) -> Result<(), String> {
    let mut late: std::collections::BTreeMap<String, Vec<addendum::Entry>> = Default::default();
    for d in decisions {
        let recorded =
            matches!(d.action, Action::Deduplicated | Action::Resolved | Action::Updated);
        if let (true, false, Some(bundle)) = (recorded, d.with_run, &d.bundle) {
            // The body stays in the journal (and with a follow-up's run), never here.
            let alert =
                crate::trigger::JoinedAlert { raw: None, ..d.trigger.joined_at(received_at) };
            late.entry(bundle.clone()).or_default().push(addendum::Entry {
                recorded_at: received_at,
                action: d.action.as_str().to_owned(),
                alert,
                signature: None,
            });
        }
    }
    if late.is_empty() {
        return Ok(());
    }
    tokio::task::spawn_blocking(move || {
        let (store, key) = (&live.config.store.dir, live.prepared.signing_key.as_ref());
        for (bundle, entries) in late {
            addendum::append(store, &bundle, entries, key)
                .map_err(|e| format!("cannot write the addendum of {bundle}: {e}"))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
}
