//! The `status_page` collector against real HTTP(S) servers on 127.0.0.1 serving
//! Statuspage v2 documents shaped like GitHub's (`summary.json`, `status.json`,
//! `incidents/unresolved.json`): what a responder reads when the vendor is fine, in a
//! major outage that began before the anchor, filtered to the components the service uses,
//! and when the page itself is broken, slow, looping or untrusted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Redirect;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use witness_collector::{
    CollectContext, CollectError, CollectorConfig, Evidence, FactValue, Severity, Status, Window,
};
use witness_net::testing::{TestCertificate, serve, serve_tls};
use witness_status_page::StatusPageConfig;

fn anchor() -> DateTime<Utc> {
    // Whole seconds, so minute arithmetic in assertions is exact.
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

fn at(anchor: DateTime<Utc>, minutes: i64) -> String {
    witness_collector::time::format(anchor + chrono::Duration::minutes(minutes))
}

fn ctx_at(anchor: DateTime<Utc>) -> CollectContext {
    CollectContext::for_test_at(anchor, Window::new(anchor - chrono::Duration::minutes(60), anchor))
}

async fn collect(config: StatusPageConfig, ctx: &CollectContext) -> Result<Evidence, CollectError> {
    let collector = config.build().unwrap_or_else(|p| panic!("config problems: {p:?}"));
    tokio::time::timeout(Duration::from_secs(20), collector.collect(ctx))
        .await
        .expect("collector finished within 20 s")
}

fn page() -> Value {
    json!({"id": "kctbh9vrtdwd", "name": "GitHub", "url": "https://www.githubstatus.com",
           "time_zone": "Etc/UTC", "updated_at": "2025-11-19T21:04:11.123Z"})
}

fn component(id: &str, name: &str, status: &str) -> Value {
    json!({"id": id, "name": name, "status": status, "created_at": "2017-01-31T20:05:05.370Z",
           "updated_at": "2025-11-19T21:03:58.000Z", "position": 1, "description": null,
           "showcase": false, "start_date": null, "group_id": null, "page_id": "kctbh9vrtdwd",
           "group": false, "only_show_if_degraded": false})
}

fn components(git_status: &str) -> Value {
    json!([
        component("brv1bkgrwx7q", "Git Operations", git_status),
        component("4230lsnqdsld", "API Requests", "operational"),
        component("8l4ygp009s5s", "Webhooks", "operational"),
    ])
}

/// A major incident on Git Operations that began 25 minutes before the anchor, with two
/// updates, the first of which moved the component from operational to partial outage.
fn git_incident(anchor: DateTime<Utc>) -> Value {
    json!({
        "id": "cp306tmzcl0y", "name": "Degraded git operations", "status": "identified", "impact": "major",
        "created_at": at(anchor, -22), "updated_at": at(anchor, -5), "started_at": at(anchor, -25),
        "monitoring_at": null, "resolved_at": null, "shortlink": "https://stspg.io/abc", "page_id": "kctbh9vrtdwd",
        "incident_updates": [
            {"id": "u2", "status": "identified", "body": "The cause was found: a failed storage node.",
             "incident_id": "cp306tmzcl0y", "created_at": at(anchor, -5), "updated_at": at(anchor, -5),
             "display_at": at(anchor, -5), "affected_components": null},
            {"id": "u1", "status": "investigating", "body": "We are investigating reports of degraded performance.",
             "incident_id": "cp306tmzcl0y", "created_at": at(anchor, -22), "updated_at": at(anchor, -22),
             "display_at": at(anchor, -22),
             "affected_components": [{"code": "brv1bkgrwx7q", "name": "Git Operations",
                                      "old_status": "operational", "new_status": "partial_outage"}]}
        ],
        "components": [component("brv1bkgrwx7q", "Git Operations", "partial_outage")]
    })
}

fn summary(indicator: &str, description: &str, components: Value, incidents: Value) -> String {
    json!({"page": page(), "status": {"indicator": indicator, "description": description},
           "components": components, "incidents": incidents, "scheduled_maintenances": []})
    .to_string()
}

/// `summary.json` of a page with everything operational and no incident.
fn operational() -> String {
    summary("none", "All Systems Operational", components("operational"), json!([]))
}

/// `summary.json` of a page with a major, partial outage: Git Operations down by
/// [`git_incident`].
fn git_outage(anchor: DateTime<Utc>) -> String {
    summary(
        "major",
        "Partial System Outage",
        components("partial_outage"),
        json!([git_incident(anchor)]),
    )
}

/// A Statuspage site: each document answers with the status and body given.
struct Site {
    summary: (StatusCode, String),
    status: (StatusCode, String),
    unresolved: (StatusCode, String),
    recent: (StatusCode, String),
}

impl Site {
    /// `summary.json` as given, no fallback documents, no recent incidents.
    fn with_summary(summary: (StatusCode, String)) -> Self {
        let no_recent = json!({"page": page(), "incidents": []}).to_string();
        Site {
            summary,
            status: missing(),
            unresolved: missing(),
            recent: (StatusCode::OK, no_recent),
        }
    }

    async fn serve(self) -> String {
        let Site { summary, status, unresolved, recent } = self;
        let app = Router::new()
            .route("/api/v2/summary.json", get(move || async move { summary }))
            .route("/api/v2/status.json", get(move || async move { status }))
            .route("/api/v2/incidents/unresolved.json", get(move || async move { unresolved }))
            .route("/api/v2/incidents.json", get(move || async move { recent }));
        format!("http://{}", serve(app).await)
    }
}

async fn statuspage(
    summary: (StatusCode, String),
    status: (StatusCode, String),
    unresolved: (StatusCode, String),
) -> String {
    Site { status, unresolved, ..Site::with_summary(summary) }.serve().await
}

fn missing() -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, "not found".into())
}

fn github(url: String) -> StatusPageConfig {
    StatusPageConfig::new("github", "GitHub", url)
}

#[tokio::test]
async fn an_operational_vendor_reads_as_not_degraded() {
    let body = operational();
    let url = statuspage((StatusCode::OK, body), missing(), missing()).await;
    let anchor = anchor();
    let evidence = collect(github(url), &ctx_at(anchor)).await.unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(false));
    assert_eq!(evidence.facts["status_page.vendors_degraded"], FactValue::List(vec![]));
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("none"));
    assert!(!evidence.facts.contains_key("status_page.incident_minutes_before_anchor"));
    assert!(evidence.events.is_empty());
    assert_eq!(evidence.summary, "GitHub: none; no unresolved incident");
    assert_eq!(evidence.data["components_seen"], 3);
}

#[tokio::test]
async fn a_major_outage_that_began_before_the_anchor_is_dated_and_told_step_by_step() {
    let anchor = anchor();
    let body = git_outage(anchor);
    let url = statuspage((StatusCode::OK, body), missing(), missing()).await;
    let ctx = ctx_at(anchor);
    let evidence = collect(github(url), &ctx).await.unwrap();

    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(true));
    assert_eq!(evidence.facts["status_page.vendors_degraded"], FactValue::from(vec!["GitHub"]));
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("major"));
    assert_eq!(
        evidence.facts["status_page.incident_minutes_before_anchor"],
        FactValue::Float(25.0)
    );
    assert_eq!(
        evidence.summary,
        "GitHub: major; 1 unresolved incident (Degraded git operations, major, identified, began T-25m); \
         1 component not operational"
    );

    let titles: Vec<(&str, &str)> =
        evidence.events.iter().map(|e| (e.kind.as_str(), e.title.as_str())).collect();
    assert_eq!(
        titles,
        [
            ("incident_created", "GitHub incident opened: Degraded git operations (major)"),
            ("incident_update", "GitHub incident update (identified): Degraded git operations"),
            ("incident_update", "GitHub incident update (investigating): Degraded git operations"),
            ("component_degraded", "GitHub Git Operations: operational → partial_outage"),
        ]
    );
    assert_eq!(evidence.events[0].severity, Severity::Critical);
    assert_eq!(witness_collector::time::format(evidence.events[3].time), at(anchor, -22));
    let incident = &evidence.data["incidents"][0];
    assert_eq!(incident["latest_update"], "The cause was found: a failed storage node.");
    assert_eq!(incident["components"], json!(["Git Operations"]));
    assert_eq!(evidence.data["components_not_operational"][0]["name"], "Git Operations");
    // The raw document is kept for the bundle.
    let artifacts = ctx.artifacts.take();
    assert_eq!(
        artifacts.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(),
        ["summary.json", "incidents.json"]
    );
}

#[tokio::test]
async fn the_component_filter_ignores_incidents_on_components_the_service_does_not_use() {
    let anchor = anchor();
    let body = git_outage(anchor);
    let url = statuspage((StatusCode::OK, body), missing(), missing()).await;

    let api_only =
        StatusPageConfig { components: vec!["API Requests".into()], ..github(url.clone()) };
    let evidence = collect(api_only, &ctx_at(anchor)).await.unwrap();
    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(false));
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("none"));
    assert!(evidence.events.is_empty(), "{:?}", evidence.events);
    assert_eq!(evidence.data["page_indicator"], "major", "the page's own indicator is still kept");

    let git = StatusPageConfig { components: vec!["git operations".into()], ..github(url) };
    let evidence = collect(git, &ctx_at(anchor)).await.unwrap();
    assert_eq!(evidence.facts["status_page.vendors_degraded"], FactValue::from(vec!["GitHub"]));
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("major"));
}

#[tokio::test]
async fn an_error_status_from_the_page_fails_the_collector_with_the_url_and_status() {
    let err = || (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>".to_owned());
    let url = statuspage(err(), err(), err()).await;
    let error = collect(github(url.clone()), &ctx_at(anchor())).await.unwrap_err();
    assert_eq!(error.to_string(), format!("{url}/api/v2/summary.json: http_status: HTTP 500"));
}

#[tokio::test]
async fn invalid_json_fails_the_collector_and_says_so() {
    let url = statuspage((StatusCode::OK, "{\"status\": ".into()), missing(), missing()).await;
    let error = collect(github(url), &ctx_at(anchor())).await.unwrap_err();
    assert!(error.to_string().contains("summary.json: decode: invalid JSON"), "{error}");
}

#[tokio::test]
async fn a_broken_summary_falls_back_to_status_and_unresolved_incidents() {
    let anchor = anchor();
    let status = json!({"page": page(), "status": {"indicator": "major", "description": "Partial System Outage"}});
    let unresolved = json!({"page": page(), "incidents": [git_incident(anchor)]});
    let url = statuspage(
        (StatusCode::BAD_GATEWAY, "bad gateway".into()),
        (StatusCode::OK, status.to_string()),
        (StatusCode::OK, unresolved.to_string()),
    )
    .await;
    let evidence = collect(github(url), &ctx_at(anchor)).await.unwrap();

    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence.notes[0].contains("HTTP 502; components and scheduled maintenance not seen"),
        "{:?}",
        evidence.notes
    );
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("major"));
    assert_eq!(
        evidence.facts["status_page.incident_minutes_before_anchor"],
        FactValue::Float(25.0)
    );
}

#[tokio::test]
async fn a_page_slower_than_the_request_timeout_times_out_without_retrying_elsewhere() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().fallback(get(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            "{}"
        }
    }));
    let url = format!("http://{}", serve(app).await);
    let config = StatusPageConfig { request_timeout_ms: 300, ..github(url) };
    let started = std::time::Instant::now();
    let error = collect(config, &ctx_at(anchor())).await.unwrap_err();

    assert!(
        matches!(error, CollectError::Timeout { after, .. } if after == Duration::from_millis(300)),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "an unresponsive host is not asked again");
}

#[tokio::test]
async fn a_redirect_loop_is_named() {
    let app = Router::new()
        .route("/api/v2/summary.json", get(|| async { Redirect::temporary("/elsewhere") }))
        .route("/elsewhere", get(|| async { Redirect::temporary("/api/v2/summary.json") }));
    let url = format!("http://{}", serve(app).await);
    let error = collect(github(url), &ctx_at(anchor())).await.unwrap_err();
    assert!(error.to_string().contains("summary.json: redirect_loop"), "{error}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_unreachable_over_tls_not_a_timeout() {
    let cert = TestCertificate::self_signed();
    let app = Router::new().fallback(get(|| async { "{}" }));
    let url = format!("https://{}", serve_tls(app, cert.server_config()).await);
    let error = collect(github(url.clone()), &ctx_at(anchor())).await.unwrap_err();
    match error {
        CollectError::Unreachable { target, reason } => {
            assert_eq!(target, format!("{url}/api/v2/summary.json"));
            assert!(reason.starts_with("tls: ") && reason.contains("certificate"), "{reason}");
        }
        other => panic!("expected a TLS failure, got {other}"),
    }
}

#[tokio::test]
async fn a_page_behind_a_trusted_ca_is_read_over_https() {
    let cert =
        TestCertificate::issued_by_test_ca((Utc::now() + chrono::Duration::days(90)).date_naive());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &cert.ca_pem).unwrap();
    let body = operational();
    let app = Router::new().route("/api/v2/summary.json", get(move || async move { body }));
    let url = format!("https://{}", serve_tls(app, cert.server_config()).await);
    let config = StatusPageConfig { ca_file: Some(ca_file), ..github(url) };
    let evidence = collect(config, &ctx_at(anchor())).await.unwrap();
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("none"));
}

#[tokio::test]
async fn maintenance_in_progress_is_an_event_but_not_degraded() {
    let anchor = anchor();
    let body = json!({
        "page": page(), "status": {"indicator": "maintenance", "description": "Service Under Maintenance"},
        "components": [component("4230lsnqdsld", "API Requests", "under_maintenance")],
        "incidents": [],
        "scheduled_maintenances": [{
            "id": "m1", "name": "Database failover", "status": "in_progress", "impact": "maintenance",
            "scheduled_for": at(anchor, -10), "scheduled_until": at(anchor, 50), "started_at": at(anchor, -9),
            "incident_updates": [{"id": "mu1", "status": "in_progress", "body": "Maintenance is under way.",
                                   "display_at": at(anchor, -9), "created_at": at(anchor, -9)}],
            "components": [{"id": "4230lsnqdsld", "name": "API Requests", "status": "under_maintenance"}]
        }]
    });
    let url = statuspage((StatusCode::OK, body.to_string()), missing(), missing()).await;
    let evidence = collect(github(url), &ctx_at(anchor)).await.unwrap();

    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("maintenance"));
    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(false));
    assert_eq!(evidence.events.len(), 1);
    assert_eq!(evidence.events[0].title, "GitHub maintenance started: Database failover");
    assert_eq!(evidence.events[0].detail.as_deref(), Some("Maintenance is under way."));
    assert_eq!(witness_collector::time::format(evidence.events[0].time), at(anchor, -9));
}

#[tokio::test]
async fn values_the_page_invents_are_kept_as_text() {
    let body = summary(
        "severe",
        "Something new",
        json!([component("x1", "Actions", "partially_on_fire")]),
        json!([]),
    );
    let url = statuspage((StatusCode::OK, body), missing(), missing()).await;
    let evidence = collect(github(url), &ctx_at(anchor())).await.unwrap();
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("severe"));
    assert_eq!(
        evidence.facts["status_page.degraded"],
        FactValue::Bool(true),
        "unknown never reads as healthy"
    );
    assert_eq!(evidence.data["components_not_operational"][0]["status"], "partially_on_fire");
}

#[tokio::test]
async fn an_incident_resolved_inside_the_window_reaches_the_timeline_but_not_the_facts() {
    let anchor = anchor();
    let mut recent_one = git_incident(anchor);
    recent_one["id"] = json!("resolved1");
    recent_one["status"] = json!("resolved");
    recent_one["resolved_at"] = json!(at(anchor, -10));
    let mut old_one = git_incident(anchor - chrono::Duration::days(3));
    old_one["id"] = json!("old1");
    old_one["status"] = json!("resolved");
    old_one["resolved_at"] = json!(at(anchor, -3 * 24 * 60 + 30));
    let body = operational();
    let site = Site {
        recent: (
            StatusCode::OK,
            json!({"page": page(), "incidents": [recent_one, old_one]}).to_string(),
        ),
        ..Site::with_summary((StatusCode::OK, body))
    };
    let url = site.serve().await;
    let evidence = collect(github(url), &ctx_at(anchor)).await.unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(false));
    assert_eq!(evidence.facts["status_page.unresolved_incidents"], FactValue::Int(0));
    assert!(!evidence.facts.contains_key("status_page.incident_minutes_before_anchor"));
    let incidents = evidence.data["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "the incident resolved three days ago is left out");
    assert_eq!(incidents[0]["id"], "resolved1");
    assert_eq!(incidents[0]["unresolved"], false);
    assert_eq!(evidence.events[0].kind, "incident_created");
}

#[tokio::test]
async fn recent_incidents_that_cannot_be_read_make_the_evidence_partial() {
    let body = operational();
    let site = Site {
        recent: (StatusCode::SERVICE_UNAVAILABLE, "busy".into()),
        ..Site::with_summary((StatusCode::OK, body))
    };
    let url = site.serve().await;
    let evidence = collect(github(url.clone()), &ctx_at(anchor())).await.unwrap();
    assert_eq!(evidence.status, Status::Partial);
    assert_eq!(
        evidence.notes,
        [format!(
            "{url}/api/v2/incidents.json: http_status: HTTP 503; recently resolved incidents not seen"
        )]
    );
    assert_eq!(evidence.facts["status_page.degraded"], FactValue::Bool(false));
}

#[tokio::test]
async fn google_cloud_history_is_read_whole_but_only_active_incidents_count() {
    let anchor = anchor();
    let old = |i: usize| {
        json!({"id": format!("old{i}"), "number": i.to_string(), "begin": "2024-03-01T10:00:00+00:00",
               "created": "2024-03-01T10:05:00+00:00", "end": "2024-03-01T12:00:00+00:00",
               "modified": "2024-03-01T12:00:00+00:00", "external_desc": "Elevated latency in a region",
               "severity": "medium", "status_impact": "SERVICE_DISRUPTION",
               "affected_products": [{"title": "Cloud Storage", "id": "UwaY"}],
               "updates": [{"created": "2024-03-01T10:05:00+00:00", "when": "2024-03-01T10:05:00+00:00",
                            "text": "We are investigating elevated latency. ".repeat(10), "status": "SERVICE_DISRUPTION"}],
               "uri": format!("incidents/old{i}")})
    };
    let mut incidents: Vec<Value> = (0..4000).map(old).collect();
    incidents.insert(0, json!({
        "id": "live1", "number": "9999", "begin": at(anchor, -40), "created": at(anchor, -35), "modified": at(anchor, -5),
        "external_desc": "Cloud SQL connection errors", "severity": "high", "status_impact": "SERVICE_DISRUPTION",
        "affected_products": [{"title": "Cloud SQL", "id": "hV87"}],
        "most_recent_update": {"when": at(anchor, -5), "text": "Mitigation in progress.", "status": "SERVICE_DISRUPTION"},
        "updates": [{"created": at(anchor, -5), "when": at(anchor, -5), "text": "Mitigation in progress.", "status": "SERVICE_DISRUPTION"}],
        "uri": "incidents/live1"}));
    let body = serde_json::to_string(&incidents).unwrap();
    assert!(body.len() > 2 * 1024 * 1024, "the history is bigger than what is kept as an artifact");
    let app = Router::new().route("/incidents.json", get(move || async move { body }));
    let url = format!("http://{}", serve(app).await);
    let config = StatusPageConfig {
        format: witness_status_page::Format::Gcp,
        components: vec!["Cloud SQL".into()],
        ..StatusPageConfig::new("gcp", "Google Cloud", url.clone())
    };
    let ctx = ctx_at(anchor);
    let evidence = collect(config, &ctx).await.unwrap();

    assert_eq!(
        evidence.facts["status_page.vendors_degraded"],
        FactValue::from(vec!["Google Cloud"])
    );
    assert_eq!(evidence.facts["status_page.worst_indicator"], FactValue::from("major"));
    assert_eq!(
        evidence.facts["status_page.incident_minutes_before_anchor"],
        FactValue::Float(40.0)
    );
    assert_eq!(evidence.data["incidents"].as_array().unwrap().len(), 1);
    assert!(
        evidence.notes.iter().any(|n| n.starts_with(&format!("{url}/incidents.json ("))
            && n.contains("not kept as an artifact")),
        "{:?}",
        evidence.notes
    );
    assert!(ctx.artifacts.take().is_empty());
}

#[tokio::test]
async fn slack_statusio_and_instatus_pages_are_read_at_their_own_paths() {
    let anchor = anchor();
    let slack = json!({"status": "active", "date_created": at(anchor, -30), "date_updated": at(anchor, -2),
        "active_incidents": [{"id": 1201, "date_created": at(anchor, -30), "date_updated": at(anchor, -2),
            "title": "Some users cannot connect", "type": "incident", "status": "active",
            "url": "https://slack-status.com/2025-11/x", "services": ["Connections"],
            "notes": [{"date_created": at(anchor, -28), "body": "We're looking into it."}]}]});
    let statusio = json!({"result": {"status_overall": {"updated": at(anchor, -1), "status": "Operational", "status_code": 100},
        "status": [{"id": "a", "name": "API", "updated": at(anchor, -1), "status": "Operational", "status_code": 100, "containers": []}],
        "incidents": [], "maintenance": {"active": [], "upcoming": []}}});
    let instatus = json!({"page": {"name": "Acme", "url": "https://status.acme.dev", "status": "UNDERMAINTENANCE"},
        "activeIncidents": [], "activeMaintenances": [{"id": "m1", "name": "Database upgrade",
            "start": at(anchor, -15), "status": "INPROGRESS", "duration": "60", "url": "https://status.acme.dev/m1"}]});
    let app = Router::new()
        .route("/api/v2.0.0/current", get(move || async move { slack.to_string() }))
        .route("/1.0/status/5a1b2c", get(move || async move { statusio.to_string() }))
        .route("/summary.json", get(move || async move { instatus.to_string() }));
    let url = format!("http://{}", serve(app).await);
    let config = |name: &str, vendor: &str, format: witness_status_page::Format| StatusPageConfig {
        format,
        ..StatusPageConfig::new(name, vendor, url.clone())
    };
    use witness_status_page::Format;

    let ctx = ctx_at(anchor);
    let slack = collect(config("slack", "Slack", Format::Slack), &ctx).await.unwrap();
    assert_eq!(slack.facts["status_page.worst_indicator"], FactValue::from("minor"));
    assert_eq!(slack.facts["status_page.incident_minutes_before_anchor"], FactValue::Float(30.0));
    assert_eq!(slack.data["incidents"][0]["components"], json!(["Connections"]));

    let statusio = StatusPageConfig {
        page_id: Some("5a1b2c".into()),
        ..config("sio", "Acme API", Format::Statusio)
    };
    let statusio = collect(statusio, &ctx).await.unwrap();
    assert_eq!(statusio.facts["status_page.degraded"], FactValue::Bool(false));
    assert_eq!(statusio.data["components_seen"], 1);

    let instatus = collect(config("acme", "Acme", Format::Instatus), &ctx).await.unwrap();
    assert_eq!(instatus.facts["status_page.worst_indicator"], FactValue::from("maintenance"));
    assert_eq!(instatus.events[0].kind, "maintenance_started");
}
