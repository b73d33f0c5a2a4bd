//! The redaction engine and the SQL literal normalizer on any text: no panic, and
//! redacting twice changes nothing more — as plain text, as JSON, as rendered Markdown and
//! HTML (read through their escaping), and cut to any length.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use witness::redact::{Escaping, RedactionConfig, Redactor, normalize_sql_literals};

static REDACTOR: LazyLock<Redactor> = LazyLock::new(|| {
    let config = RedactionConfig {
        emails: true,
        ip_addresses: true,
        normalize_query_literals: true,
        ..RedactionConfig::default()
    };
    Redactor::new(&config, vec!["hunter2-literal".into(), "p@ss\"w/rd&<x>".into()])
        .expect("the built-in rules compile")
});

fuzz_target!(|text: &str| {
    let once = REDACTOR.redact_text(text).into_owned();
    assert_eq!(REDACTOR.redact_text(&once), once, "redaction is idempotent");
    let _ = normalize_sql_literals(text);
    for escaping in [Escaping::Markdown, Escaping::Html] {
        let rendered = REDACTOR.redact_rendered(text, escaping).into_owned();
        assert_eq!(REDACTOR.redact_rendered(&rendered, escaping), rendered, "{escaping:?}");
    }
    let redacted = REDACTOR.redact(text);
    let cut = redacted.truncate(text.len() / 2);
    assert!(cut.len() <= text.len() / 2 && redacted.starts_with(cut.as_str()));
    if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
        REDACTOR.redact_json(&mut value);
        let first = value.clone();
        REDACTOR.redact_json(&mut value);
        assert_eq!(value, first, "JSON redaction is idempotent");
    }
});
