//! What the collector concludes about one Deployment from the objects it read: the
//! per-deployment section of `data`, its timeline events, and the facts (published for the
//! most relevant Deployment of the run; see [`relevance`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use witness_collector::{CollectContext, Event, FactValue, Facts, Severity};

use crate::commands::SuggestedCommand;
use crate::events::Selected;
use crate::history::{History, image_changes};
use crate::hpa::HpaSummary;
use crate::pod_logs::PodLogsReport;
use crate::pods::PodSummary;
use crate::state::RolloutState;

/// Totals over every pod of the Deployment (before the `max_pods` cap).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PodTotals {
    pub total: usize,
    pub ready: usize,
    pub restarts_in_window: i64,
    /// False when some restarts' times are unknown: then the count is a lower bound.
    pub restarts_in_window_exact: bool,
    pub oom_kills_in_window: i64,
    pub crashloop_pods: usize,
    /// Waiting reason to number of containers waiting on it.
    pub waiting_reasons: BTreeMap<String, usize>,
}

impl PodTotals {
    pub fn of(pods: &[PodSummary]) -> Self {
        let mut totals =
            PodTotals { total: pods.len(), restarts_in_window_exact: true, ..Self::default() };
        for pod in pods {
            totals.ready += usize::from(pod.ready);
            totals.restarts_in_window += pod.restarts_in_window;
            totals.restarts_in_window_exact &= pod.restarts_in_window_exact;
            totals.oom_kills_in_window += pod.oom_kills_in_window;
            totals.crashloop_pods += usize::from(pod.is_crashlooping());
            for reason in pod.waiting_reasons() {
                *totals.waiting_reasons.entry(reason.to_owned()).or_default() += 1;
            }
        }
        totals
    }
}

/// The pods section: totals, and the pods kept (problem pods first).
#[derive(Debug, Clone, Serialize)]
pub struct PodsReport {
    pub totals: PodTotals,
    pub pods: Vec<PodSummary>,
}

/// Everything read about one Deployment. A section is `None` when it could not be read
/// (the notes say why), which is different from read and empty.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentReport {
    pub namespace: String,
    pub name: String,
    pub selected_by: String,
    pub state: RolloutState,
    pub history: Option<History>,
    pub pods: Option<PodsReport>,
    pub events: Option<Selected>,
    /// Whether the HPAs of the namespace could be listed; `hpa` is meaningful only then.
    pub hpa_listed: bool,
    pub hpa: Option<HpaSummary>,
    pub suggested_commands: Vec<SuggestedCommand>,
    /// The pods' logs (`null` when `pod_logs = false` or the pods were not listed).
    pub pod_logs: Option<PodLogsReport>,
    #[serde(skip)]
    pub from_alert: bool,
}

impl DeploymentReport {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The newest rollout: the current revision's rollout time.
    pub fn newest_rollout(&self) -> Option<DateTime<Utc>> {
        self.history.as_ref()?.current()?.rolled_out_at
    }

    fn hpa_at_max(&self) -> Option<bool> {
        self.hpa_listed.then(|| self.hpa.as_ref().is_some_and(|h| h.at_max))
    }

    /// Whether the current revision's images differ from the previous revision's.
    fn images_changed(&self) -> Option<bool> {
        let history = self.history.as_ref()?;
        Some(history.current()?.images != history.previous()?.images)
    }
}

/// How much a Deployment explains the alert, to choose the one the facts describe: named
/// by the alert first; then trouble (rollout stuck 4, unavailable replicas, crash loops and
/// OOM kills 2 each, restarts and HPA at max 1 each, a rollout within the margin before
/// the anchor or after it 3); then the newest rollout.
pub fn relevance(
    report: &DeploymentReport,
    ctx: &CollectContext,
    margin: Duration,
) -> (bool, u32, Option<DateTime<Utc>>) {
    let mut score = 0;
    score += if report.state.stuck { 4 } else { 0 };
    score += if report.state.unavailable_replicas > 0 { 2 } else { 0 };
    if let Some(pods) = &report.pods {
        score += if pods.totals.crashloop_pods > 0 { 2 } else { 0 };
        score += if pods.totals.oom_kills_in_window > 0 { 2 } else { 0 };
        score += if pods.totals.restarts_in_window > 0 { 1 } else { 0 };
    }
    score += u32::from(report.hpa_at_max() == Some(true));
    let only_new = report.pod_logs.as_ref().and_then(|l| l.comparison.as_ref());
    score += if only_new.is_some_and(|c| !c.only_on_current.is_empty()) { 2 } else { 0 };
    let rollout = report.newest_rollout();
    if rollout.is_some_and(|t| t >= ctx.window.start - margin && t <= ctx.window.end) {
        score += 3;
    }
    (report.from_alert, score, rollout)
}

/// The facts about `report` (see the crate docs and FACTS.md for each).
pub fn facts(report: &DeploymentReport, ctx: &CollectContext, deployments_read: usize) -> Facts {
    let mut facts = Facts::new();
    let mut put = |name: &str, value: FactValue| {
        facts.insert(format!("kubernetes.{name}"), value);
    };
    put("deployment", report.name.clone().into());
    put("namespace", report.namespace.clone().into());
    put("deployments_read", deployments_read.into());
    put("replicas", report.state.spec_replicas.into());
    put("available_replicas", report.state.available_replicas.into());
    put("unavailable_replicas", report.state.unavailable_replicas.into());
    put("rollout_stuck", report.state.stuck.into());
    put("rollout_complete", report.state.complete.into());
    if let Some(history) = &report.history {
        if let Some(current) = history.current() {
            put("current_revision", current.revision.into());
            put("current_images", current.images.values().cloned().collect::<Vec<_>>().into());
            if let Some(t) = current.rolled_out_at {
                let minutes = (ctx.anchor - t).num_milliseconds() as f64 / 60_000.0;
                put("minutes_since_rollout", ((minutes * 10.0).round() / 10.0).into());
            }
        }
        if let Some(previous) = history.previous_revision {
            put("previous_revision", previous.into());
        }
    }
    if let Some(changed) = report.images_changed() {
        put("images_changed", changed.into());
    }
    if let Some(pods) = &report.pods {
        put("restarts_in_window", pods.totals.restarts_in_window.into());
        put("oom_kills_in_window", pods.totals.oom_kills_in_window.into());
        put("crashloop_pods", pods.totals.crashloop_pods.into());
        put("not_ready_pods", (pods.totals.total - pods.totals.ready).into());
    }
    if let Some(events) = &report.events {
        put("warning_events", events.warnings.into());
    }
    if let Some(at_max) = report.hpa_at_max() {
        put("hpa_at_max", at_max.into());
    }
    if let Some(hpa) = &report.hpa {
        put("hpa_max_replicas", hpa.max_replicas.into());
        if let Some(desired) = hpa.desired_replicas {
            put("hpa_desired_replicas", desired.into());
        }
        if let Some(current) = hpa.current_replicas {
            put("hpa_current_replicas", current.into());
        }
    }
    if let Some(logs) = &report.pod_logs {
        for (name, value) in &logs.facts {
            put(name, value.clone());
        }
    }
    facts
}

/// The timeline events of the Deployment at `/data/deployments/{index}`.
pub fn timeline(
    report: &DeploymentReport,
    index: usize,
    ctx: &CollectContext,
    margin: Duration,
) -> Vec<Event> {
    let key = report.key();
    let base = format!("/data/deployments/{index}");
    let artifact = format!("{key}/deployment.json");
    let mut events = Vec::new();

    if let Some(history) = &report.history {
        for (i, revision) in history.revisions.iter().enumerate() {
            let Some(time) = revision.rolled_out_at else { continue };
            if time < ctx.window.start - margin || time > ctx.window.end {
                continue;
            }
            let changes = history
                .predecessor(revision.revision)
                .map(|before| image_changes(&before.images, &revision.images))
                .unwrap_or_default();
            let what =
                if changes.is_empty() { "no image change".to_owned() } else { changes.join(", ") };
            let title = match revision.revision_history.last() {
                Some(was) => format!(
                    "Rollback of {key} to revision {} (was revision {was}): {what}",
                    revision.revision
                ),
                None => format!("Rollout of {key} revision {}: {what}", revision.revision),
            };
            events.push(
                Event::new(time, "rollout", title)
                    .detail(format!(
                        "ReplicaSet {}; change-cause: {}",
                        revision.replica_set, revision.change_cause
                    ))
                    .signature(format!("rollout:{key}:{}", revision.revision))
                    .pointer(format!("{base}/history/revisions/{i}"))
                    .artifact(format!("{key}/replicasets.json")),
            );
        }
    }

    let state = &report.state;
    if let Some(c) = state.condition("Progressing").filter(|_| state.stuck) {
        events.push(
            Event::new(
                c.time().unwrap_or(ctx.window.end),
                "rollout_stuck",
                format!("Rollout of {key} stuck: ProgressDeadlineExceeded"),
            )
            .detail(c.message.clone().unwrap_or_default())
            .severity(Severity::Critical)
            .signature(format!("rollout_stuck:{key}"))
            .pointer(format!("{base}/state"))
            .artifact(artifact.clone()),
        );
    }
    if let Some(c) = state.condition("Available").filter(|c| c.status == "False") {
        events.push(
            Event::new(
                c.last_transition_time.unwrap_or(ctx.window.end),
                "deployment_unavailable",
                format!(
                    "{key} unavailable: {} of {} replicas available",
                    state.available_replicas, state.spec_replicas
                ),
            )
            .detail(c.message.clone().unwrap_or_default())
            .severity(Severity::Critical)
            .signature(format!("deployment_unavailable:{key}"))
            .pointer(format!("{base}/state"))
            .artifact(artifact.clone()),
        );
    }

    if let Some(pods) = &report.pods {
        for (i, pod) in pods.pods.iter().enumerate() {
            let pointer = format!("{base}/pods/pods/{i}");
            for (container, t) in pod.oom_kills(ctx.window) {
                let Some(time) = t.finished_at else { continue };
                events.push(
                    Event::new(
                        time,
                        "oom_killed",
                        format!(
                            "OOMKilled: pod {} container {container} (exit {})",
                            pod.name, t.exit_code
                        ),
                    )
                    .severity(Severity::Critical)
                    .signature(format!("oom_killed:{key}:{container}"))
                    .pointer(pointer.clone()),
                );
            }
            for c in &pod.containers {
                let Some(reason) = c.waiting_reason.as_deref() else { continue };
                if reason == "ContainerCreating" || reason == "PodInitializing" {
                    continue;
                }
                let last = c.last_termination.as_ref();
                let how = last
                    .map(|t| {
                        format!(
                            " (last exit: {}, code {})",
                            t.reason.as_deref().unwrap_or("unknown"),
                            t.exit_code
                        )
                    })
                    .unwrap_or_default();
                let time = last.and_then(|t| t.finished_at).unwrap_or(ctx.window.end);
                let mut event = Event::new(
                    time,
                    "pod_waiting",
                    format!("{reason}: pod {} container {}{how}", pod.name, c.name),
                )
                .severity(if reason == "CrashLoopBackOff" {
                    Severity::Critical
                } else {
                    Severity::Warning
                })
                .signature(format!("pod_waiting:{key}:{}:{reason}", c.name))
                .pointer(pointer.clone());
                if let Some(message) = &c.waiting_message {
                    event = event.detail(message.clone());
                }
                events.push(event);
            }
        }
    }

    if let Some(selected) = &report.events {
        for (i, e) in selected.events.iter().enumerate().filter(|(_, e)| e.is_warning()) {
            let message: String = e.message.chars().take(300).collect();
            events.push(
                Event::new(
                    e.time,
                    "kubernetes_event",
                    format!("{} {} on {}", e.type_, e.reason, e.object),
                )
                .detail(if e.count > 1 { format!("{message} (×{})", e.count) } else { message })
                .severity(Severity::Warning)
                .signature(format!("kubernetes_event:{key}:{}", e.reason))
                .pointer(format!("{base}/events/events/{i}"))
                .artifact(format!("{key}/events.json")),
            );
        }
    }

    if let Some(hpa) = report.hpa.as_ref().filter(|h| h.at_max) {
        let limited = hpa.conditions.iter().find(|c| c.is("ScalingLimited", "True"));
        let time = limited
            .and_then(|c| c.last_transition_time)
            .or(hpa.last_scale_time)
            .unwrap_or(ctx.window.end);
        let desired = hpa.desired_replicas.map_or_else(|| "?".to_owned(), |d| d.to_string());
        events.push(
            Event::new(
                time,
                "hpa_at_max",
                format!(
                    "HPA {}/{} at its ceiling: desired {desired}, max {}",
                    report.namespace, hpa.name, hpa.max_replicas
                ),
            )
            .detail(limited.and_then(|c| c.message.clone()).unwrap_or_default())
            .severity(Severity::Warning)
            .signature(format!("hpa_at_max:{key}"))
            .pointer(format!("{base}/hpa"))
            .artifact(format!("{key}/hpa.json")),
        );
    }
    if let Some(logs) = &report.pod_logs {
        events.extend(logs.events.iter().cloned());
    }
    events
}

/// One line about the Deployment for the evidence summary.
pub fn summary_line(report: &DeploymentReport, ctx: &CollectContext) -> String {
    let mut parts = Vec::new();
    if let Some(current) = report.history.as_ref().and_then(History::current) {
        let when = current
            .rolled_out_at
            .map(|t| {
                format!(" rolled out {}", witness_collector::time::offset_label(t, ctx.anchor))
            })
            .unwrap_or_default();
        parts.push(format!("revision {}{when}", current.revision));
    }
    let state = &report.state;
    parts.push(format!("{}/{} available", state.available_replicas, state.spec_replicas));
    if state.stuck {
        parts.push("rollout stuck (ProgressDeadlineExceeded)".to_owned());
    } else if !state.complete {
        parts.push("rollout in progress".to_owned());
    }
    if let Some(pods) = &report.pods {
        if pods.totals.crashloop_pods > 0 {
            parts.push(format!("{} pod(s) in CrashLoopBackOff", pods.totals.crashloop_pods));
        }
        if pods.totals.oom_kills_in_window > 0 {
            parts.push(format!("{} OOM kill(s)", pods.totals.oom_kills_in_window));
        }
        if pods.totals.restarts_in_window > 0 {
            parts.push(format!("{} restart(s) in window", pods.totals.restarts_in_window));
        }
    }
    if let Some(hpa) = report.hpa.as_ref().filter(|h| h.at_max) {
        parts.push(format!("HPA at max ({})", hpa.max_replicas));
    }
    if let Some(logs) = &report.pod_logs {
        parts.push(logs.summary.clone());
    }
    format!("{}: {}", report.key(), parts.join(", "))
}
