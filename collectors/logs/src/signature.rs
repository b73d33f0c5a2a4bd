//! Error signatures: a message with its variable parts (numbers, hex, UUIDs, IP addresses,
//! quoted strings, ids in paths) replaced by placeholders, so that a thousand
//! `timeout after 3012 ms talking to 10.0.0.7` lines group into one signature. Written by
//! hand over bytes because it runs on every matched line.

/// Longest signature kept, in bytes.
const MAX_SIGNATURE: usize = 240;

/// The message part of a log line: for JSON lines the `msg`/`message`/`error` fields, for
/// text lines what follows the timestamp.
pub fn message(line: &[u8], after_timestamp: usize, json: bool) -> String {
    if json
        && let Ok(serde_json::Value::Object(map)) =
            serde_json::from_slice::<serde_json::Value>(line.trim_ascii())
    {
        let parts: Vec<String> = ["msg", "message", "error", "err", "exception", "error.message"]
            .iter()
            .filter_map(|k| match map.get(*k)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect();
        if !parts.is_empty() {
            return parts.join(": ");
        }
    }
    let rest = line.get(after_timestamp..).unwrap_or(line);
    String::from_utf8_lossy(rest.trim_ascii()).into_owned()
}

/// The normalized form of `message`.
pub fn normalize(message: &str) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(b.len().min(MAX_SIGNATURE) + 8);
    let mut i = 0;
    let mut last_space = true;
    while i < b.len() && out.len() < MAX_SIGNATURE {
        let c = b[i];
        let word_start = i == 0 || !is_word(b[i - 1]);
        if c.is_ascii_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
            i += 1;
            continue;
        }
        last_space = false;
        if (c == b'"' || (c == b'\'' && word_start))
            && let Some(len) = quoted(&b[i..], c)
        {
            out.push(c as char);
            out.push_str("<s>");
            out.push(c as char);
            i += len;
            continue;
        }
        if word_start && is_word(c) {
            let len = b[i..]
                .iter()
                .take_while(|x| is_word(**x) || **x == b'-' || **x == b'.' || **x == b':')
                .count();
            let token = &b[i..i + len];
            if let Some((placeholder, used)) = classify(token) {
                out.push_str(placeholder);
                i += used;
                continue;
            }
            let id_len = b[i..]
                .iter()
                .take_while(|x| x.is_ascii_alphanumeric() || **x == b'_' || **x == b'-')
                .count();
            if let Some(replaced) = prefixed_id(&b[i..i + id_len]) {
                out.push_str(&replaced);
                i += id_len;
                continue;
            }
            // A plain word: copy its letters at once (digits in it become `<n>` below).
            let letters =
                b[i..].iter().take_while(|x| x.is_ascii_alphabetic() || **x == b'_').count();
            if letters > 0 {
                out.push_str(&message[i..i + letters]);
                i += letters;
                continue;
            }
        }
        if c.is_ascii_digit() {
            let len = b[i..].iter().take_while(|x| x.is_ascii_digit() || **x == b'.').count();
            out.push_str("<n>");
            i += len;
            continue;
        }
        // Copy one UTF-8 character whole.
        let width = utf8_width(c);
        out.push_str(message.get(i..i + width).unwrap_or("?"));
        i += width;
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn utf8_width(c: u8) -> usize {
    match c {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// The length of a quoted string starting at `b[0] == quote`, closing quote included.
fn quoted(b: &[u8], quote: u8) -> Option<usize> {
    let mut i = 1;
    while i < b.len() && i < 512 {
        match b[i] {
            b'\\' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Whether the start of `token` is a UUID, an IP address or a hex id; the placeholder and
/// how many bytes it replaces.
fn classify(token: &[u8]) -> Option<(&'static str, usize)> {
    if token.len() >= 36 && is_uuid(&token[..36]) {
        return Some(("<uuid>", 36));
    }
    if let Some(len) = ipv4(token) {
        return Some(("<ip>", len));
    }
    let hex_len = if token.starts_with(b"0x") || token.starts_with(b"0X") {
        let n = token[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if n > 0 { n + 2 } else { 0 }
    } else {
        let n = token.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let has_digit = token[..n].iter().any(u8::is_ascii_digit);
        let whole = n == token.len() || !is_word(token[n]);
        if n >= 8 && has_digit && whole { n } else { 0 }
    };
    (hex_len > 0).then_some(("<hex>", hex_len))
}

/// Ids with a readable prefix (`ch_3f9a0c1b2e`, `req-7Hk29xQ01`): the prefix stays, every
/// `_`/`-` separated part of six or more characters with a digit becomes `<id>`.
fn prefixed_id(token: &[u8]) -> Option<String> {
    if token.len() < 8 || !token.iter().any(|c| *c == b'_' || *c == b'-') {
        return None;
    }
    let mut out = String::with_capacity(token.len());
    let mut replaced = false;
    let mut at = 0;
    for part in token.split(|c| *c == b'_' || *c == b'-') {
        if at > 0 {
            out.push(token[at - 1] as char);
        }
        at += part.len() + 1;
        if part.len() >= 6 && part.iter().any(u8::is_ascii_digit) {
            out.push_str("<id>");
            replaced = true;
        } else {
            out.push_str(std::str::from_utf8(part).ok()?);
        }
    }
    replaced.then_some(out)
}

fn is_uuid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// The length of a dotted-quad IPv4 address (with an optional `:port`) at the start.
fn ipv4(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    for part in 0..4 {
        let digits = b[i..].iter().take(3).take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += digits;
        if part < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    if b.get(i).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if b.get(i) == Some(&b':') {
        let port = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if port > 0 {
            i += 1 + port;
        }
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_are_replaced() {
        let cases = [
            (
                "timeout after 3012 ms talking to 10.0.0.7:5432",
                "timeout after <n> ms talking to <ip>",
            ),
            ("order 550e8400-e29b-41d4-a716-446655440000 failed", "order <uuid> failed"),
            ("GET /users/123/orders/9f86d081884c7d65 -> 500", "GET /users/<n>/orders/<hex> -> <n>"),
            (r#"user "alice" not found in 'db-1'"#, r#"user "<s>" not found in '<s>'"#),
            ("pointer 0xdeadBEEF   nil", "pointer <hex> nil"),
            ("can't connect", "can't connect"),
            ("café 42", "café <n>"),
            ("charge ch_3f9a0c1b2e7d failed", "charge ch_<id> failed"),
            ("request req-7Hk29xQ01 slow", "request req-<id> slow"),
            ("max_connections reached", "max_connections reached"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input), want, "{input}");
        }
    }

    #[test]
    fn lines_that_differ_only_in_ids_share_a_signature() {
        let a = normalize("payment 7731 failed: card_declined (req 4f1c2a9b0e)");
        let b = normalize("payment 12 failed: card_declined (req 0000aa11bb)");
        assert_eq!(a, b);
        assert_ne!(a, normalize("payment 12 failed: insufficient_funds (req 0000aa11bb)"));
    }

    #[test]
    fn json_messages_come_from_their_fields() {
        let line = br#"{"ts":1,"level":"error","msg":"db down","error":"dial tcp 10.1.2.3:5432"}"#;
        assert_eq!(normalize(&message(line, 0, true)), "db down: dial tcp <ip>");
    }
}
