//! Times the collector's lookback on a repository: used by `tests/bench/git.sh`.
//!
//! ```text
//! cargo run --release -p witness-git --example lookback -- <repo> <anchor RFC 3339> [runs]
//! ```
//! Prints the time to build the built-in redactor (which every witness process pays before
//! any collector runs), one line per run (the first is the cold one: packs and indexes not
//! yet mapped in this process) and a summary line with the median, the commits read and the status.
//! With `WITNESS_NUMSTAT=<file>` it also writes `<commit> <added> <removed> <path>` lines
//! for every file read (`-` for a count not taken), to compare with `git log --numstat`;
//! `WITNESS_LINE_COUNTS=all|classified|none` sets `line_counts` (default `classified`);
//! `WITNESS_EVIDENCE=<file>` writes the evidence's data as JSON.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use witness_collector::{CollectContext, CollectorConfig, Redactor, Window};
use witness_git::{GitConfig, LineCounts};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: lookback <repo> <anchor RFC 3339> [runs]";
    let repo = args.next().ok_or(usage)?;
    let anchor: DateTime<Utc> = DateTime::parse_from_rfc3339(&args.next().ok_or(usage)?)?.into();
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);

    let mut config = GitConfig::new("bench", &repo);
    config.timeout_secs = Some(30);
    config.line_counts = match std::env::var("WITNESS_LINE_COUNTS").as_deref() {
        Ok("all") => LineCounts::All,
        Ok("none") => LineCounts::None,
        Ok("classified") | Err(_) => LineCounts::Classified,
        Ok(other) => {
            return Err(format!("WITNESS_LINE_COUNTS={other}: all, classified or none").into());
        }
    };
    let collector = config.build().map_err(|p| format!("{p:?}"))?;
    // Every witness process builds its redactor before a collector runs (the context
    // carries it); timed apart, since it is not the collector's cost.
    let (started, cpu_started) = (Instant::now(), cpu_time());
    drop(Redactor::builtin());
    println!(
        "redactor built: {:.1} ms wall, {:.1} ms CPU",
        started.elapsed().as_secs_f64() * 1000.0,
        cpu_time().saturating_sub(cpu_started).as_secs_f64() * 1000.0
    );
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    let mut last = None;
    for run in 0..runs.max(1) {
        let mut ctx = CollectContext::for_test_at(
            anchor,
            Window::new(anchor - chrono::Duration::minutes(30), anchor),
        );
        ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let (started, cpu_started) = (Instant::now(), cpu_time());
        let evidence = collector.collect(&ctx).await?;
        let (elapsed, cpu) = (started.elapsed(), cpu_time().saturating_sub(cpu_started));
        println!(
            "run {run}: {:.1} ms wall, {:.1} ms CPU (all threads)",
            elapsed.as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0
        );
        times.push(elapsed);
        cpu_times.push(cpu);
        last = Some(evidence);
    }
    times.sort();
    cpu_times.sort();
    let evidence = last.ok_or("no run")?;
    let files: u64 = evidence.data["commits"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["files_changed"].as_u64()).sum())
        .unwrap_or(0);
    println!(
        "median {:.1} ms wall, {:.1} ms CPU; min {:.1} ms wall; status {}; commits_in_lookback {}; commits read {}; files {}; tags in span {}; commit-graph {}",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        cpu_times[cpu_times.len() / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        evidence.status,
        evidence.data["commits_in_lookback"],
        evidence.data["commits"].as_array().map_or(0, Vec::len),
        files,
        evidence.data["tags"].as_array().map_or(0, Vec::len),
        evidence.data["repository"]["commit_graph"],
    );
    if let Ok(out) = std::env::var("WITNESS_NUMSTAT") {
        let mut lines = Vec::new();
        for commit in evidence.data["commits"].as_array().into_iter().flatten() {
            for file in commit["files"].as_array().into_iter().flatten() {
                let count = |k: &str| file[k].as_u64().map_or("-".to_owned(), |n| n.to_string());
                let (id, path) =
                    (commit["id"].as_str().unwrap_or(""), file["path"].as_str().unwrap_or(""));
                lines.push(format!(
                    "{id} {} {} {path}",
                    count("lines_added"),
                    count("lines_removed")
                ));
            }
        }
        lines.sort();
        std::fs::write(out, lines.join("\n") + "\n")?;
    }
    if let Ok(out) = std::env::var("WITNESS_EVIDENCE") {
        std::fs::write(out, serde_json::to_vec_pretty(&evidence.data)?)?;
    }
    for note in &evidence.notes {
        println!("note: {note}");
    }
    Ok(())
}

/// User and system CPU time of this process so far, all threads.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let micros =
        |t: libc::timeval| Duration::from_micros((t.tv_sec as u64) * 1_000_000 + t.tv_usec as u64);
    micros(usage.ru_utime) + micros(usage.ru_stime)
}
