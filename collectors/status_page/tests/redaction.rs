//! Secrets a vendor's status page shows (an incident title, an update pasted from a log,
//! a component named after a key) never reach the evidence or the kept documents: each
//! document is redacted as JSON where it is read, before a format parses it. Against a
//! real HTTP server on 127.0.0.1 serving a Statuspage `summary.json` and `incidents.json`.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};
use witness_collector::{CollectContext, CollectorConfig, Window};
use witness_net::seeds;
use witness_net::testing::serve;
use witness_status_page::StatusPageConfig;

#[tokio::test]
async fn secrets_in_incidents_updates_and_components_never_reach_the_evidence() {
    for seed in [5, 6] {
        let mut seeded = seeds::secrets(seed);
        let (fields, field_secrets) = seeds::json_fields(seed);
        let texts: Vec<&str> = seeded.iter().map(|s| s.text.as_str()).collect();
        let anchor = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
        let at = |m: i64| witness_collector::time::format(anchor + chrono::Duration::minutes(m));
        let component =
            json!({"id": "c1", "name": format!("API {}", texts[2]), "status": "major_outage"});
        let extra: Vec<Value> = fields.iter().map(|f| serde_json::from_str(f).unwrap()).collect();
        let incident = json!({
            "id": "i1", "name": format!("Outage: {}", texts[0]), "status": "identified",
            "impact": "major", "created_at": at(-20), "updated_at": at(-5), "started_at": at(-25),
            "resolved_at": null, "shortlink": "https://stspg.io/x", "extra": extra,
            "incident_updates": [
                {"id": "u1", "status": "identified", "body": texts.join("\n"),
                 "created_at": at(-5), "display_at": at(-5), "affected_components": null}
            ],
            "components": [component.clone()]
        });
        let summary = json!({
            "page": {"id": "p", "name": "Vendor", "url": "https://status.vendor.test"},
            "status": {"indicator": "major", "description": texts[3]},
            "components": [component], "incidents": [incident.clone()],
            "scheduled_maintenances": []
        })
        .to_string();
        let recent = json!({"page": {"id": "p"}, "incidents": [incident]}).to_string();
        let app = Router::new()
            .route("/api/v2/summary.json", get(move || async move { summary }))
            .route("/api/v2/incidents.json", get(move || async move { recent }));
        let addr = serve(app).await;
        let mut config = StatusPageConfig::new("vendor", "Vendor", format!("http://{addr}"));
        config.recent_incidents = true;
        let ctx = CollectContext::for_test_at(
            anchor,
            Window::new(anchor - chrono::Duration::minutes(60), anchor),
        );
        let collector = config.build().unwrap();
        let ev = tokio::time::timeout(Duration::from_secs(20), collector.collect(&ctx))
            .await
            .expect("collected within 20 s")
            .expect("evidence");

        assert!(!ev.events.is_empty(), "{:#}", ev.data);
        seeded.extend(field_secrets);
        let everything = seeds::everything(&ev, &ctx);
        assert!(everything.contains("Outage: [REDACTED:"), "{everything}");
        seeds::assert_none_survive("the status page evidence and artifacts", &everything, &seeded);
    }
}
