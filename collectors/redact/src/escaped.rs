//! Redaction of rendered text, where a secret may hide behind its escaping: `ghp\_…` in
//! Markdown, `PASSWORD &#39;…&#39;` in HTML. Each line is decoded (backslash escapes, or
//! character references), redacted as plain text, and where that changed it, the changed
//! part of the original line is replaced — with the tokens, and the text between them
//! escaped again. The last scan of a report before it is sealed.

use std::borrow::Cow;
use std::ops::Range;

use super::{Redactor, TOKEN, lines_around};
use crate::rules::Span;

/// How a rendered format escapes text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escaping {
    /// Backslash before ASCII punctuation (CommonMark).
    Markdown,
    /// Character references: `&amp;`, `&lt;`, `&#39;`, `&#x27;`, ...
    Html,
    /// Percent-escapes of ASCII (`%20`, `%3D`), as in URLs and form bodies.
    Url,
}

/// How many lines before and after a line a match can reach (a `{"name": …}` pair
/// split over lines).
const PERCENT_REACH: Span = (2, 2);

/// The parts of `text` to read decoded: each line holding a percent-escape of an ASCII
/// character with the lines [`PERCENT_REACH`] around it, whole lines, merged where they
/// meet, in order.
pub(crate) fn percent_regions(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let mut regions: Vec<Range<usize>> = Vec::new();
    let mut from = 0;
    while let Some(at) = b[from..].iter().position(|c| *c == b'%').map(|i| from + i) {
        from = at + 1;
        if percent_byte(&b[at..]).is_none() {
            continue;
        }
        let region = lines_around(text, at..at, PERCENT_REACH);
        from = from.max(lines_around(text, at..at, (0, 0)).end);
        match regions.last_mut() {
            Some(last) if last.end >= region.start => last.end = last.end.max(region.end),
            _ => regions.push(region),
        }
    }
    regions
}

/// What a text given to [`Redactor::redact_decoded`] is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reading {
    /// The whole text.
    Whole,
    /// A part of a larger text, which is read as is after; `ends_text` when the larger
    /// text ends where the part does.
    Part { ends_text: bool },
}

/// Whether `text` holds a percent-escape of an ASCII character.
fn has_percent_escape(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, c)| *c == b'%' && percent_byte(&b[i..]).is_some())
}

/// The ASCII byte a `%XX` at the start of `b` stands for.
fn percent_byte(b: &[u8]) -> Option<u8> {
    if b.len() < 3 || b[0] != b'%' {
        return None;
    }
    let hex = |c: u8| (c as char).to_digit(16);
    let value = hex(b[1])? * 16 + hex(b[2])?;
    u8::try_from(value).ok().filter(u8::is_ascii)
}

impl Redactor {
    /// `text`, rendered with `escaping`, with every secret its decoded form holds replaced
    /// by its token; borrowed when there was none. The whole text is decoded and redacted
    /// at once, so a secret over several lines (a PEM block) is found whole; each span
    /// the redaction replaced is mapped back to the rendered text. Where the spans cannot
    /// be told apart (two secrets side by side), it goes line by line.
    pub fn redact_rendered<'a>(&self, text: &'a str, escaping: Escaping) -> Cow<'a, str> {
        let replaced = self.redact_decoded(text, escaping, Reading::Whole);
        // Forms decoding does not reveal (a literal's escaped form) are found as is.
        match self.redact_plain(&replaced) {
            Cow::Owned(s) => Cow::Owned(s),
            Cow::Borrowed(_) => replaced,
        }
    }

    /// `text` with each secret its decoded form holds replaced, the rest as it was: the
    /// first half of [`Redactor::redact_rendered`]. Read as a [`Reading::Part`], only
    /// secrets on lines that hold an escape are replaced, and none that reaches the
    /// part's last line (unless the whole text ends there): the whole text is read as is
    /// after, where a secret the part's end may have cut (a PEM block) is found whole.
    pub(crate) fn redact_decoded<'a>(
        &self,
        text: &'a str,
        escaping: Escaping,
        reading: Reading,
    ) -> Cow<'a, str> {
        let (decoded, map) = decode(text, escaping);
        let redacted = self.redact_plain(&decoded);
        let last_line = lines_around(text, text.len().saturating_sub(1)..text.len(), (0, 0)).start;
        let keep = |range: Range<usize>| match reading {
            Reading::Whole => true,
            Reading::Part { ends_text } => {
                has_percent_escape(&text[lines_around(text, range.clone(), (0, 0))])
                    && (ends_text || range.end <= last_line)
            }
        };
        if redacted == decoded {
            Cow::Borrowed(text)
        } else if let Some(spans) = align(&decoded, &redacted) {
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for (span, token) in spans {
                let (start, end) = (map[span.start], map[span.end]);
                out.push_str(&text[last..start]);
                out.push_str(if keep(start..end) { token } else { &text[start..end] });
                last = end;
            }
            out.push_str(&text[last..]);
            Cow::Owned(out)
        } else {
            self.redact_lines(text, escaping, reading)
        }
    }

    fn redact_lines<'a>(
        &self,
        text: &'a str,
        escaping: Escaping,
        reading: Reading,
    ) -> Cow<'a, str> {
        let mut out = String::new();
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            if matches!(reading, Reading::Part { .. }) && !has_percent_escape(line) {
                out.push_str(line);
                continue;
            }
            match self.redact_line(line, escaping) {
                Some(redacted) => {
                    changed = true;
                    out.push_str(&redacted);
                }
                None => out.push_str(line),
            }
        }
        if changed { Cow::Owned(out) } else { Cow::Borrowed(text) }
    }

    fn redact_line(&self, line: &str, escaping: Escaping) -> Option<String> {
        let (decoded, map) = decode(line, escaping);
        let redacted = self.redact_plain(&decoded);
        if redacted == decoded {
            // The line may still hold a secret in a form decoding does not reveal; the
            // plain pass finds it there.
            return match self.redact_plain(line) {
                Cow::Owned(s) => Some(s),
                Cow::Borrowed(_) => None,
            };
        }
        // The one changed span: common prefix and suffix of the decoded and redacted line.
        let (d, r) = (decoded.as_bytes(), redacted.as_bytes());
        let mut prefix = d.iter().zip(r).take_while(|(a, b)| a == b).count();
        let mut suffix = d.iter().rev().zip(r.iter().rev()).take_while(|(a, b)| a == b).count();
        suffix = suffix.min(d.len() - prefix).min(r.len() - prefix);
        // Widen to character boundaries and whole tokens.
        while !decoded.is_char_boundary(prefix) || !redacted.is_char_boundary(prefix) {
            prefix -= 1;
        }
        while !decoded.is_char_boundary(d.len() - suffix)
            || !redacted.is_char_boundary(r.len() - suffix)
        {
            suffix -= 1;
        }
        let middle = &redacted[prefix..r.len() - suffix];
        let start = map[prefix];
        let end = map[d.len() - suffix];
        let mut out = String::with_capacity(line.len());
        out.push_str(&line[..start]);
        out.push_str(&escape_between_tokens(middle, escaping));
        out.push_str(&line[end..]);
        Some(out)
    }
}

/// The spans of `decoded` that redaction replaced to give `redacted`, each with its token,
/// in order; `None` when they cannot be told for sure.
fn align<'r>(decoded: &str, redacted: &'r str) -> Option<Vec<(Range<usize>, &'r str)>> {
    let tokens: Vec<Range<usize>> = TOKEN.find_iter(redacted).map(|m| m.range()).collect();
    let mut spans = Vec::new();
    let (mut d, mut r) = (0, 0);
    for (i, token) in tokens.iter().enumerate() {
        let between = &redacted[r..token.start];
        if !decoded[d..].starts_with(between) {
            return None;
        }
        d += between.len();
        let text = &redacted[token.clone()];
        r = token.end;
        if decoded[d..].starts_with(text) {
            // A token that was already there.
            d += text.len();
            continue;
        }
        let next = tokens.get(i + 1).map_or(redacted.len(), |t| t.start);
        let after = &redacted[token.end..next];
        let end = if next == redacted.len() {
            decoded.len().checked_sub(after.len()).filter(|e| decoded[*e..] == *after)?
        } else if after.is_empty() {
            return None;
        } else {
            d + 1 + decoded.get(d + 1..)?.find(after)?
        };
        if end <= d {
            return None;
        }
        spans.push((d..end, text));
        d = end;
    }
    (decoded[d..] == redacted[r..]).then_some(spans)
}

/// `text` with the parts between tokens escaped for `escaping`.
fn escape_between_tokens(text: &str, escaping: Escaping) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for token in TOKEN.find_iter(text) {
        out.push_str(&escape(&text[last..token.start()], escaping));
        out.push_str(token.as_str());
        last = token.end();
    }
    out.push_str(&escape(&text[last..], escaping));
    out
}

fn escape(text: &str, escaping: Escaping) -> String {
    match escaping {
        Escaping::Html => escape_html(text),
        Escaping::Url => text
            .chars()
            .map(|c| match c {
                ' ' | '"' | '\'' | '<' | '>' | '%' => format!("%{:02X}", c as u32),
                c => c.to_string(),
            })
            .collect(),
        Escaping::Markdown => {
            let mut out = String::with_capacity(text.len());
            for c in text.chars() {
                if "\\`*_[]<>|#".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            out
        }
    }
}

/// Escapes text for HTML element content and attribute values: the one HTML escaper of
/// witness (the report uses it, and literals are searched for in its output).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `line` decoded, and for each byte of the decoded text (and its end) the byte of
/// `line` it came from.
fn decode(line: &str, escaping: Escaping) -> (String, Vec<usize>) {
    let mut decoded = String::with_capacity(line.len());
    let mut map = Vec::with_capacity(line.len() + 1);
    let push = |decoded: &mut String, map: &mut Vec<usize>, c: char, from: usize| {
        for _ in 0..c.len_utf8() {
            map.push(from);
        }
        decoded.push(c);
    };
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match (escaping, c) {
            (Escaping::Markdown, '\\') => match chars.peek() {
                Some(&(_, next)) if next.is_ascii_punctuation() => {
                    chars.next();
                    push(&mut decoded, &mut map, next, at);
                }
                _ => push(&mut decoded, &mut map, c, at),
            },
            (Escaping::Url, '%') => match percent_byte(&line.as_bytes()[at..]) {
                Some(byte) => {
                    push(&mut decoded, &mut map, char::from(byte), at);
                    chars.next();
                    chars.next();
                }
                None => push(&mut decoded, &mut map, c, at),
            },
            (Escaping::Html, '&') => match reference(&line[at..]) {
                Some((decoded_char, len)) => {
                    push(&mut decoded, &mut map, decoded_char, at);
                    while chars.peek().is_some_and(|(i, _)| *i < at + len) {
                        chars.next();
                    }
                }
                None => push(&mut decoded, &mut map, c, at),
            },
            _ => push(&mut decoded, &mut map, c, at),
        }
    }
    map.push(line.len());
    (decoded, map)
}

/// The character a reference at the start of `text` stands for, and its length.
fn reference(text: &str) -> Option<(char, usize)> {
    let end = text[..text.len().min(12)].find(';')?;
    let body = &text[1..end];
    let c = match body {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let number = body.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    };
    Some((c, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_behind_markdown_escapes_are_found_and_the_rest_stays_escaped() {
        let r = Redactor::builtin();
        let line = "| app \\| `x` | token ghp\\_0123456789abcdefghijABCDEFGHIJ0123456789 seen |\n";
        let out = r.redact_rendered(line, Escaping::Markdown);
        assert!(!out.contains("0123456789abcdefghij"), "{out}");
        assert!(out.starts_with("| app \\| `x` | token [REDACTED:"), "{out}");
        assert!(out.ends_with(" seen |\n"), "{out}");
    }

    #[test]
    fn secrets_behind_html_references_are_found() {
        let r = Redactor::builtin();
        let line = "<title>ALTER ROLE app PASSWORD &#39;Sup3r-Secret-pw&#39;</title> &amp; more\n";
        let out = r.redact_rendered(line, Escaping::Html);
        assert!(!out.contains("Sup3r-Secret"), "{out}");
        assert!(out.starts_with("<title>ALTER ROLE app PASSWORD "), "{out}");
        assert!(out.ends_with("</title> &amp; more\n"), "{out}");
    }

    #[test]
    fn a_secret_over_several_escaped_lines_is_found_whole() {
        let r = Redactor::builtin();
        let text = "<pre>key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7&#43;abc\nAAAAB3NzaC1yc2EAAAADAQABAAABAQDx&lt;x&gt;yz0123456789abcdefgh\n-----END PRIVATE KEY-----\nafter &amp; more</pre>\n";
        let out = r.redact_rendered(text, Escaping::Html);
        assert!(!out.contains("MIIEvQ") && !out.contains("AAAAB3Nza"), "{out}");
        assert!(out.starts_with("<pre>key:\n"), "{out}");
        assert!(out.ends_with("\nafter &amp; more</pre>\n"), "{out}");
    }

    #[test]
    fn percent_escapes_do_not_hide_a_secret() {
        let r = Redactor::builtin();
        let secret = "AUpaFVMLro2Rw8mvJCb0TevkSZXTKbZc3RYwZ8a8";
        for text in [
            format!("GET /q?x=AWS_SECRET_ACCESS_KEY:%20{secret} HTTP/1.1"),
            format!("GET /q?x=credentials%20secretKey%20=>%20'{secret}' HTTP/1.1"),
            format!("GET /q?x=%7B%22SecretAccessKey%22:%20%22{secret}%22%7D&p=2"),
            format!("GET /q?x=token%20ghp_{}&p=2", "Ab1".repeat(12)),
            format!("GET /q?x={{\"SecretAccessKey\":%20\"{secret}\"}} HTTP/1.1"),
        ] {
            let out = r.redact_text(&text);
            assert!(!out.contains("0TevkSZX") && !out.contains("Ab1Ab1Ab1"), "{out}");
            assert!(out.starts_with("GET /q?x="), "{out}");
            assert_eq!(r.redact_text(&out), out, "idempotent");
        }
        let plain = "GET /search?q=50%25%20off&page=2 HTTP/1.1";
        assert_eq!(r.redact_text(plain), plain);
    }

    #[test]
    fn only_escaped_lines_and_their_reach_are_decoded() {
        let text = "a\nb\nc\nd %20 e\nf\ng\nh\ni\nj\nk\nl %3D\n";
        let regions: Vec<&str> = percent_regions(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(regions, ["b\nc\nd %20 e\nf\ng\n", "j\nk\nl %3D\n"]);
        let near = "x %20\ny\nz %41\n";
        let regions: Vec<&str> = percent_regions(near).into_iter().map(|r| &near[r]).collect();
        assert_eq!(regions, [near], "regions that meet are one");
        assert!(percent_regions("cpu 187%/70%, 50% of 7.5%\n").is_empty());
    }

    #[test]
    fn a_secret_in_an_escaped_line_of_a_large_text_is_found() {
        let r = Redactor::builtin();
        let secret = "AUpaFVMLro2Rw8mvJCb0TevkSZXTKbZc3RYwZ8a8";
        let filler = "INFO request handled status=200 duration_ms=12\n".repeat(500);
        let text = format!(
            "{filler}GET /q?x=AWS_SECRET_ACCESS_KEY:%20{secret} HTTP/1.1\n{filler}\
             {{\"name\": \"DB_PASSWORD\",\n \"value\": \"p%40ss-{secret}\"}}\n{filler}"
        );
        let out = r.redact_text(&text);
        assert!(!out.contains("0TevkSZX"), "{out}");
        assert_eq!(out.matches("[REDACTED:").count(), 2, "{out}");
        assert!(out.starts_with(&filler) && out.ends_with(&filler));
        assert!(matches!(r.redact_text(&filler), Cow::Borrowed(_)));
    }

    #[test]
    fn a_pem_block_next_to_an_escaped_line_is_found_whole() {
        let r = Redactor::builtin();
        let body: Vec<String> =
            (0..6).map(|i| format!("{i}Ab1+/").repeat(12)[..64].to_owned()).collect();
        for before in [
            "GET /q?x=50%25%20off HTTP/1.1\n",
            "a\nb\nGET /q?x=%41 HTTP/1.1\nc\n",
            "redirect to /authorize?scope=openid%20profile ",
        ] {
            let text = format!(
                "{before}-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n2025-11-19 INFO after\n",
                body.join("\n")
            );
            let out = r.redact_text(&text);
            assert!(body.iter().all(|line| !out.contains(&line[..20])), "{out}");
            assert!(out.starts_with(before) && out.ends_with("\n2025-11-19 INFO after\n"), "{out}");
        }
    }

    #[test]
    fn clean_rendered_text_is_borrowed() {
        let r = Redactor::builtin();
        let text = "# Report\n\\*not\\* a secret &amp; &#39;quoted&#39;\n";
        assert!(matches!(r.redact_rendered(text, Escaping::Markdown), Cow::Borrowed(_)));
        assert!(matches!(r.redact_rendered(text, Escaping::Html), Cow::Borrowed(_)));
    }
}
