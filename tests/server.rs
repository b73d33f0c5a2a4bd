//! `witness serve`: webhooks from a real Alertmanager, PagerDuty signatures, storms,
//! crashes, the bundle API, shutdown, reload, the deploy manifests, and the follow-ups of
//! resolved incidents. Helpers here start
//! the built binary (process-level tests) or [`witness::server::serve_on`] in-process on port 0.

#![allow(dead_code)]

mod alertmanager;
mod api;
mod collect_follow_up;
mod crash;
mod deploy;
mod follow_up;
mod intake;
mod lifecycle;
mod operator;
mod redaction;
mod storm;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "s3cr3t-token";

/// A config with cheap collectors (one host instance), the store in `dir`, bearer auth
/// from `WITNESS_TEST_TOKEN`, and `extra` appended under `[server]`.
pub fn config_text(dir: &Path, extra: &str) -> String {
    let unlimited =
        if extra.contains("rate_limit_per_sec") { "" } else { "rate_limit_per_sec = 0\n" };
    format!(
        "[store]\ndir = {store:?}\n\n[collect]\ncollector_timeout_secs = 10\n\n[server]\n{unlimited}{extra}\n\n[server.auth]\nbearer_token_env = \"WITNESS_TEST_TOKEN\"\npagerduty_secret_env = \"WITNESS_TEST_PD_SECRET\"\n\n[[collectors.host]]\nname = \"local\"\ncpu_sample_ms = 200\n",
        store = dir.join("store"),
    )
}

/// Writes `text` as `dir/witness.toml`.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("witness.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `witness serve` as a child process.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    pub logs: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts `witness serve --config <config> --listen 127.0.0.1:0` and waits (20 s at
    /// most) for its "Listening." log line, which names the port.
    pub fn start(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_witness"))
            .args(["--log-format", "json", "serve", "--config"])
            .arg(config)
            .args(["--listen", "127.0.0.1:0"])
            .env("WITNESS_LOG", "info")
            .env("WITNESS_TEST_TOKEN", TOKEN)
            .env("WITNESS_TEST_PD_SECRET", "pd-secret")
            .env_remove("WITNESS_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the witness binary starts");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread_logs = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["fields"]["message"] == "Listening."
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    let _ = addr_tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                let mut logs = thread_logs.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let addr = match addr_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "witness serve did not log Listening. within 20 s:\n{}",
                    logs.lock().unwrap()
                );
            }
        };
        Self { child, addr, logs }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits (with a timeout) for the process to exit and returns its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "witness did not exit within {timeout:?}:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP client with a timeout on every request.
pub fn client() -> reqwest::Client {
    // With every collector built in, reqwest's TLS is rustls without a default provider
    // (the http collector brings its own): give the test client ring as the provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(10)).no_proxy().build().unwrap()
}

/// Polls `check` every 50 ms until it returns `Some`, failing with `what` after `timeout`.
pub async fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sealed bundle directories in the store (dot names are staging, journal, probes).
pub fn sealed_bundles(store: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(store) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.') && e.path().is_dir())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

/// `trigger.json` of a sealed bundle.
pub fn trigger_of(bundle: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle.join("trigger.json")).unwrap()).unwrap()
}

/// The journal's lines.
pub fn journal_lines(store: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(store.join(".journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// An Alertmanager v4 body with one alert.
pub fn am_body(fingerprint: &str, status: &str, starts_at: &str, group: &str) -> String {
    serde_json::json!({
        "receiver": "evidence", "status": status, "version": "4",
        "groupKey": format!("{{}}:{{group=\"{group}\"}}"), "truncatedAlerts": 0,
        "alerts": [{
            "status": status,
            "labels": {"alertname": "HighErrorRate", "service": "checkout", "group": group},
            "annotations": {"summary": "5xx > 5%"},
            "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prom/graph", "fingerprint": fingerprint,
        }],
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
    })
    .to_string()
}

/// `witness::server::serve_on` in this process, on 127.0.0.1 port 0.
pub struct InProcess {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcess {
    /// Starts with [`config_text`] plus `extra` under `[server]`. Secrets come from the
    /// environment, set once for the whole test binary.
    pub async fn start(extra: &str) -> Self {
        Self::start_with(|dir| config_text(dir, extra)).await
    }

    /// Starts with the config `text(dir)` makes for the temporary directory `dir`.
    pub async fn start_with(text: impl FnOnce(&Path) -> String) -> Self {
        set_test_env();
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &text(dir.path()));
        Self::start_in(dir).await
    }

    /// Stops the server and starts another on the same directory (config, store, journal):
    /// a restart.
    pub async fn restart(mut self) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let dir = std::mem::replace(&mut self.dir, dir);
        self.stop().await;
        Self::start_in(dir).await
    }

    async fn start_in(dir: tempfile::TempDir) -> Self {
        let path = dir.path().join("witness.toml");
        let config = witness::config::WitnessConfig::load(&path).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle =
            tokio::spawn(witness::server::serve_on(Some(path), config, listener, async move {
                let _ = stopped.await;
            }));
        Self { addr, dir, stop: Some(stop), handle }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// Triggers the shutdown and waits (30 s at most) for `run` to return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.handle)
            .await
            .expect("the server stops within 30 s")
            .unwrap()
            .unwrap();
    }
}

pub fn set_test_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: set once, before any server of this binary reads them, to constant values.
        unsafe {
            std::env::set_var("WITNESS_TEST_TOKEN", TOKEN);
            std::env::set_var("WITNESS_TEST_PD_SECRET", "pd-secret");
            std::env::set_var("WITNESS_TEST_EMPTY_TOKEN", "");
            std::env::set_var("WITNESS_TEST_PD_SECRETS", "sub-one-secret\nsub-two-secret\n");
        }
    });
}

/// A request builder with the bearer token and a JSON body.
pub fn post_json(client: &reqwest::Client, url: &str, body: String) -> reqwest::RequestBuilder {
    client.post(url).bearer_auth(TOKEN).header("content-type", "application/json").body(body)
}
