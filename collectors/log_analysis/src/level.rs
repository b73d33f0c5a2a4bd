//! The level of a log line, where the line has one: the word after the timestamp (`ERROR`,
//! `Error`, `error:`, `[error]`, `level=error`, `SEVERE`, `Info` in Windows CBS), logcat's
//! and klog's severity letters, the syslog priority `<3>`, or a JSON `level`/`severity`/
//! `lvl` field holding a name (zap, logrus, GCP) or a number (bunyan/pino 50 and 60,
//! syslog 0–3). A line with a level is an error because of it; the configured patterns
//! decide only for lines without one. Level words inside identifiers
//! (`ERROR_INVALID_FUNCTION`) are not levels.

use crate::timestamp::{TsFormat, kubelet, layouts};

/// A line's level, where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub is_error: bool,
    /// Offset just after the level token (where the message goes on).
    pub end: usize,
}

/// Regular expression of the lines that may carry an error level, searched together with
/// the patterns so that only those lines are looked at closely.
pub const CANDIDATES: &str = r#"(?i:\b(?:err|error|fatal|crit|critical|severe|panic|emerg|emergency|alert)\b)|\b[EFA]\b|(?m:^<\d{1,3}>)|"(?:level|severity|lvl|loglevel|@l|levelname)"\s*:\s*(?:[5-9]\d|[0-3])\b"#;

/// How far after the timestamp the level is looked for.
const LEVEL_BYTES: usize = 160;
/// Words (without digits) looked at after the timestamp before giving up.
const LEVEL_WORDS: usize = 3;

/// JSON keys that hold the level.
const JSON_LEVEL_KEYS: &[&str] =
    &["level", "severity", "lvl", "loglevel", "log.level", "@l", "levelname", "@level"];

/// The level of `line`, whose timestamp ends at `message_at`, in a file of `format`.
pub fn of(line: &[u8], message_at: usize, format: &TsFormat) -> Option<Level> {
    match format {
        // The container's line after the kubelet's time, in the container's format.
        TsFormat::Kubelet(inner) => {
            let at = kubelet::content_start(line);
            let content = &line[at..];
            let message_at = message_at.saturating_sub(at);
            let level = match inner {
                Some(inner) => of(content, message_at, inner),
                None => plain(content, message_at, false),
            };
            level.map(|l| Level { end: l.end + at, ..l })
        }
        _ if format.is(layouts::KLOG) => {
            let is_error = matches!(line.first(), Some(b'E' | b'F'));
            Some(Level { is_error, end: message_at })
        }
        TsFormat::Json { .. } => json(line),
        _ => plain(line, message_at, format.is(layouts::LOGCAT)),
    }
}

/// The level of a text line: a syslog priority of error or worse decides; a milder one is
/// often only the sender's default (`user.notice`), so the level word decides, or else the
/// patterns. `letters`: logcat's one-letter priorities count.
fn plain(line: &[u8], message_at: usize, letters: bool) -> Option<Level> {
    match priority(line) {
        Some(level) if level.is_error => Some(level),
        _ => text(line, message_at, letters),
    }
}

/// The level of a JSON line from its level field.
pub fn json(line: &[u8]) -> Option<Level> {
    let value: serde_json::Value = serde_json::from_slice(line.trim_ascii()).ok()?;
    let field = JSON_LEVEL_KEYS.iter().find_map(|k| {
        value.get(*k).or_else(|| k.split_once('.').and_then(|(a, b)| value.get(a)?.get(b)))
    })?;
    let is_error = match field {
        serde_json::Value::String(s) => match s.trim().parse::<u64>() {
            Ok(n) => numeric_is_error(n),
            Err(_) => word(s.trim().as_bytes())?,
        },
        serde_json::Value::Number(n) => numeric_is_error(n.as_u64()?),
        _ => return None,
    };
    Some(Level { is_error, end: 0 })
}

/// bunyan/pino levels (10–60: 50 error, 60 fatal), or syslog severities (0–7: 0–3 are
/// emergency to error).
fn numeric_is_error(n: u64) -> bool {
    if n >= 10 { n >= 50 } else { n <= 3 }
}

/// A leading syslog `<PRI>`: severity = PRI mod 8, 0–3 are errors.
fn priority(line: &[u8]) -> Option<Level> {
    let end = layouts::skip_pri(line);
    if end == 0 {
        return None;
    }
    let pri: u32 = std::str::from_utf8(&line[1..end - 1]).ok()?.parse().ok()?;
    (pri <= 191).then_some(Level { is_error: pri % 8 <= 3, end })
}

/// Whether a level word names an error level; `None` when it is no level word.
fn word(w: &[u8]) -> Option<bool> {
    const ERRORS: &[&str] = &[
        "error",
        "err",
        "fatal",
        "critical",
        "crit",
        "severe",
        "panic",
        "emerg",
        "emergency",
        "alert",
    ];
    const OTHERS: &[&str] = &[
        "trace",
        "debug",
        "dbg",
        "info",
        "inf",
        "information",
        "notice",
        "warn",
        "warning",
        "wrn",
        "fine",
        "finer",
        "finest",
        "config",
        "verbose",
    ];
    let is = |set: &[&str]| set.iter().any(|l| l.as_bytes().eq_ignore_ascii_case(w));
    if is(ERRORS) {
        Some(true)
    } else if is(OTHERS) {
        Some(false)
    } else {
        None
    }
}

/// The level word among the first words after the timestamp; `letters`: logcat's one-letter
/// priorities count (after the pid and tid), which in other formats would be words.
fn text(line: &[u8], message_at: usize, letters: bool) -> Option<Level> {
    let start = message_at.min(line.len());
    let limit = line.len().min(start + LEVEL_BYTES);
    let mut words = 0;
    let mut numbers = 0;
    let mut i = start;
    while i < limit && words < LEVEL_WORDS {
        while i < limit && line[i].is_ascii_whitespace() {
            i += 1;
        }
        let token_start = i;
        while i < limit && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        let raw = &line[token_start..i];
        if raw.is_empty() {
            break;
        }
        if raw.iter().any(u8::is_ascii_digit) {
            numbers += 1;
            continue;
        }
        if let Some(is_error) = token(raw, letters && numbers > 0) {
            return Some(Level { is_error, end: i });
        }
        if raw.iter().any(u8::is_ascii_alphabetic) {
            words += 1;
        }
    }
    None
}

/// Whether one whitespace-separated token is a level, and which.
fn token(raw: &[u8], logcat_letter: bool) -> Option<bool> {
    // `level=error`, `severity=ERROR`.
    if let Some(eq) = memchr::memchr(b'=', raw) {
        let key = &raw[..eq];
        if [&b"level"[..], b"lvl", b"severity"].iter().any(|k| k.eq_ignore_ascii_case(key)) {
            return word(raw[eq + 1..].trim_ascii_start().trim_matches_quotes());
        }
        return None;
    }
    // Logcat: `E` after the pid and tid.
    if let [c] = raw
        && matches!(c, b'V' | b'D' | b'I' | b'W' | b'E' | b'F' | b'A')
        && logcat_letter
    {
        return Some(matches!(c, b'E' | b'F' | b'A'));
    }
    let framed = matches!(raw.first(), Some(b'[' | b'(' | b'<'))
        || matches!(raw.last(), Some(b':' | b']' | b')' | b'>'));
    let inner = raw.trim_matches_punct();
    // `[core:error]` (Apache 2.4): the level follows the module.
    let inner = inner.rsplit(|c| *c == b':').next().unwrap_or(inner);
    if inner.is_empty() || !inner.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    // `ERROR` and `Error` are levels wherever they stand; `error` only as `error:` or
    // `[error]`, so a lowercase word in a message is not taken for one.
    let lower = inner[0].is_ascii_lowercase();
    if lower && !framed {
        return None;
    }
    // PostgreSQL's `LOG:`, `STATEMENT:`, `DETAIL:`: levels only as such, in capitals.
    const POSTGRES: &[&[u8]] = &[b"LOG", b"STATEMENT", b"DETAIL", b"HINT", b"CONTEXT", b"QUERY"];
    if raw.ends_with(b":") && POSTGRES.contains(&inner) {
        return Some(false);
    }
    if !lower
        && inner[1..].iter().any(u8::is_ascii_lowercase)
        && inner[1..].iter().any(u8::is_ascii_uppercase)
    {
        return None;
    }
    word(inner)
}

trait Trim {
    fn trim_matches_punct(&self) -> &[u8];
    fn trim_matches_quotes(&self) -> &[u8];
}

impl Trim for [u8] {
    fn trim_matches_punct(&self) -> &[u8] {
        let is_punct = |c: &u8| c.is_ascii_punctuation();
        let start = self.iter().position(|c| !is_punct(c)).unwrap_or(self.len());
        let end = self.iter().rposition(|c| !is_punct(c)).map_or(start, |i| i + 1);
        &self[start..end.max(start)]
    }

    fn trim_matches_quotes(&self) -> &[u8] {
        let t = self.strip_prefix(b"\"").unwrap_or(self);
        t.strip_suffix(b"\"").unwrap_or(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level_of(line: &str, format: &str) -> Option<bool> {
        let format = TsFormat::layout(format).unwrap();
        let cx = crate::fuzzing::utc_context();
        let at = format.parse(line.as_bytes(), &cx).map_or(0, |(_, at)| at);
        of(line.as_bytes(), at, &format).map(|l| l.is_error)
    }

    #[test]
    fn the_level_field_decides_in_every_format_that_has_one() {
        let cases = [
            ("2025-11-19 21:00:00,123 ERROR app: x", "iso8601", Some(true)),
            ("2025-11-19 21:00:00,123 - root - ERROR - x", "iso8601", Some(true)),
            (
                "2025-11-19 21:00:00.008 25746 INFO nova.api [req-1] error in x",
                "iso8601",
                Some(false),
            ),
            (
                "2025-11-19 21:00:00, Info  CBS  Failed ERROR_INVALID_FUNCTION",
                "iso8601",
                Some(false),
            ),
            ("2025-11-19 21:00:00, Error  CBS  Failed to resolve", "iso8601", Some(true)),
            ("2025-11-19 21:00:00 SEVERE: Servlet threw", "iso8601", Some(true)),
            ("2025-11-19 21:00:00 12345 A user logged in", "iso8601", None),
            ("2025-11-19 21:00:00.1 UTC [7] STATEMENT:  select 'Error'", "iso8601", Some(false)),
            ("2025-11-19 21:00:00.1 UTC [7] ERROR:  duplicate key", "iso8601", Some(true)),
            ("2025-11-19 21:00:00 [main] Error c.e.App - x", "iso8601", Some(true)),
            ("2025-11-19T21:00:00Z level=error msg=x", "iso8601", Some(true)),
            ("11-19 21:00:00.811  1702  2395 E WindowManager: x", "android logcat", Some(true)),
            ("11-19 21:00:00.811  1702  2395 F libc: Fatal signal", "android logcat", Some(true)),
            ("11-19 21:00:00.811  1702  2395 D PowerManager: error", "android logcat", Some(false)),
            ("E1119 21:00:00.123456   24371 main.go:12] x", "klog", Some(true)),
            ("W1119 21:00:00.123456   24371 main.go:12] error x", "klog", Some(false)),
            ("<11>Nov 19 21:00:00 h app: x", "syslog rfc3164", Some(true)),
            ("<14>Nov 19 21:00:00 h app: x", "syslog rfc3164", None),
            ("<13>Nov 19 21:00:00 h app: ERROR x", "syslog rfc3164", Some(true)),
            (
                "Nov 19 21:00:00 h sshd[12]: error: kex_exchange_identification",
                "syslog rfc3164",
                Some(true),
            ),
            ("Nov 19 21:00:00 h sshd[12]: Accepted publickey for root", "syslog rfc3164", None),
            ("[Wed Nov 19 21:00:00 2025] [core:error] [pid 1] x", "apache error log", Some(true)),
            ("[Wed Nov 19 21:00:00 2025] [notice] x", "apache error log", Some(false)),
            ("2025/11/19 21:00:00 [crit] 1#1: x", "nginx error log", Some(true)),
            ("25/11/19 21:00:00 WARN storage.BlockManager: error", "log4j short date", Some(false)),
            ("251119 210000 148 INFO dfs.DataNode: x", "compact yymmdd hhmmss", Some(false)),
        ];
        for (line, format, want) in cases {
            assert_eq!(level_of(line, format), want, "{line}");
        }
    }

    #[test]
    fn json_levels_are_names_or_numbers() {
        let cases: [(&str, Option<bool>); 8] = [
            (r#"{"level":"error","msg":"x"}"#, Some(true)),
            (r#"{"level":"ERROR","msg":"x"}"#, Some(true)),
            (r#"{"severity":"CRITICAL","message":"x"}"#, Some(true)),
            (r#"{"lvl":"info","msg":"error x"}"#, Some(false)),
            (r#"{"level":50,"msg":"x"}"#, Some(true)),
            (r#"{"level":30,"msg":"x"}"#, Some(false)),
            (r#"{"log":{"level":"fatal"},"msg":"x"}"#, Some(true)),
            (r#"{"msg":"error x"}"#, None),
        ];
        for (line, want) in cases {
            assert_eq!(json(line.as_bytes()).map(|l| l.is_error), want, "{line}");
        }
    }

    #[test]
    fn every_error_level_is_a_candidate() {
        let re = regex::bytes::Regex::new(CANDIDATES).unwrap();
        for line in [
            "x ERROR y",
            "x error: y",
            "x [core:error] y",
            "1 2 E Tag: y",
            "<3>Nov 1 x",
            r#"{"level":50}"#,
            r#"{"severity": 2}"#,
            "x SEVERE y",
            "x Fatal y",
        ] {
            assert!(re.is_match(line.as_bytes()), "{line}");
        }
        assert!(!re.is_match(b"ERROR_INVALID_FUNCTION in an Info line"));
    }
}
