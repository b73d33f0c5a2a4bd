//! Time as witness writes it: UTC, RFC 3339 with milliseconds (`2025-11-19T21:00:00.123Z`).
//! Use `#[serde(with = "witness_collector::time::millis")]` on `DateTime<Utc>` fields and
//! `millis_opt` on optional ones.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats `t` the way every bundle file does.
pub fn format(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Formats the offset of `t` from `anchor` the way reports do: `T-12m`, `T+30s`, `T-1h05m`.
pub fn offset_label(t: DateTime<Utc>, anchor: DateTime<Utc>) -> String {
    let secs = (t - anchor).num_seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let abs = secs.unsigned_abs();
    let (h, m, s) = (abs / 3600, (abs % 3600) / 60, abs % 60);
    match (h, m, s) {
        (0, 0, s) => format!("T{sign}{s}s"),
        (0, m, 0) => format!("T{sign}{m}m"),
        (0, m, s) => format!("T{sign}{m}m{s:02}s"),
        (h, m, _) => format!("T{sign}{h}h{m:02}m"),
    }
}

pub mod millis {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

pub mod millis_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn offsets_read_like_reports() {
        let anchor = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
        let at = |s: i64| anchor + chrono::Duration::seconds(s);
        assert_eq!(offset_label(at(-720), anchor), "T-12m");
        assert_eq!(offset_label(at(30), anchor), "T+30s");
        assert_eq!(offset_label(at(0), anchor), "T+0s");
        assert_eq!(offset_label(at(-95), anchor), "T-1m35s");
        assert_eq!(offset_label(at(-3900), anchor), "T-1h05m");
    }

    #[test]
    fn formats_with_milliseconds_in_utc() {
        let t = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
        assert_eq!(format(t), "2025-11-19T21:00:00.000Z");
    }
}
