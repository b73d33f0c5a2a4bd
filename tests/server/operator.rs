//! What an operator meets at the doors of `witness serve` (issue 22): an empty token is
//! refused at start with the reason; every refusal says what to do in its headers
//! (`WWW-Authenticate`, `Retry-After`, `Connection: close` when the body was not read) and
//! in a JSON body; the hooks take `PUT` as Grafana may send it.

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
