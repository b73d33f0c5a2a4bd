//! The checks a logs instance answers: errors back to the baseline, the incident's new
//! signatures gone, 5xx and latency back to the baseline.
//!
//! "Back to the baseline" means what "up" meant for the incident, in reverse: errors (and
//! 5xx) are still up when they rose at least 2× over what the incident's baseline rate
//! predicts and the rise stands out of the noise ([`crate::rules::derive::rose`], the test
//! the rules use); latency is still up at `[severity] medium_latency_ratio` times the
//! incident's baseline p95. The follow-up's own baseline is the incident's end, so it is
//! never the reference.

use std::collections::BTreeSet;

use chrono::DateTime;
use serde_json::Value;
use witness_collector::{FactValue, Window};

use super::pair::{Outcome, Pair, found, number};
use crate::bundle::layout::CollectorRecord;
use crate::config::severity::SeverityConfig;
use crate::rules::derive::rose;
use crate::run::follow_up::check::{Check, CheckKind, CheckStatus};

/// Every check a logs instance of the incident can answer.
pub(super) fn checks(pair: &Pair, thresholds: &SeverityConfig) -> Vec<Check> {
    [error_rate(pair), new_errors(pair), status_5xx(pair), latency(pair, thresholds)]
        .into_iter()
        .flatten()
        .collect()
}

/// The minutes of `window`.
fn minutes(window: Window) -> f64 {
    (window.span().num_milliseconds() as f64 / 60_000.0).max(1.0 / 60.0)
}

/// Why the follow-up's logs cannot tell anything: none read, or nothing written since the
/// resolution (a service that is down logs no error either).
fn silent(after: &CollectorRecord, window: Window) -> Result<(), String> {
    if number(after, "logs.error_count").is_none() {
        return Err(format!("logs/{} read no log line", after.name));
    }
    let last = match after.evidence.facts.get("logs.last_line_at") {
        Some(FactValue::Text(t)) => DateTime::parse_from_rfc3339(t).ok().map(|t| t.to_utc()),
        _ => None,
    };
    match last {
        None => Err(format!("logs/{} saw no line at all", after.name)),
        Some(last) if last < window.start => Err(format!(
            "logs/{} has no line since {} (before the resolution): the logs went quiet, which no \
             error count can tell from a fix",
            after.name,
            witness_collector::time::format(last)
        )),
        Some(_) => Ok(()),
    }
}

/// Errors per minute in the incident's baseline: a baseline with no error counts as one
/// (as the logs collector counts it), so a quiet service must stay quiet.
fn baseline_rate(before: &CollectorRecord) -> Option<f64> {
    let errors = number(before, "logs.baseline_error_count")?;
    let covered = before.evidence.data.pointer("/baseline/covered_secs")?.as_f64()?;
    (covered > 0.0).then(|| errors.max(1.0) / (covered / 60.0))
}

fn error_rate(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::ErrorRate;
    if number(pair.before, "logs.error_count")? <= 0.0 {
        return None;
    }
    let Some(rate) = baseline_rate(pair.before) else {
        let why = "the incident's logs did not reach into its baseline: no rate to go back to";
        return Some(pair.unknown(KIND, why.to_owned(), &["logs.error_count"]));
    };
    let cited = ["logs.baseline_error_count", "logs.error_count"];
    Some(pair.compare(KIND, &cited, |after| {
        silent(after, pair.window)?;
        let count = number(after, "logs.error_count").unwrap_or(0.0);
        let span = minutes(pair.window);
        let expected = rate * span;
        let now = count / span;
        let times = count / expected;
        let (status, detail) = if rose(count, times, 2.0) {
            let detail = format!(
                "{count:.0} errors in {span:.1} min ({now:.1}/min), {times:.0}× the {rate:.2}/min before the incident"
            );
            (CheckStatus::NotYet, detail)
        } else {
            let detail = format!(
                "{count:.0} errors in {span:.1} min ({now:.2}/min); {rate:.2}/min before the incident"
            );
            (CheckStatus::Passed, detail)
        };
        found(status, detail, &["logs.error_count"])
    }))
}

/// `[REDACTED:rule:hex]` tokens made plain (`[REDACTED:rule]`): every bundle has its own
/// token key, and the same signature must match across the two.
fn plain_tokens(signature: &str) -> String {
    let mut out = String::with_capacity(signature.len());
    let mut rest = signature;
    while let Some(start) = rest.find("[REDACTED:") {
        out.push_str(&rest[..start]);
        let token = &rest[start..];
        let end = token.find(']').map_or(token.len(), |e| e + 1);
        let body = &token[..end];
        match body.rfind(':') {
            Some(colon) if colon > "[REDACTED".len() => {
                out.push_str(&body[..colon]);
                out.push(']');
            }
            _ => out.push_str(body),
        }
        rest = &token[end..];
    }
    out.push_str(rest);
    out
}

/// `(index, signature, count)` of the signatures of a logs record, new ones only when
/// `only_new`.
fn signatures(record: &CollectorRecord, only_new: bool) -> Vec<(usize, String, u64)> {
    let list = record.evidence.data.get("signatures").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, s)| !only_new || s.get("new").and_then(Value::as_bool) == Some(true))
        .filter_map(|(i, s)| {
            let text = s.get("signature")?.as_str()?;
            Some((i, text.to_owned(), s.get("count").and_then(Value::as_u64).unwrap_or(0)))
        })
        .collect()
}

fn new_errors(pair: &Pair) -> Option<Check> {
    let new = signatures(pair.before, true);
    let first = format!("/data/signatures/{}", new.first()?.0);
    let cited = ["logs.new_signatures", first.as_str()];
    Some(pair.compare(CheckKind::NewErrors, &cited, |after| {
        silent(after, pair.window)?;
        let wanted: BTreeSet<String> = new.iter().map(|(_, s, _)| plain_tokens(s)).collect();
        let listed = signatures(after, false);
        let still: Vec<&(usize, String, u64)> =
            listed.iter().filter(|(_, s, n)| *n > 0 && wanted.contains(&plain_tokens(s))).collect();
        if let Some((index, signature, _)) = still.first() {
            let seen: u64 = still.iter().map(|(_, _, n)| n).sum();
            let detail = format!(
                "{} of the incident's {} new signature(s) still seen, {seen} error(s) since the \
                 resolution: {signature}",
                still.len(),
                new.len(),
            );
            return found(CheckStatus::NotYet, detail, &[&format!("/data/signatures/{index}")]);
        }
        let distinct = number(after, "logs.signature_count").unwrap_or(0.0);
        if distinct > listed.len() as f64 {
            return Err(format!(
                "the follow-up saw {distinct:.0} signatures and keeps {}: the incident's may be \
                 among those left out",
                listed.len()
            ));
        }
        let detail = format!(
            "none of the incident's {} new signature(s) seen since the resolution ({distinct:.0} \
             signature(s) in all)",
            new.len()
        );
        found(CheckStatus::Passed, detail, &["logs.signature_count"])
    }))
}

fn status_5xx(pair: &Pair) -> Option<Check> {
    const KIND: CheckKind = CheckKind::Status5xx;
    let access = pair.before.evidence.data.get("access")?;
    if access.get("status_5xx").and_then(Value::as_f64).unwrap_or(0.0) <= 0.0 {
        return None;
    }
    let baseline = (
        number(pair.before, "logs.status_5xx_baseline_ratio"),
        access.get("baseline_requests").and_then(Value::as_f64).filter(|n| *n > 0.0),
    );
    let (Some(baseline_ratio), Some(baseline_requests)) = baseline else {
        let why = "the incident's access logs did not reach into its baseline";
        return Some(pair.unknown(KIND, why.to_owned(), &["logs.status_5xx_ratio"]));
    };
    let cited = ["logs.status_5xx_ratio", "logs.status_5xx_baseline_ratio"];
    Some(pair.compare(KIND, &cited, |after| {
        let counts = (number(after, "logs.requests"), number(after, "logs.status_5xx_count"));
        let (Some(requests), Some(count)) = counts else {
            return Err(format!("logs/{} logged no request since the resolution", after.name));
        };
        if requests <= 0.0 {
            return Err(format!("logs/{} logged no request since the resolution", after.name));
        }
        // A baseline without a 5xx counts as one, as for errors.
        let expected = (baseline_ratio * requests).max(requests / baseline_requests);
        let (status, word) = if rose(count, count / expected, 2.0) {
            (CheckStatus::NotYet, "against")
        } else {
            (CheckStatus::Passed, "and")
        };
        let detail = format!(
            "{count:.0} of {requests:.0} requests answered 5xx ({:.1}%) {word} {:.1}% before the incident",
            100.0 * count / requests,
            100.0 * baseline_ratio
        );
        found(status, detail, &["logs.status_5xx_count", "logs.requests"])
    }))
}

fn latency(pair: &Pair, thresholds: &SeverityConfig) -> Option<Check> {
    let baseline = number(pair.before, "logs.latency_p95_baseline_ms").filter(|b| *b > 0.0)?;
    number(pair.before, "logs.latency_p95_ms")?;
    let cited = ["logs.latency_p95_ms", "logs.latency_p95_baseline_ms"];
    Some(pair.compare(CheckKind::Latency, &cited, |after| -> Outcome {
        let Some(p95) = number(after, "logs.latency_p95_ms") else {
            return Err(format!("logs/{} timed no request since the resolution", after.name));
        };
        let ratio = p95 / baseline;
        let up_from = thresholds.medium_latency_ratio;
        let status =
            if ratio >= up_from as f64 { CheckStatus::NotYet } else { CheckStatus::Passed };
        let detail = format!(
            "p95 {p95:.0} ms, {ratio:.1}× the {baseline:.0} ms before the incident (still up from {up_from}×)"
        );
        found(status, detail, &["logs.latency_p95_ms"])
    }))
}

#[cfg(test)]
mod tests {
    use super::plain_tokens;

    #[test]
    fn tokens_are_compared_without_their_bundle_key() {
        assert_eq!(
            plain_tokens("a [REDACTED:bearer:1a2b] b [REDACTED:pem:ffff]"),
            "a [REDACTED:bearer] b [REDACTED:pem]"
        );
        assert_eq!(plain_tokens("no token [REDACTED: here"), "no token [REDACTED: here");
    }
}
