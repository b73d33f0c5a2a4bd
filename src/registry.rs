//! The collector kinds this build knows, and nothing more: one line per kind in the
//! `kinds!` list below, behind the kind's cargo feature. Everything else about a kind —
//! what it sees, the facts it publishes and how they merge, the alert labels it reads — is
//! its declaration (`witness_<kind>::KIND`), in its own crate. From the list come
//! [`KINDS`] (every declaration, for `witness list`, `--only` and the rules) and the
//! `[collectors]` table of the config file, one array of instances per kind built in.
//!
//! Adding a kind is its crate under `collectors/`, one line here and one cargo feature
//! (README, "Adding a collector kind").

use serde::Deserialize;
use witness_collector::{CollectorConfig, KindDecl};

/// Expands the list of kinds into [`KINDS`], [`CollectorsConfig`] (a field per kind built
/// in, so serde's `deny_unknown_fields` names an unknown or left-out kind with its line)
/// and [`CollectorsConfig::instances`]. A line is `field: crate::Config`, the field being
/// the kind's name (the `[[collectors.<kind>]]` key), optionally behind a `#[cfg(...)]`.
/// A kind left out by its feature keeps its declaration in [`KINDS`]: the rules still
/// know its facts, and a config naming it is refused.
macro_rules! kinds {
    ($( $(#[$only:meta])? $kind:ident: $krate:ident::$config:ident, )*) => {
        /// Every kind's declaration, in the order reports list them.
        pub const KINDS: &[&KindDecl] = &[$(&$krate::KIND),*];

        /// The `[collectors]` table: one array of instances per kind built in.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CollectorsConfig {
            $(
                #[doc = concat!("`[[collectors.", stringify!($kind), "]]`: see `collectors/",
                    stringify!($kind), "`.")]
                $(#[$only])?
                #[serde(default)]
                pub $kind: Vec<$krate::$config>,
            )*
        }

        impl CollectorsConfig {
            /// Every configured instance with its kind, which is also the config key of its
            /// array (`collectors.logs`), and its index in that array.
            pub fn instances(&self) -> Vec<(&'static str, usize, &dyn CollectorConfig)> {
                let mut all: Vec<(&'static str, usize, &dyn CollectorConfig)> = Vec::new();
                $(
                    $(#[$only])?
                    all.extend(self.$kind.iter().enumerate().map(|(i, c)| {
                        (stringify!($kind), i, c as &dyn CollectorConfig)
                    }));
                )*
                all
            }
        }

        /// Each line's field name beside its declaration's name, which must agree.
        #[cfg(test)]
        const FIELDS: &[(&str, &str)] = &[$((stringify!($kind), $krate::KIND.name)),*];
    };
}

kinds! {
    #[cfg(feature = "logs")] logs: witness_logs::LogsConfig,
    #[cfg(feature = "http")] http: witness_http::HttpConfig,
    #[cfg(feature = "postgres")] postgres: witness_postgres::PostgresConfig,
    #[cfg(feature = "kubernetes")] kubernetes: witness_kubernetes::KubernetesConfig,
    #[cfg(feature = "status_page")] status_page: witness_status_page::StatusPageConfig,
    #[cfg(feature = "git")] git: witness_git::GitConfig,
    #[cfg(feature = "prometheus")] prometheus: witness_prometheus::PrometheusConfig,
    host: witness_host::HostConfig,
}

impl CollectorsConfig {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_names_its_kind_as_the_kind_declares_itself() {
        for (field, name) in FIELDS {
            assert_eq!(field, name, "the registry line `{field}` holds the kind `{name}`");
        }
        assert_eq!(FIELDS.len(), KINDS.len());
    }
}
