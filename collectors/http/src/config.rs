//! `[[collectors.http]]`: what one health endpoint instance is configured with, its
//! defaults and its validation.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem, SecretRef};

use crate::collector::HttpCollector;
use witness_net::client;

/// One `[[collectors.http]]` instance: a health endpoint probed a few times during the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Instance name, unique among `http` instances; names `evidence/http-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The endpoint, `http://` or `https://` (e.g. `https://api.internal/actuator/health`).
    /// Proxies come from `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`.
    pub url: String,
    /// `GET` (default) or `HEAD`.
    #[serde(default)]
    pub method: Method,
    /// Status codes that count as healthy. Empty (the default) means any 2xx.
    #[serde(default)]
    pub expected_status: Vec<u16>,
    /// Request headers, e.g. `{ name = "Authorization", prefix = "Bearer ", value_env =
    /// "HEALTH_TOKEN" }`. Values read from the environment or a file are redacted from
    /// the bundle.
    #[serde(default)]
    pub headers: Vec<HeaderConfig>,
    /// How many probes to send (default 3).
    #[serde(default = "default_probes")]
    pub probes: u32,
    /// Pause between the start of one probe and the next, in milliseconds (default 500).
    #[serde(default = "default_probe_interval_ms")]
    pub probe_interval_ms: u64,
    /// Each probe's own timeout, in milliseconds (default 5000): connect, TLS, answer and
    /// body.
    #[serde(default = "default_probe_timeout_ms")]
    pub probe_timeout_ms: u64,
    /// A regex the body must match for the probe to count as healthy.
    #[serde(default)]
    pub body_regex: Option<String>,
    /// A JSON pointer into the body (`/status`) whose value must equal `body_json_equals`.
    #[serde(default)]
    pub body_json_pointer: Option<String>,
    /// The value expected at `body_json_pointer` (a string, number or boolean).
    #[serde(default)]
    pub body_json_equals: Option<serde_json::Value>,
    /// Median latency above which a `health_slow` event is raised, in milliseconds
    /// (default 1000).
    #[serde(default = "default_slow_threshold_ms")]
    pub slow_threshold_ms: u64,
    /// A `cert_expiring` event is raised when the certificate has fewer days left than
    /// this (default 14).
    #[serde(default = "default_cert_warning_days")]
    pub cert_warning_days: u32,
    /// Response headers kept per probe, case-insensitive (default: content-type, server,
    /// retry-after, location, via, x-request-id, x-served-by, cache-control, date).
    #[serde(default = "default_keep_headers")]
    pub keep_headers: Vec<String>,
    /// Bytes of body kept per probe as an excerpt (default 2048); the excerpt is redacted
    /// like everything else in the bundle.
    #[serde(default = "default_max_excerpt_bytes")]
    pub max_excerpt_bytes: usize,
    /// A PEM file of extra CA certificates trusted beside the system's (an internal CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Redirects followed before the probe fails as a redirect loop (default 5).
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
}

/// The request method of a probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Head,
}

/// One request header: a literal `value`, or a secret from `value_env` / `value_file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderConfig {
    /// Header name, e.g. `Authorization`.
    pub name: String,
    /// A literal, non-secret value (`application/json`).
    #[serde(default)]
    pub value: Option<String>,
    /// Environment variable holding the value (a token).
    #[serde(default)]
    pub value_env: Option<String>,
    /// File holding the value; a trailing newline is removed.
    #[serde(default)]
    pub value_file: Option<PathBuf>,
    /// Text put before a secret value, e.g. `Bearer `.
    #[serde(default)]
    pub prefix: Option<String>,
}

impl HeaderConfig {
    pub fn secret(&self) -> SecretRef {
        SecretRef::new(self.value_env.as_deref(), self.value_file.as_deref())
    }
}

pub fn default_probes() -> u32 {
    3
}
pub fn default_probe_interval_ms() -> u64 {
    500
}
pub fn default_probe_timeout_ms() -> u64 {
    5000
}
pub fn default_slow_threshold_ms() -> u64 {
    1000
}
pub fn default_cert_warning_days() -> u32 {
    14
}
pub fn default_max_excerpt_bytes() -> usize {
    2048
}
pub fn default_max_redirects() -> usize {
    5
}
pub fn default_keep_headers() -> Vec<String> {
    [
        "content-type",
        "server",
        "retry-after",
        "location",
        "via",
        "x-request-id",
        "x-served-by",
        "cache-control",
        "date",
    ]
    .map(String::from)
    .to_vec()
}

/// The most probes one instance may send: enough to see flapping, not a load test.
const MAX_PROBES: u32 = 20;

impl HttpConfig {
    /// A config with every default, for `url`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            timeout_secs: None,
            url: url.into(),
            method: Method::Get,
            expected_status: Vec::new(),
            headers: Vec::new(),
            probes: default_probes(),
            probe_interval_ms: default_probe_interval_ms(),
            probe_timeout_ms: default_probe_timeout_ms(),
            body_regex: None,
            body_json_pointer: None,
            body_json_equals: None,
            slow_threshold_ms: default_slow_threshold_ms(),
            cert_warning_days: default_cert_warning_days(),
            keep_headers: default_keep_headers(),
            max_excerpt_bytes: default_max_excerpt_bytes(),
            ca_file: None,
            max_redirects: default_max_redirects(),
        }
    }

    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }

    /// Whether `status` counts as healthy.
    pub fn status_expected(&self, status: u16) -> bool {
        if self.expected_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expected_status.contains(&status)
        }
    }
}

impl CollectorConfig for HttpConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        match client::config_url(&self.url) {
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                problems.push(ConfigProblem::new("url", "has no host"));
            }
            Ok(url) if url.password().is_some() => problems.push(ConfigProblem::new(
                "url",
                "holds a password, which would sit in the config file: send credentials in a \
                 header with `value_env` or `value_file`",
            )),
            Ok(_) => {}
            Err(problem) => problems.push(problem),
        }
        if self.probes == 0 || self.probes > MAX_PROBES {
            problems.push(ConfigProblem::new("probes", format!("must be 1 to {MAX_PROBES}")));
        }
        let day_ms = witness_collector::TIMEOUT_SECS.end() * 1000;
        problems.extend(ConfigProblem::out_of_range([
            ("probe_timeout_ms", self.probe_timeout_ms, 1..=day_ms),
            ("probe_interval_ms", self.probe_interval_ms, 0..=day_ms),
            ("slow_threshold_ms", self.slow_threshold_ms, 0..=day_ms),
            ("cert_warning_days", self.cert_warning_days.into(), 0..=3650),
            ("max_excerpt_bytes", self.max_excerpt_bytes as u64, 0..=16 << 20),
            ("max_redirects", self.max_redirects as u64, 0..=20),
        ]));
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        for (i, code) in self.expected_status.iter().enumerate() {
            if !(100..=599).contains(code) {
                problems.push(ConfigProblem::new(
                    format!("expected_status[{i}]"),
                    format!("{code} is not an HTTP status code"),
                ));
            }
        }
        for (i, header) in self.headers.iter().enumerate() {
            problems.extend(validate_header(i, header));
        }
        if let Some(regex) = &self.body_regex
            && let Err(e) = regex::Regex::new(regex)
        {
            problems.push(ConfigProblem::new("body_regex", format!("invalid regex: {e}")));
        }
        match (&self.body_json_pointer, &self.body_json_equals) {
            (Some(pointer), Some(_)) if !pointer.is_empty() && !pointer.starts_with('/') => {
                problems.push(ConfigProblem::new(
                    "body_json_pointer",
                    "a JSON pointer starts with `/` (e.g. `/status`)",
                ));
            }
            (Some(_), None) => problems.push(ConfigProblem::new(
                "body_json_equals",
                "set it to the value expected at `body_json_pointer`",
            )),
            (None, Some(_)) => problems.push(ConfigProblem::new(
                "body_json_pointer",
                "set it to say where `body_json_equals` is looked for",
            )),
            _ => {}
        }
        if self.method == Method::Head
            && (self.body_regex.is_some() || self.body_json_pointer.is_some())
        {
            problems.push(ConfigProblem::new("method", "a HEAD answer has no body to match"));
        }
        problems.extend(client::config_ca_file(self.ca_file.as_deref()));
        problems
    }

    fn check_environment(&self) -> Vec<ConfigProblem> {
        let headers = self.headers.iter().enumerate();
        headers.flat_map(|(i, h)| h.secret().check(&format!("headers[{i}].value"))).collect()
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(HttpCollector::new(self.clone()).map_err(|e| vec![e])?))
    }
}

fn validate_header(i: usize, header: &HeaderConfig) -> Vec<ConfigProblem> {
    let key = |field: &str| format!("headers[{i}].{field}");
    let mut problems = Vec::new();
    if reqwest::header::HeaderName::from_bytes(header.name.as_bytes()).is_err() {
        problems.push(ConfigProblem::new(
            key("name"),
            format!("`{}` is not a header name", header.name),
        ));
    }
    let secret = header.secret();
    match (header.value.is_some(), secret.is_set()) {
        (true, true) => problems.push(ConfigProblem::new(
            key("value"),
            "set only one of `value`, `value_env` and `value_file`",
        )),
        (false, false) => problems.push(ConfigProblem::new(
            key("value"),
            "set one of `value`, `value_env` and `value_file`",
        )),
        _ => {}
    }
    problems.extend(secret.validate(&format!("headers[{i}].value")));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> HttpConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_are_three_probes_half_a_second_apart() {
        let c = parse("name = \"api\"\nurl = \"https://api.internal/health\"\n");
        assert_eq!((c.probes, c.probe_interval_ms, c.probe_timeout_ms), (3, 500, 5000));
        assert_eq!(c.method, Method::Get);
        assert!(c.status_expected(204) && !c.status_expected(301));
        assert!(c.validate().is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let c = parse(
            r#"
            name = "api"
            url = "https://user:hunter2@api.internal/health"
            method = "HEAD"
            probes = 0
            expected_status = [200, 999]
            body_regex = "("
            body_json_pointer = "status"
            body_json_equals = "UP"
            headers = [
              { name = "Authorization", value = "x", value_env = "TOKEN" },
              { name = "bad header", value_env = "" },
            ]
            "#,
        );
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "url",
                "probes",
                "expected_status[1]",
                "headers[0].value",
                "headers[1].name",
                "headers[1].value_env",
                "body_regex",
                "body_json_pointer",
                "method",
            ]
        );
    }

    #[test]
    fn urls_that_cannot_be_probed_are_refused_with_the_reason() {
        let message = |url: &str| {
            HttpConfig::new("api", url)
                .validate()
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
        };
        assert_eq!(message("ftp://x/health"), ["scheme `ftp` is not http or https"]);
        assert!(message("https://u:pw@api.internal/health")[0].starts_with("holds a password"));
        assert!(message("not a url")[0].starts_with("not a URL"));
    }

    #[test]
    fn a_ca_file_that_is_not_a_file_is_refused() {
        let mut config = HttpConfig::new("api", "https://api.internal/health");
        config.ca_file = Some("/nonexistent/ca.pem".into());
        assert_eq!(
            config.validate(),
            [ConfigProblem::new("ca_file", "/nonexistent/ca.pem is not a file")]
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<HttpConfig>("name = \"a\"\nurl = \"http://x\"\nretries = 2\n")
            .unwrap_err();
        assert!(err.to_string().contains("unknown field `retries`"), "{err}");
    }
}
