//! `[[collectors.prometheus]]`: one Prometheus-compatible server (Prometheus, Thanos,
//! Mimir, Cortex, VictoriaMetrics), its credentials, the queries evaluated over the window
//! and the baseline, defaults and validation.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem, SecretRef};
use witness_net::client;

use crate::collector::PrometheusCollector;
use crate::series::Direction;

/// One `[[collectors.prometheus]]` instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// Instance name, unique among `prometheus` instances; names
    /// `evidence/prometheus-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The server's base URL, under which `/api/v1/query_range` answers
    /// (`http://prometheus:9090`, `https://mimir.example/prometheus`). Proxies come from
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
    pub url: String,
    /// Environment variable holding a bearer token (`Authorization: Bearer ...`).
    #[serde(default)]
    pub bearer_token_env: Option<String>,
    /// File holding a bearer token; a trailing newline is removed.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// User name for HTTP basic auth (not a secret); the password comes from
    /// `basic_password_env` or `basic_password_file`.
    #[serde(default)]
    pub basic_user: Option<String>,
    /// Environment variable holding the basic-auth password.
    #[serde(default)]
    pub basic_password_env: Option<String>,
    /// File holding the basic-auth password.
    #[serde(default)]
    pub basic_password_file: Option<PathBuf>,
    /// Tenant sent as `X-Scope-OrgID` (Mimir, Cortex).
    #[serde(default)]
    pub tenant: Option<String>,
    /// A PEM file of extra CA certificates trusted beside the system's (an internal CA),
    /// for the server and for `grafana`.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Evaluate the alert's own expression (from its `generatorURL`, or the Grafana rule
    /// it links to) over the window and the baseline (default true).
    #[serde(default = "default_alert_expression")]
    pub alert_expression: bool,
    /// Where the query of a Grafana-managed rule is read (its webhook carries only a link
    /// to the rule).
    #[serde(default)]
    pub grafana: Option<GrafanaConfig>,
    /// The queries evaluated in every run, each over the window and the baseline.
    #[serde(default)]
    pub queries: Vec<QueryConfig>,
    /// Resolution of the range queries in seconds (default 60); raised so that no series
    /// has more than `max_points` points.
    #[serde(default = "default_step_secs")]
    pub step_secs: u64,
    /// Points per series over baseline and window together (default 500), kept as
    /// evidence and drawn.
    #[serde(default = "default_max_points")]
    pub max_points: usize,
    /// Series kept per query (default 5): the ones that left their baseline furthest.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// Each request's timeout in milliseconds (default 10000).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Largest answer read, in bytes (default 16 MiB); answers over 2 MiB are not kept
    /// as artifacts.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
}

/// `grafana = { url = "...", token_env = "..." }`: the Grafana whose managed rules fire
/// the alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrafanaConfig {
    /// Grafana's base URL (`https://grafana.example`).
    pub url: String,
    /// Environment variable holding a service account token (Viewer role is enough).
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding that token.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

impl GrafanaConfig {
    pub fn token(&self) -> SecretRef {
        SecretRef::new(self.token_env.as_deref(), self.token_file.as_deref())
    }
}

/// One `[[collectors.prometheus.queries]]`: a named PromQL query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryConfig {
    /// The query's name: its facts are `prometheus.<name>_ratio`, `_peak`, `_baseline`,
    /// `_onset_offset_secs`. The built-in rules read `request_rate` (traffic, a cause),
    /// `error_ratio` and `latency_p95` (symptoms) and `saturation` (0 to 1).
    pub name: String,
    /// PromQL; `{label}` is replaced by the alert's label of that name
    /// (`http_requests_total{service="{service}"}`). It should return one series (sum it);
    /// with several, the one that left its baseline furthest gives the facts.
    pub query: String,
    /// How values read: `ratio` (shown as a percentage), `seconds`, or any word shown
    /// after the number (`req/s`).
    #[serde(default)]
    pub unit: Option<String>,
    /// `up` (default) when a rise is the trouble, `down` when a drop is.
    #[serde(default)]
    pub direction: Direction,
    /// The smallest baseline level a departure and the ratio are measured from (default
    /// 0): for an error ratio whose baseline is often exactly 0, e.g. 0.001.
    #[serde(default)]
    pub baseline_floor: f64,
}

pub fn default_alert_expression() -> bool {
    true
}
pub fn default_step_secs() -> u64 {
    60
}
pub fn default_max_points() -> usize {
    500
}
pub fn default_max_series() -> usize {
    5
}
pub fn default_request_timeout_ms() -> u64 {
    10_000
}
pub fn default_max_body_bytes() -> usize {
    16 * 1024 * 1024
}

impl PrometheusConfig {
    /// A config with every default, for the server at `url`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            url: url.into(),
            bearer_token_env: None,
            bearer_token_file: None,
            basic_user: None,
            basic_password_env: None,
            basic_password_file: None,
            tenant: None,
            ca_file: None,
            alert_expression: default_alert_expression(),
            grafana: None,
            queries: Vec::new(),
            step_secs: default_step_secs(),
            max_points: default_max_points(),
            max_series: default_max_series(),
            request_timeout_ms: default_request_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
        }
    }

    pub fn bearer_token(&self) -> SecretRef {
        SecretRef::new(self.bearer_token_env.as_deref(), self.bearer_token_file.as_deref())
    }

    pub fn basic_password(&self) -> SecretRef {
        SecretRef::new(self.basic_password_env.as_deref(), self.basic_password_file.as_deref())
    }

    /// Every secret the instance reads: the token or password, and Grafana's token.
    pub fn secrets(&self) -> Vec<SecretRef> {
        let mut secrets = vec![self.bearer_token(), self.basic_password()];
        secrets.extend(self.grafana.as_ref().map(GrafanaConfig::token));
        secrets.retain(SecretRef::is_set);
        secrets
    }
}

/// The problems of a server URL under `key`: http(s), a host, no password, no query.
fn url_problems(key: &str, url: &str) -> Vec<ConfigProblem> {
    let problem = match client::config_url(url) {
        Ok(url) if url.host_str().is_none_or(str::is_empty) => "has no host".to_owned(),
        Ok(url) if url.password().is_some() => {
            "holds a password, which would sit in the config file: use `basic_user` with `basic_password_env` or `basic_password_file`".to_owned()
        }
        Ok(url) if url.query().is_some() => {
            "give the server's base URL, without a query (e.g. http://prometheus:9090)".to_owned()
        }
        Ok(_) => return Vec::new(),
        Err(problem) => problem.message,
    };
    vec![ConfigProblem::new(key, problem)]
}

/// The longest query name: the fact names built from it stay readable.
const MAX_NAME_CHARS: usize = 40;

fn query_problems(
    i: usize,
    query: &QueryConfig,
    seen: &mut BTreeSet<String>,
) -> Vec<ConfigProblem> {
    let key = |field: &str| format!("queries[{i}].{field}");
    let mut problems = Vec::new();
    let name = &query.name;
    let valid = name.len() <= MAX_NAME_CHARS
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        problems.push(ConfigProblem::new(
            key("name"),
            format!("`{name}` is not a query name: lowercase letters, digits and `_`, starting with a letter, at most {MAX_NAME_CHARS} characters"),
        ));
    } else if name == "alert" {
        problems.push(ConfigProblem::new(
            key("name"),
            "`alert` is the alert's own expression; give the query another name",
        ));
    } else if !seen.insert(name.clone()) {
        let message = format!("another query is already named `{name}`");
        problems.push(ConfigProblem::new(key("name"), message));
    }
    if query.query.trim().is_empty() {
        problems.push(ConfigProblem::new(key("query"), "is empty"));
    }
    if !(query.baseline_floor.is_finite() && query.baseline_floor >= 0.0) {
        problems.push(ConfigProblem::new(key("baseline_floor"), "must be a number of at least 0"));
    }
    if query.unit.as_deref().is_some_and(|u| u.trim().is_empty() || u.chars().count() > 20) {
        let message = "must be a short word (at most 20 characters)";
        problems.push(ConfigProblem::new(key("unit"), message));
    }
    problems
}

impl CollectorConfig for PrometheusConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = url_problems("url", &self.url);
        problems.extend(self.bearer_token().validate("bearer_token"));
        problems.extend(self.basic_password().validate("basic_password"));
        let bearer = self.bearer_token().is_set();
        let (user, password) = (self.basic_user.is_some(), self.basic_password().is_set());
        match (bearer, user, password) {
            (true, true, _) | (true, _, true) => problems.push(ConfigProblem::new(
                "bearer_token_env",
                "set either a bearer token or basic auth, not both",
            )),
            (false, true, false) => problems.push(ConfigProblem::new(
                "basic_password_env",
                "basic auth needs a password: set `basic_password_env` or `basic_password_file`",
            )),
            (false, false, true) => problems.push(ConfigProblem::new(
                "basic_user",
                "basic auth needs a user name",
            )),
            _ => {}
        }
        if let Some(user) = &self.basic_user
            && (user.is_empty() || user.contains(':') || user.chars().any(char::is_control))
        {
            let message = "is not a user name (empty, `:` or a control character)";
            problems.push(ConfigProblem::new("basic_user", message));
        }
        if let Some(tenant) = &self.tenant
            && (tenant.trim().is_empty() || !tenant.chars().all(|c| c.is_ascii_graphic()))
        {
            problems.push(ConfigProblem::new("tenant", "must be a tenant id of printable characters without spaces"));
        }
        if let Some(grafana) = &self.grafana {
            problems.extend(url_problems("grafana.url", &grafana.url));
            problems.extend(grafana.token().validate("grafana.token"));
        }
        let mut seen = BTreeSet::new();
        for (i, query) in self.queries.iter().enumerate() {
            problems.extend(query_problems(i, query, &mut seen));
        }
        if self.queries.is_empty() && !self.alert_expression {
            problems.push(ConfigProblem::new(
                "queries",
                "nothing to evaluate: add a query, or leave `alert_expression` on",
            ));
        }
        let day = *witness_collector::TIMEOUT_SECS.end();
        problems.extend(ConfigProblem::out_of_range([
            ("step_secs", self.step_secs, 1..=day),
            ("max_points", self.max_points as u64, 10..=11_000),
            ("max_series", self.max_series as u64, 1..=1000),
            ("request_timeout_ms", self.request_timeout_ms, 1..=day * 1000),
            ("max_body_bytes", self.max_body_bytes as u64, 1024..=1 << 30),
        ]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        problems.extend(client::config_ca_file(self.ca_file.as_deref()));
        problems
    }

    fn check_environment(&self) -> Vec<ConfigProblem> {
        let mut problems = self.bearer_token().check("bearer_token");
        problems.extend(self.basic_password().check("basic_password"));
        if let Some(grafana) = &self.grafana {
            problems.extend(grafana.token().check("grafana.token"));
        }
        problems
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(PrometheusCollector::new(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PrometheusConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_server_needs_only_a_name_and_a_url() {
        let c = parse("name = \"prod\"\nurl = \"http://prometheus:9090\"\n");
        assert!(c.alert_expression);
        assert_eq!((c.step_secs, c.max_points, c.max_series), (60, 500, 5));
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn queries_take_a_name_a_query_and_how_to_read_them() {
        let c = parse(
            r#"
            name = "prod"
            url = "https://mimir.example/prometheus"
            tenant = "team-a"
            [[queries]]
            name = "error_ratio"
            query = 'sum(rate(http_requests_total{service="{service}",code=~"5.."}[5m])) / sum(rate(http_requests_total{service="{service}"}[5m]))'
            unit = "ratio"
            baseline_floor = 0.001
            [[queries]]
            name = "throughput"
            query = 'sum(rate(orders_total[5m]))'
            direction = "down"
            "#,
        );
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.queries[1].direction, Direction::Down);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = parse(
            r#"
            name = "x"
            url = "http://u:pw@prometheus:9090/?x=1"
            bearer_token_env = "T"
            basic_user = "me"
            tenant = "a b"
            alert_expression = false
            step_secs = 0
            max_points = 5
            grafana = { url = "ftp://grafana", token_env = "" }
            [[queries]]
            name = "Error-Ratio"
            query = " "
            [[queries]]
            name = "alert"
            query = "up"
            baseline_floor = -1.0
            [[queries]]
            name = "rate"
            query = "up"
            [[queries]]
            name = "rate"
            query = "up"
            unit = ""
            "#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "url",
                "bearer_token_env",
                "tenant",
                "grafana.url",
                "grafana.token_env",
                "queries[0].name",
                "queries[0].query",
                "queries[1].name",
                "queries[1].baseline_floor",
                "queries[3].name",
                "queries[3].unit",
                "step_secs",
                "max_points",
            ]
        );
    }

    #[test]
    fn nothing_to_evaluate_is_a_problem() {
        let mut c = PrometheusConfig::new("p", "http://prometheus:9090");
        c.alert_expression = false;
        assert_eq!(c.validate()[0].key, "queries");
    }

    #[test]
    fn basic_auth_needs_both_halves() {
        let mut c = PrometheusConfig::new("p", "http://prometheus:9090");
        c.basic_user = Some("witness".into());
        assert_eq!(c.validate()[0].key, "basic_password_env");
        c.basic_password_env = Some("PROM_PASSWORD".into());
        assert!(c.validate().is_empty());
        assert_eq!(c.secrets().len(), 1);
    }

    /// The fields of `pub struct <name> { ... }` in this file's source.
    fn fields(name: &str) -> Vec<&'static str> {
        let source = include_str!("config.rs");
        let start = source.find(&format!("pub struct {name} {{")).expect("the struct");
        let body = &source[start..start + source[start..].find("\n}").expect("its end")];
        body.lines()
            .filter_map(|l| l.trim().strip_prefix("pub ")?.split_once(':').map(|(f, _)| f))
            .filter(|f| !f.contains(' '))
            .collect()
    }

    /// The shipped example shows every key of the kind (set, or commented out with its
    /// default), and parses.
    #[test]
    fn the_example_config_shows_every_key() {
        let example = include_str!("../../../config/witness.toml");
        let start = example.find("[[collectors.prometheus]]").expect("a prometheus section");
        let section = &example[start..start + example[start..].find("# --- host").unwrap()];
        for name in ["PrometheusConfig", "QueryConfig", "GrafanaConfig"] {
            for field in fields(name) {
                let shown = section.lines().any(|l| {
                    l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w == field)
                });
                assert!(shown, "{name}.{field} is not in config/witness.toml");
            }
        }
        assert!(fields("PrometheusConfig").len() >= 18);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<PrometheusConfig>(
            "name = \"a\"\nurl = \"http://x\"\n[[queries]]\nname = \"a\"\nquery = \"up\"\nstep = 5\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `step`"), "{err}");
    }
}
