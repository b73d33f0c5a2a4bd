//! Evaluates the redaction engine against a corpus of secrets (not a test: the corpus is
//! not part of the repository) and measures its throughput on ordinary logs.
//!
//! ```text
//! redact_eval corpus FILE.jsonl [--list]   one case per line: {"id","source","type","line","secret"}
//! redact_eval throughput [MIB] [ordinary|app]   the ordinary-evidence corpus, or an application log
//! ```
//!
//! For each case the line goes through [`Redactor::redact_text`] with the default
//! configuration, as a log line does. A case survives when its secret, or any 8-character
//! fragment of it, is still in the output more often than the rest of the line holds it
//! (a fragment that is also a key's name, `Password`, is not a survivor). Destroyed text is what redaction replaced
//! beyond the secrets (the bytes of the line outside every occurrence of every secret
//! the corpus lists for that line that are no longer there), summed over all cases and
//! shown per case with `--list` when more than 16 bytes were destroyed.

use std::collections::BTreeMap;
use std::time::Instant;

use regex::Regex;
use serde::Deserialize;
use witness_redact::{RedactionConfig, Redactor};

#[derive(Deserialize)]
struct Case {
    id: String,
    source: String,
    #[serde(rename = "type")]
    kind: String,
    line: String,
    secret: String,
}

/// Survivors and cases of one group.
#[derive(Default)]
struct Tally {
    cases: usize,
    survived: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("corpus") if args.len() >= 2 => corpus(&args[1], args.iter().any(|a| a == "--list")),
        Some("throughput") => {
            let what = args.get(2).map_or("ordinary", String::as_str);
            throughput(args.get(1).map_or(Ok(64), |s| s.parse())?, what);
            Ok(())
        }
        _ => Err("usage: redact_eval corpus FILE.jsonl [--list] | redact_eval throughput [MIB] [ordinary|app]".into()),
    }
}

/// Whether `out` still holds `secret` or any 8-character fragment of it that the rest of
/// `line` (outside the secret's occurrences) does not hold as well: a fragment that is
/// also the line's own text (`key="Password" value="CleartextPassword1"`: `Password`)
/// says nothing about the secret.
fn survives(out: &str, secret: &str, line: &str) -> bool {
    let rest = line.replace(secret, "\0");
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return out.contains(secret);
    }
    chars.windows(8).map(|w| w.iter().collect::<String>()).any(|fragment| {
        out.contains(&fragment) && out.matches(&fragment).count() > rest.matches(&fragment).count()
    })
}

/// Bytes of `line` outside every occurrence of `secret` that `out` no longer holds: the
/// text between tokens of `out` is aligned, in order, with `line`.
fn destroyed(line: &str, out: &str, secrets: &[String]) -> usize {
    let token = Regex::new(r"\[REDACTED:[a-z0-9_]+:[0-9a-f]{4}\]").expect("compiles");
    let mut kept = vec![false; line.len()];
    let mut at = 0;
    for piece in token.split(out) {
        if piece.is_empty() {
            continue;
        }
        if let Some(found) = line[at..].find(piece) {
            let start = at + found;
            kept[start..start + piece.len()].iter_mut().for_each(|k| *k = true);
            at = start + piece.len();
        }
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        for (start, _) in line.match_indices(secret.as_str()) {
            kept[start..start + secret.len()].iter_mut().for_each(|k| *k = true);
        }
    }
    kept.iter().filter(|k| !**k).count()
}

fn corpus(path: &str, list: bool) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let redactor = Redactor::new(&RedactionConfig::default(), Vec::new())?;
    let mut by_source: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut total, mut survived, mut destroyed_bytes, mut line_bytes) = (0, 0, 0, 0);
    let cases: Vec<Case> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    // Every secret the corpus lists for a line: none of them is text to keep.
    let mut secrets_of: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for case in &cases {
        secrets_of.entry(case.line.as_str()).or_default().push(case.secret.clone());
    }
    for case in &cases {
        let out = redactor.redact_text(&case.line);
        let lost = survives(&out, &case.secret, &case.line);
        let gone = destroyed(&case.line, &out, &secrets_of[case.line.as_str()]);
        total += 1;
        line_bytes += case.line.len();
        destroyed_bytes += gone;
        for tally in [
            by_source.entry(case.source.clone()).or_default(),
            by_kind.entry(case.kind.clone()).or_default(),
        ] {
            tally.cases += 1;
            tally.survived += usize::from(lost);
        }
        if lost {
            survived += 1;
        }
        if list && (lost || gone > 16) {
            let what = if lost { "SURVIVES" } else { "destroys" };
            println!(
                "{what} {} {}/{} destroyed={gone}\n  in:  {:?}\n  out: {:?}\n  secret: {:?}",
                case.id, case.source, case.kind, case.line, out, case.secret
            );
        }
    }
    println!("== survivors by source");
    for (name, t) in &by_source {
        println!("{name:<24} {:>4} / {:<4}", t.survived, t.cases);
    }
    println!("== survivors by type (types with survivors)");
    for (name, t) in by_kind.iter().filter(|(_, t)| t.survived > 0) {
        println!("{name:<24} {:>4} / {:<4}", t.survived, t.cases);
    }
    println!(
        "== total: {survived} of {total} secrets survive; {destroyed_bytes} of {line_bytes} bytes of non-secret text destroyed"
    );
    Ok(())
}

/// Redacts `mib` MiB of log text as one text, the way the bundle writer redacts a file,
/// and prints MiB/s: an application log (`app`: requests, warnings, errors with stack
/// traces, as `tests/bench/logs.sh` generates them) or the ordinary-evidence corpus
/// (`ordinary`: its near-misses — `password authentication failed`, `token_count`,
/// `auth:` — every 79 lines), numbers varied.
fn throughput(mib: usize, what: &str) {
    let corpus = include_str!("../../../tests/data/redaction/ordinary.txt");
    let lines: Vec<&str> = corpus.lines().collect();
    let mut text = String::with_capacity(mib << 20);
    let mut n: u64 = 0;
    while text.len() < mib << 20 {
        n += 1;
        // Vary the numbers, as real logs do, so nothing is cached by content.
        let v = n.wrapping_mul(2_654_435_761) % 1_000_000;
        if what == "app" {
            let line = match v % 100 {
                0..=2 => format!(
                    "2025-11-19T21:{:02}:{:02}.{:03}Z ERROR [db] query failed: timeout after {} ms on 10.0.{}.{}:5432\n",
                    v % 60,
                    n % 60,
                    v % 1000,
                    v % 5000,
                    v % 255,
                    n % 255
                ),
                3 => format!(
                    "2025-11-19T21:00:00.000Z ERROR [api] unhandled exception for order {v}\njava.lang.IllegalStateException: order {v} in state \"paid\"\n\tat com.example.Orders.pay(Orders.java:{})\n\tat com.example.Api.handle(Api.java:88)\n",
                    v % 400
                ),
                4..=30 => format!(
                    "2025-11-19T21:00:00.000Z WARN  [cache] miss ratio {}.{}% above threshold for shard {}\n",
                    v % 100,
                    n % 10,
                    v % 16
                ),
                _ => format!(
                    "2025-11-19T21:00:00.000Z INFO  [http] request handled method=GET path=/api/orders/{v} user={} status=200 duration_ms={}\n",
                    n % 5000,
                    v % 900
                ),
            };
            text.push_str(&line);
        } else {
            for line in &lines {
                text.push_str(&format!("{v} seq={n} "));
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    let what = if what == "app" { "an application log" } else { "the ordinary corpus" };
    let redactor = Redactor::new(&RedactionConfig::default(), vec!["not-in-the-logs".into()])
        .expect("the built-in rules compile");
    let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        let (start, cpu_start) = (Instant::now(), thread_cpu_secs());
        let out = redactor.redact_text(&text);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(out.len(), text.len(), "ordinary logs are not changed");
        best = best.min(secs);
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu_secs()) {
            best_cpu = best_cpu.min(b - a);
        }
    }
    let size = text.len() as f64 / f64::from(1 << 20);
    println!(
        "{size:.0} MiB of {what} in {best:.3} s: {:.0} MiB/s wall, {:.0} MiB/s of CPU time (best of 5)",
        size / best,
        size / best_cpu
    );
}

/// The CPU time of this thread (Linux: `/proc/thread-self/schedstat`), which other work
/// on a shared machine disturbs less than the wall clock.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(nanos / 1e9)
}
