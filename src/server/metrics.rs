//! `/metrics`: witness's own Prometheus metrics (text format, `prometheus-client`).
//! Alerts by source and outcome, runs by status, collector durations and failures by
//! kind, queue depth, running runs, bundle bytes, journal lag and config reloads.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::bundle::layout::CollectorRecord;
use crate::run::gather::Progress;

type Labels = Vec<(&'static str, String)>;

/// Every metric witness exports.
pub struct Metrics {
    registry: Registry,
    alerts: Family<Labels, Counter>,
    runs: Family<Labels, Counter>,
    collector_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    collector_failures: Family<Labels, Counter>,
    run_overhead_seconds: Histogram,
    pub queue_depth: Gauge,
    pub running: Gauge,
    pub bundle_bytes: Gauge,
    /// Accepted runs not yet sealed into a bundle.
    pub journal_lag: Gauge,
    config_reloads: Family<Labels, Counter>,
}

fn collector_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("witness");
        let alerts = Family::<Labels, Counter>::default();
        registry.register(
            "alerts_received",
            "Alerts received, by source and outcome (accepted, deduplicated, resolved, rejected, unauthorized, rate_limited, queue_full, draining)",
            alerts.clone(),
        );
        let runs = Family::<Labels, Counter>::default();
        registry.register("runs", "Runs finished, by status (sealed, failed)", runs.clone());
        let collector_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
                collector_histogram,
            );
        registry.register(
            "collector_duration_seconds",
            "How long each collector instance took, by kind",
            collector_seconds.clone(),
        );
        let collector_failures = Family::<Labels, Counter>::default();
        registry.register(
            "collector_failures",
            "Collectors without evidence, by kind and status (failed, timed_out)",
            collector_failures.clone(),
        );
        let run_overhead_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register(
            "run_overhead_seconds",
            "Time a run took beyond its slowest collector (planning, timeline, rules, writing)",
            run_overhead_seconds.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register("queue_depth", "Runs waiting for a free slot", queue_depth.clone());
        let running = Gauge::default();
        registry.register("runs_running", "Runs collecting now", running.clone());
        let bundle_bytes = Gauge::default();
        registry.register(
            "bundle_bytes",
            "Bytes of sealed bundles in the store",
            bundle_bytes.clone(),
        );
        let journal_lag = Gauge::default();
        registry.register(
            "journal_lag_runs",
            "Runs accepted in the journal and not yet sealed into a bundle",
            journal_lag.clone(),
        );
        let config_reloads = Family::<Labels, Counter>::default();
        registry.register(
            "config_reloads",
            "Config reloads on file change, by result (ok, failed)",
            config_reloads.clone(),
        );
        Self {
            registry,
            alerts,
            runs,
            collector_seconds,
            collector_failures,
            run_overhead_seconds,
            queue_depth,
            running,
            bundle_bytes,
            journal_lag,
            config_reloads,
        }
    }
}

impl Metrics {
    pub fn alert(&self, source: &str, outcome: &str) {
        self.alerts_n(source, outcome, 1);
    }

    pub fn alerts_n(&self, source: &str, outcome: &str, n: u64) {
        let labels = vec![("source", source.to_owned()), ("outcome", outcome.to_owned())];
        self.alerts.get_or_create(&labels).inc_by(n);
    }

    pub fn alerts_count(&self, source: &str, outcome: &str) -> u64 {
        let labels = vec![("source", source.to_owned()), ("outcome", outcome.to_owned())];
        self.alerts.get(&labels).map(|c| c.get()).unwrap_or(0)
    }

    pub fn run_finished(&self, status: &str) {
        self.runs.get_or_create(&vec![("status", status.to_owned())]).inc();
    }

    pub fn run_overhead(&self, seconds: f64) {
        self.run_overhead_seconds.observe(seconds);
    }

    pub fn config_reload(&self, result: &str) {
        self.config_reloads.get_or_create(&vec![("result", result.to_owned())]).inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Feeds collector durations and failures into the metrics as a run goes.
pub struct MetricsProgress<'a>(pub &'a Metrics);

impl Progress for MetricsProgress<'_> {
    fn started(&self, _kind: &str, _name: &str) {}

    fn finished(&self, record: &CollectorRecord) {
        let kind = vec![("kind", record.kind.clone())];
        self.0.collector_seconds.get_or_create(&kind).observe(record.duration_ms as f64 / 1000.0);
        let status = record.status();
        if !status.has_evidence() && status != witness_collector::Status::Skipped {
            let labels = vec![
                ("kind", record.kind.clone()),
                (
                    "status",
                    serde_json::to_value(status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                ),
            ];
            self.0.collector_failures.get_or_create(&labels).inc();
        }
    }
}
