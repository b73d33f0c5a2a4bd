//! The one redaction step every string passes through before it is written into a bundle:
//! evidence, raw artifacts, the trigger's payload, timeline, hypotheses and reports.
//!
//! A secret becomes a stable token, `[REDACTED:<rule>:<4 hex>]`: the hex is a keyed hash of
//! the value with a per-bundle key that is never stored, so within one bundle the same
//! secret always gives the same token (a responder can see "the same key appears in both
//! places") while nothing about the value leaves. The manifest records counts per rule,
//! never values.

mod rules;

pub use rules::BUILTIN_RULE_IDS;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use regex::Regex;
use serde::Deserialize;
use sha2::Sha256;

use rules::{Rule, builtin_rules, is_sensitive_key};

/// `[redaction]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    /// Extra patterns to redact: each regex's whole match (or its group named `secret`,
    /// when it has one) is replaced.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Literal values to redact wherever they appear (read from the environment or files
    /// with `literal_envs` / `literal_files` instead of writing them here).
    #[serde(default)]
    pub literal_envs: Vec<String>,
    /// Files whose contents (trimmed) are redacted wherever they appear.
    #[serde(default)]
    pub literal_files: Vec<std::path::PathBuf>,
}

impl RedactionConfig {
    /// Every problem, each with its key relative to `[redaction]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        self.patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                Regex::new(p)
                    .err()
                    .map(|e| (format!("patterns[{i}]"), format!("not a valid regex: {e}")))
            })
            .collect()
    }

    /// The literal values named by `literal_envs` and `literal_files` that can be read.
    pub fn literals(&self) -> Vec<String> {
        let envs = self.literal_envs.iter().filter_map(|name| std::env::var(name).ok());
        let files = self
            .literal_files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .map(|s| s.trim().to_owned());
        envs.chain(files).filter(|v| v.len() >= 4).collect()
    }
}

/// A redaction engine for one bundle.
pub struct Redactor {
    rules: Vec<Rule>,
    literals: Vec<String>,
    key: [u8; 32],
    counts: Mutex<BTreeMap<String, u64>>,
}

impl Redactor {
    /// A redactor with the built-in rules, the configured patterns and `literals` (secret
    /// values read while collecting), with a fresh per-bundle key.
    ///
    /// # Errors
    /// When a configured pattern does not compile (config validation reports it first).
    pub fn new(config: &RedactionConfig, literals: Vec<String>) -> Result<Self, regex::Error> {
        let mut rules = builtin_rules();
        for pattern in &config.patterns {
            rules.push(Rule::custom(Regex::new(pattern)?));
        }
        let mut literals: Vec<String> = literals.into_iter().chain(config.literals()).collect();
        // Longest first, so a value that contains another is replaced whole.
        literals.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        literals.dedup();
        Ok(Self { rules, literals, key: rand::random(), counts: Mutex::default() })
    }

    /// The stable token for `value` found by `rule`.
    fn token(&self, rule: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("[REDACTED:{rule}:{}]", hex::encode(&digest[..2]))
    }

    fn count(&self, rule: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(rule.to_owned())
            .or_default() += 1;
    }

    /// `text` with every secret replaced by its token.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for literal in &self.literals {
            if out.contains(literal.as_str()) {
                let n = out.matches(literal.as_str()).count() as u64;
                let token = self.token("literal", literal);
                out = Cow::Owned(out.replace(literal.as_str(), &token));
                *self
                    .counts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry("literal".into())
                    .or_default() += n;
            }
        }
        for rule in &self.rules {
            if let Some(replaced) = rule.apply(&out, |value| {
                self.count(rule.id);
                self.token(rule.id, value)
            }) {
                out = Cow::Owned(replaced);
            }
        }
        out
    }

    /// Redacts every string of `value` in place; values under sensitive keys (`password`,
    /// `token`, `authorization`, ...) are replaced whole.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(redacted) = self.redact_text(s) {
                    *s = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match v {
                        Value::String(s)
                            if is_sensitive_key(key)
                                && !s.is_empty()
                                && !s.starts_with("[REDACTED:") =>
                        {
                            self.count("sensitive_key");
                            *s = self.token("sensitive_key", s);
                        }
                        Value::Number(n) if is_sensitive_key(key) => {
                            self.count("sensitive_key");
                            *v = Value::String(self.token("sensitive_key", &n.to_string()));
                        }
                        _ => self.redact_json(v),
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// How many values each rule replaced so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&RedactionConfig::default(), vec!["s3cr3t-literal".into()]).unwrap()
    }

    #[test]
    fn the_same_secret_gets_the_same_token_and_counts_are_kept() {
        let r = redactor();
        let a = r.redact_text("postgres://app:hunter22@db:5432/x");
        let b = r.redact_text("retry postgres://app:hunter22@db:5432/x");
        assert!(!a.contains("hunter22") && !b.contains("hunter22"), "{a} {b}");
        let token = a.split("app:").nth(1).unwrap().split('@').next().unwrap().to_owned();
        assert!(token.starts_with("[REDACTED:url_credentials:"), "{a}");
        assert!(b.contains(&token));
        assert_eq!(r.counts()["url_credentials"], 2);
    }

    #[test]
    fn literals_and_sensitive_json_keys_are_redacted() {
        let r = redactor();
        let mut v = serde_json::json!({"msg": "token is s3cr3t-literal", "nested": {"Password": "pw1234", "n": 5}});
        r.redact_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains("s3cr3t-literal") && !text.contains("pw1234"), "{text}");
        assert_eq!(v["nested"]["n"], 5);
    }

    #[test]
    fn ordinary_evidence_is_untouched() {
        let r = redactor();
        for line in [
            "2025-11-19T21:00:00.123Z ERROR pid=4242 GET /api/orders/17 status=503 in 1234ms",
            "commit 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49 rolled out revision 41",
            "Nov 19 21:00:00 web-1 kernel: Out of memory: Killed process 1234 (java)",
        ] {
            assert_eq!(r.redact_text(line), line);
        }
        assert!(r.counts().is_empty());
    }
}
