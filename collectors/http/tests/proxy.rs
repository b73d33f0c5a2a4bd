//! Proxies from the environment are honoured: a sidecar often egresses through one. This
//! is its own test binary (its own process) because it sets `HTTP_PROXY` / `NO_PROXY`,
//! which every client built in the process reads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::Uri;
use axum::routing::get;
use witness_collector::{CollectContext, CollectorConfig, FactValue};
use witness_http::HttpConfig;
use witness_net::testing::serve;

#[tokio::test]
async fn http_proxy_is_used_and_no_proxy_is_bypassed() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorder = seen.clone();
    // A forward proxy receives requests in absolute form (`GET http://host/path`).
    let proxy = Router::new().fallback(move |uri: Uri| {
        recorder.lock().unwrap().push(uri.to_string());
        async { ([("via", "1.1 test-proxy")], "proxied ok") }
    });
    let proxy_addr = serve(proxy).await;
    let direct = Router::new().route("/health", get(|| async { "direct ok" }));
    let direct_addr = serve(direct).await;

    // SAFETY: this binary holds this one test, and no other thread reads the environment
    // while it is set (the servers above do not).
    unsafe {
        std::env::set_var("HTTP_PROXY", format!("http://{proxy_addr}"));
        std::env::set_var("NO_PROXY", "127.0.0.1");
    }

    // `localhost:1` is never contacted: the request goes to the proxy (were the proxy
    // ignored, it would fail as connection refused on loopback, nothing leaves the host).
    let via_proxy =
        HttpConfig { probes: 1, ..HttpConfig::new("proxied", "http://localhost:1/health") };
    let ctx = CollectContext::for_test();
    let evidence =
        tokio::time::timeout(Duration::from_secs(20), via_proxy.build().unwrap().collect(&ctx))
            .await
            .expect("finished within 20 s")
            .unwrap();
    assert_eq!(evidence.facts["http.failing_probes"], FactValue::Int(0), "{}", evidence.data);
    assert_eq!(evidence.data["probes"][0]["headers"]["via"], "1.1 test-proxy");
    assert_eq!(*seen.lock().unwrap(), ["http://localhost:1/health"]);

    let bypassed = HttpConfig {
        probes: 1,
        ..HttpConfig::new("direct", format!("http://{direct_addr}/health"))
    };
    let evidence =
        tokio::time::timeout(Duration::from_secs(20), bypassed.build().unwrap().collect(&ctx))
            .await
            .expect("finished within 20 s")
            .unwrap();
    assert_eq!(evidence.data["probes"][0]["body_excerpt"], "direct ok");
    assert_eq!(seen.lock().unwrap().len(), 1, "NO_PROXY hosts do not go through the proxy");
}
