//! The `status_page` collector kind: vendor status pages (Atlassian Statuspage v2 first,
//! and Slack, Google Cloud, status.io, Instatus).
//!
//! Each `[[collectors.status_page]]` instance reads one vendor's page (for Statuspage,
//! `summary.json`; when that document is broken, `status.json` plus
//! `incidents/unresolved.json`; and `incidents.json` for incidents resolved inside the
//! window) over witness-net's client (rustls, proxies from
//! `HTTPS_PROXY`/`NO_PROXY`, a timeout on every request), optionally narrowed to the
//! components the service depends on. It keeps the overall indicator, the components not
//! operational, the unresolved incidents (status, impact, created/updated, latest update,
//! affected components), incidents resolved inside the window, and scheduled maintenance
//! in progress. Enum values it does not know are kept as text, never a parse failure.
//!
//! # Facts
//! Each instance publishes the facts of its one vendor; see FACTS.md for how several
//! instances combine.
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `status_page.degraded` | bool | the vendor (or, with a component filter, what the service uses of it) is degraded: indicator minor, major, critical, or a value witness does not know |
//! | `status_page.vendors_degraded` | list of text | `[vendor]` when degraded, else `[]` |
//! | `status_page.worst_indicator` | text | `none`, `maintenance`, `minor`, `major`, `critical` (or the vendor's own unknown word) |
//! | `status_page.unresolved_incidents` | int | unresolved incidents that matter (after the component filter) |
//! | `status_page.incident_minutes_before_anchor` | float | minutes (one decimal) from the start of the earliest-begun unresolved incident to the anchor; absent when no unresolved incident began before the anchor |
//!
//! # Events
//! `incident_created`, `incident_update` (one per update), `component_degraded` /
//! `component_recovered` (from the updates' affected components), `maintenance_started`.

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    mod assess;
    mod collector;
    mod config;
    mod fetch;
    pub mod formats;
    pub mod model;

    pub use assess::{Assessment, IncidentView};
    pub use collector::StatusPageCollector;
    pub use config::StatusPageConfig;
    pub use fetch::Document;
    pub use formats::Format;
}
