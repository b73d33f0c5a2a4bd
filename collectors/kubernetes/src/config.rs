//! The `[[collectors.kubernetes]]` table: how to reach the cluster, which Deployments to
//! look at when the alert does not name one, and the caps. The config is the factory: it
//! validates itself and builds the [`KubernetesCollector`](crate::KubernetesCollector).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};
use witness_log_analysis::Matchers;

use crate::commands::{is_dns1123_label, is_dns1123_subdomain};

/// Where the client's credentials and API server address come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentials {
    /// The pod's service account when witness runs in a pod (`KUBERNETES_SERVICE_HOST` is
    /// set and neither `kubeconfig_path` nor `context` is given), else the kubeconfig.
    #[default]
    Auto,
    /// Always the pod's service account (`/var/run/secrets/kubernetes.io/serviceaccount`).
    InCluster,
    /// Always the kubeconfig (`kubeconfig_path`, else `$KUBECONFIG`, else `~/.kube/config`).
    Kubeconfig,
}

/// One `[[collectors.kubernetes]]` instance.
///
/// Which Deployments are read, in order of precedence: the alert's labels (`deployment`,
/// `pod` resolved through its ReplicaSet to its Deployment, `service` through
/// `service_deployments`), then `deployments`, then `label_selector`. The namespace is the
/// alert's `namespace` label, else `namespace`, else the kubeconfig context's namespace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesConfig {
    /// Instance name, unique among `kubernetes` instances; names `evidence/kubernetes-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Where credentials come from: `auto` (service account in a pod, else kubeconfig),
    /// `in_cluster` or `kubeconfig`.
    #[serde(default)]
    pub credentials: Credentials,
    /// The kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    #[serde(default)]
    pub kubeconfig_path: Option<PathBuf>,
    /// The kubeconfig context to use (default: its `current-context`). Suggested commands
    /// carry it as `--context`.
    #[serde(default)]
    pub context: Option<String>,
    /// The namespace when the alert has no `namespace` label (default: the context's).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Deployments to read when the alert names none.
    #[serde(default)]
    pub deployments: Vec<String>,
    /// A label selector (`app=web,tier!=batch`) choosing the Deployments to read when the
    /// alert names none and `deployments` is empty.
    #[serde(default)]
    pub label_selector: Option<String>,
    /// Whether the alert's `namespace`, `deployment`, `pod` and `service` labels choose
    /// what is read (default true).
    #[serde(default = "default_use_alert_labels")]
    pub use_alert_labels: bool,
    /// Maps an alert's `service` label to the Deployment behind it
    /// (`service_deployments = { checkout = "checkout-web" }`).
    #[serde(default)]
    pub service_deployments: BTreeMap<String, String>,
    /// Deadline of each API call in seconds (default 10); never past the instance's deadline.
    #[serde(default = "default_request_timeout_secs")]
    pub request_timeout_secs: u64,
    /// Most Deployments read in one run (default 5); the rest are named in a note.
    #[serde(default = "default_max_deployments")]
    pub max_deployments: usize,
    /// Items asked for per page of a list call (`limit`, default 250).
    #[serde(default = "default_list_page_size")]
    pub list_page_size: u32,
    /// Most items read from one list call across its pages (default 5000); past it the list
    /// is truncated and a note says so.
    #[serde(default = "default_max_list_items")]
    pub max_list_items: usize,
    /// Most pods kept per Deployment (default 50; problem pods first).
    #[serde(default = "default_max_pods")]
    pub max_pods: usize,
    /// Most events kept per Deployment (default 100; Warning first).
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// Rollouts this many minutes before the window still get a timeline event (default 60):
    /// a bad deploy often precedes the alert by more than the window.
    #[serde(default = "default_rollout_margin_mins")]
    pub rollout_margin_mins: u64,
    /// Read the logs of the Deployments' pods (`get` on `pods/log`) over the window and its
    /// baseline, through the same analysis as the `logs` kind (default true).
    #[serde(default = "default_pod_logs")]
    pub pod_logs: bool,
    /// Most pods whose logs are read per Deployment (default 10), taken in turn from each
    /// revision (the current one first), pods in trouble first; the rest are named in a note.
    #[serde(default = "default_pod_log_max_pods")]
    pub pod_log_max_pods: usize,
    /// Most bytes read of one container instance's log (default 1 MiB): the window's lines
    /// first, then the baseline's with what is left (`limitBytes`).
    #[serde(default = "default_pod_log_max_bytes")]
    pub pod_log_max_bytes: u64,
    /// Most bytes of pod logs read in one run, over every Deployment (default 16 MiB).
    #[serde(default = "default_pod_log_max_total_bytes")]
    pub pod_log_max_total_bytes: u64,
    /// Container logs read at once (default 4).
    #[serde(default = "default_pod_log_concurrency")]
    pub pod_log_concurrency: usize,
    /// Regular expressions of pod log lines that count as errors when they have no level
    /// field (default: the `logs` kind's `patterns`).
    #[serde(default = "witness_log_analysis::default_patterns")]
    pub pod_log_patterns: Vec<String>,
    /// Regular expressions of pod log lines that never count as errors.
    #[serde(default)]
    pub pod_log_exclude: Vec<String>,
}

fn default_use_alert_labels() -> bool {
    true
}
fn default_request_timeout_secs() -> u64 {
    10
}
fn default_max_deployments() -> usize {
    5
}
fn default_list_page_size() -> u32 {
    250
}
fn default_max_list_items() -> usize {
    5000
}
fn default_max_pods() -> usize {
    50
}
fn default_max_events() -> usize {
    100
}
fn default_rollout_margin_mins() -> u64 {
    60
}
fn default_pod_logs() -> bool {
    true
}
fn default_pod_log_max_pods() -> usize {
    10
}
fn default_pod_log_max_bytes() -> u64 {
    1 << 20
}
fn default_pod_log_max_total_bytes() -> u64 {
    16 << 20
}
fn default_pod_log_concurrency() -> usize {
    4
}

impl KubernetesConfig {
    /// A config with every default, for tests and examples.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            credentials: Credentials::default(),
            kubeconfig_path: None,
            context: None,
            namespace: None,
            deployments: Vec::new(),
            label_selector: None,
            use_alert_labels: default_use_alert_labels(),
            service_deployments: BTreeMap::new(),
            request_timeout_secs: default_request_timeout_secs(),
            max_deployments: default_max_deployments(),
            list_page_size: default_list_page_size(),
            max_list_items: default_max_list_items(),
            max_pods: default_max_pods(),
            max_events: default_max_events(),
            rollout_margin_mins: default_rollout_margin_mins(),
            pod_logs: default_pod_logs(),
            pod_log_max_pods: default_pod_log_max_pods(),
            pod_log_max_bytes: default_pod_log_max_bytes(),
            pod_log_max_total_bytes: default_pod_log_max_total_bytes(),
            pod_log_concurrency: default_pod_log_concurrency(),
            pod_log_patterns: witness_log_analysis::default_patterns(),
            pod_log_exclude: Vec::new(),
        }
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// The compiled `pod_log_patterns` and `pod_log_exclude`.
    pub(crate) fn pod_log_matchers(&self) -> Result<Matchers, ConfigProblem> {
        Matchers::new(&self.pod_log_patterns, &self.pod_log_exclude).map_err(|(list, e)| {
            ConfigProblem::new(format!("pod_log_{}", list.key()), e.to_string())
        })
    }
}

impl CollectorConfig for KubernetesConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.credentials == Credentials::InCluster && self.kubeconfig_path.is_some() {
            problems.push(ConfigProblem::new(
                "kubeconfig_path",
                "is not used with `credentials = \"in_cluster\"`; remove one of them",
            ));
        }
        if self.credentials == Credentials::InCluster && self.context.is_some() {
            problems.push(ConfigProblem::new(
                "context",
                "is not used with `credentials = \"in_cluster\"`; remove one of them",
            ));
        }
        if let Some(ns) = &self.namespace
            && !is_dns1123_label(ns)
        {
            problems.push(ConfigProblem::new(
                "namespace",
                format!(
                    "{ns:?} is not a namespace name (lowercase letters, digits, '-', at most 63)"
                ),
            ));
        }
        for (i, name) in self.deployments.iter().enumerate() {
            if !is_dns1123_subdomain(name) {
                problems.push(ConfigProblem::new(
                    format!("deployments[{i}]"),
                    format!(
                        "{name:?} is not a Deployment name (lowercase letters, digits, '-', '.')"
                    ),
                ));
            }
        }
        if !self.deployments.is_empty() && self.label_selector.is_some() {
            problems.push(ConfigProblem::new(
                "label_selector",
                "set either `deployments` or `label_selector`, not both",
            ));
        }
        if let Some(selector) = &self.label_selector
            && selector.trim().is_empty()
        {
            problems.push(ConfigProblem::new("label_selector", "is empty"));
        }
        for (service, deployment) in &self.service_deployments {
            if !is_dns1123_subdomain(deployment) {
                problems.push(ConfigProblem::new(
                    format!("service_deployments.{service}"),
                    format!("{deployment:?} is not a Deployment name"),
                ));
            }
        }
        problems.extend(ConfigProblem::out_of_range([
            ("request_timeout_secs", self.request_timeout_secs, witness_collector::TIMEOUT_SECS),
            ("max_deployments", self.max_deployments as u64, 1..=1000),
            ("list_page_size", u64::from(self.list_page_size), 1..=10_000),
            ("max_list_items", self.max_list_items as u64, 1..=1_000_000),
            ("max_pods", self.max_pods as u64, 1..=100_000),
            ("max_events", self.max_events as u64, 1..=100_000),
            ("rollout_margin_mins", self.rollout_margin_mins, 0..=7 * 24 * 60),
            ("pod_log_max_pods", self.pod_log_max_pods as u64, 1..=1000),
            ("pod_log_max_bytes", self.pod_log_max_bytes, 1024..=1 << 30),
            ("pod_log_max_total_bytes", self.pod_log_max_total_bytes, 1024..=1 << 36),
            ("pod_log_concurrency", self.pod_log_concurrency as u64, 1..=64),
        ]));
        if self.pod_log_max_total_bytes < self.pod_log_max_bytes {
            problems.push(ConfigProblem::new(
                "pod_log_max_total_bytes",
                format!(
                    "{} is less than pod_log_max_bytes ({}): not one container's log would fit",
                    self.pod_log_max_total_bytes, self.pod_log_max_bytes
                ),
            ));
        }
        for (key, list) in [("pod_log_patterns", &self.pod_log_patterns), ("pod_log_exclude", &self.pod_log_exclude)] {
            for (i, e) in witness_log_analysis::matchers::invalid(list) {
                problems.push(ConfigProblem::new(
                    format!("{key}[{i}]"),
                    format!("not a valid regular expression: {e}"),
                ));
            }
        }
        if self.pod_logs && self.pod_log_patterns.is_empty() {
            problems.push(ConfigProblem::new(
                "pod_log_patterns",
                "is empty: only lines with an error level would count as errors; set `pod_logs = false` to read no pod logs",
            ));
        }
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        problems
    }

    fn check_environment(&self) -> Vec<ConfigProblem> {
        match &self.kubeconfig_path {
            Some(path) if !path.is_file() => vec![ConfigProblem::new(
                "kubeconfig_path",
                format!("{} is not a file", path.display()),
            )],
            _ => Vec::new(),
        }
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        let matchers = self.pod_log_matchers().map_err(|p| vec![p])?;
        Ok(Box::new(crate::KubernetesCollector::new(self.clone(), matchers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KubernetesConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_fill_a_minimal_table() {
        let config = parse("name = \"prod\"").unwrap();
        assert_eq!(config.credentials, Credentials::Auto);
        assert!(config.use_alert_labels);
        assert_eq!(config.request_timeout_secs, 10);
        assert!(config.validate().is_empty());
    }

    #[test]
    fn the_example_in_the_crate_docs_is_valid() {
        let docs: String = include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//!"))
            .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
            .collect();
        let start = docs.find("```toml\n").expect("a toml example") + "```toml\n".len();
        let end = start + docs[start..].find("```").expect("its end");
        let example: toml::Table = toml::from_str(&docs[start..end]).unwrap();
        let instance = example["collectors"]["kubernetes"][0].clone();
        let config: KubernetesConfig = instance.try_into().unwrap();
        assert_eq!(config.service_deployments["checkout"], "checkout-web");
        assert!(config.validate().is_empty());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = parse("name = \"prod\"\nnamespaces = [\"a\"]").unwrap_err();
        assert!(err.to_string().contains("unknown field `namespaces`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config = parse(
            r#"
            name = "prod"
            credentials = "in_cluster"
            kubeconfig_path = "/x"
            namespace = "Prod"
            deployments = ["web", "Bad_Name"]
            label_selector = "app=web"
            service_deployments = { checkout = "no way" }
            list_page_size = 0
            "#,
        )
        .unwrap();
        let keys: Vec<String> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "kubeconfig_path",
                "namespace",
                "deployments[1]",
                "label_selector",
                "service_deployments.checkout",
                "list_page_size"
            ]
        );
    }

    #[test]
    fn the_pod_log_keys_are_checked_with_their_messages() {
        let config = parse(
            r#"
            name = "prod"
            pod_log_max_pods = 0
            pod_log_max_bytes = 2147483648
            pod_log_max_total_bytes = 4096
            pod_log_concurrency = 65
            pod_log_patterns = []
            pod_log_exclude = ["ok", "(unclosed"]
            "#,
        )
        .unwrap();
        let problems: Vec<(String, String)> =
            config.validate().into_iter().map(|p| (p.key, p.message)).collect();
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pod_log_max_pods",
                "pod_log_max_bytes",
                "pod_log_concurrency",
                "pod_log_max_total_bytes",
                "pod_log_exclude[1]",
                "pod_log_patterns"
            ]
        );
        assert_eq!(
            problems[3].1,
            "4096 is less than pod_log_max_bytes (2147483648): not one container's log would fit"
        );
        assert!(problems[4].1.starts_with("not a valid regular expression: "), "{}", problems[4].1);
        assert_eq!(
            problems[5].1,
            "is empty: only lines with an error level would count as errors; set `pod_logs = false` to read no pod logs"
        );
        let off = parse("name = \"prod\"\npod_logs = false\npod_log_patterns = []").unwrap();
        assert!(off.validate().is_empty(), "{:?}", off.validate());
    }
}
