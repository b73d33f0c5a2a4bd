//! What happens to each incoming alert, decided under one lock so that concurrent
//! deliveries agree: start a run, join the run already collecting for the same incident,
//! point to the bundle of a run inside the cooldown, recognize a redelivery, or record a
//! resolved notification. A resolution never starts an incident's run; when its incident
//! has a bundle it starts that incident's follow-up (or joins the one waiting for its
//! window, which then starts after the latest resolution): one follow-up per incident,
//! unless the incident fired again after it. Also the bounds: at most `queue_size` runs
//! waiting, past which a notification is refused with `503` and retried by its sender
//! (whatever was admitted of it is then a redelivery: idempotent). A follow-up waiting
//! for its window is not queued yet: it does not count against `queue_size`.
//!
//! Incidents are matched by the trigger's keys ([`Trigger::dedup_keys`]: fingerprint,
//! group key, PagerDuty incident id); redeliveries by `X-Webhook-Id` and by fingerprint +
//! start + status ([`Trigger::redelivery_key`]). A manual run (`/api/collect`) has
//! neither, so it always starts a run, bounded by the queue like any other.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::trigger::{JoinedAlert, Trigger};

/// How long a redelivery is recognized, and how many are remembered.
const REDELIVERY_TTL: Duration = Duration::from_secs(24 * 3600);
const REDELIVERY_CAP: usize = 100_000;

/// What the intake did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Started a new run (the bundle id is chosen now).
    Started,
    /// Joined a run still queued or collecting.
    Joined,
    /// Inside the cooldown of a finished run: points to its bundle.
    Deduplicated,
    /// A redelivery of an alert already accepted.
    Redelivered,
    /// A resolved notification: never starts a run.
    Resolved,
    /// An update of an incident (PagerDuty `acknowledged`, `annotated`, ...; Grafana
    /// `pending`): recorded with its run, never starts one.
    Updated,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Started => "started",
            Action::Joined => "joined",
            Action::Deduplicated => "deduplicated",
            Action::Redelivered => "redelivered",
            Action::Resolved => "resolved",
            Action::Updated => "updated",
        }
    }
}

/// What was decided for one alert.
#[derive(Debug, Clone)]
pub struct Decision {
    pub action: Action,
    /// The bundle started, joined or pointed to; none for a resolved alert of an incident
    /// witness has no run for.
    pub bundle: Option<String>,
    pub trigger: Trigger,
    /// Recorded with its run's trigger (the run was still open); otherwise an alert for a
    /// bundle that is sealed or being sealed: it goes in the bundle's addendum.
    pub with_run: bool,
    /// A resolution of `bundle`'s incident: the follow-up it started or joined.
    pub follow_up: Option<FollowUpOf>,
}

/// The follow-up a resolution belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpOf {
    pub bundle: String,
    /// This resolution started it (it must be scheduled); otherwise it joined one.
    pub started: bool,
}

/// The latest follow-up of an incident bundle.
#[derive(Debug, Clone)]
struct FollowUpEntry {
    bundle: String,
    /// The latest resolution it waits after.
    resolved_at: DateTime<Utc>,
    accepted: Instant,
    /// The incident fired again after it was accepted: a later resolution gets a new one.
    refired: bool,
}

/// A run accepted and not yet sealed.
#[derive(Debug, Default)]
struct ActiveRun {
    joined: Vec<JoinedAlert>,
    /// Its trigger is being written: later alerts point to the bundle instead.
    closed: bool,
}

/// The intake's memory. Kept under a `std::sync::Mutex`; no call awaits.
#[derive(Debug, Default)]
pub struct Intake {
    runs: HashMap<String, ActiveRun>,
    /// Incident key -> (bundle, when its run was accepted).
    keys: HashMap<String, (String, Instant)>,
    keys_pruned_at: usize,
    /// Redelivery key -> bundles it was answered with.
    seen: HashMap<String, (Vec<String>, Instant)>,
    seen_order: VecDeque<(String, Instant)>,
    /// Incident bundle -> its latest follow-up (while unsealed, also in `runs`).
    follow_ups: HashMap<String, FollowUpEntry>,
    /// In a fleet, a bundle id given here -> the id its incident has across the replicas,
    /// when they differ: the run of another replica it joined, or the expired claim this
    /// replica took over ([`Intake::set_fleet_id`]).
    fleet_ids: HashMap<String, String>,
    pub queued: usize,
    pub running: usize,
}

/// The bounds in force (from the live config).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub cooldown: Duration,
    pub queue_size: usize,
    /// Whether a resolution starts a follow-up (`[follow_up] on_resolve`).
    pub follow_up: bool,
}

/// The outcome of a notification.
#[derive(Debug, Default)]
pub struct Admitted {
    pub decisions: Vec<Decision>,
    /// Alerts refused because the queue is full: answer `503` with `Retry-After`.
    pub refused: usize,
}

impl Intake {
    /// Runs accepted and not yet sealed.
    pub fn unsealed(&self) -> usize {
        self.runs.len()
    }

    /// Decides for every alert of one notification.
    pub fn admit(
        &mut self,
        alerts: Vec<Trigger>,
        webhook_id: Option<&str>,
        limits: Limits,
        now: Instant,
        received_at: DateTime<Utc>,
        new_id: &mut dyn FnMut() -> String,
    ) -> Admitted {
        // The notification's body goes with every run it starts, and once with each run it
        // joins: not only with its first alert, which may be a resolved one.
        let mut alerts = alerts;
        let raw = alerts.iter_mut().find_map(|t| t.raw.take());
        let mut raw_given: Vec<String> = Vec::new();
        let webhook_key = webhook_id.map(|id| format!("webhook:{id}"));
        let whole_redelivery = webhook_key.as_ref().is_some_and(|k| self.is_seen(k, now));
        let mut admitted = Admitted::default();
        for mut trigger in alerts {
            let redelivery = trigger.redelivery_key();
            let seen = redelivery.as_deref().and_then(|key| self.seen_bundles(key, now));
            if let Some(bundles) = seen.or_else(|| whole_redelivery.then(Vec::new)) {
                admitted.decisions.push(Decision {
                    action: Action::Redelivered,
                    bundle: bundles.into_iter().next(),
                    trigger,
                    with_run: false,
                    follow_up: None,
                });
                continue;
            }
            let keys = trigger.dedup_keys();
            let decision = if trigger.is_firing() {
                match self.within_cooldown(&keys, limits.cooldown, now) {
                    Some(bundle) => {
                        if let Some(follow_up) = self.follow_ups.get_mut(&bundle) {
                            follow_up.refired = true;
                        }
                        let raw = self.raw_for(&bundle, raw.as_ref(), &mut raw_given);
                        self.attach(bundle, Trigger { raw, ..trigger }, received_at, true)
                    }
                    None if self.queued >= limits.queue_size => {
                        admitted.refused += 1;
                        continue;
                    }
                    None => {
                        let bundle = self.unique_id(new_id);
                        for key in keys {
                            self.keys.insert(key, (bundle.clone(), now));
                        }
                        self.prune_keys(limits.cooldown, now);
                        self.runs.insert(bundle.clone(), ActiveRun::default());
                        self.queued += 1;
                        trigger.raw = raw.clone();
                        Decision {
                            action: Action::Started,
                            bundle: Some(bundle),
                            trigger,
                            with_run: true,
                            follow_up: None,
                        }
                    }
                }
            } else {
                // A resolved alert or an update belongs to its incident however long it
                // fired.
                let update = !trigger.is_resolved();
                let mut decision = match self.latest(&keys) {
                    Some(bundle) => {
                        let raw = self.raw_for(&bundle, raw.as_ref(), &mut raw_given);
                        self.attach(bundle, Trigger { raw, ..trigger }, received_at, false)
                    }
                    None => Decision {
                        action: Action::Resolved,
                        bundle: None,
                        trigger,
                        with_run: false,
                        follow_up: None,
                    },
                };
                if update {
                    decision.action = Action::Updated;
                } else if limits.follow_up
                    && let Some(incident) = decision.bundle.clone()
                {
                    // The body goes once per notification with each follow-up, and is
                    // journaled with it (the incident's addendum never keeps it).
                    let given = format!("follow-up of {incident}");
                    let body = (!raw_given.contains(&given))
                        .then(|| raw.clone())
                        .flatten()
                        .inspect(|_| raw_given.push(given));
                    if decision.trigger.raw.is_none() {
                        decision.trigger.raw = body;
                    }
                    let resolution = decision.trigger.clone();
                    decision.follow_up = Some(self.follow_up(
                        &incident,
                        &resolution,
                        limits.cooldown,
                        now,
                        received_at,
                        new_id,
                    ));
                }
                decision
            };
            if let Some(key) = redelivery {
                let follow_up = decision.follow_up.as_ref().map(|f| f.bundle.clone());
                self.remember(key, decision.bundle.iter().cloned().chain(follow_up).collect(), now);
            }
            admitted.decisions.push(decision);
        }
        if admitted.refused == 0
            && let Some(key) = webhook_key
        {
            let bundles = admitted.decisions.iter().filter_map(|d| d.bundle.clone()).collect();
            self.remember(key, bundles, now);
        }
        admitted
    }

    /// The follow-up of `incident` for `resolution`: the one waiting for its window
    /// (which then waits after this resolution too), the latest one inside the cooldown
    /// when the incident has not fired since, else a new one.
    fn follow_up(
        &mut self,
        incident: &str,
        resolution: &Trigger,
        cooldown: Duration,
        now: Instant,
        received_at: DateTime<Utc>,
        new_id: &mut dyn FnMut() -> String,
    ) -> FollowUpOf {
        let resolved_at = resolution.resolved_at(received_at);
        if let Some(entry) = self.follow_ups.get_mut(incident) {
            if let Some(run) = self.runs.get_mut(&entry.bundle).filter(|run| !run.closed) {
                run.joined.push(resolution.joined_at(received_at));
                entry.resolved_at = entry.resolved_at.max(resolved_at);
                return FollowUpOf { bundle: entry.bundle.clone(), started: false };
            }
            if !entry.refired && now.saturating_duration_since(entry.accepted) < cooldown {
                return FollowUpOf { bundle: entry.bundle.clone(), started: false };
            }
        }
        let bundle = self.unique_id(new_id);
        let run = ActiveRun { joined: vec![resolution.joined_at(received_at)], closed: false };
        self.runs.insert(bundle.clone(), run);
        let entry =
            FollowUpEntry { bundle: bundle.clone(), resolved_at, accepted: now, refired: false };
        self.follow_ups.insert(incident.to_owned(), entry);
        FollowUpOf { bundle, started: true }
    }

    /// A follow-up of `incident` asked for by hand (`/api/collect`), resolved by
    /// `resolution`: the one waiting for its window when there is one (it then waits after
    /// this resolution too), else a new one, whatever the cooldown.
    pub fn request_follow_up(
        &mut self,
        incident: &str,
        resolution: &Trigger,
        now: Instant,
        received_at: DateTime<Utc>,
        new_id: &mut dyn FnMut() -> String,
    ) -> FollowUpOf {
        self.follow_up(incident, resolution, Duration::ZERO, now, received_at, new_id)
    }

    /// When the follow-up `bundle` of `incident` may collect: its latest resolution, and
    /// whether the incident's own run is still unsealed (the follow-up needs its bundle).
    /// `None` once it is no longer waiting.
    pub fn follow_up_due(&self, incident: &str, bundle: &str) -> Option<(DateTime<Utc>, bool)> {
        let entry = self.follow_ups.get(incident).filter(|e| e.bundle == bundle)?;
        self.runs.get(bundle).filter(|run| !run.closed)?;
        Some((entry.resolved_at, self.runs.contains_key(incident)))
    }

    /// The follow-up `bundle` of `incident` goes on the queue: no resolution joins it from
    /// now on. Returns its resolution time and the resolutions it gathered.
    pub fn queue_follow_up(
        &mut self,
        incident: &str,
        bundle: &str,
    ) -> Option<(DateTime<Utc>, Vec<JoinedAlert>)> {
        let resolved_at = self.follow_ups.get(incident).filter(|e| e.bundle == bundle)?.resolved_at;
        let run = self.runs.get_mut(bundle).filter(|run| !run.closed)?;
        run.closed = true;
        self.queued += 1;
        Some((resolved_at, std::mem::take(&mut run.joined)))
    }

    /// The incident bundles whose follow-up is not sealed yet: retention keeps them.
    pub fn followed_incidents(&self) -> Vec<String> {
        let unsealed = |e: &FollowUpEntry| self.runs.contains_key(&e.bundle);
        self.follow_ups.iter().filter(|(_, e)| unsealed(e)).map(|(i, _)| i.clone()).collect()
    }

    /// Follow-ups waiting for their window.
    pub fn waiting_follow_ups(&self) -> usize {
        self.follow_ups
            .values()
            .filter(|e| self.runs.get(&e.bundle).is_some_and(|run| !run.closed))
            .count()
    }

    /// A follow-up replayed from the journal after a restart, with the resolutions it had
    /// gathered: it waits for its window again.
    pub fn restore_follow_up(
        &mut self,
        incident: &str,
        bundle: &str,
        resolved_at: DateTime<Utc>,
        joined: Vec<JoinedAlert>,
        now: Instant,
    ) {
        self.runs.insert(bundle.to_owned(), ActiveRun { joined, closed: false });
        let entry =
            FollowUpEntry { bundle: bundle.to_owned(), resolved_at, accepted: now, refired: false };
        self.follow_ups.insert(incident.to_owned(), entry);
    }

    /// A follow-up sealed before a restart, accepted at `accepted_at`: the incident's
    /// resolutions point to it for the rest of the cooldown.
    pub fn remember_follow_up(
        &mut self,
        incident: &str,
        bundle: &str,
        resolved_at: DateTime<Utc>,
        accepted_at: Instant,
    ) {
        let entry = FollowUpEntry {
            bundle: bundle.to_owned(),
            resolved_at,
            accepted: accepted_at,
            refired: false,
        };
        self.follow_ups.insert(incident.to_owned(), entry);
    }

    /// The body for an alert joining `bundle`: once per notification and open run.
    fn raw_for(
        &self,
        bundle: &str,
        raw: Option<&serde_json::Value>,
        given: &mut Vec<String>,
    ) -> Option<serde_json::Value> {
        let open = self.runs.get(bundle).is_some_and(|run| !run.closed);
        if !open || given.iter().any(|b| b == bundle) {
            return None;
        }
        given.push(bundle.to_owned());
        raw.cloned()
    }

    fn unique_id(&self, new_id: &mut dyn FnMut() -> String) -> String {
        loop {
            let id = new_id();
            if !self.runs.contains_key(&id) {
                return id;
            }
        }
    }

    /// Records `trigger` in the run of `bundle` when it is still open.
    fn attach(
        &mut self,
        bundle: String,
        trigger: Trigger,
        received_at: DateTime<Utc>,
        firing: bool,
    ) -> Decision {
        let open = self.runs.get_mut(&bundle).filter(|run| !run.closed);
        let with_run = open.is_some();
        let action = match (open, firing) {
            (Some(run), firing) => {
                run.joined.push(trigger.joined_at(received_at));
                if firing { Action::Joined } else { Action::Resolved }
            }
            (None, true) => Action::Deduplicated,
            (None, false) => Action::Resolved,
        };
        Decision { action, bundle: Some(bundle), trigger, with_run, follow_up: None }
    }

    fn within_cooldown(&self, keys: &[String], cooldown: Duration, now: Instant) -> Option<String> {
        keys.iter()
            .filter_map(|k| self.keys.get(k))
            .find(|(_, at)| now.saturating_duration_since(*at) < cooldown)
            .map(|(bundle, _)| bundle.clone())
    }

    fn latest(&self, keys: &[String]) -> Option<String> {
        keys.iter()
            .filter_map(|k| self.keys.get(k))
            .max_by_key(|(_, at)| *at)
            .map(|(bundle, _)| bundle.clone())
    }

    /// Records that the incident of `bundle` has the id `fleet_id` across the fleet.
    pub fn set_fleet_id(&mut self, bundle: &str, fleet_id: &str) {
        if bundle != fleet_id {
            self.fleet_ids.insert(bundle.to_owned(), fleet_id.to_owned());
        }
    }

    /// The id the incident of `bundle` has across the fleet: `bundle` itself unless
    /// [`Intake::set_fleet_id`] said otherwise.
    pub fn fleet_id<'a>(&'a self, bundle: &'a str) -> &'a str {
        self.fleet_ids.get(bundle).map_or(bundle, String::as_str)
    }

    fn prune_keys(&mut self, cooldown: Duration, now: Instant) {
        // Amortized: only when the map doubled since the last pruning. Keys of runs still
        // open stay, so their resolved notifications find them.
        if self.keys.len() < 4096 || self.keys.len() < 2 * self.keys_pruned_at {
            return;
        }
        let runs = &self.runs;
        self.keys.retain(|_, (bundle, at)| {
            now.saturating_duration_since(*at) < cooldown.max(REDELIVERY_TTL)
                || runs.contains_key(bundle)
        });
        self.follow_ups.retain(|incident, entry| {
            now.saturating_duration_since(entry.accepted) < cooldown.max(REDELIVERY_TTL)
                || runs.contains_key(&entry.bundle)
                || runs.contains_key(incident)
        });
        let named: std::collections::HashSet<&String> =
            self.keys.values().map(|(b, _)| b).chain(self.follow_ups.keys()).collect();
        self.fleet_ids.retain(|bundle, _| runs.contains_key(bundle) || named.contains(bundle));
        self.keys_pruned_at = self.keys.len();
    }

    fn is_seen(&self, key: &str, now: Instant) -> bool {
        self.seen
            .get(key)
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) < REDELIVERY_TTL)
    }

    fn seen_bundles(&self, key: &str, now: Instant) -> Option<Vec<String>> {
        self.seen
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < REDELIVERY_TTL)
            .map(|(bundles, _)| bundles.clone())
    }

    fn remember(&mut self, key: String, bundles: Vec<String>, now: Instant) {
        while self.seen_order.len() >= REDELIVERY_CAP
            || self
                .seen_order
                .front()
                .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= REDELIVERY_TTL)
        {
            let Some((old, at)) = self.seen_order.pop_front() else { break };
            // Only forget it when it was not refreshed since.
            if self.seen.get(&old).is_some_and(|(_, a)| *a == at) {
                self.seen.remove(&old);
            }
        }
        self.seen_order.push_back((key.clone(), now));
        self.seen.insert(key, (bundles, now));
    }

    /// Undoes the starts of a notification whose journal write failed (runs started and
    /// follow-ups, which are not queued yet).
    pub fn forget(&mut self, bundles: &[String]) {
        let follow_ups: Vec<String> = self.follow_ups.values().map(|e| e.bundle.clone()).collect();
        for bundle in bundles {
            let queued = !follow_ups.contains(bundle);
            if self.runs.remove(bundle).is_some() && queued {
                self.queued -= 1;
            }
        }
        self.keys.retain(|_, (b, _)| !bundles.contains(b));
        self.follow_ups.retain(|_, e| !bundles.contains(&e.bundle));
        self.seen.retain(|_, (b, _)| !b.iter().any(|b| bundles.contains(b)));
    }

    /// A run replayed from the journal after a restart.
    pub fn restore(&mut self, bundle: &str, keys: Vec<String>, now: Instant) {
        for key in keys {
            self.keys.insert(key, (bundle.to_owned(), now));
        }
        self.runs.insert(bundle.to_owned(), ActiveRun::default());
        self.queued += 1;
    }

    /// A run sealed before a restart, accepted at `accepted_at`: its keys point to its
    /// bundle for the rest of the cooldown.
    pub fn remember_sealed(&mut self, bundle: &str, keys: Vec<String>, accepted_at: Instant) {
        for key in keys {
            self.keys.insert(key, (bundle.to_owned(), accepted_at));
        }
    }

    /// A queued run got a slot.
    pub fn started(&mut self) {
        self.queued = self.queued.saturating_sub(1);
        self.running += 1;
    }

    /// The run's trigger is being written: the alerts that joined it so far.
    pub fn close(&mut self, bundle: &str) -> Vec<JoinedAlert> {
        match self.runs.get_mut(bundle) {
            Some(run) => {
                run.closed = true;
                std::mem::take(&mut run.joined)
            }
            None => Vec::new(),
        }
    }

    /// The run is sealed (or failed for good).
    pub fn finished(&mut self, bundle: &str) {
        self.runs.remove(bundle);
        self.running = self.running.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::hooks::{self, Notification};
    use crate::trigger::TriggerSource;

    fn alert(fp: &str, status: &str, starts: &str) -> Trigger {
        let body = format!(
            r#"{{"title":"T","status":"{status}","fingerprint":"{fp}","starts_at":"{starts}"}}"#
        );
        match hooks::generic(
            body.as_bytes(),
            TriggerSource::Generic,
            &crate::redact::Redactor::builtin(),
        )
        .unwrap()
        {
            Notification::Alerts(mut a) => a.remove(0),
            Notification::Ping => unreachable!(),
        }
    }

    const LIMITS: Limits =
        Limits { cooldown: Duration::from_secs(900), queue_size: 2, follow_up: false };

    fn admit(intake: &mut Intake, a: Trigger, now: Instant, n: &mut u32) -> Admitted {
        intake.admit(vec![a], None, LIMITS, now, Utc::now(), &mut || {
            *n += 1;
            format!("b{n}")
        })
    }

    #[test]
    fn cooldown_joins_dedups_and_resolved_never_starts() {
        let mut intake = Intake::default();
        let now = Instant::now();
        let mut n = 0;
        let t1 = "2025-11-19T21:00:00Z";
        let t2 = "2025-11-19T21:05:00Z";
        let d = admit(&mut intake, alert("f", "resolved", "2025-11-19T20:00:00Z"), now, &mut n);
        assert_eq!(
            (d.decisions[0].action, d.decisions[0].bundle.clone()),
            (Action::Resolved, None)
        );
        let d = admit(&mut intake, alert("f", "firing", t1), now, &mut n).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Started, Some("b1")));
        let d = admit(&mut intake, alert("f", "firing", t1), now, &mut n).decisions;
        assert_eq!(d[0].action, Action::Redelivered);
        let d = admit(&mut intake, alert("f", "firing", t2), now, &mut n).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Joined, Some("b1")));
        let d = admit(&mut intake, alert("f", "resolved", t1), now, &mut n).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Resolved, Some("b1")));
        intake.started();
        assert_eq!(intake.close("b1").len(), 2);
        intake.finished("b1");
        let d =
            admit(&mut intake, alert("f", "firing", "2025-11-19T21:07:00Z"), now, &mut n).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Deduplicated, Some("b1")));
        let later = now + Duration::from_secs(901);
        let d = admit(&mut intake, alert("f", "firing", "2025-11-19T21:20:00Z"), later, &mut n)
            .decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Started, Some("b2")));
    }

    /// Issue 22: the body was kept only on `alerts[0]`; when that alert was a resolved one
    /// (senders sort by labels, not status) the run it started had no body at all.
    #[test]
    fn the_body_goes_with_the_run_started_and_once_with_a_run_joined() {
        let mut intake = Intake::default();
        let now = Instant::now();
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("b{n}")
        };
        let body = serde_json::json!({"notification": 1});
        let mut first = alert("old", "resolved", "2025-11-19T20:00:00Z");
        first.raw = Some(body.clone());
        let fire = alert("f", "firing", "2025-11-19T21:00:00Z");
        let d = intake.admit(vec![first, fire], None, LIMITS, now, Utc::now(), &mut new_id);
        assert_eq!(d.decisions[0].trigger.raw, None, "resolved, no run: nothing to keep");
        assert_eq!(d.decisions[1].action, Action::Started);
        assert_eq!(d.decisions[1].trigger.raw.as_ref(), Some(&body));

        let mut again = alert("f", "firing", "2025-11-19T21:01:00Z");
        again.raw = Some(serde_json::json!({"notification": 2}));
        let also = alert("f", "firing", "2025-11-19T21:02:00Z");
        let d = intake.admit(vec![again, also], None, LIMITS, now, Utc::now(), &mut new_id);
        assert_eq!(d.decisions[0].action, Action::Joined);
        let joined = intake.close("b1");
        let raws: Vec<_> = joined.iter().map(|j| j.raw.clone()).collect();
        assert_eq!(raws, [Some(serde_json::json!({"notification": 2})), None]);
    }

    #[test]
    fn a_resolution_starts_one_follow_up_per_incident_until_it_fires_again() {
        let mut intake = Intake::default();
        let now = Instant::now();
        let limits = Limits { follow_up: true, ..LIMITS };
        let mut n = 0;
        let mut admit = |intake: &mut Intake, a: Trigger, received: DateTime<Utc>| {
            intake.admit(vec![a], None, limits, now, received, &mut || {
                n += 1;
                format!("b{n}")
            })
        };
        let received = Utc::now();
        let start = "2025-11-19T21:00:00Z";
        let ended = |fp: &str, minutes: i64| {
            let mut a = alert(fp, "resolved", start);
            a.group_key = Some("g".into());
            a.ends_at = Some(received - chrono::Duration::minutes(minutes));
            a
        };
        let mut firing = alert("f", "firing", start);
        firing.group_key = Some("g".into());
        // Resolved while its run is still queued: the follow-up waits for that run's seal.
        let d = admit(&mut intake, firing.clone(), received).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Started, Some("b1")));
        let d = admit(&mut intake, ended("f", 3), received).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Resolved, Some("b1")));
        let f = d[0].follow_up.clone().unwrap();
        assert_eq!((f.bundle.as_str(), f.started), ("b2", true));
        assert_eq!(
            intake.follow_up_due("b1", "b2"),
            Some((received - chrono::Duration::minutes(3), true))
        );
        assert_eq!(intake.queued, 1, "a waiting follow-up is not queued");
        intake.started();
        intake.close("b1");
        intake.finished("b1");

        // Another alert of the group resolves later: it joins, and the wait moves.
        let d = admit(&mut intake, ended("f2", 1), received).decisions;
        assert_eq!(d[0].follow_up, Some(FollowUpOf { bundle: "b2".into(), started: false }));
        assert_eq!(
            intake.follow_up_due("b1", "b2"),
            Some((received - chrono::Duration::minutes(1), false))
        );
        assert_eq!(intake.waiting_follow_ups(), 1);
        let (resolved_at, resolutions) = intake.queue_follow_up("b1", "b2").unwrap();
        assert_eq!(resolved_at, received - chrono::Duration::minutes(1));
        assert_eq!(resolutions.len(), 2, "every resolution it gathered");
        assert_eq!((intake.queued, intake.waiting_follow_ups()), (1, 0));
        assert_eq!(intake.followed_incidents(), ["b1"], "queued, not sealed: b1 is kept");
        assert_eq!(intake.follow_up_due("b1", "b2"), None);

        // Resolved again inside the cooldown, the incident not fired since: the same one.
        let d = admit(&mut intake, ended("f3", 0), received).decisions;
        assert_eq!(d[0].follow_up, Some(FollowUpOf { bundle: "b2".into(), started: false }));
        // It fires again (into its bundle) and resolves: a new follow-up.
        let mut refire = firing.clone();
        refire.starts_at += chrono::Duration::minutes(20);
        let d = admit(&mut intake, refire, received).decisions;
        assert_eq!((d[0].action, d[0].bundle.as_deref()), (Action::Deduplicated, Some("b1")));
        let d = admit(&mut intake, ended("f4", 0), received).decisions;
        assert_eq!(d[0].follow_up, Some(FollowUpOf { bundle: "b3".into(), started: true }));

        // Off: a resolution is only recorded.
        let mut off = Intake::default();
        let mut m = 0;
        let mut admit_off = |intake: &mut Intake, a: Trigger| {
            intake.admit(vec![a], None, LIMITS, now, received, &mut || {
                m += 1;
                format!("c{m}")
            })
        };
        admit_off(&mut off, firing);
        let d = admit_off(&mut off, ended("f", 0)).decisions;
        assert_eq!((d[0].action, d[0].follow_up.clone()), (Action::Resolved, None));
    }

    #[test]
    fn a_full_queue_refuses_and_the_retry_is_admitted() {
        let mut intake = Intake::default();
        let now = Instant::now();
        let mut n = 0;
        for fp in ["a", "b"] {
            assert_eq!(
                admit(&mut intake, alert(fp, "firing", "2025-11-19T21:00:00Z"), now, &mut n)
                    .refused,
                0
            );
        }
        let refused = admit(&mut intake, alert("c", "firing", "2025-11-19T21:00:00Z"), now, &mut n);
        assert_eq!((refused.refused, refused.decisions.len()), (1, 0));
        intake.started();
        let d =
            admit(&mut intake, alert("c", "firing", "2025-11-19T21:00:00Z"), now, &mut n).decisions;
        assert_eq!(d[0].action, Action::Started);
    }

    #[test]
    fn manual_runs_always_start_and_are_bounded_by_the_queue() {
        let mut intake = Intake::default();
        let now = Instant::now();
        let mut n = 0;
        let manual = || Trigger::manual(Utc::now(), Default::default());
        for _ in 0..2 {
            let d = admit(&mut intake, manual(), now, &mut n);
            assert_eq!((d.decisions[0].action, d.refused), (Action::Started, 0));
        }
        let full = admit(&mut intake, manual(), now, &mut n);
        assert_eq!((full.refused, full.decisions.len()), (1, 0));
    }
}
