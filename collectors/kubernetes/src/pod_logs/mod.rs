//! The logs of a Deployment's pods, read over the API (`get` on `pods/log`) and sent
//! through the same analysis as the `logs` kind's files (`witness-log-analysis`): error
//! records, per-minute rates, signatures new against the baseline, the first new error,
//! excerpts — per pod, per revision and merged for the Deployment.
//!
//! Which logs: [`plan`]. How one is read, with its caps: [`fetch`]. Each container
//! instance's log is read in two requests, the window first (`sinceTime` = its start) and
//! then, with what its `pod_log_max_bytes` left, the baseline (stopping where the window
//! begins), so a chatty container still shows its window; a crashed instance whose log was
//! cut before its end is read once more from its tail, since the crash output is what
//! matters. At most `pod_log_concurrency` logs are read at once, `pod_log_max_total_bytes`
//! in all; reading stops a little before the collector's deadline so that what was read
//! is still turned into evidence. What was cut or left out is said in the evidence.
//!
//! What it means: [`report`], with the crash output of crashed instances ([`crash`]). Pods
//! of the current revision are compared with those of the older revisions a rollout left
//! running ([`compare`]): errors only on the new revision's pods speak for a bad deploy,
//! the same errors on both revisions do not.

pub mod compare;
pub mod crash;
pub mod fetch;
pub mod plan;
pub mod report;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use tokio::time::Instant;
use witness_collector::Window;

use crate::api::{Cluster, KubernetesError};
use fetch::{LogAnswer, LogBody, LogRequest};
use plan::{Instance, Stream};

pub use report::PodLogsReport;

/// Lines of a crashed instance read from its end when its log was cut before it.
const CRASH_TAIL_LINES: i64 = 100;
/// Bytes asked for with those lines.
const CRASH_TAIL_BYTES: u64 = 64 * 1024;

/// The bytes of pod logs a run may still read (`pod_log_max_total_bytes`).
#[derive(Debug)]
pub struct Budget {
    left: Mutex<u64>,
    /// Whether a read was refused or cut by it.
    pub spent: AtomicBool,
}

impl Budget {
    pub fn new(total: u64) -> Self {
        Self { left: Mutex::new(total), spent: AtomicBool::new(false) }
    }

    /// Takes up to `want` bytes.
    fn take(&self, want: u64) -> u64 {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        let got = want.min(*left);
        *left -= got;
        if got < want {
            self.spent.store(true, Ordering::Relaxed);
        }
        got
    }

    /// Returns what a read did not use.
    fn give_back(&self, unused: u64) {
        *self.left.lock().unwrap_or_else(|e| e.into_inner()) += unused;
    }
}

/// What stays the same for every log read in a run.
pub struct Reader<'a> {
    pub cluster: &'a Cluster,
    pub window: Window,
    pub max_bytes: u64,
    pub concurrency: usize,
    pub budget: &'a Budget,
    /// Reads start no later than this and are abandoned at it, so that what was read is
    /// still turned into evidence before the collector's deadline.
    pub stop_at: Instant,
}

/// Why a log was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The collector's deadline was near: what was read is turned into evidence instead.
    Deadline,
    /// `pod_log_max_total_bytes` was reached.
    Budget,
    /// An earlier read failed so that this one would too (a 403, a server gone).
    Doomed,
}

impl Skipped {
    pub fn reason(self) -> &'static str {
        match self {
            Skipped::Deadline => "not read: the collector's deadline was near",
            Skipped::Budget => "not read: pod_log_max_total_bytes was reached",
            Skipped::Doomed => "not read: an earlier read of the pod logs failed",
        }
    }
}

/// What reading one container instance's log gave.
#[derive(Debug)]
pub struct Fetched {
    pub stream: Stream,
    /// The window's lines, then the baseline's, when read.
    pub window: Option<LogBody>,
    pub baseline: Option<LogBody>,
    /// The last lines of a crashed instance whose window read was cut.
    pub tail: Option<LogBody>,
    /// Why the baseline was not read, when it was not.
    pub baseline_note: Option<String>,
    /// The kubelet's word that there is no such log.
    pub absent: Option<String>,
    /// Why it was not read at all (a cap, the deadline), when it was not.
    pub skipped: Option<Skipped>,
    /// A failed call, for the run's record.
    pub error: Option<KubernetesError>,
}

impl Fetched {
    fn new(stream: Stream) -> Self {
        Self {
            stream,
            window: None,
            baseline: None,
            tail: None,
            baseline_note: None,
            absent: None,
            skipped: None,
            error: None,
        }
    }

    /// Bytes read from the API.
    pub fn bytes(&self) -> u64 {
        [&self.window, &self.baseline, &self.tail]
            .into_iter()
            .flatten()
            .map(|b| b.bytes.len() as u64)
            .sum()
    }
}

impl Reader<'_> {
    /// Reads every stream, at most `concurrency` at once. The first is read alone: when it
    /// fails in a way that dooms the others (a 403, a server that stopped answering), no
    /// other is asked for; nor is any once a later read fails so.
    pub async fn read_all(&self, namespace: &str, streams: Vec<Stream>) -> Vec<Fetched> {
        let doomed = AtomicBool::new(false);
        let doomed = &doomed;
        let read = |stream: Stream| async move {
            if doomed.load(Ordering::Relaxed) {
                let mut fetched = Fetched::new(stream);
                fetched.skipped = Some(Skipped::Doomed);
                return fetched;
            }
            let fetched = self.read_one(namespace, stream).await;
            if fetched
                .error
                .as_ref()
                .is_some_and(|e| e.is_fatal() || matches!(e, KubernetesError::Forbidden { .. }))
            {
                doomed.store(true, Ordering::Relaxed);
            }
            fetched
        };
        let mut streams = streams.into_iter();
        let Some(first) = streams.next() else { return Vec::new() };
        let mut all = vec![read(first).await];
        all.extend(
            futures::stream::iter(streams)
                .map(read)
                .buffered(self.concurrency.max(1))
                .collect::<Vec<_>>()
                .await,
        );
        all
    }

    async fn read_one(&self, namespace: &str, stream: Stream) -> Fetched {
        let (pod, container) = (stream.pod.clone(), stream.container.clone());
        let (previous, has_baseline) = (stream.instance == Instance::Previous, stream.baseline);
        let mut fetched = Fetched::new(stream);
        let request = |since, until, limit_bytes, tail_lines| LogRequest {
            namespace,
            pod: &pod,
            container: &container,
            previous,
            since,
            until,
            limit_bytes,
            tail_lines,
        };
        // Lines a second past the window's end are newer than the run.
        let until = self.window.end + Duration::seconds(1);
        let window = match self.budgeted(self.max_bytes, |limit| {
            request(self.window.start, until, limit, None)
        }) {
            Budgeted::Read(read) => read.await,
            Budgeted::Refused(why) => {
                fetched.skipped = Some(why);
                return fetched;
            }
        };
        match window {
            Err(e) => {
                fetched.error = Some(e);
                return fetched;
            }
            Ok(Err(why)) => {
                fetched.skipped = Some(why);
                return fetched;
            }
            Ok(Ok(LogAnswer::Absent(message))) => {
                fetched.absent = Some(message);
                return fetched;
            }
            Ok(Ok(LogAnswer::Body(body))) => fetched.window = Some(body),
        }
        let window_body = fetched.window.as_ref().map_or(0, |b| b.bytes.len() as u64);
        let cut = fetched.window.as_ref().is_some_and(|b| b.cut);
        if previous && cut {
            let tail = self.budgeted(CRASH_TAIL_BYTES, |limit| {
                request(self.window.start, until, limit, Some(CRASH_TAIL_LINES))
            });
            if let Budgeted::Read(read) = tail
                && let Ok(Ok(LogAnswer::Body(body))) = read.await
            {
                fetched.tail = Some(body);
            }
        }
        let left = self.max_bytes.saturating_sub(window_body);
        fetched.baseline_note = if !has_baseline {
            Some("started in the window: no baseline".into())
        } else if cut || left == 0 {
            Some("not read: the window used pod_log_max_bytes".into())
        } else {
            match self.budgeted(left, |limit| {
                request(self.window.baseline().start, self.window.start, limit, None)
            }) {
                Budgeted::Refused(why) => Some(why.reason().to_owned()),
                Budgeted::Read(read) => match read.await {
                    Ok(Ok(LogAnswer::Body(body))) => {
                        let note = body.cut.then(|| {
                            format!(
                                "cut at {} bytes (pod_log_max_bytes): the baseline's later lines were not read",
                                body.bytes.len() + body.partial_dropped
                            )
                        });
                        fetched.baseline = Some(body);
                        note
                    }
                    Ok(Ok(LogAnswer::Absent(message))) => Some(message),
                    Ok(Err(why)) => Some(why.reason().to_owned()),
                    Err(e) => {
                        let note = format!("not read: {e}");
                        fetched.error = Some(e);
                        Some(note)
                    }
                },
            }
        };
        fetched
    }

    /// A read of at most `want` bytes of the run's budget, abandoned at `stop_at`.
    fn budgeted<'r>(
        &'r self,
        want: u64,
        request: impl FnOnce(u64) -> LogRequest<'r>,
    ) -> Budgeted<impl Future<Output = ReadResult> + 'r> {
        if Instant::now() >= self.stop_at {
            return Budgeted::Refused(Skipped::Deadline);
        }
        let limit = self.budget.take(want);
        if limit == 0 {
            return Budgeted::Refused(Skipped::Budget);
        }
        let request = request(limit);
        Budgeted::Read(async move {
            let answer =
                tokio::time::timeout_at(self.stop_at, fetch::read(self.cluster, &request)).await;
            let used = match &answer {
                Ok(Ok(LogAnswer::Body(body))) => (body.bytes.len() + body.partial_dropped) as u64,
                _ => 0,
            };
            self.budget.give_back(limit.saturating_sub(used));
            match answer {
                Err(_) => Ok(Err(Skipped::Deadline)),
                Ok(Err(e)) => Err(e),
                Ok(Ok(answer)) => Ok(Ok(answer)),
            }
        })
    }
}

/// A read's answer; `Ok(Err(why))` when it was abandoned at the deadline.
type ReadResult = Result<Result<LogAnswer, Skipped>, KubernetesError>;

enum Budgeted<F> {
    Read(F),
    Refused(Skipped),
}

/// The time a stream's lines reach back to, for the baseline's coverage: when the
/// instance started, or its first line; `None` when its baseline was not read whole.
pub fn earliest(fetched: &Fetched, first_line: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match &fetched.baseline {
        Some(b) if !b.cut => match fetched.stream.started {
            Some(started) => Some(first_line.map_or(started, |f| f.min(started))),
            None => first_line,
        },
        _ => None,
    }
}
