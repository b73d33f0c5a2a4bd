//! Redaction of JSON values: every string (keys too) goes through the text rules, and a
//! value whose key says it is secret is replaced whole, at any depth and in any case:
//! `{"password": ...}`, `{"dbPassword": ...}`, `{"headers": {"Authorization": ...}}`, and
//! the `value` of a `{"name": "DB_PASSWORD", "value": ...}` pair (Kubernetes environment
//! variables, HAR headers). SQL in query fields is normalized when configured.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::keys::sensitive_key;
use super::{Redactor, is_token, sql};

/// Keys whose string values are SQL query text.
const QUERY_KEYS: &[&str] = &["query", "query_text", "statement", "sql", "last_query"];

impl Redactor {
    /// Redacts every string of `value` in place; values under sensitive keys (`password`,
    /// `token`, `authorization`, ...) are replaced whole.
    pub fn redact_json(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.redact_string(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => self.redact_object(map),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn redact_string(&self, s: &mut String) {
        if let Cow::Owned(redacted) = self.redact_text(s) {
            *s = redacted;
        }
    }

    fn redact_object(&self, map: &mut Map<String, Value>) {
        // `{"name": "DB_PASSWORD", "value": "..."}`: the name says what the value is.
        let pair_name = ["name", "key"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str))
            .map(str::to_owned);
        if map.keys().any(|k| self.redact_text(k) != k.as_str()) {
            let entries = std::mem::take(map);
            for (k, v) in entries {
                map.insert(self.redact_text(&k).into_owned(), v);
            }
        }
        // A Kubernetes Secret: every value of its `data` and `stringData`, whatever its key.
        let secret_object = map
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("secret"));
        for (key, v) in map.iter_mut() {
            if secret_object && matches!(key.as_str(), "data" | "stringData") {
                self.redact_secret_data(v);
                continue;
            }
            let scalar = match &*v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let rule = scalar.as_deref().and_then(|value| {
                sensitive_key(key, value).or_else(|| {
                    let name = pair_name.as_deref().filter(|_| key == "value")?;
                    sensitive_key(name, value)
                })
            });
            // A key that names a secret whatever its value holds (`password`,
            // `credentials`, `client_secret`) takes an array or object whole.
            let compound = matches!(v, Value::Array(_) | Value::Object(_));
            let rule = rule.or_else(|| compound.then(|| sensitive_key(key, "x")).flatten());
            match (rule, v) {
                (Some(rule), v @ (Value::Array(_) | Value::Object(_))) => {
                    if !is_empty_container(v) {
                        self.count(rule, 1);
                        *v = Value::String(self.token(rule, &v.to_string()));
                    }
                }
                (Some(rule), Value::String(s)) if !s.is_empty() && !is_token(s) => {
                    self.count(rule, 1);
                    *s = self.token(rule, s);
                }
                (Some(rule), v @ Value::Number(_)) => {
                    self.count(rule, 1);
                    *v = Value::String(self.token(rule, &v.to_string()));
                }
                (None, Value::String(s))
                    if self.normalize_query_literals
                        && QUERY_KEYS.contains(&key.to_ascii_lowercase().as_str())
                        && sql::looks_like_sql(s) =>
                {
                    if let Cow::Owned(normalized) = sql::normalize_sql_literals(s) {
                        *s = normalized;
                    }
                    self.redact_string(s);
                }
                (_, v) => self.redact_json(v),
            }
        }
    }
}

impl Redactor {
    /// The `data` map of a Secret: each non-empty value replaced whole.
    fn redact_secret_data(&self, data: &mut Value) {
        let Value::Object(entries) = data else { return self.redact_json(data) };
        for v in entries.values_mut() {
            match v {
                Value::String(s) if s.is_empty() || is_token(s) => {}
                Value::Null => {}
                v => {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    self.count("key_value_secret", 1);
                    *v = Value::String(self.token("key_value_secret", &text));
                }
            }
        }
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::RedactionConfig;
    use super::*;

    fn redactor(normalize: bool) -> Redactor {
        let config =
            RedactionConfig { normalize_query_literals: normalize, ..RedactionConfig::default() };
        Redactor::new(&config, vec!["s3cr3t-literal".into()]).unwrap()
    }

    #[test]
    fn every_value_of_a_kubernetes_secrets_data_is_redacted_and_a_config_maps_is_not() {
        let r = redactor(false);
        let mut v = json!({"items": [
            {"kind": "Secret", "metadata": {"name": "db"},
             "data": {"host": "ZGIuaW50ZXJuYWw=", "empty": ""},
             "stringData": {"config.yaml": "user: app"}},
            {"kind": "ConfigMap", "data": {"host": "db.internal"}},
        ]});
        r.redact_json(&mut v);
        let secret = &v["items"][0];
        assert!(is_token(secret["data"]["host"].as_str().unwrap()), "{v}");
        assert_eq!(secret["data"]["empty"], "");
        assert!(is_token(secret["stringData"]["config.yaml"].as_str().unwrap()), "{v}");
        assert_eq!(secret["metadata"]["name"], "db");
        assert_eq!(v["items"][1]["data"]["host"], "db.internal");
    }

    #[test]
    fn sensitive_keys_literals_and_pairs_are_redacted_at_any_depth() {
        let r = redactor(false);
        let mut v = json!({
            "msg": "token is s3cr3t-literal",
            "nested": [{"dbPassword": "pw1234", "n": 5, "PIN_TOKEN": 1234}],
            "env": [{"name": "DB_PASSWORD", "value": "envpw99"}, {"name": "PORT", "value": "5432"}],
            "headers": {"Authorization": "Basic dXNlcjpwYXNz"},
            "Bearer abcdefgh12345": "a key that is a secret",
        });
        r.redact_json(&mut v);
        let text = v.to_string();
        for secret in
            ["s3cr3t-literal", "pw1234", "1234,", "envpw99", "dXNlcjpwYXNz", "abcdefgh12345"]
        {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(v["nested"][0]["n"], 5);
        assert_eq!(v["env"][1]["value"], "5432");
        let counts = r.counts();
        assert_eq!(counts["key_value_secret"], 3, "{counts:?}");
        assert_eq!(counts["http_header"], 1, "{counts:?}");
    }

    #[test]
    fn a_secret_named_key_takes_an_array_or_object_whole() {
        let r = redactor(false);
        let mut v = json!({
            "client_secret": ["first-Secret-value-1", "second-Secret-value-2"],
            "credentials": {"user": "app", "pass": "plain words"},
            "db": {"password": {"current": "nested-pw-77"}},
            "tags": ["prod", "eu"],
            "secrets": [],
        });
        r.redact_json(&mut v);
        let text = v.to_string();
        for secret in ["first-Secret", "second-Secret", "plain words", "nested-pw-77", "\"app\""] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(v["tags"], json!(["prod", "eu"]));
        assert_eq!(v["secrets"], json!([]));
        assert!(is_token(v["credentials"].as_str().unwrap()), "{text}");
    }

    #[test]
    fn query_text_is_normalized_only_when_asked_and_only_when_it_is_sql() {
        let mut v = json!({"query": "SELECT 1 FROM t WHERE email = 'ann@example.com'", "url": {"query": "page=2"}});
        redactor(true).redact_json(&mut v);
        assert_eq!(v["query"], "SELECT $1 FROM t WHERE email = $2");
        assert_eq!(v["url"]["query"], "page=2");
        let mut kept = json!({"query": "SELECT 1"});
        redactor(false).redact_json(&mut kept);
        assert_eq!(kept["query"], "SELECT 1");
    }
}
