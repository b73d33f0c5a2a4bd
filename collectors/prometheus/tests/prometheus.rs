//! The `prometheus` collector against a real Prometheus (Debian `prometheus`) on 127.0.0.1,
//! over two hours of history backfilled with promtool around a fixed anchor: checkout's
//! traffic triples at T-10m and its errors and latency follow at T-6m. What a responder
//! relies on: the facts and onsets of the alert's own expression and of each configured
//! query, exact to the step; and each way Prometheus can fail, said plainly and never read
//! as healthy.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use witness_collector::{
    CollectContext, CollectError, CollectorConfig, Evidence, FactValue, Severity, Status,
};
use witness_prometheus::PrometheusConfig;
use witness_prometheus::testing::{
    TRAFFIC_SURGE_ALERT, TRAFFIC_SURGE_QUERIES, TestPrometheus, generator_url, traffic_surge,
};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

fn ctx(labels: &[(&str, &str)], generator_url: Option<&str>) -> CollectContext {
    witness_prometheus::testing::context(anchor(), labels, generator_url)
}

fn config(url: &str, extra: &str) -> PrometheusConfig {
    toml::from_str(&format!("name = \"prod\"\nurl = \"{url}\"\n{extra}")).unwrap()
}

async fn collect(
    config: &PrometheusConfig,
    ctx: &CollectContext,
) -> Result<Evidence, CollectError> {
    let collector = config.build().unwrap_or_else(|p| panic!("config problems: {p:?}"));
    tokio::time::timeout(Duration::from_secs(60), collector.collect(ctx))
        .await
        .expect("the collector finished within 60 s")
}

fn number(e: &Evidence, name: &str) -> f64 {
    e.facts
        .get(name)
        .and_then(FactValue::as_f64)
        .unwrap_or_else(|| panic!("{name} missing: {:#?}", e.facts))
}

fn int(e: &Evidence, name: &str) -> i64 {
    match e.facts.get(name) {
        Some(FactValue::Int(i)) => *i,
        other => panic!("{name} is {other:?}: {:#?}", e.facts),
    }
}

#[tokio::test]
async fn the_alerts_expression_and_every_query_give_their_onsets_and_ratios() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let config = config(&prometheus.url, TRAFFIC_SURGE_QUERIES);
    let url = generator_url(&prometheus.url, TRAFFIC_SURGE_ALERT);
    let ctx = ctx(&[("service", "checkout"), ("alertname", "CheckoutErrors")], Some(&url));
    let e = collect(&config, &ctx).await.unwrap();
    assert_eq!(e.status, Status::Ok, "{:?}\n{}", e.notes, prometheus.log());

    // Traffic left its baseline (100.5 req/s) at T-10m30s: first seen at T-10m.
    assert_eq!(int(&e, "prometheus.request_rate_onset_offset_secs"), -600);
    assert!((number(&e, "prometheus.request_rate_baseline") - 100.5).abs() < 0.01);
    assert!((number(&e, "prometheus.request_rate_peak") - 330.0).abs() < 1.0);
    let ratio = number(&e, "prometheus.request_rate_ratio");
    assert!((2.8..3.3).contains(&ratio), "request rate ×{ratio}");
    // Errors and latency followed four minutes later (T-6m30s, seen at T-6m).
    assert_eq!(int(&e, "prometheus.error_ratio_onset_offset_secs"), -360);
    assert!((number(&e, "prometheus.error_ratio_baseline") - 0.5 / 100.5).abs() < 1e-4);
    assert!(number(&e, "prometheus.error_ratio_ratio") > 10.0);
    assert_eq!(int(&e, "prometheus.latency_p95_onset_offset_secs"), -360);
    assert!((number(&e, "prometheus.latency_p95_peak") - 0.8).abs() < 1e-9);
    assert_eq!(int(&e, "prometheus.saturation_onset_offset_secs"), -600);
    assert!((number(&e, "prometheus.saturation_peak") - 0.95).abs() < 1e-9);
    // The alert's condition (5xx > 5 %) held from there: at T-6m the minute's rate holds
    // three increments of the new error rate out of four, 7 %.
    assert_eq!(int(&e, "prometheus.alert_onset_offset_secs"), -360);
    assert_eq!(number(&e, "prometheus.alert_threshold"), 0.05);
    assert!(number(&e, "prometheus.alert_peak") > 0.09);
    assert_eq!(int(&e, "prometheus.queries_failed"), 0);

    // On the timeline: the crossing, and each departure with its figures.
    let onsets: Vec<(&str, i64, Severity)> = e
        .events
        .iter()
        .map(|ev| {
            (ev.signature.as_deref().unwrap(), (ev.time - anchor()).num_seconds(), ev.severity)
        })
        .collect();
    assert_eq!(
        onsets,
        [
            ("alert", -360, Severity::Critical),
            ("request_rate", -600, Severity::Warning),
            ("error_ratio", -360, Severity::Warning),
            ("latency_p95", -360, Severity::Warning),
            ("saturation", -600, Severity::Warning),
        ]
    );
    let traffic = &e.events[1];
    assert_eq!(traffic.kind, "metric_onset");
    assert!(traffic.title.starts_with("request_rate rose ×3"), "{}", traffic.title);
    assert!(traffic.title.contains("(100 req/s → 330 req/s)"), "{}", traffic.title);
    assert_eq!(e.events[0].kind, "alert_expression_crossed");
    assert_eq!(e.events[0].title, "The alert's expression crossed > 0.05 (peak 0.0909)");

    // The series are kept, the query filled in from the alert's labels, the baseline and
    // the window both covered at one point a minute.
    let q = &e.data["queries"][1];
    assert_eq!(q["name"], "request_rate");
    assert_eq!(q["expr"], r#"sum(rate(http_requests_total{service="checkout"}[1m]))"#);
    let points = q["series"][0]["points"].as_array().unwrap();
    // T-89m to T+30m: at T-90m, the first sample, a rate has nothing to compare with.
    assert_eq!(points.len(), 120);
    assert_eq!(points[0][0], "2025-11-19T19:31:00.000Z");
    assert_eq!(e.data["queries"][0]["alert_expr"], TRAFFIC_SURGE_ALERT);
    assert_eq!(e.data["queries"][0]["origin"], "generator_url");
    assert!(e.summary.contains("request_rate ×3"), "{}", e.summary);
}

/// The note a failed or empty query leaves, by query name.
fn note_of<'a>(e: &'a Evidence, what: &str) -> &'a str {
    e.notes
        .iter()
        .find(|n| n.starts_with(what))
        .unwrap_or_else(|| panic!("no note about {what}: {:#?}", e.notes))
}

#[tokio::test]
async fn a_bad_query_an_empty_result_and_too_many_samples_are_each_a_note_never_healthy() {
    // A Prometheus that refuses to load more than 500 samples for one query.
    let prometheus =
        TestPrometheus::start_with(&traffic_surge(anchor()), &["--query.max-samples=500"]);
    let config = config(
        &prometheus.url,
        r#"queries = [
  { name = "request_rate", query = 'sum(rate(http_requests_total{service="{service}"}[1m]))' },
  { name = "broken", query = 'sum(rate(http_requests_total[1m])' },
  { name = "nothing", query = 'sum(rate(no_such_metric_total[1m]))' },
  { name = "heavy", query = 'count_over_time(http_requests_total[2h])' },
  { name = "by_pod", query = 'rate(http_requests_total{service="{region}"}[1m])' },
]"#,
    );
    let e = collect(&config, &ctx(&[("service", "checkout")], None)).await.unwrap();
    assert_eq!(e.status, Status::Partial);
    assert_eq!(
        note_of(&e, "query broken"),
        "query broken: Prometheus refused the query (bad PromQL or parameters): bad_data: 1:34: parse error: unclosed left parenthesis"
    );
    assert!(
        note_of(&e, "query nothing").contains("no series over the window and the baseline"),
        "{:?}",
        e.notes
    );
    let heavy = note_of(&e, "query heavy");
    assert!(heavy.contains("execution") && heavy.contains("too many samples"), "{heavy}");
    assert_eq!(
        note_of(&e, "query by_pod"),
        "query by_pod: not run: it needs the label `region`, which this run does not have"
    );
    assert_eq!(int(&e, "prometheus.queries_failed"), 4);
    // What could be measured still is; nothing is published for what could not.
    assert_eq!(int(&e, "prometheus.request_rate_onset_offset_secs"), -600);
    for name in ["broken", "nothing", "heavy", "by_pod"] {
        assert!(
            !e.facts.keys().any(|k| k.starts_with(&format!("prometheus.{name}_"))),
            "{name} published a fact: {:#?}",
            e.facts
        );
    }
    let statuses: Vec<&str> = e.data["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["ok", "failed", "empty", "failed", "skipped"]);
    assert_eq!(e.data["queries"][1]["error_kind"], "bad_data");
    assert_eq!(e.data["queries"][3]["error_kind"], "execution");
}

#[tokio::test]
async fn prometheus_down_fails_the_instance_with_the_reason() {
    let port = witness_prometheus::testing::free_port();
    let config = config(&format!("http://127.0.0.1:{port}"), TRAFFIC_SURGE_QUERIES);
    let err = collect(&config, &ctx(&[("service", "checkout")], None)).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, CollectError::Unreachable { .. }), "{err:?}");
    assert!(text.contains("connection_refused"), "{text}");
}

#[tokio::test]
async fn a_prometheus_that_does_not_answer_times_out_with_the_duration() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            open.push(stream);
        }
    });
    let config = config(
        &format!("http://127.0.0.1:{port}"),
        "request_timeout_ms = 300\nqueries = [{ name = \"up\", query = \"up\" }]",
    );
    let err = collect(&config, &ctx(&[], None)).await.unwrap_err();
    assert!(matches!(err, CollectError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer within 300ms"), "{err}");
}

#[tokio::test]
async fn the_alerts_own_series_is_the_one_with_the_alerts_labels() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let config = config(&prometheus.url, "");
    // Both services run above 30 req/s; the alert is search's.
    let expr = "sum by (service) (rate(http_requests_total[1m])) > 30";
    let url = generator_url(&prometheus.url, expr);
    let e = collect(&config, &ctx(&[("service", "search")], Some(&url))).await.unwrap();
    assert!((number(&e, "prometheus.alert_peak") - 40.0).abs() < 1e-6, "{:#?}", e.facts);
    assert_eq!(e.data["queries"][0]["series_count"], 2);
    assert_eq!(e.data["queries"][0]["series"][0]["labels"]["service"], "search");
    // It held all along: from the window's start, and in the baseline too.
    assert_eq!(int(&e, "prometheus.alert_onset_offset_secs"), -1800);
    assert!(
        e.notes.iter().any(|n| n.contains("the condition already held at the window's start")),
        "{:?}",
        e.notes
    );
}

#[tokio::test]
async fn without_an_expression_in_the_trigger_only_the_queries_run() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let config = config(&prometheus.url, TRAFFIC_SURGE_QUERIES);
    let e = collect(&config, &ctx(&[("service", "checkout")], Some("http://prom/graph")))
        .await
        .unwrap();
    assert_eq!(e.status, Status::Ok, "{:?}", e.notes);
    assert!(!e.facts.keys().any(|k| k.starts_with("prometheus.alert_")), "{:#?}", e.facts);
    assert_eq!(e.data["queries"].as_array().unwrap().len(), 4);
}
