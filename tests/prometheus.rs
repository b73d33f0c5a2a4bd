//! Metrics end to end: a real Prometheus (Debian `prometheus`, from tests/run.sh) on
//! 127.0.0.1 over two hours of history backfilled with promtool around a fixed anchor, in
//! which checkout's traffic triples at T-10m30s and its errors and latency follow at
//! T-6m30s. Through the real binary: `witness collect at` seals a bundle whose timeline
//! holds each onset, whose top hypothesis is the traffic surge (scale up, citing the
//! request-rate fact), and whose report.html draws each series — rendered by a real
//! Chromium with no network request, and valid HTML. Through `witness serve`: an alert
//! from a real Alertmanager whose `generatorURL` carries the rule's expression has that
//! expression evaluated, its crossing on the timeline. And how the built-in rules read the
//! metric facts in the cause/symptom model, over evidence written in a bundle's shape.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use witness::bundle::layout;
use witness_prometheus::testing::{
    TRAFFIC_SURGE_ALERT, TRAFFIC_SURGE_QUERIES, TestPrometheus, generator_url, traffic_surge,
};

use crate::report::{
    assert_valid_html, chromium, dom_text, page_requests, request_recorder, screenshot,
};
use crate::util::alertmanager::Alertmanager;
use crate::util::{text, witness};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

/// The `[[collectors.prometheus]]` instance of these tests.
fn prometheus_section(url: &str) -> String {
    format!("[[collectors.prometheus]]\nname = \"prod\"\nurl = \"{url}\"\n{TRAFFIC_SURGE_QUERIES}")
}

fn json_of(bundle: &Path, file: &str) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join(file)).unwrap()).unwrap()
}

/// `witness collect at <anchor>` with `config`, returning the sealed bundle.
fn collect_at(dir: &Path, config: &str, labels: &[&str], flags: &[&str]) -> PathBuf {
    std::fs::write(dir.join("witness.toml"), config).unwrap();
    let out = dir.join("bundles");
    let at = anchor().to_rfc3339();
    let mut args =
        vec!["collect", "at", &at, "--config", "witness.toml", "--out", out.to_str().unwrap()];
    for label in labels {
        args.extend(["--label", label]);
    }
    args.extend(flags);
    let output = witness(dir, &args);
    assert!(output.status.success(), "{}", text(&output));
    crate::util::only_entry(&out)
}

#[test]
fn a_traffic_surge_is_a_scale_up_with_its_onsets_on_the_timeline_and_its_charts_in_the_report() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let dir = tempfile::tempdir().unwrap();
    let bundle =
        collect_at(dir.path(), &prometheus_section(&prometheus.url), &["service=checkout"], &[]);
    let verify = witness(dir.path(), &["verify", bundle.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", text(&verify));

    // The top card: scale up for the traffic surge, resting on the request-rate fact.
    let hypotheses = json_of(&bundle, layout::HYPOTHESES);
    let top = &hypotheses["hypotheses"][0];
    assert_eq!(top["id"], "traffic_surge", "{hypotheses:#}");
    assert_eq!(top["recommendation"], "scale_up");
    assert_eq!(top["cause"], "traffic_surge");
    assert_eq!(top["likelihood"], "high", "{top:#}");
    assert_eq!(top["explains"], json!(["error_rate", "latency"]), "{top:#}");
    let cited: Vec<String> = top["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}#{}", r["file"].as_str().unwrap(), r["pointer"].as_str().unwrap_or("")))
        .collect();
    assert!(
        cited.contains(
            &"evidence/prometheus-prod.json#/facts/prometheus.request_rate_ratio".to_owned()
        ),
        "{cited:?}"
    );
    let title = top["title"].as_str().unwrap();
    assert!(title.starts_with("Traffic surge: requests at ×3.2"), "{title}");
    let explanation = top["explanation"].as_str().unwrap();
    assert!(explanation.contains("from T-600s on"), "{explanation}");
    assert!(
        explanation.contains("errors began after traffic rose (T-360s against T-600s)"),
        "{explanation}"
    );
    // What users feel counts for the severity, though no log was read.
    let severity = json_of(&bundle, layout::SEVERITY);
    assert_eq!(severity["level"], "P1", "{severity:#}");
    assert_eq!(severity["reasons"][0]["text"], "the error ratio is 18.2× the baseline's (metrics)");
    // The saturation that came with it is its effect, ranked below.
    let saturation = hypotheses["hypotheses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "saturation")
        .unwrap();
    assert!(saturation["score"].as_f64() < top["score"].as_f64(), "{hypotheses:#}");

    // Each onset on the timeline, at its offset from the anchor.
    let timeline = json_of(&bundle, layout::TIMELINE);
    let onsets: Vec<(String, i64)> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "metric_onset")
        .map(|e| (e["signature"].as_str().unwrap().to_owned(), e["offset_secs"].as_i64().unwrap()))
        .collect();
    for expected in
        [("request_rate", -600), ("saturation", -600), ("error_ratio", -360), ("latency_p95", -360)]
    {
        assert!(
            onsets.contains(&(expected.0.to_owned(), expected.1)),
            "{expected:?} not in {onsets:?}"
        );
    }

    // report.md lists every series with what it said.
    let md = std::fs::read_to_string(bundle.join(layout::REPORT_MD)).unwrap();
    assert!(md.contains("## Metrics"), "{md}");
    assert!(
        md.contains(
            "| request\\_rate | prometheus/prod | baseline 100 req/s · peak 330 req/s · ×3.2"
        ),
        "{md}"
    );
    assert!(md.contains("onset T-10m (2025-11-19T20:50:00.000Z)"), "{md}");

    // `witness show` in the terminal lists the same series, each with its evidence.
    let show = witness(dir.path(), &["show", bundle.to_str().unwrap()]);
    assert!(show.status.success(), "{}", text(&show));
    let shown = String::from_utf8_lossy(&show.stdout);
    let metrics = shown.split("Metrics\n").nth(1).expect("no Metrics block in show");
    let metrics = metrics.split("\n\n").next().unwrap();
    assert_eq!(metrics.lines().count(), 4, "one line per query: {metrics}");
    let request_rate = metrics.lines().find(|l| l.contains("request_rate (prometheus/prod)"));
    let request_rate = request_rate.unwrap_or_else(|| panic!("{metrics}"));
    assert!(request_rate.contains("baseline 100 req/s · peak 330 req/s · ×3.2"), "{request_rate}");
    assert!(request_rate.contains("evidence/prometheus-prod.json#/data/"), "{request_rate}");

    // report.html draws one chart per series; a real Chromium renders it, offline.
    let html = std::fs::read_to_string(bundle.join(layout::REPORT_HTML)).unwrap();
    for name in ["request_rate", "error_ratio", "latency_p95", "saturation"] {
        assert!(
            html.contains(&format!("aria-label=\"{name} over baseline and window\"")),
            "{name}"
        );
    }
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let (port, requests) = request_recorder();
    screenshot(&page, &dir.path().join("p1"), port, "1280,4000");
    let dom = chromium(&page, &dir.path().join("p2"), port, &["--dump-dom".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<section id=\"metrics\"><h2>Metrics</h2>"),
        "no metrics section in the DOM"
    );
    assert!(dom.contains(&dom_text(title)), "the recommendation is missing from the DOM");
    assert_eq!(
        dom.matches("class=\"metric-line\"").count() - 4,
        4,
        "one line per chart (and its legend)"
    );
    assert_eq!(dom.matches(">onset T-10m</text>").count(), 2, "request_rate and saturation");
    assert_eq!(dom.matches(">onset T-6m</text>").count(), 2, "error_ratio and latency_p95");
    assert!(dom.contains(&dom_text("baseline 0.498% · peak 9.09% · ×18")), "{dom}");
    let made = page_requests(&requests.lock().unwrap());
    assert!(made.is_empty(), "the page made network requests: {made:?}");

    assert_valid_html(&bundle);
}

#[test]
fn prometheus_down_is_a_failed_collector_and_never_a_healthy_reading() {
    let port = witness_prometheus::testing::free_port();
    let dir = tempfile::tempdir().unwrap();
    let bundle = collect_at(
        dir.path(),
        &prometheus_section(&format!("http://127.0.0.1:{port}")),
        &["service=checkout"],
        &[],
    );
    let manifest = json_of(&bundle, layout::MANIFEST);
    let collector = &manifest["collectors"][0];
    assert_eq!(collector["status"], "failed", "{manifest:#}");
    assert!(collector["error"].as_str().unwrap().contains("connection_refused"), "{collector}");
    let hypotheses = json_of(&bundle, layout::HYPOTHESES);
    let reasons: Vec<&str> = hypotheses["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["rule"] == "traffic_surge")
        .map(|n| n["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 1, "{hypotheses:#}");
    assert!(
        reasons[0].starts_with("no prometheus evidence (prometheus/prod failed: cannot reach"),
        "{}",
        reasons[0]
    );
    assert_eq!(hypotheses["hypotheses"][0]["recommendation"], "investigate");
}

/// A real Alertmanager delivers an alert whose `generatorURL` carries the rule's
/// expression (as Prometheus sets it) to a running `witness serve`; the bundle's
/// Prometheus evidence evaluates that expression and puts its crossing on the timeline.
#[tokio::test]
async fn an_alerts_expression_travels_from_alertmanager_through_serve_to_the_timeline() {
    use crate::server::{
        Daemon, TOKEN, client, config_text, sealed_bundles, trigger_of, wait_for, write_config,
    };

    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let dir = tempfile::tempdir().unwrap();
    let config =
        format!("{}\n{}", config_text(dir.path(), ""), prometheus_section(&prometheus.url));
    let daemon = Daemon::start(&write_config(dir.path(), &config));
    let store = dir.path().join("store");

    let am = Alertmanager::start(dir.path(), &daemon.url("/hooks/alertmanager"), TOKEN).await;
    let c = client();

    let expression_link = generator_url(&prometheus.url, TRAFFIC_SURGE_ALERT);
    let alert = json!([{
        "labels": {"alertname": "CheckoutErrorRatio", "service": "checkout", "severity": "critical"},
        "annotations": {"summary": "checkout 5xx above 5 %"},
        "startsAt": "2025-11-19T21:00:00Z",
        "generatorURL": expression_link,
    }]);
    let r = c.post(format!("{}/api/v2/alerts", am.url)).json(&alert).send().await.unwrap();
    assert!(r.status().is_success(), "Alertmanager took the alert: {}", r.status());

    let bundle = wait_for(Duration::from_secs(90), "the sealed bundle of the alert", async || {
        sealed_bundles(&store).into_iter().find(|b| trigger_of(b)["name"] == "CheckoutErrorRatio")
    })
    .await;
    let trigger = trigger_of(&bundle);
    assert_eq!(trigger["generator_url"], expression_link.as_str(), "{trigger:#}");
    let evidence = json_of(&bundle, &layout::evidence_file("prometheus", "prod"));
    let facts = &evidence["facts"];
    assert_eq!(facts["prometheus.alert_onset_offset_secs"], -360, "{evidence:#}");
    assert_eq!(facts["prometheus.alert_threshold"], 0.05);
    assert_eq!(evidence["data"]["queries"][0]["alert_expr"], TRAFFIC_SURGE_ALERT);
    let timeline = json_of(&bundle, layout::TIMELINE);
    let crossed = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "alert_expression_crossed")
        .unwrap_or_else(|| panic!("no crossing on the timeline: {timeline:#}"));
    assert_eq!(crossed["offset"], "T-6m");
    assert_eq!(crossed["title"], "The alert's expression crossed > 0.05 (peak 0.0909)");
    let hypotheses = json_of(&bundle, layout::HYPOTHESES);
    assert_eq!(hypotheses["hypotheses"][0]["id"], "traffic_surge", "{hypotheses:#}");
    drop(daemon);
}

/// A responder who collects by hand passes the alert's source link: its expression is
/// evaluated as for an alert that came in, and `show` lists it first.
#[test]
fn a_manual_collect_evaluates_the_expression_of_the_source_link_it_is_given() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let dir = tempfile::tempdir().unwrap();
    let link = generator_url(&prometheus.url, TRAFFIC_SURGE_ALERT);
    let bundle = collect_at(
        dir.path(),
        &prometheus_section(&prometheus.url),
        &["service=checkout"],
        &["--generator-url", &link],
    );
    let evidence = json_of(&bundle, &layout::evidence_file("prometheus", "prod"));
    assert_eq!(evidence["facts"]["prometheus.alert_onset_offset_secs"], -360, "{evidence:#}");
    assert_eq!(evidence["data"]["queries"][0]["alert_expr"], TRAFFIC_SURGE_ALERT);
    let show = witness(dir.path(), &["show", bundle.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&show.stdout);
    let metrics = shown.split("Metrics\n").nth(1).expect("no Metrics block in show");
    let first = metrics.lines().next().unwrap();
    assert!(first.contains("the alert's expression (prometheus/prod)"), "{metrics}");
    assert!(first.contains("condition > 0.05"), "{first}");

    // A link that is not one is refused before anything runs, saying which flag.
    for (bad, says) in [
        ("not a link", "is not a URL"),
        ("file:///etc/passwd", "the scheme \"file\" is not http or https"),
    ] {
        let at = anchor().to_rfc3339();
        let out = dir.path().join("refused");
        let output = witness(
            dir.path(),
            &["collect", "at", &at, "--generator-url", bad, "--out", out.to_str().unwrap()],
        );
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--generator-url") && stderr.contains(says), "{stderr}");
        assert!(!out.exists(), "a bundle was written for a refused link");
    }
}

/// A `prometheus` record in the shape of a bundle's evidence file, with `facts`.
fn metric_record(
    kind: &str,
    facts: &[(&str, witness_collector::FactValue)],
) -> witness::bundle::layout::CollectorRecord {
    let mut evidence = witness_collector::Evidence::ok("metrics");
    for (name, value) in facts {
        evidence.facts.insert((*name).to_owned(), value.clone());
    }
    witness::bundle::layout::CollectorRecord {
        kind: kind.to_owned(),
        name: "prod".to_owned(),
        started_at: anchor(),
        finished_at: anchor(),
        duration_ms: 10,
        error: None,
        redactions: Default::default(),
        evidence,
    }
}

fn evaluated(records: Vec<witness::bundle::layout::CollectorRecord>) -> witness::rules::Evaluation {
    let trigger = witness::trigger::Trigger::manual(anchor(), Default::default());
    crate::util::scenario::analysed(
        trigger,
        records,
        &crate::util::scenario::BUILTIN_RULES,
        crate::util::scenario::no_bundle(),
    )
    .evaluation
}

/// Traffic up ×3 from T-10m, the error ratio ×18 from T-6m, no logs at all.
fn surge_facts(error_onset: i64) -> Vec<(&'static str, witness_collector::FactValue)> {
    use witness_collector::FactValue::{Float, Int};
    vec![
        ("prometheus.request_rate_ratio", Float(3.0)),
        ("prometheus.request_rate_baseline", Float(100.0)),
        ("prometheus.request_rate_peak", Float(330.0)),
        ("prometheus.request_rate_onset_offset_secs", Int(-600)),
        ("prometheus.error_ratio_ratio", Float(18.0)),
        ("prometheus.error_ratio_baseline", Float(0.005)),
        ("prometheus.error_ratio_peak", Float(0.09)),
        ("prometheus.error_ratio_onset_offset_secs", Int(error_onset)),
    ]
}

#[test]
fn errors_that_began_before_the_traffic_rose_count_against_the_surge() {
    let after = evaluated(vec![metric_record("prometheus", &surge_facts(-360))]);
    let surge = &after.hypotheses[0];
    assert_eq!(
        (surge.id.as_str(), surge.likelihood),
        ("traffic_surge", witness::rules::Likelihood::High)
    );
    assert!(surge.counter_evidence.is_empty(), "{:?}", surge.counter_evidence);

    let before = evaluated(vec![metric_record("prometheus", &surge_facts(-1500))]);
    let surge = before.hypotheses.iter().find(|h| h.id == "traffic_surge").unwrap();
    assert_eq!(
        surge.counter_evidence,
        ["errors began before traffic rose (T-1500s against T-600s)"]
    );
    assert!(surge.score < 0.4, "{surge:#?}");
}

#[test]
fn a_rollout_with_the_metric_error_ratio_up_is_a_bad_deploy_without_any_log() {
    use witness_collector::FactValue::{Bool, Float, Int, Text};
    let kubernetes = metric_record(
        "kubernetes",
        &[
            ("kubernetes.deployment", Text("checkout".into())),
            ("kubernetes.namespace", Text("prod".into())),
            ("kubernetes.minutes_since_rollout", Float(9.0)),
            ("kubernetes.current_revision", Int(42)),
            ("kubernetes.previous_revision", Int(41)),
            ("kubernetes.images_changed", Bool(true)),
        ],
    );
    let prometheus = metric_record(
        "prometheus",
        &[
            ("prometheus.error_ratio_ratio", Float(18.0)),
            ("prometheus.error_ratio_baseline", Float(0.005)),
            ("prometheus.error_ratio_onset_offset_secs", Int(-360)),
            ("prometheus.request_rate_ratio", Float(1.02)),
            ("prometheus.request_rate_baseline", Float(100.0)),
        ],
    );
    let e = evaluated(vec![kubernetes, prometheus]);
    let top = &e.hypotheses[0];
    assert_eq!(
        (top.id.as_str(), top.recommendation),
        ("bad_deploy", witness::rules::Recommendation::Rollback),
        "{e:#?}"
    );
    assert_eq!(top.explains, ["error_rate"]);
    // The onset is the metric's, and it came after the rollout.
    assert!(
        top.explanation.contains("the first new error came after the rollout"),
        "{}",
        top.explanation
    );
    assert!(
        top.evidence.iter().any(|r| r.to_string()
            == "evidence/prometheus-prod.json#/facts/prometheus.error_ratio_onset_offset_secs"),
        "{:?}",
        top.evidence
    );
}

#[test]
fn a_saturated_resource_with_nothing_users_feel_off_the_baseline_is_checked_not_ranked() {
    use witness_collector::FactValue::Float;
    let quiet = metric_record(
        "prometheus",
        &[
            ("prometheus.saturation_peak", Float(0.95)),
            ("prometheus.error_ratio_ratio", Float(1.0)),
            ("prometheus.error_ratio_baseline", Float(0.005)),
            ("prometheus.latency_p95_ratio", Float(1.1)),
        ],
    );
    let e = evaluated(vec![quiet]);
    assert_eq!(e.hypotheses.len(), 1, "{:#?}", e.hypotheses);
    assert_eq!(e.hypotheses[0].id, "default");
    assert!(
        e.hypotheses[0].explanation.starts_with("No signal above the baseline"),
        "{}",
        e.hypotheses[0].explanation
    );
    let reason = &e.ruled_out.iter().find(|r| r.rule == "saturation_metric").unwrap().reason;
    assert!(reason.contains("explains no symptom of the run"), "{reason}");
}
