//! The table of text timestamp layouts: each entry names a layout, gives an example line
//! with the instant it stands for, and a parser over bytes. Adding a format is one entry
//! here; the table's test parses every example, and detection tries the entries in table
//! order (ties go to the earlier, more specific entry).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use super::TimeContext;

/// A parser: the time of a line and the offset just after its timestamp.
pub type Parse = fn(&[u8], &TimeContext) -> Option<(DateTime<Utc>, usize)>;

/// One text timestamp layout.
pub struct Layout {
    /// The name in the evidence (`data.files[].format`).
    pub name: &'static str,
    /// A line in this layout, as the system writes it (README and tests).
    pub example: &'static str,
    /// The instant of `example` read in UTC, with yearless layouts placed in 2025.
    pub example_time: &'static str,
    pub parse: Parse,
}

impl PartialEq for Layout {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Layout {}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// How far into a line the layouts that look "after a prefix" search.
pub const NEAR_BYTES: usize = 96;

/// Every text layout, most specific first.
pub static LAYOUTS: &[Layout] = &[
    Layout {
        name: KLOG,
        example: "E1119 21:00:00.123456   24371 main.go:12] failed to sync",
        example_time: "2025-11-19T21:00:00.123456Z",
        parse: |b, cx| parse_klog(b, cx),
    },
    Layout {
        name: "apache error log",
        example: "[Wed Nov 19 21:00:00.123456 2025] [core:error] [pid 1] AH00037: x",
        example_time: "2025-11-19T21:00:00.123456Z",
        parse: |b, cx| parse_apache_error(b, cx),
    },
    Layout {
        name: "nginx error log",
        example: "2025/11/19 21:00:00 [error] 77#77: *5 connect() failed",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, cx| parse_slashed(b, 4, cx),
    },
    Layout {
        name: "log4j short date",
        example: "25/11/19 21:00:00 INFO spark.SecurityManager: Changing view acls",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, cx| parse_slashed(b, 2, cx),
    },
    Layout {
        name: LOGCAT,
        example: "11-19 21:00:00.811  1702  2395 E WindowManager: Window freeze timeout",
        example_time: "2025-11-19T21:00:00.811Z",
        parse: |b, cx| parse_logcat(b, cx),
    },
    Layout {
        name: "compact yymmdd hhmmss",
        example: "251119 210000 148 INFO dfs.DataNode: Receiving block blk_1",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, cx| parse_compact(b, cx),
    },
    Layout {
        name: "compact yyyymmdd-hh:mm:ss:ms",
        example: "20251119-21:0:5:11|Step_LSC|30002312|onStandStepChanged 3579",
        example_time: "2025-11-19T21:00:05.011Z",
        parse: |b, cx| parse_compact_dash(b, cx),
    },
    Layout {
        name: "bracketed mm.dd hh:mm:ss",
        example: "[11.19 21:00:00] chrome.exe - proxy.example.com:5070 open through proxy",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, cx| parse_bracketed_short(b, cx),
    },
    Layout {
        name: SYSLOG,
        example: "<11>Nov 9 21:00:00 web-1 sshd[12]: error: kex_exchange_identification",
        example_time: "2025-11-09T21:00:00Z",
        parse: |b, cx| parse_syslog(b, skip_pri(b), cx),
    },
    Layout {
        name: ISO,
        example: "2025-11-19 22:00:00,123+01:00 ERROR app: boom",
        example_time: "2025-11-19T21:00:00.123Z",
        parse: |b, cx| parse_iso(b, 0, cx),
    },
    Layout {
        name: CLF,
        example: r#"10.0.0.1 - - [19/Nov/2025:22:00:00 +0100] "GET / HTTP/1.1" 503 1"#,
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, _| memchr::memchr_iter(b'[', b).take(4).find_map(|i| parse_clf(b, i)),
    },
    Layout {
        name: "iso8601 (after a prefix)",
        example: "<34>1 2025-11-19T21:00:00.003Z web-1 app 42 - - ok",
        example_time: "2025-11-19T21:00:00.003Z",
        parse: |b, cx| near(b, |i| parse_iso(b, i, cx)),
    },
    Layout {
        name: "epoch seconds or ms (after a prefix)",
        example: "- 1763586000 2025.11.19 dn228 Nov 19 21:00:00 dn228/dn228 crond[2915]: x",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, _| near(b, |i| parse_epoch_field(b, i)),
    },
    Layout {
        name: "syslog rfc3164 (after a prefix)",
        example: "web-1.example.com Nov 19 21:00:00 app[12]: ERROR x",
        example_time: "2025-11-19T21:00:00Z",
        parse: |b, cx| near(b, |i| parse_syslog(b, i, cx)),
    },
    Layout {
        name: "db2 yyyy-mm-dd-hh.mm.ss (after a prefix)",
        example: "R02-M1-N0-C:J12-U11 2025-11-19-21.00.00.675872 R02-M1-N0 RAS KERNEL INFO x",
        example_time: "2025-11-19T21:00:00.675872Z",
        parse: |b, cx| near(b, |i| parse_db2(b, i, cx)),
    },
];

pub const KLOG: &str = "klog";
pub const LOGCAT: &str = "android logcat";
pub const SYSLOG: &str = "syslog rfc3164";
pub const ISO: &str = "iso8601";
pub const CLF: &str = "common log format";

/// Whether a line of `layout` may start with a syslog `<PRI>` before its time: syslog, and
/// the layouts that find their time after a prefix. The others read the time from the
/// line's first byte.
pub fn may_follow_a_priority(layout: &Layout) -> bool {
    layout.name == SYSLOG || layout.name.ends_with("(after a prefix)")
}

/// The layout named `name`.
pub fn by_name(name: &str) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| l.name == name)
}

/// The first timestamp `at` finds at a token start within [`NEAR_BYTES`] of the line.
fn near(
    b: &[u8],
    at: impl Fn(usize) -> Option<(DateTime<Utc>, usize)>,
) -> Option<(DateTime<Utc>, usize)> {
    let limit = b.len().min(NEAR_BYTES);
    (0..limit).find_map(|i| {
        let starts = b[i].is_ascii_alphanumeric() && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if starts { at(i) } else { None }
    })
}

pub fn num(b: &[u8], at: usize, n: usize) -> Option<u32> {
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

/// `HH:MM:SS` at `at` (or with another separator).
fn hms_sep(b: &[u8], at: usize, sep: u8) -> Option<(u32, u32, u32)> {
    if b.get(at + 2) != Some(&sep) || b.get(at + 5) != Some(&sep) {
        return None;
    }
    Some((num(b, at, 2)?, num(b, at + 3, 2)?, num(b, at + 6, 2)?))
}

fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    hms_sep(b, at, b':')
}

/// An optional `.123` / `,123` / `:123` fraction at `at`: nanoseconds and the offset after it.
fn fraction_with(b: &[u8], at: usize, marks: &[u8]) -> (u32, usize) {
    if !b.get(at).is_some_and(|c| marks.contains(c)) {
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

fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    fraction_with(b, at, b".,")
}

pub fn naive(
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
pub fn parse_iso(b: &[u8], at: usize, cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
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
pub fn skip_pri(b: &[u8]) -> usize {
    if b.first() != Some(&b'<') {
        return 0;
    }
    match b.iter().take(6).position(|c| *c == b'>') {
        Some(i) if i > 1 && b[1..i].iter().all(u8::is_ascii_digit) => i + 1,
        _ => 0,
    }
}

/// `Nov 19 21:00:00`, `Nov  9 21:00:00` or `Nov 9 21:00:00` at `at`.
pub fn parse_syslog(b: &[u8], at: usize, cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    let mo = month(b, at)?;
    if b.get(at + 3) != Some(&b' ') {
        return None;
    }
    let (d, time_at) = if b.get(at + 5) == Some(&b' ') {
        (num(b, at + 4, 1)?, at + 6)
    } else if b.get(at + 6) == Some(&b' ') {
        (padded_day(b, at + 4)?, at + 7)
    } else {
        return None;
    };
    let (h, mi, s) = hms(b, time_at)?;
    let (nanos, end) = fraction(b, time_at + 8);
    Some((cx.yearless(mo, d, (h, mi, s), nanos)?, end))
}

/// `[19/Nov/2025:21:00:00 +0000]` with its `[` at `at`.
pub fn parse_clf(b: &[u8], at: usize) -> Option<(DateTime<Utc>, usize)> {
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

/// `2025/11/19 21:00:00` (nginx, `year_digits` 4) or `25/11/19 21:00:00` (log4j's
/// `yy/MM/dd`, Spark's default, `year_digits` 2) at the line start, optional fraction.
pub fn parse_slashed(
    b: &[u8],
    year_digits: usize,
    cx: &TimeContext,
) -> Option<(DateTime<Utc>, usize)> {
    let y = year_digits;
    if b.get(y) != Some(&b'/') || b.get(y + 3) != Some(&b'/') || b.get(y + 6) != Some(&b' ') {
        return None;
    }
    let year = num(b, 0, y)? as i32 + if y == 2 { 2000 } else { 0 };
    let (mo, d) = (num(b, y + 1, 2)?, num(b, y + 4, 2)?);
    let time = hms(b, y + 7)?;
    let (nanos, end) = fraction(b, y + 15);
    Some((cx.local(naive(year, mo, d, time, nanos)?)?, end))
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
    let time = hms(b, 6)?;
    let (nanos, end) = fraction(b, 14);
    if end != 21 || !matches!(b.get(end), Some(b' ' | b'\t')) {
        return None;
    }
    Some((cx.yearless(mo, d, time, nanos)?, end))
}

/// Android logcat `threadtime`: `11-19 21:00:00.811  1702  2395 E Tag: …` at the line start.
fn parse_logcat(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(2) != Some(&b'-') || b.get(5) != Some(&b' ') {
        return None;
    }
    let (mo, d) = (num(b, 0, 2)?, num(b, 3, 2)?);
    let time = hms(b, 6)?;
    let (nanos, end) = fraction(b, 14);
    if !matches!(b.get(end), Some(b' ' | b'\t') | None) {
        return None;
    }
    Some((cx.yearless(mo, d, time, nanos)?, end))
}

/// HDFS's `yyMMdd HHmmss` at the line start: `251119 210000`.
fn parse_compact(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(6) != Some(&b' ') || !matches!(b.get(13), Some(b' ' | b'\t') | None) {
        return None;
    }
    let year = 2000 + num(b, 0, 2)? as i32;
    let (mo, d) = (num(b, 2, 2)?, num(b, 4, 2)?);
    let time = (num(b, 7, 2)?, num(b, 9, 2)?, num(b, 11, 2)?);
    Some((cx.local(naive(year, mo, d, time, 0)?)?, 13))
}

/// `yyyyMMdd-H:m:s:SSS` at the line start (HealthApp): `20251119-21:00:00:606`. The
/// writer pads nothing after the date: `20251119-21:0:5:11` is 21:00:05.011.
fn parse_compact_dash(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(8) != Some(&b'-') {
        return None;
    }
    let (year, mo, d) = (num(b, 0, 4)? as i32, num(b, 4, 2)?, num(b, 6, 2)?);
    let mut fields = [0u32; 4];
    let mut at = 9;
    for (i, field) in fields.iter_mut().enumerate() {
        let len = b[at.min(b.len())..].iter().take(4).take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > if i == 3 { 3 } else { 2 } {
            return None;
        }
        *field = num(b, at, len)?;
        at += len;
        if i < 3 {
            if b.get(at) != Some(&b':') {
                return None;
            }
            at += 1;
        }
    }
    let [h, mi, sec, ms] = fields;
    Some((cx.local(naive(year, mo, d, (h, mi, sec), ms * 1_000_000)?)?, at))
}

/// `[MM.dd HH:mm:ss]` at the line start (Proxifier): `[11.19 21:00:00]`.
fn parse_bracketed_short(b: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.first() != Some(&b'[') || b.get(3) != Some(&b'.') || b.get(6) != Some(&b' ') {
        return None;
    }
    let (mo, d) = (num(b, 1, 2)?, num(b, 4, 2)?);
    let time = hms(b, 7)?;
    let (nanos, end) = fraction(b, 15);
    if b.get(end) != Some(&b']') {
        return None;
    }
    Some((cx.yearless(mo, d, time, nanos)?, end + 1))
}

/// IBM DB2's `yyyy-MM-dd-HH.mm.ss[.ffffff]` at `at` (BGL): `2025-11-19-21.00.00.675872`.
fn parse_db2(b: &[u8], at: usize, cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    if b.get(at + 4) != Some(&b'-') || b.get(at + 7) != Some(&b'-') || b.get(at + 10) != Some(&b'-')
    {
        return None;
    }
    let (year, mo, d) = (num(b, at, 4)? as i32, num(b, at + 5, 2)?, num(b, at + 8, 2)?);
    let time = hms_sep(b, at + 11, b'.')?;
    let (nanos, end) = fraction_with(b, at + 19, b".");
    Some((cx.local(naive(year, mo, d, time, nanos)?)?, end))
}

/// Epoch seconds (10 digits) or milliseconds (13 digits), with an optional fraction, as a
/// whole token at `at`: `1763586000`, `ts=1763586000.123`, `"ts": 1763586000123`. Only
/// instants between 2001 and 2040 count, so ids and counters are not taken for times.
fn parse_epoch_field(b: &[u8], at: usize) -> Option<(DateTime<Utc>, usize)> {
    let digits = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 10 && digits != 13 {
        return None;
    }
    let whole: i64 = std::str::from_utf8(&b[at..at + digits]).ok()?.parse().ok()?;
    let (mut nanos, end) = fraction_with(b, at + digits, b".");
    if b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-') {
        return None;
    }
    let secs = if digits == 13 {
        nanos = (whole % 1000) as u32 * 1_000_000 + nanos / 1000;
        whole / 1000
    } else {
        whole
    };
    if !(978_307_200..2_208_988_800).contains(&secs) {
        return None;
    }
    Some((DateTime::from_timestamp(secs, nanos)?, end))
}
