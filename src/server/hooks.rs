//! Normalization of webhook bodies: Alertmanager v4 (and Grafana's v1, which is the same
//! shape, and Grafana's legacy alerting body), PagerDuty V3 and the generic `{title,
//! labels, starts_at}` body each become a list of [`Trigger`]s, one per alert; a trigger's
//! `status` is `firing` or `resolved` (PagerDuty updates such as `incident.acknowledged`
//! keep their event type there). Unknown fields are ignored; a missing or mistyped
//! required field is a [`HookError`] naming it with its JSON path — for one alert of many,
//! that alert is left out and the others kept. The formats are in
//! `reference/wire-formats.md` §1–3.
//!
//! Every string of an alert is redacted here, where it is read, before anything else sees
//! it (the intake's dedup and grouping, the journal, the logs, the bundle): names, label
//! and annotation keys, their values with the key in view ([`Redactor::redact_pair`]: a
//! `db_password` label takes its whole value), fingerprints, group keys, incident ids, and
//! the raw body kept for `trigger.json` ([`Redactor::redact_json`]). The intake's redactor
//! keeps its token key across restarts ([`super::redaction`]), so the same alert has the
//! same redacted identity in every delivery. A fingerprint witness computes is computed
//! from the redacted labels.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::redact::Redactor;
use crate::trigger::{Trigger, TriggerSource, redact_label};

/// A parsed notification.
#[derive(Debug)]
pub enum Notification {
    Alerts(Vec<Trigger>),
    /// PagerDuty's `pagey.ping`: answered, nothing else.
    Ping,
}

/// Why a body was refused (`400`).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum HookError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("missing required field `{0}`")]
    Missing(String),
    #[error("field `{field}` {problem}")]
    Invalid { field: String, problem: String },
}

fn missing(field: impl Into<String>) -> HookError {
    HookError::Missing(field.into())
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> HookError {
    HookError::Invalid { field: field.into(), problem: problem.into() }
}

fn parse(body: &[u8]) -> Result<Value, HookError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| HookError::NotJson(e.to_string()))?;
    if value.is_object() { Ok(value) } else { Err(invalid("$", "must be a JSON object")) }
}

fn required<'a>(value: &'a Value, key: &str, path: &str) -> Result<&'a Value, HookError> {
    match value.get(key) {
        Some(Value::Null) | None => Err(missing(path)),
        Some(v) => Ok(v),
    }
}

fn string(value: &Value, key: &str, path: &str) -> Result<String, HookError> {
    required(value, key, path)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| invalid(path, "must be a string"))
}

fn optional_string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn time(value: &Value, key: &str, path: &str) -> Result<DateTime<Utc>, HookError> {
    let text = string(value, key, path)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(path, format!("{text:?} is not an RFC 3339 time")))
}

/// The end of a resolved alert: `key` when it is a real time. Go writes a zero time
/// (`0001-01-01T00:00:00Z`) for "none", and a firing alert has no end.
fn end_time(
    value: &Value,
    key: &str,
    path: &str,
    status: &str,
) -> Result<Option<DateTime<Utc>>, HookError> {
    if status != "resolved" || matches!(value.get(key), None | Some(Value::Null)) {
        return Ok(None);
    }
    let end = time(value, key, path)?;
    Ok((end.timestamp() > 0).then_some(end))
}

/// `text` from the body, redacted.
fn redacted(redactor: &Redactor, text: &str) -> String {
    redactor.redact(text).into_string()
}

/// A map of strings, keys and values redacted (each value with its key in view); other
/// value types are rendered as JSON text rather than refused.
pub fn string_map(
    value: Option<&Value>,
    path: &str,
    redactor: &Redactor,
) -> Result<BTreeMap<String, String>, HookError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(k, v)| {
                let v = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
                redact_label(redactor, k, &v)
            })
            .collect()),
        Some(_) => Err(invalid(path, "must be an object of strings")),
    }
}

/// A fingerprint for senders that have none: the first 16 hex digits of the SHA-256 of
/// the name and sorted labels (redacted: the intake's tokens are stable), so the same alert
/// always dedups the same way.
fn label_fingerprint(name: &str, labels: &BTreeMap<String, String>) -> String {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    for (k, v) in labels {
        hash.update([0]);
        hash.update(k.as_bytes());
        hash.update([0]);
        hash.update(v.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}

/// Alertmanager v4 and Grafana v1 bodies (the same shape), and Grafana's legacy alerting
/// body (`ruleName`, `state`, `evalMatches`, no `alerts`: Grafana 10 and older). `source`
/// says which hook it came in on, and a Grafana body on the Alertmanager hook is
/// recognized by its version.
///
/// One odd alert never costs the others: an alert that cannot be read is left out (and
/// logged with its path), and the notification is refused only when no alert is left.
/// Neither Alertmanager nor Grafana retries a `400`: refusing the whole notification
/// would lose every alert in it.
pub fn alertmanager(
    body: &[u8],
    source: TriggerSource,
    redactor: &Redactor,
) -> Result<Notification, HookError> {
    let value = parse(body)?;
    if value.get("alerts").is_none() && value.get("ruleName").is_some() {
        return grafana_legacy(value, redactor);
    }
    let source = match value.get("version").and_then(Value::as_str) {
        Some("1") => TriggerSource::Grafana,
        _ => source,
    };
    let alerts = required(&value, "alerts", "alerts")?
        .as_array()
        .ok_or_else(|| invalid("alerts", "must be an array"))?;
    let group_key = optional_string(&value, "groupKey").map(|k| redacted(redactor, &k));
    let common_labels = string_map(value.get("commonLabels"), "commonLabels", redactor)?;
    let mut out = Vec::with_capacity(alerts.len());
    let mut first_problem = None;
    for (i, alert) in alerts.iter().enumerate() {
        match one_alert(i, alert, &value, &common_labels, source, redactor) {
            Ok(trigger) => out.push(Trigger { group_key: group_key.clone(), ..trigger }),
            Err(problem) => {
                tracing::warn!(source = source.as_str(), problem = %problem, "Left out an alert that cannot be read.");
                first_problem.get_or_insert(problem);
            }
        }
    }
    if let Some(problem) = first_problem.filter(|_| out.is_empty()) {
        return Err(problem);
    }
    attach_raw(&mut out, value, redactor);
    Ok(Notification::Alerts(out))
}

/// Alert `i` of an Alertmanager or Grafana notification.
fn one_alert(
    i: usize,
    alert: &Value,
    notification: &Value,
    common_labels: &BTreeMap<String, String>,
    source: TriggerSource,
    redactor: &Redactor,
) -> Result<Trigger, HookError> {
    let at = |key: &str| format!("alerts[{i}].{key}");
    if !alert.is_object() {
        return Err(invalid(format!("alerts[{i}]"), "must be an object"));
    }
    let status = string(alert, "status", &at("status"))?;
    if status != "firing" && status != "resolved" {
        return Err(invalid(at("status"), format!("is {status:?}, not firing or resolved")));
    }
    let labels = Some(required(alert, "labels", &at("labels"))?);
    let mut labels = string_map(labels, &at("labels"), redactor)?;
    for (k, v) in common_labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let annotations = string_map(alert.get("annotations"), &at("annotations"), redactor)?;
    let starts_at = time(alert, "startsAt", &at("startsAt"))?;
    let ends_at = end_time(alert, "endsAt", &at("endsAt"), &status)?;
    // Alertmanager's API takes alerts without `alertname` (from scripts): name them from
    // what they have.
    let name = labels
        .get("alertname")
        .cloned()
        .or_else(|| optional_string(notification, "title").map(|t| redacted(redactor, &t)))
        .or_else(|| annotations.get("summary").cloned())
        .unwrap_or_else(|| unnamed(&labels));
    let fingerprint = optional_string(alert, "fingerprint")
        .map(|f| redacted(redactor, &f))
        .or_else(|| Some(label_fingerprint(&name, &labels)));
    let generator_url = optional_string(alert, "generatorURL")
        .filter(|u| !u.is_empty())
        .map(|u| redacted(redactor, &u));
    Ok(Trigger {
        labels,
        annotations,
        fingerprint,
        ends_at,
        generator_url,
        ..Trigger::alert(source, name, status, starts_at)
    })
}

/// A name for an alert without `alertname`: its labels (`job=api instance=a:9100`), or
/// "unnamed alert".
fn unnamed(labels: &BTreeMap<String, String>) -> String {
    let text: Vec<String> = labels.iter().take(4).map(|(k, v)| format!("{k}={v}")).collect();
    if text.is_empty() { "unnamed alert".to_owned() } else { text.join(" ") }
}

/// Grafana's legacy alerting body (Grafana 10 and older, still sent by many):
/// `{ruleId, ruleName, state, title, message, evalMatches: [{metric, value, tags}], tags}`.
/// `state` `alerting` (and `no_data`) fires, `ok` resolves; `pending` and `paused` are
/// recorded as updates. It carries no start time: the time it arrived is used.
fn grafana_legacy(value: Value, redactor: &Redactor) -> Result<Notification, HookError> {
    let name = redacted(redactor, &string(&value, "ruleName", "ruleName")?);
    let state = string(&value, "state", "state")?;
    let status = match state.as_str() {
        "alerting" | "no_data" => "firing".to_owned(),
        "ok" => "resolved".to_owned(),
        other => redacted(redactor, other),
    };
    let mut labels = string_map(value.get("tags"), "tags", redactor)?;
    if let Some(id) = value.get("ruleId").filter(|v| !v.is_null()) {
        let id = id.as_str().map(str::to_owned).unwrap_or_else(|| id.to_string());
        labels
            .entry("grafana_rule_id".to_owned())
            .or_insert_with(|| redactor.redact_pair("grafana_rule_id", &id).into_string());
    }
    let mut annotations = BTreeMap::new();
    for (key, field) in [("summary", "title"), ("description", "message"), ("rule_url", "ruleUrl")]
    {
        if let Some(text) = optional_string(&value, field) {
            annotations.insert(key.to_owned(), redactor.redact_pair(field, &text).into_string());
        }
    }
    let fingerprint = Some(label_fingerprint(&name, &labels));
    let mut alerts = vec![Trigger {
        labels,
        annotations,
        fingerprint,
        ..Trigger::alert(TriggerSource::Grafana, name, status, Utc::now())
    }];
    attach_raw(&mut alerts, value, redactor);
    Ok(Notification::Alerts(alerts))
}

/// The raw payload, redacted, goes with the first alert only: the others join its run or
/// start runs whose trigger names them; one copy per notification bounds memory in a storm.
fn attach_raw(alerts: &mut [Trigger], mut value: Value, redactor: &Redactor) {
    if let Some(first) = alerts.first_mut() {
        redactor.redact_json(&mut value);
        first.raw = Some(value);
    }
}

/// A PagerDuty V3 webhook (one event per request). `incident.triggered` and
/// `incident.reopened` fire; `incident.resolved` resolves; other incident events are
/// recorded with the run of that incident but never start one.
pub fn pagerduty(body: &[u8], redactor: &Redactor) -> Result<Notification, HookError> {
    let value = parse(body)?;
    let event = required(&value, "event", "event")?;
    let event_type = string(event, "event_type", "event.event_type")?;
    if event_type == "pagey.ping" {
        return Ok(Notification::Ping);
    }
    if !event_type.starts_with("incident.") {
        return Ok(Notification::Alerts(Vec::new()));
    }
    let data = required(event, "data", "event.data")?;
    // Notes and status updates carry the incident as a reference inside.
    let incident = data.get("incident").filter(|v| v.is_object()).unwrap_or(data);
    let incident_id = redacted(redactor, &string(incident, "id", "event.data.id")?);
    let occurred_at = time(event, "occurred_at", "event.occurred_at")?;
    // A reopened incident is anchored when it reopened, not when it was first created.
    let anchor_field = if event_type == "incident.reopened" { "reopened_at" } else { "created_at" };
    let starts_at = match incident.get(anchor_field) {
        Some(Value::String(_)) => {
            time(incident, anchor_field, &format!("event.data.{anchor_field}"))?
        }
        _ if event_type == "incident.reopened" => occurred_at,
        _ => match incident.get("created_at") {
            Some(Value::String(_)) => time(incident, "created_at", "event.data.created_at")?,
            _ => occurred_at,
        },
    };
    let status = match event_type.as_str() {
        "incident.triggered" | "incident.reopened" => "firing".to_owned(),
        "incident.resolved" => "resolved".to_owned(),
        other => redacted(redactor, other.trim_start_matches("incident.")),
    };
    let name = optional_string(incident, "title")
        .or_else(|| optional_string(incident, "summary"))
        .map(|n| redacted(redactor, &n))
        .unwrap_or_else(|| format!("PagerDuty incident {incident_id}"));
    let mut labels = BTreeMap::new();
    let summary = |v: Option<&Value>| v.and_then(|v| optional_string(v, "summary"));
    let found = [
        ("service", summary(incident.get("service"))),
        ("priority", summary(incident.get("priority"))),
        ("urgency", optional_string(incident, "urgency")),
    ];
    for (key, value) in found {
        if let Some(value) = value {
            labels.insert(key.to_owned(), redactor.redact_pair(key, &value).into_string());
        }
    }
    if let Some(n) = incident.get("number").and_then(Value::as_u64) {
        labels.insert("incident_number".to_owned(), n.to_string());
    }
    let mut annotations = BTreeMap::new();
    if let Some(url) = optional_string(incident, "html_url") {
        annotations.insert("incident_url".to_owned(), redacted(redactor, &url));
    }
    annotations.insert("event_type".to_owned(), redacted(redactor, &event_type));
    let ends_at = (status == "resolved").then_some(occurred_at);
    let mut alerts = vec![Trigger {
        labels,
        annotations,
        incident_id: Some(incident_id),
        ends_at,
        ..Trigger::alert(TriggerSource::Pagerduty, name, status, starts_at)
    }];
    attach_raw(&mut alerts, value, redactor);
    Ok(Notification::Alerts(alerts))
}

/// The generic body: `title` (required), `labels`, `annotations`, `starts_at` (default
/// now), `status` (default `firing`), `ends_at` (a resolved alert's end), `fingerprint`
/// (default: from title and labels).
pub fn generic(
    body: &[u8],
    source: TriggerSource,
    redactor: &Redactor,
) -> Result<Notification, HookError> {
    let value = parse(body)?;
    let name = redacted(redactor, &string(&value, "title", "title")?);
    let labels = string_map(value.get("labels"), "labels", redactor)?;
    let annotations = string_map(value.get("annotations"), "annotations", redactor)?;
    let starts_at = match value.get("starts_at") {
        None | Some(Value::Null) => Utc::now(),
        Some(_) => time(&value, "starts_at", "starts_at")?,
    };
    let status = optional_string(&value, "status").unwrap_or_else(|| "firing".to_owned());
    if status != "firing" && status != "resolved" {
        return Err(invalid("status", format!("is {status:?}, not firing or resolved")));
    }
    let ends_at = end_time(&value, "ends_at", "ends_at", &status)?;
    let fingerprint = optional_string(&value, "fingerprint")
        .map(|f| redacted(redactor, &f))
        .unwrap_or_else(|| label_fingerprint(&name, &labels));
    let mut alerts = vec![Trigger {
        labels,
        annotations,
        fingerprint: Some(fingerprint),
        ends_at,
        ..Trigger::alert(source, name, status, starts_at)
    }];
    attach_raw(&mut alerts, value, redactor);
    Ok(Notification::Alerts(alerts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::builtin()
    }

    const CAPTURED: &str = r#"{"receiver":"evidence","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","namespace":"prod","service":"checkout","severity":"critical"},"annotations":{"runbook_url":"https://runbooks.example/checkout","summary":"5xx \u003e 5% on checkout"},"startsAt":"2025-11-19T21:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph","fingerprint":"32c16fb6eca3387b"}],"groupLabels":{"alertname":"HighErrorRate","service":"checkout"},"commonLabels":{"alertname":"HighErrorRate","namespace":"prod","service":"checkout","severity":"critical"},"commonAnnotations":{},"externalURL":"http://127.0.0.1:19093","version":"4","groupKey":"{}:{alertname=\"HighErrorRate\", service=\"checkout\"}","truncatedAlerts":0}"#;

    fn alerts(n: Result<Notification, HookError>) -> Vec<Trigger> {
        match n.unwrap() {
            Notification::Alerts(a) => a,
            Notification::Ping => panic!("ping"),
        }
    }

    #[test]
    fn a_captured_alertmanager_body_normalizes() {
        let a = alerts(alertmanager(CAPTURED.as_bytes(), TriggerSource::Alertmanager, &redactor()));
        assert_eq!(a.len(), 1);
        let t = &a[0];
        assert_eq!((t.name.as_str(), t.status.as_str()), ("HighErrorRate", "firing"));
        assert_eq!(t.fingerprint.as_deref(), Some("32c16fb6eca3387b"));
        assert_eq!(t.annotations["summary"], "5xx > 5% on checkout");
        assert_eq!(t.starts_at.to_rfc3339(), "2025-11-19T21:00:00+00:00");
        assert!(t.raw.is_some());
        assert_eq!(a[0].dedup_keys().len(), 2);
    }

    #[test]
    fn a_resolved_alert_ends_at_its_end_and_a_firing_one_never() {
        let firing =
            alerts(alertmanager(CAPTURED.as_bytes(), TriggerSource::Alertmanager, &redactor()));
        assert_eq!(firing[0].ends_at, None, "Go's zero time is no end");
        let body = CAPTURED
            .replace("\"status\":\"firing\"", "\"status\":\"resolved\"")
            .replace("0001-01-01T00:00:00Z", "2025-11-19T21:40:00Z");
        let resolved =
            alerts(alertmanager(body.as_bytes(), TriggerSource::Alertmanager, &redactor()));
        let end = resolved[0].ends_at.unwrap();
        assert_eq!(end.to_rfc3339(), "2025-11-19T21:40:00+00:00");
        let arrived = end + chrono::Duration::seconds(3);
        assert_eq!(resolved[0].resolved_at(arrived), end);
        // An end after the arrival (a skewed clock) or before the start is not believed.
        let late = resolved[0].resolved_at(end - chrono::Duration::hours(1));
        assert_eq!(late, end - chrono::Duration::hours(1));
    }

    #[test]
    fn a_grafana_body_on_the_alertmanager_hook_is_grafana() {
        let body =
            CAPTURED.replace("\"version\":\"4\"", "\"version\":\"1\",\"state\":\"alerting\"");
        let a = alerts(alertmanager(body.as_bytes(), TriggerSource::Alertmanager, &redactor()));
        assert_eq!(a[0].source, TriggerSource::Grafana);
    }

    /// Issue 22: an alert without `alertname` (Alertmanager's API takes them) got the
    /// whole notification refused with `400`, every time it was re-sent.
    #[test]
    fn an_odd_alert_never_costs_the_others() {
        let mut body: Value = serde_json::from_str(CAPTURED).unwrap();
        let alerts = body["alerts"].as_array_mut().unwrap();
        let mut unnamed_alert = alerts[0].clone();
        unnamed_alert["labels"] = serde_json::json!({"job": "backup", "instance": "db1"});
        unnamed_alert["fingerprint"] = "aa".into();
        unnamed_alert["annotations"] = serde_json::json!({});
        let mut broken = alerts[0].clone();
        broken["startsAt"] = "yesterday".into();
        alerts.push(unnamed_alert);
        alerts.push(broken);
        body["commonLabels"] = serde_json::json!({});
        let a = alerts_of(&body);
        assert_eq!(a.len(), 2, "the broken one is left out, the others kept");
        assert_eq!(a[1].name, "instance=db1 job=backup");
        assert_eq!(a[1].fingerprint.as_deref(), Some("aa"));
    }

    fn alerts_of(body: &Value) -> Vec<Trigger> {
        alerts(alertmanager(body.to_string().as_bytes(), TriggerSource::Alertmanager, &redactor()))
    }

    /// Issue 22: Grafana's legacy alerting body got `400 missing required field alerts`.
    #[test]
    fn a_grafana_legacy_body_is_an_alert() {
        let body = serde_json::json!({
            "dashboardId": 1, "evalMatches": [{"value": 100, "metric": "High value", "tags": null}],
            "imageUrl": "https://grafana.com/static/assets/img/blog/mixed_styles.png",
            "message": "Someone is testing the alert notification within Grafana.",
            "orgId": 0, "panelId": 1, "ruleId": 0, "ruleName": "Test notification",
            "ruleUrl": "http://localhost:3000/", "state": "alerting",
            "tags": {"service": "checkout"}, "title": "[Alerting] Test notification"
        });
        let a =
            alerts(alertmanager(body.to_string().as_bytes(), TriggerSource::Grafana, &redactor()));
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].name.as_str(), a[0].status.as_str()), ("Test notification", "firing"));
        assert_eq!(a[0].source, TriggerSource::Grafana);
        assert_eq!(a[0].labels["service"], "checkout");
        assert_eq!(a[0].annotations["summary"], "[Alerting] Test notification");
        assert!(a[0].raw.is_some());
        let ok = body.to_string().replace("\"alerting\"", "\"ok\"");
        let a = alerts(alertmanager(ok.as_bytes(), TriggerSource::Grafana, &redactor()));
        assert_eq!(a[0].status, "resolved");
        assert_eq!(a[0].dedup_keys(), alerts_of(&body)[0].dedup_keys(), "ok resolves its alert");
    }

    #[test]
    fn missing_fields_are_named_with_their_path() {
        let body = CAPTURED.replace("\"startsAt\":\"2025-11-19T21:00:00Z\",", "");
        let err =
            alertmanager(body.as_bytes(), TriggerSource::Alertmanager, &redactor()).unwrap_err();
        assert_eq!(err.to_string(), "missing required field `alerts[0].startsAt`");
        let err = generic(br#"{"labels":{}}"#, TriggerSource::Generic, &redactor()).unwrap_err();
        assert_eq!(err, HookError::Missing("title".into()));
        let err = pagerduty(br#"{"event":{"event_type":"incident.triggered"}}"#, &redactor())
            .unwrap_err();
        assert_eq!(err, HookError::Missing("event.data".into()));
    }

    #[test]
    fn pagerduty_events_map_to_firing_resolved_and_updates() {
        let ping = br#"{"event":{"event_type":"pagey.ping","data":{"type":"ping"}}}"#;
        assert!(matches!(pagerduty(ping, &redactor()).unwrap(), Notification::Ping));
        let body = |t: &str| {
            format!(
                r#"{{"event":{{"id":"e1","event_type":"{t}","resource_type":"incident","occurred_at":"2025-11-19T21:00:02.169Z","data":{{"id":"PGR0VU2","number":2,"title":"HighErrorRate checkout","created_at":"2025-11-19T21:00:01Z","service":{{"summary":"API Service"}},"urgency":"high"}}}}}}"#
            )
        };
        let a = alerts(pagerduty(body("incident.triggered").as_bytes(), &redactor()));
        assert_eq!(a[0].status, "firing");
        assert_eq!(a[0].incident_id.as_deref(), Some("PGR0VU2"));
        assert_eq!(a[0].labels["service"], "API Service");
        assert_eq!(a[0].dedup_keys(), ["incident:PGR0VU2"]);
        let a = alerts(pagerduty(body("incident.resolved").as_bytes(), &redactor()));
        assert_eq!(a[0].status, "resolved");
        assert_eq!(
            a[0].ends_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-11-19T21:00:02.169+00:00"),
            "resolved when the event occurred"
        );
        let a = alerts(pagerduty(body("incident.acknowledged").as_bytes(), &redactor()));
        assert!(!a[0].is_firing());
        assert_eq!(a[0].status, "acknowledged");
        // Issue 22: a reopened incident was anchored at its creation.
        let a = alerts(pagerduty(body("incident.reopened").as_bytes(), &redactor()));
        assert_eq!(a[0].status, "firing");
        assert_eq!(a[0].starts_at.to_rfc3339(), "2025-11-19T21:00:02.169+00:00");
        let reopened = body("incident.reopened")
            .replace("\"urgency\"", "\"reopened_at\":\"2025-11-19T22:30:00Z\",\"urgency\"");
        let a = alerts(pagerduty(reopened.as_bytes(), &redactor()));
        assert_eq!(a[0].starts_at.to_rfc3339(), "2025-11-19T22:30:00+00:00");
    }
}
