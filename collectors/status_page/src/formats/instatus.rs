//! Instatus public pages (`<url>/summary.json`): the page status (`UP`, `HASISSUES`,
//! `UNDERMAINTENANCE`), active incidents and active maintenances, with upper-case enum
//! words (`MAJOROUTAGE`, `INVESTIGATING`) mapped onto Statuspage's.
//!
//! Field names from Instatus's docs and webhooks; not verified against a live answer.

use crate::fetch::Document;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{
    Component, ComponentStatus, Incident, IncidentStatus, Indicator, Maintenance,
    MaintenanceStatus, Snapshot, lenient_time,
};

pub const SUMMARY: &str = "summary.json";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    page: Page,
    #[serde(default)]
    active_incidents: Vec<RawIncident>,
    #[serde(default)]
    active_maintenances: Vec<RawMaintenance>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

#[derive(Debug, Deserialize)]
struct Page {
    #[serde(default)]
    name: Option<String>,
    status: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIncident {
    id: String,
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    impact: String,
    #[serde(default, deserialize_with = "lenient_time")]
    started: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaintenance {
    id: String,
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "lenient_time")]
    start: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    id: String,
    name: String,
    #[serde(default)]
    status: String,
}

fn component_status(word: &str) -> ComponentStatus {
    match word {
        "OPERATIONAL" => ComponentStatus::Operational,
        "UNDERMAINTENANCE" => ComponentStatus::UnderMaintenance,
        "DEGRADEDPERFORMANCE" => ComponentStatus::DegradedPerformance,
        "PARTIALOUTAGE" | "MINOROUTAGE" => ComponentStatus::PartialOutage,
        "MAJOROUTAGE" => ComponentStatus::MajorOutage,
        other => ComponentStatus::Unknown(other.to_owned()),
    }
}

/// Reads `summary.json`.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `page.status`.
pub fn parse(body: Document) -> Result<Snapshot, serde_json::Error> {
    let summary: Summary = body.parse()?;
    let indicator = match summary.page.status.as_str() {
        "UP" => Indicator::None,
        "UNDERMAINTENANCE" => Indicator::Maintenance,
        "HASISSUES" => summary.active_incidents.iter().fold(Indicator::Minor, |worst, i| {
            worst.worst(component_status(&i.impact).indicator())
        }),
        other => Indicator::Unknown(other.to_owned()),
    };
    Ok(Snapshot {
        page_name: summary.page.name,
        description: Some(summary.page.status),
        indicator: Some(indicator),
        updated_at: None,
        components: summary
            .components
            .into_iter()
            .map(|c| Component {
                status: component_status(&c.status),
                id: c.id,
                name: c.name,
                group: None,
                updated_at: None,
            })
            .collect(),
        incidents: summary
            .active_incidents
            .into_iter()
            .map(|i| Incident {
                id: i.id,
                name: i.name,
                status: IncidentStatus::parse(&i.status.to_ascii_lowercase()),
                impact: component_status(&i.impact).indicator(),
                created_at: i.started,
                updated_at: i.updated_at,
                started_at: i.started,
                resolved_at: None,
                url: i.url,
                components: Vec::new(),
                updates: Vec::new(),
            })
            .collect(),
        maintenances: summary
            .active_maintenances
            .into_iter()
            .map(|m| Maintenance {
                id: m.id,
                name: m.name,
                status: match m.status.as_str() {
                    "INPROGRESS" => MaintenanceStatus::InProgress,
                    "NOTSTARTEDYET" => MaintenanceStatus::Scheduled,
                    "COMPLETED" => MaintenanceStatus::Completed,
                    other => MaintenanceStatus::Unknown(other.to_owned()),
                },
                scheduled_for: m.start,
                scheduled_until: None,
                started_at: None,
                components: Vec::new(),
                latest_update: None,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::document;

    #[test]
    fn upper_case_words_map_onto_statuspage_ones() {
        let body = r#"{"page":{"name":"Acme","url":"https://status.acme.dev","status":"HASISSUES"},
          "activeIncidents":[{"id":"ck1","name":"Login failures","started":"2025-11-19T20:55:00.000Z","status":"IDENTIFIED",
            "impact":"MAJOROUTAGE","url":"https://status.acme.dev/incident/ck1","updatedAt":"2025-11-19T21:02:00.000Z"}],
          "activeMaintenances":[{"id":"m1","name":"DB upgrade","start":"2025-11-19T20:00:00.000Z","status":"INPROGRESS","duration":"60"}]}"#;
        let snapshot = parse(document(body)).unwrap();
        assert_eq!(snapshot.indicator, Some(Indicator::Critical));
        assert_eq!(snapshot.incidents[0].status, IncidentStatus::Identified);
        assert_eq!(snapshot.incidents[0].impact, Indicator::Critical);
        assert!(snapshot.maintenances[0].is_in_progress());
    }
}
