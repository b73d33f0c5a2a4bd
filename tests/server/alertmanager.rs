//! A real Alertmanager (`prometheus-alertmanager`, path in `WITNESS_TEST_ALERTMANAGER`
//! or on `PATH`) on 127.0.0.1 with a webhook receiver pointing at a running `witness
//! serve` with bearer auth. An alert posted to Alertmanager's `/api/v2/alerts` becomes a
//! sealed bundle whose trigger carries its labels and fingerprint; the resolved
//! notification that follows is journaled and starts nothing.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};

use super::{
    Daemon, TOKEN, client, config_text, journal_lines, sealed_bundles, trigger_of, wait_for,
    write_config,
};
use crate::util::alertmanager::Alertmanager;

#[tokio::test]
async fn an_alert_through_a_real_alertmanager_is_collected_and_its_resolution_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config_text(dir.path(), ""));
    let store = dir.path().join("store");
    let daemon = Daemon::start(&path);

    let am = Alertmanager::start(dir.path(), &daemon.url("/hooks/alertmanager"), TOKEN).await;
    let am_url = am.url.clone();
    let c = client();

    let starts_at = (Utc::now() - chrono::Duration::minutes(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let labels =
        json!({"alertname": "WitnessCheckout5xx", "service": "checkout", "severity": "critical"});
    let alert = json!([{"labels": labels, "annotations": {"summary": "5xx > 5%"}, "startsAt": starts_at,
                        "generatorURL": "http://prom/graph"}]);
    let r = c.post(format!("{am_url}/api/v2/alerts")).json(&alert).send().await.unwrap();
    assert!(r.status().is_success(), "Alertmanager took the alert: {}", r.status());

    let alerts_url = format!("{am_url}/api/v2/alerts");
    let fingerprint = wait_for(Duration::from_secs(10), "Alertmanager to list the alert", async || {
        let list: Value = c.get(&alerts_url).send().await.ok()?.json().await.ok()?;
        list.as_array()?.iter().find(|a| a["labels"]["alertname"] == "WitnessCheckout5xx")?["fingerprint"]
            .as_str()
            .map(str::to_owned)
    })
    .await;

    let bundle = wait_for(Duration::from_secs(60), "the sealed bundle of the alert", async || {
        sealed_bundles(&store)
            .into_iter()
            .find(|b| trigger_of(b)["fingerprint"] == fingerprint.as_str())
    })
    .await;
    let trigger = trigger_of(&bundle);
    assert_eq!(trigger["source"], "alertmanager");
    assert_eq!(trigger["name"], "WitnessCheckout5xx");
    for (k, v) in labels.as_object().unwrap() {
        assert_eq!(&trigger["labels"][k], v, "label {k}");
    }
    assert_eq!(trigger["starts_at"].as_str().unwrap()[..19], starts_at[..19]);
    assert!(
        trigger["raw"]["groupKey"].as_str().unwrap().contains("WitnessCheckout5xx"),
        "the raw payload is kept"
    );

    // Resolve it: the same labels with endsAt in the past.
    let ends_at = (Utc::now() - chrono::Duration::seconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let resolve = json!([{"labels": labels, "startsAt": starts_at, "endsAt": ends_at, "generatorURL": "http://prom/graph"}]);
    let r = c.post(format!("{am_url}/api/v2/alerts")).json(&resolve).send().await.unwrap();
    assert!(r.status().is_success());
    wait_for(Duration::from_secs(60), "the resolved notification in the journal", async || {
        journal_lines(&store)
            .iter()
            .any(|l| {
                l["action"] == "resolved" && l["trigger"]["fingerprint"] == fingerprint.as_str()
            })
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(sealed_bundles(&store).len(), 1, "the resolved notification started nothing");
    let started = journal_lines(&store).iter().filter(|l| l["action"] == "started").count();
    assert_eq!(started, 1);
    let metrics = c.get(daemon.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics
            .contains(r#"witness_alerts_received_total{source="alertmanager",outcome="resolved"}"#),
        "{metrics}"
    );
}
