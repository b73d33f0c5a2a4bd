//! Timestamps of log lines: which format a file uses (detected once per file from a sample
//! of its first lines: a text layout from the table in [`layouts`], a JSON key, or the
//! configured `timestamp_format`) and the parsing of one line's time in that format, as UTC.
//! Parsing works on bytes and allocates nothing except for JSON lines and custom formats,
//! because it runs on every bisection probe and every matched line.
//!
//! Zone-less times are read in the configured time zone. Yearless ones (syslog, klog,
//! logcat) get their year from the file itself: its last line was written near its
//! modification time, lines are nearly in order, so each line takes the year that puts it
//! at most a day after the file's modification time (a December line in a file modified in
//! January is from the year before). The run's anchor plays no part: a `collect at` two
//! days ago over a weekly-rotated syslog reads the same years as one run today.

mod custom;
pub mod kubelet;
pub mod layouts;

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub use custom::{Custom, CustomError};
pub use layouts::{LAYOUTS, Layout};

/// How a file writes its timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsFormat {
    /// A text layout of the table.
    Text(&'static Layout),
    /// JSON lines, with the key that holds the time.
    Json { key: String },
    /// The configured `timestamp_format` (strftime), found by its first match in the line.
    Custom(Arc<Custom>),
    /// A container's log as the kubelet serves it with `timestamps=true`: the kubelet's
    /// RFC 3339 time, a space, and the container's line in its own format (`None`: the
    /// container writes no timestamps). See [`kubelet`].
    Kubelet(Option<Box<TsFormat>>),
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

impl TsFormat {
    /// The name used in the evidence (`data.files[].format`).
    pub fn name(&self) -> String {
        match self {
            TsFormat::Text(layout) => layout.name.into(),
            TsFormat::Json { key } if key.is_empty() => "json".into(),
            TsFormat::Json { key } => format!("json ({key})"),
            TsFormat::Custom(c) => format!("timestamp_format {}", c.format()),
            TsFormat::Kubelet(None) => "kubelet timestamps".into(),
            TsFormat::Kubelet(Some(inner)) => format!("kubelet timestamps ({})", inner.name()),
        }
    }

    /// The format of the lines' own text: for kubelet lines, the container's (itself when
    /// the container writes no timestamps); any other format is its own.
    pub fn content(&self) -> &TsFormat {
        match self {
            TsFormat::Kubelet(Some(inner)) => inner,
            other => other,
        }
    }

    /// The layout named `name` of the table (tests and tools).
    pub fn layout(name: &str) -> Option<TsFormat> {
        layouts::by_name(name).map(TsFormat::Text)
    }

    /// Whether lines are JSON objects (their message and level are fields).
    pub fn is_json(&self) -> bool {
        matches!(self.content(), TsFormat::Json { .. })
    }

    /// Whether this is the text layout named `name`.
    pub fn is(&self, name: &str) -> bool {
        matches!(self, TsFormat::Text(l) if l.name == name)
    }

    /// The time of `line` and the byte offset just after its timestamp (where the message
    /// starts), or `None` when the line carries no timestamp in this format.
    pub fn parse(&self, line: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
        match self {
            TsFormat::Text(layout) => (layout.parse)(line, cx),
            TsFormat::Json { key } => parse_json(line, key, cx).map(|t| (t, 0)),
            TsFormat::Custom(c) => c.parse(line, cx),
            TsFormat::Kubelet(inner) => kubelet::parse(line, inner.as_deref(), cx),
        }
    }
}

/// How zone-less and yearless times are completed.
#[derive(Debug, Clone, Copy)]
pub struct TimeContext {
    /// The zone of zone-less times.
    pub tz: Tz,
    /// Yearless times get the year that puts them at most a day after this: the file's
    /// modification time (its last line's time, near enough).
    pub reference: DateTime<Utc>,
}

impl TimeContext {
    pub fn new(tz: Tz, reference: DateTime<Utc>) -> Self {
        Self { tz, reference }
    }

    /// The context of one file: yearless times are placed by its modification time, when
    /// it has one.
    pub fn for_file(&self, modified: Option<DateTime<Utc>>) -> Self {
        Self { tz: self.tz, reference: modified.unwrap_or(self.reference) }
    }

    /// A zone-less time read in the configured zone. In a DST gap the time is moved an
    /// hour later (what the clock would have shown); in an overlap the earlier is taken.
    pub fn local(&self, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
        if self.tz == Tz::UTC {
            return Some(naive.and_utc());
        }
        let resolved =
            self.tz.from_local_datetime(&naive).earliest().or_else(|| {
                self.tz.from_local_datetime(&(naive + Duration::hours(1))).earliest()
            })?;
        Some(resolved.with_timezone(&Utc))
    }

    /// A yearless local time with its year: the latest that puts it at most a day after
    /// the reference (a file's lines run up to its modification time; from December into
    /// January the year goes up with them).
    pub fn yearless(
        &self,
        month: u32,
        day: u32,
        time: (u32, u32, u32),
        nanos: u32,
    ) -> Option<DateTime<Utc>> {
        self.yearless_with(|y| layouts::naive(y, month, day, time, nanos))
    }

    /// [`TimeContext::yearless`] for a time that `at_year` completes with a year.
    pub fn yearless_with(
        &self,
        at_year: impl Fn(i32) -> Option<NaiveDateTime>,
    ) -> Option<DateTime<Utc>> {
        let limit = self.reference + Duration::days(1);
        let year = self.reference.year();
        // 29 February exists only in leap years: look back up to 8 years for one.
        (year - 8..=year + 1).rev().find_map(|y| {
            let t = self.local(at_year(y)?)?;
            (t <= limit).then_some(t)
        })
    }
}

/// Picks the format that reads the most of `lines`, most specific first on ties. `None`
/// when no format reads any line.
pub fn detect(lines: &[&[u8]], cx: &TimeContext) -> Option<TsFormat> {
    let mut candidates: Vec<TsFormat> = LAYOUTS.iter().map(TsFormat::Text).collect();
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
    json_time(&json_field(trimmed, key)?, cx)
}

/// The value of the top-level `key` of the JSON object `text`, as
/// `serde_json::from_slice::<Value>(text)?.get(key)` gives it (the last of repeated keys;
/// `None` when the text is not one JSON object), without building the other values: a
/// time is read from every line of a JSON log.
pub fn json_field(text: &[u8], key: &str) -> Option<serde_json::Value> {
    let [value] = json_fields(text, [key])?;
    value
}

/// The values of several top-level keys of the JSON object `text`, in one pass over it,
/// each as [`json_field`] gives it (a key may be named twice).
pub fn json_fields<const N: usize>(
    text: &[u8],
    keys: [&str; N],
) -> Option<[Option<serde_json::Value>; N]> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

    /// Reads a map key and says which of the wanted ones it is (a bit per key).
    struct IsKey<'k, const N: usize>(&'k [&'k str; N]);
    impl<'de, const N: usize> DeserializeSeed<'de> for IsKey<'_, N> {
        type Value = u64;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl<'de, const N: usize> Visitor<'de> for IsKey<'_, N> {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E>(self, v: &str) -> Result<u64, E> {
            Ok(self.0.iter().enumerate().filter(|(_, k)| **k == v).fold(0, |m, (i, _)| m | 1 << i))
        }
    }
    /// The object's values under the keys, the others skipped.
    struct Fields<'k, const N: usize>(&'k [&'k str; N]);
    impl<'de, const N: usize> Visitor<'de> for Fields<'_, N> {
        type Value = [Option<serde_json::Value>; N];
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = std::array::from_fn(|_| None);
            while let Some(which) = map.next_key_seed(IsKey(self.0))? {
                if which == 0 {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                let value = map.next_value::<serde_json::Value>()?;
                for (i, slot) in found.iter_mut().enumerate() {
                    if which & 1 << i != 0 {
                        *slot = Some(value.clone());
                    }
                }
            }
            Ok(found)
        }
    }
    debug_assert!(N <= 64, "a bit per key");
    let mut de = serde_json::Deserializer::from_slice(text);
    let found = de.deserialize_map(Fields(&keys)).ok()?;
    de.end().ok()?;
    Some(found)
}

/// A JSON time value: a string in any text format, or an epoch number (or numeric string)
/// whose unit follows from its magnitude.
pub fn json_time(value: &serde_json::Value, cx: &TimeContext) -> Option<DateTime<Utc>> {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                epoch_int(i)
            } else {
                epoch_decimal(&n.to_string()).or_else(|| epoch_float(n.as_f64()?))
            }
        }
        serde_json::Value::String(s) => {
            let b = s.trim().as_bytes();
            if !b.is_empty() && b.iter().all(|c| c.is_ascii_digit() || *c == b'.' || *c == b'-') {
                if let Ok(i) = s.trim().parse::<i64>() {
                    return epoch_int(i);
                }
                if let Some(t) = epoch_decimal(s.trim()) {
                    return Some(t);
                }
                if let Ok(f) = s.trim().parse::<f64>() {
                    return epoch_float(f);
                }
            }
            layouts::parse_iso(b, 0, cx)
                .or_else(|| layouts::parse_syslog(b, 0, cx))
                .or_else(|| layouts::parse_clf(b, 0))
                .or_else(|| layouts::parse_slashed(b, 4, cx))
                .map(|(t, _)| t)
        }
        _ => None,
    }
}

/// An epoch with a decimal fraction, read from its digits (`1763586000.123456` is exactly
/// that, which a float is not); the unit follows from the whole part's magnitude.
fn epoch_decimal(text: &str) -> Option<DateTime<Utc>> {
    let (whole, fraction) = text.split_once('.')?;
    if fraction.is_empty() || !fraction.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    // Nanoseconds per unit of the whole part, and of the fraction's first nine digits.
    let unit: i64 = match whole.unsigned_abs() {
        a if a < 100_000_000_000 => 1_000_000_000,
        a if a < 100_000_000_000_000 => 1_000_000,
        a if a < 100_000_000_000_000_000 => 1_000,
        _ => 1,
    };
    let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(9).collect();
    let fraction_nanos = digits.parse::<i64>().ok()? * unit / 1_000_000_000;
    let nanos = whole.checked_mul(unit)?.checked_add(fraction_nanos * whole.signum().max(1))?;
    Some(DateTime::from_timestamp_nanos(nanos))
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
    fn every_layout_reads_its_example_and_is_detected_from_it() {
        for layout in LAYOUTS {
            let line = layout.example.as_bytes();
            let got = (layout.parse)(line, &cx()).map(|(t, _)| t);
            assert_eq!(got, Some(t(layout.example_time)), "{}: {}", layout.name, layout.example);
            let lines: Vec<&[u8]> = vec![line; 3];
            assert_eq!(detect(&lines, &cx()), Some(TsFormat::Text(layout)), "{}", layout.name);
        }
    }

    #[test]
    fn the_readme_lists_every_layout_with_its_example() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        for layout in LAYOUTS {
            let example = format!("`{}`", layout.example.replace('|', "\\|"));
            assert!(readme.contains(&example), "README lacks {}: {example}", layout.name);
        }
    }

    #[test]
    fn formats_seen_in_the_wild_parse_to_the_same_instant() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"2025-11-19T21:00:00.123456789Z msg", "iso8601", "2025-11-19T21:00:00.123456789Z"),
            (b"2025-11-19T22:00:00+0100 msg", "iso8601", "2025-11-19T21:00:00Z"),
            (b"Nov 19 21:00:00 host app[1]: x", "syslog rfc3164", "2025-11-19T21:00:00Z"),
            (b"<13>Nov  9 21:00:00 host app: x", "syslog rfc3164", "2025-11-09T21:00:00Z"),
            (b"2025-11-19 21:00:00,123 ERROR x", "iso8601", "2025-11-19T21:00:00.123Z"),
            (b"2025-11-19 22:00:00.123 CET [1234] LOG:  x", "iso8601", "2025-11-19T21:00:00.123Z"),
            (b"2025-11-19 21:00:00, Info  CBS  Loaded", "iso8601", "2025-11-19T21:00:00Z"),
            (
                b"nova-api.log.1.2025-11-19_13:53:08 2025-11-19 21:00:00.008 25746 INFO nova",
                "iso8601 (after a prefix)",
                "2025-11-19T21:00:00.008Z",
            ),
            (
                b"level=info ts=1763586000.25 caller=main.go:1 msg=x",
                "epoch seconds or ms (after a prefix)",
                "2025-11-19T21:00:00.25Z",
            ),
            (
                b"stdout F {\"ts\": 1763586000123, \"msg\": \"x\"",
                "epoch seconds or ms (after a prefix)",
                "2025-11-19T21:00:00.123Z",
            ),
            (
                b"134681 node-246 unix.hw state_change.unavailable 1763586000 1 Component",
                "epoch seconds or ms (after a prefix)",
                "2025-11-19T21:00:00Z",
            ),
            (b"25/11/19 21:00:00,5 WARN x", "log4j short date", "2025-11-19T21:00:00.5Z"),
            (b"2025/11/19 21:00:00 [error] 1#1: x", "nginx error log", "2025-11-19T21:00:00Z"),
        ];
        for (line, name, want) in cases {
            let format = TsFormat::layout(name).unwrap();
            let got = format.parse(line, &cx()).map(|(t, _)| t);
            assert_eq!(got, Some(t(want)), "{}", String::from_utf8_lossy(line));
            assert_eq!(
                detect(&[line], &cx()).as_ref(),
                Some(&format),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn json_times_are_read_from_their_key() {
        let cases: &[(&[u8], &str, &str)] = &[
            (b"{\"ts\":1763586000.5,\"msg\":\"x\"}", "ts", "2025-11-19T21:00:00.5Z"),
            (b"{\"time\":1763586000123}", "time", "2025-11-19T21:00:00.123Z"),
            (
                b"{\"__REALTIME_TIMESTAMP\":\"1763586000000001\"}",
                "__REALTIME_TIMESTAMP",
                "2025-11-19T21:00:00.000001Z",
            ),
            (b"{\"@timestamp\":\"2025-11-19T21:00:00Z\"}", "@timestamp", "2025-11-19T21:00:00Z"),
        ];
        for (line, key, want) in cases {
            let format = TsFormat::Json { key: (*key).into() };
            assert_eq!(format.parse(line, &cx()).map(|(t, _)| t), Some(t(want)));
            assert_eq!(detect(&[line], &cx()), Some(format));
        }
    }

    /// The field is what a whole parse would give: the last of repeated keys, escaped
    /// keys decoded, nothing for nested keys, arrays, broken or trailing text.
    #[test]
    fn a_json_field_is_read_as_a_whole_parse_would_read_it() {
        let cases: &[&str] = &[
            r#"{"ts":1,"msg":"x"}"#,
            r#"{"msg":{"ts":2},"ts":"2025-11-19T21:00:00Z"}"#,
            r#"{"ts":1,"ts":3}"#,
            r#"{"ts":[1,{"a":null}],"x":true}"#,
            r#"{"msg":"ts","other":1}"#,
            r#"  {"ts":1}  "#,
            r#"{"ts":1} trailing"#,
            r#"{"ts":1,"#,
            r#"[{"ts":1}]"#,
            r#""ts""#,
        ];
        for case in cases {
            let whole = serde_json::from_slice::<serde_json::Value>(case.as_bytes())
                .ok()
                .and_then(|v| v.get("ts").cloned());
            assert_eq!(json_field(case.as_bytes(), "ts"), whole, "{case}");
        }
    }

    #[test]
    fn yearless_times_take_the_year_of_the_files_modification_time() {
        let syslog = TsFormat::layout("syslog rfc3164").unwrap();
        // Modified on 3 January: the week before it crosses New Year.
        let file = cx().for_file(Some(t("2026-01-03T10:00:00Z")));
        let dec = syslog.parse(b"Dec 31 23:00:00 h a: x", &file).unwrap().0;
        let jan = syslog.parse(b"Jan  1 00:30:00 h a: x", &file).unwrap().0;
        assert_eq!((dec, jan), (t("2025-12-31T23:00:00Z"), t("2026-01-01T00:30:00Z")));
        // Modified at 23:50 on 31 December: a line ten minutes later is the next year's.
        let eve = cx().for_file(Some(t("2025-12-31T23:50:00Z")));
        assert_eq!(
            syslog.parse(b"Jan 1 00:00:00 h a: x", &eve).unwrap().0,
            t("2026-01-01T00:00:00Z")
        );
        // 29 February takes the last leap year.
        assert_eq!(
            syslog.parse(b"Feb 29 12:00:00 h a: x", &cx()).unwrap().0,
            t("2024-02-29T12:00:00Z")
        );
    }

    #[test]
    fn zoneless_times_use_the_configured_zone() {
        let berlin = TimeContext::new(chrono_tz::Europe::Berlin, cx().reference);
        let iso = TsFormat::layout("iso8601").unwrap();
        let got = iso.parse(b"2025-11-19 22:00:00,000 x", &berlin).unwrap().0;
        assert_eq!(got, t("2025-11-19T21:00:00Z"));
    }

    #[test]
    fn junk_is_not_a_timestamp() {
        for line in [
            &b"\tat com.example.Foo(Foo.java:12)"[..],
            b"",
            b"\xff\xfe2025-",
            b"2025-13-45T99:00:00Z",
            b"order 4200000000 shipped",
            b"13-45 99:00:00.000 x",
        ] {
            assert_eq!(detect(&[line], &cx()), None, "{}", String::from_utf8_lossy(line));
        }
    }
}
