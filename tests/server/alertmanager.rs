//! A real Alertmanager (`prometheus-alertmanager`, path in `WITNESS_TEST_ALERTMANAGER`
//! or on `PATH`) on 127.0.0.1 with a webhook receiver pointing at a running `witness
//! serve` with bearer auth. An alert posted to Alertmanager's `/api/v2/alerts` becomes a
//! sealed bundle whose trigger carries its labels and fingerprint; with follow-ups off,
//! the resolved notification that follows is journaled and starts nothing (with them on,
//! see [`super::follow_up`]). [`Alertmanager`] is shared with those tests.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    Daemon, TOKEN, client, config_text, journal_lines, sealed_bundles, trigger_of, wait_for,
    write_config,
};
use crate::util::alertmanager::Alertmanager;

impl Alertmanager {
    /// Posts one alert with `labels` that started at `starts_at` (and, to resolve it,
    /// ended at `ends_at`), as Prometheus would.
    pub async fn post(&self, labels: &Value, starts_at: &str, ends_at: Option<&str>) {
        let mut alert = json!({"labels": labels, "annotations": {"summary": "5xx > 5%"},
                               "startsAt": starts_at, "generatorURL": "http://prom/graph"});
        if let Some(ends_at) = ends_at {
            alert["endsAt"] = json!(ends_at);
        }
        let r = client()
            .post(format!("{}/api/v2/alerts", self.url))
            .json(&json!([alert]))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "Alertmanager took the alert: {}", r.status());
    }

    /// The fingerprint Alertmanager gave the alert named `alertname`, once it lists it.
    pub async fn fingerprint(&self, alertname: &str) -> String {
        let c = client();
        let alerts_url = format!("{}/api/v2/alerts", self.url);
        wait_for(Duration::from_secs(10), "Alertmanager to list the alert", async || {
            let list: Value = c.get(&alerts_url).send().await.ok()?.json().await.ok()?;
            list.as_array()?.iter().find(|a| a["labels"]["alertname"] == alertname)?["fingerprint"]
                .as_str()
                .map(str::to_owned)
        })
        .await
    }
}

/// `t` as Alertmanager's API takes it.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn an_alert_through_a_real_alertmanager_is_collected_and_with_follow_ups_off_its_resolution_starts_nothing()
 {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("{}\n[follow_up]\non_resolve = false\n", config_text(dir.path(), ""));
    let path = write_config(dir.path(), &text);
    let store = dir.path().join("store");
    let daemon = Daemon::start(&path);

    let am = Alertmanager::start(dir.path(), &daemon.url("/hooks/alertmanager"), TOKEN).await;
    let c = client();

    let starts_at = rfc3339(Utc::now() - chrono::Duration::minutes(1));
    let labels =
        json!({"alertname": "WitnessCheckout5xx", "service": "checkout", "severity": "critical"});
    am.post(&labels, &starts_at, None).await;
    let fingerprint = am.fingerprint("WitnessCheckout5xx").await;

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
    let ends_at = rfc3339(Utc::now() - chrono::Duration::seconds(1));
    am.post(&labels, &starts_at, Some(&ends_at)).await;
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
