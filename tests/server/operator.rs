//! Issue 22, as an operator meets `witness serve`: an empty token is refused at start with
//! the reason; every refusal says what to do in its headers (`WWW-Authenticate`,
//! `Retry-After`, `Connection: close` when the body was not read) and in a JSON body, and
//! is logged by cause without flooding; the hooks take `PUT`; the metrics pass `promtool`;
//! dedup survives a restart; a SIGTERM mid-run exits promptly and says the run was
//! cancelled; reload is not starved by a busy neighbour; terminal output is escaped;
//! PagerDuty updates are what they are; alerts after the seal are recorded beside the
//! bundle, signed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{InProcess, am_body, client, config_text, post_json, write_config};

const T0: &str = "2025-11-19T21:00:00Z";

/// `WITNESS_TOKEN=` used to be accepted, even on 0.0.0.0, and then every request got 401.
#[tokio::test]
async fn an_empty_bearer_token_is_refused_at_start_with_the_reason() {
    super::set_test_env();
    let dir = tempfile::tempdir().unwrap();
    let text =
        config_text(dir.path(), "").replace("WITNESS_TEST_TOKEN", "WITNESS_TEST_EMPTY_TOKEN");
    let path = write_config(dir.path(), &text);
    let config = witness::config::WitnessConfig::load(&path).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        witness::server::serve_on(Some(path), config, listener, std::future::pending()),
    )
    .await
    .expect("an empty token stops the start at once");
    let error = format!("{:#}", result.expect_err("an empty token must not start"));
    assert!(
        error.contains("bearer_token: the environment variable WITNESS_TEST_EMPTY_TOKEN is empty"),
        "{error}"
    );
}

/// 401s had no `WWW-Authenticate`; PUT got `405` with an empty body; unknown paths and
/// methods answered without JSON.
#[tokio::test]
async fn refusals_carry_their_headers_and_a_json_error_and_put_is_a_post() {
    let server = InProcess::start("").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let r = c
        .post(&url)
        .header("content-type", "application/json")
        .body(am_body("w1", "firing", T0, "w"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="witness""#);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"], "missing Authorization header");

    let r = c
        .put(server.url("/hooks/grafana"))
        .bearer_auth(super::TOKEN)
        .header("content-type", "application/json")
        .body(am_body("put1", "firing", T0, "put"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "a Grafana contact point set to PUT");

    let r = c.get(&url).bearer_auth(super::TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error, json!({"error": "GET is not allowed here"}));
    let r = c.get(server.url("/hooks/nowhere")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error, json!({"error": "no such route"}));
    // A bundle id that is not UTF-8 once decoded: the router's own answer was plain text.
    let r = c.get(server.url("/api/bundles/%FF")).bearer_auth(super::TOKEN).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let error: Value = r.json().await.expect("a JSON error");
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "{error}");
    server.stop().await;
}

/// Sends the head of a POST with a declared body, without the body (as Python's
/// `http.client` does: headers and body in two writes), and returns the answer's head.
async fn head_only(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: witness\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        super::TOKEN
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("an answer within 10 s");
    String::from_utf8_lossy(&answer).to_ascii_lowercase()
}

/// A 503 answered before the body was read closed the keep-alive connection without
/// saying so: a client sending its body in a second write got a broken pipe (1,490 in
/// 10,000 posts).
#[tokio::test]
async fn a_503_before_the_body_says_connection_close() {
    let server = InProcess::start("rate_limit_per_sec = 1\nrate_limit_burst = 1").await;
    let c = client();
    let url = server.url("/hooks/generic");
    let r = post_json(&c, &url, json!({"title": "x"}).to_string()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let head = head_only(server.addr, "/hooks/generic").await;
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(head.contains("retry-after:"), "{head}");
    server.stop().await;
}

/// A restart compacted the journal and forgot the cooldown: the same fingerprint refiring
/// inside the cooldown after a restart started a second run (a duplicate bundle).
#[tokio::test]
async fn a_refire_inside_the_cooldown_after_a_restart_joins_the_first_bundle() {
    let server = InProcess::start("").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let r = post_json(&c, &url, am_body("re1", "firing", T0, "re")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let first: Value = r.json().await.unwrap();
    let bundle = first["bundles"][0].as_str().unwrap().to_owned();
    let store = server.store();
    super::wait_for(Duration::from_secs(30), "the first bundle", async || {
        (!super::sealed_bundles(&store).is_empty()).then_some(())
    })
    .await;

    let server = server.restart().await;
    let url = server.url("/hooks/alertmanager");
    // The same incident, a new start (Alertmanager after a resolve and refire).
    let refire = am_body("re1", "firing", "2025-11-19T21:05:00Z", "re");
    let r = post_json(&c, &url, refire).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["alerts"][0]["action"], "deduplicated", "{answer}");
    assert_eq!(answer["bundles"], json!([bundle]));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(super::sealed_bundles(&server.store()).len(), 1, "a second bundle was written");
    server.stop().await;
}

/// The text log format wrote ANSI colour into files and pipes; colour is for a terminal.
#[test]
fn the_text_log_has_no_colour_when_stderr_is_not_a_terminal() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &config_text(dir.path(), ""));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(["--log-format", "text", "serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .env("WITNESS_LOG", "info")
        .env("WITNESS_TEST_TOKEN", super::TOKEN)
        .env("WITNESS_TEST_PD_SECRET", "pd-secret")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = line_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let listening = loop {
        match line_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => {
                let done = line.contains("Listening.");
                seen.push(line);
                if done {
                    break true;
                }
            }
            Err(_) => break false,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(listening, "no Listening. line within 20 s: {seen:?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "escape codes in a pipe: {seen:?}");
}

/// `promtool check metrics` (Debian `prometheus`) exited 3: counters without HELP text.
/// Every counter is there from the start, and so are the process's own figures.
#[tokio::test]
async fn the_metrics_pass_promtool_and_every_counter_starts_at_zero() {
    let server = InProcess::start("").await;
    let c = client();
    let r = c.get(server.url("/metrics")).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    for series in [
        r#"witness_alerts_received_total{source="alertmanager",outcome="rate_limited"} 0"#,
        r#"witness_alerts_received_total{source="grafana",outcome="queue_full"} 0"#,
        r#"witness_alerts_received_total{source="pagerduty",outcome="draining"} 0"#,
        r#"witness_runs_total{status="cancelled",severity="P0"} 0"#,
        r#"witness_runs_total{status="sealed",severity="P3"} 0"#,
        r#"witness_runs_total{status="failed",severity="none"} 0"#,
        r#"witness_follow_up_checks_total{check="action",status="not_yet"} 0"#,
        r#"witness_follow_up_checks_total{check="lock_tree",status="could_not_check"} 0"#,
        "witness_follow_ups_waiting 0",
        r#"witness_config_reloads_total{result="failed"} 0"#,
        r#"witness_collector_failures_total{kind="postgres",status="timed_out"} 0"#,
        "# TYPE witness_run_duration_seconds histogram",
        "# TYPE process_resident_memory_bytes gauge",
        "# TYPE process_cpu_seconds_total counter",
        "# TYPE process_open_fds gauge",
        "# TYPE process_start_time_seconds gauge",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    let promtool = std::env::var("WITNESS_TEST_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut check = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {promtool} ({e}): install the Debian package prometheus, or run tests/run.sh")
        });
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let output = check.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop().await;
}

/// 401s and 503s were never logged, and both 503 causes counted as one outcome. Each
/// refusal is logged with its cause — once per source and cause in a storm — and counted
/// by cause.
#[tokio::test]
async fn refusals_are_logged_by_cause_without_flooding_and_counted_apart() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), "rate_limit_per_sec = 1\nrate_limit_burst = 1");
    let daemon = super::Daemon::start(&write_config(dir.path(), &text));
    let c = client();
    let url = daemon.url("/hooks/generic");
    for _ in 0..20 {
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .body(r#"{"title":"x"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    for _ in 0..5 {
        let _ = post_json(&c, &url, json!({"title": "x"}).to_string()).send().await.unwrap();
    }
    let refusals = |cause: &str| -> Vec<Value> {
        daemon
            .logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                v["fields"]["message"] == "Refused a request." && v["fields"]["cause"] == cause
            })
            .collect()
    };
    let unauthorized = refusals("unauthorized");
    assert_eq!(unauthorized.len(), 1, "one line for a storm of 20: {unauthorized:?}");
    assert_eq!(unauthorized[0]["fields"]["source"], "generic");
    assert_eq!(unauthorized[0]["fields"]["reason"], "missing Authorization header");
    assert_eq!(refusals("rate_limited").len(), 1, "{}", daemon.logs());
    let metrics = c.get(daemon.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for (cause, count) in [("unauthorized", 20), ("rate_limited", 4)] {
        let series = format!(
            r#"witness_alerts_received_total{{source="generic",outcome="{cause}"}} {count}"#
        );
        assert!(metrics.contains(&series), "{series} missing from:\n{metrics}");
    }
}

/// SIGTERM with a run collecting: the process exited 6.5 s after "Stopped." (the host
/// collector slept in a blocking call), and the run cut short was logged as "Run sealed."
/// and counted as sealed.
#[tokio::test]
async fn sigterm_mid_run_exits_promptly_and_says_the_run_was_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), "shutdown_grace_secs = 0")
        .replace("cpu_sample_ms = 200", "cpu_sample_ms = 10000")
        .replace("collector_timeout_secs = 10", "collector_timeout_secs = 60");
    let mut daemon = super::Daemon::start(&write_config(dir.path(), &text));
    let c = client();
    let r = post_json(&c, &daemon.url("/hooks/alertmanager"), am_body("st1", "firing", T0, "st"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    super::wait_for(Duration::from_secs(10), "the run to start", async || {
        daemon.logs().contains("Run started.").then_some(())
    })
    .await;
    let signalled = std::time::Instant::now();
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait_exit(Duration::from_secs(20)), Some(0), "{}", daemon.logs());
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(4), "exited {took:?} after SIGTERM:\n{}", daemon.logs());
    let logs = daemon.logs();
    assert!(logs.contains("Run cancelled at shutdown; sealed what it had."), "{logs}");
    assert!(!logs.contains("\"Run sealed.\""), "{logs}");
    assert_eq!(super::sealed_bundles(&dir.path().join("store")).len(), 1);
}

/// Config reload was starved by activity on other files in the config's directory (8 s
/// late under a busy log; never, while the writes went on): it watches the file itself.
#[tokio::test]
async fn a_busy_neighbour_file_does_not_starve_the_config_reload() {
    let server = InProcess::start("").await;
    let c = client();
    // Answering: the watcher is in place.
    assert!(c.get(server.url("/healthz")).send().await.unwrap().status().is_success());
    let dir = server.dir.path().to_owned();
    let busy = tokio::spawn({
        let log = dir.join("app.log");
        async move {
            loop {
                let _ = std::fs::write(&log, format!("{:?}\n", std::time::Instant::now()));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let metrics_url = server.url("/metrics");
    write_config(&dir, &config_text(&dir, "max_body_bytes = 1000"));
    super::wait_for(Duration::from_secs(5), "the reload despite the busy neighbour", async || {
        let text = c.get(&metrics_url).send().await.unwrap().text().await.unwrap();
        text.contains(r#"witness_config_reloads_total{result="ok"} 1"#).then_some(())
    })
    .await;
    busy.abort();
    server.stop().await;
}

/// `witness list` printed alert titles raw: a title can carry terminal escapes (set the
/// window title, clear the screen) and newlines that forge lines.
#[tokio::test]
async fn list_escapes_control_characters_in_titles() {
    let server = InProcess::start("").await;
    let c = client();
    let title = "Disk full\u{1b}]0;pwned\u{7}\nfake line";
    let r = post_json(&c, &server.url("/api/collect"), json!({"title": title}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let store = server.store();
    super::wait_for(Duration::from_secs(30), "the bundle", async || {
        (!super::sealed_bundles(&store).is_empty()).then_some(())
    })
    .await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(["list", "--config"])
        .arg(server.dir.path().join("witness.toml"))
        .env("WITNESS_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains('\u{1b}') && !stdout.contains('\u{7}'), "{stdout:?}");
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    assert!(stdout.contains(r"Disk full\x1b]0;pwned\x07\nfake line"), "{stdout:?}");
    server.stop().await;
}

pub(super) fn pagerduty_event(event_type: &str, incident: &str) -> String {
    json!({"event": {
        "id": format!("ev-{event_type}"), "event_type": event_type, "resource_type": "incident",
        "occurred_at": "2025-11-19T21:00:02.169Z", "agent": null, "client": null,
        "data": {"id": incident, "type": "incident", "number": 7, "status": "triggered",
                 "title": "Checkout down", "created_at": "2025-11-19T21:00:01Z", "urgency": "high"}
    }})
    .to_string()
}

/// PagerDuty: every non-trigger event was answered and journaled as `resolved`; and one
/// secret served one subscription only.
#[tokio::test]
async fn pagerduty_updates_are_recorded_as_what_they_are_under_any_subscription_secret() {
    let server = InProcess::start_with(|dir| {
        config_text(dir, "").replace("\"WITNESS_TEST_PD_SECRET\"", "\"WITNESS_TEST_PD_SECRETS\"")
    })
    .await;
    let c = client();
    let url = server.url("/hooks/pagerduty");
    let send = async |body: String, secret: &str| -> (StatusCode, Value) {
        let signature = witness::server::auth::sign_pagerduty(secret.as_bytes(), body.as_bytes());
        let r = c
            .post(&url)
            .header("content-type", "application/json")
            .header("x-pagerduty-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    };
    let (status, answer) =
        send(pagerduty_event("incident.triggered", "PUP1"), "sub-two-secret").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["alerts"][0]["action"], "started");
    let (status, answer) =
        send(pagerduty_event("incident.acknowledged", "PUP1"), "sub-one-secret").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["alerts"][0]["action"], "updated");
    assert_eq!(answer["alerts"][0]["status"], "acknowledged");
    let (status, _) = send(pagerduty_event("incident.annotated", "PUP1"), "not-a-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let actions: Vec<Value> =
        super::journal_lines(&server.store()).iter().map(|l| l["action"].clone()).collect();
    assert!(actions.contains(&json!("updated")), "{actions:?}");
    assert!(!actions.contains(&json!("resolved")), "{actions:?}");
    server.stop().await;
}

/// Alerts that reached a run after its seal (the rest of a group, a resolution) were
/// answered as recorded but existed only as journal lines that restart compaction
/// deleted. They are recorded beside the bundle, signed, without touching it, and `show`
/// lists them.
#[tokio::test]
async fn alerts_after_the_seal_are_recorded_beside_the_bundle_signed() {
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = witness::bundle::sign::keygen(&keys.path().join("k")).unwrap();
    let server = InProcess::start_with(|dir| {
        format!("{}\n[signing]\nkey_file = {private:?}\n", config_text(dir, ""))
    })
    .await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let r = post_json(&c, &url, am_body("late1", "firing", T0, "late")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let store = server.store();
    let bundle = super::wait_for(Duration::from_secs(30), "the bundle", async || {
        super::sealed_bundles(&store).into_iter().next()
    })
    .await;
    let again = am_body("late1", "firing", "2025-11-19T21:04:00Z", "late");
    let r = post_json(&c, &url, again).send().await.unwrap();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["alerts"][0]["action"], "deduplicated");
    let resolved = am_body("late1", "resolved", T0, "late");
    let r = post_json(&c, &url, resolved).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);

    let id = bundle.file_name().unwrap().to_str().unwrap().to_owned();
    let addendum = store.join(format!("{id}.addendum.jsonl"));
    let text = std::fs::read_to_string(&addendum).expect("an addendum beside the bundle");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = lines.iter().map(|l| l["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["deduplicated", "resolved"]);
    let key = witness::bundle::sign::load_verifying_key(&public).unwrap();
    for line in &lines {
        let mut unsigned = line.clone();
        let signature = unsigned.as_object_mut().unwrap().remove("signature").unwrap();
        let bytes = serde_json::to_vec(&unsigned).unwrap();
        assert!(witness::bundle::sign::verify(&key, &bytes, signature.as_str().unwrap()), "{line}");
    }
    let verified = witness::bundle::verify::verify(&bundle, Some(&key)).unwrap();
    assert!(verified.ok(), "the sealed bundle is untouched: {:?}", verified.problems);
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_witness"))
            .arg("verify")
            .arg(&bundle)
            .arg("--key")
            .arg(&public)
            .env("WITNESS_LOG", "off")
            .output()
            .unwrap()
    };
    let output = verify();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{said}");
    assert!(
        said.contains("addendum: 2 alert(s) recorded after the seal, signatures valid"),
        "{said}"
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_witness"))
        .arg("show")
        .arg(&bundle)
        .env("WITNESS_LOG", "off")
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("Recorded after the seal"), "{shown}");
    assert!(shown.contains("deduplicated  HighErrorRate (firing)"), "{shown}");
    assert!(shown.contains("resolved  HighErrorRate (resolved)"), "{shown}");

    // A line changed after the fact no longer verifies.
    std::fs::write(&addendum, text.replacen("deduplicated", "resolved", 1)).unwrap();
    let output = verify();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("addendum line 1: signature missing or invalid"), "{said}");
    server.stop().await;
}
