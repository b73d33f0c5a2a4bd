//! Timestamps of log lines: which format a file uses (detected once per file from a sample
//! of its first lines, most specific format first) and the parsing of one line's time in
//! that format, as UTC. Parsing works on bytes and allocates nothing except for JSON lines,
//! because it runs on every bisection probe and every matched line.
//!
//! Zone-less times are read in the configured time zone; yearless ones (syslog, klog) get
//! the year that puts them no later than one day after the reference time (the window's
//! end), as wire-formats.md §8 asks.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How a file writes its timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsFormat {
    /// RFC 3339 / ISO 8601 and its relatives (Python logging `,123`, logback, PostgreSQL
    /// `%m` with a zone abbreviation) at the very start of the line.
    IsoStart,
    /// The same, found within the first bytes of the line (`<34>1 2025-…` RFC 5424,
    /// `[2025-…]`, `level=info ts=2025-…`).
    IsoNear,
    /// Syslog RFC 3164 `Nov  9 21:00:00`, optionally after `<PRI>`.
    Syslog,
    /// nginx/Apache access logs: `[19/Nov/2025:21:00:00 +0000]` anywhere in the line.
    Clf,
    /// nginx error log `2025/11/19 21:00:00`.
    NginxError,
    /// Apache 2.4 error log `[Wed Nov 19 21:00:00.123456 2025]`.
    ApacheError,
    /// klog/glog `E1119 21:00:00.123456`.
    Klog,
    /// JSON lines, with the key that holds the time.
    Json { key: String },
}

/// JSON keys that hold the time, in probe order (wire-formats.md §8).
pub const JSON_TIME_KEYS: &[&str] = &[
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "t",
    "date",
    "asctime",
    "@t",
    "eventTime",
    "__REALTIME_TIMESTAMP",
];

/// How far into a line [`TsFormat::IsoNear`] looks for the timestamp.
const NEAR_BYTES: usize = 96;

impl TsFormat {
    /// The name used in the evidence (`data.files[].format`).
    pub fn name(&self) -> String {
        match self {
            TsFormat::IsoStart => "iso8601".into(),
            TsFormat::IsoNear => "iso8601 (after a prefix)".into(),
            TsFormat::Syslog => "syslog rfc3164".into(),
            TsFormat::Clf => "common log format".into(),
            TsFormat::NginxError => "nginx error log".into(),
            TsFormat::ApacheError => "apache error log".into(),
            TsFormat::Klog => "klog".into(),
            TsFormat::Json { key } => format!("json ({key})"),
        }
    }

    /// The time of `line` and the byte offset just after its timestamp (where the message
    /// starts), or `None` when the line carries no timestamp in this format.
    pub fn parse(&self, line: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
        match self {
            TsFormat::IsoStart => parse_iso(line, 0, cx),
            TsFormat::IsoNear => {
                let limit = line.len().min(NEAR_BYTES);
                (0..limit).find_map(|i| {
                    let starts =
                        line[i].is_ascii_digit() && (i == 0 || !line[i - 1].is_ascii_digit());
                    if starts { parse_iso(line, i, cx) } else { None }
                })
            }
            TsFormat::Syslog => parse_syslog(line, skip_pri(line), cx),
            TsFormat::Clf => {
                memchr::memchr_iter(b'[', line).take(4).find_map(|i| parse_clf(line, i))
            }
            TsFormat::NginxError => parse_nginx_error(line, cx),
            TsFormat::ApacheError => parse_apache_error(line, cx),
            TsFormat::Klog => parse_klog(line, cx),
            TsFormat::Json { key } => parse_json(line, key, cx).map(|t| (t, 0)),
        }
    }
}

/// How zone-less and yearless times are completed.
#[derive(Debug, Clone, Copy)]
pub struct TimeContext {
    /// The zone of zone-less times.
    pub tz: Tz,
    /// Yearless times get the year that puts them at most a day after this.
    pub reference: DateTime<Utc>,
}

impl TimeContext {
    pub fn new(tz: Tz, reference: DateTime<Utc>) -> Self {
        Self { tz, reference }
    }

    /// A zone-less time read in the configured zone. In a DST gap the time is moved an
    /// hour later (what the clock would have shown); in an overlap the earlier is taken.
    fn local(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        if self.tz == Tz::UTC {
            return Some(naive.and_utc());
        }
        let resolved =
            self.tz.from_local_datetime(&naive).earliest().or_else(|| {
                self.tz.from_local_datetime(&(naive + Duration::hours(1))).earliest()
            })?;
        Some(resolved.with_timezone(&Utc))
    }

    /// A yearless local time with the year inferred.
    fn yearless(
        &self,
        month: u32,
        day: u32,
        h: u32,
        m: u32,
        s: u32,
        nanos: u32,
    ) -> Option<DateTime<Utc>> {
        let limit = self.reference + Duration::days(1);
        let year = self.reference.year();
        for y in [year, year - 1] {
            let Some(date) = NaiveDate::from_ymd_opt(y, month, day) else { continue };
            let naive = date.and_hms_nano_opt(h, m, s, nanos)?;
            let t = self.local(naive)?;
            if t <= limit {
                return Some(t);
            }
        }
        None
    }
}

/// Picks the format that reads the most of `lines`, most specific first on ties. `None`
/// when no format reads any line.
pub fn detect(lines: &[&[u8]], cx: &TimeContext) -> Option<TsFormat> {
    let mut candidates = vec![
        TsFormat::Klog,
        TsFormat::ApacheError,
        TsFormat::NginxError,
        TsFormat::Syslog,
        TsFormat::IsoStart,
        TsFormat::Clf,
        TsFormat::IsoNear,
    ];
    if let Some(key) = detect_json_key(lines, cx) {
        candidates.insert(0, TsFormat::Json { key });
    }
    let mut best: Option<(usize, TsFormat)> = None;
    for format in candidates {
        let hits = lines.iter().filter(|l| format.parse(l, cx).is_some()).count();
        if hits > 0 && best.as_ref().is_none_or(|(b, _)| hits > *b) {
            best = Some((hits, format));
        }
    }
    best.map(|(_, f)| f)
}

fn detect_json_key(lines: &[&[u8]], cx: &TimeContext) -> Option<String> {
    let mut counts = vec![0usize; JSON_TIME_KEYS.len()];
    for line in lines.iter().filter(|l| l.trim_ascii_start().starts_with(b"{")) {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(line.trim_ascii()) else {
            continue;
        };
        if let Some(i) = JSON_TIME_KEYS
            .iter()
            .position(|k| map.get(*k).is_some_and(|v| json_time(v, cx).is_some()))
        {
            counts[i] += 1;
        }
    }
    let (i, n) = counts.iter().enumerate().max_by_key(|(i, n)| (**n, usize::MAX - i))?;
    (*n > 0).then(|| JSON_TIME_KEYS[i].to_owned())
}

fn parse_json(line: &[u8], key: &str, cx: &TimeContext) -> Option<DateTime<Utc>> {
    let trimmed = line.trim_ascii();
    if !trimmed.starts_with(b"{") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(trimmed).ok()?;
    json_time(value.get(key)?, cx)
}

/// A JSON time value: a string in any text format, or an epoch number (or numeric string)
/// whose unit follows from its magnitude.
pub fn json_time(value: &serde_json::Value, cx: &TimeContext) -> Option<DateTime<Utc>> {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                epoch_int(i)
            } else {
                epoch_float(n.as_f64()?)
            }
        }
        serde_json::Value::String(s) => {
            let b = s.trim().as_bytes();
            if !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'-') {
                if let Ok(i) = s.trim().parse::<i64>() {
                    return epoch_int(i);
                }
                if let Ok(f) = s.trim().parse::<f64>() {
                    return epoch_float(f);
                }
            }
            parse_iso(b, 0, cx)
                .or_else(|| parse_syslog(b, 0, cx))
                .or_else(|| parse_clf(b, 0))
                .or_else(|| parse_nginx_error(b, cx))
                .map(|(t, _)| t)
        }
        _ => None,
    }
}

fn epoch_int(v: i64) -> Option<DateTime<Utc>> {
    let a = v.unsigned_abs();
    if a < 100_000_000_000 {
        DateTime::from_timestamp(v, 0)
    } else if a < 100_000_000_000_000 {
        DateTime::from_timestamp_millis(v)
    } else if a < 100_000_000_000_000_000 {
        DateTime::from_timestamp_micros(v)
    } else {
        Some(DateTime::from_timestamp_nanos(v))
    }
}

fn epoch_float(v: f64) -> Option<DateTime<Utc>> {
    if !v.is_finite() {
        return None;
    }
    let a = v.abs();
    let secs = if a < 1e11 {
        v
    } else if a < 1e14 {
        v / 1e3
    } else if a < 1e17 {
        v / 1e6
    } else {
        v / 1e9
    };
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    DateTime::from_timestamp(whole as i64, nanos)
}

fn num(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let digits = b.get(at..at + n)?;
    digits
        .iter()
        .try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// A space-padded or zero-padded two-character day (`" 9"`, `"09"`, `"19"`).
fn padded_day(b: &[u8], at: usize) -> Option<u32> {
    match b.get(at)? {
        b' ' => num(b, at + 1, 1),
        _ => num(b, at, 2),
    }
}

fn month(b: &[u8], at: usize) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let name = b.get(at..at + 3)?;
    MONTHS.iter().position(|m| m.as_slice() == name).map(|i| i as u32 + 1)
}

/// `HH:MM:SS` at `at`.
fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((num(b, at, 2)?, num(b, at + 3, 2)?, num(b, at + 6, 2)?))
}

/// An optional `.123` / `,123` fraction at `at`: nanoseconds and the offset after it.
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    if !matches!(b.get(at), Some(b'.' | b',')) {
        return (0, at);
    }
    let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return (0, at);
    }
    let mut nanos = 0u32;
    for (i, c) in b[at + 1..at + 1 + digits.min(9)].iter().enumerate() {
        nanos += u32::from(c - b'0') * 10u32.pow(8 - i as u32);
    }
    (nanos, at + 1 + digits)
}

fn naive(
    y: i32,
    mo: u32,
    d: u32,
    (h, mi, s): (u32, u32, u32),
    nanos: u32,
) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_nano_opt(h, mi, s, nanos)
}

/// Zone abbreviations PostgreSQL and others print, with their UTC offset in hours. Unknown
/// abbreviations fall back to the configured zone.
fn abbreviation_offset(abbr: &[u8]) -> Option<i32> {
    Some(match abbr {
        b"UTC" | b"GMT" | b"UT" | b"Z" | b"WET" => 0,
        b"EST" => -5,
        b"EDT" | b"AST" => -4,
        b"CST" => -6,
        b"CDT" => -5,
        b"MST" => -7,
        b"MDT" => -6,
        b"PST" => -8,
        b"PDT" => -7,
        b"AKST" => -9,
        b"AKDT" => -8,
        b"HST" => -10,
        b"CET" | b"BST" | b"WEST" => 1,
        b"CEST" | b"EET" => 2,
        b"EEST" | b"MSK" => 3,
        b"JST" | b"KST" => 9,
        b"AEST" => 10,
        b"AEDT" => 11,
        _ => return None,
    })
}

fn with_offset(naive: NaiveDateTime, secs: i32) -> Option<DateTime<Utc>> {
    let zone = FixedOffset::east_opt(secs)?;
    Some(zone.from_local_datetime(&naive).single()?.with_timezone(&Utc))
}

/// RFC 3339 / ISO 8601 at `at`: `YYYY-MM-DD[T ]HH:MM:SS[.,frac][Z|±HH[:]MM| ABBR]`.
fn parse_iso(b: &[u8], at: usize, cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(at + 4) != Some(&b'-') || b.get(at + 7) != Some(&b'-') {
        return None;
    }
    if !matches!(b.get(at + 10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let y = num(b, at, 4)? as i32;
    let (mo, d) = (num(b, at + 5, 2)?, num(b, at + 8, 2)?);
    let time = hms(b, at + 11)?;
    let (nanos, mut end) = fraction(b, at + 19);
    let naive = naive(y, mo, d, time, nanos)?;
    match b.get(end) {
        Some(b'Z' | b'z') => Some((naive.and_utc(), end + 1)),
        Some(sign @ (b'+' | b'-')) => {
            let hh = num(b, end + 1, 2)?;
            let (mm, after) = if b.get(end + 3) == Some(&b':') {
                (num(b, end + 4, 2)?, end + 6)
            } else if let Some(mm) = num(b, end + 3, 2) {
                (mm, end + 5)
            } else {
                (0, end + 3)
            };
            let secs = (hh * 3600 + mm * 60) as i32 * if *sign == b'-' { -1 } else { 1 };
            Some((with_offset(naive, secs)?, after))
        }
        Some(b' ') => {
            let letters =
                b[end + 1..].iter().take(6).take_while(|c| c.is_ascii_uppercase()).count();
            let boundary = matches!(b.get(end + 1 + letters), None | Some(b' ' | b']' | b'\t'));
            if (2..=5).contains(&letters)
                && boundary
                && let Some(hours) = abbreviation_offset(&b[end + 1..end + 1 + letters])
            {
                end += 1 + letters;
                return Some((with_offset(naive, hours * 3600)?, end));
            }
            Some((cx.local(naive)?, end))
        }
        _ => Some((cx.local(naive)?, end)),
    }
}

/// The length of a leading `<PRI>`, or 0.
fn skip_pri(b: &[u8]) -> usize {
    if b.first() != Some(&b'<') {
        return 0;
    }
    match b.iter().take(6).position(|c| *c == b'>') {
        Some(i) if i > 1 && b[1..i].iter().all(u8::is_ascii_digit) => i + 1,
        _ => 0,
    }
}

/// `Nov 19 21:00:00` / `Nov  9 21:00:00` at `at`.
fn parse_syslog(b: &[u8], at: usize, cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    let mo = month(b, at)?;
    if b.get(at + 3) != Some(&b' ') || b.get(at + 6) != Some(&b' ') {
        return None;
    }
    let d = padded_day(b, at + 4)?;
    let (h, mi, s) = hms(b, at + 7)?;
    let (nanos, end) = fraction(b, at + 15);
    Some((cx.yearless(mo, d, h, mi, s, nanos)?, end))
}

/// `[19/Nov/2025:21:00:00 +0000]` with its `[` at `at`.
fn parse_clf(b: &[u8], at: usize) -> Option<(DateTime<Utc>, usize)> {
    if b.get(at) != Some(&b'[') || b.get(at + 3) != Some(&b'/') || b.get(at + 7) != Some(&b'/') {
        return None;
    }
    let d = num(b, at + 1, 2)?;
    let mo = month(b, at + 4)?;
    let y = num(b, at + 8, 4)? as i32;
    if b.get(at + 12) != Some(&b':') {
        return None;
    }
    let time = hms(b, at + 13)?;
    let (nanos, p) = fraction(b, at + 21);
    if b.get(p) != Some(&b' ') {
        return None;
    }
    let sign: i32 = match b.get(p + 1)? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hh, mm) = (num(b, p + 2, 2)?, num(b, p + 4, 2)?);
    if b.get(p + 6) != Some(&b']') {
        return None;
    }
    let t = with_offset(naive(y, mo, d, time, nanos)?, sign * (hh * 3600 + mm * 60) as i32)?;
    Some((t, p + 7))
}

/// `2025/11/19 21:00:00` at the line start.
fn parse_nginx_error(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(4) != Some(&b'/') || b.get(7) != Some(&b'/') || b.get(10) != Some(&b' ') {
        return None;
    }
    let (y, mo, d) = (num(b, 0, 4)? as i32, num(b, 5, 2)?, num(b, 8, 2)?);
    let time = hms(b, 11)?;
    Some((cx.local(naive(y, mo, d, time, 0)?)?, 19))
}

/// `[Wed Nov 19 21:00:00.123456 2025]` at the line start.
fn parse_apache_error(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.first() != Some(&b'[') || b.get(4) != Some(&b' ') || b.get(8) != Some(&b' ') {
        return None;
    }
    if !b[1..4].iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let mo = month(b, 5)?;
    let d = padded_day(b, 9)?;
    if b.get(11) != Some(&b' ') {
        return None;
    }
    let time = hms(b, 12)?;
    let (nanos, p) = fraction(b, 20);
    if b.get(p) != Some(&b' ') || b.get(p + 5) != Some(&b']') {
        return None;
    }
    let y = num(b, p + 1, 4)? as i32;
    Some((cx.local(naive(y, mo, d, time, nanos)?)?, p + 6))
}

/// `E1119 21:00:00.123456` at the line start.
fn parse_klog(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if !matches!(b.first(), Some(b'I' | b'W' | b'E' | b'F')) || b.get(5) != Some(&b' ') {
        return None;
    }
    let (mo, d) = (num(b, 1, 2)?, num(b, 3, 2)?);
    let (h, mi, s) = hms(b, 6)?;
    let (nanos, end) = fraction(b, 14);
    if end != 21 || !matches!(b.get(end), Some(b' ' | b'\t')) {
        return None;
    }
    Some((cx.yearless(mo, d, h, mi, s, nanos)?, end))
}

/// Whether a klog line's severity letter says error or fatal.
pub fn klog_is_error(line: &[u8]) -> bool {
    matches!(line.first(), Some(b'E' | b'F'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> TimeContext {
        TimeContext::new(Tz::UTC, "2025-11-20T00:00:00Z".parse().unwrap())
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn every_documented_example_parses_to_the_same_instant() {
        let cases: &[(&[u8], TsFormat, &str)] = &[
            (
                b"2025-11-19T21:00:00.123456789Z msg",
                TsFormat::IsoStart,
                "2025-11-19T21:00:00.123456789Z",
            ),
            (b"2025-11-19 22:00:00+01:00 msg", TsFormat::IsoStart, "2025-11-19T21:00:00Z"),
            (b"2025-11-19T22:00:00+0100 msg", TsFormat::IsoStart, "2025-11-19T21:00:00Z"),
            (
                b"<34>1 2025-11-19T21:00:00.003Z host app",
                TsFormat::IsoNear,
                "2025-11-19T21:00:00.003Z",
            ),
            (b"Nov 19 21:00:00 host app[1]: x", TsFormat::Syslog, "2025-11-19T21:00:00Z"),
            (b"<13>Nov  9 21:00:00 host app: x", TsFormat::Syslog, "2025-11-09T21:00:00Z"),
            (
                b"1.2.3.4 - - [19/Nov/2025:22:00:00 +0100] \"GET / HTTP/1.1\" 200 1",
                TsFormat::Clf,
                "2025-11-19T21:00:00Z",
            ),
            (
                b"2025/11/19 21:00:00 [error] 77#77: *5 x",
                TsFormat::NginxError,
                "2025-11-19T21:00:00Z",
            ),
            (
                b"[Wed Nov 19 21:00:00.123456 2025] [core:error] x",
                TsFormat::ApacheError,
                "2025-11-19T21:00:00.123456Z",
            ),
            (
                b"E1119 21:00:00.123456   24371 main.go:12] msg",
                TsFormat::Klog,
                "2025-11-19T21:00:00.123456Z",
            ),
            (b"2025-11-19 21:00:00,123 ERROR x", TsFormat::IsoStart, "2025-11-19T21:00:00.123Z"),
            (
                b"2025-11-19 22:00:00.123 CET [1234] LOG:  x",
                TsFormat::IsoStart,
                "2025-11-19T21:00:00.123Z",
            ),
            (
                b"{\"ts\":1763586000.5,\"msg\":\"x\"}",
                TsFormat::Json { key: "ts".into() },
                "2025-11-19T21:00:00.5Z",
            ),
            (
                b"{\"time\":1763586000123}",
                TsFormat::Json { key: "time".into() },
                "2025-11-19T21:00:00.123Z",
            ),
            (
                b"{\"__REALTIME_TIMESTAMP\":\"1763586000000001\"}",
                TsFormat::Json { key: "__REALTIME_TIMESTAMP".into() },
                "2025-11-19T21:00:00.000001Z",
            ),
            (
                b"{\"@timestamp\":\"2025-11-19T21:00:00Z\"}",
                TsFormat::Json { key: "@timestamp".into() },
                "2025-11-19T21:00:00Z",
            ),
        ];
        for (line, format, want) in cases {
            let got = format.parse(line, &cx()).map(|(t, _)| t);
            assert_eq!(got, Some(t(want)), "{}", String::from_utf8_lossy(line));
            assert_eq!(
                detect(&[line], &cx()).as_ref(),
                Some(format),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn yearless_times_never_land_more_than_a_day_after_the_reference() {
        let dec = TsFormat::Syslog.parse(b"Dec 31 23:00:00 h a: x", &cx()).unwrap().0;
        assert_eq!(dec, t("2024-12-31T23:00:00Z"));
    }

    #[test]
    fn zoneless_times_use_the_configured_zone() {
        let berlin = TimeContext::new(chrono_tz::Europe::Berlin, cx().reference);
        let got = TsFormat::IsoStart.parse(b"2025-11-19 22:00:00,000 x", &berlin).unwrap().0;
        assert_eq!(got, t("2025-11-19T21:00:00Z"));
    }

    #[test]
    fn junk_is_not_a_timestamp() {
        for line in [
            &b"\tat com.example.Foo(Foo.java:12)"[..],
            b"",
            b"\xff\xfe2025-",
            b"2025-13-45T99:00:00Z",
        ] {
            assert_eq!(detect(&[line], &cx()), None);
        }
    }
}
