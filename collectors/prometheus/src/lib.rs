//! The `prometheus` collector kind: what the metrics said, from any server that answers
//! the Prometheus HTTP API (Prometheus, Thanos, Mimir, Cortex, VictoriaMetrics).
//!
//! Each `[[collectors.prometheus]]` instance evaluates, over the baseline and the window
//! in one `query_range` each:
//!
//! - **the alert's own expression**, read from the alert's `generatorURL` (`g0.expr`, or a
//!   Grafana Explore link), or from the Grafana-managed rule the link names. A top-level
//!   `<value> > <number>` is split, so the value is drawn and the crossing of the number
//!   read from it: when the condition began to hold (the onset) and how far it went;
//! - **the configured queries**, `{label}` filled in from the alert's labels, each read
//!   against its own baseline: its level there, its extreme in the window, where it left
//!   the baseline (the onset, sustained over three points) and the ratio of the level
//!   since then to the baseline's.
//!
//! Series are kept as evidence (at most `max_points` points, `max_series` series a
//! query) and drawn in `report.html`; onsets go on the timeline. Prometheus down, a query
//! refused (bad PromQL, too many samples, a timeout) and an empty result are each a note
//! and a missing fact, never a healthy reading.
//!
//! # Facts
//! Each evaluated series publishes `prometheus.<name>_ratio`, `_peak`, `_baseline` and
//! `_onset_offset_secs` (`<name>` is `alert` for the alert's expression); see FACTS.md.
//!
//! # Events
//! `alert_expression_crossed` (the alert's condition began to hold), `metric_onset` (a
//! query's series left its baseline).

pub mod kind;
pub mod units;
pub use kind::{KIND, MEANINGS};

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    pub mod api;
    mod collector;
    mod config;
    pub mod expr;
    pub mod grafana;
    pub mod series;
    pub mod template;

    pub use collector::PrometheusCollector;
    pub use config::{GrafanaConfig, PrometheusConfig, QueryConfig};
    pub use series::Direction;
}

#[cfg(feature = "test-support")]
pub mod testing;
