//! Which container logs to read, before any is read: at most `pod_log_max_pods` pods of
//! the Deployment, taken in turn from each revision (the current one first), so that when
//! a rollout left pods of the previous ReplicaSet, both revisions are read and can be
//! compared; within a revision, pods in trouble first. Of each pod, every container that
//! ever ran: its current instance, and its previous instance (`previous=true`) when it
//! restarted in the window, since the crash output is what matters. A container waiting
//! in CrashLoopBackOff has no current instance of its own (the kubelet serves the crashed
//! one for both), so only its previous instance is read; one that never started
//! (ImagePullBackOff, ContainerCreating) has no log at all.

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::Window;

use crate::pods::{ContainerSummary, PodSummary, Termination};

/// Which instance of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Instance {
    /// The running (or last terminated) instance: `previous=false`.
    Current,
    /// The instance before it, which crashed: `previous=true`.
    Previous,
}

/// One container log to read.
#[derive(Debug, Clone)]
pub struct Stream {
    pub pod: String,
    pub container: String,
    pub instance: Instance,
    /// Whether the instance may have lines in the baseline (it started before the window,
    /// or when it started is unknown).
    pub baseline: bool,
    /// When the instance started, when known.
    pub started: Option<DateTime<Utc>>,
    /// How the previous instance ended.
    pub termination: Option<Termination>,
}

impl Stream {
    /// How the stream is named in the excerpt and the first error.
    pub fn label(&self) -> String {
        match self.instance {
            Instance::Current => format!("pod {} container {}", self.pod, self.container),
            Instance::Previous => {
                format!("pod {} container {} (previous)", self.pod, self.container)
            }
        }
    }
}

/// One pod whose logs are read.
#[derive(Debug, Clone)]
pub struct PlannedPod {
    pub name: String,
    pub revision: Option<i64>,
    pub streams: Vec<Stream>,
    /// Containers without a log, and why (`web: never started (ImagePullBackOff)`).
    pub without_log: Vec<String>,
}

/// The logs to read for one Deployment.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub pods: Vec<PlannedPod>,
    /// Pods left out by `pod_log_max_pods`.
    pub left_out: Vec<String>,
}

/// Plans the reads over `pods` (problem pods first, as the pods section keeps them).
pub fn plan(
    pods: &[PodSummary],
    current_revision: Option<i64>,
    window: Window,
    max_pods: usize,
) -> Plan {
    // Revisions in turn: the current one first, then the others newest first, then pods
    // whose revision is unknown.
    let mut groups: Vec<(Option<i64>, Vec<&PodSummary>)> = Vec::new();
    for pod in pods {
        match groups.iter_mut().find(|(r, _)| *r == pod.revision) {
            Some((_, members)) => members.push(pod),
            None => groups.push((pod.revision, vec![pod])),
        }
    }
    groups.sort_by_key(|(r, _)| (*r != current_revision || r.is_none(), r.is_none(), std::cmp::Reverse(*r)));
    for (_, members) in &mut groups {
        members.sort_by(|a, b| b.has_problem().cmp(&a.has_problem()).then(a.name.cmp(&b.name)));
    }
    let mut chosen: Vec<&PodSummary> = Vec::new();
    let mut round = 0;
    while chosen.len() < max_pods {
        let taken: Vec<&PodSummary> =
            groups.iter().filter_map(|(_, members)| members.get(round).copied()).collect();
        if taken.is_empty() {
            break;
        }
        chosen.extend(taken.into_iter().take(max_pods - chosen.len()));
        round += 1;
    }
    let left_out = pods
        .iter()
        .filter(|p| !chosen.iter().any(|c| c.name == p.name))
        .map(|p| p.name.clone())
        .collect();
    let pods = chosen.into_iter().map(|p| planned(p, window)).collect();
    Plan { pods, left_out }
}

fn planned(pod: &PodSummary, window: Window) -> PlannedPod {
    let mut planned = PlannedPod {
        name: pod.name.clone(),
        revision: pod.revision,
        streams: Vec::new(),
        without_log: Vec::new(),
    };
    let before_window = |t: Option<DateTime<Utc>>| t.is_none_or(|t| t < window.start);
    for c in &pod.containers {
        let stream = |instance, started: Option<DateTime<Utc>>, termination| Stream {
            pod: pod.name.clone(),
            container: c.name.clone(),
            instance,
            baseline: before_window(started),
            started,
            termination,
        };
        let restarted_in_window = c
            .last_termination
            .as_ref()
            .and_then(|t| t.finished_at)
            .is_some_and(|f| f >= window.start && f <= window.end);
        match (&c.waiting_reason, &c.last_termination) {
            // Waiting again after a crash: the crashed instance is the only one.
            (Some(_), Some(last)) => {
                planned.streams.push(stream(Instance::Previous, last.started_at, Some(last.clone())))
            }
            (Some(reason), None) => {
                planned.without_log.push(format!("{}: never started ({reason})", c.name));
            }
            (None, last) => {
                if is_init_done(c) {
                    continue;
                }
                let since = c.running_since.or(c.terminated.as_ref().and_then(|t| t.started_at));
                planned.streams.push(stream(Instance::Current, since.or(pod.started), None));
                if let Some(last) = last.as_ref().filter(|_| restarted_in_window) {
                    planned.streams.push(stream(
                        Instance::Previous,
                        last.started_at,
                        Some(last.clone()),
                    ));
                }
            }
        }
    }
    planned
}

/// An init container that ran to completion once: its log says nothing about the incident.
fn is_init_done(c: &ContainerSummary) -> bool {
    c.init
        && c.last_termination.is_none()
        && c.terminated.as_ref().is_some_and(|t| t.exit_code == 0)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn window() -> Window {
        let end = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
        Window::new(end - chrono::Duration::minutes(30), end)
    }

    fn at(minutes: i64) -> Option<DateTime<Utc>> {
        Some(window().end + chrono::Duration::minutes(minutes))
    }

    fn container(name: &str) -> ContainerSummary {
        ContainerSummary {
            name: name.into(),
            init: false,
            image: "web:1".into(),
            ready: true,
            restart_count: 0,
            waiting_reason: None,
            waiting_message: None,
            running_since: at(-120),
            terminated: None,
            last_termination: None,
        }
    }

    fn pod(name: &str, revision: i64, containers: Vec<ContainerSummary>) -> PodSummary {
        PodSummary {
            name: name.into(),
            phase: Some("Running".into()),
            node: None,
            replica_set: None,
            revision: Some(revision),
            ready: true,
            started: at(-120),
            restarts_in_window: 0,
            restarts_in_window_exact: true,
            oom_kills_in_window: 0,
            unschedulable: false,
            containers,
        }
    }

    fn crashed(minutes: i64) -> Termination {
        Termination {
            reason: Some("Error".into()),
            exit_code: 1,
            signal: None,
            started_at: at(minutes - 1),
            finished_at: at(minutes),
        }
    }

    #[test]
    fn revisions_take_turns_so_both_are_read_under_the_cap() {
        let mut pods: Vec<PodSummary> =
            (0..4).map(|i| pod(&format!("web-new-{i}"), 4, vec![container("web")])).collect();
        pods.extend((0..4).map(|i| pod(&format!("web-old-{i}"), 3, vec![container("web")])));
        let plan = plan(&pods, Some(4), window(), 3);
        let names: Vec<&str> = plan.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["web-new-0", "web-old-0", "web-new-1"]);
        assert_eq!(plan.left_out.len(), 5);
    }

    #[test]
    fn a_crash_in_the_window_reads_the_previous_instance_and_a_crash_loop_only_that() {
        let mut restarted = container("web");
        restarted.last_termination = Some(crashed(-5));
        let mut looping = container("sidecar");
        looping.waiting_reason = Some("CrashLoopBackOff".into());
        looping.running_since = None;
        looping.last_termination = Some(crashed(-2));
        let mut pulling = container("init-db");
        pulling.waiting_reason = Some("ImagePullBackOff".into());
        pulling.running_since = None;
        let mut old_crash = container("proxy");
        old_crash.last_termination = Some(crashed(-90));
        let plan = plan(
            &[pod("web-1", 4, vec![restarted, looping, pulling, old_crash])],
            Some(4),
            window(),
            10,
        );
        let streams: Vec<(&str, Instance, bool)> = plan.pods[0]
            .streams
            .iter()
            .map(|s| (s.container.as_str(), s.instance, s.baseline))
            .collect();
        assert_eq!(
            streams,
            [
                ("web", Instance::Current, true),
                ("web", Instance::Previous, false),
                ("sidecar", Instance::Previous, false),
                ("proxy", Instance::Current, true),
            ]
        );
        assert_eq!(plan.pods[0].without_log, ["init-db: never started (ImagePullBackOff)"]);
        assert_eq!(plan.pods[0].streams[1].label(), "pod web-1 container web (previous)");
    }
}
