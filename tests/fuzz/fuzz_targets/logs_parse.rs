//! The log timestamp detector and line parsers on any bytes: format detection over the
//! first lines, each line's timestamp, level and signature (as the scan makes them),
//! access-log fields, the message a signature is made from, and JSON time keys. Never a
//! panic, whatever the file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness_logs::fuzzing::{detect, json_time, message, parse_access, read_line, utc_context};

fuzz_target!(|data: &[u8]| {
    let cx = utc_context();
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').take(64).collect();
    let format = detect(&lines, &cx);
    for line in &lines {
        if let Some((_, after)) = format.as_ref().and_then(|f| f.parse(line, &cx)) {
            let _ = message(line, after, false);
        }
        if let Some(format) = &format {
            let _ = read_line(line, format, &cx);
        }
        let _ = parse_access(line);
        let _ = message(line, 0, true);
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) {
            let _ = json_time(&value, &cx);
        }
    }
});
