//! Writes a time-ordered log for the benchmark (`tests/bench/logs.sh`), and the truth to
//! check the collector's counts against:
//!
//! `loggen OUT BYTES HOURS [SHAPE]` writes at least BYTES bytes spread evenly over HOURS
//! hours (a little more, to reach the end time) ending at 2025-11-19T21:00:00Z, in one of
//! these shapes:
//!
//! - `app` (default): Python `logging` lines (`2025-11-19 20:59:59,123 ERROR app.db: …`)
//!   with multi-line Python tracebacks and Java stack traces under some errors, warnings
//!   that mention an `error:` without being errors, and about 0.5 % error records;
//! - `json`: JSON lines (`{"ts":"…","level":"error","logger":"db","msg":"…"}`), some with
//!   an escaped traceback in `exc_info`;
//! - `nginx`: nginx `combined` lines with `$request_time` appended, about 0.4 % 5xx.
//!
//! In the last 30 minutes, an error spike with a signature the rest never has (5xx on one
//! endpoint for `nginx`). Beside OUT, `OUT.truth` holds one line per minute that has
//! something: `<minute start, epoch seconds> <error records> <requests> <5xx>` — what an
//! exact reader must count.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    App,
    Json,
    Nginx,
}

#[derive(Default)]
struct Minute {
    errors: u64,
    requests: u64,
    status_5xx: u64,
}

/// xorshift64: the same file for the same arguments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Formats `YYYY-MM-DD HH:MM:SS` (or with a `T`) once per second; the milliseconds are
/// added per line.
struct Stamp {
    second: i64,
    text: String,
    clf: String,
}

impl Stamp {
    fn at(&mut self, millis: i64, sep: char) -> (&str, &str, u32) {
        let second = millis.div_euclid(1000);
        if second != self.second || !self.text.contains(sep) {
            let t = chrono::DateTime::from_timestamp(second, 0).expect("in range");
            self.text = t.format(&format!("%Y-%m-%d{sep}%H:%M:%S")).to_string();
            self.clf = t.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
            self.second = second;
        }
        (&self.text, &self.clf, millis.rem_euclid(1000) as u32)
    }
}

const LOGGERS: [&str; 6] = ["app.http", "app.db", "app.cache", "worker.jobs", "app.auth", "kafka"];
const PATHS: [&str; 6] =
    ["/api/orders/{}", "/api/users/{}/cart", "/static/app.js", "/healthz", "/api/search", "/login"];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "curl/8.5.0",
    "okhttp/4.12.0",
];

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(bytes), Some(hours)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: loggen OUT BYTES HOURS [app|json|nginx]");
        std::process::exit(2);
    };
    let shape = match args.get(4).map_or("app", String::as_str) {
        "app" => Shape::App,
        "json" => Shape::Json,
        "nginx" => Shape::Nginx,
        other => {
            eprintln!("loggen: unknown shape {other:?} (app, json or nginx)");
            std::process::exit(2);
        }
    };
    let bytes: u64 = bytes.parse().expect("BYTES is a number");
    let hours: i64 = hours.parse().expect("HOURS is a number");
    let end = chrono::DateTime::parse_from_rfc3339("2025-11-19T21:00:00Z")
        .expect("constant")
        .timestamp_millis();
    let start = end - hours * 3_600_000;
    let average = match shape {
        Shape::App => 125,
        Shape::Json => 140,
        Shape::Nginx => 155,
    };
    // Aim a little short so BYTES is reached before the end time, then keep writing
    // until the end time.
    let records = bytes / (average - 5) + 1;
    let step = ((end - start) as f64 / records as f64).max(0.001);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut truth: BTreeMap<i64, Minute> = BTreeMap::new();
    let mut stamp = Stamp { second: i64::MIN, text: String::new(), clf: String::new() };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut line = String::with_capacity(4096);
    let (mut written, mut i) = (0u64, 0u64);
    loop {
        let t = start + (i as f64 * step) as i64;
        if written >= bytes && t >= end {
            break;
        }
        let (r, s) = (rng.next(), rng.next());
        let spike = end - t < 30 * 60_000;
        line.clear();
        let minute = truth.entry(t.div_euclid(60_000) * 60).or_default();
        match shape {
            Shape::App => {
                let (ts, _, ms) = stamp.at(t, ' ');
                minute.errors += u64::from(app(&mut line, ts, ms, r, s, spike));
            }
            Shape::Json => {
                let (ts, _, ms) = stamp.at(t, 'T');
                minute.errors += u64::from(json(&mut line, ts, ms, r, s, spike));
            }
            Shape::Nginx => {
                let (_, clf, _) = stamp.at(t, ' ');
                let status = nginx(&mut line, clf, r, s, spike);
                minute.requests += 1;
                minute.status_5xx += u64::from(status >= 500);
            }
        }
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    w.flush()?;
    let mut t = BufWriter::new(std::fs::File::create(format!("{out}.truth"))?);
    for (minute, m) in truth {
        writeln!(t, "{minute} {} {} {}", m.errors, m.requests, m.status_5xx)?;
    }
    t.flush()
}

/// One record of the `app` shape; whether it is an error.
fn app(line: &mut String, ts: &str, ms: u32, r: u64, s: u64, spike: bool) -> bool {
    let logger = LOGGERS[(s % 6) as usize];
    let _ = match r % 1000 {
        0..=1 => writeln!(
            line,
            "{ts},{ms:03} ERROR app.db: query failed: timeout after {} ms on 10.0.{}.{}:5432",
            s % 5000,
            s % 7,
            (s >> 8) % 250
        ),
        2 => writeln!(
            line,
            "{ts},{ms:03} ERROR app.http: unhandled exception for order {}\n\
             Traceback (most recent call last):\n  \
             File \"/srv/app/orders.py\", line {}, in pay\n    \
             charge = gateway.charge(order.total)\n  \
             File \"/srv/app/gateway.py\", line 88, in charge\n    \
             raise GatewayError(f\"declined: {{code}}\")\n\
             app.gateway.GatewayError: declined: {}",
            s % 100_000,
            s % 400,
            s % 60
        ),
        3 => writeln!(
            line,
            "{ts},{ms:03} ERROR worker.jobs: job {} failed\n\
             java.lang.IllegalStateException: order {} in state \"paid\"\n\
             \tat com.example.Orders.pay(Orders.java:{})\n\
             \tat com.example.Api.handle(Api.java:88)",
            s % 100_000,
            s % 100_000,
            s % 400
        ),
        4 if spike => writeln!(
            line,
            "{ts},{ms:03} CRITICAL payments: upstream vendor returned 503 for charge ch_{s:x}"
        ),
        5..=30 if spike => writeln!(
            line,
            "{ts},{ms:03} ERROR payments: connection pool exhausted after {} waiters",
            s % 90
        ),
        10..=39 => writeln!(
            line,
            "{ts},{ms:03} WARNING app.cache: miss ratio {}.{}% above threshold for shard {}; \
             last error: connection reset",
            s % 40,
            s % 10,
            s % 64
        ),
        40..=59 => writeln!(
            line,
            "{ts},{ms:03} DEBUG {logger}: Exception handler registered for {} (no error)",
            s % 1000
        ),
        _ => writeln!(
            line,
            "{ts},{ms:03} INFO {logger}: request handled method=GET path=/api/orders/{} \
             user={} status=200 duration_ms={}",
            s % 1_000_000,
            (s >> 20) % 50_000,
            s % 300
        ),
    };
    matches!(r % 1000, 0..=3) || (spike && matches!(r % 1000, 4..=30))
}

/// One record of the `json` shape; whether it is an error.
fn json(line: &mut String, ts: &str, ms: u32, r: u64, s: u64, spike: bool) -> bool {
    let logger = LOGGERS[(s % 6) as usize];
    let (level, message) = match r % 1000 {
        0..=2 => ("error", format!("query failed: timeout after {} ms", s % 5000)),
        3 => (
            "error",
            format!(
                "unhandled exception for order {}\",\"exc_info\":\"Traceback (most recent call last):\\n  File \\\"/srv/app/orders.py\\\", line {}, in pay\\nValueError: bad total",
                s % 100_000,
                s % 400
            ),
        ),
        4..=30 if spike => ("error", format!("connection pool exhausted after {} waiters", s % 90)),
        10..=59 => ("warning", format!("retrying after error: connection reset ({})", s % 9)),
        _ => (
            "info",
            format!(
                "request handled\",\"duration_ms\":{},\"path\":\"/api/orders/{}",
                s % 300,
                s % 1_000_000
            ),
        ),
    };
    let _ = writeln!(
        line,
        "{{\"ts\":\"{ts}.{ms:03}Z\",\"level\":\"{level}\",\"logger\":\"{logger}\",\"pid\":{},\"msg\":\"{message}\"}}",
        1000 + s % 50
    );
    level == "error"
}

/// One request of the `nginx` shape; its status.
fn nginx(line: &mut String, clf: &str, r: u64, s: u64, spike: bool) -> u16 {
    let status = match r % 1000 {
        0..=1 => 500,
        2..=3 => 502,
        4..=40 if spike => 503,
        41..=60 => 404,
        61..=70 => 304,
        _ => 200,
    };
    let path = if status == 503 {
        "/api/payments/charge".to_owned()
    } else {
        PATHS[(s % 6) as usize].replace("{}", &(s % 100_000).to_string())
    };
    let query = if s.is_multiple_of(5) { "?page=2&sort=desc" } else { "" };
    let method = if s.is_multiple_of(7) { "POST" } else { "GET" };
    let millis = (s >> 12) % 900 + u64::from(status >= 500) * 1200;
    let _ = writeln!(
        line,
        "10.{}.{}.{} - - [{clf}] \"{method} {path}{query} HTTP/1.1\" {status} {} \"https://shop.example.com/\" \"{}\" {}.{:03}",
        s % 4,
        (s >> 4) % 256,
        (s >> 16) % 256,
        (s >> 24) % 20_000,
        AGENTS[(s % 3) as usize],
        millis / 1000,
        millis % 1000,
    );
    status
}
