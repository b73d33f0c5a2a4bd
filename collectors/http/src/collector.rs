//! The `http` collector: sends the configured probes one after the other, then turns them
//! into the facts, events and data of the instance's evidence.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use witness_collector::{
    CollectContext, CollectError, Collector, ConfigProblem, Event, Evidence, Severity,
};

use crate::cert::{self, CertificateInfo};
use crate::config::{HttpConfig, Method};
use crate::health::HealthFormat;
use crate::probe::{self, BodyMatch, Probe};
use witness_net::client::{self, ClientOptions, FailureKind};

/// Probes one health endpoint; built by [`HttpConfig`].
#[derive(Debug)]
pub struct HttpCollector {
    config: HttpConfig,
    body_match: BodyMatch,
}

impl HttpCollector {
    /// # Errors
    /// A problem with `body_regex` when it does not compile.
    pub fn new(config: HttpConfig) -> Result<Self, ConfigProblem> {
        let regex = config
            .body_regex
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .map_err(|e| ConfigProblem::new("body_regex", format!("invalid regex: {e}")))?;
        let json = config.body_json_pointer.clone().zip(config.body_json_equals.clone());
        Ok(Self { config, body_match: BodyMatch { regex, json } })
    }

    /// The request headers, with secrets read now (and registered for redaction).
    fn headers(&self, ctx: &CollectContext) -> Result<HeaderMap, CollectError> {
        let mut headers = HeaderMap::new();
        for header in &self.config.headers {
            let value = match (&header.value, header.secret().read(&ctx.redactor)?) {
                (Some(literal), _) => literal.clone(),
                (None, Some(secret)) => {
                    format!("{}{secret}", header.prefix.as_deref().unwrap_or_default())
                }
                (None, None) => continue,
            };
            let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
                CollectError::Config(format!("`{}` is not a header name", header.name))
            })?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                CollectError::Config(format!("the value of header {} is not valid", header.name))
            })?;
            value.set_sensitive(header.secret().is_set());
            headers.append(name, value);
        }
        Ok(headers)
    }
}

impl HttpCollector {
    /// When https probes failed in the handshake and so saw no certificate, reads it with
    /// a bare handshake: an expired or untrusted certificate is the usual cause, and its
    /// dates say which. `Ok(None)` when there is nothing to read.
    async fn certificate_after_tls_failure(
        &self,
        ctx: &CollectContext,
        probes: &[Probe],
    ) -> Result<Option<CertificateInfo>, String> {
        let tls_failed =
            probes.iter().any(|p| p.failure.as_ref().is_some_and(|f| f.kind == FailureKind::Tls));
        if !tls_failed || probes.iter().any(|p| p.certificate.is_some()) {
            return Ok(None);
        }
        let url = reqwest::Url::parse(&self.config.url).map_err(|e| e.to_string())?;
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Ok(None);
        };
        let timeout = self.config.probe_timeout().min(ctx.remaining());
        if timeout < Duration::from_millis(10) {
            return Err("no time left before the deadline".into());
        }
        let der = cert::read_unverified(host, port, timeout).await.map_err(|e| ctx.redact(&e).into_string())?;
        let mut info = cert::inspect(&der, chrono::Utc::now(), &ctx.redactor)?;
        info.verified = false;
        Ok(Some(info))
    }
}

/// Latency over the probes that got an answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
}

impl LatencyStats {
    fn of(probes: &[Probe]) -> Option<Self> {
        let mut values: Vec<f64> =
            probes.iter().filter(|p| p.status.is_some()).map(|p| p.latency_ms).collect();
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = match n {
            0 => return None,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Some(Self { min_ms: values[0], median_ms: median, max_ms: values[n - 1] })
    }
}

/// The instance's findings, as written under `data` in its evidence file.
#[derive(Debug, Serialize)]
struct HttpData<'a> {
    url: &'a str,
    method: &'static str,
    probes_planned: u32,
    failing_probes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency: Option<LatencyStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    components_down: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate: Option<&'a CertificateInfo>,
    probes: &'a [Probe],
}

#[async_trait]
impl Collector for HttpCollector {
    fn secrets(&self) -> Vec<witness_collector::SecretRef> {
        self.config.headers.iter().map(|h| h.secret()).collect()
    }

    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let config = &self.config;
        let headers = self.headers(ctx)?;
        let client = client::build_client_off_runtime(ClientOptions {
            max_redirects: config.max_redirects,
            ca_file: config.ca_file.clone(),
            keep_peer_certificate: true,
        })
        .await
        .map_err(|e| CollectError::Config(e.to_string()))?;
        let method = match config.method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
        };

        let mut probes: Vec<Probe> = Vec::new();
        let mut stopped_early = None;
        // Probes whose timeout the instance's deadline cut below `probe_timeout_ms`.
        let mut clipped = Vec::new();
        for index in 0..config.probes as usize {
            let started = tokio::time::Instant::now();
            // Each probe gets its own timeout, cut short by the instance's deadline.
            let timeout = config.probe_timeout().min(ctx.remaining());
            if ctx.should_stop() || timeout < Duration::from_millis(10) {
                stopped_early = Some(index);
                break;
            }
            if timeout < config.probe_timeout() {
                clipped.push(index);
            }
            let request = client.request(method.clone(), &config.url).headers(headers.clone());
            tokio::select! {
                probe = probe::run(index, request, timeout, config, &self.body_match, &ctx.redactor) => {
                    tracing::debug!(collector = %config.name, index, healthy = probe.healthy, "Probe done.");
                    probes.push(probe);
                }
                _ = ctx.cancel.cancelled() => {
                    stopped_early = Some(index);
                    break;
                }
            }
            if index + 1 < config.probes as usize {
                let next = started + Duration::from_millis(config.probe_interval_ms);
                tokio::select! {
                    _ = tokio::time::sleep_until(next.min(ctx.deadline)) => {}
                    _ = ctx.cancel.cancelled() => {}
                }
            }
        }
        if probes.is_empty() {
            let why = if ctx.cancel.is_cancelled() {
                "the run was cancelled"
            } else {
                "the deadline passed"
            };
            return Err(CollectError::Other(format!(
                "{why} before the first probe of {} ended",
                config.url
            )));
        }

        let unverified = self.certificate_after_tls_failure(ctx, &probes).await;
        let mut evidence = match unverified {
            Ok(cert) => evidence_of(config, &probes, cert.as_ref()),
            Err(reason) => {
                let mut evidence = evidence_of(config, &probes, None);
                evidence.add_note(format!("the certificate could not be read either: {reason}"));
                evidence
            }
        };
        if let Some(sent) = stopped_early {
            evidence.add_partial(format!(
                "stopped after {sent} of {} probes: the deadline passed or the run was cancelled",
                config.probes
            ));
        }
        let cut_short: Vec<String> = probes
            .iter()
            .filter(|p| clipped.contains(&p.index))
            .filter(|p| p.failure.as_ref().is_some_and(|f| f.kind == FailureKind::Timeout))
            .map(|p| p.index.to_string())
            .collect();
        if !cut_short.is_empty() {
            evidence.add_note(format!(
                "probe {} timed out on the instance's deadline, before probe_timeout_ms",
                cut_short.join(", ")
            ));
        }
        if probes.iter().any(|p| p.body_truncated) {
            evidence.add_note(format!(
                "body excerpts are cut at {} bytes (max_excerpt_bytes)",
                config.max_excerpt_bytes
            ));
        }
        Ok(evidence)
    }
}

/// Facts, events and data from the probes that were sent; `unverified` is the certificate
/// read after a failed handshake, when probes saw none.
fn evidence_of(
    config: &HttpConfig,
    probes: &[Probe],
    unverified: Option<&CertificateInfo>,
) -> Evidence {
    let failing: Vec<&Probe> = probes.iter().filter(|p| !p.healthy).collect();
    let all_failing = failing.len() == probes.len();
    let latency = LatencyStats::of(probes);
    let components_down = components_down(probes);
    let certificate = probes
        .iter()
        .filter_map(|p| p.certificate.as_ref())
        .min_by_key(|c| c.days_left)
        .or(unverified);

    let mut summary = if failing.is_empty() {
        format!("{} of {} probes healthy", probes.len(), probes.len())
    } else {
        format!("{} of {} probes failing: {}", failing.len(), probes.len(), reasons(&failing))
    };
    if let Some(l) = &latency {
        summary.push_str(&format!(
            "; latency median {:.0} ms (min {:.0}, max {:.0})",
            l.median_ms, l.min_ms, l.max_ms
        ));
    }

    let mut evidence = Evidence::ok(summary)
        .fact("http.failing_probes", failing.len())
        .fact("http.all_failing", all_failing);
    if let Some(l) = &latency {
        evidence = evidence.fact("http.latency_median_ms", l.median_ms);
    }
    if let Some(down) = &components_down {
        evidence = evidence.fact("http.components_down", down.clone());
        evidence = evidence.fact("http.components_down_errors", components_down_errors(probes));
    }
    if let Some(cert) = certificate {
        evidence = evidence.fact("http.cert_days_left", cert.days_left);
    }

    if let Some(first) = failing.first() {
        let mut title = format!(
            "Health check {} failing: {} of {} probes ({})",
            config.name,
            failing.len(),
            probes.len(),
            reasons(&failing)
        );
        if let Some(down) = components_down.as_ref().filter(|d| !d.is_empty()) {
            title.push_str(&format!("; down: {}", down.join(", ")));
        }
        evidence = evidence.event(
            Event::new(first.started_at, "health_failing", title)
                .detail(format!("{} {}", method_name(config.method), config.url))
                .severity(if all_failing { Severity::Critical } else { Severity::Warning })
                .signature(format!("http:{}:failing", config.name))
                .pointer(format!("/data/probes/{}", first.index)),
        );
    }
    if let Some(l) = latency.filter(|l| l.median_ms > config.slow_threshold_ms as f64) {
        evidence = evidence.event(
            Event::new(
                probes[0].started_at,
                "health_slow",
                format!(
                    "Health check {} slow: median {:.0} ms over {} ms",
                    config.name, l.median_ms, config.slow_threshold_ms
                ),
            )
            .detail(format!("min {:.0} ms, max {:.0} ms, {}", l.min_ms, l.max_ms, config.url))
            .severity(Severity::Warning)
            .signature(format!("http:{}:slow", config.name))
            .pointer("/data/latency"),
        );
    }
    if let Some(cert) = certificate.filter(|c| c.days_left < i64::from(config.cert_warning_days)) {
        let title = if cert.days_left < 0 {
            format!("Certificate of {} expired {} days ago", config.name, -cert.days_left)
        } else {
            format!("Certificate of {} expires in {} days", config.name, cert.days_left)
        };
        evidence = evidence.event(
            Event::new(probes[0].started_at, "cert_expiring", title)
                .detail(format!(
                    "{}; not after {}{}",
                    cert.subject,
                    witness_collector::time::format(cert.not_after),
                    if cert.verified { "" } else { "; read after the TLS handshake failed" }
                ))
                .severity(if cert.days_left <= 1 { Severity::Critical } else { Severity::Warning })
                .signature(format!("http:{}:cert", config.name))
                .pointer("/data/certificate"),
        );
    }

    evidence.data(HttpData {
        url: &config.url,
        method: method_name(config.method),
        probes_planned: config.probes,
        failing_probes: failing.len(),
        latency,
        components_down,
        certificate,
        probes,
    })
}

/// The distinct reasons of failing probes, most frequent first: `timeout`, `HTTP 503`.
fn reasons(failing: &[&Probe]) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for probe in failing {
        let reason = match &probe.failure {
            Some(f) if f.kind == FailureKind::HttpStatus => {
                probe.status.map_or_else(|| f.message.to_string(), |s| format!("HTTP {s}"))
            }
            Some(f) if f.kind == FailureKind::UnexpectedBody => f.message.to_string(),
            Some(f) => f.kind.as_str().replace('_', " "),
            None => "unknown".into(),
        };
        match counts.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => counts.push((reason, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts.into_iter().map(|(r, _)| r).collect::<Vec<_>>().join(", ")
}

/// Components down in any probe, when some probe's body could name components at all;
/// `None` otherwise, so "no body to read" never reads as "nothing down".
fn components_down(probes: &[Probe]) -> Option<Vec<String>> {
    let reports: Vec<_> = probes
        .iter()
        .filter_map(|p| p.health.as_ref())
        .filter(|h| matches!(h.format, HealthFormat::SpringActuator | HealthFormat::IetfHealth))
        .collect();
    if reports.is_empty() {
        return None;
    }
    let names: BTreeSet<&String> = reports.iter().flat_map(|h| &h.components_down).collect();
    Some(names.into_iter().cloned().collect())
}

/// `name: error` of every down component that gave an error text, over all probes.
fn components_down_errors(probes: &[Probe]) -> Vec<String> {
    let errors: BTreeSet<String> = probes
        .iter()
        .filter_map(|p| p.health.as_ref())
        .flat_map(|h| &h.component_errors)
        .map(|(name, error)| format!("{name}: {error}"))
        .collect();
    errors.into_iter().collect()
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(latency_ms: f64, status: Option<u16>) -> Probe {
        Probe {
            index: 0,
            started_at: chrono::Utc::now(),
            latency_ms,
            status,
            redirected_to: None,
            healthy: status == Some(200),
            failure: None,
            headers: Default::default(),
            body_excerpt: None,
            body_truncated: false,
            health: None,
            certificate: None,
        }
    }

    #[test]
    fn latency_stats_ignore_probes_without_an_answer() {
        let probes = [probe(30.0, Some(200)), probe(5000.0, None), probe(10.0, Some(503))];
        let stats = LatencyStats::of(&probes).unwrap();
        assert_eq!((stats.min_ms, stats.median_ms, stats.max_ms), (10.0, 20.0, 30.0));
        assert_eq!(LatencyStats::of(&[probe(5000.0, None)]), None);
    }

    #[test]
    fn without_a_health_body_components_down_is_absent_not_empty() {
        let evidence =
            evidence_of(&HttpConfig::new("api", "http://x"), &[probe(1.0, Some(200))], None);
        assert!(!evidence.facts.contains_key("http.components_down"));
        assert!(!evidence.facts.contains_key("http.cert_days_left"));
    }
}
