//! The built-in redaction rules, each with an id that names it in the manifest's counts.

use regex::Regex;

/// Ids of the built-in rules, for documentation and `witness show`.
pub const BUILTIN_RULE_IDS: &[&str] =
    &["url_credentials", "authorization_header", "key_value_secret"];

/// A pattern whose group `secret` (or whole match) is replaced by a token.
pub(super) struct Rule {
    pub id: &'static str,
    regex: Regex,
}

impl Rule {
    fn builtin(id: &'static str, pattern: &str) -> Self {
        Self { id, regex: Regex::new(pattern).expect("built-in redaction patterns compile") }
    }

    pub fn custom(regex: Regex) -> Self {
        Self { id: "custom", regex }
    }

    /// `text` with every match's secret replaced by `token(secret)`, or `None` when nothing
    /// matched.
    pub fn apply(&self, text: &str, mut token: impl FnMut(&str) -> String) -> Option<String> {
        if !self.regex.is_match(text) {
            return None;
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut changed = false;
        for caps in self.regex.captures_iter(text) {
            let m = caps.name("secret").unwrap_or_else(|| caps.get(0).expect("group 0 exists"));
            if m.as_str().is_empty() || m.as_str().starts_with("[REDACTED:") {
                continue;
            }
            out.push_str(&text[last..m.start()]);
            out.push_str(&token(m.as_str()));
            last = m.end();
            changed = true;
        }
        out.push_str(&text[last..]);
        changed.then_some(out)
    }
}

pub(super) fn builtin_rules() -> Vec<Rule> {
    vec![
        // scheme://user:password@host — DSNs and URLs.
        Rule::builtin(
            "url_credentials",
            r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<secret>[^\s@/]+)@",
        ),
        // Authorization: Bearer xyz / Authorization: Basic xyz
        Rule::builtin(
            "authorization_header",
            r"(?i)\b(?:proxy-)?authorization\s*[:=]\s*(?:(?:bearer|basic|token|digest)\s+)?(?P<secret>[^\s,;]+)",
        ),
        // password=xyz, "password": "xyz", pwd: xyz
        Rule::builtin(
            "key_value_secret",
            r#"(?i)\b(?:password|passwd|pwd|secret|token|api_key|apikey)\b["']?\s*[:=]\s*["']?(?P<secret>[^\s"'&,;]+)"#,
        ),
    ]
}

/// Whether a JSON object key names a secret, whose whole value is redacted.
pub(super) fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "authorization", "cookie"]
        .iter()
        .any(|s| key == *s || key.ends_with(&format!("_{s}")) || key.ends_with(&format!("-{s}")))
}
