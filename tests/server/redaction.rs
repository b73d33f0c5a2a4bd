//! Redaction in `witness serve` (issue 20): an alert's secrets — a JWT in its name, an AWS
//! key and `api_key=…` in annotations, a password in a URL, a `db_password` label, a
//! GitHub token as a label key or as the fingerprint, witness's own bearer token quoted —
//! are redacted where the body is parsed, so that none of them reaches the journal, the
//! bundle, the addendum or witness's own log, while the same alert still deduplicates,
//! across a restart too. Each secret is random in every run, and is looked for whole and by
//! every 8-character fragment of its random part.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use rand::distributions::Alphanumeric;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{
    Daemon, InProcess, TOKEN, client, config_text, journal_lines, post_json, sealed_bundles,
    trigger_of, wait_for, write_config,
};

const T0: &str = "2025-11-19T21:00:00Z";
const T1: &str = "2025-11-19T21:04:00Z";

/// One seeded secret: its class, its text as the alert carries it, and its random part
/// (what must not survive, whole or in fragments).
#[derive(Debug, Clone)]
struct Seed {
    class: &'static str,
    value: String,
    core: String,
}

fn alnum(n: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(n).map(char::from).collect()
}

fn base64url(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())])).collect()
}

fn seed(class: &'static str, value: String, core: String) -> Seed {
    Seed { class, value, core }
}

/// A fresh secret of every class the alert carries.
struct Seeds {
    jwt: Seed,
    aws: Seed,
    api_key: Seed,
    url_password: Seed,
    db_password: Seed,
    dsn_password: Seed,
    github_label_key: Seed,
    github_fingerprint: Seed,
    nested: Seed,
}

impl Seeds {
    fn new() -> Self {
        let payload = base64url(40);
        let signature = base64url(43);
        let aws_core: String = {
            let mut rng = rand::thread_rng();
            (0..16)
                .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[rng.gen_range(0..32)]))
                .collect()
        };
        let (url, dsn, db, kv, ghk, ghf, nested) =
            (alnum(14), alnum(14), alnum(12), alnum(24), alnum(36), alnum(36), alnum(20));
        Self {
            jwt: seed(
                "jwt",
                format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{payload}.{signature}"),
                format!("{payload}.{signature}"),
            ),
            aws: seed("aws access key id", format!("AKIA{aws_core}"), aws_core),
            api_key: seed("key=value", format!("api_key={kv}"), kv),
            url_password: seed(
                "password in a URL",
                format!("https://deploy:{url}@prom.example/graph"),
                url,
            ),
            db_password: seed("secret-named label", db.clone(), db),
            dsn_password: seed("DSN password", format!("postgres://app:{dsn}@db:5432/orders"), dsn),
            github_label_key: seed("GitHub token as a label key", format!("ghp_{ghk}"), ghk),
            github_fingerprint: seed("GitHub token as the fingerprint", format!("ghp_{ghf}"), ghf),
            nested: seed("array under a secret-named key", nested.clone(), nested),
        }
    }

    fn all(&self) -> Vec<&Seed> {
        vec![
            &self.jwt,
            &self.aws,
            &self.api_key,
            &self.url_password,
            &self.db_password,
            &self.dsn_password,
            &self.github_label_key,
            &self.github_fingerprint,
            &self.nested,
        ]
    }

    /// An Alertmanager v4 body whose one alert carries every seed, each in its own place.
    fn alertmanager_body(&self, status: &str, starts_at: &str) -> String {
        json!({
            "receiver": "evidence", "status": status, "version": "4",
            "groupKey": format!("{{}}:{{alertname=\"Leak {}\"}}", self.jwt.value),
            "truncatedAlerts": 0,
            "alerts": [{
                "status": status,
                "labels": {
                    "alertname": format!("Leak {}", self.jwt.value),
                    "service": "checkout",
                    "db_password": self.db_password.value,
                    "dsn": self.dsn_password.value,
                    self.github_label_key.value.clone(): "set",
                },
                "annotations": {
                    "summary": format!("AWS key {} rejected", self.aws.value),
                    "description": format!("retry with {}", self.api_key.value),
                },
                "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": self.url_password.value,
                "fingerprint": self.github_fingerprint.value,
            }],
            "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {"client_secret": [self.nested.value]},
            "externalURL": "http://am",
        })
        .to_string()
    }
}

/// The classes of the seeds found in `text`, whole or by a fragment of 8 characters of
/// their random part.
fn survivors(text: &str, seeds: &[&Seed]) -> Vec<&'static str> {
    seeds
        .iter()
        .filter(|s| {
            let chars: Vec<char> = s.core.chars().collect();
            text.contains(&s.value)
                || chars.windows(8).any(|w| text.contains(&w.iter().collect::<String>()))
        })
        .map(|s| s.class)
        .collect()
}

/// Every file under `dir`, with its text (lossily).
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// Fails with the file and the classes when a seed survives anywhere in the store (bundles,
/// journal, addenda).
fn assert_no_survivor_in(store: &Path, seeds: &[&Seed]) {
    let files = files_under(store);
    assert!(!files.is_empty());
    for (path, text) in files {
        let found = survivors(&text, seeds);
        assert!(found.is_empty(), "{found:?} survive in {}:\n{text}", path.display());
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn first_sealed(store: &Path) -> PathBuf {
    wait_for(Duration::from_secs(60), "a sealed bundle", async || {
        sealed_bundles(store).into_iter().next()
    })
    .await
}

async fn post_accepted(c: &reqwest::Client, url: &str, body: String) -> Value {
    let r = post_json(c, url, body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    r.json().await.unwrap()
}

/// Issue 20: the journal held the raw webhook body (every secret of the alert), readable
/// by anyone (0644); a journal left by an older witness stayed so.
#[tokio::test]
async fn the_journal_holds_no_secret_of_an_alert_and_only_witness_can_read_it() {
    let seeds = Seeds::new();
    let old_secret =
        seed("left in an old journal", format!("AKIA{}", "Q".repeat(16)), "Q".repeat(16));
    let server = InProcess::start_with(|dir| {
        // A journal an older witness left: a raw secret in an unsealed run, mode 0644.
        let store = dir.join("store");
        std::fs::create_dir_all(&store).unwrap();
        let line = json!({
            "type": "accepted", "at": 1_763_586_000_000_i64, "action": "started",
            "bundle": "20251119T210000Z-old",
            "trigger": {"source": "generic", "name": format!("key {}", old_secret.value),
                "status": "firing", "starts_at": 1_763_586_000_000_i64,
                "labels": {"db_password": "hunter2hunter2"}}
        });
        std::fs::write(store.join(".journal.jsonl"), format!("{line}\n")).unwrap();
        std::fs::set_permissions(store.join(".journal.jsonl"), PermissionsExt::from_mode(0o644))
            .unwrap();
        config_text(dir, "")
    })
    .await;
    let journal = server.store().join(".journal.jsonl");
    let c = client();
    wait_for(Duration::from_secs(10), "the server to listen", async || {
        c.get(server.url("/healthz")).send().await.ok()
    })
    .await;
    assert_eq!(mode(&journal), 0o600, "an existing journal is made private on open");
    post_accepted(&c, &server.url("/hooks/alertmanager"), seeds.alertmanager_body("firing", T0))
        .await;
    let text = std::fs::read_to_string(&journal).unwrap();
    let mut all = seeds.all();
    all.push(&old_secret);
    let found = survivors(&text, &all);
    assert!(found.is_empty(), "{found:?} survive in the journal:\n{text}");
    assert!(!text.contains("hunter2hunter2"), "{text}");
    // What the intake needs is still there, redacted: labels by key, the fingerprint.
    let lines = journal_lines(&server.store());
    let accepted = lines.iter().rev().find(|l| l["action"] == "started").unwrap();
    assert_eq!(accepted["trigger"]["labels"]["service"], "checkout");
    assert!(accepted["trigger"]["fingerprint"].as_str().unwrap().starts_with("[REDACTED:"));
    assert_eq!(mode(&journal), 0o600);
    server.stop().await;
}

/// Issue 20, "Structure": `trigger.labels` in the manifest were redacted as plain text
/// without their keys (`db_password=…` survived); label keys and the alert's fingerprint
/// were never redacted — in the bundle, the journal or the addendum.
#[tokio::test]
async fn labels_are_redacted_with_their_keys_in_view_and_keys_and_fingerprints_too() {
    let seeds = Seeds::new();
    let server = InProcess::start("").await;
    let c = client();
    let url = server.url("/hooks/alertmanager");
    let answer = post_accepted(&c, &url, seeds.alertmanager_body("firing", T0)).await;
    let answered_fp = answer["alerts"][0]["fingerprint"].as_str().unwrap().to_owned();
    assert!(answered_fp.starts_with("[REDACTED:"), "{answer}");
    let bundle = first_sealed(&server.store()).await;
    // After the seal: a refire and a resolution go to the addendum.
    let late = post_accepted(&c, &url, seeds.alertmanager_body("firing", T1)).await;
    assert_eq!(late["alerts"][0]["action"], "deduplicated", "{late}");
    assert_eq!(late["alerts"][0]["fingerprint"], answered_fp.as_str(), "the same identity");
    post_accepted(&c, &url, seeds.alertmanager_body("resolved", T0)).await;
    let addendum = server
        .store()
        .join(format!("{}.addendum.jsonl", bundle.file_name().unwrap().to_string_lossy()));
    assert_eq!(mode(&addendum), 0o600);
    assert_eq!(std::fs::read_to_string(&addendum).unwrap().lines().count(), 2);

    assert_no_survivor_in(&server.store(), &seeds.all());
    // The structure stays: each label under its key, the secret-named one a token.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    for labels in [&manifest["trigger"]["labels"], &trigger_of(&bundle)["labels"]] {
        assert_eq!(labels["service"], "checkout", "{labels}");
        let db = labels["db_password"].as_str().unwrap();
        assert!(db.starts_with("[REDACTED:"), "{labels}");
        assert!(labels.as_object().unwrap().keys().any(|k| k.starts_with("[REDACTED:")));
    }
    assert_eq!(trigger_of(&bundle)["fingerprint"], answered_fp.as_str());
    server.stop().await;
}

/// Issue 20, "witness's own secrets": the `[server.auth]` bearer token, quoted by an
/// alert's name, a label and an annotation, survived in the bundle, the journal, the
/// addendum and witness's log. A real `witness serve` process, its log in JSON.
#[tokio::test]
async fn witness_own_bearer_token_quoted_by_an_alert_is_in_no_file_and_no_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config_text(dir.path(), ""));
    let store = dir.path().join("store");
    let daemon = Daemon::start(&path);
    let own = seed("witness's bearer token", TOKEN.to_owned(), TOKEN.to_owned());
    let body = |status: &str, starts: &str| {
        json!({
            "title": format!("Login with {TOKEN} failed"),
            "status": status,
            "starts_at": starts,
            "labels": {"note": format!("sent by {TOKEN}"), "service": "auth"},
            "annotations": {"summary": format!("the token {TOKEN} was refused")},
        })
        .to_string()
    };
    let c = client();
    let url = daemon.url("/hooks/generic");
    post_accepted(&c, &url, body("firing", T0)).await;
    first_sealed(&store).await;
    let late = post_accepted(&c, &url, body("firing", T1)).await;
    assert_eq!(late["alerts"][0]["action"], "deduplicated", "{late}");
    wait_for(Duration::from_secs(10), "the addendum", async || {
        files_under(&store)
            .into_iter()
            .find(|(p, _)| p.to_string_lossy().ends_with(".addendum.jsonl"))
    })
    .await;
    assert_no_survivor_in(&store, &[&own]);
    let logs = wait_for(Duration::from_secs(10), "the log of the seal", async || {
        let logs = daemon.logs();
        logs.contains("Run sealed.").then_some(logs)
    })
    .await;
    assert!(logs.contains("Alert accepted; run queued."), "{logs}");
    assert!(survivors(&logs, &[&own]).is_empty(), "{logs}");
}

/// Issue 20, "Outside bundles": `serve`'s log printed alert titles raw (a JWT in a title
/// reached stderr), and quoted what it could not read of a body (a key in `startsAt`).
#[tokio::test]
async fn serve_logs_no_secret_of_an_alert() {
    let seeds = Seeds::new();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config_text(dir.path(), ""));
    let daemon = Daemon::start(&path);
    let c = client();
    let url = daemon.url("/hooks/alertmanager");
    let mut body: Value = serde_json::from_str(&seeds.alertmanager_body("firing", T0)).unwrap();
    // A second alert that cannot be read: its bad start time is quoted in the log.
    let mut broken = body["alerts"][0].clone();
    broken["startsAt"] = Value::String(seeds.aws.value.clone());
    body["alerts"].as_array_mut().unwrap().push(broken);
    post_accepted(&c, &url, body.to_string()).await;
    let logs = wait_for(Duration::from_secs(60), "the log of the seal", async || {
        let logs = daemon.logs();
        logs.contains("Run sealed.").then_some(logs)
    })
    .await;
    assert!(logs.contains("Left out an alert that cannot be read."), "{logs}");
    let found = survivors(&logs, &seeds.all());
    assert!(found.is_empty(), "{found:?} survive in the log:\n{logs}");
}

/// A body witness refuses is answered with what is wrong, which quotes the bad value as
/// the parser saw it: that answer is redacted like everything witness writes.
#[tokio::test]
async fn a_refused_body_is_answered_without_the_secret_it_quotes() {
    let seeds = Seeds::new();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config_text(dir.path(), ""));
    let daemon = Daemon::start(&path);
    let c = client();
    let body = json!({"title": "checkout down", "status": seeds.aws.value, "starts_at": T0});
    let r = c
        .post(daemon.url("/hooks/generic"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let answer = r.text().await.unwrap();
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let answer = answer["error"].as_str().unwrap();
    assert!(answer.starts_with("field `status` is \"[REDACTED:aws_access_key_id:"), "{answer}");
    let found = survivors(answer, &seeds.all());
    assert!(found.is_empty(), "{found:?} survive in the answer: {answer}");
}

/// The same alert, with secrets in its labels and fingerprint, is the same incident after
/// a restart: the intake's tokens are made with a key kept in the store. One alert has a
/// fingerprint, the other gets one from its (redacted) labels.
#[tokio::test]
async fn the_same_alert_with_secrets_joins_its_bundle_across_a_restart() {
    let seeds = Seeds::new();
    let server = InProcess::start("cooldown_secs = 900").await;
    let c = client();
    let generic = json!({
        "title": "Leaky generic",
        "starts_at": T0,
        "labels": {"db_password": seeds.db_password.value, "dsn": seeds.dsn_password.value},
    })
    .to_string();
    let am = post_accepted(
        &c,
        &server.url("/hooks/alertmanager"),
        seeds.alertmanager_body("firing", T0),
    )
    .await;
    let generic_first = post_accepted(&c, &server.url("/hooks/generic"), generic.clone()).await;
    wait_for(Duration::from_secs(60), "both runs sealed", async || {
        (sealed_bundles(&server.store()).len() == 2).then_some(())
    })
    .await;
    let key = server.store().join(".redaction-key");
    assert_eq!(mode(&key), 0o600);

    let server = server.restart().await;
    let am_again = post_accepted(
        &c,
        &server.url("/hooks/alertmanager"),
        seeds.alertmanager_body("firing", T1),
    )
    .await;
    let gen_again = post_accepted(&c, &server.url("/hooks/generic"), generic).await;
    for (first, again) in [(&am, &am_again), (&generic_first, &gen_again)] {
        assert_eq!(again["alerts"][0]["action"], "deduplicated", "{again}");
        assert_eq!(again["bundles"], first["bundles"], "{first} then {again}");
        assert_eq!(again["alerts"][0]["fingerprint"], first["alerts"][0]["fingerprint"]);
    }
    assert_eq!(sealed_bundles(&server.store()).len(), 2, "no second bundle");
    assert_no_survivor_in(&server.store(), &seeds.all());
    server.stop().await;
}

/// A reload that changes the bearer token registers the new one: an alert that quotes it
/// afterwards shows it in no file and no log line.
#[tokio::test]
async fn a_reload_registers_the_new_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &config_text(dir.path(), ""));
    let store = dir.path().join("store");
    let daemon = Daemon::start(&path);
    let new_token = format!("rotated-{}", alnum(16));
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &new_token).unwrap();
    let text = config_text(dir.path(), "").replace(
        "bearer_token_env = \"WITNESS_TEST_TOKEN\"",
        &format!("bearer_token_file = {token_file:?}"),
    );
    write_config(dir.path(), &text);
    wait_for(Duration::from_secs(20), "the reload", async || {
        daemon.logs().contains("Config reloaded.").then_some(())
    })
    .await;
    let c = client();
    let body = json!({"title": format!("Refused {new_token}"), "labels": {"t": new_token}});
    let r = c
        .post(daemon.url("/hooks/generic"))
        .bearer_auth(&new_token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let sealed = first_sealed(&store).await;
    let own =
        seed("the new bearer token", new_token.clone(), new_token["rotated-".len()..].to_owned());
    assert!(trigger_of(&sealed)["name"].as_str().unwrap().starts_with("Refused [REDACTED:"));
    assert_no_survivor_in(&store, &[&own]);
    let logs = wait_for(Duration::from_secs(10), "the log of the seal", async || {
        let logs = daemon.logs();
        logs.contains("Run sealed.").then_some(logs)
    })
    .await;
    assert!(survivors(&logs, &[&own]).is_empty(), "{logs}");
}
