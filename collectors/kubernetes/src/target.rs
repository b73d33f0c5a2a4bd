//! Which Deployments a run reads. One config serves many alerts: the alert's labels come
//! first (`namespace`; then `deployment`, or `pod` resolved through its controlling
//! ReplicaSet to its Deployment, or `service` through `service_deployments`), then the
//! configured `deployments`, then the configured `label_selector`. A pod that is already
//! gone (crash-looping pods get replaced) leads to the Deployment its name starts with.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use witness_collector::CollectContext;

use crate::api::{Cluster, KubernetesError};
use crate::commands::{is_dns1123_label, is_dns1123_subdomain};
use crate::config::KubernetesConfig;
use crate::meta::controller_of;

/// One Deployment to read and why it was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    /// `alert label deployment=web`, `alert label pod=web-7d9c-x2k4p`, `config deployments`, ...
    pub selected_by: String,
    /// Named by the alert itself, so it is the one the facts describe.
    pub from_alert: bool,
    /// The object, when choosing it already read it (a label-selector list).
    #[serde(skip)]
    pub prefetched: Option<Box<Deployment>>,
}

/// What resolution found: the targets and the notes on labels it could not use.
#[derive(Debug, Default)]
pub struct Resolution {
    pub targets: Vec<Target>,
    /// Labels or lookups that failed; the evidence is partial because of them.
    pub problems: Vec<KubernetesError>,
    /// Remarks that do not make the evidence partial.
    pub notes: Vec<String>,
}

/// Chooses the Deployments for this run.
///
/// # Errors
/// Only a fatal [`KubernetesError`] (timeout, unreachable, cancelled): anything else
/// is a problem in the [`Resolution`] and resolution falls back to the config.
pub async fn resolve(
    config: &KubernetesConfig,
    cluster: &Cluster,
    ctx: &CollectContext,
) -> Result<Resolution, KubernetesError> {
    let mut out = Resolution::default();
    let label = |key: &str| if config.use_alert_labels { ctx.label(key) } else { None };
    let namespace = match label("namespace") {
        Some(ns) if is_dns1123_label(ns) => ns.to_owned(),
        other => {
            if let Some(ns) = other {
                out.notes
                    .push(format!("alert label namespace={ns:?} is not a namespace name; ignored"));
            }
            config.namespace.clone().unwrap_or_else(|| cluster.default_namespace.clone())
        }
    };
    let target = |name: &str, selected_by: String, from_alert: bool| Target {
        namespace: namespace.clone(),
        name: name.to_owned(),
        selected_by,
        from_alert,
        prefetched: None,
    };

    if let Some(name) = label("deployment") {
        if is_dns1123_subdomain(name) {
            out.targets.push(target(name, format!("alert label deployment={name}"), true));
        } else {
            out.notes
                .push(format!("alert label deployment={name:?} is not a Deployment name; ignored"));
        }
    }
    if out.targets.is_empty()
        && let Some(pod) = label("pod")
    {
        if !is_dns1123_subdomain(pod) {
            out.notes.push(format!("alert label pod={pod:?} is not a pod name; ignored"));
        } else {
            match deployment_of_pod(cluster, &namespace, pod).await {
                Ok(Ok(name)) => {
                    out.targets.push(target(&name, format!("alert label pod={pod}"), true));
                }
                Ok(Err(why)) => out.notes.push(why),
                Err(e) if e.is_fatal() => return Err(e),
                // Crash-looping pods get replaced: the alert's pod may be gone already.
                // A Deployment's pod is named `<deployment>-<template hash>-<suffix>`.
                Err(KubernetesError::NotFound { .. }) => {
                    match deployment_named_like(cluster, &namespace, pod).await {
                        Ok(Some(deployment)) => {
                            let name = deployment.metadata.name.clone().unwrap_or_default();
                            let mut t = target(
                                &name,
                                format!("alert label pod={pod} (pod gone; Deployment named by its prefix)"),
                                true,
                            );
                            t.prefetched = Some(Box::new(deployment));
                            out.targets.push(t);
                        }
                        Ok(None) => out.notes.push(format!(
                            "alert label pod={pod}: no such pod in {namespace}, and no Deployment its name points to"
                        )),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => out.problems.push(e),
            }
        }
    }
    if out.targets.is_empty()
        && let Some(service) = label("service")
    {
        match config.service_deployments.get(service) {
            Some(name) => out.targets.push(target(
                name,
                format!("alert label service={service} (service_deployments)"),
                true,
            )),
            None if config.deployments.is_empty() && config.label_selector.is_none() => {
                out.notes.push(format!(
                    "alert label service={service} has no entry in `service_deployments`"
                ));
            }
            None => {}
        }
    }
    if !out.targets.is_empty() {
        return Ok(out);
    }

    for name in &config.deployments {
        out.targets.push(target(name, "config deployments".to_owned(), false));
    }
    if let Some(selector) = &config.label_selector {
        match cluster.list::<Deployment>(&namespace, Some(selector)).await {
            Ok(listed) => {
                if listed.truncated {
                    out.notes.push(format!(
                        "label_selector {selector} matched more Deployments than max_list_items"
                    ));
                }
                for deployment in listed.items {
                    let name = deployment.metadata.name.clone().unwrap_or_default();
                    let mut t = target(&name, format!("config label_selector {selector}"), false);
                    t.prefetched = Some(Box::new(deployment));
                    out.targets.push(t);
                }
            }
            Err(e) if e.is_fatal() => return Err(e),
            Err(e) => out.problems.push(e),
        }
    }
    Ok(out)
}

/// The Deployment a vanished pod's name points to (`web-7d9c8b6f4-x2k4p` → `web`), if it
/// exists. Only fatal errors are returned; anything else means "none".
async fn deployment_named_like(
    cluster: &Cluster,
    namespace: &str,
    pod: &str,
) -> Result<Option<Deployment>, KubernetesError> {
    let Some(name) = deployment_prefix(pod) else { return Ok(None) };
    match cluster.get::<Deployment>(namespace, name).await {
        Ok(deployment) => Ok(Some(deployment)),
        Err(e) if e.is_fatal() => Err(e),
        Err(_) => Ok(None),
    }
}

/// `<deployment>-<pod-template-hash>-<5 characters>` → `<deployment>`.
fn deployment_prefix(pod: &str) -> Option<&str> {
    let mut parts = pod.rsplitn(3, '-');
    let suffix = parts.next()?;
    let hash = parts.next()?;
    let prefix = parts.next()?;
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (suffix.len() == 5 && alnum(suffix) && (6..=10).contains(&hash.len()) && alnum(hash))
        .then_some(prefix)
        .filter(|p| !p.is_empty())
}

/// The Deployment that owns `pod`, through its controlling ReplicaSet. `Ok(Err(why))`
/// when the pod is not managed by a Deployment.
async fn deployment_of_pod(
    cluster: &Cluster,
    namespace: &str,
    pod: &str,
) -> Result<Result<String, String>, KubernetesError> {
    let pod_object: Pod = cluster.get(namespace, pod).await?;
    let Some(owner) = controller_of(&pod_object.metadata) else {
        return Ok(Err(format!("pod {namespace}/{pod} has no controller; no Deployment to read")));
    };
    if owner.kind != "ReplicaSet" {
        return Ok(Err(format!(
            "pod {namespace}/{pod} is managed by {} {}, not by a Deployment",
            owner.kind, owner.name
        )));
    }
    let rs: ReplicaSet = cluster.get(namespace, &owner.name).await?;
    match controller_of(&rs.metadata) {
        Some(owner) if owner.kind == "Deployment" => Ok(Ok(owner.name.clone())),
        _ => Ok(Err(format!(
            "pod {namespace}/{pod} belongs to ReplicaSet {} which no Deployment controls",
            rs.metadata.name.unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_pod_name_points_to_its_deployment() {
        assert_eq!(deployment_prefix("checkout-web-7d9c8b6f4-x2k4p"), Some("checkout-web"));
        assert_eq!(deployment_prefix("web-0"), None, "a StatefulSet pod");
        assert_eq!(deployment_prefix("web-x2k4p"), None, "a bare ReplicaSet or Job pod");
    }
}
