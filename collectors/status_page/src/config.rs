//! `[[collectors.status_page]]`: one vendor's status page, its format, the components the
//! service depends on, defaults and validation.

use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};
use witness_net::client;

use crate::collector::StatusPageCollector;
use crate::formats::Format;

/// One `[[collectors.status_page]]` instance: one vendor's status page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// Instance name, unique among `status_page` instances; names `evidence/status_page-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The vendor as responders call it (`GitHub`, `Stripe`); it is the value listed in
    /// `status_page.vendors_degraded` and starts every event title.
    pub vendor: String,
    /// The status page's base URL (`https://www.githubstatus.com`); the format's documents
    /// are read under it (`/api/v2/summary.json` for `statuspage`). Proxies come from
    /// `HTTPS_PROXY` / `NO_PROXY`.
    pub url: String,
    /// `statuspage` (Atlassian Statuspage v2, the default), `slack`, `gcp`
    /// (incidents.json), `statusio` or `instatus`.
    #[serde(default)]
    pub format: Format,
    /// The status.io page id (`statusio` only).
    #[serde(default)]
    pub page_id: Option<String>,
    /// Only these components matter (names, ids or group names, case-insensitive), e.g.
    /// `["Git Operations", "API Requests"]`. Empty (the default): the whole page.
    #[serde(default)]
    pub components: Vec<String>,
    /// `statuspage` only: also read `api/v2/incidents.json` (the 50 most recent
    /// incidents), so an incident resolved inside the window still shows on the timeline
    /// (default true).
    #[serde(default = "default_recent_incidents")]
    pub recent_incidents: bool,
    /// Each request's timeout in milliseconds (default 10000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Largest document read, in bytes (default 32 MiB: Google Cloud's incidents.json
    /// holds its whole history and grows). Documents over 2 MiB are not kept as artifacts.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Updates kept per incident, newest first (default 20).
    #[serde(default = "default_max_updates_per_incident")]
    pub max_updates_per_incident: usize,
    /// A PEM file of extra CA certificates trusted beside the system's (a self-hosted page
    /// behind an internal CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

pub fn default_recent_incidents() -> bool {
    true
}
pub fn default_request_timeout_ms() -> u64 {
    10_000
}
pub fn default_max_body_bytes() -> usize {
    32 * 1024 * 1024
}
pub fn default_max_updates_per_incident() -> usize {
    20
}

impl StatusPageConfig {
    /// A Statuspage v2 config with every default.
    pub fn new(name: impl Into<String>, vendor: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            vendor: vendor.into(),
            url: url.into(),
            format: Format::Statuspage,
            page_id: None,
            components: Vec::new(),
            recent_incidents: default_recent_incidents(),
            request_timeout_ms: default_request_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
            max_updates_per_incident: default_max_updates_per_incident(),
            ca_file: None,
        }
    }
}

impl CollectorConfig for StatusPageConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.vendor.trim().is_empty() {
            problems.push(ConfigProblem::new("vendor", "names no vendor"));
        }
        match client::config_url(&self.url) {
            Ok(url) if url.password().is_some() => problems.push(ConfigProblem::new(
                "url",
                "holds a password, which would sit in the config file; status pages are public",
            )),
            Ok(url) if url.query().is_some() => problems.push(ConfigProblem::new(
                "url",
                "give the page's base URL, without a query (e.g. https://www.githubstatus.com)",
            )),
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
        match (self.format, &self.page_id) {
            (Format::Statusio, None) => {
                problems
                    .push(ConfigProblem::new("page_id", "the statusio format needs the page id"));
            }
            (Format::Statusio, Some(id)) if id.is_empty() || id.contains('/') => {
                problems.push(ConfigProblem::new("page_id", "is not a status.io page id"));
            }
            (Format::Statusio, Some(_)) | (_, None) => {}
            (format, Some(_)) => problems.push(ConfigProblem::new(
                "page_id",
                format!("only the statusio format uses it, not {}", format.as_str()),
            )),
        }
        for (i, component) in self.components.iter().enumerate() {
            if component.trim().is_empty() {
                problems.push(ConfigProblem::new(format!("components[{i}]"), "is empty"));
            }
        }
        let day_ms = witness_collector::TIMEOUT_SECS.end() * 1000;
        problems.extend(ConfigProblem::out_of_range([
            ("request_timeout_ms", self.request_timeout_ms, 1..=day_ms),
            ("max_body_bytes", self.max_body_bytes as u64, 1024..=1 << 30),
            ("max_updates_per_incident", self.max_updates_per_incident as u64, 0..=1000),
        ]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        problems.extend(client::config_ca_file(self.ca_file.as_deref()));
        problems
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(StatusPageCollector::new(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_needs_only_a_name_and_a_url() {
        let c: StatusPageConfig = toml::from_str(
            "name = \"github\"\nvendor = \"GitHub\"\nurl = \"https://www.githubstatus.com\"\n",
        )
        .unwrap();
        assert_eq!(c.format, Format::Statuspage);
        assert_eq!(c.request_timeout_ms, 10_000);
        assert!(c.validate().is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c: StatusPageConfig = toml::from_str(
            r#"
            name = "x"
            vendor = " "
            url = "https://status.example.com/?page=1"
            format = "statusio"
            components = ["API", ""]
            request_timeout_ms = 0
            "#,
        )
        .unwrap();
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["vendor", "url", "page_id", "components[1]", "request_timeout_ms"]);
    }

    #[test]
    fn unknown_formats_and_keys_are_refused() {
        let err = toml::from_str::<StatusPageConfig>(
            "name = \"a\"\nvendor = \"A\"\nurl = \"https://a\"\nformat = \"rss\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown variant `rss`"), "{err}");
    }
}
