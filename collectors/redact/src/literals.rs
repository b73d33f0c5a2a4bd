//! Literal secret values (every value read from `*_env`/`*_file` during the run, and the
//! configured literals), found in one pass with Aho-Corasick, in the forms they take in
//! evidence: as is, percent-encoded (in a URL or DSN), JSON-escaped (in a log line that
//! carries JSON) and HTML-escaped (in the HTML report). Every form of one value gets the
//! value's token.

use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};

/// Values shorter than this are not searched for: redacting every `abc` would destroy
/// ordinary evidence. (The `SecretRegistry` keeps the same minimum.)
pub const MIN_LITERAL_CHARS: usize = 4;

/// The passwords inside a secret that is a connection string: the userinfo password of a
/// URL (`postgres://app:pw@db/x`) and the `password=` of a key-value DSN
/// (`host=db password=pw`), percent-decoded. Redacted on their own too: an error message
/// quotes the password, not the DSN.
fn password_parts(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some((_, rest)) = value.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            parts.push(percent_decode(password));
        }
    }
    for pair in value.split_whitespace() {
        if let Some((key, password)) = pair.split_once('=')
            && key.eq_ignore_ascii_case("password")
        {
            parts.push(password.trim_matches(['\'', '"']).to_owned());
        }
    }
    parts.retain(|p| p.chars().count() >= MIN_LITERAL_CHARS);
    parts
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A matcher over every form of every literal.
#[derive(Clone)]
pub(super) struct Literals {
    matcher: Option<AhoCorasick>,
    /// For each pattern of the matcher, the index of the value it is a form of.
    owner: Vec<usize>,
    values: Vec<String>,
}

impl Literals {
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .flat_map(|v| {
                let parts = password_parts(&v);
                std::iter::once(v).chain(parts)
            })
            .filter(|v| v.chars().count() >= MIN_LITERAL_CHARS)
            .collect();
        values.sort();
        values.dedup();
        let mut patterns = Vec::new();
        let mut owner = Vec::new();
        for (i, value) in values.iter().enumerate() {
            let mut forms =
                vec![value.clone(), percent_encode(value), json_escape(value), html_escape(value)];
            forms.sort();
            forms.dedup();
            for form in forms {
                patterns.push(form);
                owner.push(i);
            }
        }
        // Leftmost-longest: a value that contains another is replaced whole.
        let matcher = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("literal patterns of any size build")
        });
        Self { matcher, owner, values }
    }

    /// Whether `value` is one of the literals.
    pub fn contains(&self, value: &str) -> bool {
        self.values.binary_search_by(|v| v.as_str().cmp(value)).is_ok()
    }

    /// Every literal value.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Every occurrence in `text`: its range and the value it is a form of.
    pub fn find<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (Range<usize>, &'t str)> + 't {
        self.matcher.iter().flat_map(move |m| {
            m.find_iter(text).map(|found| {
                (found.range(), self.values[self.owner[found.pattern().as_usize()]].as_str())
            })
        })
    }
}

/// The value as it appears in a URL: everything but unreserved characters escaped.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value as it appears in the HTML report, which escapes evidence before redaction.
fn html_escape(value: &str) -> String {
    crate::escape_html(value)
}

/// The value as it appears inside a JSON string.
fn json_escape(value: &str) -> String {
    let quoted = serde_json::to_string(value).unwrap_or_default();
    quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_value_is_found_and_short_values_are_ignored() {
        let literals = Literals::new(["p@ss\"w/rd".to_owned(), "abc".to_owned()]);
        let text = r#"url=pg://u:p%40ss%22w%2Frd@h json={"pw":"p@ss\"w/rd"} raw=p@ss"w/rd abc"#;
        let found: Vec<_> = literals.find(text).map(|(r, v)| (&text[r], v)).collect();
        assert_eq!(
            found,
            [
                ("p%40ss%22w%2Frd", "p@ss\"w/rd"),
                (r#"p@ss\"w/rd"#, "p@ss\"w/rd"),
                ("p@ss\"w/rd", "p@ss\"w/rd")
            ]
        );
    }
}
