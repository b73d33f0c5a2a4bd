//! Every object read from the API server is redacted before the collector looks at it:
//! event messages and reasons, container commands, args and environment, annotations and
//! labels (their keys too), images, condition messages. [`crate::api::Cluster`] passes each object through
//! [`redact_object`] as it arrives, so no later step (a summary, a timeline title, an
//! artifact) can see a secret first.
//!
//! The object is walked as JSON and only strings change, so it still reads back as its
//! Kubernetes type. Each string is redacted beside its key (`redact_pair`), so a value
//! under a secret-named key (an annotation `db-password`, a label `api_token`) goes whole;
//! an environment variable's `value` beside its `name` (`{"name": "DB_PASSWORD", "value":
//! …}`); in a command or its args, the item after a flag naming a secret (`["--db-password",
//! "…"]`) beside the flag.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use witness_collector::Redactor;

/// `object` with every string redacted as described in the module doc.
///
/// # Errors
/// When the redacted object no longer reads as `K` (a redaction inside a value the type
/// parses, such as a time): the object is then not used at all.
pub fn redact_object<K: Serialize + DeserializeOwned>(
    object: &K,
    redactor: &Redactor,
) -> Result<K, serde_json::Error> {
    let mut value = serde_json::to_value(object)?;
    redact_value(&mut value, None, redactor);
    serde_json::from_value(value)
}

/// Redacts the strings of `value`, which sits under `key` (none at the top).
fn redact_value(value: &mut Value, key: Option<&str>, redactor: &Redactor) {
    match value {
        Value::String(text) => {
            let redacted = match key {
                Some(key) => redactor.redact_pair(key, text),
                None => redactor.redact(text),
            };
            if redacted.as_str() != text.as_str() {
                *text = redacted.into_string();
            }
        }
        Value::Array(items) => {
            if matches!(key, Some("args" | "command")) {
                redact_flag_values(items, redactor);
            }
            items.iter_mut().for_each(|item| redact_value(item, key, redactor));
        }
        Value::Object(map) => {
            // Keys are text too (a label or annotation key can quote a secret).
            if map.keys().any(|k| redactor.redact(k).as_str() != k.as_str()) {
                let entries = std::mem::take(map);
                for (k, v) in entries {
                    map.insert(redactor.redact(&k).into_string(), v);
                }
            }
            let name = map.get("name").and_then(Value::as_str).map(str::to_owned);
            for (k, v) in map.iter_mut() {
                let key = match (&name, k.as_str()) {
                    (Some(name), "value") => name.as_str(),
                    _ => k.as_str(),
                };
                redact_value(v, Some(key), redactor);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// In an argument vector, the item after a bare flag (`--db-password`, `-token`) is
/// redacted beside the flag's name: a secret-named flag takes its value whole.
fn redact_flag_values(items: &mut [Value], redactor: &Redactor) {
    for i in 1..items.len() {
        let Some(flag) = items[i - 1].as_str().filter(|f| f.starts_with('-') && !f.contains('='))
        else {
            continue;
        };
        let flag = flag.trim_start_matches('-').to_owned();
        if let Value::String(text) = &mut items[i] {
            let redacted = redactor.redact_pair(&flag, text);
            if redacted.as_str() != text.as_str() {
                *text = redacted.into_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    #[test]
    fn a_pod_keeps_its_type_and_loses_its_secrets() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "creationTimestamp": "2025-11-19T21:00:00Z",
                "labels": {"app": "web", "api_token": "label-secret-1234",
                    "ghp_0123456789abcdefghijABCDEFGHIJ0123456789": "key-is-a-token"},
                "annotations": {"db-password": "annotation-secret-1234", "note": "see password=note-secret-1234"}},
            "spec": {"containers": [{"name": "web", "image": "registry.example.com/web:1.0",
                "command": ["/app", "--db-password", "flag-secret-1234", "--token=inline-secret-1234"],
                "env": [{"name": "DB_PASSWORD", "value": "env-secret-1234"}, {"name": "PORT", "value": "8080"}]}]}
        }))
        .unwrap();
        let redacted = redact_object(&pod, &Redactor::builtin()).unwrap();
        let text = serde_json::to_string(&redacted).unwrap();
        for secret in ["label-secret", "annotation-secret", "note-secret", "flag-secret", "inline-secret", "env-secret", "0123456789abcdefghij"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        let container = &redacted.spec.unwrap().containers[0];
        assert_eq!(container.image.as_deref(), Some("registry.example.com/web:1.0"));
        assert_eq!(container.env.as_ref().unwrap()[1].value.as_deref(), Some("8080"));
        assert_eq!(container.command.as_ref().unwrap()[1], "--db-password");
        assert!(redacted.metadata.creation_timestamp.is_some());
    }
}
