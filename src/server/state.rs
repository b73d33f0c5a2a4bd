//! What the handlers, the worker and the config reload share while serving: the
//! configuration in force ([`Live`], replaced whole on a reload), the intake's memory, the
//! journal, the metrics, the queue of accepted runs (and of follow-ups once their window
//! has passed), the flight recorder, the per-source rate limits, and the draining flag and
//! tokens of the shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::auth::Auth;
use super::intake::Intake;
use super::journal::Journal;
use super::metrics::Metrics;
use super::recorder::Recorder;
use crate::config::WitnessConfig;
use crate::redact::Redactor;
use crate::trigger::{JoinedAlert, Trigger};

/// The configuration in force; replaced whole on a successful reload.
pub struct Live {
    pub config: Arc<WitnessConfig>,
    pub auth: Auth,
    /// The rules and signing key `config` names, loaded and checked.
    pub prepared: crate::run::Prepared,
    /// What every alert's text passes through where it is parsed: `prepared`'s redactor
    /// with the store's token key ([`super::redaction`]). witness's log lines pass
    /// through it too.
    pub intake: Redactor,
}

impl Live {
    /// `config` in force, its alerts redacted with the store's token `key`.
    pub fn new(
        config: Arc<WitnessConfig>,
        auth: Auth,
        prepared: crate::run::Prepared,
        key: [u8; 32],
    ) -> Self {
        let intake = super::redaction::intake_redactor(&prepared, key);
        Self { config, auth, prepared, intake }
    }
}

/// A run accepted and journaled, waiting on the queue for a slot of the worker.
pub struct QueuedRun {
    pub bundle: String,
    /// What started it; of a follow-up, its first resolution.
    pub trigger: Trigger,
    /// A follow-up of a resolved incident, its window passed.
    pub follow_up: Option<FollowUpJob>,
}

/// A follow-up on the queue: the incident bundle it checks, when it resolved, and the
/// resolutions it gathered while it waited.
pub struct FollowUpJob {
    pub incident: String,
    pub resolved_at: DateTime<Utc>,
    pub resolutions: Vec<JoinedAlert>,
}

/// Everything the handlers, the worker and the reload share.
pub struct Shared {
    live: RwLock<Arc<Live>>,
    pub intake: Mutex<Intake>,
    pub journal: Journal,
    pub metrics: Metrics,
    /// Set by the shutdown: hooks answer `503`, `/readyz` fails.
    pub draining: AtomicBool,
    /// The queue the worker takes accepted runs from.
    pub queue_tx: mpsc::UnboundedSender<QueuedRun>,
    pub recorder: Option<Recorder>,
    limiter: Mutex<HashMap<&'static str, Bucket>>,
    /// When each (source, cause) of refusal was last logged, and how many went unlogged.
    refusals: Mutex<HashMap<RefusalKey, (Instant, u64)>>,
    /// Cancelled when the grace period is over: running collectors stop and what they
    /// found is sealed.
    pub runs_cancel: CancellationToken,
    pub runs: TaskTracker,
    /// Cancelled when the shutdown begins: follow-ups stop waiting for their window (they
    /// are in the journal and wait again after the restart).
    pub follow_ups_stop: CancellationToken,
    /// The store's token key for alert text, kept across reloads (and restarts).
    pub redaction_key: [u8; 32],
    /// The object store, claims and spool shared with other replicas (`[store] url`).
    /// Fixed at start: a reload that changes `[store] url` or `[fleet]` takes effect on
    /// the next restart.
    pub fleet: Option<Arc<super::fleet::Fleet>>,
}

impl Shared {
    /// The state of a server starting with `live` in force.
    pub fn new(
        live: Live,
        journal: Journal,
        recorder: Option<Recorder>,
        queue_tx: mpsc::UnboundedSender<QueuedRun>,
        redaction_key: [u8; 32],
        fleet: Option<Arc<super::fleet::Fleet>>,
    ) -> Self {
        crate::logging::set_redactor(&live.intake);
        Self {
            live: RwLock::new(Arc::new(live)),
            intake: Mutex::new(Intake::default()),
            journal,
            metrics: Metrics::default(),
            draining: AtomicBool::new(false),
            queue_tx,
            recorder,
            limiter: Mutex::new(HashMap::new()),
            refusals: Mutex::new(HashMap::new()),
            runs_cancel: CancellationToken::new(),
            runs: TaskTracker::new(),
            follow_ups_stop: CancellationToken::new(),
            redaction_key,
            fleet,
        }
    }

    /// The configuration in force now.
    pub fn live(&self) -> Arc<Live> {
        Arc::clone(&self.live.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Puts `live` in force (a reload): its runs, its intake, the flight recorder and
    /// witness's log lines redact with its rules and literals from now on.
    pub fn replace_live(&self, live: Live) {
        crate::logging::set_redactor(&live.intake);
        if let Some(recorder) = &self.recorder {
            recorder.set_redactor(&live.intake);
        }
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

    /// Counts `n` alerts from `source` refused for `cause` (the `outcome` label) and logs
    /// the refusal with its reason: at most one line per source and cause every
    /// [`REFUSAL_LOG_EVERY`], saying how many were refused since, so that a storm does not
    /// flood the log.
    pub fn refused(&self, source: &'static str, cause: &'static str, n: u64, reason: &str) {
        self.metrics.alerts_n(source, cause, n);
        let now = Instant::now();
        let mut logged = self.refusals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = logged.entry((source, cause)).or_insert((now - REFUSAL_LOG_EVERY, 0));
        entry.1 += n;
        if now.duration_since(entry.0) >= REFUSAL_LOG_EVERY {
            tracing::warn!(source, cause, refused = entry.1, reason, "Refused a request.");
            *entry = (now, 0);
        }
    }

    /// Refreshes the gauges that mirror the intake.
    pub fn update_gauges(&self) {
        let intake = self.intake();
        self.metrics.queue_depth.set(intake.queued as i64);
        self.metrics.running.set(intake.running as i64);
        self.metrics.journal_lag.set(intake.unsealed() as i64);
        self.metrics.follow_ups_waiting.set(intake.waiting_follow_ups() as i64);
        drop(intake);
        if let Some(fleet) = &self.fleet {
            fleet.update_gauges(&self.metrics);
        }
    }
}

/// (source, cause) of a refusal.
type RefusalKey = (&'static str, &'static str);

/// The least time between two log lines about the same source and cause of refusal.
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// A token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}
