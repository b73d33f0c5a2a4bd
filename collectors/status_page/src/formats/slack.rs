//! Slack's status API (`https://slack-status.com/api/v2.0.0/current`): an overall `status`
//! (`ok` or `active`) and the active incidents, each with a `type` (incident, notice,
//! outage), the services it affects and its notes. Slack publishes no per-service status,
//! so the snapshot has no components; incidents name the services they affect.
//!
//! Shape from Slack's API docs; not verified against a live answer.

use crate::fetch::Document;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{Incident, IncidentStatus, IncidentUpdate, Indicator, Snapshot, lenient_time};

pub const CURRENT: &str = "api/v2.0.0/current";

#[derive(Debug, Deserialize)]
struct Current {
    status: String,
    #[serde(default, deserialize_with = "lenient_time")]
    date_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    active_incidents: Vec<RawIncident>,
}

#[derive(Debug, Deserialize)]
struct RawIncident {
    id: serde_json::Value,
    title: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "lenient_time")]
    date_created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    date_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    notes: Vec<Note>,
}

#[derive(Debug, Deserialize)]
struct Note {
    #[serde(default, deserialize_with = "lenient_time")]
    date_created: Option<DateTime<Utc>>,
    #[serde(default)]
    body: String,
}

/// An outage is major, an incident minor, a notice nothing; other types kept as text.
fn impact(kind: &str) -> Indicator {
    match kind {
        "outage" => Indicator::Major,
        "incident" => Indicator::Minor,
        "notice" => Indicator::None,
        other => Indicator::Unknown(other.to_owned()),
    }
}

/// Slack's incident statuses: `resolved` and `completed` are over; others (`active`,
/// `scheduled`) are kept as text.
fn status(text: &str) -> IncidentStatus {
    match text {
        "completed" => IncidentStatus::Resolved,
        other => IncidentStatus::parse(other),
    }
}

/// Reads `current`.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `status`.
pub fn parse(body: Document) -> Result<Snapshot, serde_json::Error> {
    let current: Current = body.parse()?;
    let incidents: Vec<Incident> = current
        .active_incidents
        .into_iter()
        .map(|raw| {
            let status = status(&raw.status);
            Incident {
                id: match raw.id {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
                name: raw.title,
                impact: impact(&raw.kind),
                created_at: raw.date_created,
                updated_at: raw.date_updated,
                started_at: None,
                resolved_at: None,
                url: raw.url,
                components: raw.services,
                updates: raw
                    .notes
                    .into_iter()
                    .map(|n| IncidentUpdate {
                        status: status.clone(),
                        body: n.body,
                        time: n.date_created,
                        affected_components: Vec::new(),
                    })
                    .collect(),
                status,
            }
        })
        .collect();
    let indicator = match current.status.as_str() {
        "ok" => Indicator::None,
        "active" => incidents
            .iter()
            .filter(|i| i.is_unresolved())
            .fold(Indicator::Minor, |worst, i| worst.worst(i.impact.clone())),
        other => Indicator::Unknown(other.to_owned()),
    };
    Ok(Snapshot {
        page_name: Some("Slack".into()),
        description: Some(current.status),
        indicator: Some(indicator),
        updated_at: current.date_updated,
        components: Vec::new(),
        incidents,
        maintenances: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::document;

    #[test]
    fn an_active_outage_is_major_and_names_its_services() {
        let body = r#"{"status":"active","date_created":"2025-11-19T20:00:00-08:00","date_updated":"2025-11-19T20:05:00-08:00",
          "active_incidents":[{"id":546,"date_created":"2025-11-19T19:50:00-08:00","date_updated":"2025-11-19T20:05:00-08:00",
            "title":"Trouble sending messages","type":"outage","status":"active","url":"https://slack-status.com/2025-11/abc",
            "services":["Messaging","Connections"],"notes":[{"date_created":"2025-11-19T19:55:00-08:00","body":"We are on it."}]}]}"#;
        let snapshot = parse(document(body)).unwrap();
        assert_eq!(snapshot.indicator, Some(Indicator::Major));
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.id, "546");
        assert_eq!(incident.status.as_str(), "active");
        assert!(incident.is_unresolved());
        assert_eq!(incident.components, ["Messaging", "Connections"]);
        assert_eq!(incident.updates[0].body, "We are on it.");
        let ok = parse(document(r#"{"status":"ok","active_incidents":[]}"#)).unwrap();
        assert_eq!(ok.indicator, Some(Indicator::None));
    }
}
