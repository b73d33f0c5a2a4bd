//! Windows that cross what real logs go through: a weekly rotation read two days later
//! (the year-inference bug), New Year across a rotation, a DST change, a clock stepping
//! back, a glob that would walk the whole disk, and a `timestamp_format` of the user's own.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use witness_collector::{CollectContext, CollectorConfig, FactValue, Status, Window};

use super::{at, config, filler, iso, ordered, run_with, write_modified};

fn line(tz: Tz, t: DateTime<Utc>, message: &str) -> (DateTime<Utc>, String) {
    (t, format!("{} web-1 app[42]: {message}", t.with_timezone(&tz).format("%b %e %H:%M:%S")))
}

fn quiet(tz: Tz, from: &str, to: &str, step_secs: i64) -> Vec<(DateTime<Utc>, String)> {
    filler(at(from), at(to), Duration::seconds(step_secs), |t| line(tz, t, "request served").1)
}

/// `lines` with an error line at each of `times`.
fn with_errors(
    tz: Tz,
    mut lines: Vec<(DateTime<Utc>, String)>,
    times: &[&str],
    message: &str,
) -> Vec<(DateTime<Utc>, String)> {
    lines.extend(times.iter().map(|t| line(tz, at(t), message)));
    lines
}

fn window_before(anchor: DateTime<Utc>) -> CollectContext {
    CollectContext::for_test_at(anchor, Window::new(anchor - Duration::minutes(30), anchor))
}

fn text(s: &str) -> Option<FactValue> {
    Some(FactValue::Text(s.into()))
}

/// The bug of issue 21: `collect at` two days ago over a weekly-rotated syslog placed the
/// file's last two days a year back (the year came from the anchor), so the file seemed to
/// end before it began and the run said "no log file overlaps the window".
#[tokio::test]
async fn a_weekly_syslog_collected_two_days_later_is_read_in_its_own_years() {
    let dir = tempfile::tempdir().unwrap();
    let utc = Tz::UTC;
    let anchor = at("2025-11-19T21:00:00Z");
    let current = with_errors(
        utc,
        quiet(utc, "2025-11-15T00:00:00Z", "2025-11-21T20:00:00Z", 60),
        &[
            "2025-11-19T20:20:00Z",
            "2025-11-19T20:40:00Z",
            "2025-11-19T20:41:00Z",
            "2025-11-19T20:59:59Z",
            "2025-11-21T10:00:00Z",
        ],
        "ERROR payment failed",
    );
    let path = dir.path().join("syslog");
    write_modified(&path, &ordered(current), at("2025-11-21T20:00:30Z"));
    let rotated = quiet(utc, "2025-11-08T00:00:00Z", "2025-11-15T00:00:00Z", 60);
    write_modified(&dir.path().join("syslog.1"), &ordered(rotated), at("2025-11-15T00:00:00Z"));
    let r = run_with(config(&[&path]), window_before(anchor)).await;
    assert_eq!(r.evidence.status, Status::Ok, "{:?}", r.evidence.notes);
    assert_eq!(r.int("logs.error_count"), 3);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.int("logs.files_read"), 1, "syslog.1 ends before the baseline");
    assert_eq!(r.fact("logs.first_error_at"), text("2025-11-19T20:40:00.000Z").as_ref());
    assert_eq!(r.fact("logs.last_line_at"), text("2025-11-21T19:59:00.000Z").as_ref());
    assert_eq!(r.file("syslog")["last_time"], "2025-11-21T19:59:00.000Z");
}

#[tokio::test]
async fn new_year_across_a_rotation_keeps_each_line_in_its_year() {
    let dir = tempfile::tempdir().unwrap();
    let utc = Tz::UTC;
    let anchor = at("2026-01-01T00:20:00Z");
    let mut older = quiet(utc, "2025-12-25T00:00:00Z", "2025-12-31T23:30:00Z", 60);
    older.push(line(utc, at("2025-12-31T23:25:00Z"), "ERROR disk full"));
    let newer = with_errors(
        utc,
        quiet(utc, "2025-12-31T23:30:00Z", "2026-01-02T12:00:00Z", 20),
        &[
            "2025-12-31T23:55:00Z",
            "2026-01-01T00:05:00Z",
            "2026-01-01T00:05:30Z",
            "2026-01-01T00:30:00Z",
        ],
        "ERROR disk full",
    );
    let path = dir.path().join("syslog");
    write_modified(&dir.path().join("syslog.1"), &ordered(older), at("2025-12-31T23:30:00Z"));
    write_modified(&path, &ordered(newer), at("2026-01-02T12:00:00Z"));
    let r = run_with(config(&[&path]), window_before(anchor)).await;
    assert_eq!(r.evidence.status, Status::Ok, "{:?}", r.evidence.notes);
    assert_eq!(r.int("logs.files_read"), 2);
    assert_eq!(r.int("logs.error_count"), 3);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.errors_at("2025-12-31T23:55:00Z"), 1);
    assert_eq!(r.errors_at("2026-01-01T00:05:00Z"), 2);
    assert_eq!(r.errors_at("2025-12-31T23:25:00Z"), 1);
    assert_eq!(r.fact("logs.first_error_at"), text("2025-12-31T23:55:00.000Z").as_ref());
    assert_eq!(r.file("syslog")["mode"], "bisect", "January follows December: in order");
}

#[tokio::test]
async fn a_dst_change_inside_the_window_keeps_every_minute_exact() {
    let dir = tempfile::tempdir().unwrap();
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    // 2025-03-30 02:00 CET becomes 03:00 CEST (01:00 UTC): local clocks skip an hour.
    let anchor = at("2025-03-30T01:20:00Z");
    let lines = with_errors(
        berlin,
        quiet(berlin, "2025-03-29T22:00:00Z", "2025-03-30T03:00:00Z", 30),
        &[
            "2025-03-30T00:45:00Z",
            "2025-03-30T00:55:00Z",
            "2025-03-30T01:05:00Z",
            "2025-03-30T01:25:00Z",
        ],
        "ERROR upstream timeout",
    );
    let body = ordered(lines);
    assert!(body.iter().any(|l| l.starts_with("Mar 30 01:55:00")));
    assert!(body.iter().any(|l| l.starts_with("Mar 30 03:05:00")));
    let path = dir.path().join("syslog");
    write_modified(&path, &body, at("2025-03-30T03:00:00Z"));
    let mut cfg = config(&[&path]);
    cfg.timezone = "Europe/Berlin".into();
    let r = run_with(cfg, window_before(anchor)).await;
    assert_eq!(r.int("logs.error_count"), 2);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.errors_at("2025-03-30T00:55:00Z"), 1);
    assert_eq!(r.errors_at("2025-03-30T01:05:00Z"), 1);
    assert_eq!(r.fact("logs.first_error_at"), text("2025-03-30T00:55:00.000Z").as_ref());
    assert_eq!(r.file("syslog")["mode"], "bisect");
}

/// A clock stepped back ten minutes: the file is read linearly, and its newest line and
/// the note saying so come from every line, whatever the patterns match.
#[tokio::test]
async fn a_step_back_in_time_is_seen_whatever_the_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.log");
    let mut first =
        filler(at("2025-11-19T20:00:00Z"), at("2025-11-19T20:50:00Z"), Duration::seconds(1), |t| {
            iso(t, "worker: job done")
        });
    first
        .push((at("2025-11-19T20:50:00Z"), iso(at("2025-11-19T20:50:00Z"), "worker: job crashed")));
    let mut second =
        filler(at("2025-11-19T20:40:00Z"), at("2025-11-19T20:45:00Z"), Duration::seconds(1), |t| {
            iso(t, "worker: job done")
        });
    second
        .push((at("2025-11-19T20:44:00Z"), iso(at("2025-11-19T20:44:00Z"), "worker: job crashed")));
    let mut body = ordered(first);
    body.extend(ordered(second));
    write_modified(&path, &body, at("2025-11-19T20:45:00Z"));
    for (patterns, errors) in
        [(vec!["crashed".to_owned()], 2), (vec!["never matches".to_owned()], 0)]
    {
        let mut cfg = config(&[&path]);
        cfg.patterns = patterns.clone();
        let r = run_with(cfg, window_before(at("2025-11-19T21:00:00Z"))).await;
        assert_eq!(r.int("logs.error_count"), errors, "{patterns:?}");
        assert_eq!(
            r.fact("logs.last_line_at"),
            text("2025-11-19T20:50:00.000Z").as_ref(),
            "{patterns:?}"
        );
        assert_eq!(r.file("worker.log")["mode"], "linear", "{patterns:?}");
        assert!(r.evidence.notes.iter().any(|n| n.contains("read linearly")), "{patterns:?}");
    }
}

/// Issue 22: `/**/*` kept walking the disk after the run gave up on it. The walk stops at
/// the run's cancellation and says so.
#[tokio::test]
async fn a_glob_over_everything_stops_at_cancellation_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..50 {
        let sub = dir.path().join(format!("d{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join("x.log"), b"2025-11-19T20:40:00Z ERROR x\n").unwrap();
    }
    let glob = format!("{}/**/*", dir.path().display());
    let ctx = window_before(at("2025-11-19T21:00:00Z"));
    ctx.cancel.cancel();
    let started = std::time::Instant::now();
    let r = run_with(crate::LogsConfig::new("all", vec![glob]), ctx).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(r.evidence.status, Status::Partial);
    assert!(
        r.evidence
            .notes
            .iter()
            .any(|n| n.contains("stopped by the deadline or the run's cancellation")),
        "{:?}",
        r.evidence.notes
    );
}

#[tokio::test]
async fn a_timestamp_format_of_ones_own_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.log");
    let lines: Vec<String> = [
        ("19.11.2025 20:29:59", "ERROR before"),
        ("19.11.2025 20:40:00", "INFO ok"),
        ("19.11.2025 20:41:30", "ERROR queue stuck"),
        ("19.11.2025 20:59:00", "ERROR queue stuck"),
    ]
    .iter()
    .map(|(t, m)| format!("app1 | {t} | {m}"))
    .collect();
    write_modified(&path, &lines, at("2025-11-19T21:00:00Z"));
    let mut cfg = config(&[&path]);
    let r = run_with(cfg.clone(), window_before(at("2025-11-19T21:00:00Z"))).await;
    assert!(
        r.evidence.notes.iter().any(|n| n.contains(
            "no known timestamp format in its first lines; not read (set timestamp_format)"
        )),
        "{:?}",
        r.evidence.notes
    );
    cfg.timestamp_format = Some("%d.%m.%Y %H:%M:%S".into());
    assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
    let r = run_with(cfg.clone(), window_before(at("2025-11-19T21:00:00Z"))).await;
    assert_eq!(r.int("logs.error_count"), 2);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.fact("logs.first_error_at"), text("2025-11-19T20:41:30.000Z").as_ref());
    cfg.timestamp_format = Some("%Y-%m-%d %H:%M:%S".into());
    let problems: Vec<String> =
        cfg.validate().into_iter().map(|p| format!("{}: {}", p.key, p.message)).collect();
    assert_eq!(
        problems,
        [format!(
            "timestamp_format: reads no timestamp in the first 4 lines of {}",
            path.display()
        )]
    );
    cfg.timestamp_format = Some("%H:%M".into());
    assert_eq!(cfg.validate()[0].key, "timestamp_format");
}
