//! One probe of a health endpoint and what is kept of it: status, latency, the failure
//! told apart, the headers of interest, a capped body excerpt, what the body says about
//! health, and whether the configured body match held.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use witness_collector::{Redacted, Redactor};

use crate::cert::{self, CertificateInfo};
use crate::config::HttpConfig;
use crate::health::{self, HealthReport, Verdict};
use witness_net::client::{self, Failure, FailureKind, Fetched};

/// What one probe saw.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// 0-based order of the probe.
    pub index: usize,
    #[serde(with = "witness_collector::time::millis")]
    pub started_at: DateTime<Utc>,
    /// Time to the answer's last kept byte, or to the failure.
    pub latency_ms: f64,
    /// The status code, when an answer came.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The URL that answered, when redirects led elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirected_to: Option<Redacted>,
    /// Whether the probe counts as healthy.
    pub healthy: bool,
    /// Why the probe is not healthy (transport failure, unexpected status, body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The response headers of interest (lower-case names).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Redacted>,
    /// The start of the body, at most `max_excerpt_bytes`, cut after redaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<Redacted>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
    /// What the body says about health, when it follows a known convention.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthReport>,
    /// The server's certificate, for https.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertificateInfo>,
}

/// The compiled body checks of an instance.
#[derive(Debug, Clone, Default)]
pub struct BodyMatch {
    pub regex: Option<regex::Regex>,
    pub json: Option<(String, serde_json::Value)>,
}

impl BodyMatch {
    /// `None` when the (redacted) body passes, else why not.
    fn check(&self, body: &Redacted) -> Option<String> {
        if let Some(regex) = &self.regex
            && !regex.is_match(body)
        {
            return Some(format!("body does not match /{}/", regex.as_str()));
        }
        if let Some((pointer, expected)) = &self.json {
            let value: serde_json::Value = match serde_json::from_str(body) {
                Ok(value) => value,
                Err(e) => return Some(format!("body is not JSON ({e}), cannot read {pointer}")),
            };
            match value.pointer(pointer) {
                Some(actual) if actual == expected => {}
                Some(actual) => return Some(format!("{pointer} is {actual}, expected {expected}")),
                None => return Some(format!("{pointer} is missing from the body")),
            }
        }
        None
    }
}

/// Sends one probe and judges it; what the server said is redacted with `redactor` as
/// it is read.
pub async fn run(
    index: usize,
    request: reqwest::RequestBuilder,
    timeout: Duration,
    config: &HttpConfig,
    body_match: &BodyMatch,
    redactor: &Redactor,
) -> Probe {
    let started_at = Utc::now();
    let mut probe = Probe {
        index,
        started_at,
        latency_ms: 0.0,
        status: None,
        redirected_to: None,
        healthy: false,
        failure: None,
        headers: BTreeMap::new(),
        body_excerpt: None,
        body_truncated: false,
        health: None,
        certificate: None,
    };
    // Read a little more than the excerpt so a body match or health body slightly past it
    // still parses; what is kept is cut to the excerpt below.
    let read_cap = config.max_excerpt_bytes.max(64 * 1024);
    match client::fetch(request, timeout, read_cap, redactor).await {
        Ok(fetched) => judge(&mut probe, fetched, config, body_match, redactor),
        Err((failure, elapsed)) => {
            probe.latency_ms = millis(elapsed);
            probe.failure = Some(failure);
        }
    }
    probe
}

fn judge(
    probe: &mut Probe,
    fetched: Fetched,
    config: &HttpConfig,
    body_match: &BodyMatch,
    redactor: &Redactor,
) {
    probe.latency_ms = millis(fetched.latency);
    probe.status = Some(fetched.status);
    // The configured URL, redacted the same way, is what a redirect is told apart from.
    if redactor.redact(reqwest::Url::parse(&config.url).map(String::from).as_deref().unwrap_or(""))
        != fetched.final_url
    {
        probe.redirected_to = Some(fetched.final_url.clone());
    }
    for (name, value) in &fetched.headers {
        if config.keep_headers.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            probe.headers.insert(name.clone(), value.clone());
        }
    }
    if let Some(der) = &fetched.peer_certificate {
        probe.certificate = cert::inspect(der, probe.started_at, redactor).ok();
    }
    let body = fetched.body_text();
    probe.health = health::interpret(&body);
    let excerpt = body.truncate(config.max_excerpt_bytes);
    let cut = excerpt.len() < body.len();
    if !excerpt.is_empty() {
        probe.body_excerpt = Some(excerpt);
    }
    probe.body_truncated = cut || fetched.body_truncated;

    let health_note = probe.health.as_ref().and_then(|h| {
        (h.verdict == Verdict::Down).then(|| {
            if h.components_down.is_empty() {
                format!("health body says {}", h.status)
            } else {
                format!("health body says {} ({} down)", h.status, h.components_down.join(", "))
            }
        })
    });
    probe.failure = if !config.status_expected(fetched.status) {
        let mut message = format!("HTTP {}", fetched.status);
        if let Some(note) = &health_note {
            message = format!("{message}; {note}");
        }
        // Made of the status and the redacted body's words.
        Some(Failure::generated(FailureKind::HttpStatus, message))
    } else if let Some(reason) = body_match.check(&body) {
        Some(Failure::generated(FailureKind::UnexpectedBody, reason))
    } else {
        // A 200 whose body says DOWN is still down: some frameworks answer 200 always.
        health_note.map(|note| Failure::generated(FailureKind::UnexpectedBody, note))
    };
    probe.healthy = probe.failure.is_none();
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_pointer_match_says_what_it_found() {
        let m = BodyMatch { regex: None, json: Some(("/status".into(), "UP".into())) };
        let check = |body: &str| m.check(&Redactor::builtin().redact(body));
        assert_eq!(check(r#"{"status":"UP"}"#), None);
        assert_eq!(check(r#"{"status":"DOWN"}"#).unwrap(), r#"/status is "DOWN", expected "UP""#);
        assert_eq!(check("{}").unwrap(), "/status is missing from the body");
    }
}
