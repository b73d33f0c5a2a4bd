//! The `logs` collector kind: log files by glob, rotated and `.gz` too, searched over the
//! run's window and a baseline (the same span just before it) for error lines, which are
//! counted per minute, grouped into signatures and kept as an excerpt; access logs also
//! give requests, 5xx and latency per endpoint.
//!
//! A time-ordered plain file is not read whole: bisection on byte offsets finds the
//! baseline's start, and the read stops at the window's end; a long range is split at
//! record starts and read by up to 4 threads. Files whose timestamps go backwards are read
//! linearly (noted in the evidence); gzip files are read as a stream. Files are read with
//! `read(2)` into 1 MiB buffers, never memory-mapped: a log truncated while mapped
//! (logrotate's `copytruncate`) would kill the daemon with SIGBUS. Memory stays at one
//! buffer per reading thread plus bounded tallies, whatever the file size.
//!
//! Lines go through the analysis every kind that reads logs shares (`witness-log-analysis`:
//! timestamps, levels, error records, signatures, the tally and what it means); this crate
//! finds, orders and reads the files.
//!
//! The per-minute series, signatures, endpoints and files are in `data`, whose shape is
//! documented in FACTS.md (the HTML report draws its error-rate chart from `data.series`).
//! `tests/bench/logs.sh` benchmarks a 1 GiB log against `rg -c`.
//!
//! # Facts
//! Facts that cannot be computed are absent (see FACTS.md for the `data` shape).
//!
//! | fact | type | meaning |
//! |---|---|---|
//! | `logs.files_read` | int | files read (wholly or partly) |
//! | `logs.error_count` | int | error records in the window (a record is a timestamped line and the lines without a timestamp after it) |
//! | `logs.errors_per_minute` | float | `error_count` over the window's minutes |
//! | `logs.baseline_error_count` | int | error records in the baseline; absent when the logs do not reach into it |
//! | `logs.error_rate_ratio` | float | errors per minute in the window / in the covered baseline (a baseline of 0 counts as 1 error); absent without baseline |
//! | `logs.first_error_at` | text | RFC 3339 time of the first error in the window |
//! | `logs.first_error_offset_secs` | int | seconds from the anchor to the first error (negative: before the anchor) |
//! | `logs.signature_count` | int | distinct error signatures in the window |
//! | `logs.top_signature` | text | the most frequent signature in the window |
//! | `logs.new_signatures` | int | signatures in the window never seen in the baseline; absent without baseline |
//! | `logs.new_signature_messages` | list of text | up to 20 new signatures, most frequent first (rules look for vendor or database names in them) |
//! | `logs.new_error_count` | int | window errors of signatures the baseline never had; absent without baseline |
//! | `logs.first_new_error_at`, `logs.first_new_error_offset_secs` | text, int | time (and seconds from the anchor) of the first error of a new signature: the onset of what is new, never of steady background noise |
//! | `logs.known_error_rate_ratio` | float | rate ratio, window / baseline, of the signatures the baseline already had |
//! | `logs.spiking_signatures`, `logs.spiking_signature_messages` | int, list of text | signatures the baseline had, now at least 3× as frequent (≥ 5 in the window), and their text |
//! | `logs.lines_cut` | int | lines longer than `max_line_bytes`, cut |
//! | `logs.last_line_at` | text | RFC 3339 time of the newest line seen in any file |
//! | `logs.last_line_offset_secs` | int | seconds from the anchor to that line (negative: the logs went quiet before the anchor) |
//! | `logs.requests` | int | access-log requests in the window (access logs only) |
//! | `logs.status_5xx_count` | int | 5xx responses in the window |
//! | `logs.status_5xx_ratio` | float | 5xx / requests in the window |
//! | `logs.status_5xx_baseline_ratio` | float | 5xx / requests in the baseline |
//! | `logs.latency_p50_ms`, `logs.latency_p95_ms`, `logs.latency_p99_ms` | float | request-time percentiles in the window, when the format carries a request time |
//! | `logs.latency_p95_baseline_ms` | float | p95 request time in the baseline |
//! | `logs.latency_p95_recent_ms` | float | p95 request time in the window's last 5 minutes (20 requests or more) |
//!
//! # Events
//! `first_error`, `error_spike` (each window minute far above the baseline rate),
//! `new_signature` (first appearance of a signature absent from the baseline, with
//! `.signature()`), `status_5xx_burst` (first minute with 3 or more 5xx on an endpoint).

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    mod bisect;
    mod collector;
    mod config;
    mod files;
    mod report;
    mod walk;

    /// The log parsers, reachable from the fuzz targets under `tests/fuzz` (not an API).
    #[doc(hidden)]
    pub use witness_log_analysis::fuzzing;

    pub use collector::LogsCollector;
    pub use config::{LogKind, LogsConfig};

    #[cfg(test)]
    mod tests;
}
