//! The Deployment's pods: readiness, current images, restarts in the window, the last
//! termination of each container (OOMKilled, Error, exit codes) and why a container is
//! waiting (CrashLoopBackOff, ImagePullBackOff, CreateContainerConfigError).
//!
//! The API keeps only a cumulative `restartCount` and the last termination, so restarts in
//! the window are exact for pods started inside it and for containers whose last
//! termination is before it (zero); otherwise the last termination counts as one restart,
//! a lower bound, and `restarts_in_window_exact` is false.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ContainerStateTerminated, ContainerStatus, Pod};
use serde::Serialize;
use witness_collector::Window;

use crate::meta::{controller_of, utc};

/// Waiting reasons that mean a container cannot run; kubectl's rollout warnings too.
const BAD_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// How a container last ended.
#[derive(Debug, Clone, Serialize)]
pub struct Termination {
    /// `OOMKilled`, `Error`, `Completed`, ...
    pub reason: Option<String>,
    pub exit_code: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub finished_at: Option<DateTime<Utc>>,
}

impl Termination {
    fn from(t: &ContainerStateTerminated) -> Self {
        Self {
            reason: t.reason.clone(),
            exit_code: t.exit_code,
            signal: t.signal,
            started_at: t.started_at.as_ref().and_then(utc),
            finished_at: t.finished_at.as_ref().and_then(utc),
        }
    }

    pub fn is_oom(&self) -> bool {
        self.reason.as_deref() == Some("OOMKilled")
    }
}

/// One container of a pod.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerSummary {
    pub name: String,
    pub init: bool,
    pub image: String,
    pub ready: bool,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_message: Option<String>,
    /// When the running instance started (`state.running.startedAt`).
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub running_since: Option<DateTime<Utc>>,
    /// The container's current state when it is terminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Termination>,
    /// How it ended the previous time (`lastState.terminated`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_termination: Option<Termination>,
}

impl ContainerSummary {
    fn terminations(&self) -> impl Iterator<Item = &Termination> {
        self.terminated.iter().chain(self.last_termination.iter())
    }
}

/// One pod of the Deployment.
#[derive(Debug, Clone, Serialize)]
pub struct PodSummary {
    pub name: String,
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub replica_set: Option<String>,
    /// The revision of its ReplicaSet.
    pub revision: Option<i64>,
    pub ready: bool,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub started: Option<DateTime<Utc>>,
    pub restarts_in_window: i64,
    pub restarts_in_window_exact: bool,
    pub oom_kills_in_window: i64,
    /// `PodScheduled=False` (FailedScheduling): no node takes it.
    pub unschedulable: bool,
    pub containers: Vec<ContainerSummary>,
}

impl PodSummary {
    pub fn waiting_reasons(&self) -> impl Iterator<Item = &str> {
        self.containers.iter().filter_map(|c| c.waiting_reason.as_deref())
    }

    pub fn is_crashlooping(&self) -> bool {
        self.waiting_reasons().any(|r| r == "CrashLoopBackOff")
    }

    /// Whether a responder should look at this pod: not ready, waiting on a bad reason,
    /// restarted or OOM-killed in the window, or unschedulable.
    pub fn has_problem(&self) -> bool {
        !self.ready
            || self.unschedulable
            || self.restarts_in_window > 0
            || self.oom_kills_in_window > 0
            || self.waiting_reasons().any(|r| BAD_WAITING.contains(&r))
    }

    /// Every OOM kill inside the window, with the container name.
    pub fn oom_kills(&self, window: Window) -> impl Iterator<Item = (&str, &Termination)> {
        self.containers.iter().flat_map(move |c| {
            c.terminations()
                .filter(move |t| t.is_oom() && t.finished_at.is_some_and(|f| in_window(window, f)))
                .map(move |t| (c.name.as_str(), t))
        })
    }
}

/// Summarizes `pod`; `revision_of` maps a ReplicaSet name to its revision.
pub fn summarize(
    pod: &Pod,
    window: Window,
    revision_of: impl Fn(&str) -> Option<i64>,
) -> PodSummary {
    let status = pod.status.as_ref();
    let started = status.and_then(|s| s.start_time.as_ref()).and_then(utc);
    let replica_set =
        controller_of(&pod.metadata).filter(|r| r.kind == "ReplicaSet").map(|r| r.name.clone());
    let containers: Vec<ContainerSummary> = status
        .map(|s| {
            let init = s.init_container_statuses.iter().flatten().map(|c| container(c, true));
            let main = s.container_statuses.iter().flatten().map(|c| container(c, false));
            init.chain(main).collect()
        })
        .unwrap_or_default();
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    let condition =
        |type_: &str, value: &str| conditions.iter().any(|c| c.type_ == type_ && c.status == value);
    let started_in_window = started.is_some_and(|s| s >= window.start);
    let mut restarts = 0_i64;
    let mut exact = true;
    for c in &containers {
        if started_in_window {
            restarts += i64::from(c.restart_count);
        } else if let Some(last) = c.last_termination.as_ref().and_then(|t| t.finished_at) {
            if in_window(window, last) {
                restarts += 1;
                exact &= c.restart_count <= 1;
            }
        } else if c.restart_count > 0 {
            // Restarted, but the API no longer says when.
            exact = false;
        }
    }
    let mut summary = PodSummary {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: status.and_then(|s| s.phase.clone()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        revision: replica_set.as_deref().and_then(&revision_of),
        replica_set,
        ready: condition("Ready", "True"),
        started,
        restarts_in_window: restarts,
        restarts_in_window_exact: exact,
        oom_kills_in_window: 0,
        unschedulable: condition("PodScheduled", "False"),
        containers,
    };
    summary.oom_kills_in_window = i64::try_from(summary.oom_kills(window).count()).unwrap_or(0);
    summary
}

fn container(c: &ContainerStatus, init: bool) -> ContainerSummary {
    let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
    ContainerSummary {
        name: c.name.clone(),
        init,
        image: c.image.clone(),
        ready: c.ready,
        restart_count: c.restart_count,
        waiting_reason: waiting.and_then(|w| w.reason.clone()),
        waiting_message: waiting.and_then(|w| w.message.clone()),
        running_since: c
            .state
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .and_then(|r| r.started_at.as_ref())
            .and_then(utc),
        terminated: c.state.as_ref().and_then(|s| s.terminated.as_ref()).map(Termination::from),
        last_termination: c
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .map(Termination::from),
    }
}

fn in_window(window: Window, t: DateTime<Utc>) -> bool {
    t >= window.start && t <= window.end
}

/// Problem pods first, then by name; at most `max`.
pub fn rank(mut pods: Vec<PodSummary>, max: usize) -> (Vec<PodSummary>, usize) {
    pods.sort_by(|a, b| b.has_problem().cmp(&a.has_problem()).then(a.name.cmp(&b.name)));
    let total = pods.len();
    pods.truncate(max);
    (pods, total)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn window() -> Window {
        let end = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
        Window::new(end - chrono::Duration::minutes(30), end)
    }

    fn pod(started: &str, restarts: i32, last_exit: Option<(&str, &str)>) -> Pod {
        let last_state = last_exit.map(|(reason, at)| {
            serde_json::json!({"terminated": {"reason": reason, "exitCode": 137, "finishedAt": at}})
        });
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1"},
            "status": {"startTime": started, "containerStatuses": [{
                "name": "web", "image": "web:1", "imageID": "", "ready": true,
                "restartCount": restarts, "lastState": last_state
            }]}
        }))
        .unwrap()
    }

    #[test]
    fn restarts_of_a_pod_started_in_the_window_are_exact() {
        let p = summarize(
            &pod("2025-11-19T20:45:00Z", 4, Some(("Error", "2025-11-19T20:58:00Z"))),
            window(),
            |_| None,
        );
        assert_eq!((p.restarts_in_window, p.restarts_in_window_exact), (4, true));
    }

    #[test]
    fn an_older_pod_whose_last_exit_is_before_the_window_did_not_restart_in_it() {
        let p = summarize(
            &pod("2025-11-19T10:00:00Z", 9, Some(("Error", "2025-11-19T20:00:00Z"))),
            window(),
            |_| None,
        );
        assert_eq!((p.restarts_in_window, p.restarts_in_window_exact), (0, true));
    }

    #[test]
    fn an_older_pod_that_restarted_in_the_window_counts_a_lower_bound() {
        let p = summarize(
            &pod("2025-11-19T10:00:00Z", 9, Some(("OOMKilled", "2025-11-19T20:50:00Z"))),
            window(),
            |_| None,
        );
        assert_eq!((p.restarts_in_window, p.restarts_in_window_exact), (1, false));
        assert_eq!(p.oom_kills_in_window, 1);
    }
}
