//! The level of a log line, where the line has one: the word after the timestamp (`ERROR`,
//! `Error`, `error:`, `[error]`, `level=error`, `SEVERE`, `Info` in Windows CBS), logcat's
//! and klog's severity letters, the syslog priority `<3>`, or a JSON `level`/`severity`/
//! `lvl` field holding a name (zap, logrus, GCP) or a number (bunyan/pino 50 and 60,
//! syslog 0–3). A line with a level is an error because of it; the configured patterns
//! decide only for lines without one. Level words inside identifiers
//! (`ERROR_INVALID_FUNCTION`) are not levels.

use chrono::{DateTime, Utc};

use crate::timestamp::{self, TimeContext, TsFormat, kubelet, layouts};

/// A line's level, where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub is_error: bool,
    /// Offset just after the level token (where the message goes on).
    pub end: usize,
}

/// Regular expressions of the lines that may carry an error level, searched together with
/// the patterns so that only those lines are looked at closely. Each format searches only
/// for the level forms [`of`] reads in it ([`candidates`]). `[0-9]` and `[ \t]`, not
/// `\d` and `\s`: the level is read from ASCII digits and spaces only, and the literals
/// that begin a match can then be searched for.
const WORDS: &str =
    r"(?i:\b(?:err|error|fatal|crit|critical|severe|panic|emerg|emergency|alert)\b)";
/// Logcat's priority letters.
const LETTERS: &str = r"\b[EFA]\b";
/// A syslog `<PRI>` at the line's start.
const PRIORITY: &str = r"(?m:^<[0-9]{1,3}>)";
/// A JSON level field holding an error number (bunyan/pino 50–99, syslog 0–3). `\d` after
/// the first digit: the literals that begin a match then stop at it (`"level":5`), not ten
/// times as many that end with the second digit.
pub(crate) const JSON_NUMBER: &str =
    r#""(?:level|severity|lvl|loglevel|@l|levelname)"[ \t]*:[ \t]*(?:[5-9]\d|[0-3])\b"#;
/// The keys of [`JSON_NUMBER`]. Every line of a JSON log holds one of them, so the
/// prefilter searches for them quoted and reads the number after them itself
/// ([`crate::prefilter`]) instead of searching for every key, spacing and digit.
pub(crate) const JSON_NUMBER_KEYS: [&str; 6] =
    ["level", "severity", "lvl", "loglevel", "@l", "levelname"];

/// The sets of level candidates: text whose time starts the line; text that may start
/// with a syslog priority; logcat (and klog, which is read line by line anyway); JSON.
pub const CANDIDATE_SETS: [&[&str]; 4] =
    [&[WORDS], &[WORDS, PRIORITY], &[WORDS, LETTERS, PRIORITY], &[WORDS, JSON_NUMBER]];

/// Which of [`CANDIDATE_SETS`] the lines of `format` are searched with: only the level
/// forms [`of`] reads in that format. A line of the kubelet is searched as its content's
/// format (its priority would not start the line).
pub fn candidates(format: &TsFormat) -> usize {
    match format.content() {
        TsFormat::Json { .. } => 3,
        TsFormat::Kubelet(_) => 0,
        TsFormat::Custom(_) => 1,
        TsFormat::Text(l) if l.name == layouts::LOGCAT || l.name == layouts::KLOG => 2,
        TsFormat::Text(l) if layouts::may_follow_a_priority(l) => 1,
        TsFormat::Text(_) => 0,
    }
}

/// How far after the timestamp the level is looked for.
const LEVEL_BYTES: usize = 160;
/// Words (without digits) looked at after the timestamp before giving up.
const LEVEL_WORDS: usize = 3;

/// JSON keys that hold the level, in the order they are looked at; `log.level` is also
/// looked for as `level` inside a `log` object ([`JSON_KEYS`] ends with `log`).
const JSON_LEVEL_KEYS: [&str; 8] =
    ["level", "severity", "lvl", "loglevel", "log.level", "@l", "levelname", "@level"];
/// The keys a JSON line is read for: its time's (first, filled in), the level keys, `log`.
const JSON_KEYS: [&str; 10] =
    ["", "level", "severity", "lvl", "loglevel", "log.level", "@l", "levelname", "@level", "log"];

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
    let [_, fields @ ..] = timestamp::json_fields(line.trim_ascii(), JSON_KEYS)?;
    json_level(&fields)
}

/// The time of a JSON line under `key` and its level, in one pass over the object: a line
/// of a JSON log that is worth a look needs both.
pub fn json_timed(
    line: &[u8],
    key: &str,
    cx: &TimeContext,
) -> Option<(DateTime<Utc>, Option<Level>)> {
    let trimmed = line.trim_ascii();
    if !trimmed.starts_with(b"{") {
        return None;
    }
    let mut keys = JSON_KEYS;
    keys[0] = key;
    let [time, fields @ ..] = timestamp::json_fields(trimmed, keys)?;
    let t = timestamp::json_time(time.as_ref()?, cx)?;
    Some((t, json_level(&fields)))
}

/// The level among the values of the level keys and `log` ([`JSON_KEYS`] after the time).
fn json_level(fields: &[Option<serde_json::Value>; 9]) -> Option<Level> {
    let (levels, log) = fields.split_at(JSON_LEVEL_KEYS.len());
    let field = JSON_LEVEL_KEYS.iter().zip(levels).find_map(|(k, v)| {
        v.as_ref().or_else(|| {
            let (a, b) = k.split_once('.')?;
            debug_assert_eq!(a, "log");
            log[0].as_ref()?.get(b)
        })
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
    fn the_numbered_json_keys_are_those_of_the_candidate() {
        let keys = JSON_NUMBER_KEYS.join("|");
        assert!(JSON_NUMBER.starts_with(&format!("\"(?:{keys})\"")), "{JSON_NUMBER}");
    }

    #[test]
    fn every_error_level_is_a_candidate() {
        let all = CANDIDATE_SETS.iter().flat_map(|set| set.iter()).copied();
        let re = regex::bytes::Regex::new(&all.collect::<Vec<_>>().join("|")).unwrap();
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
