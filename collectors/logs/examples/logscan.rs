//! Runs the `logs` collector once over FILE, as a run would, and prints what it found and
//! how long it took (used by `tests/bench/logs.sh`).
//!
//! `logscan FILE --last-mins N` looks at the last N minutes of the file (and the N before
//! them as baseline); `logscan FILE --whole` makes the window the file's whole time range;
//! `logscan FILE --window START END` (RFC 3339) takes that window, for files in any format
//! (a profile of the collector alone, under callgrind, without a whole run's fixed cost).
//! With `WITNESS_LOGSCAN_JSON=1` it prints the whole evidence as JSON.

use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use witness_collector::{CollectContext, CollectorConfig, Window};
use witness_logs::LogsConfig;

fn time_at_line_start(line: &[u8]) -> Option<DateTime<Utc>> {
    let text = std::str::from_utf8(line.get(..24)?).ok()?;
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The first and last times of an RFC 3339 log (the benchmark's own file).
fn range(path: &str) -> std::io::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let mut file = std::fs::File::open(path)?;
    let mut head = vec![0u8; 4096];
    let n = file.read(&mut head)?;
    let first = head[..n].split(|c| *c == b'\n').find_map(time_at_line_start);
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(65536)))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let last = tail.split(|c| *c == b'\n').rev().find_map(time_at_line_start);
    match (first, last) {
        (Some(f), Some(l)) => Ok((f, l)),
        _ => Err(std::io::Error::other("no RFC 3339 times at the file's start and end")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), Some(mode)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: logscan FILE (--last-mins N | --whole | --window START END)");
        std::process::exit(2);
    };
    let given = |i: usize| args.get(i).and_then(|t| t.parse::<DateTime<Utc>>().ok());
    let (first, last) = match (mode.as_str(), given(3), given(4)) {
        ("--window", Some(start), Some(end)) => (start, end - chrono::Duration::seconds(1)),
        _ => range(path).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }),
    };
    let end = last + chrono::Duration::seconds(1);
    let window = match mode.as_str() {
        "--window" => Window::new(first, end),
        "--whole" => Window::new(first, end),
        "--last-mins" => {
            let mins: i64 = args.get(3).and_then(|m| m.parse().ok()).unwrap_or(15);
            Window::new(end - chrono::Duration::minutes(mins), end)
        }
        _ => {
            eprintln!("usage: logscan FILE (--last-mins N | --whole | --window START END)");
            std::process::exit(2);
        }
    };
    let collector = LogsConfig::new("bench", vec![path.clone()]).build().unwrap_or_else(|p| {
        eprintln!("{p:?}");
        std::process::exit(2);
    });
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let started = Instant::now();
    let evidence = runtime.block_on(async {
        let mut ctx = CollectContext::for_test_at(end, window);
        ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
        collector.collect(&ctx).await
    });
    let elapsed = started.elapsed();
    match evidence {
        Ok(e) if std::env::var_os("WITNESS_LOGSCAN_JSON").is_some() => {
            println!("{}", serde_json::to_string_pretty(&e).unwrap_or_default());
        }
        Ok(e) => {
            let files = &e.data["files"][0];
            println!(
                "elapsed_secs={:.3} status={} mode={} bytes_read={} errors={} signatures={} new={} requests={} status_5xx={}",
                elapsed.as_secs_f64(),
                e.status,
                files["mode"].as_str().unwrap_or("?"),
                files["bytes_read"],
                e.facts.get("logs.error_count").and_then(|v| v.as_f64()).unwrap_or(-1.0),
                e.facts.get("logs.signature_count").and_then(|v| v.as_f64()).unwrap_or(-1.0),
                e.facts.get("logs.new_signatures").and_then(|v| v.as_f64()).unwrap_or(-1.0),
                e.facts.get("logs.requests").and_then(|v| v.as_f64()).unwrap_or(-1.0),
                e.facts.get("logs.status_5xx_count").and_then(|v| v.as_f64()).unwrap_or(-1.0),
            );
            eprintln!("summary: {}", e.summary);
        }
        Err(e) => {
            eprintln!("collect failed: {e}");
            std::process::exit(1);
        }
    }
}
