//! Measures the `logs` reader against logs with a known truth (used by
//! `tests/bench/loghub-eval.sh` on the LogHub samples): `loghub_eval LOG TRUTH NAME`
//! reads LOG line by line with the real detector, timestamp parser, level reader and
//! signatures, compares every line with TRUTH (a TSV written by the script: per line the
//! true instant in epoch milliseconds or `-`, whether its true level is an error (`1`, `0`
//! or `-` when the format has none) and its true template), then runs the collector over
//! the whole file and prints one row of figures for the system NAME. Signatures are
//! counted over the lines read as errors, and so are the true templates they are compared
//! with (and over all lines).

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use witness_collector::{CollectContext, CollectorConfig, Window};
use witness_logs::LogsConfig;
use witness_logs::fuzzing::{TimeContext, detect, read_line};

struct Truth {
    millis: Option<i64>,
    error: Option<bool>,
    template: String,
}

fn truth(path: &str) -> Vec<Truth> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| fail(&format!("{path}: {e}")));
    text.lines()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let millis = f.next().and_then(|v| v.parse().ok());
            let error = match f.next() {
                Some("1") => Some(true),
                Some("0") => Some(false),
                _ => None,
            };
            Truth { millis, error, template: f.next().unwrap_or("").to_owned() }
        })
        .collect()
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(log), Some(truth_path), Some(name)) = (args.get(1), args.get(2), args.get(3)) else {
        fail("usage: loghub_eval LOG TRUTH NAME")
    };
    let bytes = std::fs::read(log).unwrap_or_else(|e| fail(&format!("{log}: {e}")));
    let lines: Vec<&[u8]> = bytes.split(|c| *c == b'\n').filter(|l| !l.is_empty()).collect();
    let truths = truth(truth_path);
    let modified =
        std::fs::metadata(log).ok().and_then(|m| m.modified().ok()).map(DateTime::<Utc>::from);
    let cx = TimeContext::new(chrono_tz::Tz::UTC, Utc::now()).for_file(modified);
    let sample: Vec<&[u8]> = lines.iter().take(200).copied().collect();
    let Some(format) = detect(&sample, &cx) else {
        println!("{name:<12} format: none — not read");
        return;
    };
    let patterns = regex::bytes::Regex::new(
        &LogsConfig::new("eval", Vec::new())
            .patterns
            .iter()
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|"),
    )
    .unwrap_or_else(|e| fail(&e.to_string()));
    let (mut read, mut exact, mut with_truth) = (0, 0, 0);
    let (mut tp, mut fp, mut fn_, mut truth_errors) = (0, 0, 0, 0);
    let mut error_signatures = HashSet::new();
    let mut error_templates = HashSet::new();
    let mut all_signatures = HashSet::new();
    let mut all_templates = HashSet::new();
    let (mut first, mut last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    let mut misses = Vec::new();
    // With WITNESS_EVAL_SHOW=1: the templates of error lines (of all lines with
    // WITNESS_EVAL_ALL=1 too) that became several signatures.
    let mut split: std::collections::BTreeMap<String, HashSet<String>> = Default::default();
    for (i, line) in lines.iter().enumerate() {
        let truth = truths.get(i);
        let parsed = read_line(line, &format, &cx);
        if let Some(m) = truth.and_then(|t| t.millis) {
            with_truth += 1;
            if parsed.as_ref().is_some_and(|(t, _, _)| t.timestamp_millis() == m) {
                exact += 1;
            } else if misses.len() < 3 {
                misses.push(format!(
                    "line {}: read {:?}, truth {:?}",
                    i + 1,
                    parsed.as_ref().map(|(t, _, _)| *t),
                    DateTime::from_timestamp_millis(m)
                ));
            }
        }
        let Some((t, level, signature)) = parsed else { continue };
        read += 1;
        first = Some(first.map_or(t, |f| f.min(t)));
        last = Some(last.map_or(t, |l| l.max(t)));
        let is_error = level.map_or_else(|| patterns.is_match(line), |l| l.is_error);
        let template = truth.map_or("", |t| t.template.as_str());
        all_signatures.insert(signature.clone());
        if is_error || std::env::var_os("WITNESS_EVAL_ALL").is_some() {
            split.entry(template.to_owned()).or_default().insert(signature.clone());
        }
        all_templates.insert(template.to_owned());
        match truth.and_then(|t| t.error) {
            Some(true) => {
                truth_errors += 1;
                if is_error {
                    tp += 1;
                } else {
                    fn_ += 1;
                }
            }
            Some(false) if is_error => fp += 1,
            _ => {}
        }
        if is_error {
            error_signatures.insert(signature);
            error_templates.insert(template.to_owned());
        }
    }
    let collected = match (first, last) {
        (Some(f), Some(l)) => collect(log, f, l),
        _ => None,
    };
    let level_cell = if truths.iter().any(|t| t.error.is_some()) {
        format!("{tp}/{truth_errors} (+{fp} −{fn_})")
    } else {
        "no level truth".to_owned()
    };
    println!(
        "{name:<12} {:<38} read {read:>4}/{:<4} exact {exact:>4}/{with_truth:<4} errors {level_cell:<22} collector errors {:<5} error sigs {:>3} vs templates {:>3}  all sigs {:>4} vs templates {:>3}",
        format.name(),
        lines.len(),
        collected.map_or("-".to_owned(), |c| c.to_string()),
        error_signatures.len(),
        error_templates.len(),
        all_signatures.len(),
        all_templates.len(),
    );
    for m in misses {
        eprintln!("  {name}: {m}");
    }
    if std::env::var_os("WITNESS_EVAL_SHOW").is_some() {
        let mut worst: Vec<_> = split.iter().filter(|(_, s)| s.len() > 1).collect();
        worst.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
        for (template, signatures) in worst.into_iter().take(6) {
            eprintln!("  {name}: {} signatures for {template}", signatures.len());
            for s in signatures.iter().take(3) {
                eprintln!("      {s}");
            }
        }
    }
}

/// The collector's error count over the file's whole time range.
fn collect(log: &str, first: DateTime<Utc>, last: DateTime<Utc>) -> Option<i64> {
    let end = last + chrono::Duration::seconds(1);
    let collector = LogsConfig::new("eval", vec![log.to_owned()]).build().ok()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let evidence = runtime.block_on(async {
        let mut ctx = CollectContext::for_test_at(end, Window::new(first, end));
        ctx.deadline = tokio::time::Instant::now() + Duration::from_secs(600);
        collector.collect(&ctx).await
    });
    evidence.ok()?.facts.get("logs.error_count").and_then(|v| v.as_f64()).map(|v| v as i64)
}
