//! On a machine without CA certificates (a minimal image), plain-http probes still work
//! and https ones fail as TLS errors that say why. Its own test binary (its own process)
//! because it points `SSL_CERT_FILE` / `SSL_CERT_DIR` at nothing for every client built.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use witness_collector::{CollectContext, CollectorConfig, Evidence};
use witness_http::HttpConfig;
use witness_net::testing::{TestCertificate, serve, serve_tls};

async fn probe_once(url: String) -> Evidence {
    let config = HttpConfig { probes: 1, ..HttpConfig::new("api", url) };
    tokio::time::timeout(
        Duration::from_secs(20),
        config.build().unwrap().collect(&CollectContext::for_test()),
    )
    .await
    .expect("finished within 20 s")
    .expect("evidence")
}

#[tokio::test]
async fn without_root_certificates_http_works_and_https_says_why_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: this binary holds this one test, and no other thread reads the environment
    // while it is set.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", dir.path().join("none.pem"));
        std::env::set_var("SSL_CERT_DIR", dir.path().join("none"));
    }
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let plain = serve(app.clone()).await;
    let tls = serve_tls(app, TestCertificate::self_signed().server_config()).await;

    let evidence = probe_once(format!("http://{plain}/health")).await;
    assert_eq!(evidence.data["probes"][0]["healthy"], true, "{}", evidence.data);

    let evidence = probe_once(format!("https://{tls}/health")).await;
    let failure = &evidence.data["probes"][0]["failure"];
    assert_eq!(failure["kind"], "tls", "{}", evidence.data);
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("no trusted root certificates on this machine"),
        "{failure}"
    );
}
