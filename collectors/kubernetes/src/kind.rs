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
    sees: "rollout history, rollout state, pods, pod logs, events, HPA",
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
        fact("kubernetes.pod_logs_read", "int", Primary, Int, "container logs read"),
        fact("kubernetes.pod_log_error_count", "int", Primary, Int, "pod log errors in the window"),
        fact(
            "kubernetes.pod_log_error_rate_ratio",
            "float",
            Primary,
            Number,
            "pod log error rate window / baseline",
        ),
        fact(
            "kubernetes.pod_log_new_signatures",
            "int",
            Primary,
            Int,
            "pod log signatures absent from the baseline",
        ),
        fact(
            "kubernetes.pod_log_new_signature_messages",
            "list",
            Primary,
            Word,
            "the new signatures' text",
        ),
        fact(
            "kubernetes.pod_log_new_error_count",
            "int",
            Primary,
            Int,
            "pod log errors of new signatures",
        ),
        fact(
            "kubernetes.pod_log_first_error_offset_secs",
            "int",
            Primary,
            Int,
            "first pod log error minus anchor (s)",
        ),
        fact(
            "kubernetes.pod_log_first_new_error_offset_secs",
            "int",
            Primary,
            Int,
            "first new pod log error minus anchor (s)",
        ),
        fact(
            "kubernetes.previous_log_errors",
            "int",
            Primary,
            Int,
            "errors in crashed instances' logs",
        ),
        fact(
            "kubernetes.new_revision_errors",
            "int",
            Primary,
            Int,
            "errors of the current revision's pods",
        ),
        fact(
            "kubernetes.old_revision_errors",
            "int",
            Primary,
            Int,
            "errors of older revisions' pods",
        ),
        fact(
            "kubernetes.errors_only_on_new_revision",
            "bool",
            Primary,
            Word,
            "the current revision's pods log errors older ones never did",
        ),
        fact(
            "kubernetes.errors_on_both_revisions",
            "bool",
            Primary,
            Word,
            "current and older revisions' pods log the same errors",
        ),
        fact(
            "kubernetes.new_revision_only_signatures",
            "list",
            Primary,
            Word,
            "signatures only the current revision's pods logged",
        ),
    ],
    labels: LABELS,
};

/// The alert labels that choose the Deployment and its namespace (`use_alert_labels`).
pub const LABELS: &[&str] = &["namespace", "deployment", "pod", "service"];
