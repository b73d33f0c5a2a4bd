//! Rollout history, derived exactly as `kubectl rollout history` does: the ReplicaSets
//! matching the Deployment's selector that the Deployment controls, each revision from
//! `deployment.kubernetes.io/revision`, earlier numbers of a reused ReplicaSet from
//! `deployment.kubernetes.io/revision-history`, and the change-cause. It adds what kubectl
//! does not print: the images of each revision and when each revision was rolled out.
//!
//! A revision's rollout time is its ReplicaSet's creation time, except for a ReplicaSet
//! reused by a rollback: that one was created long before, so its time is the
//! deployment-controller's `ScalingReplicaSet` event that scaled it up again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde::Serialize;

use crate::events::ScaleUp;
use crate::meta::{is_controlled_by, utc};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Where a revision's rollout time comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RolloutTimeSource {
    /// The ReplicaSet was created for this revision.
    ReplicaSetCreated,
    /// A reused ReplicaSet: the `ScalingReplicaSet` event that scaled it up.
    ScalingReplicaSetEvent,
    /// A reused ReplicaSet whose scale-up event is no longer retained.
    Unknown,
}

/// One revision of the Deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    pub revision: i64,
    pub replica_set: String,
    /// Earlier revision numbers of this ReplicaSet (it was reused by a rollback).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revision_history: Vec<i64>,
    /// `kubernetes.io/change-cause`, `<none>` when absent, as kubectl prints it.
    pub change_cause: String,
    /// Container name to image.
    pub images: BTreeMap<String, String>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub created: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub rolled_out_at: Option<DateTime<Utc>>,
    pub rolled_out_at_source: RolloutTimeSource,
    pub spec_replicas: Option<i32>,
    pub replicas: i32,
    pub ready_replicas: i32,
    pub available_replicas: i32,
    /// The revision the Deployment runs now (its "new" ReplicaSet).
    pub current: bool,
    /// The revision `kubectl rollout undo` goes back to.
    pub previous: bool,
}

/// The Deployment's revisions, oldest first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct History {
    pub revisions: Vec<Revision>,
    pub current_revision: Option<i64>,
    pub previous_revision: Option<i64>,
    /// Controlled ReplicaSets without a revision annotation (kubectl skips them too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub without_revision: Vec<String>,
    /// ReplicaSets matching the selector but controlled by something else.
    pub not_controlled: usize,
}

impl History {
    pub fn current(&self) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.current)
    }

    pub fn previous(&self) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.previous)
    }

    /// The revision before `revision` in this history.
    pub fn before(&self, revision: i64) -> Option<&Revision> {
        self.revisions.iter().rev().find(|r| r.revision < revision)
    }

    /// What ran before `revision` was rolled out: the ReplicaSet holding the highest
    /// number below it, counting the numbers a reused ReplicaSet had earlier (after a
    /// rollback to 2 became revision 4, revision 3 still came after 2's ReplicaSet).
    pub fn predecessor(&self, revision: i64) -> Option<&Revision> {
        self.revisions
            .iter()
            .filter(|r| r.revision != revision)
            .filter_map(|r| {
                let numbers = std::iter::once(r.revision).chain(r.revision_history.iter().copied());
                numbers.filter(|n| *n < revision).max().map(|n| (n, r))
            })
            .max_by_key(|(n, _)| *n)
            .map(|(_, r)| r)
    }

    /// The revision a ReplicaSet carries.
    pub fn revision_of(&self, replica_set: &str) -> Option<i64> {
        self.revisions.iter().find(|r| r.replica_set == replica_set).map(|r| r.revision)
    }
}

/// Derives the history of `deployment` from the ReplicaSets listed with its selector and
/// the `ScalingReplicaSet` events seen for it.
pub fn derive(
    deployment: &Deployment,
    replica_sets: &[ReplicaSet],
    scale_ups: &[ScaleUp],
) -> History {
    let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
    let mut history = History::default();
    let mut controlled: Vec<&ReplicaSet> = Vec::new();
    for rs in replica_sets {
        if !uid.is_empty() && is_controlled_by(&rs.metadata, uid) {
            controlled.push(rs);
        } else {
            history.not_controlled += 1;
        }
    }
    for rs in &controlled {
        let name = rs.metadata.name.clone().unwrap_or_default();
        let annotations = rs.metadata.annotations.as_ref();
        let Some(revision) =
            annotations.and_then(|a| a.get(REVISION)).and_then(|r| r.trim().parse::<i64>().ok())
        else {
            history.without_revision.push(name);
            continue;
        };
        let revision_history: Vec<i64> = annotations
            .and_then(|a| a.get(REVISION_HISTORY))
            .map(|h| h.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_default();
        let created = rs.metadata.creation_timestamp.as_ref().and_then(utc);
        let (rolled_out_at, rolled_out_at_source) = if revision_history.is_empty() {
            (created, RolloutTimeSource::ReplicaSetCreated)
        } else {
            match reactivation(&name, scale_ups) {
                Some(t) => (Some(t), RolloutTimeSource::ScalingReplicaSetEvent),
                None => (None, RolloutTimeSource::Unknown),
            }
        };
        let spec = &rs.spec;
        let status = rs.status.as_ref();
        history.revisions.push(Revision {
            revision,
            replica_set: name,
            revision_history,
            change_cause: annotations
                .and_then(|a| a.get(CHANGE_CAUSE))
                .cloned()
                .unwrap_or_else(|| "<none>".to_owned()),
            images: spec.template.as_ref().map(images).unwrap_or_default(),
            created,
            rolled_out_at,
            rolled_out_at_source,
            spec_replicas: spec.replicas,
            replicas: status.map_or(0, |s| s.replicas),
            ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
            available_replicas: status.and_then(|s| s.available_replicas).unwrap_or(0),
            current: false,
            previous: false,
        });
    }
    history.revisions.sort_by_key(|r| r.revision);

    // The current revision is the "new" ReplicaSet's: the oldest controlled one whose
    // template equals the Deployment's (ignoring pod-template-hash). While a new template
    // has no ReplicaSet yet, kubectl has no new RS either; the highest revision stands in.
    let wanted = normalized_template(&deployment.spec.template);
    let new_rs = controlled
        .iter()
        .filter(|rs| rs.spec.template.as_ref().map(normalized_template).as_ref() == Some(&wanted))
        .min_by_key(|rs| rs.metadata.creation_timestamp.as_ref().and_then(utc))
        .and_then(|rs| rs.metadata.name.clone());
    let current = new_rs
        .and_then(|name| history.revision_of(&name))
        .or_else(|| history.revisions.last().map(|r| r.revision));
    if let Some(current) = current {
        history.current_revision = Some(current);
        history.previous_revision = history.before(current).map(|r| r.revision);
        let previous = history.previous_revision;
        for r in &mut history.revisions {
            r.current = r.revision == current;
            r.previous = Some(r.revision) == previous;
        }
    }
    history
}

/// Container name to image of a pod template (init containers prefixed `init:`).
pub fn images(template: &PodTemplateSpec) -> BTreeMap<String, String> {
    let Some(spec) = &template.spec else { return BTreeMap::new() };
    let init = spec.init_containers.iter().flatten().map(|c| (format!("init:{}", c.name), c));
    let main = spec.containers.iter().map(|c| (c.name.clone(), c));
    init.chain(main).map(|(name, c)| (name, c.image.clone().unwrap_or_default())).collect()
}

/// The image changes from `old` to `new`: `web: web:1.4.1 → web:1.4.2`.
pub fn image_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut changes = Vec::new();
    for (name, image) in new {
        match old.get(name) {
            Some(before) if before == image => {}
            Some(before) => changes.push(format!("{name}: {before} → {image}")),
            None => changes.push(format!("{name}: added {image}")),
        }
    }
    for (name, image) in old {
        if !new.contains_key(name) {
            changes.push(format!("{name}: removed {image}"));
        }
    }
    changes
}

/// When a reused ReplicaSet was scaled up again. A scale-up "from 0" is the reactivation;
/// with the older message format that has no "from", the earliest retained scale-up is
/// taken (events live about an hour, so it is the one closest to the rollback).
fn reactivation(replica_set: &str, scale_ups: &[ScaleUp]) -> Option<DateTime<Utc>> {
    let ours = || scale_ups.iter().filter(|s| s.replica_set == replica_set);
    ours()
        .filter(|s| s.from == Some(0))
        .map(|s| s.time)
        .max()
        .or_else(|| ours().filter(|s| s.from.is_none()).map(|s| s.time).min())
}

fn normalized_template(template: &PodTemplateSpec) -> serde_json::Value {
    let mut value = serde_json::to_value(template).unwrap_or_default();
    if let Some(labels) = value.pointer_mut("/metadata/labels").and_then(|l| l.as_object_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_changes_name_old_and_new() {
        let old: BTreeMap<String, String> =
            [("web".into(), "web:1.4.1".into()), ("proxy".into(), "envoy:1".into())].into();
        let new: BTreeMap<String, String> =
            [("web".into(), "web:1.4.2".into()), ("proxy".into(), "envoy:1".into())].into();
        assert_eq!(image_changes(&old, &new), ["web: web:1.4.1 → web:1.4.2"]);
        assert!(image_changes(&new, &new).is_empty());
    }

    #[test]
    fn a_reactivation_is_the_latest_scale_up_from_zero() {
        let t = |m: i64| DateTime::from_timestamp(1_700_000_000 + m * 60, 0).unwrap();
        let ups = [
            ScaleUp { replica_set: "web-a".into(), from: Some(0), time: t(0) },
            ScaleUp { replica_set: "web-a".into(), from: Some(1), time: t(5) },
            ScaleUp { replica_set: "web-a".into(), from: Some(0), time: t(40) },
            ScaleUp { replica_set: "web-b".into(), from: Some(0), time: t(50) },
        ];
        assert_eq!(reactivation("web-a", &ups), Some(t(40)));
        assert_eq!(reactivation("web-c", &ups), None);
    }
}
