//! Judging a page for the service: which components, incidents and maintenances matter
//! (the component filter), how bad it is (the effective indicator), and the facts and
//! timeline events that follow. Pure: no I/O, so it is tested on snapshots directly.

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{Event, Evidence, Severity, Window};

use crate::model::{Component, Incident, Indicator, Maintenance, Snapshot};

/// What the collector keeps of the page, after the component filter.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// The page's own indicator (for the whole page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_indicator: Option<Indicator>,
    /// The indicator for what the service depends on: the page's own, worsened by what
    /// was seen; with a component filter, only what the filtered components and their
    /// incidents say.
    pub indicator: Indicator,
    pub degraded: bool,
    pub components_seen: usize,
    pub components_not_operational: Vec<Component>,
    /// Unresolved incidents that matter, then incidents resolved inside the window.
    pub incidents: Vec<IncidentView>,
    pub maintenances_in_progress: Vec<Maintenance>,
    /// Filter entries that matched nothing on the page (a typo, a renamed component).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_unmatched: Vec<String>,
    /// Why `indicator` is worse than what the page and its unresolved incidents say
    /// themselves (components whose status reads worse); absent when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_reason: Option<String>,
}

/// An incident as kept in the evidence: the incident, its latest update's text, and how
/// long before the anchor it began.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    pub unresolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_update: Option<String>,
    /// Minutes (one decimal) from when it began to the anchor; absent when it began after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_before_anchor: Option<f64>,
}

/// The component filter of an instance; empty means the whole page.
#[derive(Debug, Clone, Default)]
pub struct ComponentFilter {
    wanted: Vec<String>,
}

impl ComponentFilter {
    pub fn new(entries: &[String]) -> Self {
        Self { wanted: entries.iter().map(|e| e.trim().to_lowercase()).collect() }
    }

    pub fn is_whole_page(&self) -> bool {
        self.wanted.is_empty()
    }

    fn matches_component(&self, c: &Component) -> bool {
        self.is_whole_page()
            || [Some(&c.name), Some(&c.id), c.group.as_ref()]
                .into_iter()
                .flatten()
                .any(|k| self.wanted.contains(&k.to_lowercase()))
    }

    /// Whether a component named `name` matters: by its own name, or because the page
    /// lists it under an id or group the filter names.
    fn matches_name(&self, name: &str, page: &[Component]) -> bool {
        self.is_whole_page()
            || self.wanted.contains(&name.to_lowercase())
            || page.iter().any(|c| c.name == name && self.matches_component(c))
    }

    /// Whether something affecting `names` matters. Something that names no component at
    /// all is page-wide and kept: it cannot be ruled out.
    fn matches_any(&self, names: &[String], page: &[Component]) -> bool {
        names.is_empty() || names.iter().any(|n| self.matches_name(n, page))
    }
}

/// Limits applied while assessing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_updates_per_incident: usize,
    pub max_update_chars: usize,
}

/// Judges `snapshot` for the service.
pub fn assess(
    snapshot: Snapshot,
    filter: &ComponentFilter,
    anchor: DateTime<Utc>,
    window: Window,
    limits: Limits,
) -> Assessment {
    let page = &snapshot.components;
    let kept_components: Vec<&Component> =
        page.iter().filter(|c| filter.matches_component(c)).collect();
    let filter_unmatched = filter
        .wanted
        .iter()
        .filter(|w| {
            !page.iter().any(|c| {
                [Some(&c.name), Some(&c.id), c.group.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|k| k.to_lowercase() == **w)
            })
        })
        .cloned()
        .collect();

    let mut incidents: Vec<IncidentView> = snapshot
        .incidents
        .iter()
        .filter(|i| filter.matches_any(&incident_components(i), page))
        .filter(|i| i.is_unresolved() || i.resolved_at.is_some_and(|r| r >= window.start))
        .map(|i| view(i.clone(), anchor, limits))
        .collect();
    // Unresolved first, then by when they began, oldest first.
    incidents.sort_by_key(|v| (!v.unresolved, v.incident.began_at()));

    let maintenances_in_progress: Vec<Maintenance> = snapshot
        .maintenances
        .iter()
        .filter(|m| m.is_in_progress() && filter.matches_any(&m.components, page))
        .cloned()
        .collect();

    let seen = kept_components
        .iter()
        .map(|c| c.status.indicator())
        .chain(incidents.iter().filter(|v| v.unresolved).map(|v| v.incident.impact.clone()))
        .chain(maintenances_in_progress.iter().map(|_| Indicator::Maintenance))
        .fold(Indicator::None, Indicator::worst);
    let indicator = match (&snapshot.indicator, filter.is_whole_page()) {
        (Some(page_indicator), true) => page_indicator.clone().worst(seen),
        _ => seen,
    };
    // What the vendor says itself: the page's indicator (for the whole page) and the
    // impact of its unresolved incidents. A worse indicator comes from component statuses,
    // and the evidence says so rather than raising the severity silently.
    let said = incidents
        .iter()
        .filter(|v| v.unresolved)
        .map(|v| v.incident.impact.clone())
        .chain(maintenances_in_progress.iter().map(|_| Indicator::Maintenance))
        .chain(snapshot.indicator.clone().filter(|_| filter.is_whole_page()))
        .fold(Indicator::None, Indicator::worst);
    let indicator_reason = (indicator.rank() > said.rank()).then(|| {
        let worse: Vec<String> = kept_components
            .iter()
            .filter(|c| c.status.indicator().rank() > said.rank())
            .map(|c| format!("{} {}", c.name, c.status))
            .collect();
        format!(
            "{} rather than the {said} the page and its incidents say: component status {}",
            indicator,
            worse.join(", ")
        )
    });
    Assessment {
        page_indicator: snapshot.indicator.clone(),
        degraded: indicator.is_degraded(),
        indicator,
        components_seen: kept_components.len(),
        components_not_operational: kept_components
            .into_iter()
            .filter(|c| !c.status.is_operational())
            .cloned()
            .collect(),
        incidents,
        maintenances_in_progress,
        filter_unmatched,
        indicator_reason,
    }
}

/// Components an incident names, directly or through its updates' affected components.
fn incident_components(incident: &Incident) -> Vec<String> {
    let mut names = incident.components.clone();
    for update in &incident.updates {
        for change in &update.affected_components {
            if !names.contains(&change.name) {
                names.push(change.name.clone());
            }
        }
    }
    names
}

fn view(mut incident: Incident, anchor: DateTime<Utc>, limits: Limits) -> IncidentView {
    // Newest first, capped; long update texts cut (they are prose, the page has the rest).
    incident.updates.sort_by_key(|u| std::cmp::Reverse(u.time));
    incident.updates.truncate(limits.max_updates_per_incident);
    for update in &mut incident.updates {
        if let Some((cut, _)) = update.body.char_indices().nth(limits.max_update_chars) {
            update.body.truncate(cut);
            update.body.push('…');
        }
    }
    let latest_update = incident.updates.first().map(|u| u.body.clone());
    let minutes_before_anchor = incident.began_at().filter(|b| *b <= anchor).map(|b| {
        let minutes = (anchor - b).num_milliseconds() as f64 / 60_000.0;
        (minutes * 10.0).round() / 10.0
    });
    IncidentView {
        unresolved: incident.is_unresolved(),
        latest_update,
        minutes_before_anchor,
        incident,
    }
}

/// How much an indicator matters in the timeline.
fn severity(indicator: &Indicator) -> Severity {
    match indicator {
        Indicator::Critical | Indicator::Major => Severity::Critical,
        Indicator::Minor | Indicator::Unknown(_) => Severity::Warning,
        Indicator::None | Indicator::Maintenance => Severity::Info,
    }
}

/// The facts of one vendor (see FACTS.md).
pub fn facts(evidence: Evidence, vendor: &str, a: &Assessment) -> Evidence {
    let degraded_list: Vec<&str> = if a.degraded { vec![vendor] } else { Vec::new() };
    let mut evidence = evidence
        .fact("status_page.degraded", a.degraded)
        .fact("status_page.vendors_degraded", degraded_list)
        .fact("status_page.worst_indicator", a.indicator.as_str())
        .fact(
            "status_page.unresolved_incidents",
            a.incidents.iter().filter(|v| v.unresolved).count(),
        );
    if let Some(minutes) = a
        .incidents
        .iter()
        .filter(|v| v.unresolved)
        .filter_map(|v| v.minutes_before_anchor)
        .max_by(f64::total_cmp)
    {
        evidence = evidence.fact("status_page.incident_minutes_before_anchor", minutes);
    }
    evidence
}

/// The timeline events of one vendor: incidents opened, their updates, component status
/// changes, maintenance started.
pub fn events(
    vendor: &str,
    a: &Assessment,
    filter: &ComponentFilter,
    page: &[Component],
) -> Vec<Event> {
    let mut events = Vec::new();
    for (i, v) in a.incidents.iter().enumerate() {
        let incident = &v.incident;
        let signature = format!("status_page:{vendor}:{}", incident.id);
        let pointer = format!("/data/incidents/{i}");
        if let Some(opened) = incident.created_at.or(incident.started_at) {
            let mut event = Event::new(
                opened,
                "incident_created",
                format!("{vendor} incident opened: {} ({})", incident.name, incident.impact),
            )
            .severity(severity(&incident.impact))
            .signature(signature.clone())
            .pointer(pointer.clone());
            if !incident.components.is_empty() {
                event = event.detail(format!("affects {}", incident.components.join(", ")));
            }
            events.push(event);
        }
        for (j, update) in incident.updates.iter().enumerate() {
            let Some(time) = update.time else { continue };
            events.push(
                Event::new(
                    time,
                    "incident_update",
                    format!("{vendor} incident update ({}): {}", update.status, incident.name),
                )
                .detail(update.body.clone())
                .signature(signature.clone())
                .pointer(format!("{pointer}/updates/{j}")),
            );
            for change in &update.affected_components {
                if change.old_status.as_ref() == Some(&change.new_status)
                    || !filter.matches_name(&change.name, page)
                {
                    continue;
                }
                let old = change.old_status.as_ref().map_or("?", |s| s.as_str());
                events.push(
                    Event::new(
                        time,
                        if change.new_status.is_operational() {
                            "component_recovered"
                        } else {
                            "component_degraded"
                        },
                        format!("{vendor} {}: {old} → {}", change.name, change.new_status),
                    )
                    .severity(severity(&change.new_status.indicator()))
                    .signature(format!("status_page:{vendor}:component:{}", change.name))
                    .pointer(format!("{pointer}/updates/{j}")),
                );
            }
        }
    }
    for (k, m) in a.maintenances_in_progress.iter().enumerate() {
        let Some(started) = m.started_at.or(m.scheduled_for) else { continue };
        let mut event = Event::new(
            started,
            "maintenance_started",
            format!("{vendor} maintenance started: {}", m.name),
        )
        .signature(format!("status_page:{vendor}:{}", m.id))
        .pointer(format!("/data/maintenances_in_progress/{k}"));
        if let Some(text) = &m.latest_update {
            event = event.detail(text.clone());
        }
        events.push(event);
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ComponentStatus, IncidentStatus, IncidentUpdate};

    fn t(s: &str) -> DateTime<Utc> {
        crate::model::parse_time(s).unwrap()
    }

    fn component(name: &str, status: ComponentStatus) -> Component {
        Component {
            id: name.to_lowercase(),
            name: name.into(),
            status,
            group: None,
            updated_at: None,
        }
    }

    fn incident(id: &str, components: &[&str], began: &str) -> Incident {
        Incident {
            id: id.into(),
            name: format!("incident {id}"),
            status: IncidentStatus::Investigating,
            impact: Indicator::Major,
            created_at: Some(t(began)),
            updated_at: None,
            started_at: Some(t(began)),
            resolved_at: None,
            url: None,
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            updates: vec![IncidentUpdate {
                status: IncidentStatus::Investigating,
                body: "x".repeat(50),
                time: Some(t(began)),
                affected_components: Vec::new(),
            }],
        }
    }

    const LIMITS: Limits = Limits { max_updates_per_incident: 20, max_update_chars: 10 };

    #[test]
    fn the_filter_keeps_only_what_the_service_depends_on() {
        let snapshot = Snapshot {
            indicator: Some(Indicator::Major),
            components: vec![
                component("Git Operations", ComponentStatus::PartialOutage),
                component("API Requests", ComponentStatus::Operational),
            ],
            incidents: vec![incident("a", &["Git Operations"], "2025-11-19T20:50:00Z")],
            ..Snapshot::default()
        };
        let anchor = t("2025-11-19T21:00:00Z");
        let window = Window::new(t("2025-11-19T20:30:00Z"), anchor);
        let filter = ComponentFilter::new(&["api requests".into(), "Webhooks".into()]);
        let a = assess(snapshot.clone(), &filter, anchor, window, LIMITS);
        assert_eq!(a.indicator, Indicator::None);
        assert!(!a.degraded);
        assert!(a.incidents.is_empty());
        assert_eq!(a.filter_unmatched, ["webhooks"]);

        let whole = assess(snapshot, &ComponentFilter::default(), anchor, window, LIMITS);
        assert_eq!(whole.indicator, Indicator::Major);
        assert_eq!(whole.incidents[0].minutes_before_anchor, Some(10.0));
        assert_eq!(whole.incidents[0].latest_update.as_deref(), Some("xxxxxxxxxx…"));
    }

    /// Issue 15: the severity never reads above what the page and its incidents say
    /// without saying why.
    #[test]
    fn a_severity_above_the_pages_own_says_why() {
        let snapshot = Snapshot {
            indicator: Some(Indicator::Minor),
            components: vec![
                component("Git Operations", ComponentStatus::PartialOutage),
                component("API Requests", ComponentStatus::Operational),
            ],
            ..Snapshot::default()
        };
        let anchor = t("2025-11-19T21:00:00Z");
        let window = Window::new(t("2025-11-19T20:30:00Z"), anchor);
        let a = assess(snapshot.clone(), &ComponentFilter::default(), anchor, window, LIMITS);
        assert_eq!(a.indicator, Indicator::Major);
        let reason = a.indicator_reason.as_deref().expect("a reason");
        assert!(
            reason.starts_with("major rather than the minor the page and its incidents say"),
            "{reason}"
        );
        assert!(reason.contains("Git Operations"), "{reason}");
        let mut agreeing = snapshot;
        agreeing.indicator = Some(Indicator::Major);
        let a = assess(agreeing, &ComponentFilter::default(), anchor, window, LIMITS);
        assert_eq!((a.indicator, a.indicator_reason), (Indicator::Major, None));
    }

    #[test]
    fn old_resolved_incidents_are_dropped_and_recent_ones_kept() {
        let mut old = incident("old", &[], "2025-11-18T10:00:00Z");
        old.resolved_at = Some(t("2025-11-18T11:00:00Z"));
        let mut recent = incident("recent", &[], "2025-11-19T20:40:00Z");
        recent.resolved_at = Some(t("2025-11-19T20:55:00Z"));
        let snapshot = Snapshot {
            indicator: Some(Indicator::None),
            incidents: vec![old, recent],
            ..Snapshot::default()
        };
        let anchor = t("2025-11-19T21:00:00Z");
        let a = assess(
            snapshot,
            &ComponentFilter::default(),
            anchor,
            Window::new(t("2025-11-19T20:30:00Z"), anchor),
            LIMITS,
        );
        let ids: Vec<&str> = a.incidents.iter().map(|v| v.incident.id.as_str()).collect();
        assert_eq!(ids, ["recent"]);
        assert!(!a.degraded, "a resolved incident does not make the vendor degraded");
    }

    #[test]
    fn a_component_back_to_operational_is_a_recovery_not_a_degradation() {
        use crate::model::ComponentChange;
        let mut inc = incident("a", &["API"], "2025-11-19T20:50:00Z");
        inc.updates[0].affected_components = vec![
            ComponentChange {
                name: "API".into(),
                old_status: Some(ComponentStatus::PartialOutage),
                new_status: ComponentStatus::Operational,
            },
            ComponentChange {
                name: "Webhooks".into(),
                old_status: Some(ComponentStatus::Operational),
                new_status: ComponentStatus::Unknown("sluggish".into()),
            },
        ];
        let snapshot = Snapshot { incidents: vec![inc], ..Snapshot::default() };
        let anchor = t("2025-11-19T21:00:00Z");
        let filter = ComponentFilter::default();
        let a = assess(
            snapshot,
            &filter,
            anchor,
            Window::new(t("2025-11-19T20:00:00Z"), anchor),
            LIMITS,
        );
        let kinds: Vec<(String, Severity)> =
            events("Acme", &a, &filter, &[]).into_iter().map(|e| (e.kind, e.severity)).collect();
        assert_eq!(
            kinds,
            [
                ("incident_created".to_owned(), Severity::Critical),
                ("incident_update".to_owned(), Severity::Info),
                ("component_recovered".to_owned(), Severity::Info),
                ("component_degraded".to_owned(), Severity::Warning),
            ]
        );
    }
}
