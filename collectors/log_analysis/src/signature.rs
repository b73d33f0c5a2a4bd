//! Error signatures: a message without its level and logger prefix, with its variable
//! parts (numbers, durations, dotted versions, hex ids, UUIDs and `req-<uuid>`, IPv4 and
//! IPv6 addresses with ports, host names, paths, quoted strings, ids with a readable
//! prefix) replaced by placeholders, so that a thousand `timeout after 3012 ms talking to
//! 10.0.0.7` lines group into one signature, while package paths (`mapreduce.v2.app`) stay.
//! Written by hand over bytes because it runs on every matched line.
//!
//! Both steps take [`Redacted`] text: the line was redacted whole before its message was
//! picked out or normalised, so a secret is a token here (kept whole, never normalised),
//! and a normalised secret (digits made `<n>`) can never slip past the rules.

use witness_collector::{Redacted, Redactor};

/// Longest signature kept, in bytes.
const MAX_SIGNATURE: usize = 240;

/// The message part of a redacted log line: for JSON lines the `msg`/`message`/`error`
/// fields, for text lines what follows the timestamp (and the level, when the caller found
/// one), without leading punctuation, `[thread]`/`[req-…]` groups and the logger or
/// program tag (`org.example.Foo:`, `nova.compute.manager [req-…]`, `host sshd[12]:`).
///
/// A JSON line's fields are decoded, and decoding can reveal what its escapes hid from
/// the rules (`password\u003dx`, `https:\/\/u:p@h`), and a secret-named key can hold an
/// object: the decoded value is redacted as JSON, and the message again as text.
pub fn message(
    redactor: &Redactor,
    line: &Redacted,
    after_timestamp: usize,
    json: bool,
) -> Redacted {
    // A JSON object starts where its timestamp ends: at once, or after the kubelet's time.
    let object = line.as_bytes().get(after_timestamp..).unwrap_or_default();
    if json && let Some(text) = json_message(redactor, object) {
        return redactor.redact(&text);
    }
    line.map(|line| text_message(line.as_bytes(), after_timestamp))
}

/// The `msg`/`message`/`error`/… fields of a JSON line, joined, after the line's value
/// went through [`Redactor::redact_json`].
fn json_message(redactor: &Redactor, line: &[u8]) -> Option<String> {
    let mut value = serde_json::from_slice::<serde_json::Value>(line.trim_ascii()).ok()?;
    redactor.redact_json(&mut value);
    let serde_json::Value::Object(map) = value else { return None };
    let parts: Vec<String> = ["msg", "message", "error", "err", "exception", "error.message"]
        .iter()
        .filter_map(|k| match map.get(*k)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(": "))
}

/// The message of a text line, `after_timestamp` bytes into it.
fn text_message(line: &[u8], after_timestamp: usize) -> String {
    let rest = line.get(after_timestamp..).unwrap_or(line);
    if let Some(message) = logfmt_message(rest) {
        return message;
    }
    String::from_utf8_lossy(without_prefix(rest)).into_owned()
}

/// The `msg=` (or `message=`) value of a logfmt line, with its `err=`/`error=` value.
fn logfmt_message(rest: &[u8]) -> Option<String> {
    let value = |key: &[u8]| -> Option<String> {
        let at = memchr::memmem::find_iter(rest, key)
            .find(|&i| i == 0 || rest[i - 1].is_ascii_whitespace())?
            + key.len();
        let v = &rest[at..];
        Some(match v.strip_prefix(b"\"") {
            Some(quoted) => unquote(quoted),
            None => String::from_utf8_lossy(
                &v[..v.iter().position(u8::is_ascii_whitespace).unwrap_or(v.len())],
            )
            .into_owned(),
        })
    };
    let msg = value(b"msg=").or_else(|| value(b"message="))?;
    match value(b"err=").or_else(|| value(b"error=")) {
        Some(err) => Some(format!("{msg}: {err}")),
        None => Some(msg),
    }
}

/// A logfmt value after its opening quote, to its closing one, escapes read as Go's
/// `strconv.Quote` writes them (`\"` a quote, `\\` a backslash, `\n` and `\t` a space):
/// `msg="could not extend file \"base/1\": No space left"` is one value.
fn unquote(quoted: &[u8]) -> String {
    let mut out = Vec::with_capacity(quoted.len());
    let mut bytes = quoted.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'"' => break,
            b'\\' => match bytes.next() {
                Some(b'n' | b't' | b'r') => out.push(b' '),
                Some(escaped) => out.push(escaped),
                None => out.push(b'\\'),
            },
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Leading tokens looked at for a program tag (`sshd[12]:`) after a host name.
const TAG_TOKENS: usize = 6;

fn skip_punct(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .take_while(|c| {
            c.is_ascii_whitespace() || matches!(c, b',' | b'-' | b'|' | b':' | b';' | b'*')
        })
        .count();
    &b[n..]
}

/// A balanced `[...]` group at the start: its length.
fn bracket_group(b: &[u8]) -> Option<usize> {
    // A redaction token is what the message says, not a `[thread]` group.
    if b.first() != Some(&b'[') || token_len(b).is_some() {
        return None;
    }
    let mut depth = 0;
    for (i, c) in b.iter().enumerate().take(256) {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The first token of `b` and what follows it.
fn token(b: &[u8]) -> (&[u8], &[u8]) {
    let n = b.iter().take_while(|c| !c.is_ascii_whitespace()).count();
    (&b[..n], &b[n..])
}

fn is_identifier(t: &[u8]) -> bool {
    !t.is_empty()
        && t.iter().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'.' | b'_' | b'$' | b'-' | b'/' | b'(' | b')' | b'[' | b']' | b'#' | b'@'
                )
        })
}

/// A program or logger tag: `sshd[24200]:`, `su(pam_unix)[7]:`, `dfs.DataNode$Responder:`.
fn is_tag(t: &[u8]) -> bool {
    t.len() > 1 && t.ends_with(b":") && is_identifier(&t[..t.len() - 1])
}

fn without_prefix(rest: &[u8]) -> &[u8] {
    let mut b = skip_punct(rest.trim_ascii());
    while let Some(len) = bracket_group(b) {
        b = skip_punct(&b[len..]);
    }
    // `host program[pid]:` (syslog) or `logger:` within the first tokens.
    let mut probe = b;
    for _ in 0..TAG_TOKENS {
        let (t, after) = token(probe);
        if t.is_empty() {
            break;
        }
        let pid_tag = t.ends_with(b"]:") || t.ends_with(b"):");
        if is_tag(t) && (pid_tag || probe.len() == b.len()) {
            b = skip_punct(after);
            break;
        }
        probe = after.trim_ascii_start();
    }
    // `chrome.exe *64 - host:443 …` (Proxifier): a Windows program and its bitness.
    let (t, after) = token(b);
    if t.len() > 4 && t.ends_with(b".exe") {
        let after = after.trim_ascii_start();
        let after =
            after.strip_prefix(b"*64").or_else(|| after.strip_prefix(b"*32")).unwrap_or(after);
        b = skip_punct(after);
    }
    // `nova.compute.manager [req-…]`: a dotted logger and its context group.
    let (t, after) = token(b);
    let after = after.trim_ascii_start();
    if t.contains(&b'.')
        && is_identifier(t)
        && let Some(len) = bracket_group(after)
    {
        b = skip_punct(&after[len..]);
    }
    b.trim_ascii()
}

/// The normalized form of a redacted `message`: its redaction tokens are kept whole (the
/// same secret gives the same token, so lines quoting it still group), never cut at
/// [`MAX_SIGNATURE`] nor read as numbers and hex ids.
pub fn normalize(message: &Redacted) -> Redacted {
    message.map(normalize_text)
}

/// The length of the redaction token `[REDACTED:<rule>:<4 hex>]` at the start of `b`.
fn token_len(b: &[u8]) -> Option<usize> {
    let rest = b.strip_prefix(b"[REDACTED:")?;
    let rule = rest
        .iter()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'_')
        .count();
    let hex = rest.get(rule + 1..rule + 5)?;
    let well_formed = rule > 0
        && rest[rule] == b':'
        && hex.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && rest.get(rule + 5) == Some(&b']');
    well_formed.then_some(b"[REDACTED:".len() + rule + 6)
}

fn normalize_text(message: &str) -> String {
    let b = message.as_bytes();
    let mut out = String::with_capacity(b.len().min(MAX_SIGNATURE) + 8);
    let mut i = 0;
    let mut last_space = true;
    while i < b.len() && out.len() < MAX_SIGNATURE {
        let c = b[i];
        if c == b'['
            && let Some(len) = token_len(&b[i..])
        {
            out.push_str(&message[i..i + len]);
            i += len;
            last_space = false;
            continue;
        }
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
        let path_start =
            i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'(' | b'=' | b'[' | b'\'' | b'"');
        // A request path keeps its words (`GET /users/<n>/orders`); a file path is a value.
        let request = ["GET ", "POST ", "PUT ", "DELETE ", "PATCH ", "HEAD ", "OPTIONS "]
            .iter()
            .any(|m| out.ends_with(m));
        if path_start
            && !request
            && let Some(len) = path(&b[i..])
        {
            out.push_str("<path>");
            i += len;
            continue;
        }
        // `::1`, `::ffff:10.0.0.1`: IPv6 addresses that start with a colon.
        if c == b':'
            && b.get(i + 1) == Some(&b':')
            && (i == 0 || !b[i - 1].is_ascii_hexdigit())
            && let Some(len) = ipv6(&b[i..])
        {
            out.push_str("<addr>");
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
            // A word in a dotted identifier (`mapreduce.v2.app`) stays as it is.
            let alnum = b[i..].iter().take_while(|x| x.is_ascii_alphanumeric()).count();
            let dotted = |at: usize| {
                b.get(at) == Some(&b'.') && b.get(at + 1).is_some_and(u8::is_ascii_alphabetic)
            };
            if c.is_ascii_alphabetic()
                && (dotted(i + alnum)
                    || (i >= 2 && b[i - 1] == b'.' && b[i - 2].is_ascii_alphabetic()))
            {
                out.push_str(&message[i..i + alnum]);
                i += alnum;
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
            // `3.14` and `6.1.7601` are one number; the dot ending a sentence is not in it.
            let mut len = 0;
            while i + len < b.len()
                && (b[i + len].is_ascii_digit()
                    || (b[i + len] == b'.' && b.get(i + len + 1).is_some_and(u8::is_ascii_digit)))
            {
                len += 1;
            }
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

/// The length of a file path at the start: `/a/b…` (two segments or more) or `C:\…`.
fn path(b: &[u8]) -> Option<usize> {
    let windows = b.len() > 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    if b.first() != Some(&b'/') && !windows {
        return None;
    }
    let len = b
        .iter()
        .take_while(|c| {
            !c.is_ascii_whitespace() && !matches!(c, b',' | b';' | b')' | b'"' | b'\'' | b']')
        })
        .count();
    let mut len = len;
    // `/var/lib/x: No space left`: the colon ends the path.
    if let Some(colon) = b[..len].iter().skip(2).position(|c| *c == b':') {
        len = colon + 2;
    }
    let segments = b[1..len].iter().filter(|c| matches!(c, b'/' | b'\\')).count();
    (windows || segments >= 1 && len > 2).then_some(len)
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
        return Some(("<addr>", len));
    }
    if let Some(len) = ipv6(token) {
        return Some(("<addr>", len));
    }
    if let Some(len) = host(token) {
        return Some(("<addr>", len));
    }
    let hex_len = if token.starts_with(b"0x") || token.starts_with(b"0X") {
        let n = token[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if n > 0 { n + 2 } else { 0 }
    } else {
        let n = token.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let has_digit = token[..n].iter().any(u8::is_ascii_digit);
        let has_letter = token[..n].iter().any(u8::is_ascii_alphabetic);
        let whole = n == token.len() || !is_word(token[n]);
        if (n >= 8 || (n >= 6 && has_letter)) && has_digit && whole { n } else { 0 }
    };
    (hex_len > 0).then_some(("<hex>", hex_len))
}

/// Ids with a readable prefix (`ch_3f9a0c1b2e`, `req-7Hk29xQ01`, `blk_-6952295868`,
/// `req-<uuid>`): the prefix stays, a UUID in it becomes `<uuid>`, and every `_`/`-`
/// separated part with a digit becomes `<id>` (a run of them, one `<id>`).
fn prefixed_id(token: &[u8]) -> Option<String> {
    if token.len() < 5 || !token.iter().any(|c| *c == b'_' || *c == b'-') {
        return None;
    }
    if let Some(at) = (1..token.len().saturating_sub(35))
        .find(|&i| matches!(token[i - 1], b'-' | b'_') && is_uuid(&token[i..i + 36]))
    {
        let head = prefixed_id(&token[..at - 1])
            .unwrap_or_else(|| String::from_utf8_lossy(&token[..at - 1]).into_owned());
        let tail = &token[at + 36..];
        let tail = prefixed_id(tail).unwrap_or_else(|| String::from_utf8_lossy(tail).into_owned());
        return Some(format!("{head}{}<uuid>{tail}", token[at - 1] as char));
    }
    let mut out = String::with_capacity(token.len());
    let mut replaced = false;
    let mut at = 0;
    let mut last_id = false;
    let mut pending: Option<char> = None;
    for part in token.split(|c| *c == b'_' || *c == b'-') {
        if at > 0 {
            pending = pending.or(Some(token[at - 1] as char));
        }
        let separator = pending;
        at += part.len() + 1;
        if part.is_empty() {
            // `blk_-123`: the minus sign of a number.
            continue;
        }
        pending = None;
        let is_id = part.iter().any(u8::is_ascii_digit);
        if is_id && last_id {
            continue;
        }
        if let Some(sep) = separator.filter(|_| !out.is_empty()) {
            out.push(sep);
        }
        if is_id {
            out.push_str("<id>");
            replaced = true;
        } else {
            out.push_str(std::str::from_utf8(part).ok()?);
        }
        last_id = is_id;
    }
    // A readable prefix is needed: `2025-11-19` or `12-34` alone is a number, not an id.
    let readable = token.iter().take_while(|c| c.is_ascii_alphabetic()).count() >= 2;
    (replaced && readable).then_some(out)
}

/// Top-level domains that end a host name (`proxy.example.com`, `db.prod.svc`).
const TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "io", "info", "biz", "local", "internal", "lan", "svc",
    "cloud", "dev", "app", "uk", "de", "fr", "nl", "cn", "hk", "jp", "ru", "br", "in", "au", "pl",
    "es", "it", "eu", "us", "ca", "mx", "om", "kr", "tw",
];

/// The length of a host name (two dots or more, ending in a known top-level domain, with
/// an optional `:port`) at the start; reversed-domain package names (`com.example.Foo`) are
/// not host names.
fn host(token: &[u8]) -> Option<usize> {
    let len = token
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'.')
        .count();
    let name = token[..len].strip_suffix(b".").unwrap_or(&token[..len]);
    let labels: Vec<&[u8]> = name.split(|c| *c == b'.').collect();
    let is_tld = |l: &[u8]| TLDS.iter().any(|t| t.as_bytes().eq_ignore_ascii_case(l));
    let first_is_tld = labels.first().is_some_and(|l| is_tld(l));
    let port = match token.get(name.len()) {
        Some(b':') => token[name.len() + 1..].iter().take_while(|c| c.is_ascii_digit()).count(),
        _ => 0,
    };
    let named = labels.iter().all(|l| !l.is_empty())
        && labels.iter().any(|l| l.iter().any(u8::is_ascii_alphabetic))
        && !first_is_tld;
    // `db.prod.example.com`, or `example.cn:80` (a port makes two labels an address).
    let is_host = named
        && ((labels.len() >= 3 && labels.last().is_some_and(|l| is_tld(l)))
            || (labels.len() >= 2 && port >= 2 && looks_like_domain(&labels)));
    is_host.then_some(name.len() + if port > 0 { port + 1 } else { 0 })
}

/// Source file names print like `name.ext:line` (`main.go:12`, `Foo.java:88`); a domain is
/// in lower case and ends in letters that are no source extension.
fn looks_like_domain(labels: &[&[u8]]) -> bool {
    const SOURCE: &[&str] = &[
        "go", "rs", "py", "js", "ts", "java", "kt", "scala", "c", "cc", "cpp", "h", "hpp", "rb",
        "cs", "php", "swift", "ex", "exs", "erl", "clj", "lua", "pl", "sh", "m", "mm", "jsx",
        "tsx", "vue", "dart",
    ];
    let Some(last) = labels.last() else { return false };
    labels.iter().all(|l| !l.iter().any(u8::is_ascii_uppercase))
        && last.len() >= 2
        && last.iter().all(u8::is_ascii_alphabetic)
        && !SOURCE.iter().any(|e| e.as_bytes() == *last)
}

/// The length of an IPv6 address (with `::` or at least five colons, an optional `:port`
/// included) at the start.
fn ipv6(token: &[u8]) -> Option<usize> {
    let len =
        token.iter().take_while(|c| c.is_ascii_hexdigit() || **c == b':' || **c == b'.').count();
    let text = &token[..len];
    let colons = text.iter().filter(|c| **c == b':').count();
    let has_digit = text.iter().any(u8::is_ascii_digit);
    let groups_ok = text.split(|c| *c == b':').all(|g| g.len() <= 4 || g.contains(&b'.'));
    ((text.windows(2).any(|w| w == b"::") || colons >= 5) && has_digit && groups_ok && colons >= 2)
        .then_some(len)
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
                "timeout after <n> ms talking to <addr>",
            ),
            ("order 550e8400-e29b-41d4-a716-446655440000 failed", "order <uuid> failed"),
            ("GET /users/123/orders/9f86d081884c7d65 -> 500", "GET /users/<n>/orders/<hex> -> <n>"),
            (r#"user "alice" not found in 'db-1'"#, r#"user "<s>" not found in '<s>'"#),
            ("pointer 0xdeadBEEF   nil", "pointer <hex> nil"),
            ("can't connect", "can't connect"),
            (
                "Error loading /home/u1/app/x.rts: invalid image",
                "Error loading <path>: invalid image",
            ),
            (r"Loaded C:\Windows\winsxs\amd64_x_31bf\cbscore.dll ok", "Loaded <path> ok"),
            (
                "org.apache.hadoop.mapreduce.v2.app.MRAppMaster started",
                "org.apache.hadoop.mapreduce.v2.app.MRAppMaster started",
            ),
            (
                "Loaded Servicing Stack v6.1.7601.23505 with Core",
                "Loaded Servicing Stack v<n> with Core",
            ),
            ("took 2.5s, then 1500ms.", "took <n>s, then <n>ms."),
            ("request req-38101a0b-2096-447d-96ea-a692162415ae done", "request req-<uuid> done"),
            (
                "block blk_-6952295868487656571 and blk_38865049064139660",
                "block blk_<id> and blk_<id>",
            ),
            ("from fe80::1ff:fe23:4567:890a port 22", "from <addr> port <n>"),
            (
                "listening on [::1]:8080 and 0:0:0:0:0:0:0:0:2181",
                "listening on [<addr>]:<n> and <addr>",
            ),
            ("resolve proxy.cse.cuhk.edu.hk:5070 failed", "resolve <addr> failed"),
            ("com.apple.cts.daily scheduled", "com.apple.cts.daily scheduled"),
            ("cancelled for csdnimg.cn:80 early", "cancelled for <addr> early"),
            (
                "see Foo.java:123, app.Main.run:45, main.go:12",
                "see Foo.java:<n>, app.Main.run:<n>, main.go:<n>",
            ),
            ("token 9f4ef63 expired", "token <hex> expired"),
            ("café 42", "café <n>"),
            ("charge ch_3f9a0c1b2e7d failed", "charge ch_<id> failed"),
            ("request req-7Hk29xQ01 slow", "request req-<id> slow"),
            ("max_connections reached", "max_connections reached"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_text(input), want, "{input}");
        }
    }

    #[test]
    fn lines_that_differ_only_in_ids_share_a_signature() {
        let a = normalize_text("payment 7731 failed: card_declined (req 4f1c2a9b0e)");
        let b = normalize_text("payment 12 failed: card_declined (req 0000aa11bb)");
        assert_eq!(a, b);
        assert_ne!(a, normalize_text("payment 12 failed: insufficient_funds (req 0000aa11bb)"));
    }

    #[test]
    fn the_level_and_logger_prefix_are_not_part_of_the_message() {
        let redactor = Redactor::builtin();
        let cases: [(&[u8], &str); 11] = [
            (b", Info  CBS  Loaded Servicing Stack", "Info  CBS  Loaded Servicing Stack"),
            (
                b" [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
                "Created MRAppMaster",
            ),
            (
                b" nova.compute.manager [req-1 - - -] [instance: x] Terminating",
                "[instance: x] Terminating",
            ),
            (b" LabSZ sshd[24200]: Invalid user webmaster", "Invalid user webmaster"),
            (b" combo su(pam_unix)[21416]: session opened", "session opened"),
            (b" WindowManager: Destroying surface", "Destroying surface"),
            (b" chrome.exe *64 - a.example.com:443 error : x", "a.example.com:443 error : x"),
            (b" - Connection refused: retrying", "Connection refused: retrying"),
            (
                b" caller=db.go:88 msg=\"query failed\" err=\"dial tcp\" n=2",
                "query failed: dial tcp",
            ),
            (
                br#" msg="could not extend file \"base/16384/2619\": No space left on device" n=1"#,
                r#"could not extend file "base/16384/2619": No space left on device"#,
            ),
            (br#" msg="a \\ b\nnext" err="x""#, r"a \ b next: x"),
        ];
        for (rest, want) in cases {
            let line = redactor.redact_bytes(rest);
            assert_eq!(message(&redactor, &line, 0, false).as_str(), want, "{line}");
        }
    }

    #[test]
    fn json_messages_come_from_their_fields() {
        let line = br#"{"ts":1,"level":"error","msg":"db down","error":"dial tcp 10.1.2.3:5432"}"#;
        let r = Redactor::builtin();
        let message = message(&r, &r.redact_bytes(line), 0, true);
        assert_eq!(normalize(&message).as_str(), "db down: dial tcp <addr>");
    }

    #[test]
    fn tokens_are_kept_whole_and_never_taken_for_a_group_or_a_number() {
        let r = Redactor::builtin();
        let line = r.redact(" [REDACTED:jwt:1a2b] rejected: password=hunter22-long and 42");
        let message = message(&r, &line, 0, false);
        assert!(message.starts_with("[REDACTED:jwt:1a2b] rejected"), "{message}");
        let signature = normalize(&message);
        assert!(
            signature
                .starts_with("[REDACTED:jwt:1a2b] rejected: password=[REDACTED:key_value_secret:"),
            "{signature}"
        );
        assert!(signature.ends_with("] and <n>"), "{signature}");
        // At the length cap a token is kept whole, never cut.
        let long = r.redact(&format!(
            "{} token=ghp_0123456789abcdefghijABCDEFGHIJ0123456789",
            "word ".repeat(47)
        ));
        let signature = normalize(&long);
        assert_eq!(
            signature.matches("[REDACTED:").count(),
            signature.matches(']').count(),
            "{signature}"
        );
    }

    #[test]
    fn a_json_message_is_redacted_after_it_is_decoded() {
        let r = Redactor::builtin();
        for line in [
            r#"{"level":"error","msg":"boot password\u003dhunter22-long failed"}"#,
            r#"{"level":"error","msg":"dial postgres:\/\/app:hunter22-long@db\/x"}"#,
            r#"{"level":"error","msg":"bad","error":{"password":["hunter22-long"]}}"#,
        ] {
            let message = message(&r, &r.redact(line), 0, true);
            assert!(!message.contains("hunter22"), "{line}: {message}");
        }
    }
}
