//! One run of the collector: connect, choose the Deployments, read each one's objects,
//! and turn them into evidence. Each read that fails is recorded and the others go on: a
//! 403 on events leaves history, pods and HPA intact and names the denied permission. A
//! timeout or an unreachable server stops further calls (they would wait just as long);
//! when nothing was read before that, the run fails with that reason.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Duration;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use serde::Serialize;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};

use crate::api::{Cluster, KubernetesError};
use crate::commands::{CommandTarget, suggest};
use crate::config::KubernetesConfig;
use crate::meta::{is_controlled_by, selector_query};
use crate::report::{DeploymentReport, PodTotals, PodsReport};
use crate::target::{Target, resolve};
use crate::{artifacts, events, history, hpa, pods, report, state};

/// The `kubernetes` collector, built by [`KubernetesConfig`].
pub struct KubernetesCollector {
    config: KubernetesConfig,
}

impl KubernetesCollector {
    pub fn new(config: KubernetesConfig) -> Self {
        Self { config }
    }
}

/// A permission RBAC denied, as `data.forbidden` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
struct Denied {
    verb: &'static str,
    resource: String,
    namespace: String,
}

/// Failures of one run, and the fatal one that stopped it.
#[derive(Default)]
struct Record {
    partial: Vec<String>,
    notes: Vec<String>,
    forbidden: Vec<Denied>,
    fatal: Option<KubernetesError>,
    not_read: Vec<String>,
    first_error: Option<KubernetesError>,
}

impl Record {
    /// Whether calls may still be made; when not, `what` is recorded as not read.
    fn may_call(&mut self, what: &str) -> bool {
        if self.fatal.is_some() {
            self.not_read.push(what.to_owned());
        }
        self.fatal.is_none()
    }

    /// The value of a call, or `None` with the failure recorded against `what`.
    fn check<T>(&mut self, result: Result<T, KubernetesError>, what: &str) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(e) => {
                self.fail(e, what);
                None
            }
        }
    }

    fn fail(&mut self, error: KubernetesError, what: &str) {
        tracing::warn!(error = %error, missing = what, "Kubernetes read failed.");
        if let KubernetesError::Forbidden { verb, resource, namespace, .. } = &error {
            let denied = Denied { verb, resource: resource.clone(), namespace: namespace.clone() };
            if !self.forbidden.contains(&denied) {
                self.forbidden.push(denied);
            }
        }
        let note = format!("{error}; missing: {what}");
        if !self.partial.contains(&note) {
            self.partial.push(note);
        }
        if error.is_fatal() && self.fatal.is_none() {
            self.fatal = Some(error.clone());
        }
        self.first_error.get_or_insert(error);
    }
}

/// Namespace-wide lists shared by the Deployments of one namespace.
#[derive(Default)]
struct NamespaceLists {
    events: Option<Vec<KubeEvent>>,
    hpas: Option<Vec<HorizontalPodAutoscaler>>,
}

#[async_trait]
impl Collector for KubernetesCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let cluster = Cluster::connect(&self.config, ctx.deadline, ctx.cancel.clone())
            .await
            .map_err(|e| collect_error(e, None))?;
        let resolution = resolve(&self.config, &cluster, ctx)
            .await
            .map_err(|e| collect_error(e, Some(&cluster)))?;
        let mut record = Record { notes: resolution.notes, ..Record::default() };
        for problem in resolution.problems {
            record.fail(problem, "the Deployment named by the alert");
        }
        let mut targets = resolution.targets;
        if targets.is_empty() {
            if record.partial.is_empty() {
                let mut evidence = Evidence::skipped(
                    "No Deployment to read: the alert has no deployment, pod or mapped service label, \
                     and neither `deployments` nor `label_selector` chose one.",
                );
                evidence.notes = record.notes;
                return Ok(evidence);
            }
            return Err(CollectError::other(record.partial.join("; ")));
        }
        if targets.len() > self.config.max_deployments {
            let dropped: Vec<String> = targets
                .drain(self.config.max_deployments..)
                .map(|t| format!("{}/{}", t.namespace, t.name))
                .collect();
            record.notes.push(format!(
                "read only the first {} Deployments (max_deployments); not read: {}",
                self.config.max_deployments,
                dropped.join(", ")
            ));
        }

        let mut lists: BTreeMap<String, NamespaceLists> = BTreeMap::new();
        let mut reports = Vec::new();
        for target in targets {
            let key = format!("{}/{}", target.namespace, target.name);
            if !record.may_call(&format!("Deployment {key}")) {
                continue;
            }
            let lists = lists.entry(target.namespace.clone()).or_default();
            if let Some(report) =
                self.read_deployment(&cluster, ctx, target, lists, &mut record).await
            {
                reports.push(report);
            }
        }
        if reports.is_empty() {
            let error = record.fatal.clone().or(record.first_error.clone());
            return Err(match error {
                Some(e) => collect_error(e, Some(&cluster)),
                None => CollectError::other("no Deployment could be read"),
            });
        }
        Ok(self.evidence(ctx, &cluster, reports, record))
    }
}

impl KubernetesCollector {
    /// Reads one Deployment and everything about it; `None` when the Deployment itself
    /// could not be read.
    async fn read_deployment(
        &self,
        cluster: &Cluster,
        ctx: &CollectContext,
        target: Target,
        lists: &mut NamespaceLists,
        record: &mut Record,
    ) -> Option<DeploymentReport> {
        let ns = target.namespace.as_str();
        let key = format!("{ns}/{}", target.name);
        let deployment: Deployment = match target.prefetched {
            Some(d) => *d,
            None => {
                record.check(cluster.get(ns, &target.name).await, &format!("Deployment {key}"))?
            }
        };
        artifacts::put(&ctx.artifacts, &format!("{key}/deployment.json"), &deployment);
        let uid = deployment.metadata.uid.clone().unwrap_or_default();
        let selector = selector_query(&deployment.spec.selector);
        if selector.as_deref().is_none_or(str::is_empty) {
            record.notes.push(format!(
                "Deployment {key} has no usable selector; its ReplicaSets and pods were not listed"
            ));
        }
        let selector = selector.filter(|s| !s.is_empty());

        // ReplicaSets: the rollout history.
        let mut replica_sets = None;
        if let Some(selector) = &selector
            && record.may_call(&format!("rollout history of {key}"))
        {
            let listed = cluster.list::<ReplicaSet>(ns, Some(selector)).await;
            if let Some(listed) = record.check(listed, &format!("rollout history of {key}")) {
                if listed.truncated {
                    record.partial.push(format!(
                        "ReplicaSets of {key} exceed max_list_items; history truncated"
                    ));
                }
                let controlled: Vec<ReplicaSet> = listed
                    .items
                    .into_iter()
                    .filter(|rs| is_controlled_by(&rs.metadata, &uid))
                    .collect();
                artifacts::put(&ctx.artifacts, &format!("{key}/replicasets.json"), &controlled);
                replica_sets = Some(controlled);
            }
        }

        // Events of the namespace, read once for all its Deployments.
        if lists.events.is_none() && record.may_call(&format!("events in {ns}")) {
            let listed = cluster.list::<KubeEvent>(ns, None).await;
            let what = format!(
                "events in namespace {ns} (and the rollout times of ReplicaSets reused by rollbacks)"
            );
            if let Some(listed) = record.check(listed, &what) {
                if listed.truncated {
                    record.notes.push(format!(
                        "events in {ns} exceed max_list_items; the oldest listed were kept"
                    ));
                }
                lists.events = Some(listed.items);
            }
        }
        let namespace_events = lists.events.as_deref();

        let history = replica_sets.as_ref().map(|rss| {
            let ups = namespace_events.map(|e| events::scale_ups(e, &target.name)).unwrap_or_default();
            let history = history::derive(&deployment, rss, &ups);
            for r in history.revisions.iter().filter(|r| r.rolled_out_at.is_none()) {
                record.notes.push(format!(
                    "revision {} of {key} reuses ReplicaSet {} (earlier revisions {:?}) and no ScalingReplicaSet event for it is retained: its rollout time is unknown",
                    r.revision, r.replica_set, r.revision_history
                ));
            }
            history
        });

        // Pods.
        let mut pod_objects = None;
        if let Some(selector) = &selector
            && record.may_call(&format!("pods of {key}"))
        {
            let listed = cluster.list::<Pod>(ns, Some(selector)).await;
            if let Some(listed) = record.check(listed, &format!("pods of {key}")) {
                if listed.truncated {
                    record.partial.push(format!(
                        "pods of {key} exceed max_list_items; pod counts are lower bounds"
                    ));
                }
                let rs_names: Option<Vec<&str>> = replica_sets
                    .as_ref()
                    .map(|rss| rss.iter().filter_map(|rs| rs.metadata.name.as_deref()).collect());
                let pods: Vec<Pod> = listed
                    .items
                    .into_iter()
                    .filter(|p| match (&rs_names, crate::meta::controller_of(&p.metadata)) {
                        // Pods of the selector that another controller owns are not ours.
                        (Some(names), Some(owner)) => names.contains(&owner.name.as_str()),
                        _ => true,
                    })
                    .collect();
                pod_objects = Some(pods);
            }
        }
        let pods_report = pod_objects.as_ref().map(|objects| {
            let summaries: Vec<_> = objects
                .iter()
                .map(|p| {
                    pods::summarize(p, ctx.window, |rs| {
                        history.as_ref().and_then(|h| h.revision_of(rs))
                    })
                })
                .collect();
            let totals = PodTotals::of(&summaries);
            let (kept, total) = pods::rank(summaries, self.config.max_pods);
            if kept.len() < total {
                record.notes.push(format!(
                    "kept {} of {total} pods of {key} (max_pods; problem pods first)",
                    kept.len()
                ));
            }
            let kept_objects: Vec<&Pod> = kept
                .iter()
                .filter_map(|k| {
                    objects.iter().find(|p| p.metadata.name.as_deref() == Some(&k.name))
                })
                .collect();
            artifacts::put(&ctx.artifacts, &format!("{key}/pods.json"), &kept_objects);
            PodsReport { totals, pods: kept }
        });

        // HPAs of the namespace, read once.
        if lists.hpas.is_none() && record.may_call(&format!("HorizontalPodAutoscalers in {ns}")) {
            let listed = cluster.list::<HorizontalPodAutoscaler>(ns, None).await;
            if let Some(listed) =
                record.check(listed, &format!("HorizontalPodAutoscalers in namespace {ns}"))
            {
                lists.hpas = Some(listed.items);
            }
        }
        let hpa_object = lists.hpas.as_deref().and_then(|h| hpa::targeting(h, &target.name));
        if let Some(object) = hpa_object {
            artifacts::put(&ctx.artifacts, &format!("{key}/hpa.json"), object);
        }
        let hpa = hpa_object.map(hpa::summarize);

        // Events about the Deployment, its ReplicaSets, pods and HPA.
        let selected = namespace_events.map(|all| {
            let objects = events::object_set(
                &target.name,
                replica_sets.iter().flatten().filter_map(|rs| rs.metadata.name.as_deref()),
                pod_objects.iter().flatten().filter_map(|p| p.metadata.name.as_deref()),
                hpa.as_ref().map(|h| h.name.as_str()),
            );
            let selected = events::select(all, &objects, ctx.window, self.config.max_events);
            if selected.events.len() < selected.matched {
                record.notes.push(format!(
                    "kept {} of {} events of {key} (max_events; Warning first)",
                    selected.events.len(),
                    selected.matched
                ));
            }
            let kept: Vec<&KubeEvent> = all
                .iter()
                .filter(|e| {
                    let kind = e.involved_object.kind.clone().unwrap_or_default();
                    let name = e.involved_object.name.clone().unwrap_or_default();
                    objects.contains(&(kind, name))
                })
                .take(self.config.max_events)
                .collect();
            artifacts::put(&ctx.artifacts, &format!("{key}/events.json"), &kept);
            selected
        });

        let state = state::derive(&deployment);
        let suggested_commands = match suggest(&CommandTarget {
            namespace: ns,
            deployment: &target.name,
            context: self.config.context.as_deref(),
            previous_revision: history.as_ref().and_then(|h| h.previous_revision),
            spec_replicas: Some(state.spec_replicas),
            hpa: hpa.as_ref().map(|h| (h.name.as_str(), h.max_replicas)),
        }) {
            Ok(commands) => commands,
            Err(why) => {
                record.notes.push(format!("no suggested commands for {key}: {why}"));
                Vec::new()
            }
        };
        Some(DeploymentReport {
            namespace: target.namespace,
            name: target.name,
            selected_by: target.selected_by,
            state,
            history,
            pods: pods_report,
            events: selected,
            hpa_listed: lists.hpas.is_some(),
            hpa,
            suggested_commands,
            from_alert: target.from_alert,
        })
    }

    fn evidence(
        &self,
        ctx: &CollectContext,
        cluster: &Cluster,
        reports: Vec<DeploymentReport>,
        mut record: Record,
    ) -> Evidence {
        let margin = Duration::minutes(
            i64::try_from(self.config.rollout_margin_mins).unwrap_or(i64::MAX / 120_000),
        );
        let chosen = (0..reports.len())
            .max_by_key(|&i| {
                // Earlier listed wins ties: `max_by_key` keeps the last maximum, so rank by
                // reversed index last.
                let (from_alert, score, rollout) = report::relevance(&reports[i], ctx, margin);
                (from_alert, score, rollout, std::cmp::Reverse(i))
            })
            .unwrap_or(0);
        let main = &reports[chosen];
        let mut evidence = Evidence::ok(
            reports.iter().map(|r| report::summary_line(r, ctx)).collect::<Vec<_>>().join("; "),
        );
        evidence.facts = report::facts(main, ctx, reports.len());
        for (i, r) in reports.iter().enumerate() {
            evidence.events.extend(report::timeline(r, i, ctx, margin));
        }
        evidence.events.sort_by_key(|e| e.time);
        if let Some(fatal) = record.fatal.as_ref().filter(|_| !record.not_read.is_empty()) {
            record.partial.push(format!(
                "stopped reading after: {fatal}; not read: {}",
                record.not_read.join(", ")
            ));
        }
        for note in record.partial {
            evidence.add_partial(note);
        }
        for note in record.notes {
            evidence.add_note(note);
        }
        let data = Data {
            server: &cluster.server,
            context: self.config.context.as_deref(),
            facts_deployment: main.key(),
            facts_deployment_reason: if main.from_alert {
                "named by the alert".to_owned()
            } else {
                "most relevant: trouble first, then the newest rollout".to_owned()
            },
            suggested_commands: &main.suggested_commands,
            forbidden: &record.forbidden,
            deployments: &reports,
        };
        evidence.data(data)
    }
}

/// The evidence's `data`.
#[derive(Serialize)]
struct Data<'a> {
    server: &'a str,
    context: Option<&'a str>,
    /// `namespace/name` of the Deployment the facts describe.
    facts_deployment: String,
    facts_deployment_reason: String,
    /// The suggested commands for that Deployment.
    suggested_commands: &'a [crate::commands::SuggestedCommand],
    /// Permissions RBAC denied.
    forbidden: &'a [Denied],
    deployments: &'a [DeploymentReport],
}

fn collect_error(error: KubernetesError, cluster: Option<&Cluster>) -> CollectError {
    let server = cluster.map_or_else(|| "the API server".to_owned(), |c| c.server.clone());
    match error {
        KubernetesError::Timeout { verb, resource, after, server } => CollectError::Timeout {
            what: format!("the Kubernetes API server at {server} (`{verb} {resource}`)"),
            after,
        },
        KubernetesError::Unreachable { reason, .. } => CollectError::Unreachable {
            target: format!("the Kubernetes API server at {server}"),
            reason,
        },
        KubernetesError::Credentials(reason) => CollectError::Config(reason),
        other => CollectError::other(other),
    }
}
