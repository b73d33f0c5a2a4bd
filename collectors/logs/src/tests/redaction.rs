//! Issue 20: no secret a log holds leaves the collector, in any part of its evidence or
//! its excerpt, because every line that becomes evidence is redacted whole before a
//! signature, an example, an endpoint or a cut is taken from it. Each shape of secret is
//! seeded (random values from fixed seeds) into each place a line becomes evidence, in
//! real files read by the real collector: plain, gzip rotations, JSON lines, multi-line
//! records and access logs. The collector's output is checked as it returns, without the
//! run's later safety net (the evidence pass and the bundle writer's scan): neither the
//! secret nor any 8-character fragment of it may appear.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use witness_collector::{ArtifactSink, CollectContext, Window};

use super::{Run, anchor, at, config, filler, iso, ordered, run_with, write, write_gz};
use crate::LogsConfig;

/// A small deterministic generator (splitmix64): fixed seeds, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..n).map(|_| chars[(self.next() % chars.len() as u64) as usize]).collect()
    }

    fn alnum(&mut self, n: usize) -> String {
        self.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n)
    }

    fn b64url(&mut self, n: usize) -> String {
        self.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", n)
    }

    fn digits(&mut self, n: usize) -> String {
        self.pick("0123456789", n)
    }
}

/// A secret as it appears in a log line, and the values that must not survive.
struct Seeded {
    snippet: String,
    secrets: Vec<String>,
    /// Registered with `ctx.redactor.add_literal` before the run.
    literal: bool,
}

fn seeded(snippet: String, secrets: Vec<String>) -> Seeded {
    Seeded { snippet, secrets, literal: false }
}

/// A card number of `prefix` and `len` digits that passes the Luhn check.
fn card(rng: &mut Rng, prefix: &str, len: usize) -> String {
    let mut digits: Vec<u32> = prefix.chars().chain(rng.digits(len - prefix.len() - 1).chars()).map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { (d * 2) % 9 + u32::from(*d == 9) * 9 } else { *d })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect()
}

/// Every shape of secret the test seeds, named.
fn shapes(rng: &mut Rng) -> Vec<(&'static str, Seeded)> {
    let key_id = format!("AKIA{}", rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let aws_secret = rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+", 40);
    let github = format!("ghp_{}", rng.alnum(36));
    let slack = format!("xoxb-{}-{}-{}", rng.digits(12), rng.digits(13), rng.alnum(24));
    let stripe = format!("sk_live_{}", rng.alnum(24));
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
        rng.b64url(40),
        rng.b64url(43)
    );
    let jwt2 = format!("eyJ{}.eyJ{}", rng.b64url(20), rng.b64url(36));
    let bearer = rng.alnum(32);
    let url_password = rng.alnum(20);
    let dsn_password = rng.alnum(20);
    let password = rng.alnum(20);
    let client_secret = rng.alnum(24);
    let pem = [rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64), format!("{}==", rng.alnum(30))];
    let card = card(rng, "4", 16);
    let literal = format!("lit-{}", rng.alnum(24));
    vec![
        (
            "aws key id and secret",
            seeded(
                format!("aws_access_key_id={key_id} aws_secret_access_key={aws_secret}"),
                vec![key_id, aws_secret],
            ),
        ),
        ("github token", seeded(format!("token {github} rejected"), vec![github])),
        ("slack token", seeded(format!("posting with {slack}"), vec![slack])),
        ("stripe key", seeded(format!("stripe key {stripe}"), vec![stripe])),
        ("jwt", seeded(format!("session {jwt} expired"), vec![jwt])),
        ("two-segment jwt", seeded(format!("session {jwt2} expired"), vec![jwt2])),
        ("bearer header", seeded(format!("Authorization: Bearer {bearer}"), vec![bearer])),
        (
            "password in url",
            seeded(
                format!("fetch https://deploy:{url_password}@git.example.com/app.git"),
                vec![url_password],
            ),
        ),
        (
            "dsn",
            seeded(
                format!("connect postgres://app:{dsn_password}@db.internal:5432/orders"),
                vec![dsn_password],
            ),
        ),
        ("key=value", seeded(format!("login password={password} user=ann"), vec![password])),
        (
            "json field",
            seeded(format!(r#"payload {{"client_secret": "{client_secret}"}}"#), vec![client_secret]),
        ),
        (
            "pem block in one line",
            seeded(
                format!(
                    r"key -----BEGIN PRIVATE KEY-----\n{}\n{}\n-----END PRIVATE KEY----- loaded",
                    pem[0], pem[1]
                ),
                pem.to_vec(),
            ),
        ),
        ("card number", seeded(format!("charge card {card} declined"), vec![card])),
        (
            "registered literal",
            Seeded { snippet: format!("value {literal} seen"), secrets: vec![literal], literal: true },
        ),
    ]
}

/// Quiet lines over the baseline and the window, and one old error in the baseline, so
/// the logs reach into the baseline and signatures can be new.
fn background(line: impl Fn(DateTime<Utc>, &str) -> String) -> Vec<(DateTime<Utc>, String)> {
    let mut lines =
        filler(at("2025-11-19T19:59:00Z"), at("2025-11-19T21:00:00Z"), Duration::seconds(30), |t| {
            line(t, "INFO request served")
        });
    let t = at("2025-11-19T20:10:00Z");
    lines.push((t, line(t, "ERROR cache refresh failed")));
    lines
}

/// A combined-format access-log line.
fn access(t: DateTime<Utc>, request: &str, status: u16) -> String {
    format!(
        r#"10.1.2.3 - - [{}] "{request} HTTP/1.1" {status} 512 "-" "curl/8.5" 0.040"#,
        t.format("%d/%b/%Y:%H:%M:%S +0000")
    )
}

/// A JSON line with `level` and `msg`.
fn json_line(t: DateTime<Utc>, level: &str, msg: &str) -> String {
    serde_json::json!({
        "time": t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "level": level,
        "msg": msg,
    })
    .to_string()
}

/// Where in the logs the seeded line is, and so which part of the evidence it becomes.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// Repeated error lines whose message (and signature) holds it.
    Signature,
    /// The first error in the window.
    FirstError,
    /// A `[…]` group the signature leaves out and the example keeps.
    Example,
    /// A quiet line just before an error: an excerpt context line only.
    Context,
    /// An error line longer than `max_line_bytes`, the secret across the cut.
    LongLine,
    /// An error message longer than a signature, the secret across the signature's cap.
    SignatureCap,
    /// A 5xx request's query string in an access log.
    AccessQuery,
    /// A 5xx request's path in an access log.
    AccessPath,
    /// A 5xx request's query string, URL-encoded (`%20` for its spaces).
    AccessEncodedQuery,
    /// The `msg` field of a JSON line.
    JsonMessage,
    /// An error line in a gzip-compressed rotation.
    GzipRotation,
    /// A stack-trace line of a record whose timestamped line is not an error.
    MultiLine,
}

const PLACEMENTS: [Placement; 12] = [
    Placement::Signature,
    Placement::FirstError,
    Placement::Example,
    Placement::Context,
    Placement::LongLine,
    Placement::SignatureCap,
    Placement::AccessQuery,
    Placement::AccessPath,
    Placement::AccessEncodedQuery,
    Placement::JsonMessage,
    Placement::GzipRotation,
    Placement::MultiLine,
];

/// Padding of letter words, which a signature keeps as they are.
fn padding(bytes: usize) -> String {
    let mut pad = "padding ".repeat(bytes / 8 + 1);
    pad.truncate(bytes);
    pad
}

impl Placement {
    /// Writes the logs into `dir` and gives the configuration that reads them.
    fn write(self, dir: &Path, seeded: &Seeded) -> LogsConfig {
        let snippet = seeded.snippet.as_str();
        let app = dir.join("app.log");
        let text = |t: DateTime<Utc>, s: &str| iso(t, s);
        let minute = |m: i64| at("2025-11-19T20:40:00Z") + Duration::minutes(m);
        let mut lines = background(text);
        let mut config = config(&[&app]);
        match self {
            Self::Signature => {
                for m in 0..3 {
                    lines.push((minute(m), text(minute(m), &format!("ERROR request failed: {snippet}"))));
                }
            }
            Self::FirstError => {
                let t = at("2025-11-19T20:31:00Z");
                lines.push((t, text(t, &format!("ERROR boot: {snippet}"))));
                for m in 0..3 {
                    lines.push((minute(m), text(minute(m), "ERROR queue full")));
                }
            }
            Self::Example => {
                lines.push((minute(0), text(minute(0), &format!("ERROR [{snippet}] worker crashed"))));
            }
            Self::Context => {
                let t = minute(0) - Duration::milliseconds(10);
                lines.push((t, text(t, &format!("INFO settings {snippet}"))));
                lines.push((minute(0), text(minute(0), "ERROR worker crashed")));
            }
            Self::LongLine | Self::SignatureCap => {
                config.max_line_bytes = 256;
                let prefix = text(minute(0), "ERROR upload failed ");
                let secret_at = snippet.find(&seeded.secrets[0]).unwrap();
                // Where the first secret's middle should fall: the line's cut, or the
                // signature's cap (240 bytes of the message after `ERROR `).
                let cut = match self {
                    Self::LongLine => 256,
                    _ => {
                        config.max_line_bytes = 4096;
                        prefix.len() - "upload failed ".len() + 240
                    }
                };
                let pad = (cut - prefix.len()).saturating_sub(secret_at + seeded.secrets[0].len() / 2);
                let line = format!("{prefix}{}{snippet} and more after it", padding(pad));
                lines.push((minute(0), line));
            }
            Self::AccessQuery | Self::AccessPath | Self::AccessEncodedQuery => {
                let path = dir.join("access.log");
                let mut lines: Vec<_> = filler(
                    at("2025-11-19T19:59:00Z"),
                    at("2025-11-19T21:00:00Z"),
                    Duration::seconds(10),
                    |t| access(t, "GET /api/items/7", 200),
                );
                for s in 0..3 {
                    let t = minute(0) + Duration::seconds(s);
                    let request = match self {
                        Self::AccessQuery => format!("GET /api/login?next=/home&q={snippet}"),
                        Self::AccessEncodedQuery => {
                            let encoded = snippet.replace(' ', "%20").replace('"', "%22");
                            format!("GET /api/search?q={encoded}")
                        }
                        _ => format!("POST /reset/{snippet}/confirm"),
                    };
                    lines.push((t, access(t, &request, 500)));
                }
                write(&path, &ordered(lines));
                return super::config(&[&path]);
            }
            Self::JsonMessage => {
                let path = dir.join("app.json.log");
                let mut lines = background(|t, s| {
                    let (level, msg) = s.split_once(' ').unwrap();
                    json_line(t, &level.to_lowercase(), msg)
                });
                for m in 0..2 {
                    let msg = format!("login failed: {snippet}");
                    lines.push((minute(m), json_line(minute(m), "error", &msg)));
                }
                write(&path, &ordered(lines));
                return super::config(&[&path]);
            }
            Self::GzipRotation => {
                for m in 0..3 {
                    lines.push((minute(m), text(minute(m), &format!("ERROR request failed: {snippet}"))));
                }
                let lines = ordered(lines);
                let split = lines.iter().position(|l| l.starts_with("2025-11-19T20:50")).unwrap();
                write_gz(&dir.join("app.log.1.gz"), &lines[..split]);
                write(&app, &lines[split..]);
                return config;
            }
            Self::MultiLine => {
                let t = minute(0);
                let mut body = ordered(lines);
                let at_line = body.iter().position(|l| l.starts_with("2025-11-19T20:40:00")).unwrap();
                body.insert(at_line + 1, text(t, "INFO dumping the failed request"));
                body.insert(at_line + 2, format!("    Error: bad credentials {snippet}"));
                body.insert(at_line + 3, "    at auth.check(auth.go:42)".to_owned());
                write(&app, &body);
                return config;
            }
        }
        write(&app, &ordered(lines));
        config
    }

    /// Words of the seeded line that show it became evidence.
    fn marker(self) -> &'static str {
        match self {
            Self::Signature | Self::GzipRotation => "request failed",
            Self::FirstError => "boot",
            // The header rule takes the rest of the line, so the group's start.
            Self::Example => "ERROR [",
            Self::Context => "INFO settings",
            Self::LongLine | Self::SignatureCap => "upload failed",
            Self::AccessQuery => "/api/login",
            Self::AccessPath => "/reset/",
            Self::AccessEncodedQuery => "/api/search",
            Self::JsonMessage => "login failed",
            Self::MultiLine => "bad credentials",
        }
    }

    fn is_access(self) -> bool {
        matches!(self, Self::AccessQuery | Self::AccessPath)
    }
}

/// The collector's whole output as text: the evidence as JSON, and every artifact.
fn output(run: &Run, ctx: &CollectContext) -> String {
    let mut all = serde_json::to_string(&run.evidence).unwrap();
    all.push('\n');
    all.push_str(run.excerpt.as_deref().unwrap_or(""));
    for artifact in ctx.artifacts.take() {
        all.push_str(&String::from_utf8_lossy(&artifact.contents));
    }
    all
}

/// What of `secret` survives in `text`: itself, or a fragment of 8 characters.
fn survivors(text: &str, secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let mut found: Vec<String> = chars
        .windows(8)
        .map(|w| w.iter().collect::<String>())
        .filter(|fragment| text.contains(fragment.as_str()))
        .collect();
    found.dedup();
    found
}

fn context() -> CollectContext {
    CollectContext::for_test_at(anchor(), Window::new(anchor() - Duration::minutes(30), anchor()))
}

/// Runs the collector over `placement`'s logs in a context like `base`, with a redactor
/// for one bundle of `base`'s (as a run makes one: the same rules, a fresh key, literals
/// of its own), its own artifacts and a fresh deadline.
async fn seeded_run(base: &CollectContext, placement: Placement, seeded: &Seeded) -> (String, Run) {
    let dir = tempfile::tempdir().unwrap();
    let config = placement.write(dir.path(), seeded);
    let ctx = CollectContext {
        redactor: base.redactor.for_bundle(),
        artifacts: ArtifactSink::default(),
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(20),
        ..base.clone()
    };
    if seeded.literal {
        ctx.redactor.add_literal(&seeded.secrets[0]);
    }
    let run = run_with(config, ctx.clone()).await;
    (output(&run, &ctx), run)
}

#[tokio::test]
async fn no_seeded_secret_nor_a_fragment_of_it_leaves_the_collector_wherever_it_is_logged() {
    let base = context();
    let mut failures = Vec::new();
    for seed in [20, 2020] {
        let mut rng = Rng(seed);
        for (shape, seeded) in shapes(&mut rng) {
            for placement in PLACEMENTS {
                let (text, run) = seeded_run(&base, placement, &seeded).await;
                // The line did become evidence (else the test would prove nothing): a
                // token stands where the secret was. A JSON snippet's quotes end a CLF
                // request field, so that line is not a request and is never kept.
                let kept = !(placement.is_access() && seeded.snippet.contains('"'));
                if kept && !text.contains(placement.marker()) {
                    failures.push(format!(
                        "{shape} / {placement:?} (seed {seed}): the line is not in the evidence: {}",
                        run.evidence.summary
                    ));
                }
                // A cut may leave out the token with the secret; elsewhere a token stands
                // where the secret was.
                let cut = matches!(placement, Placement::LongLine | Placement::SignatureCap);
                if kept && !cut && !text.contains("[REDACTED:") {
                    failures.push(format!("{shape} / {placement:?} (seed {seed}): no token"));
                }
                for secret in &seeded.secrets {
                    let left = survivors(&text, secret);
                    if !left.is_empty() {
                        failures.push(format!("{shape} / {placement:?} (seed {seed}): {left:?}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} leaks:\n{}", failures.len(), failures.join("\n"));
}

/// A PEM key logged over several lines, its BEGIN line outside the excerpt: only its last
/// base64 lines and END line are context lines of the error after it.
#[tokio::test]
async fn a_private_key_cut_off_above_the_excerpt_leaves_no_base64_line_nor_its_end_line() {
    let mut rng = Rng(7);
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.log");
    let mut body: Vec<String> = (0..6)
        .map(|_| rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64))
        .collect();
    body.push(format!("{}==", rng.alnum(22)));
    let t = at("2025-11-19T20:40:00Z");
    let mut lines = ordered(background(iso));
    let at_line = lines.iter().position(|l| l.starts_with("2025-11-19T20:40:00")).unwrap();
    let mut key = vec![iso(t, "INFO loaded key"), "-----BEGIN RSA PRIVATE KEY-----".to_owned()];
    key.extend(body.iter().cloned());
    key.push("-----END RSA PRIVATE KEY-----".to_owned());
    key.push(iso(t + Duration::seconds(1), "ERROR key rejected by the signer"));
    key.push(iso(t + Duration::seconds(2), "INFO next request"));
    lines.splice(at_line + 1..at_line + 1, key);
    write(&app, &lines);
    let mut config = config(&[&app]);
    config.context_lines = 3;
    let ctx = context();
    let run = run_with(config, ctx.clone()).await;
    let text = output(&run, &ctx);
    let excerpt = run.excerpt.as_deref().unwrap();
    assert!(!excerpt.contains("BEGIN"), "the BEGIN line must be outside the excerpt:\n{excerpt}");
    for line in &body {
        assert!(survivors(&text, line).is_empty(), "{line} survives in:\n{excerpt}");
    }
    assert!(!excerpt.contains("-----END"), "{excerpt}");
    // What follows the END line is the next record, and stays.
    assert!(excerpt.contains("ERROR key rejected by the signer"), "{excerpt}");
    assert!(excerpt.contains("INFO next request"), "{excerpt}");
}

/// A PEM key logged without its END line (a record cut short), an error a few lines after
/// it: the excerpt's context would start inside its body, between a BEGIN line above it
/// and no END line, where no rule can tell base64 from text. The stretch reaches back to
/// the BEGIN line, and the key is redacted whole.
#[tokio::test]
async fn context_inside_a_key_cut_before_its_end_line_reaches_back_to_its_begin_line() {
    let mut rng = Rng(11);
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app.log");
    let body: Vec<String> = (0..5)
        .map(|_| rng.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 64))
        .collect();
    let t = at("2025-11-19T20:40:00Z");
    let mut lines = ordered(background(iso));
    let at_line = lines.iter().position(|l| l.starts_with("2025-11-19T20:40:00")).unwrap();
    let mut key = vec![iso(t, "INFO retrying with -----BEGIN RSA PRIVATE KEY-----")];
    key.extend(body.iter().cloned());
    key.push(String::new());
    key.push(iso(t + Duration::seconds(1), "ERROR key rejected by the signer"));
    lines.splice(at_line + 1..at_line + 1, key);
    write(&app, &lines);
    let mut config = config(&[&app]);
    config.context_lines = 3;
    let ctx = context();
    let run = run_with(config, ctx.clone()).await;
    let text = output(&run, &ctx);
    let excerpt = run.excerpt.as_deref().unwrap();
    for line in &body {
        assert!(survivors(&text, line).is_empty(), "{line} survives in:\n{excerpt}");
    }
    assert!(excerpt.contains("INFO retrying with [REDACTED:private_key:"), "{excerpt}");
    assert!(excerpt.contains("ERROR key rejected by the signer"), "{excerpt}");
}
