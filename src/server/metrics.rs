//! `/metrics`: witness's own Prometheus metrics, in the Prometheus text format (0.0.4) that
//! every scraper and `promtool check metrics` read. Alerts by source and outcome, runs by
//! status and severity and their duration, the checks of follow-ups by check and status,
//! collector durations and failures by kind, queue depth, running runs, follow-ups
//! waiting, bundle bytes, journal lag, config reloads, in a fleet the upload spool
//! (depth, bytes, failed uploads, upload duration) and the claims by outcome, and the
//! process (memory, CPU, open files, start time). Every counter exists from the start, at zero, so a rate or an
//! alert on it works before the first event.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::bundle::layout::CollectorRecord;
use crate::run::follow_up::{CheckKind, CheckStatus, FollowUp};
use crate::run::gather::Progress;

type Labels = Vec<(&'static str, String)>;

/// The sources of alerts, as the `source` label says them.
pub const SOURCES: [&str; 5] = ["alertmanager", "grafana", "pagerduty", "generic", "collect"];
/// Every `outcome` of `witness_alerts_received_total`.
pub const OUTCOMES: [&str; 9] = [
    "accepted",
    "deduplicated",
    "resolved",
    "rejected",
    "unauthorized",
    "rate_limited",
    "queue_full",
    "draining",
    "updated",
];
/// Every `status` of `witness_runs_total`.
pub const RUN_STATUSES: [&str; 4] = ["sealed", "cancelled", "failed", "joined"];
/// Every `outcome` of `witness_claims_total`.
pub const CLAIM_OUTCOMES: [&str; 5] = ["won", "taken_over", "joined", "waited", "unclaimed"];
/// Every `severity` of `witness_runs_total` and `witness_run_duration_seconds`: the run's
/// level, or `none` for a run that sealed no bundle.
pub const SEVERITIES: [&str; 5] = ["P0", "P1", "P2", "P3", "none"];
/// Every `check` of `witness_follow_up_checks_total`.
pub const CHECKS: [CheckKind; 9] = [
    CheckKind::ErrorRate,
    CheckKind::NewErrors,
    CheckKind::Status5xx,
    CheckKind::Latency,
    CheckKind::Health,
    CheckKind::Replicas,
    CheckKind::Action,
    CheckKind::Vendor,
    CheckKind::LockTree,
];
/// Every `status` of `witness_follow_up_checks_total`.
pub const CHECK_STATUSES: [CheckStatus; 3] =
    [CheckStatus::Passed, CheckStatus::NotYet, CheckStatus::CouldNotCheck];

/// Every metric witness exports.
pub struct Metrics {
    registry: Registry,
    /// `process_*`, without witness's prefix, as every exporter names them.
    process: Registry,
    alerts: Family<Labels, Counter>,
    runs: Family<Labels, Counter>,
    run_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    follow_up_checks: Family<Labels, Counter>,
    pub follow_ups_waiting: Gauge,
    collector_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    collector_failures: Family<Labels, Counter>,
    run_overhead_seconds: Histogram,
    pub queue_depth: Gauge,
    pub running: Gauge,
    pub bundle_bytes: Gauge,
    /// Accepted runs not yet sealed into a bundle.
    pub journal_lag: Gauge,
    config_reloads: Family<Labels, Counter>,
    /// Bundles sealed and waiting for their upload to the object store.
    pub spool_bundles: Gauge,
    pub spool_bytes: Gauge,
    pub upload_failures: Counter,
    pub upload_seconds: Histogram,
    claims: Family<Labels, Counter>,
    resident_bytes: Gauge,
    cpu_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    open_fds: Gauge,
}

fn collector_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

fn run_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.25, 2.0, 12))
}

/// The serde name of a check's kind or status (`error_rate`, `not_yet`).
fn serde_name(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn labels(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("witness");
        let alerts = Family::<Labels, Counter>::default();
        registry.register(
            "alerts_received",
            "Alerts received, by source and outcome (accepted, deduplicated, resolved, updated, rejected, unauthorized, rate_limited, queue_full, draining)",
            alerts.clone(),
        );
        let runs = Family::<Labels, Counter>::default();
        registry.register(
            "runs",
            "Runs finished (follow-ups included), by status (sealed; cancelled: sealed early at shutdown; failed: no bundle; joined: another replica's run holds the incident) and severity (P0-P3; none without a bundle)",
            runs.clone(),
        );
        let run_seconds =
            Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(run_histogram);
        registry.register(
            "run_duration_seconds",
            "How long a run took from its start to its sealed bundle, by severity",
            run_seconds.clone(),
        );
        let follow_up_checks = Family::<Labels, Counter>::default();
        registry.register(
            "follow_up_checks",
            "Checks of follow-ups against their incident, by check and status (passed, not_yet, could_not_check)",
            follow_up_checks.clone(),
        );
        let follow_ups_waiting = Gauge::default();
        registry.register(
            "follow_ups_waiting",
            "Follow-ups of resolved incidents waiting for the window after the resolution",
            follow_ups_waiting.clone(),
        );
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
        let spool_bundles = Gauge::default();
        registry.register(
            "spool_bundles",
            "Bundles sealed and waiting for their upload to the object store",
            spool_bundles.clone(),
        );
        let spool_bytes = Gauge::default();
        registry.register(
            "spool_bytes",
            "Bytes of bundles waiting for their upload to the object store",
            spool_bytes.clone(),
        );
        let upload_failures = Counter::default();
        registry.register(
            "upload_failures",
            "Upload attempts to the object store that failed (each is retried)",
            upload_failures.clone(),
        );
        let upload_seconds = Histogram::new(exponential_buckets(0.01, 2.0, 14));
        registry.register(
            "upload_duration_seconds",
            "How long the upload of one bundle to the object store took",
            upload_seconds.clone(),
        );
        let claims = Family::<Labels, Counter>::default();
        registry.register(
            "claims",
            "Claims of incidents across replicas, by outcome (won, taken_over: an expired claim of a dead replica, joined: another replica's run holds it, waited: another replica's run was still going, unclaimed: the coordinator could not be reached)",
            claims.clone(),
        );

        let mut process = Registry::default();
        let resident_bytes = Gauge::default();
        process.register(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_bytes.clone(),
        );
        let cpu_seconds = Counter::<f64, std::sync::atomic::AtomicU64>::default();
        process.register(
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            cpu_seconds.clone(),
        );
        let open_fds = Gauge::default();
        process.register("process_open_fds", "Number of open file descriptors", open_fds.clone());
        let start_time_seconds = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        process.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            start_time_seconds.clone(),
        );

        // Every series a counter can have, at zero from the start.
        for source in SOURCES {
            for outcome in OUTCOMES {
                let _ = alerts.get_or_create(&labels(&[("source", source), ("outcome", outcome)]));
            }
        }
        // A sealed or cancelled run has a bundle and its severity; a failed or joined one
        // neither.
        for status in RUN_STATUSES {
            for severity in SEVERITIES {
                if matches!(status, "failed" | "joined") == (severity == "none") {
                    let pair = [("status", status), ("severity", severity)];
                    let _ = runs.get_or_create(&labels(&pair));
                }
            }
        }
        for severity in SEVERITIES {
            let _ = run_seconds.get_or_create(&labels(&[("severity", severity)]));
        }
        for check in CHECKS {
            for status in CHECK_STATUSES {
                let _ = follow_up_checks.get_or_create(&labels(&[
                    ("check", &serde_name(check)),
                    ("status", status.as_str()),
                ]));
            }
        }
        for outcome in CLAIM_OUTCOMES {
            let _ = claims.get_or_create(&labels(&[("outcome", outcome)]));
        }
        for result in ["ok", "failed"] {
            let _ = config_reloads.get_or_create(&labels(&[("result", result)]));
        }
        for kind in crate::registry::KINDS {
            for status in ["failed", "timed_out"] {
                let _ = collector_failures
                    .get_or_create(&labels(&[("kind", kind.name), ("status", status)]));
            }
        }
        start_time_seconds.set(process_stats::start_time_seconds().unwrap_or(0.0));
        Self {
            registry,
            process,
            alerts,
            runs,
            run_seconds,
            follow_up_checks,
            follow_ups_waiting,
            collector_seconds,
            collector_failures,
            run_overhead_seconds,
            queue_depth,
            running,
            bundle_bytes,
            journal_lag,
            config_reloads,
            spool_bundles,
            spool_bytes,
            upload_failures,
            upload_seconds,
            claims,
            resident_bytes,
            cpu_seconds,
            open_fds,
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

    /// A run ended with `status` (one of [`RUN_STATUSES`]) and `severity` (its level,
    /// `None` without a bundle) after `seconds`.
    pub fn run_finished(&self, status: &str, severity: Option<&str>, seconds: f64) {
        let severity = severity.unwrap_or("none").to_owned();
        let labels = vec![("status", status.to_owned()), ("severity", severity.clone())];
        self.runs.get_or_create(&labels).inc();
        self.run_seconds.get_or_create(&vec![("severity", severity)]).observe(seconds);
    }

    /// Counts the checks of a sealed follow-up.
    pub fn follow_up_checked(&self, follow_up: &FollowUp) {
        for check in &follow_up.checks {
            let labels = vec![
                ("check", serde_name(check.check)),
                ("status", check.status.as_str().to_owned()),
            ];
            self.follow_up_checks.get_or_create(&labels).inc();
        }
    }

    pub fn run_overhead(&self, seconds: f64) {
        self.run_overhead_seconds.observe(seconds);
    }

    /// A claim of an incident ended with `outcome` (one of [`CLAIM_OUTCOMES`]).
    pub fn claim(&self, outcome: &str) {
        self.claims.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn config_reload(&self, result: &str) {
        self.config_reloads.get_or_create(&vec![("result", result.to_owned())]).inc();
    }

    /// The exposition, in the Prometheus text format 0.0.4.
    pub fn render(&self) -> String {
        if let Some(stats) = process_stats::read() {
            self.resident_bytes.set(stats.resident_bytes);
            // A counter: brought up to what the kernel says.
            let behind = stats.cpu_seconds - self.cpu_seconds.get();
            if behind > 0.0 {
                self.cpu_seconds.inc_by(behind);
            }
            self.open_fds.set(stats.open_fds);
        }
        let mut openmetrics = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut openmetrics, &self.registry);
        let _ = encode(&mut openmetrics, &self.process);
        to_prometheus_text(&openmetrics)
    }
}

/// OpenMetrics (what `prometheus-client` writes) to the Prometheus text format: a counter's
/// HELP and TYPE name its samples (`x_total`, not `x`), `# UNIT` and `# EOF` go. Without
/// it `promtool check metrics` finds counters with no HELP text.
fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(name).then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The process's own figures, from `/proc/self` (Linux; none elsewhere).
mod process_stats {
    pub struct Stats {
        pub resident_bytes: i64,
        pub cpu_seconds: f64,
        pub open_fds: i64,
    }

    /// Clock ticks per second of `/proc/self/stat` (`sysconf(_SC_CLK_TCK)`).
    fn ticks_per_sec() -> f64 {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks > 0 { ticks as f64 } else { 100.0 }
    }

    /// The fields of `/proc/self/stat` after the command name (which may hold spaces).
    fn stat_fields() -> Option<Vec<String>> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let after = stat.rsplit_once(')')?.1;
        Some(after.split_whitespace().map(str::to_owned).collect())
    }

    pub fn read() -> Option<Stats> {
        let fields = stat_fields()?;
        // Fields 14 and 15 (utime, stime) are at 11 and 12 after the name and state.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        // SAFETY: sysconf has no preconditions.
        let page_size =
            i64::from(i32::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?);
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as i64;
        Some(Stats {
            resident_bytes: pages * page_size,
            cpu_seconds: (utime + stime) / ticks_per_sec(),
            open_fds,
        })
    }

    /// When the process started, in seconds since the epoch: boot time plus field 22.
    pub fn start_time_seconds() -> Option<f64> {
        let started_ticks: f64 = stat_fields()?.get(19)?.parse().ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let btime: f64 =
            boot.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
        Some(btime + started_ticks / ticks_per_sec())
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
