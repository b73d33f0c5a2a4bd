//! Redaction as a user relies on it: secrets of every kind the built-in rules know,
//! seeded into log lines, JSON evidence, query strings, headers, the trigger's payload and
//! the reports, never reach any byte of a sealed bundle or its `.tar.gz`; the same secret
//! gets the same token across files; the manifest counts per rule and never holds a value;
//! redacting twice changes nothing more; and ordinary evidence (the corpus in
//! `tests/data/redaction/ordinary.txt`) comes through byte for byte.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use witness::bundle::manifest::{CollectorEntry, TriggerSummary};
use witness::bundle::writer::{self, BundleDraft, Content, DraftFile};
use witness::redact::{RedactionConfig, Redactor, normalize_sql_literals};
use witness_collector::{Status, Window};

use crate::util::secrets::*;
use crate::util::{files_under, make_writable};

/// The ordinary-evidence corpus, one line per entry.
fn ordinary_lines() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/redaction/ordinary.txt");
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

fn all_rules() -> RedactionConfig {
    RedactionConfig { emails: true, ip_addresses: true, ..RedactionConfig::default() }
}

/// A draft with `secrets` in every kind of file a run writes, each line wrapped in ordinary
/// evidence picked by `picks`.
fn draft_with(secrets: &[Seeded], literal: &str, picks: &[usize]) -> BundleDraft {
    let corpus = ordinary_lines();
    let pick = |i: usize| corpus[picks[i % picks.len()] % corpus.len()].clone();
    let mut log = String::new();
    let mut details = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        let line = format!("{} {} {}", pick(i), s.text, pick(i + 1));
        log.push_str(&line);
        log.push('\n');
        details
            .push(json!({ "time": "2025-11-19T21:00:00.000Z", "title": s.kind, "detail": line }));
    }
    log.push_str(&format!(
        "{} connecting with {literal} and https://api.example/x?sig={}\n",
        pick(7),
        percent_encode(literal)
    ));
    let escaped_literal = serde_json::to_string(literal).unwrap();
    log.push_str(&format!(
        "{{\"msg\":\"auth with {}\"}}\n",
        &escaped_literal[1..escaped_literal.len() - 1]
    ));
    let structured: Vec<Value> = secrets.iter().map(|s| s.json.clone()).collect();
    let evidence = json!({
        "kind": "logs", "name": "app", "status": "partial",
        "summary": secrets.first().map(|s| s.text.clone()).unwrap_or_default(),
        "notes": [format!("secret read from WITNESS_PG_DSN: {literal}")],
        "events": details,
        "data": { "structured": structured, "deeper": [[{ "kept": structured }]] },
    });
    let raw_artifact =
        serde_json::to_vec(&json!({ "rows": structured, "literal": literal })).unwrap();
    let payload = json!({
        "version": "4",
        "alerts": [{ "labels": { "alertname": "CheckoutErrorRate" },
                     "annotations": { "description": log, "runbook": secrets.iter().map(|s| s.text.clone()).collect::<Vec<_>>() } }],
    });
    let report_md = format!("# Evidence\n\n```\n{log}```\n");
    let report_html = format!(
        "<html><body><pre>{}</pre><p>{}</p></body></html>",
        html_escape(&log),
        html_escape(&evidence.to_string())
    );
    let anchor = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
    let file = |path: &str, content: Content, cuttable: bool| DraftFile {
        path: path.into(),
        content,
        cuttable,
    };
    BundleDraft {
        id: "20251119T210000Z-abc123".into(),
        created_at: anchor,
        host: "web-1".into(),
        trigger: TriggerSummary {
            source: "alertmanager".into(),
            name: "CheckoutErrorRate".into(),
            labels: BTreeMap::from([
                ("service".into(), "checkout".into()),
                ("dsn".into(), secrets.first().map(|s| s.text.clone()).unwrap_or_default()),
                ("literal".into(), literal.to_owned()),
            ]),
            fingerprint: Some("5f1e2d3c4b5a6978".into()),
        },
        anchor,
        window: Window::new(anchor - chrono::Duration::minutes(30), anchor),
        follows: None,
        collectors: vec![CollectorEntry {
            kind: "logs".into(),
            name: "app".into(),
            status: Status::Partial,
            started_at: anchor,
            finished_at: anchor,
            error: Some(format!("cannot read: {}", log.lines().next().unwrap_or_default())),
            redactions: Default::default(),
        }],
        files: vec![
            file(
                "trigger.json",
                Content::Json(json!({ "source": "alertmanager", "raw": payload })),
                false,
            ),
            file("evidence/logs-app.json", Content::Json(evidence), false),
            file("evidence/logs-app/excerpt.log", Content::Bytes(log.clone().into_bytes()), true),
            file("evidence/logs-app/rows.json", Content::Bytes(raw_artifact), true),
            file("report.md", Content::Text(report_md), false),
            file("report.html", Content::Text(report_html), false),
        ],
    }
}

/// Every byte a user could be handed: each file of the bundle, the `.tar.gz` as stored,
/// and the tar stream inside it.
fn everything_written(bundle: &Path, archive: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files_under(bundle)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(bundle.join(&f)).unwrap()))
        .collect();
    let gz = std::fs::read(archive).unwrap();
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice()).read_to_end(&mut tar).unwrap();
    out.push(("<archive>.tar.gz".into(), gz));
    out.push(("<archive>.tar".into(), tar));
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Writes `draft` as a real bundle and its archive, and returns every byte written.
fn write_bundle(
    draft: BundleDraft,
    redactor: &Redactor,
) -> (tempfile::TempDir, witness::bundle::Manifest, Vec<(String, Vec<u8>)>) {
    let store = tempfile::tempdir().unwrap();
    let written = writer::write(store.path(), draft, redactor, None, 0).unwrap();
    let archive = store.path().join("bundle.tar.gz");
    witness::bundle::archive::export(&written.dir, &archive).unwrap();
    let bytes = everything_written(&written.dir, &archive);
    make_writable(&written.dir);
    (store, written.manifest, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn seeded_secrets_never_reach_any_byte_of_a_bundle(
        secrets in proptest::collection::vec(seeded(), 1..6),
        literal in literal(),
        picks in proptest::collection::vec(any::<usize>(), 8),
    ) {
        let redactor = Redactor::new(&all_rules(), vec![literal.clone()]).unwrap();
        let (_store, manifest, written) = write_bundle(draft_with(&secrets, &literal, &picks), &redactor);
        let mut needles: Vec<(String, &str)> = secrets
            .iter()
            .flat_map(|s| s.needles.iter().map(move |n| (n.clone(), s.kind)))
            .collect();
        needles.push((literal.clone(), "literal"));
        needles.push((percent_encode(&literal), "literal"));
        for (path, bytes) in &written {
            for (needle, kind) in &needles {
                for form in needle_forms(needle) {
                    prop_assert!(!find(bytes, form.as_bytes()), "{kind} secret {form:?} survives in {path}");
                }
            }
        }
        prop_assert!(manifest.redactions.values().sum::<u64>() >= secrets.len() as u64);
        prop_assert!(manifest.redactions.contains_key("literal"), "{:?}", manifest.redactions);
    }

    #[test]
    fn redaction_is_idempotent_on_any_text(
        secrets in proptest::collection::vec(seeded(), 0..4),
        noise in proptest::collection::vec(".{0,40}", 0..4),
        literal in literal(),
    ) {
        let redactor = Redactor::new(&all_rules(), vec![literal.clone()]).unwrap();
        let mut text = noise.join(" ");
        for s in &secrets {
            text.push_str(&format!(" {} {literal} {}", s.text, s.json));
        }
        let once = redactor.redact_text(&text).into_owned();
        let twice = redactor.redact_text(&once).into_owned();
        prop_assert_eq!(&twice, &once);
        let mut value = json!({ "text": text, "items": secrets.iter().map(|s| s.json.clone()).collect::<Vec<_>>() });
        redactor.redact_json(&mut value);
        let first = value.clone();
        redactor.redact_json(&mut value);
        prop_assert_eq!(value, first);
    }

    #[test]
    fn every_seeded_secret_is_caught_by_text_redaction_alone(secret in seeded(), line in any::<usize>()) {
        let corpus = ordinary_lines();
        let text = format!("{} {} {}", corpus[line % corpus.len()], secret.text, corpus[(line / 7) % corpus.len()]);
        let redactor = Redactor::new(&all_rules(), Vec::new()).unwrap();
        // As a log line, as the HTML report escapes it, and as a JSON log line carries it.
        for form in [text.clone(), html_escape(&text), serde_json::to_string(&text).unwrap()] {
            let out = redactor.redact_text(&form);
            for needle in &secret.needles {
                prop_assert!(!out.contains(needle.as_str()), "{} {needle:?} survives: {out}", secret.kind);
            }
        }
    }

    #[test]
    fn composed_ordinary_lines_come_through_unchanged(
        ts in 0i64..2_000_000_000,
        pid in 1u32..4_000_000,
        status in 100u16..600,
        revision in 1u32..100_000,
        commit in "[0-9a-f]{40}",
        uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        millis in 0u64..10_000_000,
        ratio in 0.0f64..1000.0,
    ) {
        let time = Utc.timestamp_opt(ts, 0).unwrap();
        let line = format!(
            "{} ERROR [{pid}] GET /api/orders/{uuid}/items status={status} in {millis}ms ratio={ratio} revision {revision} commit {commit} at {} epoch={}",
            time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            time.format("%b %d %H:%M:%S"),
            time.timestamp_millis(),
        );
        let redactor = Redactor::new(&RedactionConfig::default(), Vec::new()).unwrap();
        prop_assert_eq!(redactor.redact_text(&line), line.as_str());
        prop_assert!(redactor.counts().is_empty());
    }
}

#[test]
fn the_ordinary_corpus_comes_through_byte_for_byte() {
    let redactor =
        Redactor::new(&RedactionConfig::default(), vec!["not-in-the-corpus".into()]).unwrap();
    for line in ordinary_lines() {
        assert_eq!(redactor.redact_text(&line), line.as_str());
        let mut value = json!({ "line": line, "nested": [{ "detail": line }] });
        let before = value.clone();
        redactor.redact_json(&mut value);
        assert_eq!(value, before);
    }
    let whole = ordinary_lines().join("\n");
    assert_eq!(redactor.redact_text(&whole), whole.as_str());
    assert!(redactor.counts().is_empty(), "{:?}", redactor.counts());
}

#[test]
fn the_same_secret_gets_one_token_across_files_and_the_manifest_counts_without_values() {
    let secret = "hunter2-Xq7vB9zK";
    let redactor = Redactor::new(&RedactionConfig::default(), Vec::new()).unwrap();
    let anchor = Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap();
    let draft = BundleDraft {
        id: "20251119T210000Z-def456".into(),
        created_at: anchor,
        host: "web-1".into(),
        trigger: TriggerSummary {
            source: "manual".into(),
            name: "collect now".into(),
            labels: BTreeMap::new(),
            fingerprint: None,
        },
        anchor,
        window: Window::new(anchor - chrono::Duration::minutes(30), anchor),
        follows: None,
        collectors: Vec::new(),
        files: vec![
            DraftFile {
                path: "a.log".into(),
                content: Content::Text(format!("password={secret}\n")),
                cuttable: true,
            },
            DraftFile {
                path: "b.json".into(),
                content: Content::Json(json!({ "db": { "password": secret } })),
                cuttable: false,
            },
        ],
    };
    let (_store, manifest, written) = write_bundle(draft, &redactor);
    let token = |path: &str| {
        let text =
            String::from_utf8(written.iter().find(|(p, _)| p == path).unwrap().1.clone()).unwrap();
        let start = text.find("[REDACTED:").unwrap_or_else(|| panic!("no token in {path}: {text}"));
        text[start..start + text[start..].find(']').unwrap() + 1].to_owned()
    };
    let (a, b) = (token("a.log"), token("b.json"));
    assert!(a.starts_with("[REDACTED:key_value_secret:"), "{a}");
    assert_eq!(a, b, "one secret, one token across files");
    assert_eq!(manifest.redactions, BTreeMap::from([("key_value_secret".to_owned(), 2)]));
    let manifest_bytes = &written.iter().find(|(p, _)| p == "manifest.json").unwrap().1;
    assert!(!find(manifest_bytes, secret.as_bytes()));
    assert!(find(manifest_bytes, b"\"key_value_secret\": 2"));
}

#[test]
fn query_text_can_be_kept_or_normalized() {
    let query = "SELECT * FROM users WHERE email = 'ann@example.com' AND id = 42";
    assert_eq!(normalize_sql_literals(query), "SELECT * FROM users WHERE email = $1 AND id = $2");
    let normalizing = Redactor::new(
        &RedactionConfig { normalize_query_literals: true, ..RedactionConfig::default() },
        Vec::new(),
    )
    .unwrap();
    let mut value = json!({ "sessions": [{ "pid": 4242, "query": query }] });
    normalizing.redact_json(&mut value);
    assert_eq!(value["sessions"][0]["query"], "SELECT * FROM users WHERE email = $1 AND id = $2");
    let keeping = Redactor::new(&RedactionConfig::default(), Vec::new()).unwrap();
    let mut value = json!({ "sessions": [{ "pid": 4242, "query": query }] });
    keeping.redact_json(&mut value);
    assert_eq!(value["sessions"][0]["query"], query);
}

/// Regression: the fuzzer found this input (an IPv6-like run) redacted differently the
/// second time (tests/fuzz/artifacts/redact/crash-47397c38…).
#[test]
fn redaction_of_an_ipv6_like_run_is_idempotent() {
    let config = witness::redact::RedactionConfig {
        emails: true,
        ip_addresses: true,
        normalize_query_literals: true,
        ..witness::redact::RedactionConfig::default()
    };
    let redactor = witness::redact::Redactor::new(&config, vec![]).unwrap();
    let text = "+p\u{1}%8%8::%8::E:d";
    let once = redactor.redact_text(text).into_owned();
    assert_eq!(redactor.redact_text(&once), once);
}

/// Regression: a PEM block cut before its END line, read greedily, stopped inside the
/// GitHub token on a later line (`… using ghp` taken as base64, up to `_`) and left the
/// rest of the token behind (found by `seeded_secrets_never_reach_any_byte_of_a_bundle`).
#[test]
fn a_cut_pem_block_does_not_swallow_half_of_a_following_secret() {
    let redactor = Redactor::new(&witness::redact::RedactionConfig::default(), vec![]).unwrap();
    let text = "2025-11-19T21:00:00Z key -----BEGIN OPENSSH PRIVATE KEY-----\n3JPrmw8Y3J7Oq3wxvsgre4yckkgcff3HNv/x/7b/UDTz8buaAmq/+kqF/6SdI1Hh\ncs+nSVyCixhB17c5y5TKDxEUoNrzh1V2StJNWEtk7wosR3i5TpvcO3Ys/YqOq9Yy\n status=200\nGET /x using ghp_3np4V9nEJ7hXtxU85WeWHXiJ0078Kk7o351z for the call\n";
    let out = redactor.redact_text(text);
    for needle in [
        "3np4V9nEJ7hXtxU85WeWHXiJ0078Kk7o351z",
        "3JPrmw8Y3J7Oq3wxvsgre4yckkgcff3HNv",
        "cs+nSVyCixhB17c5y5TKDxEUoNrzh1V2St",
    ] {
        assert!(!out.contains(needle), "{needle} survives in {out}");
    }
    assert!(out.contains("status=200"), "{out}");
}

/// Regression (fuzz, tests/fuzz/corpus/redact/regression-url-across-json): after the
/// password in a JSON object was redacted, a "URL" whose user and password ran across the
/// JSON quotes matched on the second pass only.
#[test]
fn a_url_does_not_reach_across_json_quotes() {
    let config = RedactionConfig { emails: true, ip_addresses: true, ..RedactionConfig::default() };
    let r = Redactor::new(&config, vec![]).unwrap();
    let text = r#"postgre_credent%enttgraws_secre-Oaes://app;hunter23er2025-11-38pa{"password":"x y","23@db:5432db":{-1h1-38xp"#;
    let once = r.redact_text(text).into_owned();
    assert!(!once.contains("x y"), "{once}");
    assert_eq!(r.redact_text(&once), once);
}

/// A deterministic filler for generated secrets: the same corpus on every run.
struct Filler(u64);

impl Filler {
    fn pick(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                chars[usize::try_from(self.0 >> 33).unwrap() % chars.len()]
            })
            .collect()
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";

/// Vendor tokens of every documented shape the rules know: `{a}` alphanumerics, `{h}` hex,
/// `{l}` lowercase alphanumerics, `{u}` uppercase alphanumerics, `{d}` digits, each
/// followed by its length.
const TOKEN_SHAPES: &[&str] = &[
    "AKIA{u16}",
    "ghp_{a36}",
    "github_pat_{a82}",
    "glpat-{a20}",
    "glrt-{a20}.{l9}",
    "GR1348941{a20}",
    "xoxb-{h11}-{h12}-{a24}",
    "sk_live_{a24}",
    "sk_prod_{a40}",
    "rk_live_{a24}",
    "whsec_{a32}",
    "sk-proj-{a48}",
    "sk-{a20}T3BlbkFJ{a20}",
    "sk-ant-api03-{a90}",
    "npm_{a36}",
    "pypi-AgEIcHlwaS5vcmc{a60}",
    "SG.{a22}.{a43}",
    "SK{h32}",
    "key-{l32}",
    "{h32}-us12",
    "xkeysib-{h64}-{a16}",
    "shpat_{h32}",
    "dp.pt.{a43}",
    "hvs.{a90}",
    "HRKU-{a60}",
    "dop_v1_{h64}",
    "ATATT3{a180}",
    "hf_{a34}",
    "sgp_{h40}",
    "sntryu_{h64}",
    "glsa_{a32}_{h8}",
    "dapi{h32}",
    "EZAK{a54}",
    "EAA{a120}",
    "sq0atp-{a40}",
    "NRAK-{u27}",
    "ntn_{d11}{a35}",
    "lin_api_{a40}",
    "PMAK-{h24}-{h34}",
    "pul-{h40}",
    "pnu_{a36}",
    "pscale_tkn_{a43}",
    "fo1_{a43}",
    "ico-{a32}",
    "rdme_{l70}",
    "tfp_{a59}",
    "AKCp{a69}",
    "p8e-{a32}",
    "pplx-{a48}",
    "xai-{a80}",
    "gsk_{a52}",
    "lsv2_pt_{h32}_{h10}",
    "sbp_{h40}",
    "rzp_live_{a14}",
    "{d9}:AA{a33}",
    "MTk4NjIyNDgzNDcxOTI1MjQ4.{a6}.{a27}",
    "AIza{a35}",
    "ABSK{a120}",
    "eyJhbGciOiJIUzI1NiJ9.eyJ{a40}",
    "eyJhbGciOiJIUzI1NiJ9.eyJ{a40}.{a43}",
];

fn fill(shape: &str, filler: &mut Filler) -> String {
    let mut out = String::new();
    let mut rest = shape;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').unwrap();
        let (kind, len) = rest[open + 1..close].split_at(1);
        let alphabet = match kind {
            "a" => ALNUM,
            "h" => HEX,
            "l" => "abcdefghijklmnopqrstuvwxyz0123456789",
            "u" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
            "d" => "0123456789",
            _ => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        };
        out.push_str(&filler.pick(alphabet, len.parse().unwrap()));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Where a bare token is found in evidence: log lines, JSON at depth, query strings,
/// headers, code, YAML, a JSON-escaped log message.
const TOKEN_PLACES: &[&str] = &[
    "2025-11-19T21:00:00Z ERROR upstream call failed: 401, request sent with {} (retry 2/5)",
    r#"{"ts":"2025-11-19T21:00:00Z","ctx":{"req":{"items":[{"id":7,"credential":"{}"}]}}}"#,
    "GET /cb?state=xyz&t={}&page=2 HTTP/1.1",
    "X-Forwarded-Token: {}",
    "\tclient := NewClient(\"{}\")",
    "env:\n  - value: {}\n",
    r#"{"log":"{\"msg\":\"using {} now\"}\n","stream":"stderr"}"#,
    "<credential>{}</credential>",
];

/// Keys that name secrets, as code and configs spell them.
const SECRET_KEYS: &[&str] = &[
    "password",
    "db_pass",
    "DB_PASSWORD",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "secret_key",
    "api_key",
    "apiKey",
    "access_token",
    "xToken",
    "GITHUB_TOKEN",
    "private_key",
    "credentials",
    "password_super_secure",
    "mysqlPassword",
    "refresh_token",
    "SUMO_ACCESS_KEY",
];

/// Assignment syntaxes: `{k}` the key, `{v}` the value.
const KEY_VALUE_PLACES: &[&str] = &[
    "{k}={v}",
    "2025-11-19 21:00:00 INFO boot {k}={v} user=app",
    "{k}: {v}",
    "  {k}: {v}  # do not share",
    "{k} := \"{v}\"",
    "{k} := `{v}`",
    "{k} ?= \"{v}\"",
    "{k} ::= \"{v}\"",
    "{k} :::= \"{v}\"",
    "${k} .= \"{v}\";",
    "\"{k}\" => \"{v}\",",
    "<{k}>{v}</{k}>",
    "<{k}>\n    {v}\n</{k}>",
    "System.setProperty(\"{k}\", \"{v}\")",
    "var {k} string = \"{v}\"",
    "os.environ[\"{k}\"] = '{v}'",
    "if ({k} == \"{v}\") {",
    "{\"name\": \"{k}\", \"value\": \"{v}\"}",
    "\"name\": \"{k}\"\n\"value\": \"{v}\"",
    r#"{"msg":"config loaded\n{k}={v}\tnext"}"#,
    r#"{\"{k}\":\"{v}\"}"#,
    "GET /login?user=app&{k}={v}&next=/ HTTP/1.1",
    "<add key=\"{k}\" value=\"{v}\" />",
];

/// Every shape in every placement, as text: no secret and no 8-character fragment of
/// one survives, and a second pass changes nothing.
#[test]
fn generated_secrets_of_every_shape_and_placement_never_survive() {
    let redactor = Redactor::new(&RedactionConfig::default(), Vec::new()).unwrap();
    let mut filler = Filler(20_251_119);
    let mut cases: Vec<(String, String)> = Vec::new();
    for shape in TOKEN_SHAPES {
        for place in TOKEN_PLACES {
            let token = fill(shape, &mut filler);
            cases.push((place.replace("{}", &token), token));
        }
    }
    for key in SECRET_KEYS {
        for place in KEY_VALUE_PLACES {
            let value = format!(
                "{}-{}!{}",
                filler.pick(ALNUM, 6),
                filler.pick(ALNUM, 5),
                filler.pick(HEX, 6)
            );
            cases.push((place.replace("{k}", key).replace("{v}", &value), value));
        }
    }
    for (user, password) in [("app", "thisisasecret99"), ("svc_reader", "P@ss-w0rd!x7")] {
        let value = password.to_owned();
        for line in [
            format!("dsn={user}:{password}@tcp(db.internal:3306)/shop?parseTime=true"),
            format!("postgres://{user}:{password}@db-1:5432/app?sslmode=require"),
            format!("curl -sf -u {user}:{password} https://search.internal:9200/_cluster/health"),
        ] {
            cases.push((line, value.clone()));
        }
    }
    let mut survivors = Vec::new();
    for (line, secret) in &cases {
        let out = redactor.redact_text(line);
        let chars: Vec<char> = secret.chars().collect();
        let fragments: Vec<String> =
            chars.windows(8.min(chars.len())).map(|w| w.iter().collect()).collect();
        if let Some(fragment) = fragments.iter().find(|f| out.contains(f.as_str())) {
            survivors.push(format!("{fragment:?} of {secret:?} in {out:?}"));
        }
        assert_eq!(redactor.redact_text(&out), out, "a second pass changes {line:?}");
    }
    assert!(
        survivors.is_empty(),
        "{} of {} survive:\n{}",
        survivors.len(),
        cases.len(),
        survivors.join("\n")
    );
}

/// Regression (issue 20): a PEM block cut before its END line was redacted up to the next
/// END line anywhere later, swallowing the records between.
#[test]
fn a_cut_pem_block_leaves_the_following_records_alone() {
    let redactor = Redactor::new(&RedactionConfig::default(), Vec::new()).unwrap();
    let text = "2025-11-19T21:00:00Z key -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx4Xb9fXQ0l9f0mJ0xq3yR7vP0Yw2sKc1nQe4T5uV6wX7yZ8a\n2025-11-19T21:00:01Z ERROR pid=4242 GET /api/orders/17 status=503\n2025-11-19T21:00:02Z WARN retry 3/5\n-----END RSA PRIVATE KEY-----\n";
    let out = redactor.redact_text(text);
    assert!(!out.contains("MIIEowIBAAKCAQEAx4Xb9f"), "{out}");
    assert!(out.contains("ERROR pid=4242 GET /api/orders/17 status=503"), "{out}");
    assert!(out.contains("WARN retry 3/5"), "{out}");
}

/// `[redaction] rules`: a user's rule with keywords is applied and counted under its id.
#[test]
fn configured_rules_extend_the_table() {
    let config: RedactionConfig = toml::from_str(
        "rules = [{ id = \"acme_key\", regex = 'acme_[a-z0-9]{16}', keywords = [\"acme_\"] }]",
    )
    .unwrap();
    assert!(config.problems().is_empty());
    let redactor = Redactor::new(&config, Vec::new()).unwrap();
    let out = redactor.redact_text("calling with acme_0123456789abcdef now");
    assert!(out.starts_with("calling with [REDACTED:acme_key:"), "{out}");
    assert_eq!(redactor.counts()["acme_key"], 1);
    let bad: RedactionConfig =
        toml::from_str("rules = [{ id = \"Acme Key\", regex = '(', keywords = [\"\"] }]").unwrap();
    let keys: Vec<String> = bad.problems().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["rules[0].id", "rules[0].regex", "rules[0].keywords[0]"]);
}

/// The committed inputs of the `redact` fuzz target, replayed as the target checks them
/// (no panic, a second pass changes nothing), so the test suite holds them without the
/// fuzzing toolchain.
#[test]
fn the_fuzz_corpus_is_redacted_idempotently() {
    let config = RedactionConfig {
        emails: true,
        ip_addresses: true,
        normalize_query_literals: true,
        ..RedactionConfig::default()
    };
    let redactor =
        Redactor::new(&config, vec!["hunter2-literal".into(), "p@ss\"w/rd&<x>".into()]).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/redact");
    let mut replayed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        let once = redactor.redact_text(text).into_owned();
        assert_eq!(redactor.redact_text(&once), once, "{text:?}");
        if let Ok(mut value) = serde_json::from_str::<Value>(text) {
            redactor.redact_json(&mut value);
            let first = value.clone();
            redactor.redact_json(&mut value);
            assert_eq!(value, first, "{text:?}");
        }
        replayed += 1;
    }
    assert!(replayed >= 30, "the corpus is there: {replayed} inputs");
}
