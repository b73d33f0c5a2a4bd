//! Replicas of `witness serve` sharing a real distributed object store: a 3-node Garage
//! cluster on loopback with replication factor 3 ([`crate::util::garage`]), claims through
//! the real PostgreSQL (`WITNESS_TEST_PG_URL`; Garage ignores `If-None-Match: *`, which
//! the first test pins), and a real Alertmanager HA pair. Every replica talks to node 0
//! of the cluster; the node killed in the quorum test is another one.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};

use crate::server::{
    Daemon, TOKEN, am_body, client, config_text, post_json, wait_for, write_config,
};
use crate::util::alertmanager::Alertmanager;
use crate::util::garage::Garage;
use crate::util::tls_proxy::TlsProxy;
use witness::config::StoreConfig;
use witness::store::{Entry, Join, Store};

/// A bucket name unique to this test process and `name`.
fn bucket(name: &str) -> String {
    format!("{name}-{:x}", std::process::id())
}

/// The store's URL for `garage`'s bucket.
fn url(garage: &Garage) -> String {
    format!("s3://{}/witness", garage.bucket)
}

/// The `[store]` keys for `garage` (node 0, credentials in files under `dir`).
fn store_keys(dir: &Path, garage: &Garage) -> String {
    let (key, secret) = (dir.join("s3-key"), dir.join("s3-secret"));
    std::fs::write(&key, &garage.key_id).unwrap();
    std::fs::write(&secret, &garage.secret).unwrap();
    format!(
        "url = {url:?}\nendpoint = {endpoint:?}\nregion = \"garage\"\naccess_key_id_file = {key:?}\nsecret_access_key_file = {secret:?}\nretry_max_secs = 2\nrequest_timeout_secs = 5\n",
        url = url(garage),
        endpoint = garage.endpoint(0),
    )
}

/// The config of replica `name` in `dir/name`: cheap collectors (`cpu_sample_ms`), the
/// Garage store, claims through PostgreSQL (unless `coordinator` is false) with a TTL
/// of `ttl` seconds.
fn replica_config(
    dir: &Path,
    name: &str,
    garage: &Garage,
    cpu_sample_ms: u64,
    ttl: u64,
    coordinator: bool,
) -> PathBuf {
    let own = dir.join(name);
    std::fs::create_dir_all(&own).unwrap();
    let dsn = own.join("coordinator-dsn");
    std::fs::write(
        &dsn,
        std::env::var("WITNESS_TEST_PG_URL").expect("tests/run.sh sets WITNESS_TEST_PG_URL"),
    )
    .unwrap();
    let mut text = config_text(&own, "")
        .replace("[store]\n", &format!("[store]\n{}", store_keys(&own, garage)))
        .replace("cpu_sample_ms = 200", &format!("cpu_sample_ms = {cpu_sample_ms}"));
    text.push_str(&format!("\n[fleet]\nreplica = {name:?}\nclaim_ttl_secs = {ttl}\n"));
    if coordinator {
        text.push_str(&format!("coordinator_file = {dsn:?}\n"));
    }
    write_config(&own, &text)
}

/// Appends `text` (more tables) to the config file `config`.
fn append(config: &Path, text: &str) {
    let mut all = std::fs::read_to_string(config).unwrap();
    all.push('\n');
    all.push_str(text);
    std::fs::write(config, all).unwrap();
}

/// A reader of the bucket, as the tests check it.
fn reader(garage: &Garage) -> Store {
    let config = StoreConfig {
        endpoint: Some(garage.endpoint(0)),
        region: Some("garage".into()),
        request_timeout_secs: 5,
        ..StoreConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let (key, secret) = (dir.path().join("k"), dir.path().join("s"));
    std::fs::write(&key, &garage.key_id).unwrap();
    std::fs::write(&secret, &garage.secret).unwrap();
    let config = StoreConfig {
        access_key_id_file: Some(key),
        secret_access_key_file: Some(secret),
        ..config
    };
    Store::for_reader(&config, &url(garage)).unwrap()
}

/// Every bundle in the bucket's index.
async fn uploaded(store: &Store) -> Vec<Entry> {
    store.list(100_000).await.unwrap_or_default()
}

/// Waits until the bucket lists `n` bundles (and no more show up for a moment).
async fn wait_uploaded(store: &Store, n: usize, timeout: Duration) -> Vec<Entry> {
    wait_for(timeout, &format!("{n} bundles in the bucket"), async || {
        let entries = uploaded(store).await;
        (entries.len() >= n).then_some(entries)
    })
    .await
}

/// `witness ARGS` with `config`; (exit code, stdout, stderr).
fn witness(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("WITNESS_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `witness verify s3://…/ID [--key KEY]` of bundle `id`.
fn verify(id: &str, garage: &Garage, config: &Path, key: Option<&Path>) -> (i32, String, String) {
    let target = format!("{}/{id}", url(garage));
    let mut args = vec!["verify".to_owned(), target];
    if let Some(key) = key {
        args.extend(["--key".to_owned(), key.display().to_string()]);
    }
    witness(&args.iter().map(String::as_str).collect::<Vec<_>>(), config)
}

/// `witness verify s3://…/ID` passes on each bundle of `entries`.
fn verify_each(entries: &[Entry], garage: &Garage, config: &Path) {
    for entry in entries {
        let (code, out, err) = verify(&entry.id, garage, config, None);
        assert_eq!(code, 0, "verify {}:\n{out}\n{err}", entry.id);
        assert!(out.contains("files match"), "{out}");
    }
}

fn starts_at() -> String {
    (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Posts an Alertmanager notification for `fingerprint` to `daemon`; the bundle id of
/// the answer.
async fn fire(daemon: &Daemon, fingerprint: &str) -> String {
    let r = post_json(
        &client(),
        &daemon.url("/hooks/alertmanager"),
        am_body(fingerprint, "firing", &starts_at(), fingerprint),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
    r.json::<Value>().await.unwrap()["bundles"][0].as_str().unwrap().to_owned()
}

/// Garage accepts a second `PutObject` with `If-None-Match: *` on the same key, so a
/// replica without a `[fleet] coordinator` refuses to start rather than run duplicates.
#[tokio::test]
async fn garage_has_no_conditional_create_so_a_replica_without_a_coordinator_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("probe"));
    let config = replica_config(dir.path(), "a", &garage, 200, 10, false);
    let out = Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("WITNESS_TEST_TOKEN", TOKEN)
        .env("WITNESS_TEST_PD_SECRET", "x")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not honor conditional create (If-None-Match: *)"), "{stderr}");
    assert!(stderr.contains("set [fleet] coordinator_env"), "{stderr}");
}

/// One replica: a bundle is sealed, uploaded, listed newest first, shown and verified from
/// the bucket, and served by `/api/bundles`; its metrics count the upload.
#[tokio::test]
async fn a_bundle_goes_to_the_bucket_and_list_show_verify_read_it_there() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("round"));
    let config = replica_config(dir.path(), "a", &garage, 200, 10, true);
    let daemon = Daemon::start(&config);
    let id = fire(&daemon, &format!("round-{}", std::process::id())).await;
    let store = reader(&garage);
    let entries = wait_uploaded(&store, 1, Duration::from_secs(60)).await;
    assert_eq!(entries[0].id, id);
    assert_eq!(entries[0].replica, "a");
    assert_eq!(entries[0].service.as_deref(), Some("checkout"));

    let (code, out, err) = witness(&["list", "--store", &url(&garage)], &config);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with(&id), "{out}");
    verify_each(&entries, &garage, &config);
    let (code, out, err) =
        witness(&["show", &id, "--store", &url(&garage), "--format", "md"], &config);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&id) && out.contains("HighErrorRate"), "{out}");
    let (code, out, err) = witness(&["postmortem", &id, "--store", &url(&garage)], &config);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&id), "{out}");

    let answer = client().get(daemon.url("/api/bundles")).bearer_auth(TOKEN).send().await;
    let listed: Value = answer.unwrap().json().await.unwrap();
    assert_eq!(listed["bundles"][0]["id"], id.as_str(), "{listed}");
    let metrics = client().get(daemon.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("witness_upload_duration_seconds_count 1"), "{metrics}");
    assert!(metrics.contains("witness_spool_bundles 0"), "{metrics}");
    assert!(metrics.contains(r#"witness_claims_total{outcome="won"} 1"#), "{metrics}");
}

/// Two replicas behind a real Alertmanager HA pair (two peered processes, each notifying
/// both replicas): each incident gets exactly one bundle in the bucket, and the replica
/// that lost a claim records its alert beside the winner's bundle, signed with its key;
/// `witness verify --key` checks those signatures and names a join that is not signed or
/// whose signature does not match.
#[tokio::test]
async fn two_replicas_and_an_alertmanager_ha_pair_make_one_bundle_per_incident() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("ha"));
    let keys = tempfile::tempdir().unwrap();
    let (private, public) = witness::bundle::sign::keygen(&keys.path().join("fleet")).unwrap();
    let replica = |name: &str| {
        let config = replica_config(dir.path(), name, &garage, 1000, 10, true);
        append(&config, &format!("[signing]\nkey_file = {private:?}\n"));
        config
    };
    let a = Daemon::start(&replica("a"));
    let b = Daemon::start(&replica("b"));
    let hooks = [a.url("/hooks/alertmanager"), b.url("/hooks/alertmanager")];
    let hooks: Vec<&str> = hooks.iter().map(String::as_str).collect();
    let gossip =
        |_: ()| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (g1, g2) = (gossip(()), gossip(()));
    let am1 =
        Alertmanager::start_peered(&dir.path().join("am1"), &hooks, TOKEN, Some((g1, g2))).await;
    let am2 =
        Alertmanager::start_peered(&dir.path().join("am2"), &hooks, TOKEN, Some((g2, g1))).await;
    let incidents = ["FleetCheckout5xx", "FleetSearchLatency", "FleetPaymentsDown"];
    for name in incidents {
        let labels =
            json!({"alertname": name, "service": name.to_lowercase(), "severity": "critical"});
        // As Prometheus does: every alert to both members of the pair.
        am1.post(&labels, &starts_at(), None).await;
        am2.post(&labels, &starts_at(), None).await;
    }
    let store = reader(&garage);
    let all = tokio::time::timeout(
        Duration::from_secs(90),
        wait_uploaded(&store, incidents.len(), Duration::from_secs(100)),
    )
    .await;
    assert!(
        all.is_ok(),
        "not every incident reached the bucket: {:#?}\n--- a:\n{}\n--- b:\n{}",
        uploaded(&store).await,
        a.logs(),
        b.logs()
    );
    // Both replicas got every notification: wait until each has decided (run or join).
    wait_for(Duration::from_secs(60), "both replicas to finish", async || {
        let done = |d: &Daemon| {
            d.logs().matches("\"Run sealed.\"").count()
                + d.logs().matches("recorded beside its bundle").count()
        };
        (done(&a) + done(&b) >= 2 * incidents.len()).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let entries = uploaded(&store).await;
    let mut names: Vec<String> = entries.iter().map(|e| e.trigger.clone()).collect();
    names.sort();
    let mut expected: Vec<String> =
        incidents.iter().map(|n| format!("alertmanager: {n}")).collect();
    expected.sort();
    assert_eq!(names, expected, "one bundle per incident: {entries:#?}");
    let mut joins = 0;
    for entry in &entries {
        joins += store.joins(&entry.id).await.unwrap().len();
    }
    assert_eq!(joins, incidents.len(), "the other replica's alert is beside each bundle");
    let config = dir.path().join("a/witness.toml");
    verify_each(&entries, &garage, &config);
    for entry in &entries {
        let (code, out, err) = verify(&entry.id, &garage, &config, Some(&public));
        assert_eq!(code, 0, "verify --key {}:\n{out}\n{err}", entry.id);
        assert!(
            out.contains(
                "joins: 1 alert(s) from other replicas recorded beside it, signatures valid"
            ),
            "{out}"
        );
    }
    // A join nobody signed, and one signed with another key: verify names both.
    let target = &entries[0].id;
    let genuine = store.joins(target).await.unwrap()[0].join().unwrap();
    let unsigned = Join { replica: "mallory".into(), ..genuine.clone() };
    store.put_join(target, &unsigned, None).await.unwrap();
    let (stranger, _) = witness::bundle::sign::keygen(&keys.path().join("stranger")).unwrap();
    let stranger = witness::bundle::sign::load_signing_key(&stranger).unwrap();
    let forged = Join { replica: "eve".into(), ..genuine.clone() };
    store.put_join(target, &forged, Some(&stranger)).await.unwrap();
    let (code, out, err) = verify(target, &garage, &config, Some(&public));
    assert_eq!(code, 1, "{out}\n{err}");
    let bundle = &genuine.bundle;
    assert!(out.contains(&format!("join mallory-{bundle}.json: not signed")), "{out}");
    assert!(
        out.contains(&format!(
            "join eve-{bundle}.json: signature does not match the join with this key"
        )),
        "{out}"
    );
    assert!(err.contains("does not verify: 2 problem(s)"), "{err}");
    // Either replica serves each bundle: the one that did not seal it fetches it from the
    // bucket (verified).
    for entry in &entries {
        let other = if entry.replica == "a" { &b } else { &a };
        let path = format!("/api/bundles/{}", entry.id);
        let r = client().get(other.url(&path)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let manifest: Value = r.json().await.unwrap();
        assert_eq!(manifest["root_sha256"], entry.root_sha256.as_str());
    }
}

/// `kill -9` of the replica whose run holds the claim: the other replica, which got the
/// same alert, takes the incident over once the claim expires, under the same bundle id.
#[tokio::test]
async fn a_killed_claimant_is_taken_over_after_its_claim_expires() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("takeover"));
    // A's run takes about 6 s; B's is quick. The claim holds 6 s without renewal.
    let mut a = Daemon::start(&replica_config(dir.path(), "a", &garage, 6000, 6, true));
    let b = Daemon::start(&replica_config(dir.path(), "b", &garage, 200, 6, true));
    let fingerprint = format!("takeover-{}", std::process::id());
    let theirs = fire(&a, &fingerprint).await;
    wait_for(Duration::from_secs(20), "A's run to start", async || {
        a.logs().contains("\"Run started.\"").then_some(())
    })
    .await;
    // Issue 19: B answered with its own id, which never reaches the bucket.
    assert_eq!(fire(&b, &fingerprint).await, theirs, "B's answer names the incident's bundle");
    wait_for(Duration::from_secs(20), "B to wait for A's claim", async || {
        b.logs().contains("Another replica holds this incident").then_some(())
    })
    .await;
    let killed = Instant::now();
    a.signal(libc::SIGKILL);
    a.wait_exit(Duration::from_secs(10));
    let store = reader(&garage);
    let entries = wait_uploaded(&store, 1, Duration::from_secs(60)).await;
    assert!(killed.elapsed() >= Duration::from_secs(2), "not before the claim expired");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, theirs, "the incident keeps A's bundle id");
    assert_eq!(entries[0].replica, "b");
    assert!(b.logs().contains("Took over the incident"), "{}", b.logs());
    verify_each(&entries, &garage, &dir.path().join("b/witness.toml"));
}

/// Posts the resolution of `fingerprint` (fired by [`fire`]) to `daemon`.
async fn resolve(daemon: &Daemon, fingerprint: &str, starts_at: &str) {
    let body = am_body(fingerprint, "resolved", starts_at, fingerprint);
    let r = post_json(&client(), &daemon.url("/hooks/alertmanager"), body).send().await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
}

/// The incident bundle the follow-up `id` in the bucket follows, `None` for an incident.
async fn follows(store: &Store, id: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let bundle = store.download(id, dir.path()).await.unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    manifest["follows"]["id"].as_str().map(str::to_owned)
}

/// How many times `daemon` recorded an alert beside another replica's bundle.
fn joins_recorded(daemon: &Daemon) -> usize {
    daemon.logs().matches("recorded beside its bundle").count()
}

/// Follow-ups across replicas. A resolution that reaches both replicas is checked once,
/// by the replica that sealed the incident (the other records its resolution beside that
/// follow-up). Once that replica is gone (`kill -9`), the other one takes its follow-ups
/// over, reading the incident from the bucket: for a resolution, and for
/// `/api/collect {"follow_up": ID}` of an incident it never had.
#[tokio::test]
async fn a_follow_up_runs_once_across_replicas_and_is_taken_over_when_its_sealer_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("followup"));
    let replica = |name: &str| {
        let config = replica_config(dir.path(), name, &garage, 200, 6, true);
        append(&config, "[follow_up]\nwindow_secs = 1\n");
        config
    };
    let mut a = Daemon::start(&replica("a"));
    let b = Daemon::start(&replica("b"));
    let (one, two) =
        (format!("fu-one-{}", std::process::id()), format!("fu-two-{}", std::process::id()));
    let started = starts_at();
    let mut incidents = Vec::new();
    for fingerprint in [&one, &two] {
        let body = || am_body(fingerprint, "firing", &started, fingerprint);
        let mut ids = Vec::new();
        for daemon in [&a, &b] {
            let r = post_json(&client(), &daemon.url("/hooks/alertmanager"), body());
            let answer: Value = r.send().await.unwrap().json().await.unwrap();
            ids.push(answer["bundles"][0].as_str().unwrap().to_owned());
        }
        assert_eq!(ids[0], ids[1], "B's answer names A's bundle");
        incidents.push(ids.remove(0));
    }
    let store = reader(&garage);
    wait_uploaded(&store, 2, Duration::from_secs(60)).await;
    wait_for(Duration::from_secs(60), "B to join both incidents", async || {
        (joins_recorded(&b) >= 2).then_some(())
    })
    .await;

    // Both replicas alive: one follow-up, by A, and B's resolution beside it.
    resolve(&a, &one, &started).await;
    resolve(&b, &one, &started).await;
    let entries = wait_uploaded(&store, 3, Duration::from_secs(60)).await;
    wait_for(
        Duration::from_secs(60),
        "B to record its resolution beside A's follow-up",
        async || (joins_recorded(&b) >= 3).then_some(()),
    )
    .await;
    let entries_now = uploaded(&store).await;
    assert_eq!(entries_now.len(), 3, "one follow-up: {entries_now:#?}");
    let follow_up = entries.iter().find(|e| !incidents.contains(&e.id)).unwrap();
    assert_eq!(follow_up.replica, "a");
    assert_eq!(follows(&store, &follow_up.id).await.as_ref(), Some(&incidents[0]));
    assert_eq!(store.joins(&follow_up.id).await.unwrap().len(), 1);

    // A gone: B checks the second incident's resolution, and a follow-up asked for by
    // hand of the first, from the bundles A left in the bucket.
    a.signal(libc::SIGKILL);
    a.wait_exit(Duration::from_secs(10));
    resolve(&b, &two, &started).await;
    let body = json!({"follow_up": incidents[0]}).to_string();
    let r = post_json(&client(), &b.url("/api/collect"), body).bearer_auth(TOKEN).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
    let entries = tokio::time::timeout(
        Duration::from_secs(90),
        wait_uploaded(&store, 5, Duration::from_secs(100)),
    )
    .await;
    assert!(entries.is_ok(), "B's follow-ups did not reach the bucket:\n{}", b.logs());
    let mut followed = Vec::new();
    for entry in uploaded(&store).await {
        if let Some(incident) = follows(&store, &entry.id).await
            && entry.replica == "b"
        {
            followed.push(incident);
        }
    }
    followed.sort();
    let mut expected = incidents.clone();
    expected.sort();
    assert_eq!(followed, expected, "B followed both incidents up");
    assert!(b.logs().contains("its follow-up is claimed one claim TTL later"), "{}", b.logs());
    verify_each(&uploaded(&store).await, &garage, &dir.path().join("b/witness.toml"));
}

/// `[store] ca_file`: the store behind a TLS proxy whose certificate a CA made here
/// issued. With the CA configured, a replica uploads through it and `witness verify`
/// reads the bundle back; without it, uploads fail and readers stop, each saying the
/// certificate is not trusted and which key fixes it.
#[tokio::test]
async fn a_store_behind_tls_with_a_private_ca_works_with_ca_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("tls"));
    let proxy = TlsProxy::start(garage.s3_addr(0));
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &proxy.ca_pem).unwrap();
    let through_proxy = |name: &str, ca_file: Option<&Path>| {
        let config = replica_config(dir.path(), name, &garage, 200, 10, true);
        let mut text = std::fs::read_to_string(&config).unwrap().replace(
            &format!("endpoint = {:?}", garage.endpoint(0)),
            &format!("endpoint = {:?}", proxy.endpoint),
        );
        if let Some(ca) = ca_file {
            text = text.replace("[store]\n", &format!("[store]\nca_file = {ca:?}\n"));
        }
        std::fs::write(&config, text).unwrap();
        config
    };
    let trusted = through_proxy("a", Some(&ca));
    let untrusted = through_proxy("b", None);
    let a = Daemon::start(&trusted);
    let id = fire(&a, &format!("tls-{}", std::process::id())).await;
    let entries = wait_uploaded(&reader(&garage), 1, Duration::from_secs(60)).await;
    assert_eq!(entries[0].id, id);
    let (code, out, err) = verify(&id, &garage, &trusted, None);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("files match"), "{out}");

    let hint = "presented a TLS certificate witness does not trust (invalid peer certificate: UnknownIssuer); if a private CA signed it, set [store] ca_file to the PEM of that CA";
    let (code, out, err) = verify(&id, &garage, &untrusted, None);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains(hint), "{err}");
    let b = Daemon::start(&untrusted);
    fire(&b, &format!("tls-b-{}", std::process::id())).await;
    wait_for(Duration::from_secs(60), "B's upload to fail on the certificate", async || {
        b.logs().lines().any(|l| l.contains("Upload failed") && l.contains(hint)).then_some(())
    })
    .await;
    assert_eq!(uploaded(&reader(&garage)).await.len(), 1, "nothing of B's in the bucket");
}

/// A Garage node killed while a replica uploads: writes reach the two others (quorum of
/// replication 3), every bundle arrives and verifies.
#[tokio::test]
async fn a_garage_node_killed_during_uploads_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut garage = Garage::start(dir.path(), &bucket("quorum"));
    let config = replica_config(dir.path(), "a", &garage, 200, 10, true);
    let daemon = Daemon::start(&config);
    let n = 6;
    for i in 0..n {
        fire(&daemon, &format!("quorum-{i}-{}", std::process::id())).await;
        if i == 1 {
            garage.kill_node(2);
        }
    }
    let store = reader(&garage);
    let entries = wait_uploaded(&store, n, Duration::from_secs(90)).await;
    assert_eq!(entries.len(), n);
    verify_each(&entries, &garage, &config);
}

/// The whole store down for a minute: bundles are sealed and spooled (the metrics say how
/// many, and count the failed attempts); at the spool's bound (3 here) a new incident
/// gets `503`; everything is uploaded once the store is back, and the retry taken.
#[tokio::test]
async fn with_the_store_down_bundles_spool_and_upload_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut garage = Garage::start(dir.path(), &bucket("down"));
    let config = replica_config(dir.path(), "a", &garage, 200, 10, true);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("[store]\n", "[store]\nspool_max_bundles = 3\n")).unwrap();
    let daemon = Daemon::start(&config);
    for i in 0..3 {
        garage.kill_node(i);
    }
    let down = Instant::now();
    let n = 3;
    for i in 0..n {
        fire(&daemon, &format!("down-{i}-{}", std::process::id())).await;
    }
    let c = client();
    let metrics =
        wait_for(Duration::from_secs(60), "3 bundles spooled and a failed upload", async || {
            let text = c.get(daemon.url("/metrics")).send().await.ok()?.text().await.ok()?;
            (text.contains("witness_spool_bundles 3")
                && !text.contains("witness_upload_failures_total 0"))
            .then_some(text)
        })
        .await;
    assert!(metrics.contains("witness_spool_bytes "), "{metrics}");
    // At the spool's bound a new incident is refused, to be retried.
    let late = format!("down-late-{}", std::process::id());
    let body = || am_body(&late, "firing", &starts_at(), &late);
    let r = post_json(&c, &daemon.url("/hooks/alertmanager"), body()).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert!(r.text().await.unwrap().contains("the upload spool is full"));
    tokio::time::sleep(Duration::from_secs(60).saturating_sub(down.elapsed())).await;
    for i in 0..3 {
        garage.start_node(i);
    }
    garage.wait_ready(0);
    let store = reader(&garage);
    wait_uploaded(&store, n, Duration::from_secs(120)).await;
    // The sender's retry is taken once the spool drained.
    let r = post_json(&c, &daemon.url("/hooks/alertmanager"), body()).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let entries = wait_uploaded(&store, n + 1, Duration::from_secs(60)).await;
    assert_eq!(entries.len(), n + 1);
    verify_each(&entries, &garage, &config);
    let metrics = c.get(daemon.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("witness_spool_bundles 0"), "{metrics}");
}

/// The spool is journaled: bundles sealed while the store is down survive a `kill -9`
/// of their replica and are uploaded by the restarted one, once each, not run again.
#[tokio::test]
async fn spooled_bundles_survive_a_kill_9_and_upload_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut garage = Garage::start(dir.path(), &bucket("respool"));
    let config = replica_config(dir.path(), "a", &garage, 200, 10, true);
    let mut daemon = Daemon::start(&config);
    for i in 0..3 {
        garage.kill_node(i);
    }
    let n = 2;
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(fire(&daemon, &format!("respool-{i}-{}", std::process::id())).await);
    }
    let c = client();
    wait_for(Duration::from_secs(60), "2 bundles spooled", async || {
        let text = c.get(daemon.url("/metrics")).send().await.ok()?.text().await.ok()?;
        text.contains("witness_spool_bundles 2").then_some(())
    })
    .await;
    daemon.signal(libc::SIGKILL);
    daemon.wait_exit(Duration::from_secs(10));
    for i in 0..3 {
        garage.start_node(i);
    }
    garage.wait_ready(0);
    let daemon = Daemon::start(&config);
    let store = reader(&garage);
    let entries = wait_uploaded(&store, n, Duration::from_secs(60)).await;
    let mut uploaded_ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
    uploaded_ids.sort();
    ids.sort();
    assert_eq!(uploaded_ids, ids, "the bundles sealed before the kill, under their ids");
    verify_each(&entries, &garage, &config);
    let sealed = crate::server::sealed_bundles(&dir.path().join("a/store"));
    assert_eq!(sealed.len(), n, "not run again: {sealed:?}");
    assert!(!daemon.logs().contains("Replaying a run"), "{}", daemon.logs());
}

/// A bounded storm across both replicas: every incident is sent to both, concurrently;
/// the bucket holds exactly one bundle per incident, none lost.
#[tokio::test]
async fn a_storm_across_two_replicas_gives_one_bundle_per_incident_and_loses_none() {
    let dir = tempfile::tempdir().unwrap();
    let garage = Garage::start(dir.path(), &bucket("storm"));
    let a = Daemon::start(&replica_config(dir.path(), "a", &garage, 200, 10, true));
    let b = Daemon::start(&replica_config(dir.path(), "b", &garage, 200, 10, true));
    let incidents = 30;
    let c = client();
    let mut sends = Vec::new();
    for i in 0..incidents {
        for daemon in [&a, &b] {
            let body = am_body(
                &format!("storm-{i}-{}", std::process::id()),
                "firing",
                &starts_at(),
                &format!("g{i}"),
            );
            sends.push(post_json(&c, &daemon.url("/hooks/alertmanager"), body).send());
        }
    }
    for r in futures::future::join_all(sends).await {
        assert_eq!(r.unwrap().status(), 202);
    }
    let store = reader(&garage);
    wait_uploaded(&store, incidents, Duration::from_secs(180)).await;
    wait_for(Duration::from_secs(120), "every run or join to end", async || {
        let ended = |d: &Daemon| {
            d.logs().matches("\"Run sealed.\"").count()
                + d.logs().matches("recorded beside its bundle").count()
        };
        (ended(&a) + ended(&b) >= 2 * incidents).then_some(())
    })
    .await;
    let entries = uploaded(&store).await;
    assert_eq!(entries.len(), incidents, "bundles = incidents");
    let mut fingerprints: Vec<String> = Vec::new();
    for entry in &entries {
        let dir = tempfile::tempdir().unwrap();
        let bundle = store.download(&entry.id, dir.path()).await.unwrap();
        let trigger: Value =
            serde_json::from_slice(&std::fs::read(bundle.join("trigger.json")).unwrap()).unwrap();
        fingerprints.push(trigger["fingerprint"].as_str().unwrap().to_owned());
    }
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), incidents, "each incident once");
}

/// Without a coordinator, claims go to the store's own conditional create: two replicas
/// sharing a `file://` store (which honors it) still make one bundle per incident.
#[tokio::test]
async fn on_a_store_with_conditional_create_claims_need_no_coordinator() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    let config = |name: &str| {
        let own = dir.path().join(name);
        std::fs::create_dir_all(&own).unwrap();
        let mut text = config_text(&own, "")
            .replace("[store]\n", &format!("[store]\nurl = \"file://{}\"\n", shared.display()));
        text.push_str(&format!("\n[fleet]\nreplica = {name:?}\nclaim_ttl_secs = 10\n"));
        write_config(&own, &text)
    };
    let a = Daemon::start(&config("a"));
    let b = Daemon::start(&config("b"));
    let incidents = 5;
    for i in 0..incidents {
        let fingerprint = format!("file-{i}-{}", std::process::id());
        let (x, y) = futures::join!(fire(&a, &fingerprint), fire(&b, &fingerprint));
        assert_eq!(x, y, "both answers name the incident's one bundle");
    }
    let url = format!("file://{}", shared.display());
    let store = Store::for_reader(&StoreConfig::default(), &url).unwrap();
    wait_for(Duration::from_secs(60), "every run or join to end", async || {
        let ended = |d: &Daemon| {
            d.logs().matches("\"Run sealed.\"").count()
                + d.logs().matches("recorded beside its bundle").count()
        };
        (ended(&a) + ended(&b) >= 2 * incidents).then_some(())
    })
    .await;
    let entries = wait_uploaded(&store, incidents, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(uploaded(&store).await.len(), incidents, "one bundle per incident: {entries:#?}");
    let claims = std::fs::read_dir(shared.join("claims")).unwrap().count();
    assert_eq!(claims, incidents, "one claim per incident in the store");
}

/// `witness config check` says which store and coordinator secrets cannot be read, with
/// file, line and key.
#[test]
fn config_check_names_the_store_and_coordinator_secrets_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let text = format!(
        "[store]\nurl = \"s3://b/p\"\nendpoint = \"http://127.0.0.1:1\"\naccess_key_id_file = {missing:?}\nsecret_access_key_env = \"WITNESS_TEST_UNSET_SECRET\"\n\n[fleet]\ncoordinator_file = {missing:?}\n"
    );
    let path = dir.path().join("w.toml");
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_witness"))
        .args(["config", "check", "--config"])
        .arg(&path)
        .env_remove("WITNESS_TEST_UNSET_SECRET")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let at = path.display();
    for expected in [
        format!("{at}:4: store.access_key_id_file: cannot read {}", missing.display()),
        format!(
            "{at}:5: store.secret_access_key_env: environment variable WITNESS_TEST_UNSET_SECRET is not set"
        ),
        format!("{at}:8: fleet.coordinator_file: cannot read {}", missing.display()),
    ] {
        assert!(text.contains(&expected), "{expected}\n---\n{text}");
    }
}
