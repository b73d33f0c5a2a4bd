//! The `http` collector against real HTTP and HTTPS servers on 127.0.0.1: what a responder
//! reads when a health endpoint is healthy, flapping, down with a named component, slow,
//! stuck in a redirect loop or presenting a certificate nobody trusts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use serde_json::json;
use witness_collector::{CollectContext, CollectorConfig, Evidence, FactValue, Severity, Status};
use witness_http::HttpConfig;
use witness_net::testing::{TestCertificate, serve, serve_tls};

/// Builds and runs one instance, under a timeout so a hanging collector fails the test.
async fn collect(config: HttpConfig) -> (Evidence, CollectContext) {
    let ctx = CollectContext::for_test();
    let collector = config.build().unwrap_or_else(|p| panic!("config problems: {p:?}"));
    let evidence = tokio::time::timeout(Duration::from_secs(20), collector.collect(&ctx))
        .await
        .expect("collector finished within 20 s")
        .expect("collector returned evidence");
    (evidence, ctx)
}

fn quick(name: &str, url: String) -> HttpConfig {
    HttpConfig { probe_interval_ms: 50, ..HttpConfig::new(name, url) }
}

/// A server whose `/health` answers "ok" after `delay`.
async fn serve_slow(delay: Duration) -> std::net::SocketAddr {
    let slow = move || async move {
        tokio::time::sleep(delay).await;
        "ok"
    };
    serve(Router::new().route("/health", get(slow))).await
}

fn failure_kinds(evidence: &Evidence) -> Vec<String> {
    evidence.data["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["failure"]["kind"].as_str().unwrap_or("none").to_owned())
        .collect()
}

#[tokio::test]
async fn a_healthy_endpoint_reads_as_healthy_with_latency() {
    let app = Router::new().route(
        "/health",
        get(|| async { ([("x-request-id", "req-1"), ("x-secret-internal", "no")], "ok") }),
    );
    let addr = serve(app).await;
    let (evidence, _) = collect(quick("api", format!("http://{addr}/health"))).await;

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0));
    assert_eq!(evidence.facts["http.all_failing"], FactValue::Bool(false));
    assert!(evidence.facts["http.latency_median_ms"].as_f64().unwrap() >= 0.0);
    assert!(evidence.events.is_empty(), "{:?}", evidence.events);
    let probe = &evidence.data["probes"][2];
    assert_eq!(probe["status"], 200);
    assert_eq!(probe["body_excerpt"], "ok");
    assert_eq!(probe["health"]["format"], "plain_text");
    assert_eq!(probe["headers"]["x-request-id"], "req-1");
    assert!(probe["headers"].get("x-secret-internal").is_none(), "only headers of interest");
    assert!(probe.get("redirected_to").is_none());
    assert!(evidence.summary.starts_with("3 of 3 probes healthy"), "{}", evidence.summary);
}

#[tokio::test]
async fn one_failing_probe_of_three_is_counted_and_raises_a_warning() {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route(
        "/health",
        get(move || {
            let n = hits.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 1 {
                    (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"fail"}"#).into_response()
                } else {
                    (StatusCode::OK, r#"{"status":"pass"}"#).into_response()
                }
            }
        }),
    );
    let addr = serve(app).await;
    let (evidence, _) = collect(quick("api", format!("http://{addr}/health"))).await;

    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(1));
    assert_eq!(evidence.facts["http.all_failing"], FactValue::Bool(false));
    assert_eq!(failure_kinds(&evidence), ["none", "http_status", "none"]);
    let event = evidence.events.iter().find(|e| e.kind == "health_failing").unwrap();
    assert_eq!(event.severity, Severity::Warning);
    assert_eq!(event.title, "Health check api failing: 1 of 3 probes (HTTP 503)");
    assert_eq!(event.pointer.as_deref(), Some("/data/probes/1"));
}

#[tokio::test]
async fn spring_actuator_names_the_component_that_is_down() {
    let body = json!({
        "status": "DOWN",
        "components": {
            "db": {"status": "DOWN", "details": {"database": "PostgreSQL", "error": "org.postgresql.util.PSQLException: Connection to db:5432 refused."}},
            "diskSpace": {"status": "UP", "details": {"total": 105088212992_u64, "free": 60152705024_u64, "threshold": 10485760, "exists": true}},
            "livenessState": {"status": "UP"},
            "ping": {"status": "UP"},
            "readinessState": {"status": "UP"}
        }
    });
    let app = Router::new().route(
        "/actuator/health",
        get(move || {
            let body = body.clone();
            async move {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::CONTENT_TYPE, "application/vnd.spring-boot.actuator.v3+json")],
                    body.to_string(),
                )
            }
        }),
    );
    let addr = serve(app).await;
    let (evidence, _) = collect(quick("orders", format!("http://{addr}/actuator/health"))).await;

    assert_eq!(evidence.facts["http.components_down"], FactValue::from(vec!["db"]));
    assert_eq!(evidence.facts["http.all_failing"], FactValue::Bool(true));
    let event = evidence.events.iter().find(|e| e.kind == "health_failing").unwrap();
    assert_eq!(event.severity, Severity::Critical);
    assert!(event.title.ends_with("; down: db"), "{}", event.title);
    assert_eq!(evidence.data["probes"][0]["health"]["format"], "spring_actuator");
}

#[tokio::test]
async fn a_server_slower_than_the_probe_timeout_is_a_timeout_not_an_error_page() {
    let addr = serve_slow(Duration::from_secs(5)).await;
    let config = HttpConfig {
        probes: 2,
        probe_timeout_ms: 300,
        ..quick("slow", format!("http://{addr}/health"))
    };
    let started = std::time::Instant::now();
    let (evidence, _) = collect(config).await;

    assert!(started.elapsed() < Duration::from_secs(3), "probes respect their timeout");
    assert_eq!(failure_kinds(&evidence), ["timeout", "timeout"]);
    assert_eq!(evidence.facts["http.all_failing"], FactValue::Bool(true));
    assert!(
        !evidence.facts.contains_key("http.latency_median_ms"),
        "no answer means no latency, never a fake one"
    );
    assert_eq!(evidence.data["probes"][0]["failure"]["message"], "no answer within 300 ms");
}

#[tokio::test]
async fn a_slow_but_answering_endpoint_raises_health_slow() {
    let addr = serve_slow(Duration::from_millis(150)).await;
    let config =
        HttpConfig { slow_threshold_ms: 100, ..quick("api", format!("http://{addr}/health")) };
    let (evidence, _) = collect(config).await;

    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0));
    assert!(evidence.facts["http.latency_median_ms"].as_f64().unwrap() >= 150.0);
    let kinds: Vec<&str> = evidence.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["health_slow"]);
}

#[tokio::test]
async fn a_redirect_is_followed_and_where_it_led_is_kept() {
    let app = Router::new()
        .route("/health", get(|| async { Redirect::permanent("/v2/health") }))
        .route("/v2/health", get(|| async { "ok" }));
    let addr = serve(app).await;
    let (evidence, _) =
        collect(HttpConfig { probes: 1, ..quick("api", format!("http://{addr}/health")) }).await;
    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0));
    assert_eq!(evidence.data["probes"][0]["redirected_to"], format!("http://{addr}/v2/health"));
}

#[tokio::test]
async fn a_redirect_loop_is_named() {
    let app = Router::new()
        .route("/a", get(|| async { Redirect::temporary("/b") }))
        .route("/b", get(|| async { Redirect::temporary("/a") }));
    let addr = serve(app).await;
    let (evidence, _) =
        collect(HttpConfig { probes: 1, ..quick("loop", format!("http://{addr}/a")) }).await;

    assert_eq!(failure_kinds(&evidence), ["redirect_loop"]);
    assert!(evidence.summary.contains("redirect loop"), "{}", evidence.summary);
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure_not_a_timeout() {
    let cert = TestCertificate::self_signed();
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let addr = serve_tls(app, cert.server_config()).await;
    let config = HttpConfig {
        probes: 1,
        probe_timeout_ms: 5000,
        ..quick("tls", format!("https://{addr}/health"))
    };
    let (evidence, _) = collect(config).await;

    assert_eq!(failure_kinds(&evidence), ["tls"], "{}", evidence.data["probes"][0]);
    let probe = &evidence.data["probes"][0];
    let message = probe["failure"]["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    assert!(probe["latency_ms"].as_f64().unwrap() < 2000.0, "failed at once, not at the timeout");
}

#[tokio::test]
async fn a_trusted_certificate_reports_days_left_and_warns_before_expiry() {
    let expires_on = (chrono::Utc::now() + chrono::Duration::days(6)).date_naive();
    let cert = TestCertificate::issued_by_test_ca(expires_on);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &cert.ca_pem).unwrap();
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let addr = serve_tls(app, cert.server_config()).await;
    let config =
        HttpConfig { ca_file: Some(ca_file), ..quick("tls", format!("https://{addr}/health")) };
    let (evidence, _) = collect(config).await;

    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0), "{:?}", evidence.data);
    // It expires at 00:00 UTC six days from today: five whole days and some hours left.
    assert_eq!(evidence.facts["http.cert_days_left"], FactValue::Int(5));
    let event = evidence.events.iter().find(|e| e.kind == "cert_expiring").unwrap();
    assert_eq!(event.title, "Certificate of tls expires in 5 days");
}

#[tokio::test]
async fn an_expired_certificate_fails_over_tls_and_says_since_when() {
    let expired_on = (chrono::Utc::now() - chrono::Duration::days(2)).date_naive();
    let cert = TestCertificate::issued_by_test_ca(expired_on);
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &cert.ca_pem).unwrap();
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let addr = serve_tls(app, cert.server_config()).await;
    let config = HttpConfig {
        probes: 1,
        ca_file: Some(ca_file),
        ..quick("tls", format!("https://{addr}/health"))
    };
    let (evidence, _) = collect(config).await;

    assert_eq!(failure_kinds(&evidence), ["tls"]);
    let message = evidence.data["probes"][0]["failure"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("certificate expired"), "{message}");
    // Expired at 00:00 UTC two days ago: between two and three days ago.
    assert_eq!(evidence.facts["http.cert_days_left"], FactValue::Int(-3));
    assert_eq!(evidence.data["certificate"]["verified"], false);
    let event = evidence.events.iter().find(|e| e.kind == "cert_expiring").unwrap();
    assert_eq!(event.title, "Certificate of tls expired 3 days ago");
    assert_eq!(event.severity, Severity::Critical);
}

#[tokio::test]
async fn secret_headers_are_sent_and_registered_for_redaction() {
    let app = Router::new().route(
        "/health",
        get(|headers: HeaderMap| async move {
            match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                Some("Bearer s3cret-token") => (StatusCode::OK, "ok"),
                _ => (StatusCode::UNAUTHORIZED, "who are you"),
            }
        }),
    );
    let addr = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let config: HttpConfig = toml::from_str(&format!(
        r#"
        name = "api"
        url = "http://{addr}/health"
        probes = 1
        headers = [{{ name = "Authorization", prefix = "Bearer ", value_file = "{}" }}]
        "#,
        token_file.display()
    ))
    .unwrap();
    let (evidence, ctx) = collect(config).await;

    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0), "{:?}", evidence.data);
    let echoed = ctx.redact("the server echoed s3cret-token back");
    assert!(!echoed.contains("s3cret"), "{echoed}");
}

#[tokio::test]
async fn a_body_that_does_not_match_fails_the_probe_with_what_was_found() {
    let app =
        Router::new().route("/health", get(|| async { r#"{"status":"UP","db":"DEGRADED"}"# }));
    let addr = serve(app).await;
    let config = HttpConfig {
        probes: 1,
        body_json_pointer: Some("/db".into()),
        body_json_equals: Some("UP".into()),
        ..quick("api", format!("http://{addr}/health"))
    };
    let (evidence, _) = collect(config).await;

    assert_eq!(failure_kinds(&evidence), ["unexpected_body"]);
    assert_eq!(
        evidence.data["probes"][0]["failure"]["message"],
        r#"/db is "DEGRADED", expected "UP""#
    );
}

#[tokio::test]
async fn nothing_listening_still_gives_evidence_of_a_failing_endpoint() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (evidence, _) = collect(quick("api", format!("http://127.0.0.1:{port}/health"))).await;
    assert_eq!(evidence.status, Status::Ok);
    assert_eq!(failure_kinds(&evidence), ["connection_refused"; 3]);
    assert_eq!(evidence.facts["http.all_failing"], FactValue::Bool(true));
    assert!(evidence.summary.starts_with("3 of 3 probes failing: connection refused"));
}

#[tokio::test]
async fn the_instance_deadline_cuts_probes_short_and_says_so() {
    let addr = serve_slow(Duration::from_secs(5)).await;
    let mut ctx = CollectContext::for_test();
    ctx.deadline = tokio::time::Instant::now() + Duration::from_millis(700);
    let collector = quick("api", format!("http://{addr}/health")).build().unwrap();
    let started = std::time::Instant::now();
    let evidence = tokio::time::timeout(Duration::from_secs(20), collector.collect(&ctx))
        .await
        .expect("collector finished within 20 s")
        .expect("evidence, not an error: one probe was sent");

    assert!(started.elapsed() < Duration::from_secs(2), "the deadline is respected");
    assert_eq!(evidence.status, Status::Partial);
    assert_eq!(failure_kinds(&evidence), ["timeout"]);
    assert_eq!(
        evidence.notes,
        [
            "stopped after 1 of 3 probes: the deadline passed or the run was cancelled",
            "probe 0 timed out on the instance's deadline, before probe_timeout_ms",
        ]
    );
}

#[tokio::test]
async fn a_200_whose_health_body_says_fail_is_still_failing() {
    // Some frameworks always answer 200 and put the verdict in the body.
    let body = json!({"status": "fail", "checks": {"postgres:connections": [{"componentId": "main", "status": "fail", "output": "too many clients"}]}});
    let app = Router::new().route(
        "/health",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/health+json")], body.to_string()) }
        }),
    );
    let addr = serve(app).await;
    let (evidence, _) =
        collect(HttpConfig { probes: 1, ..quick("api", format!("http://{addr}/health")) }).await;

    assert_eq!(failure_kinds(&evidence), ["unexpected_body"]);
    assert_eq!(
        evidence.facts["http.components_down"],
        FactValue::from(vec!["postgres:connections"])
    );
    assert_eq!(
        evidence.data["probes"][0]["failure"]["message"],
        "health body says fail (postgres:connections down)"
    );
}

#[tokio::test]
async fn head_probes_are_judged_by_their_status() {
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let addr = serve(app).await;
    let config: HttpConfig = toml::from_str(&format!(
        "name = \"api\"\nurl = \"http://{addr}/health\"\nmethod = \"HEAD\"\nprobes = 2\nprobe_interval_ms = 10\nexpected_status = [200]\n"
    ))
    .unwrap();
    let (evidence, _) = collect(config).await;
    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0));
    assert!(evidence.data["probes"][0].get("body_excerpt").is_none(), "HEAD has no body");
    assert_eq!(evidence.data["method"], "HEAD");
}
