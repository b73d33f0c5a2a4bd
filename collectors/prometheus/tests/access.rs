//! How witness reaches a Prometheus that is not on an open port: behind an authenticating
//! TLS proxy under a path prefix (as Mimir and most hosted Prometheus are), with a bearer
//! token or basic auth from the environment, a tenant header and an internal CA; a
//! Grafana-managed rule whose query is read from Grafana's API; and secrets in series
//! labels, redacted where they are read. The proxy and the Grafana API are small real HTTP
//! servers on 127.0.0.1; the queries they forward are answered by a real Prometheus.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use witness_collector::{CollectContext, CollectError, CollectorConfig, Evidence, FactValue};
use witness_net::testing::{TestCertificate, serve, serve_tls};
use witness_prometheus::PrometheusConfig;
use witness_prometheus::testing::{
    OpenMetrics, TRAFFIC_SURGE_QUERIES, TestPrometheus, traffic_surge,
};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

fn ctx(labels: &[(&str, &str)], generator_url: Option<&str>) -> CollectContext {
    witness_prometheus::testing::context(anchor(), labels, generator_url)
}

async fn collect(text: &str, ctx: &CollectContext) -> Result<Evidence, CollectError> {
    let config: PrometheusConfig = toml::from_str(text).unwrap();
    let collector = config.build().unwrap_or_else(|p| panic!("config problems: {p:?}"));
    tokio::time::timeout(Duration::from_secs(60), collector.collect(ctx))
        .await
        .expect("the collector finished within 60 s")
}

/// A proxy in front of Prometheus: answers only requests with `authorization`, and
/// records the tenant header each one carried.
#[derive(Clone)]
struct Proxy {
    upstream: String,
    authorization: String,
    tenants: Arc<Mutex<Vec<Option<String>>>>,
}

async fn forward(State(proxy): State<Proxy>, headers: HeaderMap, body: Bytes) -> Response {
    let given = headers.get("authorization").and_then(|v| v.to_str().ok());
    if given != Some(proxy.authorization.as_str()) {
        return (StatusCode::UNAUTHORIZED, "401 Unauthorized\n").into_response();
    }
    let tenant = headers.get("x-scope-orgid").and_then(|v| v.to_str().ok()).map(str::to_owned);
    proxy.tenants.lock().unwrap().push(tenant);
    let options = witness_net::client::ClientOptions::default();
    let client = witness_net::client::build_client(&options).unwrap();
    let answer = client
        .post(format!("{}/api/v1/query_range", proxy.upstream))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    (status, [("content-type", "application/json")], answer.bytes().await.unwrap()).into_response()
}

fn proxy(upstream: &str, authorization: &str) -> (Router, Arc<Mutex<Vec<Option<String>>>>) {
    let tenants = Arc::new(Mutex::new(Vec::new()));
    let state = Proxy {
        upstream: upstream.to_owned(),
        authorization: authorization.to_owned(),
        tenants: tenants.clone(),
    };
    (
        Router::new().route("/prometheus/api/v1/query_range", post(forward)).with_state(state),
        tenants,
    )
}

#[tokio::test]
async fn a_bearer_token_over_tls_with_an_internal_ca_and_a_tenant() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let cert =
        TestCertificate::issued_by_test_ca(chrono::NaiveDate::from_ymd_opt(2099, 1, 1).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.ca_pem).unwrap();
    let token = "prom-reader-7f3a9c2e1b";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let (router, tenants) = proxy(&prometheus.url, &format!("Bearer {token}"));
    let addr = serve_tls(router, cert.server_config()).await;
    let text = format!(
        "name = \"mimir\"\nurl = \"https://127.0.0.1:{}/prometheus\"\nbearer_token_file = {:?}\nca_file = {:?}\ntenant = \"team-checkout\"\n{TRAFFIC_SURGE_QUERIES}",
        addr.port(),
        token_file,
        ca
    );
    let e = collect(&text, &ctx(&[("service", "checkout")], None)).await.unwrap();
    assert_eq!(e.status, witness_collector::Status::Ok, "{:?}", e.notes);
    assert_eq!(e.facts["prometheus.request_rate_onset_offset_secs"], FactValue::Int(-600));
    let tenants = tenants.lock().unwrap().clone();
    assert_eq!(tenants, vec![Some("team-checkout".to_owned()); 4]);

    // Without the CA the certificate is not trusted: the instance fails, saying so.
    let untrusted = text.replace(&format!("ca_file = {ca:?}\n"), "");
    let err = collect(&untrusted, &ctx(&[("service", "checkout")], None)).await.unwrap_err();
    assert!(matches!(err, CollectError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("tls"), "{err}");
}

#[tokio::test]
async fn basic_auth_from_the_environment_and_a_wrong_password_fails_with_the_status() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    // Base64 of `witness:s3cret-basic-pw`.
    let (router, _) = proxy(&prometheus.url, "Basic d2l0bmVzczpzM2NyZXQtYmFzaWMtcHc=");
    let addr = serve(router).await;
    // SAFETY: set once, before the collector reads it, and only by this test.
    unsafe { std::env::set_var("WITNESS_TEST_PROM_BASIC_PW", "s3cret-basic-pw") };
    let text = format!(
        "name = \"p\"\nurl = \"http://{addr}/prometheus/\"\nbasic_user = \"witness\"\nbasic_password_env = \"WITNESS_TEST_PROM_BASIC_PW\"\n{TRAFFIC_SURGE_QUERIES}"
    );
    let ctx_ok = ctx(&[("service", "checkout")], None);
    let e = collect(&text, &ctx_ok).await.unwrap();
    assert_eq!(e.facts["prometheus.error_ratio_onset_offset_secs"], FactValue::Int(-360));
    // The password read is a literal of the run's redactor from then on.
    assert!(!ctx_ok.redact("pw=s3cret-basic-pw").as_str().contains("s3cret-basic-pw"));

    let wrong = text.replace("WITNESS_TEST_PROM_BASIC_PW", "WITNESS_TEST_PROM_OTHER_PW");
    // SAFETY: as above.
    unsafe { std::env::set_var("WITNESS_TEST_PROM_OTHER_PW", "not-the-password") };
    let err = collect(&wrong, &ctx(&[("service", "checkout")], None)).await.unwrap_err();
    assert!(err.to_string().contains("HTTP 401"), "{err}");
}

/// The provisioning API of a Grafana whose rule `ae1x` alerts on checkout's 5xx ratio
/// (query A, reduced to its last value in B, `B > 0.05` in C).
async fn fake_grafana(token: &'static str) -> std::net::SocketAddr {
    let rule = json!({"uid": "ae1x", "title": "CheckoutErrors", "condition": "C",
    "data": [
        {"refId": "A", "datasourceUid": "prom", "model": {"refId": "A", "expr": "sum(rate(http_requests_total{service=\"checkout\",code=~\"5..\"}[1m])) / sum(rate(http_requests_total{service=\"checkout\"}[1m]))"}},
        {"refId": "B", "datasourceUid": "__expr__", "model": {"type": "reduce", "expression": "A", "reducer": "last"}},
        {"refId": "C", "datasourceUid": "__expr__", "model": {"type": "threshold", "expression": "B", "conditions": [{"evaluator": {"type": "gt", "params": [0.05]}}]}}
    ]});
    let app = Router::new().route(
        "/api/v1/provisioning/alert-rules/{uid}",
        get(move |Path(uid): Path<String>, headers: HeaderMap| {
            let rule = rule.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {token}")) {
                    return (StatusCode::UNAUTHORIZED, "{}").into_response();
                }
                if uid != "ae1x" {
                    return (StatusCode::NOT_FOUND, "{\"message\":\"rule not found\"}")
                        .into_response();
                }
                axum::Json(rule).into_response()
            }
        }),
    );
    serve(app).await
}

#[tokio::test]
async fn a_grafana_managed_rule_is_read_from_grafana_and_evaluated() {
    let prometheus = TestPrometheus::start(&traffic_surge(anchor()));
    let grafana = fake_grafana("glsa_reader_token_0123456789").await;
    // SAFETY: set once, before the collector reads it, and only by this test.
    unsafe { std::env::set_var("WITNESS_TEST_GRAFANA_TOKEN", "glsa_reader_token_0123456789") };
    let text = format!(
        "name = \"p\"\nurl = \"{}\"\ngrafana = {{ url = \"http://{grafana}\", token_env = \"WITNESS_TEST_GRAFANA_TOKEN\" }}\n",
        prometheus.url
    );
    let link = format!("http://{grafana}/alerting/grafana/ae1x/view?orgId=1");
    let e = collect(&text, &ctx(&[("service", "checkout")], Some(&link))).await.unwrap();
    assert_eq!(
        e.facts["prometheus.alert_onset_offset_secs"],
        FactValue::Int(-360),
        "{:?}",
        e.notes
    );
    assert_eq!(e.facts["prometheus.alert_threshold"], FactValue::Float(0.05));
    assert_eq!(e.data["queries"][0]["origin"], "grafana_rule");

    // A rule Grafana does not have: a note, and the instance's other work goes on.
    let missing = format!("http://{grafana}/alerting/grafana/zz9/view");
    let text = format!("{text}{TRAFFIC_SURGE_QUERIES}");
    let e = collect(&text, &ctx(&[("service", "checkout")], Some(&missing))).await.unwrap();
    assert_eq!(e.status, witness_collector::Status::Partial);
    assert!(
        e.notes.iter().any(|n| n.starts_with("the Grafana rule zz9 could not be read: HTTP 404")),
        "{:?}",
        e.notes
    );
    assert!(e.facts.contains_key("prometheus.request_rate_ratio"));

    // Without `grafana`, the note says what to set.
    let bare = format!("name = \"p\"\nurl = \"{}\"\n{TRAFFIC_SURGE_QUERIES}", prometheus.url);
    let e = collect(&bare, &ctx(&[("service", "checkout")], Some(&link))).await.unwrap();
    assert!(e.notes.iter().any(|n| n.contains("set `grafana` to read it")), "{:?}", e.notes);
}

#[tokio::test]
async fn secrets_in_series_labels_are_redacted_where_they_are_read() {
    let anchor = anchor();
    let span = (anchor - chrono::Duration::minutes(90), anchor + chrono::Duration::minutes(30));
    let secret = "ghp_R8x2Lq9Vt4Wm7Zp3Ks6Nd1Fb5Hc0Jy8Ga2Ue";
    let mut history = OpenMetrics::new();
    history.gauge(
        "build_info",
        &format!(r#"service="checkout",source="https://x-access-token:{secret}@github.com/acme/checkout""#),
        span,
        15,
        |_| 1.0,
    );
    let prometheus = TestPrometheus::start(&history.finish());
    let text = format!(
        "name = \"p\"\nurl = \"{}\"\nqueries = [{{ name = \"build\", query = 'build_info{{service=\"{{service}}\"}}' }}]\n",
        prometheus.url
    );
    let ctx = ctx(&[("service", "checkout")], None);
    let e = collect(&text, &ctx).await.unwrap();
    let json = serde_json::to_string(&e).unwrap();
    assert!(!json.contains(secret) && !json.contains(&secret[..12]), "{json}");
    assert!(json.contains(r#""source":"https://x-access-token:[REDACTED:"#), "{json}");
    let raw = ctx.artifacts.take();
    let artifact = raw.iter().find(|a| a.path == "query_range/build.json").expect("the raw answer");
    assert!(!String::from_utf8_lossy(&artifact.contents).contains(secret));
}
