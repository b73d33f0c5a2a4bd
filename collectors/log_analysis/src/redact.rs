//! Log text redacted where it becomes evidence: whole, as text, first (a secret over
//! several lines, a PEM key, is found whole), then each line that holds a JSON object
//! (the whole line, or after the kubelet's time) as JSON too, so that a value under a
//! secret-named key goes whole whatever its type: `{"client_secret": ["…"]}` or
//! `{"credentials": {"pass": "…"}}`, which no text rule reads as a key and its value. A
//! line whose object holds nothing more to redact is kept exactly as written.
//!
//! Lines as the kubelet serves them carry its time before the container's text; the text
//! is redacted without those times, as the container wrote it, since a time before every
//! line hides a key printed over several lines from the rules. The times are put back
//! when redaction left every line in place; when a secret over several lines was replaced
//! by one token, the lines are kept without them.

use std::borrow::Cow;

use witness_collector::{Redacted, Redactor};

use crate::timestamp::kubelet;

/// `bytes` (a line, or a block of lines) redacted as text, then its JSON lines as JSON.
pub fn text(redactor: &Redactor, bytes: &[u8]) -> Redacted {
    let redacted = as_written(redactor, &String::from_utf8_lossy(bytes));
    if !redacted.as_str().contains('{') {
        return redacted;
    }
    // Made only of redacted text: each JSON line is the redacted line, redacted again.
    redacted.map(|t| t.split_inclusive('\n').map(|line| json_line(redactor, line)).collect())
}

/// `text` redacted as the container wrote it: without the kubelet's times, which are put
/// back when every line stayed in place.
fn as_written(redactor: &Redactor, text: &str) -> Redacted {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let times: Vec<usize> =
        lines.iter().map(|l| kubelet::content_at(l.as_bytes()).unwrap_or(0)).collect();
    if times.iter().all(|at| *at == 0) {
        return redactor.redact(text);
    }
    let written: String = lines.iter().zip(&times).map(|(l, at)| &l[*at..]).collect();
    let redacted = redactor.redact(&written);
    if redacted.as_str().split_inclusive('\n').count() != lines.len() {
        return redacted;
    }
    // The times are the kubelet's, never the container's text.
    redacted.map(|t| {
        t.split_inclusive('\n')
            .zip(lines.iter().zip(&times))
            .map(|(line, (original, at))| format!("{}{line}", &original[..*at]))
            .collect()
    })
}

/// One redacted line, its JSON object (if any) redacted as JSON.
fn json_line<'a>(redactor: &Redactor, line: &'a str) -> Cow<'a, str> {
    let at = kubelet::content_at(line.as_bytes()).unwrap_or(0);
    let body = line[at..].trim_end_matches(['\n', '\r']);
    if !body.trim_start().starts_with('{') {
        return Cow::Borrowed(line);
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return Cow::Borrowed(line);
    };
    if !value.is_object() {
        return Cow::Borrowed(line);
    }
    let mut redacted = value.clone();
    redactor.redact_json(&mut redacted);
    if redacted == value {
        return Cow::Borrowed(line);
    }
    let ending = &line[at + body.len()..];
    Cow::Owned(format!("{}{redacted}{ending}", &line[..at]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_named_array_or_object_goes_whole_and_clean_lines_stay_as_written() {
        let r = Redactor::builtin();
        let text = "2025-11-19T20:57:31Z {\"client_secret\":[\"yD1BaSKZWg4F4pF0GK9iDEEj\"],\"msg\":\"x\"}\n\
                    {\"credentials\": {\"user\": \"app\", \"pass\": \"Zq81mPwX02kLnB7vC4tD\"}}\n\
                    {\"msg\":  \"spaced  as written\"}\n";
        let out = super::text(&r, text.as_bytes()).into_string();
        assert!(!out.contains("yD1BaSKZ") && !out.contains("Zq81mPwX"), "{out}");
        assert!(out.starts_with("2025-11-19T20:57:31Z {\""), "{out}");
        assert!(out.ends_with("{\"msg\":  \"spaced  as written\"}\n"), "{out}");
        assert_eq!(out.lines().count(), 3);
    }

    #[test]
    fn a_key_printed_over_kubelet_lines_is_found_whole() {
        let r = Redactor::builtin();
        let body = "Qk9vbXhYeWFhYmJjY2RkZWVmUk9vbXhYeWFhYmJjY2RkZWVm";
        let text = format!(
            "2025-11-19T20:58:00Z panic: bad key\n\
             2025-11-19T20:58:00Z -----BEGIN RSA PRIVATE KEY-----\n\
             2025-11-19T20:58:00.1Z {body}\n\
             2025-11-19T20:58:00.2Z {body}\n\
             2025-11-19T20:58:00.3Z -----END RSA PRIVATE KEY-----\n"
        );
        let out = super::text(&r, text.as_bytes()).into_string();
        assert!(!out.contains(&body[..16]), "{out}");
        assert!(out.starts_with("panic: bad key\n[REDACTED:private_key:"), "{out}");
        let clean = "2025-11-19T20:58:00Z INFO up\n2025-11-19T20:58:01Z password=hunter2-hunter2\n";
        let out = super::text(&r, clean.as_bytes()).into_string();
        assert!(
            out.starts_with("2025-11-19T20:58:00Z INFO up\n2025-11-19T20:58:01Z password="),
            "{out}"
        );
        assert!(!out.contains("hunter2-hunter2"), "{out}");
    }
}
