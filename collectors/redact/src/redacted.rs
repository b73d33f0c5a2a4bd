//! [`Redacted`]: text that has passed through the redactor, or that witness wrote itself.
//! Every transform of evidence text (a signature's normalisation, a cut to a length, a
//! query's literals made parameters, Markdown and HTML escaping) takes and gives this
//! type, so a transform can never see a secret the redactor would have found whole:
//! redaction comes first by construction.

use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use super::TOKEN;

/// Redacted text. Made by [`crate::Redactor::redact`], or by [`Redacted::generated`] for
/// text witness composes itself (numbers, names of its own enums, sentences around
/// already-redacted parts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Redacted(pub(crate) String);

impl Redacted {
    /// Text witness wrote itself, holding nothing it read: a count, an enum's name, a
    /// sentence whose variable parts are already [`Redacted`].
    pub fn generated(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// A transform of redacted text (normalising it into a signature, escaping it): what
    /// it gives is made only of what was already redacted, so it stays [`Redacted`].
    #[must_use]
    pub fn map(&self, transform: impl FnOnce(&str) -> String) -> Self {
        Self(transform(&self.0))
    }

    /// At most `max_bytes` bytes of the text, cut on a character boundary and never
    /// inside a redaction token: a token the cut would split is left out whole (the whole
    /// secret was redacted before the cut, so no fragment of it can remain).
    #[must_use]
    pub fn truncate(&self, max_bytes: usize) -> Self {
        Self(self.0[..cut_at(&self.0, max_bytes)].to_owned())
    }

    /// Whether [`Redacted::truncate`] to `max_bytes` would cut anything.
    pub fn is_longer_than(&self, max_bytes: usize) -> bool {
        self.0.len() > max_bytes
    }
}

/// Where to cut `text` to at most `max_bytes` bytes: on a character boundary, and before
/// a token the cut would split.
pub fn cut_at(text: &str, max_bytes: usize) -> usize {
    if text.len() <= max_bytes {
        return text.len();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // A token starting within the longest token's length before the cut may straddle it.
    let from = end.saturating_sub(MAX_TOKEN_BYTES);
    let from = (from..=end).find(|i| text.is_char_boundary(*i)).unwrap_or(end);
    if let Some(token) = TOKEN
        .find_iter(&text[from..])
        .map(|m| (from + m.start(), from + m.end()))
        .find(|(start, stop)| *start < end && *stop > end)
    {
        end = token.0;
    }
    end
}

/// A token is `[REDACTED:<rule>:<4 hex>]`; rule ids are short.
const MAX_TOKEN_BYTES: usize = 96;

impl Deref for Redacted {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Redacted {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Redacted> for String {
    fn from(r: Redacted) -> String {
        r.0
    }
}

#[cfg(test)]
mod tests {
    use crate::Redactor;

    #[test]
    fn a_cut_never_splits_a_token_nor_leaves_a_fragment_of_the_secret() {
        let r = Redactor::builtin();
        let line = "login ok token=ghp_0123456789abcdefghijABCDEFGHIJ0123456789 user=ann";
        let redacted = r.redact(line);
        assert!(!redacted.contains("ghp_"), "{redacted}");
        let start = redacted.find("[REDACTED").unwrap();
        for max in 0..redacted.len() + 4 {
            let cut = redacted.truncate(max);
            assert!(cut.len() <= max, "{max}: {cut}");
            let opened = cut.matches("[REDACTED").count();
            let closed = cut.matches(']').count();
            assert_eq!(opened, closed, "a token was cut at {max}: {cut}");
            if max >= start {
                assert!(cut.len() >= start, "text before the token was lost at {max}: {cut}");
            }
        }
    }

    #[test]
    fn a_cut_respects_characters() {
        let text = super::Redacted::generated("ééé");
        assert_eq!(text.truncate(3).as_str(), "é");
        assert_eq!(text.truncate(100).as_str(), "ééé");
    }
}
