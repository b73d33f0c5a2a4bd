//! Behaviour a responder relies on, checked on logs generated in temporary directories:
//! exact window boundaries in every timestamp format, per-minute counts, the first error,
//! signatures and new ones, rotated and gzip files, the fallback for unordered files,
//! access-log figures, and bad input that must never crash the collector.

use std::io::Write;
use std::path::Path;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::Value;
use witness_collector::{CollectContext, CollectorConfig, Evidence, FactValue, Status, Window};

use crate::{LogKind, LogsConfig};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The anchor of every test; the window is the 30 minutes before it.
fn anchor() -> DateTime<Utc> {
    at("2025-11-19T21:00:00Z")
}

fn window() -> Window {
    Window::new(anchor() - Duration::minutes(30), anchor())
}

struct Run {
    evidence: Evidence,
    excerpt: Option<String>,
}

impl Run {
    fn fact(&self, name: &str) -> Option<&FactValue> {
        self.evidence.facts.get(name)
    }

    fn int(&self, name: &str) -> i64 {
        match self.fact(name) {
            Some(FactValue::Int(i)) => *i,
            other => panic!("{name} is {other:?}; facts: {:?}", self.evidence.facts),
        }
    }

    fn float(&self, name: &str) -> f64 {
        self.fact(name)
            .and_then(FactValue::as_f64)
            .unwrap_or_else(|| panic!("{name} missing: {:?}", self.evidence.facts))
    }

    fn data(&self) -> &Value {
        &self.evidence.data
    }

    fn file(&self, suffix: &str) -> &Value {
        self.data()["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no file {suffix} in {}", self.data()["files"]))
    }

    /// Errors in the series bucket starting at `minute`.
    fn errors_at(&self, minute: &str) -> u64 {
        let want = witness_collector::time::format(at(minute));
        self.data()["series"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["minute"] == want.as_str())
            .unwrap_or_else(|| panic!("no bucket {want}"))["errors"]
            .as_u64()
            .unwrap()
    }
}

async fn run_with(config: LogsConfig, ctx: CollectContext) -> Run {
    let collector = config.build().unwrap_or_else(|p| panic!("{p:?}"));
    let evidence = tokio::time::timeout(StdDuration::from_secs(60), collector.collect(&ctx))
        .await
        .expect("the collector finished within 60 s")
        .expect("evidence");
    let excerpt = ctx
        .artifacts
        .take()
        .into_iter()
        .find(|a| a.path == "excerpt.log")
        .map(|a| String::from_utf8(a.contents).unwrap());
    Run { evidence, excerpt }
}

async fn run(config: LogsConfig) -> Run {
    run_with(config, CollectContext::for_test_at(anchor(), window())).await
}

fn config(paths: &[&Path]) -> LogsConfig {
    LogsConfig::new("test", paths.iter().map(|p| p.display().to_string()).collect())
}

/// Writes a log as its writer would have: modified just after the anchor, so yearless
/// times (syslog, klog, logcat) take the anchor's year as they would on the host.
fn write(path: &Path, lines: &[String]) {
    write_modified(path, lines, anchor() + Duration::minutes(15));
}

fn write_modified(path: &Path, lines: &[String], modified: DateTime<Utc>) {
    let mut f = std::fs::File::create(path).unwrap();
    for line in lines {
        f.write_all(line.as_bytes()).unwrap();
        f.write_all(b"\n").unwrap();
    }
    f.set_modified(modified.into()).unwrap();
}

fn write_gz(path: &Path, lines: &[String]) {
    let f = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
    for line in lines {
        gz.write_all(line.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap().set_modified((anchor() + Duration::minutes(15)).into()).unwrap();
}

fn iso(t: DateTime<Utc>, text: &str) -> String {
    format!("{} {text}", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
}

/// Every `step` from `from` to `to`: quiet lines, so files are large enough to bisect.
fn filler(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
    line: impl Fn(DateTime<Utc>) -> String,
) -> Vec<(DateTime<Utc>, String)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        out.push((t, line(t)));
        t += step;
    }
    out
}

/// Merges timed lines into one time-ordered file body (stable: equal times keep order).
fn ordered(mut lines: Vec<(DateTime<Utc>, String)>) -> Vec<String> {
    lines.sort_by_key(|(t, _)| *t);
    lines.into_iter().map(|(_, l)| l).collect()
}

/// A format: how it writes a quiet line and an error line at a time.
struct Format {
    name: &'static str,
    info: fn(DateTime<Utc>) -> String,
    error: fn(DateTime<Utc>) -> String,
}

fn formats() -> Vec<Format> {
    fn plus_one(t: DateTime<Utc>) -> DateTime<FixedOffset> {
        t.with_timezone(&FixedOffset::east_opt(3600).unwrap())
    }
    vec![
        Format { name: "rfc3339", info: |t| iso(t, "INFO ok"), error: |t| iso(t, "ERROR boom") },
        Format {
            name: "iso-offset",
            info: |t| format!("{} INFO ok", plus_one(t).format("%Y-%m-%d %H:%M:%S%.6f%:z")),
            error: |t| format!("{} ERROR boom", plus_one(t).format("%Y-%m-%d %H:%M:%S%.6f%:z")),
        },
        Format {
            name: "python",
            info: |t| format!("{} INFO app: ok", t.format("%Y-%m-%d %H:%M:%S,%3f")),
            error: |t| format!("{} ERROR app: boom", t.format("%Y-%m-%d %H:%M:%S,%3f")),
        },
        Format {
            name: "logback",
            info: |t| format!("{} [main] INFO  c.e.App - ok", t.format("%Y-%m-%d %H:%M:%S.%3f")),
            error: |t| format!("{} [main] ERROR c.e.App - boom", t.format("%Y-%m-%d %H:%M:%S.%3f")),
        },
        Format {
            name: "postgres",
            info: |t| {
                format!(
                    "{} UTC [1234] LOG:  checkpoint complete",
                    t.format("%Y-%m-%d %H:%M:%S%.3f")
                )
            },
            error: |t| {
                format!(
                    "{} UTC [1234] ERROR:  deadlock detected",
                    t.format("%Y-%m-%d %H:%M:%S%.3f")
                )
            },
        },
        Format {
            name: "syslog",
            info: |t| format!("{} web1 app[42]: ok", t.format("%b %e %H:%M:%S")),
            error: |t| format!("{} web1 app[42]: ERROR boom", t.format("%b %e %H:%M:%S")),
        },
        Format {
            name: "rfc5424",
            info: |t| format!("<38>1 {} web1 app 42 - - ok", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
            error: |t| format!("<35>1 {} web1 app 42 - - boom", t.format("%Y-%m-%dT%H:%M:%S%.3fZ")),
        },
        Format {
            name: "clf",
            info: |t| {
                format!(
                    r#"10.0.0.1 - - [{}] "GET /api/items/42 HTTP/1.1" 200 12 "-" "curl/8""#,
                    t.format("%d/%b/%Y:%H:%M:%S +0000")
                )
            },
            error: |t| {
                format!(
                    r#"10.0.0.1 - - [{}] "GET /api/items/42 HTTP/1.1" 503 12 "-" "curl/8""#,
                    t.format("%d/%b/%Y:%H:%M:%S +0000")
                )
            },
        },
        Format {
            name: "nginx-error",
            info: |t| {
                format!("{} [notice] 7#7: signal process started", t.format("%Y/%m/%d %H:%M:%S"))
            },
            error: |t| {
                format!(
                    "{} [error] 7#7: *5 connect() failed (111: Connection refused)",
                    t.format("%Y/%m/%d %H:%M:%S")
                )
            },
        },
        Format {
            name: "apache-error",
            info: |t| {
                format!("[{}] [core:notice] [pid 1:tid 2] ok", t.format("%a %b %d %H:%M:%S%.6f %Y"))
            },
            error: |t| {
                format!(
                    "[{}] [core:error] [pid 1:tid 2] AH00037: boom",
                    t.format("%a %b %d %H:%M:%S%.6f %Y")
                )
            },
        },
        Format {
            name: "klog",
            info: |t| format!("I{}   24371 main.go:12] ok", t.format("%m%d %H:%M:%S%.6f")),
            error: |t| {
                format!("E{}   24371 main.go:12] failed to sync", t.format("%m%d %H:%M:%S%.6f"))
            },
        },
        Format {
            name: "json-zap",
            info: |t| {
                format!(
                    r#"{{"level":"info","ts":{:.6},"msg":"ok"}}"#,
                    t.timestamp_micros() as f64 / 1e6
                )
            },
            error: |t| {
                format!(
                    r#"{{"level":"error","ts":{:.6},"msg":"boom"}}"#,
                    t.timestamp_micros() as f64 / 1e6
                )
            },
        },
        Format {
            name: "json-pino",
            info: |t| format!(r#"{{"level":30,"time":{},"msg":"ok"}}"#, t.timestamp_millis()),
            error: |t| {
                format!(r#"{{"level":"error","time":{},"msg":"boom"}}"#, t.timestamp_millis())
            },
        },
        Format {
            name: "json-ecs",
            info: |t| {
                format!(
                    r#"{{"@timestamp":"{}","log.level":"info","message":"ok"}}"#,
                    t.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                )
            },
            error: |t| {
                format!(
                    r#"{{"@timestamp":"{}","log.level":"ERROR","message":"boom"}}"#,
                    t.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                )
            },
        },
    ]
}

#[tokio::test]
async fn window_boundaries_are_exact_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let w = window();
    let s = Duration::seconds(1);
    // Errors on both sides of every boundary: baseline start, window start, window end.
    let baseline_in = [w.start - Duration::minutes(30), w.start - s];
    let window_in = [w.start, w.end - s];
    let outside = [w.start - Duration::minutes(30) - s, w.end, w.end + s];
    for format in formats() {
        let path = dir.path().join(format!("{}.log", format.name));
        let mut lines = filler(
            at("2025-11-19T17:00:00Z"),
            at("2025-11-19T21:10:00Z"),
            Duration::milliseconds(250),
            format.info,
        );
        for t in baseline_in.iter().chain(&window_in).chain(&outside) {
            lines.push((*t, (format.error)(*t)));
        }
        write(&path, &ordered(lines));
        let size = std::fs::metadata(&path).unwrap().len();
        let r = run(config(&[&path])).await;
        assert_eq!(r.evidence.status, Status::Ok, "{}: {:?}", format.name, r.evidence.notes);
        assert_eq!(r.int("logs.error_count"), 2, "{}: window errors", format.name);
        assert_eq!(r.int("logs.baseline_error_count"), 2, "{}: baseline errors", format.name);
        assert_eq!(r.float("logs.first_error_offset_secs"), -1800.0, "{}", format.name);
        let file = r.file(&format!("{}.log", format.name));
        assert_eq!(file["mode"], "bisect", "{}", format.name);
        let read = file["bytes_read"].as_u64().unwrap();
        assert!(
            read < size / 2,
            "{}: read {read} of {size} bytes: bisection should skip most",
            format.name
        );
    }
}

#[tokio::test]
async fn logs_that_went_quiet_say_when_their_last_line_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let lines = ordered(filler(
        at("2025-11-19T20:00:00Z"),
        at("2025-11-19T20:35:01Z"),
        Duration::seconds(5),
        |t| iso(t, "INFO ok"),
    ));
    write(&path, &lines);
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 0);
    assert_eq!(r.int("logs.last_line_offset_secs"), -25 * 60);
    assert_eq!(
        r.fact("logs.last_line_at"),
        Some(&FactValue::Text("2025-11-19T20:35:00.000Z".into()))
    );
}

#[tokio::test]
async fn zoneless_times_are_read_in_the_configured_zone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // Berlin is UTC+1 in November: 21:29:59 local is 20:29:59 UTC (baseline), 21:30 is the window.
    let lines = [
        "2025-11-19 21:29:59,000 ERROR before",
        "2025-11-19 21:30:00,000 ERROR at start",
        "2025-11-19 21:59:59,999 ERROR last",
    ];
    write(&path, &lines.map(String::from));
    let mut c = config(&[&path]);
    c.timezone = "Europe/Berlin".into();
    let r = run(c).await;
    assert_eq!(r.int("logs.error_count"), 2);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(
        r.fact("logs.first_error_at"),
        Some(&FactValue::Text("2025-11-19T20:30:00.000Z".into()))
    );
}

#[tokio::test]
async fn errors_are_counted_per_minute_with_the_first_error_and_spikes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines =
        filler(at("2025-11-19T19:00:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(2), |t| {
            iso(t, "INFO ok")
        });
    lines.push((
        at("2025-11-19T20:10:30Z"),
        iso(at("2025-11-19T20:10:30Z"), "ERROR db: timeout after 30 ms"),
    ));
    lines.push((
        at("2025-11-19T20:31:10Z"),
        iso(at("2025-11-19T20:31:10Z"), "ERROR db: timeout after 31 ms"),
    ));
    for i in 0..3 {
        let t = at("2025-11-19T20:35:00Z") + Duration::seconds(i * 7);
        lines.push((t, iso(t, "ERROR db: timeout after 99 ms")));
    }
    for i in 0..12 {
        let t = at("2025-11-19T20:40:00Z") + Duration::seconds(i * 4);
        lines.push((t, iso(t, &format!("ERROR db: timeout after {i} ms"))));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 16);
    assert_eq!(r.int("logs.baseline_error_count"), 1);
    assert_eq!(r.float("logs.error_rate_ratio"), 16.0);
    assert_eq!(r.errors_at("2025-11-19T20:10:00Z"), 1);
    assert_eq!(r.errors_at("2025-11-19T20:31:00Z"), 1);
    assert_eq!(r.errors_at("2025-11-19T20:35:00Z"), 3);
    assert_eq!(r.errors_at("2025-11-19T20:40:00Z"), 12);
    assert_eq!(r.errors_at("2025-11-19T20:41:00Z"), 0);
    let series = r.data()["series"].as_array().unwrap();
    assert_eq!(series.len(), 60, "baseline and window, one point a minute");
    assert_eq!(series[29]["baseline"], true);
    assert_eq!(series[30]["baseline"], false);
    assert_eq!(
        r.fact("logs.first_error_at"),
        Some(&FactValue::Text("2025-11-19T20:31:10.000Z".into()))
    );
    assert_eq!(r.int("logs.first_error_offset_secs"), -1730);
    let kinds: Vec<(&str, String)> = r
        .evidence
        .events
        .iter()
        .map(|e| (e.kind.as_str(), witness_collector::time::format(e.time)))
        .collect();
    assert!(kinds.contains(&("first_error", "2025-11-19T20:31:10.000Z".into())), "{kinds:?}");
    let spikes: Vec<&String> =
        kinds.iter().filter(|(k, _)| *k == "error_spike").map(|(_, t)| t).collect();
    assert_eq!(spikes, ["2025-11-19T20:40:00.000Z"], "only the minute with 12 errors is a spike");
}

#[tokio::test]
async fn signatures_group_variants_and_new_ones_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines =
        filler(at("2025-11-19T19:50:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(5), |t| {
            iso(t, "INFO ok")
        });
    for i in 0..4 {
        let t = at("2025-11-19T20:05:00Z") + Duration::minutes(i);
        lines.push((
            t,
            iso(t, &format!("ERROR db: timeout after {} ms on 10.0.0.{}:5432", 3000 + i, i)),
        ));
    }
    for i in 0..5 {
        let t = at("2025-11-19T20:33:00Z") + Duration::minutes(i);
        lines.push((
            t,
            iso(t, &format!("ERROR db: timeout after {} ms on 10.0.1.{}:5432", 100 * i, 9 - i)),
        ));
    }
    for i in 0..6 {
        let t = at("2025-11-19T20:42:00Z") + Duration::seconds(20 * i);
        lines.push((t, iso(t, &format!(r#"ERROR payments: vendor stripe returned 503 for charge ch_{:012x} user "u{i}""#, 0xabc123 + i))));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 11);
    assert_eq!(r.int("logs.signature_count"), 2);
    assert_eq!(r.int("logs.new_signatures"), 1);
    let messages = match r.fact("logs.new_signature_messages") {
        Some(FactValue::List(items)) => items.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        messages,
        vec![FactValue::Text(r#"vendor stripe returned <n> for charge ch_<id> user "<s>""#.into())]
    );
    let sigs = r.data()["signatures"].as_array().unwrap();
    let stripe = &sigs[0];
    assert_eq!(stripe["count"], 6);
    assert_eq!(stripe["new"], true);
    assert_eq!(stripe["first_seen"], "2025-11-19T20:42:00.000Z");
    assert_eq!(stripe["last_seen"], "2025-11-19T20:43:40.000Z");
    assert_eq!(stripe["examples"].as_array().unwrap().len(), 3);
    let timeout = &sigs[1];
    assert_eq!(timeout["signature"], "timeout after <n> ms on <addr>");
    assert_eq!(
        (timeout["count"].as_u64(), timeout["baseline_count"].as_u64(), &timeout["new"]),
        (Some(5), Some(4), &Value::Bool(false))
    );
    let new_events: Vec<_> =
        r.evidence.events.iter().filter(|e| e.kind == "new_signature").collect();
    assert_eq!(new_events.len(), 1);
    assert_eq!(new_events[0].time, at("2025-11-19T20:42:00Z"));
    assert_eq!(new_events[0].signature.as_deref(), Some(stripe["signature"].as_str().unwrap()));
    assert_eq!(new_events[0].pointer.as_deref(), Some("/data/signatures/0"));
}

#[tokio::test]
async fn stack_trace_lines_belong_to_their_timestamped_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let lines = [
        iso(at("2025-11-19T20:40:00Z"), "ERROR api: unhandled exception"),
        "java.lang.IllegalStateException: order 17 in state \"paid\"".into(),
        "\tat com.example.Orders.pay(Orders.java:12)".into(),
        iso(at("2025-11-19T20:41:00Z"), "INFO worker: job failed"),
        "Traceback (most recent call last):".into(),
        "  File \"job.py\", line 3, in run".into(),
        "ValueError: bad input".into(),
        iso(at("2025-11-19T20:42:00Z"), "INFO fine"),
    ];
    write(&path, &lines);
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 2, "one record each, however many lines match");
    assert_eq!(r.errors_at("2025-11-19T20:41:00Z"), 1, "the traceback counts at its record's time");
    let excerpt = r.excerpt.expect("an excerpt");
    assert!(excerpt.contains("\tat com.example.Orders.pay(Orders.java:12)"), "{excerpt}");
    assert!(excerpt.contains("ValueError: bad input"), "{excerpt}");
}

#[tokio::test]
async fn rotated_and_gzip_siblings_are_read_when_they_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let span = |from: &str, to: &str| {
        let mut lines = filler(at(from), at(to), Duration::seconds(10), |t| iso(t, "INFO ok"));
        let mut t = at(from) + Duration::seconds(5);
        while t < at(to) {
            lines.push((t, iso(t, "ERROR boom")));
            t += Duration::minutes(5);
        }
        ordered(lines)
    };
    write(&d.join("app.log"), &span("2025-11-19T20:40:00Z", "2025-11-19T21:10:00Z"));
    write(&d.join("app.log.1"), &span("2025-11-19T20:20:00Z", "2025-11-19T20:40:00Z"));
    write_gz(&d.join("app.log.2.gz"), &span("2025-11-19T19:50:00Z", "2025-11-19T20:20:00Z"));
    write_gz(&d.join("app.log.3.gz"), &span("2025-11-19T10:00:00Z", "2025-11-19T11:00:00Z"));
    write(&d.join("app-2025-11-18.log"), &span("2025-11-18T10:00:00Z", "2025-11-18T11:00:00Z"));
    write(&d.join("other.log"), &span("2025-11-19T20:40:00Z", "2025-11-19T21:00:00Z"));
    std::fs::write(d.join("app.log.5.zst"), b"\x28\xb5\x2f\xfd junk").unwrap();
    let r = run(config(&[&d.join("app.log"), &d.join("app.log.5.zst")])).await;
    // Errors at :x0:05 and :x5:05; window 20:30-21:00 has 6, baseline 20:00-20:30 has 6.
    assert_eq!(r.int("logs.error_count"), 6, "{}", r.data()["files"]);
    assert_eq!(r.int("logs.baseline_error_count"), 6);
    assert_eq!(r.int("logs.files_read"), 3);
    assert_eq!(r.file("app.log.2.gz")["mode"], "stream");
    assert_eq!(r.file("app.log.1")["mode"], "bisect");
    for old in ["app.log.3.gz", "app-2025-11-18.log"] {
        assert_eq!(r.file(old)["mode"], "skipped", "{old}");
        assert_eq!(r.file(old)["note"], "outside the window and its baseline");
    }
    assert_eq!(
        r.evidence.status,
        Status::Ok,
        "an unsupported compression is a note, not missing data: {:?}",
        r.evidence.notes
    );
    assert!(
        r.evidence.notes.iter().any(|n| n.contains("app.log.5.zst: not read")),
        "{:?}",
        r.evidence.notes
    );
    assert!(
        r.data()["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["path"].as_str().unwrap().ends_with("other.log"))
    );
}

#[tokio::test]
async fn a_file_whose_times_go_backwards_is_read_linearly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // Two writers' logs concatenated: each half is ordered, the file is not.
    let half = |marker: &str| {
        let mut lines = filler(
            at("2025-11-19T19:00:00Z"),
            at("2025-11-19T21:00:00Z"),
            Duration::milliseconds(500),
            |t| iso(t, "INFO ok"),
        );
        for m in [5, 35, 45] {
            let t = at("2025-11-19T20:00:00Z") + Duration::minutes(m);
            lines.push((t, iso(t, &format!("ERROR {marker} failed"))));
        }
        ordered(lines)
    };
    let mut lines = half("first");
    lines.extend(half("second"));
    write(&path, &lines);
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 4);
    assert_eq!(r.int("logs.baseline_error_count"), 2);
    assert_eq!(r.file("app.log")["mode"], "linear");
    assert!(r.evidence.notes.iter().any(|n| n.contains("read linearly")), "{:?}", r.evidence.notes);
}

/// A CLF line at `t` answered in `secs`.
fn clf(t: DateTime<Utc>, secs: f64) -> String {
    format!(
        r#"10.1.2.3 - - [{}] "GET /api/items/7 HTTP/1.1" 200 512 "-" "Mozilla/5.0" {secs:.3}"#,
        t.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

#[tokio::test]
async fn a_slowdown_late_in_the_window_shows_in_the_last_minutes_p95() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    // 40 ms all along; from 20:58 one request in two takes 400 ms: 3 % of the window's
    // requests, 17 % of its last five minutes'.
    let mut lines =
        filler(at("2025-11-19T19:59:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(1), |t| {
            clf(t, 0.040)
        });
    for i in 0..60 {
        let t = at("2025-11-19T20:58:00Z") + Duration::seconds(2 * i);
        lines.push((t, clf(t, 0.400)));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert!(r.float("logs.latency_p95_ms") < 45.0, "the window's p95 is diluted");
    assert!((40.0..45.0).contains(&r.float("logs.latency_p95_baseline_ms")));
    let recent = r.float("logs.latency_p95_recent_ms");
    assert!((400.0..450.0).contains(&recent), "{recent}");
}

#[tokio::test]
async fn a_few_requests_in_the_last_minutes_give_no_recent_p95() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    // One request a minute: five in the last five minutes, too few for a percentile.
    let lines =
        filler(at("2025-11-19T19:59:00Z"), at("2025-11-19T21:00:00Z"), Duration::minutes(1), |t| {
            clf(t, 0.040)
        });
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert!(r.float("logs.latency_p95_ms") < 45.0);
    assert!(r.fact("logs.latency_p95_recent_ms").is_none(), "{:?}", r.evidence.facts);
}

#[tokio::test]
async fn access_logs_give_requests_5xx_by_endpoint_and_latency() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let line = |t: DateTime<Utc>, req: &str, status: u16, secs: f64| {
        format!(
            r#"10.1.2.3 - - [{}] "{req} HTTP/1.1" {status} 512 "-" "Mozilla/5.0" {secs:.3}"#,
            t.format("%d/%b/%Y:%H:%M:%S +0000")
        )
    };
    let mut lines =
        filler(at("2025-11-19T19:59:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(1), |t| {
            line(t, &format!("GET /api/items/{}?page=2", t.timestamp() % 1000), 200, 0.040)
        });
    for i in 0..10 {
        let t = at("2025-11-19T20:45:00Z") + Duration::milliseconds(300 * i + 100);
        lines.push((t, line(t, &format!("POST /api/orders/{}/pay", 1000 + i), 502, 2.5)));
    }
    let t = at("2025-11-19T20:50:30Z");
    lines.push((t, line(t, "GET /health", 500, 0.001)));
    for i in 0..20 {
        let t = at("2025-11-19T20:52:00Z") + Duration::seconds(i);
        lines.push((t, line(t, "GET /api/report", 200, 3.0)));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.file("access.log")["kind"], "access");
    assert_eq!(r.int("logs.requests"), 1800 + 11 + 20);
    assert_eq!(r.int("logs.status_5xx_count"), 11);
    assert_eq!(r.float("logs.status_5xx_ratio"), (11.0f64 / 1831.0 * 1000.0).round() / 1000.0);
    assert_eq!(r.float("logs.status_5xx_baseline_ratio"), 0.0);
    assert!(r.float("logs.latency_p95_ms") < 45.0 && r.float("logs.latency_p99_ms") > 2000.0);
    assert!((40.0..45.0).contains(&r.float("logs.latency_p95_baseline_ms")));
    let endpoints = r.data()["access"]["endpoints_5xx"].as_array().unwrap();
    assert_eq!(
        (&endpoints[0]["method"], &endpoints[0]["path"], &endpoints[0]["count"]),
        (&"POST".into(), &"/api/orders/{id}/pay".into(), &10.into())
    );
    let bursts: Vec<_> =
        r.evidence.events.iter().filter(|e| e.kind == "status_5xx_burst").collect();
    assert_eq!(bursts.len(), 1, "one 5xx on /health is not a burst");
    assert_eq!(bursts[0].time, at("2025-11-19T20:45:00Z"), "CLF times have whole seconds");
    assert_eq!(bursts[0].signature.as_deref(), Some("POST /api/orders/{id}/pay"));
    let minute = r.data()["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["minute"] == "2025-11-19T20:45:00.000Z")
        .unwrap()
        .clone();
    assert_eq!((minute["requests"].as_u64(), minute["status_5xx"].as_u64()), (Some(70), Some(10)));
}

#[tokio::test]
async fn missing_and_unreadable_paths_make_the_evidence_partial_with_a_reason_each() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("app.log");
    write(&good, &[iso(at("2025-11-19T20:40:00Z"), "ERROR boom")]);
    let dangling = dir.path().join("gone.log");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let missing = dir.path().join("missing.log");
    let nothing = dir.path().join("none-*.log");
    let fifo = dir.path().join("pipe.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let r = run(config(&[&good, &missing, &dangling, &nothing, &fifo])).await;
    assert_eq!(r.evidence.status, Status::Partial);
    assert_eq!(r.int("logs.error_count"), 1);
    let notes = r.evidence.notes.join("\n");
    for needle in [
        format!("{}: No such file", missing.display()),
        format!("{}: no file matches", nothing.display()),
        format!("{}: No such file", dangling.display()),
        format!("{}: not a regular file", fifo.display()),
    ] {
        assert!(notes.contains(&needle), "{needle} not in {notes}");
    }
}

#[tokio::test]
async fn nothing_readable_is_partial_without_counts() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(config(&[&dir.path().join("missing.log")])).await;
    assert_eq!(r.evidence.status, Status::Partial);
    assert_eq!(r.fact("logs.error_count"), None, "missing data must not read as zero errors");
    assert_eq!(r.evidence.summary, "no log file could be read (1 problem)");
}

#[tokio::test]
async fn binary_junk_invalid_utf8_and_long_lines_are_survived() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut f = std::fs::File::create(&path).unwrap();
    let t = |m: u32| format!("2025-11-19T20:{m:02}:00.000Z ");
    f.write_all(format!("{}INFO start\n", t(31)).as_bytes()).unwrap();
    f.write_all(&[t(32).as_bytes(), b"ERROR bad bytes \xff\xfe\x00\x01 here\n"].concat()).unwrap();
    f.write_all(&[0u8, 0xff, 0x13, b'\n', 0x80, 0x81, b'\n']).unwrap();
    // 200 KiB: longer than max_line_bytes, shorter than a buffer.
    f.write_all(format!("{}ERROR long {}\n", t(33), "x".repeat(200 * 1024)).as_bytes()).unwrap();
    // 3 MiB: longer than a whole buffer.
    f.write_all(format!("{}ERROR huge {}\n", t(34), "y".repeat(3 * 1024 * 1024)).as_bytes())
        .unwrap();
    f.write_all(format!("{}ERROR after the huge line\n", t(35)).as_bytes()).unwrap();
    drop(f);
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 4);
    assert_eq!(r.int("logs.lines_cut"), 2);
    assert_eq!(r.errors_at("2025-11-19T20:35:00Z"), 1, "lines after a huge line are still read");
    let examples: Vec<&str> = r.data()["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["examples"].as_array().unwrap())
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(examples.iter().any(|e| e.contains('\u{fffd}')), "{examples:?}");
    assert!(examples.iter().all(|e| e.len() <= 2048 + 3), "examples are capped");
    let excerpt = r.excerpt.unwrap();
    assert!(excerpt.len() <= 256 * 1024 + 4096, "{}", excerpt.len());
}

#[tokio::test]
async fn a_truncated_gzip_gives_what_could_be_read_and_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log.1.gz");
    let mut lines = Vec::new();
    for i in 0..20_000 {
        let t = at("2025-11-19T20:30:00Z") + Duration::milliseconds(i * 50);
        lines.push(iso(t, &format!("ERROR item {i} failed {:x}", i * 7919)));
    }
    write_gz(&path, &lines);
    let size = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(size / 2).unwrap();
    let r = run(config(&[&path])).await;
    assert_eq!(r.evidence.status, Status::Partial, "{:?} {}", r.evidence.notes, r.data());
    let count = r.int("logs.error_count");
    assert!(count > 1000 && count < 20_000, "{count}");
    assert!(
        r.evidence.notes.iter().any(|n| n.contains("app.log.1.gz: read only the first")),
        "{:?}",
        r.evidence.notes
    );
}

#[tokio::test]
async fn a_file_appended_to_while_it_is_read_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let lines = ordered(filler(
        at("2025-11-19T20:00:00Z"),
        at("2025-11-19T20:59:00Z"),
        Duration::milliseconds(100),
        |t| iso(t, "ERROR steady"),
    ));
    write(&path, &lines);
    let before = lines.iter().filter(|l| l.as_str() >= "2025-11-19T20:30").count() as i64;
    let writer_path = path.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer_stop = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().append(true).open(writer_path).unwrap();
        let mut n = 0;
        while !writer_stop.load(std::sync::atomic::Ordering::Relaxed) && n < 200_000 {
            f.write_all(iso(at("2025-11-19T20:59:30Z"), "ERROR appended\n").as_bytes()).unwrap();
            n += 1;
        }
    });
    let r = run(config(&[&path])).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(r.evidence.status == Status::Ok, "{:?}", r.evidence.notes);
    assert!(r.int("logs.error_count") >= before, "{} < {before}", r.int("logs.error_count"));
}

#[tokio::test]
async fn the_excerpt_keeps_the_newest_lines_within_its_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines = Vec::new();
    for i in 0..500 {
        let t = at("2025-11-19T20:31:00Z") + Duration::seconds(i * 3);
        lines.push(iso(t, "INFO context before"));
        lines.push(iso(t, &format!("ERROR number {i}")));
    }
    write(&path, &lines);
    let mut c = config(&[&path]);
    c.max_excerpt_bytes = 2000;
    c.context_lines = 1;
    let r = run(c).await;
    let excerpt = r.excerpt.unwrap();
    assert!(excerpt.contains("ERROR number 499"), "{excerpt}");
    assert!(!excerpt.contains("ERROR number 400"), "{excerpt}");
    assert!(
        excerpt.contains("its oldest lines left out"),
        "says that older lines were left out: {excerpt}"
    );
    assert!(excerpt.len() < 2000 + 2000, "{}", excerpt.len());
    assert!(r.evidence.notes.iter().any(|n| n.contains("excerpt keeps the newest")));
}

#[tokio::test]
async fn excluded_lines_do_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write(
        &path,
        &[
            iso(at("2025-11-19T20:40:00Z"), "ERROR harmless: cache warmup"),
            iso(at("2025-11-19T20:41:00Z"), "ERROR real"),
        ],
    );
    let mut c = config(&[&path]);
    c.exclude = vec!["harmless".into()];
    c.kind = LogKind::App;
    let r = run(c).await;
    assert_eq!(r.int("logs.error_count"), 1);
}

#[tokio::test]
async fn a_passed_deadline_returns_partial_evidence_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write(&path, &[iso(at("2025-11-19T20:40:00Z"), "ERROR boom")]);
    let mut ctx = CollectContext::for_test_at(anchor(), window());
    ctx.deadline = tokio::time::Instant::now();
    let started = std::time::Instant::now();
    let r = run_with(config(&[&path]), ctx).await;
    assert!(started.elapsed() < StdDuration::from_secs(5));
    assert_eq!(r.evidence.status, Status::Partial);
    assert!(r.evidence.notes.iter().any(|n| n.contains("deadline")), "{:?}", r.evidence.notes);
}

#[tokio::test]
async fn json_access_logs_are_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.json.log");
    let line = |t: DateTime<Utc>, status: u16| {
        format!(
            r#"{{"time":"{}","request":"GET /api/carts/{} HTTP/2.0","status":"{status}","request_time":"0.050"}}"#,
            t.format("%Y-%m-%dT%H:%M:%S%:z"),
            t.timestamp() % 97
        )
    };
    let mut lines =
        filler(at("2025-11-19T20:00:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(2), |t| {
            line(t, 200)
        });
    for i in 0..4 {
        let t = at("2025-11-19T20:50:00Z") + Duration::seconds(i * 5 + 1);
        lines.push((t, line(t, 504)));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.file("access.json.log")["kind"], "access");
    assert_eq!(r.int("logs.requests"), 900 + 4);
    assert_eq!(r.int("logs.status_5xx_count"), 4);
    assert_eq!(r.data()["access"]["endpoints_5xx"][0]["path"], "/api/carts/{id}");
    assert!((50.0..52.0).contains(&r.float("logs.latency_p50_ms")));
}

#[tokio::test]
async fn access_lines_in_an_unknown_format_give_no_request_figures() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    write(
        &path,
        &[
            iso(at("2025-11-19T20:40:00Z"), "GET /x took 5ms"),
            iso(at("2025-11-19T20:41:00Z"), "GET /y took 7ms"),
        ],
    );
    let mut c = config(&[&path]);
    c.kind = LogKind::Access;
    let r = run(c).await;
    assert_eq!(r.evidence.status, Status::Partial);
    assert_eq!(r.fact("logs.requests"), None, "unknown lines must not read as zero traffic");
    assert!(
        r.evidence.notes.iter().any(|n| n.contains("not in a known access format")),
        "{:?}",
        r.evidence.notes
    );
    assert!(r.data()["series"][0].get("requests").is_none());
}

#[tokio::test]
async fn a_long_range_read_by_several_threads_counts_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let start = at("2025-11-19T19:55:00Z");
    let mut lines = Vec::new();
    let mut expected = (0, 0);
    let mut t = start;
    let mut i = 0u64;
    while t < at("2025-11-19T21:05:00Z") {
        if i.is_multiple_of(700) {
            lines.push(iso(t, &format!("ERROR worker {i}: unhandled exception")));
            lines.push(format!("java.lang.RuntimeException: boom {i}"));
            lines.push("\tat com.example.Worker.run(Worker.java:42)".to_owned());
            match window().contains(t) {
                true => expected.0 += 1,
                false if window().baseline().contains(t) => expected.1 += 1,
                false => {}
            }
        } else {
            lines.push(iso(
                t,
                &format!("INFO worker {i}: step done, nothing to report here at all"),
            ));
        }
        t += Duration::milliseconds(9);
        i += 1;
    }
    write(&path, &lines);
    assert!(std::fs::metadata(&path).unwrap().len() > 24 * 1024 * 1024);
    let r = run(config(&[&path])).await;
    let file = r.file("big.log");
    assert!(
        file["segments"].as_u64().unwrap() >= 2
            || std::thread::available_parallelism().map_or(1, |n| n.get()) == 1,
        "{file}"
    );
    assert_eq!(r.int("logs.error_count"), expected.0);
    assert_eq!(r.int("logs.baseline_error_count"), expected.1);
    assert_eq!(r.int("logs.signature_count"), 1);
}

#[tokio::test]
async fn a_cancelled_run_returns_partial_evidence_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write(&path, &[iso(at("2025-11-19T20:40:00Z"), "ERROR boom")]);
    let ctx = CollectContext::for_test_at(anchor(), window());
    ctx.cancel.cancel();
    let r = run_with(config(&[&path]), ctx).await;
    assert_eq!(r.evidence.status, Status::Partial);
    assert_eq!(r.fact("logs.error_count"), None, "nothing was read: no count");
}

mod corpus;
mod mixed;
mod redaction;
mod scenarios;
/// Regression (issue 15): the onset of an incident was read from the earliest error of any
/// signature, including a background error present at the same rate in the baseline, so
/// "errors began before the rollout" sank a bad deploy. The onset of new signatures is
/// published apart, with the steady signatures' own rate ratio.
#[tokio::test]
async fn the_onset_of_new_errors_is_kept_apart_from_steady_background_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines =
        filler(at("2025-11-19T20:00:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(5), |t| {
            iso(t, "INFO ok")
        });
    // The background job fails every 5 minutes, before and during the window alike.
    for i in 0..12 {
        let t = at("2025-11-19T20:01:00Z") + Duration::minutes(5 * i);
        lines.push((t, iso(t, "ERROR cron: sitemap refresh failed after 3 retries")));
    }
    for i in 0..20 {
        let t = at("2025-11-19T20:48:00Z") + Duration::seconds(15 * i);
        lines.push((
            t,
            iso(t, "ERROR api: TypeError: Cannot read properties of null (reading 'email')"),
        ));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.first_error_offset_secs"), -1740, "the background error");
    assert_eq!(r.int("logs.first_new_error_offset_secs"), -720);
    assert_eq!(
        r.fact("logs.first_new_error_at"),
        Some(&FactValue::Text("2025-11-19T20:48:00.000Z".into()))
    );
    assert_eq!(r.int("logs.new_error_count"), 20);
    assert_eq!(r.float("logs.known_error_rate_ratio"), 1.0);
    let sigs = r.data()["signatures"].as_array().unwrap();
    let ratio = |text: &str| {
        sigs.iter().find(|s| s["signature"].as_str().unwrap().contains(text)).unwrap()["rate_ratio"]
            .as_f64()
    };
    assert_eq!(ratio("TypeError"), Some(20.0), "20 in the window, none before: counted as 1");
    assert_eq!(ratio("sitemap"), Some(1.0), "steady background noise");
    assert_eq!(r.int("logs.spiking_signatures"), 0, "steady noise does not spike");
}

/// Issue 15: an error the baseline already had, now many times as frequent, is a spike of
/// that signature, though nothing is new.
#[tokio::test]
async fn an_old_signature_many_times_as_frequent_is_a_spiking_signature() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut lines =
        filler(at("2025-11-19T20:00:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(5), |t| {
            iso(t, "INFO ok")
        });
    for i in 0..2 {
        let t = at("2025-11-19T20:10:00Z") + Duration::minutes(10 * i);
        lines.push((t, iso(t, "ERROR db: lock timeout on orders")));
    }
    for i in 0..30 {
        let t = at("2025-11-19T20:45:00Z") + Duration::seconds(20 * i);
        lines.push((t, iso(t, "ERROR db: lock timeout on orders")));
    }
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.new_error_count"), 0);
    assert_eq!(r.int("logs.spiking_signatures"), 1);
    assert_eq!(
        r.fact("logs.spiking_signature_messages"),
        Some(&FactValue::List(vec![FactValue::Text("lock timeout on orders".into())]))
    );
}

/// Regression (issue 15): no error in the window nor in the baseline read as "rate ×0".
#[tokio::test]
async fn no_errors_at_all_is_no_errors_not_a_ratio_of_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let lines =
        filler(at("2025-11-19T20:00:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(5), |t| {
            iso(t, "INFO ok")
        });
    write(&path, &ordered(lines));
    let r = run(config(&[&path])).await;
    assert_eq!(r.int("logs.error_count"), 0);
    assert_eq!(r.int("logs.baseline_error_count"), 0);
    assert_eq!(r.fact("logs.error_rate_ratio"), None);
    assert_eq!(r.int("logs.new_error_count"), 0);
    assert_eq!(r.fact("logs.first_new_error_offset_secs"), None);
    assert!(
        r.evidence.summary.starts_with("no errors in the window nor in the baseline"),
        "{}",
        r.evidence.summary
    );
    assert!(!r.evidence.summary.contains('×'), "{}", r.evidence.summary);
}

/// A rotated gzip file is streamed from its start: the megabytes before the baseline are
/// passed over a buffer at a time (only their first and last times read), and the counts
/// of the baseline and window, and of a record split across a buffer's end, stay exact.
#[tokio::test]
async fn a_long_gzip_stream_passes_over_what_precedes_the_baseline_and_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (from, to) = (at("2025-11-19T08:00:00Z"), at("2025-11-19T23:00:00Z"));
    let mut lines = filler(from, to, Duration::milliseconds(250), |t| {
        iso(t, "INFO request handled path=/api/orders status=200")
    });
    let mut t = from + Duration::seconds(30);
    while t < to {
        lines.push((t, iso(t, "ERROR payment failed\n\tat com.example.Pay.run(Pay.java:9)")));
        t += Duration::minutes(1);
    }
    let lines = ordered(lines);
    let plain: usize = lines.iter().map(|l| l.len() + 1).sum();
    write_gz(&d.join("app.log.1.gz"), &lines);
    let r = run(config(&[&d.join("app.log.1.gz")])).await;
    // One error a minute: 30 in the window (20:30-21:00), 30 in the baseline.
    assert_eq!(r.int("logs.error_count"), 30, "{}", r.data()["files"]);
    assert_eq!(r.int("logs.baseline_error_count"), 30);
    let file = r.file("app.log.1.gz");
    assert_eq!(file["mode"], "stream");
    let read = file["bytes_read"].as_u64().unwrap() as usize;
    assert!(read < plain, "the stream stops at the window's end: {read} of {plain} bytes");
    assert!(plain > 8 << 20, "long enough to pass over buffers: {plain} bytes");
}
