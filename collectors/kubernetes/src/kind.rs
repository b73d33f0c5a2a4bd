//! The declaration of the `kubernetes` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, K8sLabel, K8sName, Number, Word},
    Merge::{Primary, Sum},
};
use witness_collector::{KindDecl, fact};

/// The `kubernetes` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "kubernetes",
    sees: "rollout history, rollout state, pods, events, HPA",
    facts: &[
        fact(
            "kubernetes.deployment",
            "text",
            Primary,
            K8sName,
            "the Deployment the facts describe",
        ),
        fact("kubernetes.namespace", "text", Primary, K8sLabel, "its namespace"),
        fact("kubernetes.deployments_read", "int", Sum, Int, "Deployments read"),
        fact(
            "kubernetes.minutes_since_rollout",
            "float",
            Primary,
            Number,
            "anchor minus the current revision's rollout (min)",
        ),
        fact("kubernetes.current_revision", "int", Primary, Int, "the revision running"),
        fact("kubernetes.previous_revision", "int", Primary, Int, "the revision undo returns to"),
        fact("kubernetes.current_images", "list", Primary, Word, "the current revision's images"),
        fact("kubernetes.images_changed", "bool", Primary, Word, "images differ from the previous"),
        fact("kubernetes.replicas", "int", Primary, Int, "spec.replicas"),
        fact("kubernetes.available_replicas", "int", Primary, Int, "status.availableReplicas"),
        fact("kubernetes.unavailable_replicas", "int", Primary, Int, "status.unavailableReplicas"),
        fact("kubernetes.rollout_stuck", "bool", Primary, Word, "ProgressDeadlineExceeded"),
        fact("kubernetes.rollout_complete", "bool", Primary, Word, "rolled out"),
        fact(
            "kubernetes.restarts_in_window",
            "int",
            Primary,
            Int,
            "container restarts in the window",
        ),
        fact("kubernetes.oom_kills_in_window", "int", Primary, Int, "OOMKilled terminations"),
        fact("kubernetes.crashloop_pods", "int", Primary, Int, "pods in CrashLoopBackOff"),
        fact("kubernetes.not_ready_pods", "int", Primary, Int, "pods not Ready"),
        fact("kubernetes.warning_events", "int", Primary, Int, "Warning events in the window"),
        fact("kubernetes.hpa_at_max", "bool", Primary, Word, "the HPA is at its ceiling"),
        fact("kubernetes.hpa_max_replicas", "int", Primary, Int, "the HPA's maxReplicas"),
        fact("kubernetes.hpa_desired_replicas", "int", Primary, Int, "the HPA's desiredReplicas"),
        fact("kubernetes.hpa_current_replicas", "int", Primary, Int, "the HPA's currentReplicas"),
    ],
    labels: LABELS,
};

/// The alert labels that choose the Deployment and its namespace (`use_alert_labels`).
pub const LABELS: &[&str] = &["namespace", "deployment", "pod", "service"];
