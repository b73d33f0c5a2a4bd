//! Impact, part of analysing a run: what users feel — error rate against the baseline,
//! 5xx, latency, health, traffic, and the endpoints most affected — read from the facts
//! and the logs evidence. Every report shows it at the top.

use std::collections::BTreeMap;

use witness_collector::FactValue;

use crate::bundle::layout::CollectorRecord;
use crate::timeline::EvidenceRef;

/// One line of "what users feel".
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub label: String,
    pub value: String,
    pub evidence: EvidenceRef,
}

/// An endpoint answering 5xx in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct AffectedEndpoint {
    pub method: String,
    pub path: String,
    pub count: u64,
    pub baseline_count: u64,
}

/// What a report shows under "Impact".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Impact {
    pub signals: Vec<Signal>,
    pub endpoints: Vec<AffectedEndpoint>,
}

/// The facts shown as impact signals, with how to read them.
const SIGNALS: &[(&str, &str, Format)] = &[
    ("logs.error_count", "errors in the window", Format::Count),
    ("logs.error_rate_ratio", "error rate vs baseline", Format::Times),
    ("logs.status_5xx_ratio", "5xx share of requests", Format::Percent),
    ("logs.latency_p95_ms", "p95 latency", Format::Millis),
    ("logs.latency_p95_baseline_ms", "p95 latency before", Format::Millis),
    ("http.failing_probes", "health probes failing", Format::Count),
    ("http.components_down", "health components down", Format::List),
    ("http.latency_median_ms", "health latency (median)", Format::Millis),
    ("prometheus.error_ratio_peak", "error ratio (metrics, peak)", Format::Percent),
    ("prometheus.error_ratio_ratio", "error ratio vs baseline (metrics)", Format::Times),
    ("prometheus.request_rate_ratio", "request rate vs baseline (metrics)", Format::Times),
    ("kubernetes.unavailable_replicas", "unavailable replicas", Format::Count),
    ("status_page.vendors_degraded", "vendors degraded", Format::List),
];

#[derive(Clone, Copy)]
enum Format {
    Count,
    Times,
    Percent,
    Millis,
    List,
}

fn render(value: &FactValue, format: Format) -> Option<String> {
    Some(match (format, value) {
        (Format::List, FactValue::List(items)) if items.is_empty() => return None,
        (Format::List, FactValue::List(items)) => items
            .iter()
            .map(|i| match i {
                FactValue::Text(t) => t.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        (Format::Count, v) => format!("{}", v.as_f64()?),
        (Format::Times, v) => format!("{:.1}×", v.as_f64()?),
        (Format::Percent, v) => format!("{:.1}%", v.as_f64()? * 100.0),
        (Format::Millis, v) => format!("{:.0} ms", v.as_f64()?),
        (_, FactValue::Text(t)) => t.clone(),
        _ => return None,
    })
}

/// Facts of every collector with evidence, by full name, with the record they came from
/// (the first instance that has the fact).
fn facts(records: &[CollectorRecord]) -> BTreeMap<&str, (&CollectorRecord, &FactValue)> {
    let mut facts = BTreeMap::new();
    for record in records.iter().filter(|r| r.status().has_evidence()) {
        for (name, value) in &record.evidence.facts {
            facts.entry(name.as_str()).or_insert((record, value));
        }
    }
    facts
}

/// Reads the impact signals of a run's records.
pub fn impact(records: &[CollectorRecord]) -> Impact {
    let facts = facts(records);
    let mut signals = Vec::new();
    for (name, label, format) in SIGNALS {
        if let Some((record, value)) = facts.get(name)
            && let Some(value) = render(value, *format)
        {
            signals.push(Signal {
                label: (*label).to_owned(),
                value,
                evidence: EvidenceRef {
                    file: record.evidence_path(),
                    pointer: format!("/facts/{name}"),
                },
            });
        }
    }
    let mut endpoints = Vec::new();
    for record in records.iter().filter(|r| r.kind == "logs" && r.status().has_evidence()) {
        let Some(list) =
            record.evidence.data.pointer("/access/endpoints_5xx").and_then(|v| v.as_array())
        else {
            continue;
        };
        for e in list {
            endpoints.push(AffectedEndpoint {
                method: e["method"].as_str().unwrap_or("").to_owned(),
                path: e["path"].as_str().unwrap_or("").to_owned(),
                count: e["count"].as_u64().unwrap_or(0),
                baseline_count: e["baseline_count"].as_u64().unwrap_or(0),
            });
        }
    }
    endpoints.sort_by_key(|e| std::cmp::Reverse(e.count));
    endpoints.truncate(5);
    Impact { signals, endpoints }
}
