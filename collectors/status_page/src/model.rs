//! What witness keeps of a vendor's status page, whatever format it came in: the overall
//! indicator, components, incidents with their updates, and scheduled maintenance. Every
//! format parser (see [`crate::formats`]) fills this one model, so the collector judges
//! all vendors the same way.
//!
//! Vendors add enum values without notice: every enum here keeps a value it does not know
//! as text (`Unknown("...")`) instead of failing the parse.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares an enum of known status words with an `Unknown(String)` fallback, read and
/// written as the plain word.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version of witness does not know, kept as the vendor wrote it.
            Unknown(String),
        }

        impl $name {
            /// Reads a word; anything not known is kept as [`Self::Unknown`].
            pub fn parse(text: &str) -> Self {
                match text {
                    $($text => Self::$variant,)+
                    other => Self::Unknown(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Unknown(text) => text,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&String::deserialize(d)?))
            }
        }
    };
}

text_enum! {
    /// How bad things are: a page's `status.indicator`, an incident's `impact`.
    Indicator {
        None = "none",
        Minor = "minor",
        Major = "major",
        Critical = "critical",
        Maintenance = "maintenance",
    }
}

text_enum! {
    /// A component's status (Statuspage's words; other formats are mapped onto them).
    ComponentStatus {
        Operational = "operational",
        DegradedPerformance = "degraded_performance",
        PartialOutage = "partial_outage",
        MajorOutage = "major_outage",
        UnderMaintenance = "under_maintenance",
    }
}

text_enum! {
    /// Where an incident stands.
    IncidentStatus {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
        Postmortem = "postmortem",
    }
}

text_enum! {
    /// Where a scheduled maintenance stands.
    MaintenanceStatus {
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Verifying = "verifying",
        Completed = "completed",
    }
}

impl Indicator {
    /// Order for "worst": none < maintenance < minor < major < critical. A value witness
    /// does not know ranks as minor: it is something, and missing knowledge must not read
    /// as healthy.
    pub fn rank(&self) -> u8 {
        match self {
            Indicator::None => 0,
            Indicator::Maintenance => 1,
            Indicator::Minor | Indicator::Unknown(_) => 2,
            Indicator::Major => 3,
            Indicator::Critical => 4,
        }
    }

    /// Whether this means the vendor is degraded (maintenance alone is not).
    pub fn is_degraded(&self) -> bool {
        self.rank() >= 2
    }

    /// The worse of two indicators.
    pub fn worst(self, other: Indicator) -> Indicator {
        if other.rank() > self.rank() { other } else { self }
    }
}

impl ComponentStatus {
    pub fn is_operational(&self) -> bool {
        *self == ComponentStatus::Operational
    }

    /// The page indicator a component in this status implies on its own, following
    /// Statuspage's top-level calculation: degraded performance is minor, a partial outage
    /// major, a major outage critical.
    pub fn indicator(&self) -> Indicator {
        match self {
            ComponentStatus::Operational => Indicator::None,
            ComponentStatus::UnderMaintenance => Indicator::Maintenance,
            ComponentStatus::DegradedPerformance | ComponentStatus::Unknown(_) => Indicator::Minor,
            ComponentStatus::PartialOutage => Indicator::Major,
            ComponentStatus::MajorOutage => Indicator::Critical,
        }
    }
}

/// One component of the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    /// The group the component belongs to, by name, when the page groups components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// A component whose status an incident update changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_status: Option<ComponentStatus>,
    pub new_status: ComponentStatus,
}

/// One update posted to an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentUpdate {
    pub status: IncidentStatus,
    pub body: String,
    /// When it was shown on the page (Statuspage's `display_at`), else when posted.
    #[serde(with = "witness_collector::time::millis_opt")]
    pub time: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub affected_components: Vec<ComponentChange>,
}

/// An incident, newest update first in `updates`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    pub name: String,
    pub status: IncidentStatus,
    pub impact: Indicator,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub updated_at: Option<DateTime<Utc>>,
    /// When the problem began, when the page says (Statuspage's `started_at`).
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Names of the components the incident affects.
    pub components: Vec<String>,
    pub updates: Vec<IncidentUpdate>,
}

impl Incident {
    /// When the incident began: `started_at`, else `created_at`.
    pub fn began_at(&self) -> Option<DateTime<Utc>> {
        self.started_at.or(self.created_at)
    }

    /// Whether it is still open.
    pub fn is_unresolved(&self) -> bool {
        self.resolved_at.is_none()
            && !matches!(self.status, IncidentStatus::Resolved | IncidentStatus::Postmortem)
    }

    /// The latest update's text.
    pub fn latest_update(&self) -> Option<&IncidentUpdate> {
        self.updates.iter().max_by_key(|u| u.time)
    }
}

/// A scheduled maintenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maintenance {
    pub id: String,
    pub name: String,
    pub status: MaintenanceStatus,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub scheduled_until: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    pub components: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_update: Option<String>,
}

impl Maintenance {
    pub fn is_in_progress(&self) -> bool {
        matches!(self.status, MaintenanceStatus::InProgress | MaintenanceStatus::Verifying)
    }
}

/// A status page as one format parser read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Snapshot {
    /// The page's own name (`GitHub`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_name: Option<String>,
    /// The page's overall indicator, when the format has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<Indicator>,
    /// Its words for it ("Partial System Outage").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    pub components: Vec<Component>,
    pub incidents: Vec<Incident>,
    pub maintenances: Vec<Maintenance>,
}

/// Reads an optional time leniently: a missing, null or malformed time is `None` rather
/// than a failed page (a vendor's odd date must not hide its incidents).
pub fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?.and_then(|v| match v {
        serde_json::Value::String(text) => parse_time(&text),
        // Some APIs give epoch milliseconds.
        serde_json::Value::Number(n) => n.as_i64().and_then(DateTime::from_timestamp_millis),
        _ => None,
    }))
}

/// RFC 3339 with any offset, converted to UTC.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_are_kept_as_text_and_round_trip() {
        let status: ComponentStatus = serde_json::from_str(r#""under_construction""#).unwrap();
        assert_eq!(status, ComponentStatus::Unknown("under_construction".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), r#""under_construction""#);
        assert_eq!(Indicator::parse("major"), Indicator::Major);
    }

    #[test]
    fn worst_indicator_orders_maintenance_below_minor() {
        assert_eq!(Indicator::Maintenance.worst(Indicator::None), Indicator::Maintenance);
        assert_eq!(Indicator::Maintenance.worst(Indicator::Minor), Indicator::Minor);
        assert_eq!(Indicator::Critical.worst(Indicator::Major), Indicator::Critical);
        assert!(Indicator::Unknown("severe".into()).is_degraded());
        assert!(!Indicator::Maintenance.is_degraded());
    }

    #[test]
    fn times_with_offsets_become_utc_and_bad_times_are_none() {
        let t = parse_time("2025-11-19T14:01:00.000-07:00").unwrap();
        assert_eq!(witness_collector::time::format(t), "2025-11-19T21:01:00.000Z");
        assert_eq!(parse_time("yesterday"), None);
    }
}
