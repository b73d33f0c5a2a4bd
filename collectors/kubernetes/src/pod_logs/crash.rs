//! The crash output of a crashed container instance (`previous=true`): its last lines,
//! redacted whole before they are cut (a key printed over several lines is found whole),
//! kept in `data`, as an artifact, and as a timeline event whose title quotes its last
//! error line (`panic: …`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{ArtifactSink, Event, Redacted, Redactor, Severity};
use witness_log_analysis::Matchers;
use witness_log_analysis::timestamp::kubelet;

use super::Fetched;

/// Last lines of a crashed instance kept in `data` and its timeline event.
const CRASH_LINES: usize = 20;
const CRASH_LINES_BYTES: usize = 4 * 1024;
/// Tail of a crashed instance's log kept as an artifact.
const CRASH_ARTIFACT_BYTES: usize = 64 * 1024;

/// How a crashed instance ended, and what it said last.
#[derive(Debug, Clone, Serialize)]
pub struct Crash {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Its last lines (without the kubelet's times), redacted.
    pub last_lines: Redacted,
    /// The artifact with its last lines as served.
    pub artifact: String,
}

/// The crash output of a crashed instance: its last lines, redacted whole first (a secret
/// over several lines is found whole), kept in `data`, an artifact and a timeline event.
pub fn crash(
    f: &Fetched,
    body: &[u8],
    key: &str,
    pointer: &str,
    (redactor, matchers): (&Redactor, &Matchers),
    artifacts: &ArtifactSink,
) -> (Crash, Option<Event>) {
    let redacted = witness_log_analysis::redact::text(redactor, body);
    let text = redacted.as_str();
    let tail_from = |max_lines: usize, max_bytes: usize| {
        let mut from = text.len();
        for _ in 0..max_lines {
            match text[..from.saturating_sub(1)].rfind('\n') {
                Some(i) if text.len() - (i + 1) <= max_bytes => from = i + 1,
                Some(_) => break,
                None => {
                    if text.len() <= max_bytes {
                        from = 0;
                    }
                    break;
                }
            }
        }
        from
    };
    let artifact = format!("{key}/pod-logs/{}/{}.previous.log", f.stream.pod, f.stream.container);
    let from = tail_from(usize::MAX, CRASH_ARTIFACT_BYTES);
    artifacts.put(artifact.clone(), redacted.map(|t| t[from..].to_owned()).into_string().into_bytes());
    let from = tail_from(CRASH_LINES, CRASH_LINES_BYTES);
    // The container's lines, without the kubelet's times: tokens hold no newline, so each
    // line of the redacted text is redacted text.
    let last_lines = redacted.map(|t| {
        t[from..]
            .lines()
            .map(|l| &l[kubelet::content_at(l.as_bytes()).unwrap_or(0)..])
            .collect::<Vec<_>>()
            .join("\n")
    });
    let termination = f.stream.termination.as_ref();
    let crash = Crash {
        reason: termination.and_then(|t| t.reason.clone()),
        exit_code: termination.map(|t| t.exit_code),
        finished_at: termination.and_then(|t| t.finished_at),
        last_lines: last_lines.clone(),
        artifact: artifact.clone(),
    };
    let time = crash.finished_at.or_else(|| {
        body.split(|c| *c == b'\n').rev().find_map(kubelet::time_of)
    });
    let event = time.map(|time| {
        // The last line that reads as an error (`panic: …`), else the last line.
        let is_error = |l: &&str| matchers.patterns.as_ref().is_some_and(|p| p.is_match(l.as_bytes()));
        let last = last_lines.map(|t| {
            let lines = || t.lines().rev().filter(|l| !l.trim().is_empty());
            lines().find(is_error).or_else(|| lines().next()).unwrap_or_default().to_owned()
        });
        let how = match (&crash.reason, crash.exit_code) {
            (Some(reason), Some(code)) => format!(" ({reason}, exit {code})"),
            (None, Some(code)) => format!(" (exit {code})"),
            _ => String::new(),
        };
        Event::new(
            time,
            "crash_output",
            format!(
                "Crash output of pod {} container {}{how}: {}",
                f.stream.pod,
                f.stream.container,
                if last.as_str().is_empty() { Redacted::generated("(no output)") } else { last.truncate(200) }
            ),
        )
        .detail(last_lines.clone())
        .severity(Severity::Critical)
        .signature(format!("crash_output:{key}:{}", f.stream.container))
        .pointer(pointer.to_owned())
        .artifact(artifact)
    });
    (crash, event)
}
