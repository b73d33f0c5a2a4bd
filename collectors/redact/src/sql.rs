//! Normalizing PostgreSQL query text: every literal (strings, escape strings, bit and hex
//! strings, dollar-quoted bodies, numbers) becomes a parameter `$n`, the way
//! `pg_stat_statements` shows queries, so `WHERE email = 'ann@example.com'` is kept as
//! `WHERE email = $1`. Identifiers, keywords, comments and existing parameters stay.

use std::borrow::Cow;

/// `query` with its literals replaced by `$n`, numbered after the highest parameter the
/// query already has. Text that does not tokenize (an unterminated string) is replaced
/// from the literal to the end: a half-open literal may hold anything.
pub fn normalize_sql_literals(query: &str) -> Cow<'_, str> {
    let bytes = query.as_bytes();
    let mut next = highest_parameter(query) + 1;
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    let mut replace = |out: &mut String, last: &mut usize, start: usize, end: usize| {
        out.push_str(&query[*last..start]);
        out.push_str(&format!("${next}"));
        next += 1;
        *last = end;
    };
    while i < bytes.len() {
        let b = bytes[i];
        let prev_ident = i > 0 && is_ident(bytes[i - 1]);
        match b {
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = memchr_from(bytes, i, b'\n').unwrap_or(bytes.len());
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = query[i + 2..].find("*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            }
            b'"' => {
                // A quoted identifier, kept.
                i = closing_quote(bytes, i + 1, b'"', false).map_or(bytes.len(), |e| e + 1);
            }
            b'\'' => {
                // A string, with an E/B/X/N prefix letter standing alone before it.
                let prefix = i > 0
                    && matches!(
                        bytes[i - 1],
                        b'E' | b'e' | b'B' | b'b' | b'X' | b'x' | b'N' | b'n'
                    )
                    && !(i > 1 && is_ident(bytes[i - 2]));
                let escapes = prefix && matches!(bytes[i - 1], b'E' | b'e');
                let start = if prefix { i - 1 } else { i };
                let end =
                    closing_quote(bytes, i + 1, b'\'', escapes).map_or(bytes.len(), |e| e + 1);
                replace(&mut out, &mut last, start, end);
                i = end;
            }
            b'$' if !prev_ident => {
                if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    // An existing parameter, kept.
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                } else if let Some(tag_len) = dollar_tag(&query[i..]) {
                    let tag = &query[i..i + tag_len];
                    let body = i + tag_len;
                    let end = query[body..].find(tag).map_or(bytes.len(), |p| body + p + tag_len);
                    replace(&mut out, &mut last, i, end);
                    i = end;
                } else {
                    i += 1;
                }
            }
            b'0'..=b'9' | b'.' if !prev_ident && starts_number(bytes, i) => {
                let end = number_end(bytes, i);
                replace(&mut out, &mut last, i, end);
                i = end;
            }
            _ if is_ident(b) => {
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    if last == 0 {
        return Cow::Borrowed(query);
    }
    out.push_str(&query[last..]);
    Cow::Owned(out)
}

/// Whether `text` reads like a SQL statement (so a JSON `query` field holding a URL query
/// string is left alone).
pub fn looks_like_sql(text: &str) -> bool {
    let first = text
        .trim_start_matches(|c: char| c.is_whitespace() || c == '(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    const KEYWORDS: &[&str] = &[
        "select", "insert", "update", "delete", "with", "merge", "copy", "call", "values", "alter",
        "create", "drop", "truncate", "grant", "revoke", "explain", "lock", "vacuum", "analyze",
        "do", "execute", "prepare", "set", "show", "refresh", "cluster", "reindex", "comment",
        "table",
    ];
    KEYWORDS.iter().any(|k| first.eq_ignore_ascii_case(k))
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn memchr_from(bytes: &[u8], from: usize, needle: u8) -> Option<usize> {
    bytes[from..].iter().position(|b| *b == needle).map(|p| from + p)
}

/// The index of the quote closing a literal whose body starts at `from`; a doubled quote
/// is part of the body, and so is a backslash-escaped one in an escape string.
fn closing_quote(bytes: &[u8], from: usize, quote: u8, escapes: bool) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes => i += 2,
            b if b == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The length of a dollar-quote tag (`$$`, `$body$`) at the start of `text`.
fn dollar_tag(text: &str) -> Option<usize> {
    let rest = &text[1..];
    let name_len =
        rest.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b >= 0x80).count();
    if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    (rest.as_bytes().get(name_len) == Some(&b'$')).then_some(name_len + 2)
}

fn starts_number(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'.' => bytes.get(i + 1).is_some_and(u8::is_ascii_digit),
        _ => true,
    }
}

fn number_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'_') {
            *i += 1;
        }
    };
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X' | b'o' | b'O' | b'b' | b'B'))
    {
        i += 2;
        while i < bytes.len() && (bytes[i].is_ascii_hexdigit() || bytes[i] == b'_') {
            i += 1;
        }
        return i;
    }
    digits(&mut i);
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1) != Some(&b'.') {
        i += 1;
        digits(&mut i);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            digits(&mut i);
        }
    }
    i
}

/// The highest `$n` already in `query` (0 when none).
fn highest_parameter(query: &str) -> usize {
    let bytes = query.as_bytes();
    let mut highest = 0;
    for (i, _) in query.match_indices('$') {
        if i > 0 && is_ident(bytes[i - 1]) {
            continue;
        }
        let digits: String = query[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            highest = highest.max(n);
        }
    }
    highest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_parameters_and_the_rest_stays() {
        for (query, normalized) in [
            (
                "SELECT * FROM users WHERE email = 'ann@example.com'",
                "SELECT * FROM users WHERE email = $1",
            ),
            (
                "UPDATE t1 SET n = n + 1.5e3 WHERE id IN (1, 2) AND x = $1 LIMIT 10",
                "UPDATE t1 SET n = n + $2 WHERE id IN ($3, $4) AND x = $1 LIMIT $5",
            ),
            ("select 'it''s', E'a\\'b', X'ff', \"Col 1\"", "select $1, $2, $3, \"Col 1\""),
            ("SELECT $$body 'x'$$ || $f$y$f$ -- note 'kept'\n", "SELECT $1 || $2 -- note 'kept'\n"),
            ("SELECT '2025-01-01'::date, t.c2 /* 'c' */", "SELECT $1::date, t.c2 /* 'c' */"),
            ("SELECT 'unterminated secret", "SELECT $1"),
        ] {
            assert_eq!(normalize_sql_literals(query), normalized, "{query}");
        }
        assert!(matches!(normalize_sql_literals("SELECT a FROM b"), Cow::Borrowed(_)));
    }

    #[test]
    fn only_statements_look_like_sql() {
        assert!(looks_like_sql("  (SELECT 1)") && looks_like_sql("with x as (select 1) select 2"));
        assert!(!looks_like_sql("page=2&sort=asc") && !looks_like_sql("selected=1"));
    }
}
