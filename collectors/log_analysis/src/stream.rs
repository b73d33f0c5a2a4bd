//! Lines that arrive as a stream rather than a file: a container's log as the kubelet
//! serves it (`timestamps=true`). The stream is already in memory, capped by its reader,
//! so it is read once, forward, by the same [`Scanner`] as a file: the same error records,
//! signatures, per-minute counts and excerpt, each line dated by the kubelet (see
//! [`crate::timestamp::kubelet`]).

use chrono::{DateTime, Utc};
use witness_collector::{Redactor, Window};

use crate::Matchers;
use crate::scan::{FileSpec, Scanner, Setup, Stop};
use crate::tally::{Span, Tally};
use crate::timestamp::{TimeContext, TsFormat, kubelet};

/// Lines looked at to detect the container's own format.
const SAMPLE_LINES: usize = 200;
/// Lines of context kept around each error in the excerpt, as the `logs` kind's default.
const CONTEXT_LINES: usize = 2;
/// Lines longer than this are cut (after redaction), as the `logs` kind's default.
const MAX_LINE_BYTES: usize = 64 * 1024;

/// The setup of streams read over `window` (and its baseline), each keeping at most
/// `max_excerpt_bytes` of excerpt. Kubelet times are UTC, so no zone is configured.
pub fn setup(
    matchers: Matchers,
    window: Window,
    max_excerpt_bytes: usize,
    redactor: Redactor,
) -> Setup {
    Setup {
        matchers,
        timestamp_format: None,
        tcx: TimeContext::new(chrono_tz::Tz::UTC, window.end),
        span: Span::new(window),
        context_lines: CONTEXT_LINES,
        max_line_bytes: MAX_LINE_BYTES,
        max_excerpt_bytes,
        redactor,
    }
}

/// What one stream held.
#[derive(Debug)]
pub struct StreamRead {
    pub tally: Tally,
    /// The format detected (`kubelet timestamps (json (ts))`).
    pub format: TsFormat,
    /// The time of its first line.
    pub first: Option<DateTime<Utc>>,
    /// The time of its newest line.
    pub newest: Option<DateTime<Utc>>,
}

/// Reads `body`, a container's log as the kubelet serves it; `label` names it in the
/// excerpt and the first error (`pod/container`). Nothing of it is redacted yet: like a
/// file, each line that becomes evidence is redacted whole by the scan.
pub fn kubelet(setup: &Setup, label: &str, body: &[u8], stop: &Stop) -> StreamRead {
    let sample: Vec<&[u8]> = body
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .take(SAMPLE_LINES)
        .map(|l| &l[..l.len().min(setup.max_line_bytes)])
        .collect();
    let format = kubelet::detect_format(&sample, &setup.tcx);
    let first = sample.iter().find_map(|l| kubelet::prefix(l, &setup.tcx)).map(|(t, _)| t);
    let spec = FileSpec {
        path: label,
        format: &format,
        tcx: setup.tcx,
        access: false,
        // The kubelet writes a container's lines in order.
        stop_at_window_end: true,
        every_line: true,
    };
    let mut scanner = Scanner::new(setup, spec);
    // Reading memory fails never; the scan ends at the stream's end or the window's.
    let _ = scanner.run(body, 0, stop);
    let newest = scanner.newest();
    let tally = scanner.tally;
    StreamRead { tally, format, first, newest }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn setup() -> Setup {
        let end: DateTime<Utc> = "2025-11-19T21:00:00Z".parse().unwrap();
        let window = Window::new(end - Duration::minutes(30), end);
        super::setup(Matchers::defaults(), window, 64 * 1024, Redactor::builtin())
    }

    #[test]
    fn a_stack_trace_counts_once_and_json_errors_keep_their_message() {
        let body = "2025-11-19T20:10:00.000000001Z 2025-11-19 20:10:00,000 ERROR db: timeout after 3000 ms\n\
                    2025-11-19T20:40:00.000000001Z 2025-11-19 20:40:00,000 ERROR app: boom\n\
                    2025-11-19T20:40:00.000000002Z java.lang.IllegalStateException: boom\n\
                    2025-11-19T20:40:00.000000003Z \tat com.example.App.run(App.java:7)\n\
                    2025-11-19T20:41:00.000000001Z 2025-11-19 20:41:00,000 INFO app: up\n";
        let read = kubelet(&setup(), "web-1/web", body.as_bytes(), &|| false);
        assert_eq!((read.tally.errors, read.tally.baseline_errors), (1, 1));
        assert_eq!(read.first.unwrap().to_rfc3339(), "2025-11-19T20:10:00.000000001+00:00");
        let first = read.tally.first_error.as_ref().unwrap();
        assert_eq!(first.signature.as_str(), "boom");
        assert_eq!(first.path, "web-1/web");

        let json = "2025-11-19T20:45:00Z {\"level\":\"error\",\"msg\":\"payment failed for order 42\"}\n\
                    2025-11-19T20:46:00Z {\"level\":\"error\",\"msg\":\"payment failed for order 43\"}\n\
                    2025-11-19T20:46:30Z {\"level\":\"info\",\"msg\":\"ok\"}\n";
        let read = kubelet(&setup(), "web-1/web", json.as_bytes(), &|| false);
        assert_eq!(read.tally.errors, 2);
        let signatures: Vec<&str> = read.tally.signatures.keys().map(|s| s.as_str()).collect();
        assert_eq!(signatures, ["payment failed for order <n>"]);
    }
}
