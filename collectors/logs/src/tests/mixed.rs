//! Counts on mixed, realistic logs, where the fast paths must give what a line-by-line
//! reading gives: level words in every case, patterns matched whatever the case of the
//! text when the pattern says so, multi-line records counted once, patterns split across
//! two lines not matching, JSON lines read for their time and level at once, and access
//! logs with odd fields.

use chrono::{DateTime, Duration, Utc};

use super::{at, config, filler, iso, ordered, run, write};

/// Quiet lines every 10 s over the baseline and the window, so the file is bisected.
fn quiet(line: impl Fn(DateTime<Utc>) -> String) -> Vec<(DateTime<Utc>, String)> {
    filler(at("2025-11-19T19:30:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(10), line)
}

/// Lines at `time` (the first timestamped, the others its record's continuation).
fn record(lines: &mut Vec<(DateTime<Utc>, String)>, time: &str, text: &[&str]) {
    let t = at(time) + Duration::milliseconds(1);
    lines.push((t, iso(t, text[0])));
    lines.extend(text[1..].iter().map(|l| (t, (*l).to_owned())));
}

#[tokio::test]
async fn application_errors_count_once_per_record_whatever_their_case() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines = quiet(|t| iso(t, "INFO app.http: request handled path=/api/orders status=200"));
    // Errors by their level, in each case the level words take.
    record(&mut lines, "2025-11-19T20:40:00Z", &["ERROR app.db: query failed"]);
    record(&mut lines, "2025-11-19T20:41:00Z", &["Error app.db: query failed"]);
    record(&mut lines, "2025-11-19T20:42:00Z", &["[error] app.db: query failed"]);
    record(&mut lines, "2025-11-19T20:43:00Z", &["CRITICAL payments: vendor down"]);
    // No level word: the patterns decide, `(?i:…error:)` whatever the case of the text.
    record(&mut lines, "2025-11-19T20:44:00Z", &["app.db: eRRoR: connection reset"]);
    record(&mut lines, "2025-11-19T20:45:00Z", &["app.db: TRACEBACK is not Traceback"]);
    // A level that is not an error wins over the words in the message.
    record(&mut lines, "2025-11-19T20:46:00Z", &["WARNING app.cache: last error: reset"]);
    record(&mut lines, "2025-11-19T20:47:00Z", &["DEBUG app: Exception handler registered"]);
    // A traceback under an INFO line and a Java trace under an ERROR line: one record each.
    record(
        &mut lines,
        "2025-11-19T20:48:00Z",
        &[
            "INFO worker: job failed",
            "Traceback (most recent call last):",
            "  File \"job.py\", line 3, in run",
            "ValueError: bad input",
        ],
    );
    record(
        &mut lines,
        "2025-11-19T20:49:00Z",
        &[
            "ERROR worker.jobs: job 7 failed",
            "java.lang.IllegalStateException: order 7",
            "\tat com.example.Orders.pay(Orders.java:12)",
        ],
    );
    // A pattern split over two lines matches neither.
    record(&mut lines, "2025-11-19T20:50:00Z", &["INFO app: flags level=", "error in the docs"]);
    // Words that only contain a level word are not levels, in any case.
    record(&mut lines, "2025-11-19T20:51:00Z", &["INFO app: ERRORS=0 terror Erroneous"]);
    // One in the baseline.
    record(&mut lines, "2025-11-19T20:10:00Z", &["FATAL app: out of memory"]);
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 8);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.errors_at("2025-11-19T20:44:00Z"), 1, "eRRoR: matches the pattern");
    assert_eq!(r.errors_at("2025-11-19T20:45:00Z"), 1, "Traceback, not TRACEBACK");
    assert_eq!(r.errors_at("2025-11-19T20:46:00Z"), 0, "the WARNING level decides");
    assert_eq!(r.errors_at("2025-11-19T20:48:00Z"), 1, "the traceback counts once");
    assert_eq!(r.errors_at("2025-11-19T20:50:00Z"), 0, "level= and error on two lines");
    assert_eq!(r.errors_at("2025-11-19T20:51:00Z"), 0);
}

#[tokio::test]
async fn a_pattern_without_a_literal_prefix_still_finds_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines = quiet(|t| iso(t, "INFO app: 3 jobs done"));
    record(&mut lines, "2025-11-19T20:40:00Z", &["app: 12 jobs failed"]);
    record(&mut lines, "2025-11-19T20:41:00Z", &["ERROR app: boom"]);
    write(&path, &ordered(lines));
    let mut c = config(&[&path]);
    c.patterns = vec![r"\d+ jobs failed".to_owned()];
    let r = run(c).await;
    assert_eq!(r.int("logs.error_count"), 2, "the pattern's line and the ERROR level");
}

#[tokio::test]
async fn json_lines_count_by_their_level_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.json.log");
    let json = |t: DateTime<Utc>, rest: &str| {
        format!(r#"{{"ts":"{}",{rest}}}"#, t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
    };
    let mut lines = quiet(|t| json(t, r#""level":"info","msg":"request handled""#));
    let mut at_minute = |minute: u32, rest: &str| {
        let t = at("2025-11-19T20:00:00Z") + Duration::minutes(minute.into());
        lines.push((t, json(t, rest)));
    };
    at_minute(40, r#""level":"error","msg":"query failed""#);
    at_minute(41, r#""level": "ERROR","msg":"query failed""#);
    at_minute(42, r#""level":50,"msg":"pino error""#);
    at_minute(43, r#""log":{"level":"fatal"},"msg":"nested""#);
    at_minute(44, r#""severity":"CRITICAL","message":"gcp""#);
    // Not errors: a mild level with an error in its message; a level named twice, the
    // last one wins.
    at_minute(45, r#""level":"warning","msg":"retrying after error: reset""#);
    at_minute(46, r#""level":"error","level":"info","msg":"twice""#);
    at_minute(47, r#""level":30,"msg":"Exception handler registered""#);
    // No level: the patterns decide.
    at_minute(48, r#""msg":"unhandled Exception in worker""#);
    at_minute(10, r#""level":60,"msg":"baseline""#);
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 6);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    for minute in ["20:45", "20:46", "20:47"] {
        assert_eq!(r.errors_at(&format!("2025-11-19T{minute}:00Z")), 0, "{minute}");
    }
}

#[tokio::test]
async fn access_lines_with_odd_fields_count_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let clf = |t: DateTime<Utc>| t.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
    let mut lines = filler(
        at("2025-11-19T19:30:00Z"),
        at("2025-11-19T21:00:00Z"),
        Duration::seconds(5),
        |t| format!(r#"10.0.0.1 - - [{}] "GET /x HTTP/1.1" 200 5 "-" "curl/8" 0.010"#, clf(t)),
    );
    let t = at("2025-11-19T20:40:00Z");
    let odd = [
        // IPv6 client, a user, a referer holding `]` and `=`, no request time.
        format!(
            r#"::1 - alice [{}] "GET /a?b=1 HTTP/1.1" 503 0 "https://x/?q=]" "Mozilla/5.0 (X11)""#,
            clf(t)
        ),
        // Apache common format: no referer, agent or time.
        format!(r#"192.0.2.1 - - [{}] "POST /api/orders/17 HTTP/1.0" 500 12"#, clf(t)),
        // A `-` size, `rt=` after the agent.
        format!(r#"10.0.0.2 - - [{}] "PUT /p HTTP/2.0" 504 - "-" "k8s" rt=1.500"#, clf(t)),
        // A 4xx and a 3xx.
        format!(r#"10.0.0.3 - - [{}] "GET /missing HTTP/1.1" 404 9 "-" "curl/8" 0.001"#, clf(t)),
        format!(r#"10.0.0.3 - - [{}] "GET /old HTTP/1.1" 301 0 "-" "curl/8" 0.002"#, clf(t)),
        // Not a request: a probe's junk, and a lowercase method.
        format!(r#"10.0.0.4 - - [{}] "\x16\x03\x01" 400 0 "-" "-""#, clf(t)),
        format!(r#"10.0.0.4 - - [{}] "get /x HTTP/1.1" 200 0 "-" "-""#, clf(t)),
    ];
    lines.extend(odd.iter().map(|l| (t, l.clone())));
    let baseline = at("2025-11-19T20:10:00Z");
    lines.push((
        baseline,
        format!(r#"10.0.0.5 - - [{}] "GET /b HTTP/1.1" 502 0 "-" "-" 0.5"#, clf(baseline)),
    ));
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    // 360 quiet requests in the window, 5 odd ones that are requests.
    assert_eq!(r.int("logs.requests"), 360 + 5);
    assert_eq!(r.int("logs.status_5xx_count"), 3);
    assert_eq!(r.int("logs.baseline_error_count"), 1, "an access log's errors are its 5xx");
    assert_eq!(r.data()["access"]["baseline_requests"], 360 + 1);
    let mut paths: Vec<_> = r.data()["access"]["endpoints_5xx"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["count"] != 0)
        .map(|e| format!("{} {}", e["method"].as_str().unwrap(), e["path"].as_str().unwrap()))
        .collect();
    paths.sort();
    assert_eq!(paths, ["GET /a", "POST /api/orders/{id}", "PUT /p"]);
}
