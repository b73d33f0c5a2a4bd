//! A real Alertmanager for the tests (`prometheus-alertmanager`, path in
//! `WITNESS_TEST_ALERTMANAGER` or on `PATH`): on a free port of 127.0.0.1, without
//! clustering, one receiver posting to a witness webhook with a bearer token, alerts
//! grouped by alertname and service and sent within about a second. Killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Alertmanager; killed on drop.
pub struct Alertmanager {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Alertmanager {
    /// Starts one in `dir` that sends to `webhook` with `Authorization: Bearer <token>`,
    /// and waits (30 s at most) until it is ready.
    pub async fn start(dir: &Path, webhook: &str, token: &str) -> Self {
        Self::start_peered(dir, &[webhook], token, None).await
    }

    /// Starts one in `dir` that sends every notification to each of `webhooks`; with
    /// `cluster` = (its gossip port, a peer's gossip port), one member of an HA pair on
    /// loopback (without it, clustering is off).
    pub async fn start_peered(
        dir: &Path,
        webhooks: &[&str],
        token: &str,
        cluster: Option<(u16, u16)>,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("am.yml");
        let hooks: String = webhooks
            .iter()
            .map(|url| format!("  - url: {url}\n    send_resolved: true\n    http_config: {{authorization: {{type: Bearer, credentials: {token}}}}}\n"))
            .collect();
        std::fs::write(
            &config,
            format!(
                "route: {{receiver: evidence, group_by: ['alertname','service'], group_wait: 1s, group_interval: 2s, repeat_interval: 1h}}\n\
                 receivers:\n- name: evidence\n  webhook_configs:\n{hooks}",
            ),
        )
        .unwrap();
        let cluster_args: Vec<String> = match cluster {
            None => vec!["--cluster.listen-address=".into()],
            Some((own, peer)) => vec![
                format!("--cluster.listen-address=127.0.0.1:{own}"),
                format!("--cluster.advertise-address=127.0.0.1:{own}"),
                format!("--cluster.peer=127.0.0.1:{peer}"),
                "--cluster.peer-timeout=2s".into(),
            ],
        };
        let binary = std::env::var("WITNESS_TEST_ALERTMANAGER")
            .unwrap_or_else(|_| "prometheus-alertmanager".into());
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(&cluster_args)
            .arg(format!("--web.external-url={url}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary} (install the Debian package prometheus-alertmanager): {e}"
                )
            });
        let am = Self { child, url };
        // reqwest's rustls has no default provider in this build: give it ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client.get(format!("{}/-/ready", am.url)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return am;
            }
            assert!(Instant::now() < deadline, "Alertmanager not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
