//! Test support (feature `test-support`): a real Prometheus (Debian's `prometheus`, path in
//! `WITNESS_TEST_PROMETHEUS` or on `PATH`) on a free port of 127.0.0.1, over a data
//! directory of deterministic history backfilled with `promtool tsdb
//! create-blocks-from openmetrics` (`WITNESS_TEST_PROMTOOL`, else beside `prometheus`,
//! else on `PATH`). It is killed when dropped.
//!
//! Blocks older than the retention are deleted by Prometheus, and history is written at a
//! fixed past date so that facts and onsets are exact: the retention is set to 100 years.
//! A missing binary fails the test with what to install; it never skips.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The program named by `env`, else `fallback` on the PATH.
fn program(env: &str, fallback: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    if fallback == "promtool"
        && let Some(dir) = std::env::var_os("WITNESS_TEST_PROMETHEUS")
            .map(PathBuf::from)
            .and_then(|p| p.parent().map(Path::to_path_buf))
        && dir.join("promtool").is_file()
    {
        return dir.join("promtool");
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(fallback))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{fallback} is not installed: install the Debian package `prometheus` (tests/run.sh does), or set {env}"
            )
        })
}

/// A running Prometheus over backfilled history; killed on drop.
pub struct TestPrometheus {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    dir: tempfile::TempDir,
}

impl TestPrometheus {
    /// Backfills `openmetrics` (see [`OpenMetrics`]) and starts Prometheus on it.
    pub fn start(openmetrics: &str) -> Self {
        Self::start_with(openmetrics, &[])
    }

    /// As [`TestPrometheus::start`], with extra command-line flags
    /// (`--query.max-samples=1000`).
    pub fn start_with(openmetrics: &str, flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let input = dir.path().join("history.om");
        std::fs::write(&input, openmetrics).expect("write the history");
        let data = dir.path().join("data");
        let promtool = program("WITNESS_TEST_PROMTOOL", "promtool");
        let backfill = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {} ({e})", promtool.display()));
        assert!(
            backfill.status.success(),
            "promtool could not backfill the history:\n{}{}",
            String::from_utf8_lossy(&backfill.stdout),
            String::from_utf8_lossy(&backfill.stderr)
        );
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, "global: {}\n").expect("write the config");
        let prometheus = program("WITNESS_TEST_PROMETHEUS", "prometheus");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("a log file");
        let child = Command::new(&prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // History at a fixed past date: nothing may be old enough to be deleted.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(flags)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install the Debian package `prometheus`, or set WITNESS_TEST_PROMETHEUS",
                    prometheus.display()
                )
            });
        let mut server = Self { child, url: format!("http://127.0.0.1:{port}"), dir };
        server.wait_ready(port);
        server
    }

    /// Waits (60 s at most: the machine may be loaded) for `/-/ready` to answer 200.
    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited ({status}) before it was ready:\n{}", self.log());
            }
            if get_status(port, "/-/ready") == Some(200) {
                return;
            }
            assert!(Instant::now() < deadline, "prometheus not ready within 60 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What Prometheus logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for TestPrometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The status code of `GET path` on 127.0.0.1:`port`, when something answers.
fn get_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 16];
    let n = stream.read(&mut head).ok()?;
    std::str::from_utf8(&head[..n]).ok()?.split_whitespace().nth(1)?.parse().ok()
}

/// OpenMetrics text of series written point by point, for `promtool tsdb
/// create-blocks-from openmetrics`. Series of one family must be added one after the
/// other (OpenMetrics keeps a family's samples together).
#[derive(Debug, Default)]
pub struct OpenMetrics {
    text: String,
    families: Vec<String>,
}

impl OpenMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn family(&mut self, family: &str, kind: &str) {
        match self.families.last() {
            Some(last) if last == family => {}
            _ => {
                assert!(
                    !self.families.iter().any(|f| f == family),
                    "the series of {family} must be added one after the other"
                );
                self.families.push(family.to_owned());
                let _ = writeln!(self.text, "# TYPE {family} {kind}");
            }
        }
    }

    /// A counter `<family>_total{labels}` from `start` to `end` (exclusive), a sample every
    /// `every_secs`, rising at `rate(t)` per second.
    pub fn counter(
        &mut self,
        family: &str,
        labels: &str,
        span: (DateTime<Utc>, DateTime<Utc>),
        every_secs: i64,
        rate: impl Fn(DateTime<Utc>) -> f64,
    ) -> &mut Self {
        self.family(family, "counter");
        let mut total = 0.0;
        self.samples(&format!("{family}_total{{{labels}}}"), span, every_secs, |t| {
            total += rate(t) * every_secs as f64;
            total
        })
    }

    /// A gauge `<family>{labels}` with `value(t)`, as [`OpenMetrics::counter`].
    pub fn gauge(
        &mut self,
        family: &str,
        labels: &str,
        span: (DateTime<Utc>, DateTime<Utc>),
        every_secs: i64,
        value: impl Fn(DateTime<Utc>) -> f64,
    ) -> &mut Self {
        self.family(family, "gauge");
        self.samples(&format!("{family}{{{labels}}}"), span, every_secs, value)
    }

    /// One sample line of `series` every `every_secs` from `start` to `end` (exclusive).
    fn samples(
        &mut self,
        series: &str,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        every_secs: i64,
        mut value: impl FnMut(DateTime<Utc>) -> f64,
    ) -> &mut Self {
        let mut t = start;
        while t < end {
            let _ = writeln!(self.text, "{series} {} {}", value(t), t.timestamp());
            t += chrono::Duration::seconds(every_secs);
        }
        self
    }

    /// The text, ended with `# EOF`.
    pub fn finish(&self) -> String {
        format!("{}# EOF\n", self.text)
    }
}

/// The incident the tests replay, around `anchor`: the `checkout` service's traffic
/// triples at T-10m30s (100 → 300 req/s answered 200) and its CPU saturation goes from 0.4
/// to 0.95 with it; at T-6m30s its 5xx jump from 0.5 to 30 req/s and its p95 latency from
/// 120 ms to 800 ms. The `search` service beside it stays flat. History runs from T-90m to
/// T+30m (the baseline and the window of a 30-minute lookback), a sample every 15 s. The
/// changes fall between two minutes, so a query at one point a minute sees each one first
/// at the next whole minute (T-10m, T-6m), whatever its rate window's edges.
pub fn traffic_surge(anchor: DateTime<Utc>) -> String {
    let at = |secs: i64| anchor + chrono::Duration::seconds(secs);
    let span = (at(-90 * 60), at(30 * 60));
    let surge = at(-630);
    let errors = at(-390);
    let mut history = OpenMetrics::new();
    history
        .counter("http_requests", r#"service="checkout",code="200""#, span, 15, |t| {
            if t >= surge { 300.0 } else { 100.0 }
        })
        .counter("http_requests", r#"service="checkout",code="500""#, span, 15, |t| {
            if t >= errors { 30.0 } else { 0.5 }
        })
        .counter("http_requests", r#"service="search",code="200""#, span, 15, |_| 40.0)
        .gauge("http_request_duration_p95_seconds", r#"service="checkout""#, span, 15, |t| {
            if t >= errors { 0.8 } else { 0.12 }
        })
        .gauge(
            "cpu_saturation_ratio",
            r#"service="checkout",pod="checkout-7d9c""#,
            span,
            15,
            |t| {
                if t >= surge { 0.95 } else { 0.4 }
            },
        );
    history.finish()
}

/// The queries a responder would configure for the service of the alert, as a TOML key of
/// a `[[collectors.prometheus]]` instance (`{service}` comes from the alert's labels).
pub const TRAFFIC_SURGE_QUERIES: &str = r#"queries = [
  { name = "request_rate", query = 'sum(rate(http_requests_total{service="{service}"}[1m]))', unit = "req/s" },
  { name = "error_ratio", query = 'sum(rate(http_requests_total{service="{service}",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="{service}"}[1m]))', unit = "ratio", baseline_floor = 0.001 },
  { name = "latency_p95", query = 'max(http_request_duration_p95_seconds{service="{service}"})', unit = "seconds" },
  { name = "saturation", query = 'max(cpu_saturation_ratio{service="{service}"})', unit = "ratio" },
]
"#;

/// The expression of the alert that fired: checkout's 5xx above 5 % of its requests.
pub const TRAFFIC_SURGE_ALERT: &str = r#"sum(rate(http_requests_total{service="checkout",code=~"5.."}[1m])) / sum(rate(http_requests_total{service="checkout"}[1m])) > 0.05"#;

/// A retroactive run's context around `anchor`: the window a 30-minute lookback gives
/// (T-30m to T+30m, so the baseline is T-90m to T-30m: the span of [`traffic_surge`]), the
/// trigger's labels and `generatorURL`.
pub fn context(
    anchor: DateTime<Utc>,
    labels: &[(&str, &str)],
    generator_url: Option<&str>,
) -> witness_collector::CollectContext {
    let lookback = chrono::Duration::minutes(30);
    let window = witness_collector::Window::new(anchor - lookback, anchor + lookback);
    let mut ctx = witness_collector::CollectContext::for_test_at(anchor, window);
    ctx.trigger.labels = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ctx.trigger.generator_url = generator_url.map(str::to_owned);
    ctx
}

/// The `generatorURL` Prometheus sets for an alert of `expr`: `<url>/graph?g0.expr=...`.
pub fn generator_url(prometheus_url: &str, expr: &str) -> String {
    let mut url = witness_net::client::reqwest::Url::parse(&format!("{prometheus_url}/graph"))
        .expect("a Prometheus URL");
    url.query_pairs_mut().append_pair("g0.expr", expr).append_pair("g0.tab", "1");
    url.into()
}
