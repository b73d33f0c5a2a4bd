//! Atlassian Statuspage public API v2 (`https://<page>/api/v2/*.json`), used by GitHub,
//! Atlassian, Twilio, Datadog, Cloudflare and many more. `summary.json` carries everything
//! (status, components, unresolved incidents, scheduled maintenances); when it cannot be
//! read, `status.json` plus `incidents/unresolved.json` give the indicator and incidents.
//!
//! The shapes are read leniently: unknown fields are ignored, missing ones default, enum
//! values witness does not know are kept as text.

use crate::fetch::Document;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{
    Component, ComponentChange, ComponentStatus, Incident, IncidentStatus, IncidentUpdate,
    Indicator, Maintenance, MaintenanceStatus, Snapshot, lenient_time,
};

pub const SUMMARY: &str = "api/v2/summary.json";
pub const STATUS: &str = "api/v2/status.json";
pub const UNRESOLVED: &str = "api/v2/incidents/unresolved.json";
pub const RECENT: &str = "api/v2/incidents.json";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Page {
    name: Option<String>,
    #[serde(deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Status {
    indicator: Indicator,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawComponent {
    id: String,
    name: String,
    status: ComponentStatus,
    #[serde(default)]
    group: bool,
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct AffectedComponent {
    name: String,
    #[serde(default)]
    old_status: Option<ComponentStatus>,
    new_status: ComponentStatus,
}

#[derive(Debug, Deserialize)]
struct RawUpdate {
    status: IncidentStatus,
    #[serde(default)]
    body: String,
    #[serde(default, deserialize_with = "lenient_time")]
    display_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    affected_components: Option<Vec<AffectedComponent>>,
}

#[derive(Debug, Deserialize)]
struct NamedRef {
    name: String,
}

#[derive(Debug, Deserialize)]
struct RawIncident {
    id: String,
    name: String,
    status: IncidentStatus,
    #[serde(default = "unknown_impact")]
    impact: Indicator,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    started_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    shortlink: Option<String>,
    #[serde(default)]
    incident_updates: Vec<RawUpdate>,
    #[serde(default)]
    components: Vec<NamedRef>,
}

#[derive(Debug, Deserialize)]
struct RawMaintenance {
    id: String,
    name: String,
    status: MaintenanceStatus,
    #[serde(default, deserialize_with = "lenient_time")]
    scheduled_for: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    scheduled_until: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    incident_updates: Vec<RawUpdate>,
    #[serde(default)]
    components: Vec<NamedRef>,
}

fn unknown_impact() -> Indicator {
    Indicator::Unknown(String::new())
}

/// `summary.json`.
#[derive(Debug, Deserialize)]
struct Summary {
    #[serde(default)]
    page: Page,
    status: Status,
    #[serde(default)]
    components: Vec<RawComponent>,
    #[serde(default)]
    incidents: Vec<RawIncident>,
    #[serde(default)]
    scheduled_maintenances: Vec<RawMaintenance>,
}

/// `status.json`.
#[derive(Debug, Deserialize)]
struct StatusOnly {
    #[serde(default)]
    page: Page,
    status: Status,
}

/// `incidents/unresolved.json` (and `incidents.json`).
#[derive(Debug, Deserialize)]
struct IncidentList {
    incidents: Vec<RawIncident>,
}

/// Reads `summary.json`.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `status.indicator`.
pub fn parse_summary(body: Document) -> Result<Snapshot, serde_json::Error> {
    let summary: Summary = body.parse()?;
    // Components name their group by id; keep the group's name instead.
    let groups: HashMap<&str, &str> = summary
        .components
        .iter()
        .filter(|c| c.group)
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();
    let components = summary
        .components
        .iter()
        .filter(|c| !c.group)
        .map(|c| Component {
            id: c.id.clone(),
            name: c.name.clone(),
            status: c.status.clone(),
            group: c.group_id.as_deref().and_then(|g| groups.get(g)).map(|g| (*g).to_owned()),
            updated_at: c.updated_at,
        })
        .collect();
    Ok(Snapshot {
        page_name: summary.page.name,
        indicator: Some(summary.status.indicator),
        description: summary.status.description,
        updated_at: summary.page.updated_at,
        components,
        incidents: summary.incidents.into_iter().map(incident).collect(),
        maintenances: summary.scheduled_maintenances.into_iter().map(maintenance).collect(),
    })
}

/// Reads `status.json`: the page and its indicator only.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `status.indicator`.
pub fn parse_status(body: Document) -> Result<Snapshot, serde_json::Error> {
    let status: StatusOnly = body.parse()?;
    Ok(Snapshot {
        page_name: status.page.name,
        indicator: Some(status.status.indicator),
        description: status.status.description,
        updated_at: status.page.updated_at,
        ..Snapshot::default()
    })
}

/// Reads `incidents/unresolved.json` or `incidents.json`.
///
/// # Errors
/// serde's message when the body is not JSON or lacks `incidents`.
pub fn parse_incidents(body: Document) -> Result<Vec<Incident>, serde_json::Error> {
    let list: IncidentList = body.parse()?;
    Ok(list.incidents.into_iter().map(incident).collect())
}

fn update(raw: RawUpdate) -> IncidentUpdate {
    IncidentUpdate {
        status: raw.status,
        body: raw.body,
        time: raw.display_at.or(raw.created_at),
        affected_components: raw
            .affected_components
            .unwrap_or_default()
            .into_iter()
            .map(|a| ComponentChange {
                name: a.name,
                old_status: a.old_status,
                new_status: a.new_status,
            })
            .collect(),
    }
}

fn incident(raw: RawIncident) -> Incident {
    Incident {
        id: raw.id,
        name: raw.name,
        status: raw.status,
        impact: raw.impact,
        created_at: raw.created_at,
        updated_at: raw.updated_at,
        started_at: raw.started_at,
        resolved_at: raw.resolved_at,
        url: raw.shortlink,
        components: raw.components.into_iter().map(|c| c.name).collect(),
        updates: raw.incident_updates.into_iter().map(update).collect(),
    }
}

fn maintenance(raw: RawMaintenance) -> Maintenance {
    let latest_update =
        raw.incident_updates.into_iter().map(update).max_by_key(|u| u.time).map(|u| u.body);
    Maintenance {
        id: raw.id,
        name: raw.name,
        status: raw.status,
        scheduled_for: raw.scheduled_for,
        scheduled_until: raw.scheduled_until,
        started_at: raw.started_at,
        components: raw.components.into_iter().map(|c| c.name).collect(),
        latest_update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::document;

    /// The example of wire-formats.md §5, as GitHub's page serves it.
    const GITHUB_SUMMARY: &str = r#"{"page":{"id":"kctbh9vrtdwd","name":"GitHub","url":"https://www.githubstatus.com","time_zone":"Etc/UTC","updated_at":"2025-11-19T21:04:11.123Z"},
 "status":{"indicator":"major","description":"Partial System Outage"},
 "components":[{"id":"brv1bkgrwx7q","name":"Git Operations","status":"partial_outage","created_at":"2017-01-31T20:05:05.370Z",
   "updated_at":"2025-11-19T21:03:58.000Z","position":1,"description":"Performance of git clones, pulls, pushes","showcase":false,
   "start_date":null,"group_id":null,"page_id":"kctbh9vrtdwd","group":false,"only_show_if_degraded":false}],
 "incidents":[{"id":"cp306tmzcl0y","name":"Degraded git operations","status":"investigating","impact":"major",
   "created_at":"2025-11-19T21:01:00.000Z","updated_at":"2025-11-19T21:03:58.000Z","started_at":"2025-11-19T21:00:30.000Z",
   "monitoring_at":null,"resolved_at":null,"shortlink":"https://stspg.io/abc","page_id":"kctbh9vrtdwd",
   "incident_updates":[{"id":"jdy3tw5mt5r5","status":"investigating","body":"We are investigating reports of degraded performance.",
     "incident_id":"cp306tmzcl0y","created_at":"2025-11-19T21:01:00.000Z","updated_at":"2025-11-19T21:01:00.000Z",
     "display_at":"2025-11-19T21:01:00.000Z","affected_components":[{"code":"brv1bkgrwx7q","name":"Git Operations","old_status":"operational","new_status":"partial_outage"}]}],
   "components":[{"id":"brv1bkgrwx7q","name":"Git Operations","status":"partial_outage"}]}],
 "scheduled_maintenances":[]}"#;

    #[test]
    fn the_reference_summary_is_read_whole() {
        let snapshot = parse_summary(document(GITHUB_SUMMARY)).unwrap();
        assert_eq!(snapshot.page_name.as_deref(), Some("GitHub"));
        assert_eq!(snapshot.indicator, Some(Indicator::Major));
        assert_eq!(snapshot.components[0].status, ComponentStatus::PartialOutage);
        let incident = &snapshot.incidents[0];
        assert_eq!(incident.impact, Indicator::Major);
        assert_eq!(incident.components, ["Git Operations"]);
        assert!(incident.is_unresolved());
        let change = &incident.updates[0].affected_components[0];
        assert_eq!(change.old_status, Some(ComponentStatus::Operational));
        assert_eq!(change.new_status, ComponentStatus::PartialOutage);
    }

    #[test]
    fn unknown_enum_values_do_not_fail_the_page() {
        let body = r#"{"status":{"indicator":"severe","description":"?"},
          "components":[{"id":"a","name":"API","status":"on_fire"}],
          "incidents":[{"id":"i","name":"x","status":"escalated","impact":"catastrophic","incident_updates":[]}],
          "scheduled_maintenances":[{"id":"m","name":"db","status":"postponed"}]}"#;
        let snapshot = parse_summary(document(body)).unwrap();
        assert_eq!(snapshot.indicator, Some(Indicator::Unknown("severe".into())));
        assert_eq!(snapshot.components[0].status.as_str(), "on_fire");
        assert_eq!(snapshot.incidents[0].status.as_str(), "escalated");
        assert_eq!(snapshot.incidents[0].impact.as_str(), "catastrophic");
        assert_eq!(snapshot.maintenances[0].status.as_str(), "postponed");
    }

    #[test]
    fn groups_are_not_components_and_name_their_members() {
        let body = r#"{"status":{"indicator":"none"},"components":[
          {"id":"g1","name":"Americas","status":"operational","group":true,"group_id":null},
          {"id":"c1","name":"Voice","status":"operational","group":false,"group_id":"g1"}]}"#;
        let snapshot = parse_summary(document(body)).unwrap();
        assert_eq!(snapshot.components.len(), 1);
        assert_eq!(snapshot.components[0].group.as_deref(), Some("Americas"));
    }
}
