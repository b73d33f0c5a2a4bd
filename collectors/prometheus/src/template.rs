//! `{label}` templating of configured queries from the alert's labels:
//! `sum(rate(http_requests_total{service="{service}"}[5m]))` for an alert labelled
//! `service=checkout` runs `sum(rate(http_requests_total{service="checkout"}[5m]))`.
//!
//! A placeholder is a label name between braces with nothing else in them, which is never
//! valid PromQL, so a query's own label matchers (`{service="x"}`) are left alone. The
//! values come from an alert, which anybody who can post to a webhook controls, so they are
//! escaped for where they land: inside a string literal as the literal's quoting demands
//! (and, after `=~` / `!~`, with regex metacharacters escaped too: the value matches
//! itself, not a pattern); outside one only a plain word is taken.

use std::collections::BTreeMap;

/// Why a query could not be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The run has no such label (neither the alert nor `--label` gave it).
    #[error("needs the label `{0}`, which this run does not have")]
    MissingLabel(String),
    /// The label's value cannot be put where the placeholder stands.
    #[error("the value of label `{label}` cannot be used {place}")]
    Unsafe { label: String, place: &'static str },
}

/// Where a placeholder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Outside any string literal.
    Bare,
    /// Inside a string literal opened by this quote; `regex` after `=~` or `!~`.
    Quoted { quote: char, regex: bool },
}

/// One piece of a query: text as written, or a placeholder.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Text(&'a str),
    Label { name: &'a str, place: Place },
}

/// The label names a query's placeholders use, in order of first use.
pub fn labels(query: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for piece in pieces(query) {
        if let Piece::Label { name, .. } = piece
            && !names.contains(&name)
        {
            names.push(name);
        }
    }
    names
}

/// `query` with every placeholder replaced by its label's value, escaped for its place.
///
/// # Errors
/// A [`TemplateError`] naming the first label that is missing or whose value cannot be
/// used where it stands.
pub fn render(query: &str, labels: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(query.len());
    for piece in pieces(query) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Label { name, place } => {
                let value =
                    labels.get(name).ok_or_else(|| TemplateError::MissingLabel(name.to_owned()))?;
                let unsafe_here = |place| TemplateError::Unsafe { label: name.to_owned(), place };
                match place {
                    Place::Bare => {
                        let word = |c: char| c.is_ascii_alphanumeric() || "_:.".contains(c);
                        let plain = !value.is_empty() && value.chars().all(word);
                        if !plain {
                            return Err(unsafe_here(
                                "outside quotes (only letters, digits, `_`, `:` and `.` are)",
                            ));
                        }
                        out.push_str(value);
                    }
                    Place::Quoted { quote, regex } => {
                        let value = if regex { regex_escape(value) } else { value.clone() };
                        if value.chars().any(char::is_control) {
                            return Err(unsafe_here("in a string (it holds a control character)"));
                        }
                        if quote == '`' {
                            if value.contains('`') {
                                return Err(unsafe_here("in a raw string (it holds a backtick)"));
                            }
                            out.push_str(&value);
                        } else {
                            for c in value.chars() {
                                if c == '\\' || c == quote {
                                    out.push('\\');
                                }
                                out.push(c);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// RE2 metacharacters escaped, so the value matches only itself.
fn regex_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The length of a placeholder (`{name}`) at the start of `text`, with its name.
fn placeholder(text: &str) -> Option<(usize, &str)> {
    let rest = text.strip_prefix('{')?;
    let end = rest.find('}')?;
    let name = &rest[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some((end + 2, name))
}

/// Splits `query` into text and placeholders, knowing which string literal each
/// placeholder stands in.
fn pieces(query: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut place = Place::Bare;
    let mut escaped = false;
    let mut i = 0;
    while i < query.len() {
        let rest = &query[i..];
        let c = rest.chars().next().unwrap_or_default();
        if let Some((len, name)) = placeholder(rest) {
            if text_start < i {
                pieces.push(Piece::Text(&query[text_start..i]));
            }
            pieces.push(Piece::Label { name, place });
            i += len;
            text_start = i;
            escaped = false;
            continue;
        }
        match place {
            Place::Bare if matches!(c, '"' | '\'' | '`') => {
                let before = query[..i].trim_end();
                let regex = before.ends_with("=~") || before.ends_with("!~");
                place = Place::Quoted { quote: c, regex };
            }
            Place::Quoted { quote, .. } => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && quote != '`' {
                    escaped = true;
                } else if c == quote {
                    place = Place::Bare;
                }
            }
            Place::Bare => {}
        }
        i += c.len_utf8();
    }
    if text_start < query.len() {
        pieces.push(Piece::Text(&query[text_start..]));
    }
    pieces
}

/// Where the double-quoted string literal opening just before `start` ends (the index of
/// its closing `"`), backslash escapes honoured: how PromQL reads a filled-in value, for
/// the checks that no value ends its string (tests and the fuzz target).
pub fn string_end(text: &str, start: usize) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(start + i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn placeholders_are_filled_and_matchers_left_alone() {
        let query = r#"sum(rate(http_requests_total{service="{service}", code=~"5.."}[{range}]))"#;
        assert_eq!(labels(query), ["service", "range"]);
        let filled =
            render(query, &labels_of(&[("service", "checkout"), ("range", "5m")])).unwrap();
        assert_eq!(filled, r#"sum(rate(http_requests_total{service="checkout", code=~"5.."}[5m]))"#);
    }

    #[test]
    fn a_value_cannot_break_out_of_its_string() {
        let query = r#"up{service="{service}"} or up{job='{service}'} or up{x=`{service}`}"#;
        let hostile = labels_of(&[("service", r#"a"} or vector(1) or up{b="\"#)]);
        let filled = render(r#"up{service="{service}"}"#, &hostile).unwrap();
        assert_eq!(filled, r#"up{service="a\"} or vector(1) or up{b=\"\\"}"#);
        let err = render(query, &labels_of(&[("service", "a`b")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the value of label `service` cannot be used in a raw string (it holds a backtick)"
        );
        let single = render("up{job='{service}'}", &labels_of(&[("service", "it's")])).unwrap();
        assert_eq!(single, r"up{job='it\'s'}");
    }

    #[test]
    fn no_value_ends_the_string_it_is_filled_into() {
        let values = [
            r#"""#,
            r"\",
            r#"\""#,
            r#"a\\"} or up{"#,
            r#"x"}[5m]) or vector(1) #"#,
            "ünïcode \u{202e}",
            "tab\there",
            r".*",
        ];
        for value in values {
            for query in [r#"up{service="{service}"}"#, r#"up{service=~"{service}"}"#] {
                let Ok(filled) = render(query, &labels_of(&[("service", value)])) else {
                    assert!(value.chars().any(char::is_control), "{value:?} refused");
                    continue;
                };
                let open = filled.find('"').unwrap() + 1;
                assert_eq!(string_end(&filled, open), Some(filled.len() - 2), "{filled}");
            }
        }
    }

    #[test]
    fn after_a_regex_matcher_the_value_matches_only_itself() {
        let filled =
            render(r#"up{service=~"{service}"}"#, &labels_of(&[("service", "api.v2")])).unwrap();
        assert_eq!(filled, r#"up{service=~"api\\.v2"}"#);
    }

    #[test]
    fn outside_quotes_only_a_plain_word_is_taken() {
        let ok = render("rate(x[{range}])", &labels_of(&[("range", "5m")])).unwrap();
        assert_eq!(ok, "rate(x[5m])");
        let err = render("rate(x[{range}])", &labels_of(&[("range", "5m]) + on() vector(1")]))
            .unwrap_err();
        assert!(matches!(err, TemplateError::Unsafe { .. }), "{err}");
    }

    #[test]
    fn a_missing_label_is_named() {
        let err = render(r#"up{service="{service}"}"#, &BTreeMap::new()).unwrap_err();
        assert_eq!(err.to_string(), "needs the label `service`, which this run does not have");
    }
}
