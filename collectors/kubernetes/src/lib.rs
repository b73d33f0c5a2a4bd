//! The `kubernetes` collector kind: what a Deployment did around the anchor. It reads the
//! Deployment, its ReplicaSets (the rollout history, derived exactly as
//! `kubectl rollout history` does), its pods and their logs, the Events about them and the
//! HorizontalPodAutoscaler (autoscaling/v2) that targets it, and recommends nothing itself:
//! it publishes facts for the rules and the kubectl commands a responder may run. The pod
//! logs go through the same analysis as the `logs` kind's files (`witness-log-analysis`),
//! and the current revision's pods are compared with the older revisions' ([`pod_logs`]).
//!
//! The Deployments come from the alert's labels (`namespace`, `deployment`, `pod` → its
//! ReplicaSet → its Deployment, `service` via `service_deployments`), else from the config
//! (`deployments` or `label_selector`). Credentials are the pod's service account inside a
//! cluster, else a kubeconfig (path and context configurable). It needs only `get`, `list`
//! and `watch` on deployments, replicasets, pods, events and horizontalpodautoscalers, and
//! `get` on pods/log (`deploy/rbac.yaml`); a 403 on one of them makes the evidence
//! `partial`, naming the resource and verb, and the rest is still read.
//!
//! ```toml
//! [[collectors.kubernetes]]
//! name = "prod"
//! # credentials = "auto"            # service account in a pod, else kubeconfig
//! # kubeconfig_path = "/etc/witness/kubeconfig"
//! # context = "prod-eu1"
//! namespace = "prod"                # when the alert has no `namespace` label
//! deployments = ["checkout-web"]    # when the alert names none (or: label_selector = "tier=frontend")
//! service_deployments = { checkout = "checkout-web" }
//! request_timeout_secs = 10
//! # pod_logs = true                 # read the pods' logs (`get` on pods/log)
//! pod_log_max_pods = 10
//! pod_log_max_bytes = 1048576       # per container instance: the window, then the baseline
//! ```
//!
//! `data` has one section per Deployment (`/data/deployments/N`: state, history, pods,
//! events, hpa, suggested_commands, pod_logs), `data.suggested_commands` for the Deployment the facts
//! describe, and `data.forbidden` for denied permissions. Raw objects are kept as
//! artifacts `<namespace>/<deployment>/{deployment,replicasets,pods,events,hpa}.json`, with
//! env values and last-applied configurations withheld.
//!
//! # Facts
//! With several Deployments in one run, the facts describe one: the Deployment named by
//! the alert; otherwise the one in the most trouble (rollout stuck 4, unavailable replicas,
//! crash-looping pods and OOM kills 2 each, restarts and HPA at max 1 each, and 3 for a
//! rollout within `rollout_margin_mins` before the window or inside it), then the newest
//! rollout. `data.facts_deployment` names it. A fact that cannot be computed is absent.
//!
//! | fact | type | meaning |
//! |---|---|---|
//! | `kubernetes.deployment` | text | the Deployment the facts describe |
//! | `kubernetes.namespace` | text | its namespace |
//! | `kubernetes.deployments_read` | int | Deployments read in this run |
//! | `kubernetes.minutes_since_rollout` | float | anchor minus the current revision's rollout time, in minutes (negative when the rollout came after the anchor); absent when that time is unknown |
//! | `kubernetes.current_revision` | int | the revision the Deployment runs (its new ReplicaSet's) |
//! | `kubernetes.previous_revision` | int | the revision `kubectl rollout undo` returns to; absent with one revision |
//! | `kubernetes.current_images` | list of text | the current revision's images |
//! | `kubernetes.images_changed` | bool | the current revision's images differ from the previous revision's |
//! | `kubernetes.replicas` | int | `spec.replicas` |
//! | `kubernetes.available_replicas` | int | `status.availableReplicas` |
//! | `kubernetes.unavailable_replicas` | int | `status.unavailableReplicas` |
//! | `kubernetes.rollout_stuck` | bool | `Progressing` is False with `ProgressDeadlineExceeded` |
//! | `kubernetes.rollout_complete` | bool | rolled out by `kubectl rollout status`'s rule |
//! | `kubernetes.restarts_in_window` | int | container restarts in the window (a lower bound when a pod older than the window restarted more than once) |
//! | `kubernetes.oom_kills_in_window` | int | container terminations with reason OOMKilled in the window |
//! | `kubernetes.crashloop_pods` | int | pods with a container waiting in CrashLoopBackOff |
//! | `kubernetes.not_ready_pods` | int | pods whose Ready condition is not True |
//! | `kubernetes.warning_events` | int | Warning events about the Deployment, its ReplicaSets, pods and HPA in the window |
//! | `kubernetes.hpa_at_max` | bool | the HPA is at its ceiling (ScalingLimited True with TooManyReplicas, desired > max, or current and desired at max); false when no HPA targets the Deployment, absent when HPAs could not be listed |
//! | `kubernetes.hpa_max_replicas` | int | the HPA's `maxReplicas` |
//! | `kubernetes.hpa_desired_replicas` | int | the HPA's `desiredReplicas` |
//! | `kubernetes.hpa_current_replicas` | int | the HPA's `currentReplicas` |
//! | `kubernetes.pod_logs_read` | int | container instance logs read |
//! | `kubernetes.pod_log_error_count`, `…_error_rate_ratio`, `…_new_signatures`, `…_new_signature_messages`, `…_new_error_count`, `…_first_error_offset_secs`, `…_first_new_error_offset_secs` | | the pod logs through the `logs` kind's analysis (see FACTS.md) |
//! | `kubernetes.previous_log_errors` | int | errors in the window in crashed instances' logs |
//! | `kubernetes.new_revision_errors`, `kubernetes.old_revision_errors` | int | errors in the window of the current revision's pods, and of the older revisions' |
//! | `kubernetes.errors_only_on_new_revision` | bool | the current revision's pods logged errors no older revision's pod did; present when both were read |
//! | `kubernetes.errors_on_both_revisions` | bool | the older revisions' pods logged some of the same errors |
//! | `kubernetes.new_revision_only_signatures` | list of text | those signatures |

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    mod api;
    mod artifacts;
    mod collector;
    mod commands;
    mod config;
    mod events;
    mod history;
    mod hpa;
    mod meta;
    mod pod_logs;
    mod pods;
    mod record;
    mod redaction;
    mod report;
    mod state;
    mod target;

    pub use api::KubernetesError;
    pub use collector::KubernetesCollector;
    pub use commands::{SuggestedCommand, is_dns1123_label, is_dns1123_subdomain, shell_quote};
    pub use config::{Credentials, KubernetesConfig};
}
