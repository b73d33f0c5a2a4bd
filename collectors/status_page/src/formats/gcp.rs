//! Google Cloud's `https://status.cloud.google.com/incidents.json`: a JSON array of
//! incidents, current and past. One without `end` is active. Impact comes from
//! `status_impact` (`SERVICE_OUTAGE`, `SERVICE_DISRUPTION`, `SERVICE_INFORMATION`), else
//! from `severity` (high, medium, low). Products affected are the incident's components.
//!
//! Field names from third-party consumers of the feed; not verified against its schema.

use crate::fetch::Document;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::{Incident, IncidentStatus, IncidentUpdate, Indicator, Snapshot, lenient_time};

pub const INCIDENTS: &str = "incidents.json";

#[derive(Debug, Deserialize)]
struct RawIncident {
    id: String,
    #[serde(default)]
    external_desc: String,
    #[serde(default, deserialize_with = "lenient_time")]
    begin: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    modified: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    end: Option<DateTime<Utc>>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    status_impact: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    affected_products: Vec<Product>,
    #[serde(default)]
    updates: Vec<RawUpdate>,
}

#[derive(Debug, Deserialize)]
struct Product {
    title: String,
}

#[derive(Debug, Deserialize)]
struct RawUpdate {
    #[serde(default, deserialize_with = "lenient_time")]
    when: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    created: Option<DateTime<Utc>>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    status: Option<String>,
}

fn impact(status_impact: Option<&str>, severity: Option<&str>) -> Indicator {
    match (status_impact, severity) {
        (Some("SERVICE_OUTAGE"), _) => Indicator::Critical,
        (Some("SERVICE_DISRUPTION"), _) => Indicator::Major,
        (Some("SERVICE_INFORMATION"), _) => Indicator::Minor,
        (Some(other), _) => Indicator::Unknown(other.to_owned()),
        (None, Some("high")) => Indicator::Major,
        (None, Some("medium" | "low")) => Indicator::Minor,
        (None, Some(other)) => Indicator::Unknown(other.to_owned()),
        (None, None) => Indicator::Unknown(String::new()),
    }
}

/// Reads `incidents.json`.
///
/// # Errors
/// serde's message when the body is not a JSON array of incidents.
pub fn parse(body: Document) -> Result<Snapshot, serde_json::Error> {
    let raw: Vec<RawIncident> = body.parse()?;
    let incidents: Vec<Incident> = raw
        .into_iter()
        .map(|r| {
            let status = match r.end {
                Some(_) => IncidentStatus::Resolved,
                None => IncidentStatus::Unknown("active".into()),
            };
            Incident {
                id: r.id,
                name: r.external_desc,
                impact: impact(r.status_impact.as_deref(), r.severity.as_deref()),
                created_at: r.created,
                updated_at: r.modified,
                started_at: r.begin,
                resolved_at: r.end,
                url: r.uri.map(|u| {
                    if u.starts_with("http") {
                        u
                    } else {
                        format!("https://status.cloud.google.com/{u}")
                    }
                }),
                components: r.affected_products.into_iter().map(|p| p.title).collect(),
                updates: r
                    .updates
                    .into_iter()
                    .map(|u| IncidentUpdate {
                        status: u.status.map_or_else(|| status.clone(), IncidentStatus::Unknown),
                        body: u.text,
                        time: u.when.or(u.created),
                        affected_components: Vec::new(),
                    })
                    .collect(),
                status,
            }
        })
        .collect();
    let indicator = incidents
        .iter()
        .filter(|i| i.is_unresolved())
        .fold(Indicator::None, |worst, i| worst.worst(i.impact.clone()));
    Ok(Snapshot {
        page_name: Some("Google Cloud".into()),
        indicator: Some(indicator),
        description: None,
        updated_at: incidents.iter().filter_map(|i| i.updated_at).max(),
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
    fn only_incidents_without_end_are_active() {
        let body = r#"[
          {"id":"a1","number":"1","begin":"2025-11-19T20:40:00+00:00","created":"2025-11-19T20:45:00+00:00",
           "modified":"2025-11-19T21:00:00+00:00","external_desc":"Cloud SQL connection errors","severity":"high",
           "status_impact":"SERVICE_DISRUPTION","service_name":"Cloud SQL","affected_products":[{"title":"Cloud SQL","id":"hV87"}],
           "most_recent_update":{"when":"2025-11-19T21:00:00+00:00","text":"Mitigation in progress","status":"SERVICE_DISRUPTION"},
           "updates":[{"created":"2025-11-19T21:00:00+00:00","when":"2025-11-19T21:00:00+00:00","text":"Mitigation in progress","status":"SERVICE_DISRUPTION"}],
           "uri":"incidents/a1"},
          {"id":"b2","begin":"2025-10-01T00:00:00+00:00","end":"2025-10-01T02:00:00+00:00","external_desc":"old","severity":"low","updates":[]}
        ]"#;
        let snapshot = parse(document(body)).unwrap();
        assert_eq!(snapshot.indicator, Some(Indicator::Major));
        let active: Vec<&str> = snapshot
            .incidents
            .iter()
            .filter(|i| i.is_unresolved())
            .map(|i| i.id.as_str())
            .collect();
        assert_eq!(active, ["a1"]);
        assert_eq!(snapshot.incidents[0].components, ["Cloud SQL"]);
        assert_eq!(
            snapshot.incidents[0].url.as_deref(),
            Some("https://status.cloud.google.com/incidents/a1")
        );
        assert_eq!(snapshot.incidents[1].impact, Indicator::Minor);
    }
}
