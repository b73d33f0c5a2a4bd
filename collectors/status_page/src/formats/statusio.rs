//! status.io's public status API (`https://api.status.io/1.0/status/<page_id>`):
//! `result.status_overall` with a numeric `status_code`, components in `result.status`
//! (each with containers, e.g. regions), active incidents and maintenance.
//!
//! `status_code`: 100 operational, 200 planned maintenance, 300 degraded performance,
//! 400 partial service disruption, 500 service disruption, 600 security event (kb.status.io).
//! The incident and maintenance fields are read leniently; not verified against a live answer.

use crate::fetch::Document;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{
    Component, ComponentStatus, Incident, IncidentStatus, IncidentUpdate, Indicator, Maintenance,
    MaintenanceStatus, Snapshot, lenient_time,
};

#[derive(Debug, Deserialize)]
struct Envelope {
    result: Result_,
}

#[derive(Debug, Deserialize)]
struct Result_ {
    status_overall: Overall,
    #[serde(default)]
    status: Vec<RawComponent>,
    #[serde(default)]
    incidents: Vec<RawEvent>,
    #[serde(default)]
    maintenance: MaintenanceLists,
}

#[derive(Debug, Deserialize)]
struct Overall {
    #[serde(default, deserialize_with = "lenient_time")]
    updated: Option<DateTime<Utc>>,
    #[serde(default)]
    status: String,
    status_code: u16,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    id: String,
    name: String,
    #[serde(default)]
    status: String,
    status_code: u16,
    #[serde(default, deserialize_with = "lenient_time")]
    updated: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MaintenanceLists {
    active: Vec<RawEvent>,
}

/// An incident or a maintenance: both have a name, an open time, messages and the
/// components they affect.
#[derive(Debug, Deserialize)]
struct RawEvent {
    #[serde(default, alias = "_id")]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default, deserialize_with = "lenient_time")]
    datetime_open: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    datetime_planned_start: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    datetime_planned_end: Option<DateTime<Utc>>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    components_affected: Vec<Named>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    details: String,
    #[serde(default, deserialize_with = "lenient_time")]
    datetime: Option<DateTime<Utc>>,
    #[serde(default)]
    status: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct Named {
    name: String,
}

fn component_status(code: u16, text: &str) -> ComponentStatus {
    match code {
        100 => ComponentStatus::Operational,
        200 => ComponentStatus::UnderMaintenance,
        300 => ComponentStatus::DegradedPerformance,
        400 => ComponentStatus::PartialOutage,
        500 => ComponentStatus::MajorOutage,
        _ => ComponentStatus::Unknown(if text.is_empty() {
            code.to_string()
        } else {
            text.to_owned()
        }),
    }
}

/// Reads a status.io status document.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `result.status_overall`.
pub fn parse(body: Document) -> Result<Snapshot, serde_json::Error> {
    let Envelope { result } = body.parse()?;
    let overall =
        component_status(result.status_overall.status_code, &result.status_overall.status);
    let incidents = result
        .incidents
        .into_iter()
        .map(|e| {
            let updates: Vec<IncidentUpdate> = e
                .messages
                .iter()
                .map(|m| IncidentUpdate {
                    status: IncidentStatus::Unknown("open".into()),
                    body: m.details.clone(),
                    time: m.datetime,
                    affected_components: Vec::new(),
                })
                .collect();
            let impact = e
                .messages
                .iter()
                .max_by_key(|m| m.datetime)
                .and_then(|m| m.status)
                .map_or(Indicator::Unknown(String::new()), |code| {
                    component_status(code, "").indicator()
                });
            Incident {
                id: e.id,
                name: e.name,
                status: IncidentStatus::Unknown("open".into()),
                impact,
                created_at: e.datetime_open,
                updated_at: updates.iter().filter_map(|u| u.time).max(),
                started_at: None,
                resolved_at: None,
                url: None,
                components: e.components_affected.into_iter().map(|c| c.name).collect(),
                updates,
            }
        })
        .collect();
    let maintenances = result
        .maintenance
        .active
        .into_iter()
        .map(|e| Maintenance {
            id: e.id,
            name: e.name,
            status: MaintenanceStatus::InProgress,
            scheduled_for: e.datetime_planned_start,
            scheduled_until: e.datetime_planned_end,
            started_at: e.datetime_open,
            components: e.components_affected.into_iter().map(|c| c.name).collect(),
            latest_update: e.messages.into_iter().max_by_key(|m| m.datetime).map(|m| m.details),
        })
        .collect();
    Ok(Snapshot {
        page_name: None,
        indicator: Some(overall.indicator()),
        description: Some(result.status_overall.status),
        updated_at: result.status_overall.updated,
        components: result
            .status
            .into_iter()
            .map(|c| Component {
                status: component_status(c.status_code, &c.status),
                id: c.id,
                name: c.name,
                group: None,
                updated_at: c.updated,
            })
            .collect(),
        incidents,
        maintenances,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::document;

    #[test]
    fn status_codes_map_onto_component_statuses() {
        let body = r#"{"result":{"status_overall":{"updated":"2025-11-19T21:00:00.000Z","status":"Partial Service Disruption","status_code":400},
          "status":[{"id":"c1","name":"API","updated":"2025-11-19T21:00:00.000Z","status":"Partial Service Disruption","status_code":400,"containers":[]},
                    {"id":"c2","name":"Web","status":"Operational","status_code":100,"containers":[]},
                    {"id":"c3","name":"Vault","status":"Security Event","status_code":600,"containers":[]}],
          "incidents":[{"_id":"i1","name":"API errors","datetime_open":"2025-11-19T20:50:00.000Z",
             "messages":[{"details":"Investigating elevated errors","datetime":"2025-11-19T20:51:00.000Z","status":400}],
             "components_affected":[{"_id":"c1","name":"API"}]}],
          "maintenance":{"active":[],"upcoming":[]}}}"#;
        let snapshot = parse(document(body)).unwrap();
        assert_eq!(snapshot.indicator, Some(Indicator::Major));
        assert_eq!(snapshot.components[0].status, ComponentStatus::PartialOutage);
        assert_eq!(snapshot.components[2].status.as_str(), "Security Event");
        assert_eq!(snapshot.incidents[0].id, "i1");
        assert_eq!(snapshot.incidents[0].impact, Indicator::Major);
        assert_eq!(snapshot.incidents[0].components, ["API"]);
    }
}
