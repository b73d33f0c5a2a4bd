//! What the `prometheus` kind reads from the world: an alert's `generatorURL` (Prometheus
//! `g0.expr` links, Grafana Explore and rule links) and the condition split off its
//! expression, a configured query filled in from an alert's labels, and the answers of
//! Prometheus (`query_range`) and Grafana (a provisioned rule). Any input gets a value or an
//! error, never a panic, and a label's value filled into a string never ends that string.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use witness_prometheus::expr::{self, Condition};
use witness_prometheus::{api, grafana, template};

// Input: a generatorURL line, a label value line, then a JSON answer.
fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    let mut parts = text.splitn(3, '\n');
    let (url, label) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let body = parts.next().unwrap_or("").as_bytes();
    if let Some((expr, _)) = expr::from_generator_url(url) {
        let _ = Condition::split(&expr);
    }
    let _ = expr::grafana_rule_uid(url);
    let _ = Condition::split(url);

    let labels = BTreeMap::from([("service".to_owned(), label.to_owned())]);
    for query in [r#"up{service="{service}"}"#, r#"up{service=~"{service}"}"#] {
        if let Ok(filled) = template::render(query, &labels) {
            let open = filled.find('"').expect("the query's own quote") + 1;
            assert_eq!(template::string_end(&filled, open), Some(filled.len() - 2), "{filled}");
        }
    }
    let _ = template::render(url, &labels);
    let _ = template::labels(url);

    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        let _ = api::matrix(&value, body.len());
        let _ = grafana::rule_query(&value);
    }
});
