//! The read-only bundle API: auth, listing, manifest, files, archive, and every way of
//! reaching outside the store (`..`, encoded separators, symlinks, dot names). Raw
//! requests go over a plain socket, since HTTP clients normalize `..` away.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{InProcess, TOKEN, client, post_json, sealed_bundles, wait_for};

/// Sends `GET <path>` exactly as written and returns the status code.
async fn raw_get(server: &InProcess, path: &str, token: Option<&str>) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[tokio::test]
async fn bundles_are_readable_and_nothing_outside_the_store_is() {
    let server = InProcess::start("").await;
    let c = client();
    let r = post_json(
        &c,
        &server.url("/hooks/generic"),
        json!({"title": "Disk full", "labels": {"host": "db1"}}).to_string(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let id = r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned();
    let store = server.store();
    let dir = wait_for(Duration::from_secs(30), "the run", async || {
        sealed_bundles(&store).into_iter().find(|b| b.ends_with(&id))
    })
    .await;

    // Auth.
    assert_eq!(raw_get(&server, "/api/bundles", None).await, 401);
    assert_eq!(raw_get(&server, "/api/bundles", Some("wrong")).await, 401);
    assert_eq!(raw_get(&server, &format!("/api/bundles/{id}/files/trigger.json"), None).await, 401);

    // What may be read.
    let list: Value = c
        .get(server.url("/api/bundles"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["bundles"][0]["id"], id.as_str());
    assert_eq!(list["bundles"][0]["trigger"]["name"], "Disk full");
    let manifest: Value = c
        .get(server.url(&format!("/api/bundles/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(manifest["id"], id.as_str());
    let trigger = c
        .get(server.url(&format!("/api/bundles/{id}/files/trigger.json")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(trigger.status(), StatusCode::OK);
    assert_eq!(trigger.json::<Value>().await.unwrap()["labels"]["host"], "db1");
    let archive = c
        .get(server.url(&format!("/api/bundles/{id}/archive")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(archive.status(), StatusCode::OK);
    let bytes = archive.bytes().await.unwrap();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "a gzip stream");

    // A file outside the store, a link to it inside the bundle, and a linked "bundle".
    let outside = server.dir.path().join("secret.json");
    std::fs::write(&outside, "{\"password\":\"hunter2\"}").unwrap();
    let outside_bundle = server.dir.path().join("fake");
    std::fs::create_dir(&outside_bundle).unwrap();
    std::fs::write(outside_bundle.join("manifest.json"), "{}").unwrap();
    std::os::unix::fs::symlink(&outside_bundle, store.join("linked")).unwrap();
    crate::util::make_writable(&dir);
    std::os::unix::fs::symlink(&outside, dir.join("evidence/leak.json")).unwrap();
    std::os::unix::fs::symlink(server.dir.path(), dir.join("up")).unwrap();

    let forbidden = [
        format!("/api/bundles/{id}/files/../../witness.toml"),
        format!("/api/bundles/{id}/files/evidence/../../../witness.toml"),
        format!("/api/bundles/{id}/files/..%2F..%2Fwitness.toml"),
        format!("/api/bundles/{id}/files/%2e%2e/%2e%2e/witness.toml"),
        format!("/api/bundles/{id}/files/evidence%2F..%2F..%2F..%2Fsecret.json"),
        format!("/api/bundles/{id}/files/..%5c..%5cwitness.toml"),
        format!("/api/bundles/{id}/files//etc/passwd"),
        format!("/api/bundles/{id}/files/evidence/leak.json"),
        format!("/api/bundles/{id}/files/up/secret.json"),
        "/api/bundles/../witness.toml".to_owned(),
        "/api/bundles/..%2Fwitness.toml".to_owned(),
        "/api/bundles/linked".to_owned(),
        "/api/bundles/linked/files/manifest.json".to_owned(),
        "/api/bundles/.journal.jsonl".to_owned(),
        format!("/api/bundles/.tmp-{id}/files/manifest.json"),
        "/api/bundles/nope/archive".to_owned(),
    ];
    for path in &forbidden {
        let status = raw_get(&server, path, Some(TOKEN)).await;
        assert!(matches!(status, 400 | 404), "{path} answered {status}: it must be refused");
    }
    // And the files that exist are still served by the same routes.
    assert_eq!(
        raw_get(&server, &format!("/api/bundles/{id}/files/manifest.json"), Some(TOKEN)).await,
        200
    );
    server.stop().await;
}
