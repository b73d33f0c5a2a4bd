//! One run of the collector: connect, choose the Deployments, read each one's objects,
//! and turn them into evidence. Each read that fails is recorded ([`Record`]) and the
//! others go on: a 403 on events leaves history, pods and HPA intact and names the denied
//! permission. A timeout or an unreachable server stops further calls (they would wait
//! just as long); when nothing was read before that, the run fails with that reason.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::Duration;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event as KubeEvent, Pod};
use serde::Serialize;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};

use witness_log_analysis::Matchers;

use crate::api::{Cluster, KubernetesError, Namespaced};
use crate::commands::{CommandTarget, SuggestedCommand, suggest};
use crate::config::KubernetesConfig;
use crate::events::Selected;
use crate::history::History;
use crate::meta::{controller_of, is_controlled_by, selector_query};
use crate::record::{Denied, Record, collect_error};
use crate::report::{DeploymentReport, PodTotals, PodsReport};
use crate::target::{Target, resolve};
use crate::{artifacts, events, history, hpa, pod_logs, pods, report, state};

/// The `kubernetes` collector, built by [`KubernetesConfig`].
pub struct KubernetesCollector {
    config: KubernetesConfig,
    /// What counts as an error in pod logs (`pod_log_patterns`, `pod_log_exclude`).
    matchers: Matchers,
}

impl KubernetesCollector {
    pub fn new(config: KubernetesConfig, matchers: Matchers) -> Self {
        Self { config, matchers }
    }
}

/// Namespace-wide lists, read once for all the Deployments of a namespace.
#[derive(Default)]
struct NamespaceLists {
    events: Option<Vec<KubeEvent>>,
    hpas: Option<Vec<HorizontalPodAutoscaler>>,
}

#[async_trait]
impl Collector for KubernetesCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let cluster =
            Cluster::connect(&self.config, ctx.deadline, ctx.cancel.clone(), ctx.redactor.clone())
            .await
            .map_err(|e| collect_error(e, "the API server"))?;
        tracing::debug!(server = %cluster.server, "Reading Kubernetes Deployments.");
        let resolution = resolve(&self.config, &cluster, ctx)
            .await
            .map_err(|e| collect_error(e, &cluster.server))?;
        let mut record = Record { notes: resolution.notes, ..Record::default() };
        for problem in resolution.problems {
            record.fail(problem, "the Deployment named by the alert");
        }
        let mut targets = resolution.targets;
        if targets.is_empty() {
            if record.partial.is_empty() {
                let mut evidence = Evidence::skipped(
                    "No Deployment to read: the alert has no deployment, pod or mapped service \
                     label, and neither `deployments` nor `label_selector` chose one.",
                );
                evidence.notes = record.notes;
                return Ok(evidence);
            }
            return Err(record.into_error(&cluster.server));
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
        let mut reports: Vec<DeploymentReport> = Vec::new();
        for target in targets {
            if !record.may_call(&format!("Deployment {}/{}", target.namespace, target.name)) {
                continue;
            }
            let lists = lists.entry(target.namespace.clone()).or_default();
            let mut reading =
                Reading { cluster: &cluster, ctx, config: &self.config, record: &mut record };
            if let Some(report) = reading.deployment(target, lists).await {
                reports.push(report);
            }
        }
        if reports.is_empty() {
            return Err(record.into_error(&cluster.server));
        }
        if self.config.pod_logs {
            // Last, so that the objects are read whatever the logs cost.
            self.pod_logs(ctx, &cluster, &mut reports, &mut record).await;
        }
        Ok(self.evidence(ctx, &cluster, reports, record))
    }
}

/// The reads about one Deployment, each recording its failure and going on.
struct Reading<'a> {
    cluster: &'a Cluster,
    ctx: &'a CollectContext,
    config: &'a KubernetesConfig,
    record: &'a mut Record,
}

impl Reading<'_> {
    /// Reads one Deployment and everything about it; `None` when the Deployment itself
    /// could not be read.
    async fn deployment(
        &mut self,
        target: Target,
        lists: &mut NamespaceLists,
    ) -> Option<DeploymentReport> {
        let ns = target.namespace.as_str();
        let key = format!("{ns}/{}", target.name);
        let deployment: Deployment = match target.prefetched {
            Some(d) => *d,
            None => {
                let got = self.cluster.get(ns, &target.name).await;
                self.record.check(got, &format!("Deployment {key}"))?
            }
        };
        self.keep(&key, "deployment.json", &deployment);
        let selector = selector_query(&deployment.spec.selector).filter(|s| !s.is_empty());
        if selector.is_none() {
            self.record.notes.push(format!(
                "Deployment {key} has no usable selector; its ReplicaSets and pods were not listed"
            ));
        }

        let replica_sets = match &selector {
            Some(selector) => self.replica_sets(&deployment, ns, &key, selector).await,
            None => None,
        };
        if lists.events.is_none() {
            let what = format!(
                "events in namespace {ns} (and the rollout times of ReplicaSets reused by rollbacks)"
            );
            lists.events = self.list::<KubeEvent>(ns, None, &what).await;
        }
        let history = replica_sets.as_ref().map(|rss| {
            let ups = lists.events.as_deref().map(|e| events::scale_ups(e, &target.name));
            self.history(&deployment, &key, rss, &ups.unwrap_or_default())
        });
        let pod_objects = match &selector {
            Some(selector) => self.pods(&key, ns, selector, replica_sets.as_deref()).await,
            None => None,
        };
        let pods_report = pod_objects.as_ref().map(|p| self.pods_report(&key, p, history.as_ref()));
        if lists.hpas.is_none() {
            let what = format!("HorizontalPodAutoscalers in {ns}");
            lists.hpas = self.list::<HorizontalPodAutoscaler>(ns, None, &what).await;
        }
        let hpa_object = lists.hpas.as_deref().and_then(|h| hpa::targeting(h, &target.name));
        if let Some(object) = hpa_object {
            self.keep(&key, "hpa.json", object);
        }
        let hpa = hpa_object.map(hpa::summarize);
        let selected = lists.events.as_deref().map(|all| {
            let objects = events::object_set(
                &target.name,
                replica_sets.iter().flatten().filter_map(|rs| rs.metadata.name.as_deref()),
                pod_objects.iter().flatten().filter_map(|p| p.metadata.name.as_deref()),
                hpa.as_ref().map(|h| h.name.as_str()),
            );
            self.events(&key, all, &objects)
        });

        let state = state::derive(&deployment);
        let suggested_commands = self.commands(
            &key,
            CommandTarget {
                namespace: ns,
                deployment: &target.name,
                context: self.config.context.as_deref(),
                previous_revision: history.as_ref().and_then(|h| h.previous_revision),
                spec_replicas: Some(state.spec_replicas),
                hpa: hpa.as_ref().map(|h| (h.name.as_str(), h.max_replicas)),
            },
        );
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
            pod_logs: None,
            from_alert: target.from_alert,
        })
    }

    /// A list call, unless an earlier failure stopped the reading; `None` when it failed.
    async fn list<K>(&mut self, ns: &str, selector: Option<&str>, what: &str) -> Option<Vec<K>>
    where
        K: Namespaced,
    {
        if !self.record.may_call(what) {
            return None;
        }
        let listed = self.record.check(self.cluster.list::<K>(ns, selector).await, what)?;
        if listed.truncated {
            self.record.partial.push(format!(
                "{what}: more than max_list_items ({}) objects; only the first were read",
                self.config.max_list_items
            ));
        }
        Some(listed.items)
    }

    /// The ReplicaSets the Deployment controls, among those its selector matches.
    async fn replica_sets(
        &mut self,
        deployment: &Deployment,
        ns: &str,
        key: &str,
        selector: &str,
    ) -> Option<Vec<ReplicaSet>> {
        let uid = deployment.metadata.uid.as_deref().unwrap_or_default();
        let listed = self
            .list::<ReplicaSet>(ns, Some(selector), &format!("rollout history of {key}"))
            .await?;
        let controlled: Vec<ReplicaSet> =
            listed.into_iter().filter(|rs| is_controlled_by(&rs.metadata, uid)).collect();
        self.keep(key, "replicasets.json", &controlled);
        Some(controlled)
    }

    fn history(
        &mut self,
        deployment: &Deployment,
        key: &str,
        rss: &[ReplicaSet],
        ups: &[events::ScaleUp],
    ) -> History {
        let history = history::derive(deployment, rss, ups);
        for r in history.revisions.iter().filter(|r| r.rolled_out_at.is_none()) {
            self.record.notes.push(format!(
                "revision {} of {key} reuses ReplicaSet {} (earlier revisions {:?}) and no \
                 ScalingReplicaSet event for it is retained: its rollout time is unknown",
                r.revision, r.replica_set, r.revision_history
            ));
        }
        history
    }

    /// The pods of the selector, less those another controller owns.
    async fn pods(
        &mut self,
        key: &str,
        ns: &str,
        selector: &str,
        rss: Option<&[ReplicaSet]>,
    ) -> Option<Vec<Pod>> {
        let listed = self.list::<Pod>(ns, Some(selector), &format!("pods of {key}")).await?;
        let ours: Option<BTreeSet<&str>> =
            rss.map(|rss| rss.iter().filter_map(|rs| rs.metadata.name.as_deref()).collect());
        Some(
            listed
                .into_iter()
                .filter(|p| match (&ours, controller_of(&p.metadata)) {
                    (Some(ours), Some(owner)) => ours.contains(owner.name.as_str()),
                    _ => true,
                })
                .collect(),
        )
    }

    fn pods_report(&mut self, key: &str, objects: &[Pod], history: Option<&History>) -> PodsReport {
        let window = self.ctx.window;
        let summaries: Vec<_> = objects
            .iter()
            .map(|p| pods::summarize(p, window, |rs| history.and_then(|h| h.revision_of(rs))))
            .collect();
        let totals = PodTotals::of(&summaries);
        let (kept, total) = pods::rank(summaries, self.config.max_pods);
        if kept.len() < total {
            self.record.notes.push(format!(
                "kept {} of {total} pods of {key} (max_pods; problem pods first); totals count all",
                kept.len()
            ));
        }
        let kept_objects: Vec<&Pod> = kept
            .iter()
            .filter_map(|k| objects.iter().find(|p| p.metadata.name.as_deref() == Some(&k.name)))
            .collect();
        self.keep(key, "pods.json", &kept_objects);
        PodsReport { totals, pods: kept }
    }

    fn events(
        &mut self,
        key: &str,
        all: &[KubeEvent],
        objects: &BTreeSet<(String, String)>,
    ) -> Selected {
        let window = self.ctx.window;
        let selected = events::select(all, objects, window, self.config.max_events);
        if selected.events.len() < selected.matched {
            self.record.notes.push(format!(
                "kept {} of {} events of {key} (max_events; Warning first)",
                selected.events.len(),
                selected.matched
            ));
        }
        let raw: Vec<&KubeEvent> = all
            .iter()
            .filter(|e| events::is_about(e, objects, window))
            .take(self.config.max_events)
            .collect();
        self.keep(key, "events.json", &raw);
        selected
    }

    fn commands(&mut self, key: &str, target: CommandTarget<'_>) -> Vec<SuggestedCommand> {
        suggest(&target).unwrap_or_else(|why| {
            self.record.notes.push(format!("no suggested commands for {key}: {why}"));
            Vec::new()
        })
    }

    fn keep(&self, key: &str, file: &str, objects: &impl Serialize) {
        artifacts::put(&self.ctx.artifacts, &format!("{key}/{file}"), objects);
    }
}

impl KubernetesCollector {
    /// Reads the logs of every Deployment's pods (see [`pod_logs`]), the one most likely
    /// to explain the alert first, under the run's byte budget and before the deadline.
    async fn pod_logs(
        &self,
        ctx: &CollectContext,
        cluster: &Cluster,
        reports: &mut [DeploymentReport],
        record: &mut Record,
    ) {
        let budget = pod_logs::Budget::new(self.config.pod_log_max_total_bytes);
        let reserve = (ctx.remaining() / 10).min(std::time::Duration::from_secs(2));
        let reader = pod_logs::Reader {
            cluster,
            window: ctx.window,
            max_bytes: self.config.pod_log_max_bytes,
            concurrency: self.config.pod_log_concurrency,
            budget: &budget,
            stop_at: ctx.deadline - reserve,
        };
        let margin = self.margin();
        let mut order: Vec<usize> = (0..reports.len()).collect();
        order.sort_by_key(|&i| {
            (std::cmp::Reverse(report::relevance(&reports[i], ctx, margin)), i)
        });
        for i in order {
            let key = reports[i].key();
            let Some(pods) = reports[i].pods.as_ref() else {
                record.notes.push(format!("the pods of {key} were not listed: no pod logs"));
                continue;
            };
            if !record.may_call(&format!("logs of the pods of {key}")) {
                continue;
            }
            let current_revision = reports[i].history.as_ref().and_then(|h| h.current_revision);
            let plan = pod_logs::plan::plan(
                &pods.pods,
                current_revision,
                ctx.window,
                self.config.pod_log_max_pods,
            );
            let streams = plan.pods.iter().flat_map(|p| p.streams.clone()).collect();
            let fetched = reader.read_all(&reports[i].namespace, streams).await;
            for f in &fetched {
                match &f.error {
                    Some(KubernetesError::NotFound { .. }) => record.notes.push(format!(
                        "pod {} of {key} was gone before its logs were read",
                        f.stream.pod
                    )),
                    Some(e) => record.fail(e.clone(), &format!("the log of {}", f.stream.label())),
                    None => {}
                }
            }
            let input = pod_logs::report::Input {
                key: key.clone(),
                index: i,
                plan,
                fetched,
                current_revision,
                anchor: ctx.anchor,
                window: ctx.window,
                matchers: self.matchers.clone(),
                redactor: ctx.redactor.clone(),
                artifacts: ctx.artifacts.clone(),
            };
            let cancel = ctx.cancel.clone();
            // Scanning is CPU work: keep it off the async workers.
            let built = tokio::task::spawn_blocking(move || {
                pod_logs::report::build(input, &move || cancel.is_cancelled())
            })
            .await;
            match built {
                Ok((logs, notes)) => {
                    record.notes.extend(notes.notes);
                    record.partial.extend(notes.partial);
                    reports[i].pod_logs = Some(logs);
                }
                Err(e) => record
                    .partial
                    .push(format!("the pod logs of {key} could not be analysed: {e}")),
            }
        }
        if budget.spent.load(std::sync::atomic::Ordering::Relaxed) {
            record.notes.push(format!(
                "pod logs: pod_log_max_total_bytes ({}) was reached; later logs were cut or not read",
                self.config.pod_log_max_total_bytes
            ));
        }
    }

    fn margin(&self) -> Duration {
        Duration::minutes(
            i64::try_from(self.config.rollout_margin_mins).unwrap_or(i64::MAX / 120_000),
        )
    }

    fn evidence(
        &self,
        ctx: &CollectContext,
        cluster: &Cluster,
        reports: Vec<DeploymentReport>,
        record: Record,
    ) -> Evidence {
        let margin = self.margin();
        // Ties go to the Deployment listed first: `max_by_key` keeps the last maximum.
        let chosen = (0..reports.len())
            .max_by_key(|&i| (report::relevance(&reports[i], ctx, margin), std::cmp::Reverse(i)))
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
        for note in record.partial_notes() {
            evidence.add_partial(note);
        }
        for note in &record.notes {
            evidence.add_note(note.clone());
        }
        let data = Data {
            server: &cluster.server,
            context: self.config.context.as_deref(),
            facts_deployment: main.key(),
            facts_deployment_reason: if main.from_alert {
                "named by the alert"
            } else {
                "most relevant: trouble first, then the newest rollout"
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
    facts_deployment_reason: &'static str,
    /// The suggested commands for that Deployment.
    suggested_commands: &'a [SuggestedCommand],
    /// Permissions RBAC denied.
    forbidden: &'a [Denied],
    deployments: &'a [DeploymentReport],
}
