//! The analysis of log lines, shared by the kinds that read logs (a support crate, not a
//! kind): the `logs` kind feeds it files, the `kubernetes` kind the logs of pods' containers
//! as the kubelet serves them. Whatever the source, lines go through the same code: the
//! timestamp format of the source ([`timestamp`]), each line's level ([`level`]), the
//! forward read that turns matched lines into error records ([`scan`]), their signatures
//! ([`signature`]), what is kept in bounded memory — counts per minute, the first error,
//! signatures in the window and the baseline, the excerpt ([`tally`]) — and what that
//! means: facts, timeline events and the `data` of the evidence ([`analysis`]).
//!
//! A line that becomes evidence is redacted whole, with the run's redactor, before anything
//! is taken from it (see [`scan`]); the excerpt is redacted block by block when it is
//! rendered. A source hands raw bytes to [`scan::Scanner`] and never redacts first.

pub mod access;
pub mod analysis;
pub mod level;
pub mod matchers;
pub mod prefilter;
pub mod redact;
pub mod scan;
pub mod signature;
pub mod stream;
pub mod tally;
pub mod timestamp;

pub use analysis::{Analysis, Coverage, Place};
pub use matchers::{Matchers, default_patterns};
pub use scan::{Scanner, Setup};
pub use tally::{Span, Tally};

/// The log parsers, reachable from the fuzz targets under `tests/fuzz` (not an API).
#[doc(hidden)]
pub mod fuzzing {
    use std::sync::LazyLock;

    use witness_collector::Redactor;

    pub use crate::access::parse as parse_access;
    pub use crate::level::{Level, of as level_of};
    pub use crate::timestamp::{TimeContext, TsFormat, detect, json_time};

    /// The built-in rules, built once.
    static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::builtin);

    /// The message of `line` as the scan takes it: from the line redacted whole.
    pub fn message(line: &[u8], after_timestamp: usize, json: bool) -> String {
        let redacted = REDACTOR.redact_bytes(line);
        crate::signature::message(&REDACTOR, &redacted, after_timestamp, json).into_string()
    }

    /// A timestamped line's level and signature, as the scan makes them (the line
    /// redacted with the built-in rules first).
    pub fn read_line(
        line: &[u8],
        format: &TsFormat,
        cx: &TimeContext,
    ) -> Option<(chrono::DateTime<chrono::Utc>, Option<Level>, String)> {
        let (t, at) = format.parse(line, cx)?;
        let level = level_of(line, at, format);
        let json = format.is_json();
        let at = level.map_or(at, |l| l.end.max(at));
        let message = crate::signature::message(&REDACTOR, &REDACTOR.redact_bytes(line), at, json);
        Some((t, level, crate::signature::normalize(&message).into_string()))
    }

    /// Times read in UTC, yearless ones placed before 2025-11-19T21:00:00Z.
    pub fn utc_context() -> TimeContext {
        let reference = chrono::DateTime::from_timestamp(1_763_586_000, 0).unwrap_or_default();
        TimeContext::new(chrono_tz::Tz::UTC, reference)
    }
}
