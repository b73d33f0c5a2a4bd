//! The one place collector kinds are registered: the `[collectors]` table of the config
//! file has one array per kind, and [`KINDS`] describes them for `witness list` and the
//! docs. Adding a kind means a crate under `collectors/`, a field here, a line in
//! [`CollectorsConfig::instances`] and a row in [`KINDS`].

use serde::Deserialize;
use witness_collector::CollectorConfig;

/// A collector kind, for listings and documentation.
pub struct KindInfo {
    pub name: &'static str,
    pub sees: &'static str,
}

/// Every kind this build knows, in the order reports list them.
pub const KINDS: &[KindInfo] = &[
    KindInfo { name: "logs", sees: "log files by glob, rotated and .gz too, inside the window" },
    KindInfo { name: "http", sees: "health endpoints: status, latency, body, repeated probes" },
    KindInfo { name: "postgres", sees: "activity, lock chains, connection pressure, deadlocks" },
    KindInfo { name: "kubernetes", sees: "rollout history, rollout state, pods, events, HPA" },
    KindInfo { name: "status_page", sees: "vendor status pages: indicator, incidents, components" },
    KindInfo { name: "git", sees: "commits, tags and the files they touch before the anchor" },
    KindInfo { name: "host", sees: "CPU, load, memory, swap, disks, network, top processes" },
];

/// The `[collectors]` table: one array of instances per kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorsConfig {
    /// `[[collectors.logs]]`: log files searched over the window.
    #[cfg(feature = "logs")]
    #[serde(default)]
    pub logs: Vec<witness_logs::LogsConfig>,
    /// `[[collectors.http]]`: health endpoints probed during the run.
    #[cfg(feature = "http")]
    #[serde(default)]
    pub http: Vec<witness_http::HttpConfig>,
    /// `[[collectors.postgres]]`: PostgreSQL servers to read activity and locks from.
    #[cfg(feature = "postgres")]
    #[serde(default)]
    pub postgres: Vec<witness_postgres::PostgresConfig>,
    /// `[[collectors.kubernetes]]`: Deployments whose rollouts, pods and HPA are read.
    #[cfg(feature = "kubernetes")]
    #[serde(default)]
    pub kubernetes: Vec<witness_kubernetes::KubernetesConfig>,
    /// `[[collectors.status_page]]`: vendor status pages.
    #[cfg(feature = "status_page")]
    #[serde(default)]
    pub status_page: Vec<witness_status_page::StatusPageConfig>,
    /// `[[collectors.git]]`: repositories of the service.
    #[cfg(feature = "git")]
    #[serde(default)]
    pub git: Vec<witness_git::GitConfig>,
    /// `[[collectors.host]]`: the machine witness runs on.
    #[serde(default)]
    pub host: Vec<witness_host::HostConfig>,
}

impl CollectorsConfig {
    /// Every configured instance with the config key of its array (`collectors.logs`).
    pub fn instances(&self) -> Vec<(&'static str, usize, &dyn CollectorConfig)> {
        let mut all: Vec<(&'static str, usize, &dyn CollectorConfig)> = Vec::new();
        fn push<'a, C: CollectorConfig>(
            all: &mut Vec<(&'static str, usize, &'a dyn CollectorConfig)>,
            key: &'static str,
            items: &'a [C],
        ) {
            all.extend(items.iter().enumerate().map(|(i, c)| (key, i, c as &dyn CollectorConfig)));
        }
        #[cfg(feature = "logs")]
        push(&mut all, "logs", &self.logs);
        #[cfg(feature = "http")]
        push(&mut all, "http", &self.http);
        #[cfg(feature = "postgres")]
        push(&mut all, "postgres", &self.postgres);
        #[cfg(feature = "kubernetes")]
        push(&mut all, "kubernetes", &self.kubernetes);
        #[cfg(feature = "status_page")]
        push(&mut all, "status_page", &self.status_page);
        #[cfg(feature = "git")]
        push(&mut all, "git", &self.git);
        push(&mut all, "host", &self.host);
        all
    }

    /// What `collect now` runs with no config file: the host, and the git repository of
    /// the current directory when there is one.
    pub fn zero_config() -> Self {
        #[allow(unused_mut)] // only the optional kinds add to it
        let mut config = CollectorsConfig::default();
        config.host.push(witness_host::HostConfig::named("local"));
        #[cfg(feature = "git")]
        if let Some(repo) = witness_git::GitConfig::discover_from_current_dir() {
            config.git.push(repo);
        }
        config
    }
}
