//! Lines as the kubelet serves a container's log with `timestamps=true`
//! (`GET /api/v1/namespaces/{ns}/pods/{pod}/log`, `kubectl logs --timestamps`): an RFC 3339
//! time with nanoseconds in UTC (`2025-11-19T20:50:00.123456789Z`), one space, and the line
//! the container wrote.
//!
//! The kubelet's time is the line's time: taken when the line was written, in UTC, whatever
//! the container's clock and zone say. The container's line keeps its own format, which
//! says where the message starts and what the level is, and which lines continue a record:
//! a line without the container's own timestamp (a stack trace under a logback line), or,
//! when the container writes no timestamps at all, an empty line, a line indented with
//! white space, `Caused by: …` and `... 12 more`. So a stack trace counts once, as in a
//! file, although the kubelet stamped each of its lines.

use chrono::{DateTime, Utc};

use super::{TimeContext, TsFormat, detect, layouts};

/// The kubelet's time of `line` and where the container's line starts after it.
pub fn prefix(line: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
    let (t, end) = layouts::parse_iso(line, 0, cx)?;
    (line.get(end) == Some(&b' ')).then_some((t, end + 1))
}

/// The kubelet's time of `line` (always UTC, so no zone needs to be known).
pub fn time_of(line: &[u8]) -> Option<DateTime<Utc>> {
    let cx = TimeContext::new(chrono_tz::Tz::UTC, DateTime::UNIX_EPOCH);
    prefix(line, &cx).map(|(t, _)| t)
}

/// Where the container's line starts, when `line` begins with the kubelet's time (read
/// whole, not guessed from its shape).
pub fn content_at(line: &[u8]) -> Option<usize> {
    let cx = TimeContext::new(chrono_tz::Tz::UTC, DateTime::UNIX_EPOCH);
    prefix(line, &cx).map(|(_, at)| at)
}

/// Where the container's line starts in a line that has the kubelet's time (0 without it).
pub fn content_start(line: &[u8]) -> usize {
    let looks_like_time = line.len() > 20 && line[4] == b'-' && matches!(line[10], b'T' | b't');
    if !looks_like_time {
        return 0;
    }
    memchr::memchr(b' ', &line[..line.len().min(40)]).map_or(0, |i| i + 1)
}

/// The time and message offset of a kubelet line whose container line is in `inner`
/// (`None`: without timestamps of its own); `None` for a line that continues a record.
pub fn parse(
    line: &[u8],
    inner: Option<&TsFormat>,
    cx: &TimeContext,
) -> Option<(DateTime<Utc>, usize)> {
    let (t, at) = prefix(line, cx)?;
    let content = &line[at..];
    match inner {
        // A JSON object is one record whatever keys it has: the kubelet dates it.
        Some(TsFormat::Json { .. }) => {
            content.trim_ascii_start().starts_with(b"{").then_some((t, at))
        }
        Some(format) => format.parse(content, cx).map(|(_, end)| (t, at + end)),
        None => (!continues(content)).then_some((t, at)),
    }
}

/// Whether a container line without timestamps of its own continues the record before it.
fn continues(content: &[u8]) -> bool {
    match content.first() {
        None | Some(b' ' | b'\t' | b'\r') => true,
        Some(_) => content.starts_with(b"Caused by:") || content.starts_with(b"... "),
    }
}

/// The format of a container's log from its first `lines` as the kubelet serves them: the
/// container's own format when at least half of its lines that start a record read in it
/// (a JSON object counts for JSON lines, with or without a time key), else none.
pub fn detect_format(lines: &[&[u8]], cx: &TimeContext) -> TsFormat {
    let contents: Vec<&[u8]> = lines
        .iter()
        .filter_map(|l| prefix(l, cx).map(|(_, at)| &l[at..]))
        .filter(|c| !continues(c))
        .collect();
    let json = contents.iter().filter(|c| is_json_object(c)).count();
    let inner = if !contents.is_empty() && json * 2 >= contents.len() {
        let key = match detect(&contents, cx) {
            Some(TsFormat::Json { key }) => key,
            _ => String::new(),
        };
        Some(TsFormat::Json { key })
    } else {
        detect(&contents, cx).filter(|f| {
            let read = contents.iter().filter(|c| f.parse(c, cx).is_some()).count();
            read * 2 >= contents.len()
        })
    };
    TsFormat::Kubelet(inner.map(Box::new))
}

fn is_json_object(content: &[u8]) -> bool {
    let trimmed = content.trim_ascii();
    trimmed.starts_with(b"{")
        && matches!(
            serde_json::from_slice::<serde_json::Value>(trimmed),
            Ok(serde_json::Value::Object(_))
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::layouts::{ISO, KLOG};

    fn cx() -> TimeContext {
        crate::fuzzing::utc_context()
    }

    fn lines(text: &str) -> Vec<&[u8]> {
        text.lines().map(str::as_bytes).collect()
    }

    #[test]
    fn the_kubelets_time_is_the_lines_and_the_message_follows_the_containers_own() {
        let log = "2025-11-19T20:50:00.123456789Z 2025-11-19 21:50:00,120 ERROR app: boom\n\
                   2025-11-19T20:50:00.123457000Z \tat com.example.Db.query(Db.java:12)\n\
                   2025-11-19T20:50:01.000000000Z 2025-11-19 21:50:01,000 INFO app: ok";
        let format = detect_format(&lines(log), &cx());
        assert_eq!(format.name(), format!("kubelet timestamps ({ISO})"));
        let first = lines(log)[0];
        let (t, at) = format.parse(first, &cx()).unwrap();
        // The container's clock is an hour off (a zone-less local time): the kubelet's wins.
        assert_eq!(t.to_rfc3339(), "2025-11-19T20:50:00.123456789+00:00");
        assert_eq!(&first[at..], b" ERROR app: boom");
        assert!(format.parse(lines(log)[1], &cx()).is_none(), "a stack frame continues its record");
    }

    #[test]
    fn without_timestamps_of_its_own_indented_and_caused_by_lines_continue_a_record() {
        let log = "2025-11-19T20:50:00.000000001Z panic: runtime error: index out of range\n\
                   2025-11-19T20:50:00.000000002Z \n\
                   2025-11-19T20:50:00.000000003Z goroutine 1 [running]:\n\
                   2025-11-19T20:50:00.000000004Z \tmain.main()\n\
                   2025-11-19T20:50:00.000000005Z Caused by: java.io.IOException: x\n\
                   2025-11-19T20:50:00.000000006Z ... 12 more";
        let format = detect_format(&lines(log), &cx());
        assert_eq!(format, TsFormat::Kubelet(None));
        let heads: Vec<bool> =
            lines(log).iter().map(|l| format.parse(l, &cx()).is_some()).collect();
        assert_eq!(heads, [true, false, true, false, false, false]);
    }

    #[test]
    fn json_lines_are_records_with_or_without_a_time_key_and_klog_keeps_its_letter() {
        let json = "2025-11-19T20:50:00Z {\"level\":\"error\",\"msg\":\"db down\"}\n\
                    2025-11-19T20:50:01Z {\"level\":\"info\",\"msg\":\"ok\"}";
        let format = detect_format(&lines(json), &cx());
        assert!(format.is_json(), "{format:?}");
        assert_eq!(format.parse(lines(json)[0], &cx()).unwrap().1, 21);
        let klog = "2025-11-19T20:50:00.5Z E1119 20:50:00.500000       1 main.go:12] failed to sync\n\
                    2025-11-19T20:50:01.5Z I1119 20:50:01.500000       1 main.go:20] synced";
        let format = detect_format(&lines(klog), &cx());
        assert_eq!(format.content(), &TsFormat::layout(KLOG).unwrap());
        assert!(prefix(b"2025-11-19T20:50:00Z", &cx()).is_none(), "no space, no line");
        assert_eq!(content_start(lines(klog)[0]), 23);
    }
}
