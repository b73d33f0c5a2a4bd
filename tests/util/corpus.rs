//! A corpus generator for measuring the rules (`witness rules eval`): 17 incident classes,
//! each in seeded variants with noise a real incident has — background errors at their
//! usual rate, an unrelated minor vendor incident, old rollouts, two rollouts, a busy host
//! CPU from other processes, a skewed clock, slow but healthy health checks, and the time
//! of the change against the onset varied.
//!
//! The logs evidence of every case is produced by the real logs collector, run over log
//! files the generator writes (an application log, and a JSON access log where latency
//! matters). The other kinds are fixture evidence in the exact record shape a bundle holds
//! (`evidence/<kind>-<name>.json`, facts and events as each collector publishes them):
//! Kubernetes, PostgreSQL lock trees, status pages, certificates and Prometheus would each
//! need a server per case.
//!
//! Each case is a directory with `trigger.json` and `evidence/`, and its label
//! (`<case>.label.json`: the true cause and the class) beside it, the layout
//! `witness label` gives a store.

use std::path::Path;

use serde_json::{Value, json};
use witness_collector::CollectorConfig;

/// The classes, with the cause a right answer names.
pub const CLASSES: &[(&str, &str)] = &[
    ("bad_deploy", "rollout"),
    ("risky_migration", "migration"),
    ("crash_loop", "rollout"),
    ("config_change", "config_change"),
    ("vendor_outage", "vendor_incident"),
    ("decoy_deploy", "vendor_incident"),
    ("lock_contention", "lock_blocker"),
    ("lock_behind_migration", "migration"),
    ("hpa_ceiling", "capacity_ceiling"),
    ("host_saturation", "host_saturation"),
    ("oom", "oom"),
    ("connection_exhaustion", "connection_ceiling"),
    ("certificate_expiry", "certificate_expiry"),
    ("disk_full", "disk_full"),
    ("false_alarm", "none"),
    ("partial_evidence", "rollout"),
    ("traffic_surge", "traffic_surge"),
];

const ANCHOR: &str = "2025-11-19T21:00:00.000Z";

/// A small deterministic generator (SplitMix64), so a variant is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// RFC 3339 time `offset_secs` from the anchor.
fn at(offset_secs: i64) -> String {
    let anchor: chrono::DateTime<chrono::Utc> = ANCHOR.parse().expect("a valid anchor");
    witness_collector::time::format(anchor + chrono::Duration::seconds(offset_secs))
}

fn record(kind: &str, name: &str, summary: &str, facts: Value, events: Vec<Value>) -> Value {
    json!({
        "kind": kind, "name": name,
        "started_at": at(58), "finished_at": at(60), "duration_ms": 2000,
        "status": "ok", "summary": summary, "facts": facts, "events": events,
        "notes": [], "data": {}
    })
}

fn event(offset_secs: i64, kind: &str, title: &str, detail: Option<&str>) -> Value {
    let mut e =
        json!({ "time": at(offset_secs), "kind": kind, "title": title, "severity": "warning" });
    if let Some(d) = detail {
        e["detail"] = json!(d);
        e["signature"] = json!(title.trim_start_matches("New error: "));
    }
    e
}

/// What one case's evidence says, before it is written.
struct Case {
    records: Vec<Value>,
    /// Where the case's log files are written.
    sources: std::path::PathBuf,
}

impl Case {
    fn add(&mut self, record: Value) {
        self.records.push(record);
    }
}

/// Logs: `new` are the new signatures (text, example, onset in seconds from the anchor,
/// count); `background` errors run at their baseline rate; `p95` is the window's and the
/// baseline's p95 latency when there is an access log.
struct Logs<'a> {
    new: Vec<(&'a str, &'a str, i64, i64)>,
    background: i64,
    p95: Option<(f64, f64)>,
}

/// Writes the case's log files (an application log, and a JSON access log when `p95` is
/// given) and runs the real logs collector over them: the logs evidence of every case is
/// what the collector makes of real lines.
fn logs(case: &mut Case, l: Logs<'_>) {
    let dir = case.sources.clone();
    std::fs::create_dir_all(&dir).expect("a sources directory");
    let mut lines: Vec<(i64, String)> = Vec::new();
    // Quiet lines through the baseline and the window, so both are covered.
    for t in (-3720..60).step_by(30) {
        lines.push((t, "INFO request ok".to_owned()));
    }
    // Background errors at the same rate in the baseline and in the window.
    for i in 0..l.background {
        let t = -1790 + i * (1790 / l.background.max(1));
        lines.push((t, "ERROR cron: sitemap refresh failed after 3 retries".to_owned()));
        lines.push((t - 1800, "ERROR cron: sitemap refresh failed after 3 retries".to_owned()));
    }
    for (_, example, onset, count) in &l.new {
        let span = (30 - onset).max(1);
        for i in 0..*count {
            lines.push((onset + i * span / count.max(&1), (*example).to_owned()));
        }
    }
    lines.sort_by_key(|(t, _)| *t);
    let text: String = lines.iter().map(|(t, line)| format!("{} {line}\n", at(*t))).collect();
    let app = dir.join("app.log");
    std::fs::write(&app, text).expect("the application log");
    let mut paths = vec![app.display().to_string()];
    if let Some((now, before)) = l.p95 {
        let mut access = String::new();
        for t in (-3600..30).step_by(2) {
            let p95 = if t < -1800 { before } else { now };
            let ms = if t % 100 < 6 { p95 } else { p95 / 4.0 };
            access.push_str(&format!(
                "{{\"time\":\"{}\",\"request\":\"GET /api/items HTTP/1.1\",\"status\":\"200\",\"request_time\":\"{:.3}\"}}\n",
                at(t),
                ms / 1000.0
            ));
        }
        let path = dir.join("access.log");
        std::fs::write(&path, access).expect("the access log");
        paths.push(path.display().to_string());
    }
    let config = witness_logs::LogsConfig::new("app", paths);
    let collector = config.build().unwrap_or_else(|p| panic!("{p:?}"));
    let anchor: chrono::DateTime<chrono::Utc> = ANCHOR.parse().expect("a valid anchor");
    let window = witness_collector::Window::new(
        anchor - chrono::Duration::minutes(30),
        anchor + chrono::Duration::minutes(1),
    );
    let ctx = witness_collector::CollectContext::for_test_at(anchor, window);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let evidence = runtime.block_on(collector.collect(&ctx)).expect("logs evidence");
    let mut record = serde_json::to_value(&evidence).expect("JSON");
    record["kind"] = json!("logs");
    record["name"] = json!("app");
    record["started_at"] = json!(at(58));
    record["finished_at"] = json!(at(60));
    record["duration_ms"] = json!(2000);
    case.add(record);
}

/// Logs with one new signature `(text, example, onset)`, `count` times, over the
/// background errors.
fn new_errors(case: &mut Case, signature: (&str, &str, i64), count: i64, background: i64) {
    let new = vec![(signature.0, signature.1, signature.2, count)];
    logs(case, Logs { new, background, p95: None });
}

/// Health checks that fail `failing` probes in half the variants, and pass in the others.
fn failing_or_quiet_http(case: &mut Case, rng: &mut Rng, failing: i64, latency_ms: f64) {
    let failing = if rng.chance(50) { failing } else { 0 };
    http(case, failing, latency_ms, json!([]), 80);
}

/// The Deployment: a rollout `minutes` before the anchor; `images_changed` false for a
/// config-only rollout.
fn kubernetes(case: &mut Case, rng: &mut Rng, minutes: f64, images_changed: bool, extra: Value) {
    let mut facts = json!({
        "kubernetes.deployment": "api", "kubernetes.namespace": "shop",
        "kubernetes.deployments_read": 1,
        "kubernetes.minutes_since_rollout": minutes,
        "kubernetes.current_revision": 42, "kubernetes.previous_revision": 41,
        "kubernetes.current_images": ["registry.example.com/api:1.4.0"],
        "kubernetes.images_changed": images_changed,
        "kubernetes.replicas": 4, "kubernetes.available_replicas": 4,
        "kubernetes.unavailable_replicas": 0, "kubernetes.rollout_stuck": false,
        "kubernetes.rollout_complete": true, "kubernetes.restarts_in_window": 0,
        "kubernetes.oom_kills_in_window": 0, "kubernetes.crashloop_pods": 0,
        "kubernetes.not_ready_pods": 0, "kubernetes.warning_events": 0,
        "kubernetes.hpa_at_max": false
    });
    if let (Value::Object(f), Value::Object(x)) = (&mut facts, extra) {
        f.extend(x);
    }
    let offset = -(minutes * 60.0) as i64;
    let mut events = vec![event(offset, "rollout", "Rollout of shop/api revision 42", None)];
    // Noise: an older rollout before this one.
    if rng.chance(40) {
        events.push(event(
            offset - 60 * rng.int(90, 600),
            "rollout",
            "Rollout of shop/api revision 41",
            None,
        ));
    }
    case.add(record("kubernetes", "prod", "shop/api", facts, events));
}

fn git(case: &mut Case, migration: Option<&str>, config_changes: i64, tag_minutes: Option<f64>) {
    let mut facts = json!({
        "git.commits_in_lookback": 7,
        "git.minutes_since_last_commit": 130.0,
        "git.migrations_in_lookback": i64::from(migration.is_some()),
        "git.migration_paths": migration.map_or_else(Vec::new, |m| vec![m]),
        "git.dependency_changes": 0, "git.config_changes": config_changes, "git.infra_changes": 0,
        "git.deployed_revision": "9f3c2a7b1d4e5f60718293a4b5c6d7e8f9012345",
        "git.previous_deployed_revision": "3e1d0c9b8a7f6e5d4c3b2a19087f6e5d4c3b2a10",
        "git.deployed_has_migration": migration.is_some(),
        "git.deployed_commits": 3
    });
    if let Some(m) = tag_minutes {
        facts["git.minutes_since_last_tag"] = json!(m);
    }
    let events = migration
        .map(|m| vec![event(-9000, "migration_commit", &format!("Commit 9f3c2a7b1d: {m}"), None)])
        .unwrap_or_default();
    case.add(record("git", "api", "7 commits", facts, events));
}

fn host(case: &mut Case, cpu: f64, mem: f64, disk: f64) {
    let facts = json!({
        "host.cpu_busy_ratio": cpu, "host.cpu_max_core_busy_ratio": cpu,
        "host.load1_per_core": cpu * 1.2, "host.mem_used_ratio": mem,
        "host.swap_used_ratio": 0.0, "host.disk_max_used_ratio": disk,
        "host.disk_max_inodes_used_ratio": 0.1, "host.cpu_saturated": cpu >= 0.9,
        "host.mem_saturated": mem >= 0.95, "host.cores": 8, "host.uptime_secs": 864_000
    });
    case.add(record("host", "local", "host", facts, Vec::new()));
}

fn http(case: &mut Case, failing: i64, latency_ms: f64, components: Value, cert_days: i64) {
    let mut facts = json!({
        "http.failing_probes": failing, "http.all_failing": failing >= 3,
        "http.latency_median_ms": latency_ms, "http.cert_days_left": cert_days
    });
    if let Value::Array(down) = &components {
        let names: Vec<String> = down
            .iter()
            .filter_map(|c| c.as_str())
            .map(|c| c.split_once(": ").map_or(c, |(n, _)| n).to_owned())
            .collect();
        facts["http.components_down"] = json!(names);
        facts["http.components_down_errors"] = json!(
            down.iter()
                .filter(|c| c.as_str().is_some_and(|c| c.contains(": ")))
                .collect::<Vec<_>>()
        );
    }
    let events = if failing > 0 {
        vec![event(55, "health_failing", "Health check api failing", None)]
    } else {
        Vec::new()
    };
    case.add(record("http", "api-health", "health", facts, events));
}

fn status_page(case: &mut Case, vendor: &str, indicator: &str, minutes_before: f64) {
    let facts = json!({
        "status_page.degraded": true, "status_page.unresolved_incidents": 1,
        "status_page.vendors_degraded": [vendor], "status_page.worst_indicator": indicator,
        "status_page.incident_minutes_before_anchor": minutes_before
    });
    let events = vec![event(
        -(minutes_before * 60.0) as i64,
        "incident_created",
        &format!("{vendor}: incident"),
        None,
    )];
    case.add(record("status_page", &vendor.to_lowercase(), "vendor", facts, events));
}

fn postgres(case: &mut Case, extra: Value) {
    let mut facts = json!({
        "postgres.connections_used": 30, "postgres.connections_available": 100,
        "postgres.connections_used_ratio": 0.3, "postgres.blocked_sessions": 0,
        "postgres.root_blockers": 0, "postgres.root_blocker_pids": [],
        "postgres.lock_tree_max_depth": 0, "postgres.idle_in_transaction": 0,
        "postgres.deadlocks_delta": 0
    });
    if let (Value::Object(f), Value::Object(x)) = (&mut facts, extra) {
        f.extend(x);
    }
    case.add(record("postgres", "main", "postgres", facts, Vec::new()));
}

/// Prometheus: `request_rate` at `traffic` times its baseline (leaving it at
/// `traffic_onset` when it rose), the `error_ratio` at `errors` times its baseline from
/// `error_onset`, and a `saturation` peak; each series' four facts as the collector
/// publishes them.
struct Metrics {
    traffic: f64,
    traffic_onset: Option<i64>,
    errors: f64,
    error_onset: Option<i64>,
    saturation: f64,
}

fn prometheus(case: &mut Case, m: &Metrics) {
    let mut facts = json!({
        "prometheus.request_rate_ratio": m.traffic, "prometheus.request_rate_baseline": 120.0,
        "prometheus.request_rate_peak": 120.0 * m.traffic * 1.1,
        "prometheus.error_ratio_ratio": m.errors, "prometheus.error_ratio_baseline": 0.004,
        "prometheus.error_ratio_peak": 0.004 * m.errors * 1.2,
        "prometheus.saturation_peak": m.saturation, "prometheus.saturation_baseline": 0.45,
        "prometheus.queries_failed": 0
    });
    let mut events = Vec::new();
    for (name, onset) in [("request_rate", m.traffic_onset), ("error_ratio", m.error_onset)] {
        if let Some(onset) = onset {
            facts[format!("prometheus.{name}_onset_offset_secs")] = json!(onset);
            let title = format!("{name} rose against the baseline");
            events.push(event(onset, "metric_onset", &title, None));
        }
    }
    case.add(record("prometheus", "prod", "metrics", facts, events));
}

const TYPE_ERROR: (&str, &str) = (
    "ERROR api: TypeError: Cannot read properties of null (reading <s>)",
    "ERROR api: TypeError: Cannot read properties of null (reading 'email') at updateProfile",
);
const PANIC: (&str, &str) = (
    "ERROR api: panic: index out of range [<n>]",
    "ERROR api: panic: index out of range [3] in checkout.total",
);
const CONFIG: (&str, &str) = (
    "ERROR api: invalid configuration: PAYMENT_TIMEOUT_MS must be a number",
    "ERROR api: invalid configuration: PAYMENT_TIMEOUT_MS must be a number, got \"30s\"",
);
const TIMEOUT: (&str, &str) = (
    "ERROR api: context deadline exceeded after <n> ms",
    "ERROR api: context deadline exceeded after 5000 ms",
);

/// The evidence of one variant of `class`.
fn build(class: &str, seed: u64, sources: &Path) -> Case {
    let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ class.len() as u64);
    let mut case = Case { records: Vec::new(), sources: sources.to_owned() };
    let background = if rng.chance(60) { rng.int(2, 12) } else { 0 };
    let busy_cpu = rng.chance(25);
    let cpu = if busy_cpu { 0.93 } else { 0.2 + rng.int(0, 40) as f64 / 100.0 };
    let slow_health = rng.chance(20);
    let health_latency = if slow_health { 1500.0 } else { 20.0 + rng.int(0, 60) as f64 };
    let minor_vendor = rng.chance(25);
    // A rollout long ago, or none recent: noise for classes not about a deploy.
    let old_rollout = rng.int(300, 4000) as f64;
    // Inside the 30-minute window: a change older than the window has its errors in the
    // baseline, where they are not new (widen `--since` for such incidents).
    let rollout = rng.int(3, 28) as f64;
    let onset = -((rollout as i64) * 60) + rng.int(20, 240);
    let vendor_noise = |case: &mut Case| {
        if minor_vendor {
            status_page(case, "Slack", "minor", 180.0);
        }
    };
    let quiet_http = |case: &mut Case| http(case, 0, health_latency, json!([]), 80);
    match class {
        "bad_deploy" | "partial_evidence" => {
            kubernetes(&mut case, &mut rng, rollout, true, json!({}));
            let signature = if rng.chance(50) { TYPE_ERROR } else { PANIC };
            if class == "bad_deploy" {
                new_errors(
                    &mut case,
                    (signature.0, signature.1, onset),
                    rng.int(40, 400),
                    background,
                );
            } else {
                // The logs collector failed: only the health checks show the symptom.
                case.add(json!({
                    "kind": "logs", "name": "app", "started_at": at(58), "finished_at": at(60),
                    "duration_ms": 2000, "status": "failed", "summary": "permission denied",
                    "error": "permission denied: /var/log/app", "facts": {}, "events": [], "notes": [], "data": {}
                }));
            }
            http(&mut case, 3, health_latency, json!([]), 80);
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
            // Noise: metrics where the error ratio rose with the new errors, and traffic is
            // as usual, or rose after them (clients retrying the failures).
            if rng.chance(50) {
                let error_onset = onset + rng.int(0, 60);
                let retries = rng.chance(50);
                let m = Metrics {
                    traffic: if retries {
                        2.0 + rng.int(0, 100) as f64 / 100.0
                    } else {
                        0.9 + rng.int(0, 25) as f64 / 100.0
                    },
                    traffic_onset: retries.then(|| error_onset + rng.int(90, 240)),
                    errors: rng.int(3, 40) as f64,
                    error_onset: Some(error_onset),
                    saturation: 0.5,
                };
                prometheus(&mut case, &m);
            }
        }
        "risky_migration" => {
            kubernetes(&mut case, &mut rng, rollout, true, json!({}));
            git(
                &mut case,
                Some("db/migrations/0043_users_email_not_null.sql"),
                0,
                Some(rollout + 2.0),
            );
            new_errors(
                &mut case,
                (TYPE_ERROR.0, TYPE_ERROR.1, onset),
                rng.int(40, 400),
                background,
            );
            let own =
                json!(["userService: TypeError: Cannot read properties of null (reading 'email')"]);
            http(&mut case, 3, health_latency, if rng.chance(50) { own } else { json!([]) }, 80);
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
        }
        "crash_loop" => {
            let extra = json!({
                "kubernetes.crashloop_pods": rng.int(1, 4), "kubernetes.restarts_in_window": rng.int(5, 40),
                "kubernetes.unavailable_replicas": 2, "kubernetes.available_replicas": 2
            });
            kubernetes(&mut case, &mut rng, rollout, true, extra);
            if rng.chance(50) {
                new_errors(&mut case, (PANIC.0, PANIC.1, onset), rng.int(10, 80), background);
            }
            http(&mut case, rng.int(1, 3), health_latency, json!([]), 80);
            host(&mut case, cpu, 0.4, 0.5);
        }
        "config_change" => {
            kubernetes(&mut case, &mut rng, rollout, false, json!({}));
            git(&mut case, None, 1, None);
            new_errors(&mut case, (CONFIG.0, CONFIG.1, onset), rng.int(40, 400), background);
            http(&mut case, 3, health_latency, json!([]), 80);
            host(&mut case, cpu, 0.4, 0.5);
        }
        "vendor_outage" | "decoy_deploy" => {
            let incident = rng.int(5, 40) as f64;
            let errors_at = -((incident as i64) * 60) + rng.int(30, 200);
            let minutes = if class == "decoy_deploy" {
                // A harmless rollout: before the vendor's errors or after them.
                (errors_at.abs() / 60) as f64 + if rng.chance(50) { 3.0 } else { -2.0 }
            } else {
                old_rollout
            };
            kubernetes(&mut case, &mut rng, minutes.max(1.0), true, json!({}));
            status_page(
                &mut case,
                "Stripe",
                if rng.chance(50) { "major" } else { "minor" },
                incident,
            );
            new_errors(
                &mut case,
                (
                    "ERROR payments: stripe returned <n> for charge ch_<id>",
                    "ERROR payments: stripe returned 503 for charge ch_1a2b",
                    errors_at,
                ),
                rng.int(30, 300),
                background,
            );
            failing_or_quiet_http(&mut case, &mut rng, 1, health_latency);
            host(&mut case, cpu, 0.4, 0.5);
        }
        "lock_contention" => {
            let idle = rng.chance(60);
            postgres(
                &mut case,
                json!({
                    "postgres.blocked_sessions": rng.int(2, 30), "postgres.root_blockers": 1,
                    "postgres.root_blocker_pids": [rng.int(1000, 9000)], "postgres.lock_tree_max_depth": 2,
                    "postgres.root_blocker_holds_access_exclusive": false, "postgres.root_blocker_runs_ddl": false,
                    "postgres.root_blocker_idle_in_transaction": idle,
                    "postgres.root_blocker_longest_xact_secs": rng.int(60, 900) as f64,
                    "postgres.connections_used_ratio": 0.5 + rng.int(0, 45) as f64 / 100.0
                }),
            );
            kubernetes(&mut case, &mut rng, old_rollout, true, json!({}));
            new_errors(
                &mut case,
                (TIMEOUT.0, TIMEOUT.1, -rng.int(60, 900)),
                rng.int(20, 200),
                background,
            );
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
        }
        "lock_behind_migration" => {
            postgres(
                &mut case,
                json!({
                    "postgres.blocked_sessions": rng.int(3, 40), "postgres.root_blockers": 1,
                    "postgres.root_blocker_pids": [rng.int(1000, 9000)], "postgres.lock_tree_max_depth": 2,
                    "postgres.root_blocker_holds_access_exclusive": true, "postgres.root_blocker_runs_ddl": true,
                    "postgres.root_blocker_idle_in_transaction": false,
                    "postgres.root_blocker_longest_xact_secs": rng.int(60, 900) as f64
                }),
            );
            kubernetes(&mut case, &mut rng, rollout, true, json!({}));
            git(&mut case, Some("db/migrations/0044_orders_add_index.sql"), 0, None);
            new_errors(&mut case, (TIMEOUT.0, TIMEOUT.1, onset), rng.int(20, 200), background);
            host(&mut case, cpu, 0.4, 0.5);
        }
        "hpa_ceiling" => {
            kubernetes(
                &mut case,
                &mut rng,
                old_rollout,
                true,
                json!({
                    "kubernetes.hpa_at_max": true, "kubernetes.hpa_max_replicas": 10,
                    "kubernetes.hpa_desired_replicas": 16, "kubernetes.hpa_current_replicas": 10
                }),
            );
            logs(
                &mut case,
                Logs {
                    new: if rng.chance(50) {
                        vec![(TIMEOUT.0, TIMEOUT.1, -rng.int(60, 900), rng.int(5, 50))]
                    } else {
                        Vec::new()
                    },
                    background,
                    p95: Some((rng.int(900, 3000) as f64, 250.0)),
                },
            );
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
        }
        "host_saturation" => {
            host(&mut case, 0.95 + rng.int(0, 4) as f64 / 100.0, 0.5, 0.5);
            logs(
                &mut case,
                Logs { new: Vec::new(), background, p95: Some((rng.int(900, 3000) as f64, 250.0)) },
            );
            if rng.chance(50) {
                quiet_http(&mut case)
            }
            vendor_noise(&mut case);
        }
        "oom" => {
            let extra = json!({
                "kubernetes.oom_kills_in_window": rng.int(1, 8), "kubernetes.restarts_in_window": rng.int(1, 10)
            });
            kubernetes(&mut case, &mut rng, old_rollout, true, extra);
            http(&mut case, rng.int(0, 2), health_latency, json!([]), 80);
            host(&mut case, cpu, 0.6, 0.5);
        }
        "connection_exhaustion" => {
            postgres(
                &mut case,
                json!({
                    "postgres.connections_used_ratio": 0.9 + rng.int(0, 10) as f64 / 100.0,
                    "postgres.connections_used": 95
                }),
            );
            new_errors(
                &mut case,
                (
                    "ERROR api: FATAL: sorry, too many clients already",
                    "ERROR api: FATAL: sorry, too many clients already",
                    -rng.int(60, 900),
                ),
                rng.int(20, 300),
                background,
            );
            kubernetes(&mut case, &mut rng, old_rollout, true, json!({}));
            host(&mut case, cpu, 0.4, 0.5);
        }
        "certificate_expiry" => {
            http(&mut case, 3, health_latency, json!([]), -rng.int(0, 3));
            logs(
                &mut case,
                Logs {
                    new: if rng.chance(50) {
                        vec![(
                            "ERROR api: x509: certificate has expired or is not yet valid",
                            "ERROR api: x509: certificate has expired",
                            -rng.int(60, 900),
                            rng.int(10, 100),
                        )]
                    } else {
                        Vec::new()
                    },
                    background,
                    p95: None,
                },
            );
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
        }
        "disk_full" => {
            host(&mut case, cpu, 0.4, 0.96 + rng.int(0, 4) as f64 / 100.0);
            new_errors(
                &mut case,
                (
                    "ERROR api: write /var/lib/app/tmp: no space left on device",
                    "ERROR api: write /var/lib/app/tmp/x: no space left on device",
                    -rng.int(60, 900),
                ),
                rng.int(10, 100),
                background,
            );
            failing_or_quiet_http(&mut case, &mut rng, 2, health_latency);
        }
        "false_alarm" => {
            let minutes = if rng.chance(50) { old_rollout } else { rollout };
            kubernetes(&mut case, &mut rng, minutes, true, json!({}));
            logs(&mut case, Logs { new: Vec::new(), background, p95: None });
            quiet_http(&mut case);
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
            if rng.chance(30) {
                postgres(&mut case, json!({}));
            }
        }
        "traffic_surge" => {
            // Traffic rises 1.6× to 5×; timeouts and the error ratio follow it, or only
            // latency does; the autoscaler and the CPU may or may not keep up.
            let traffic_onset = -rng.int(240, 1500);
            let error_onset = traffic_onset + rng.int(30, 240);
            let traffic = 1.6 + rng.int(0, 340) as f64 / 100.0;
            let errors_too = rng.chance(70);
            let m = Metrics {
                traffic,
                traffic_onset: Some(traffic_onset),
                errors: if errors_too { rng.int(3, 30) as f64 } else { 1.0 },
                error_onset: errors_too.then_some(error_onset),
                saturation: if rng.chance(60) { 0.85 + rng.int(0, 14) as f64 / 100.0 } else { 0.6 },
            };
            prometheus(&mut case, &m);
            logs(
                &mut case,
                Logs {
                    new: if errors_too {
                        vec![(TIMEOUT.0, TIMEOUT.1, error_onset, rng.int(20, 200))]
                    } else {
                        Vec::new()
                    },
                    background,
                    p95: Some((rng.int(700, 3000) as f64, 250.0)),
                },
            );
            kubernetes(&mut case, &mut rng, old_rollout, true, json!({}));
            if rng.chance(50) {
                quiet_http(&mut case)
            }
            host(&mut case, cpu, 0.4, 0.5);
            vendor_noise(&mut case);
        }
        other => panic!("no generator for class {other}"),
    }
    // Noise: a source whose clock runs ahead.
    if rng.chance(15)
        && let Some(Value::Array(events)) = case.records.last_mut().map(|r| r["events"].take())
    {
        let mut events = events;
        events.push(event(400, "clock_probe", "an event stamped after the collection", None));
        if let Some(last) = case.records.last_mut() {
            last["events"] = Value::Array(events);
        }
    }
    case
}

/// Writes `variants` cases of every class under `dir`, each with its label beside it.
pub fn generate(dir: &Path, variants: u64) {
    for (class, cause) in CLASSES {
        for seed in 0..variants {
            let name = format!("{class}-{seed:02}");
            let case_dir = dir.join(&name);
            std::fs::create_dir_all(case_dir.join("evidence")).expect("a case directory");
            let trigger = json!({
                "source": "alertmanager", "name": "ApiAlert", "status": "firing",
                "labels": {"service": "api", "namespace": "shop"}, "annotations": {},
                "starts_at": ANCHOR, "fingerprint": format!("{seed:x}")
            });
            write(&case_dir.join("trigger.json"), &trigger);
            for r in build(class, seed, &case_dir.join("sources")).records {
                let file = format!(
                    "{}-{}.json",
                    r["kind"].as_str().unwrap_or("x"),
                    r["name"].as_str().unwrap_or("x")
                );
                write(&case_dir.join("evidence").join(file), &r);
            }
            write(
                &dir.join(format!("{name}.label.json")),
                &json!({"cause": cause, "class": class}),
            );
        }
    }
}

fn write(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
