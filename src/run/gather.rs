//! Gathering, the first step of a run: every planned collector runs concurrently, each in
//! its own task under its own deadline and the run's cancellation. A collector that
//! errors, times out or panics is recorded with that status and the reason, and the others
//! go on; gathering never waits past the longest deadline. [`gather`] is the one way in:
//! correlation, which may run a second plan, calls it too.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use witness_collector::{
    Artifact, ArtifactSink, CollectContext, Evidence, Redactor, Status, Window,
};

use super::plan::{Planned, PlannedCollector};
use crate::bundle::layout::CollectorRecord;

/// A collector's record and the raw artifacts it stored.
pub struct CollectorOutcome {
    pub record: CollectorRecord,
    pub artifacts: Vec<Artifact>,
}

/// What gathering tells the user interface as collectors start and finish.
pub trait Progress: Send + Sync {
    fn started(&self, kind: &str, name: &str);
    fn finished(&self, record: &CollectorRecord);
}

/// A [`Progress`] that shows nothing (the daemon, tests).
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _: &str, _: &str) {}
    fn finished(&self, _: &CollectorRecord) {}
}

/// The time and trigger a run gathers for, and the run's redactor.
#[derive(Clone)]
pub struct Scope {
    pub anchor: DateTime<Utc>,
    pub window: Window,
    pub trigger: witness_collector::Trigger,
    pub redactor: Redactor,
}

/// Reads every secret the planned collectors will read into the run's redactor, before
/// any of them starts: a DSN's password must be known when another collector reads a log
/// line that quotes it. A secret that cannot be read is the collector's own failure to
/// report; it is passed over here.
pub fn register_secrets(plan: &[PlannedCollector], redactor: &Redactor) {
    for planned in plan {
        if let Planned::Run(collector) = &planned.action {
            for secret in collector.secrets() {
                let _ = secret.read(redactor);
            }
        }
    }
}

/// Runs every planned collector concurrently and returns their outcomes in plan order.
/// Returns when every collector finished, hit its deadline or the run was cancelled.
pub async fn gather(
    plan: Vec<PlannedCollector>,
    scope: &Scope,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> Vec<CollectorOutcome> {
    let runs = plan.into_iter().map(|planned| collect_one(planned, scope, cancel, progress));
    join_all(runs).await
}

async fn collect_one(
    planned: PlannedCollector,
    scope: &Scope,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) -> CollectorOutcome {
    let started_at = Utc::now();
    let started = Instant::now();
    // This collector's own counts: the manifest says where each redaction was made.
    let redactor = scope.redactor.scope();
    let finish = |evidence: Evidence, error: Option<String>, artifacts: Vec<Artifact>| {
        // Behind the collector's own redaction where it read the text: whatever it
        // returns, the error that ended it included, is redacted before anything reads it.
        let evidence = evidence.redacted(&redactor);
        let error = error.map(|e| redactor.redact(&e).into_string());
        let record = CollectorRecord {
            kind: planned.kind.to_owned(),
            name: planned.name.clone(),
            started_at,
            finished_at: Utc::now(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error,
            redactions: redactor.counts(),
            evidence,
        };
        progress.finished(&record);
        CollectorOutcome { record, artifacts }
    };

    let collector = match &planned.action {
        Planned::Run(collector) => Arc::clone(collector),
        Planned::Skip(reason) => {
            return finish(Evidence::skipped(reason.clone()), Some(reason.clone()), Vec::new());
        }
        Planned::BuildFailed(reason) => {
            return finish(failed(reason), Some(reason.clone()), Vec::new());
        }
    };
    progress.started(planned.kind, &planned.name);

    let ctx = CollectContext {
        anchor: scope.anchor,
        window: scope.window,
        trigger: scope.trigger.clone(),
        deadline: started + planned.timeout,
        cancel: cancel.child_token(),
        artifacts: ArtifactSink::default(),
        redactor: redactor.clone(),
    };
    let sink = ctx.artifacts.clone();
    let task_ctx = ctx.clone();
    // Its own task, so that a panic is caught as a JoinError instead of ending the run.
    let mut task = tokio::spawn(async move { collector.collect(&task_ctx).await });

    let result = tokio::select! {
        joined = &mut task => Some(joined),
        () = tokio::time::sleep_until(ctx.deadline) => None,
        () = cancel.cancelled() => {
            task.abort();
            ctx.cancel.cancel();
            let reason = "the run was cancelled before this collector finished".to_owned();
            return finish(failed(&reason), Some(reason), sink.take());
        }
    };
    match result {
        Some(Ok(Ok(evidence))) => {
            let error = (!evidence.status.has_evidence() && evidence.status != Status::Skipped)
                .then(|| evidence.summary.clone());
            finish(evidence, error, sink.take())
        }
        Some(Ok(Err(e))) => {
            let reason = e.to_string();
            finish(failed(&reason), Some(reason), sink.take())
        }
        Some(Err(join_error)) => {
            let reason = if join_error.is_panic() {
                format!("the collector crashed: {}", panic_message(join_error.into_panic()))
            } else {
                "the collector task was stopped".to_owned()
            };
            finish(failed(&reason), Some(reason), sink.take())
        }
        None => {
            // Tell the collector to stop, then stop waiting for it.
            ctx.cancel.cancel();
            task.abort();
            let reason = format!("did not finish within its deadline of {:?}", planned.timeout);
            let mut evidence = Evidence::ok(reason.clone());
            evidence.status = Status::TimedOut;
            finish(evidence, Some(reason), sink.take())
        }
    }
}

fn failed(reason: &str) -> Evidence {
    let mut evidence = Evidence::ok(reason);
    evidence.status = Status::Failed;
    evidence
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use async_trait::async_trait;
    use witness_collector::CollectError;
    use witness_collector::Collector;

    /// A collector for tests: sleeps, then does what it was told.
    struct Scripted {
        sleep: Duration,
        outcome: fn() -> Result<Evidence, CollectError>,
    }

    #[async_trait]
    impl Collector for Scripted {
        async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
            ctx.artifacts.put("before-sleep.txt", "kept even on timeout");
            tokio::time::sleep(self.sleep).await;
            (self.outcome)()
        }
    }

    fn planned(
        name: &str,
        sleep_ms: u64,
        timeout_ms: u64,
        outcome: fn() -> Result<Evidence, CollectError>,
    ) -> PlannedCollector {
        PlannedCollector {
            kind: "test",
            name: name.into(),
            timeout: Duration::from_millis(timeout_ms),
            action: Planned::Run(Arc::new(Scripted {
                sleep: Duration::from_millis(sleep_ms),
                outcome,
            })),
        }
    }

    fn scope() -> Scope {
        let now = Utc::now();
        Scope {
            anchor: now,
            window: Window::new(now - chrono::Duration::minutes(30), now),
            trigger: witness_collector::Trigger::default(),
            redactor: Redactor::builtin(),
        }
    }

    #[tokio::test]
    async fn every_way_of_ending_is_recorded_and_the_run_goes_on() {
        let plan = vec![
            planned("fine", 0, 5_000, || Ok(Evidence::ok("all good").fact("test.x", 1))),
            planned("slow", 60_000, 300, || Ok(Evidence::ok("never"))),
            planned("broken", 0, 5_000, || Err(CollectError::other("connection refused"))),
            planned("panics", 0, 5_000, || panic!("index out of bounds")),
            PlannedCollector {
                kind: "test",
                name: "unbuildable".into(),
                timeout: Duration::from_secs(1),
                action: Planned::BuildFailed("regex too large".into()),
            },
        ];
        let started = std::time::Instant::now();
        let outcomes = gather(plan, &scope(), &CancellationToken::new(), &Silent).await;
        assert!(
            // The slow one sleeps a minute: far past this, even on a loaded machine.
            started.elapsed() < Duration::from_secs(20),
            "the run waited for the slow collector"
        );
        let status: Vec<_> =
            outcomes.iter().map(|o| (o.record.name.as_str(), o.record.status())).collect();
        assert_eq!(
            status,
            vec![
                ("fine", Status::Ok),
                ("slow", Status::TimedOut),
                ("broken", Status::Failed),
                ("panics", Status::Failed),
                ("unbuildable", Status::Failed)
            ]
        );
        assert_eq!(
            outcomes[1].record.error.as_deref(),
            Some("did not finish within its deadline of 300ms")
        );
        assert_eq!(outcomes[1].artifacts.len(), 1, "artifacts stored before the timeout are kept");
        assert_eq!(outcomes[2].record.error.as_deref(), Some("connection refused"));
        assert!(outcomes[3].record.error.as_deref().unwrap().contains("index out of bounds"));
        assert_eq!(outcomes[0].record.evidence.facts["test.x"], 1.into());
    }

    #[tokio::test]
    async fn cancelling_the_run_stops_waiting() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            trigger.cancel();
        });
        let outcomes = gather(
            vec![planned("slow", 60_000, 60_000, || Ok(Evidence::ok("x")))],
            &scope(),
            &cancel,
            &Silent,
        )
        .await;
        assert_eq!(outcomes[0].record.status(), Status::Failed);
        assert!(outcomes[0].record.error.as_deref().unwrap().contains("cancelled"));
    }
}
