//! Rollout state of a Deployment: its spec and status replica counts, its conditions
//! (`Progressing` with `ProgressDeadlineExceeded`, `Available` False) and whether the
//! rollout is complete by the rule `kubectl rollout status` applies, with kubectl's words.

use k8s_openapi::api::apps::v1::Deployment;
use serde::Serialize;

use crate::meta::{Condition, utc};

/// The state of a Deployment's rollout.
#[derive(Debug, Clone, Serialize)]
pub struct RolloutState {
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// `spec.replicas` (1 when unset, as the API server defaults it).
    pub spec_replicas: i32,
    pub replicas: i32,
    pub updated_replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    pub unavailable_replicas: i32,
    pub paused: bool,
    pub progress_deadline_seconds: Option<i32>,
    pub conditions: Vec<Condition>,
    /// Rolled out by kubectl's rule.
    pub complete: bool,
    /// `Progressing=False` with reason `ProgressDeadlineExceeded`.
    pub stuck: bool,
    /// What `kubectl rollout status` would print now.
    pub kubectl_status: String,
}

impl RolloutState {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// Reads the rollout state of `deployment`.
pub fn derive(deployment: &Deployment) -> RolloutState {
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let spec = &deployment.spec;
    let status = deployment.status.as_ref();
    let conditions: Vec<Condition> = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|c| Condition {
            type_: c.type_.clone().unwrap_or_default(),
            status: c.status.clone().unwrap_or_default(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: c.last_transition_time.as_ref().and_then(utc),
            last_update_time: c.last_update_time.as_ref().and_then(utc),
        })
        .collect();
    let stuck = conditions.iter().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    let generation = deployment.metadata.generation;
    let observed_generation = status.and_then(|s| s.observed_generation);
    let spec_replicas = spec.replicas.unwrap_or(1);
    let replicas = status.and_then(|s| s.replicas).unwrap_or(0);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    // kubectl's rule (polymorphichelpers/rollout_status.go), in its order.
    let (complete, kubectl_status) = if generation.unwrap_or(0) > observed_generation.unwrap_or(0) {
        (false, "Waiting for deployment spec update to be observed...".to_owned())
    } else if stuck {
        (false, format!("deployment {name:?} exceeded its progress deadline"))
    } else if updated < spec_replicas {
        (
            false,
            format!(
                "Waiting for deployment {name:?} rollout to finish: {updated} out of {spec_replicas} new replicas have been updated..."
            ),
        )
    } else if replicas > updated {
        (
            false,
            format!(
                "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
        )
    } else if available < updated {
        (
            false,
            format!(
                "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        )
    } else {
        (true, format!("deployment {name:?} successfully rolled out"))
    };
    RolloutState {
        generation,
        observed_generation,
        spec_replicas,
        replicas,
        updated_replicas: updated,
        ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
        available_replicas: available,
        unavailable_replicas: status.and_then(|s| s.unavailable_replicas).unwrap_or(0),
        paused: spec.paused.unwrap_or(false),
        progress_deadline_seconds: spec.progress_deadline_seconds,
        conditions,
        complete,
        stuck,
        kubectl_status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(generation: i64, status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "generation": generation},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "web"}]}}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn kubectls_rule_is_applied_in_its_order() {
        let cases = [
            (
                8,
                serde_json::json!({"observedGeneration": 7}),
                "Waiting for deployment spec update to be observed...",
            ),
            (
                7,
                serde_json::json!({"observedGeneration": 7, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 3}),
                "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...",
            ),
            (
                7,
                serde_json::json!({"observedGeneration": 7, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}),
                "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...",
            ),
            (
                7,
                serde_json::json!({"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2}),
                "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available...",
            ),
            (
                7,
                serde_json::json!({"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
                "deployment \"web\" successfully rolled out",
            ),
        ];
        for (generation, status, expected) in cases {
            let state = derive(&deployment(generation, status));
            assert_eq!(state.kubectl_status, expected);
            assert_eq!(state.complete, expected.ends_with("successfully rolled out"));
        }
    }

    #[test]
    fn a_progress_deadline_beats_every_count() {
        let state = derive(&deployment(
            7,
            serde_json::json!({"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
        ));
        assert!(state.stuck && !state.complete);
        assert_eq!(state.kubectl_status, "deployment \"web\" exceeded its progress deadline");
    }
}
