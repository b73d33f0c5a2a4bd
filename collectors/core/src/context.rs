//! What a run hands to each collector: the anchor and window in time, the trigger's labels,
//! the deadline and cancellation, a sink for raw artifacts and the run's redactor. [`CollectContext::for_test`] builds one for tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::{Redacted, Redactor};

/// The span of time a run looks at: from `anchor - lookback` to the moment collection
/// starts (or to the anchor plus a margin for a retroactive run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "crate::time::millis")]
    pub start: DateTime<Utc>,
    #[serde(with = "crate::time::millis")]
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end }
    }

    /// The span of the window.
    pub fn span(&self) -> chrono::Duration {
        self.end - self.start
    }

    /// The same span just before this window, to compare against (a baseline).
    pub fn baseline(&self) -> Window {
        Window { start: self.start - self.span(), end: self.start }
    }

    /// Whether `t` lies in `[start, end)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && t < self.end
    }
}

/// What started the run, as collectors see it: mostly its labels, which can name the
/// namespace, deployment, revision or service the alert is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// `manual`, `alertmanager`, `grafana`, `pagerduty`, `generic`.
    pub source: String,
    /// The alert name (or `collect now`).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The alert's link to the rule that fired it (Alertmanager's and Grafana's
    /// `generatorURL`), redacted: a Prometheus link carries the rule's expression
    /// (`/graph?g0.expr=...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_url: Option<String>,
}

/// A raw artifact a collector keeps beside its evidence: a log excerpt, query results, API
/// objects. Written under `evidence/<kind>-<name>/<path>` after redaction.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Relative path under the instance's artifact folder; plain names, `/` separated.
    pub path: String,
    pub contents: Vec<u8>,
}

/// Where a collector puts its raw artifacts. Shared with the orchestrator, so what a
/// collector stored before it timed out still reaches the bundle.
#[derive(Debug, Clone, Default)]
pub struct ArtifactSink {
    inner: Arc<Mutex<Vec<Artifact>>>,
}

impl ArtifactSink {
    /// Keeps `contents` as the artifact `path`, replacing an earlier one of that path.
    pub fn put(&self, path: impl Into<String>, contents: impl Into<Vec<u8>>) {
        let path = path.into();
        let mut artifacts = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        artifacts.retain(|a| a.path != path);
        artifacts.push(Artifact { path, contents: contents.into() });
    }

    /// Keeps `value` as pretty JSON under `path`.
    pub fn put_json(&self, path: impl Into<String>, value: &impl Serialize) {
        let contents = serde_json::to_vec_pretty(value).unwrap_or_else(|e| {
            format!("{{\"error\": \"artifact could not be serialized: {e}\"}}").into_bytes()
        });
        self.put(path, contents);
    }

    /// Takes every artifact stored so far, in the order they were stored.
    pub fn take(&self) -> Vec<Artifact> {
        std::mem::take(&mut *self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Everything one collector gets for one run.
#[derive(Debug, Clone)]
pub struct CollectContext {
    /// The alert's `startsAt`, or now for `collect now`.
    pub anchor: DateTime<Utc>,
    /// The span of time to look at.
    pub window: Window,
    /// What started the run.
    pub trigger: Trigger,
    /// When this collector's time is up; the orchestrator stops it there.
    pub deadline: Instant,
    /// Cancelled when the run is abandoned (shutdown, a second Ctrl-C).
    pub cancel: CancellationToken,
    /// Where raw artifacts go.
    pub artifacts: ArtifactSink,
    /// The run's redactor, with counts of this collector's own. Every text read from the
    /// world (a log line, a body, a header, query text, a commit subject) goes through it
    /// where it is read, before it is parsed, cut or normalised; secrets the collector reads
    /// itself (a DSN's password) are added to it as literals ([`crate::SecretRef::read`]).
    pub redactor: Redactor,
}

impl CollectContext {
    /// A context for tests: anchor now, a 30-minute window ending now, a 20 s deadline.
    pub fn for_test() -> Self {
        let anchor = Utc::now();
        Self::for_test_at(anchor, Window::new(anchor - chrono::Duration::minutes(30), anchor))
    }

    /// A context for tests with the given anchor and window and a 20 s deadline.
    pub fn for_test_at(anchor: DateTime<Utc>, window: Window) -> Self {
        Self {
            anchor,
            window,
            trigger: Trigger { source: "manual".into(), name: "test".into(), ..Trigger::default() },
            deadline: Instant::now() + Duration::from_secs(20),
            cancel: CancellationToken::new(),
            artifacts: ArtifactSink::default(),
            redactor: Redactor::builtin(),
        }
    }

    /// Time left before the deadline (zero when it has passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether the collector should stop: the deadline passed or the run was cancelled.
    pub fn should_stop(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }

    /// `text` redacted: the first thing done to any text read from the world.
    pub fn redact(&self, text: &str) -> Redacted {
        self.redactor.redact(text)
    }

    /// A trigger label, when the alert carries it.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.trigger.labels.get(key).map(String::as_str)
    }
}
