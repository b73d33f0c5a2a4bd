//! A held-out corpus for the rules, written apart from the rules and from `corpus.rs`: it
//! shares none of that generator's builders, phrasings or timings, so a rule tuned on one
//! is measured on incidents it was not built against.
//!
//! Each case starts from a small model of the world — what changed and when (rollouts with
//! their images, a migration, a vendor's incident, a session holding a lock, a disk filling,
//! an autoscaler reaching its ceiling), what the application logged (several log formats,
//! errors worded as Python, Java, Go, Node, Ruby and Rust services word them) and what the
//! probes saw — and derives each collector's evidence from that model the way the collector
//! would (facts and events as its `FACTS.md` describes them: a rollout event only inside
//! the window or its margin, no latency for a probe whose TLS handshake failed, an absent
//! fact where the collector could not compute one). The logs evidence is the real logs
//! collector's, run over the log files the model writes.
//!
//! Noise drawn into every class: background errors at a steady (random, so noisy) rate,
//! an unrelated vendor's minor incident, old rollouts, two rollouts, a busy host CPU, a
//! skewed log clock, slow but healthy health checks, a health component down with the
//! service's own new error, a dependency genuinely down, and collectors absent or failed.
//!
//! Labels sit beside each case (`<case>.label.json`), as `witness label` writes them; a
//! decoy deploy is labelled with what really broke (a vendor, a disk, a certificate, a
//! lock), so a right answer names that and never rolls back.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use witness::bundle::layout::CollectorRecord;
use witness_collector::{CollectorConfig, Event, Evidence, FactValue, Severity, Status};

/// The classes of the issue, in the order they are reported.
pub const CLASSES: &[&str] = &[
    "bad_deploy",
    "risky_migration",
    "crash_loop",
    "config_change",
    "vendor_outage",
    "decoy_deploy",
    "lock_contention",
    "lock_behind_migration",
    "hpa_ceiling",
    "host_saturation",
    "oom",
    "connection_exhaustion",
    "certificate_expiry",
    "disk_full",
    "false_alarm",
    "partial_evidence",
];

/// The alert's start; a Sunday night far from `corpus.rs`'s anchor.
const ANCHOR: &str = "2026-03-08T03:17:00.000Z";
/// The window the cases are evaluated over (`rules eval` over a case directory): 30 min.
const WINDOW_SECS: i64 = 1800;

fn anchor() -> DateTime<Utc> {
    ANCHOR.parse().expect("a valid anchor")
}

fn t(offset_secs: i64) -> DateTime<Utc> {
    anchor() + Duration::seconds(offset_secs)
}

/// xoshiro256** seeded through SplitMix64: deterministic per (class, seed).
struct Dice([u64; 4]);

impl Dice {
    fn new(seed: u64) -> Self {
        let mut x = seed ^ 0x6A09_E667_F3BC_C908;
        let mut s = [0u64; 4];
        for slot in &mut s {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *slot = z ^ (z >> 31);
        }
        Dice(s)
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn real(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }

    fn odds(&mut self, p: f64) -> bool {
        self.real(0.0, 1.0) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as i64 - 1) as usize]
    }
}

/// How the application writes a line: the formats differ in where the level and the
/// message sit, so the collector's signatures come from different parsing paths.
#[derive(Clone, Copy)]
enum Format {
    /// `2026-03-08T03:01:02.345Z ERROR [worker-3] orders.service: message`
    Text,
    /// `{"ts":"…","level":"error","logger":"…","msg":"…"}`
    Json,
    /// `time=… level=error msg="…" component=…`
    Logfmt,
    /// `2026-03-08 03:01:02,345 ERROR 1234 --- [nio-8080-exec-7] c.a.Orders : message`
    Spring,
}

impl Format {
    fn line(self, at: DateTime<Utc>, level: &str, message: &str) -> String {
        let iso = witness_collector::time::format(at);
        match self {
            Format::Text => format!(
                "{iso} {} [worker-{}] app.main: {message}",
                level.to_uppercase(),
                at.timestamp() % 7
            ),
            Format::Json => json!({
                "ts": iso, "level": level.to_lowercase(), "logger": "app", "msg": message,
                "pid": 4410
            })
            .to_string(),
            Format::Logfmt => {
                format!("time={iso} level={} msg={:?} component=api", level.to_lowercase(), message)
            }
            Format::Spring => format!(
                "{} {:>5} 4410 --- [nio-8080-exec-{}] c.a.shop.Api : {message}",
                at.format("%Y-%m-%d %H:%M:%S,%3f"),
                level.to_uppercase(),
                at.timestamp() % 9
            ),
        }
    }
}

/// A stream of error lines: `texts` (one is drawn per line, so several wordings of one
/// error exist), from `start` to `end` (seconds from the anchor), `count` lines at random
/// times.
#[derive(Clone)]
struct Stream {
    texts: Vec<String>,
    start: i64,
    end: i64,
    count: i64,
}

/// One revision rolled out.
#[derive(Clone)]
struct Rollout {
    at: i64,
    revision: i64,
    image: String,
}

/// The pods' state now.
#[derive(Clone, Default)]
struct Pods {
    crashloop: i64,
    restarts: i64,
    oom_kills: i64,
    not_ready: i64,
    /// A container waiting for another reason (`CreateContainerConfigError`).
    waiting: Option<String>,
    since: i64,
}

#[derive(Clone)]
struct Hpa {
    max: i64,
    desired: i64,
    since: i64,
}

#[derive(Clone)]
struct Access {
    /// p95 in ms before `from` and after it.
    p95: (f64, f64),
    from: i64,
    /// Share of 5xx after `from`.
    errors_5xx: f64,
}

#[derive(Clone)]
struct Health {
    failing: i64,
    /// Median latency when probes got an answer; `None` when none did (TLS failure).
    latency_ms: Option<f64>,
    /// `(component, error)` reported down by the health body; `None`: no such body.
    down: Option<Vec<(String, String)>>,
    cert_days: Option<i64>,
    at: i64,
}

#[derive(Clone)]
struct Host {
    cpu: f64,
    mem: f64,
    disk: f64,
    inodes: f64,
}

#[derive(Clone)]
struct VendorIncident {
    vendor: String,
    indicator: &'static str,
    /// Seconds from the anchor to the incident's start.
    started: i64,
    name: String,
}

#[derive(Clone, Default)]
struct Database {
    used_ratio: f64,
    blocked: i64,
    /// The root blocker: pid, transaction start, idle in transaction, runs DDL.
    root: Option<(i64, i64, bool, bool)>,
}

#[derive(Clone, Default)]
struct Git {
    migration: Option<String>,
    deployed_has_migration: bool,
    config_changes: i64,
    tag_at: Option<i64>,
    migration_committed: i64,
}

/// What fails or is absent in a case, per kind.
#[derive(Clone, Copy, PartialEq)]
enum Presence {
    Present,
    Absent,
    Failed,
}

/// The model of one incident.
struct World {
    format: Format,
    clock_skew: i64,
    background: Vec<Stream>,
    errors: Vec<Stream>,
    /// Logs that do not reach into the baseline (rotated away).
    logs_without_baseline: bool,
    rollouts: Vec<Rollout>,
    pods: Pods,
    hpa: Option<Hpa>,
    /// `None`: HPAs could not be listed (the fact is absent).
    hpa_listed: bool,
    access: Option<Access>,
    health: Option<Health>,
    host: Host,
    vendors: Vec<VendorIncident>,
    db: Option<Database>,
    git: Option<Git>,
    presence: Vec<(&'static str, Presence)>,
}

impl World {
    fn new(dice: &mut Dice) -> Self {
        let format = *dice.pick(&[Format::Text, Format::Json, Format::Logfmt, Format::Spring]);
        let mut world = World {
            format,
            clock_skew: if dice.odds(0.2) { dice.range(-90, 90) } else { 0 },
            background: Vec::new(),
            errors: Vec::new(),
            logs_without_baseline: false,
            rollouts: Vec::new(),
            pods: Pods::default(),
            hpa: None,
            hpa_listed: dice.odds(0.85),
            access: None,
            health: None,
            host: Host {
                cpu: dice.real(0.08, 0.6),
                mem: dice.real(0.3, 0.75),
                disk: dice.real(0.2, 0.8),
                inodes: dice.real(0.01, 0.3),
            },
            vendors: Vec::new(),
            db: None,
            git: None,
            presence: Vec::new(),
        };
        // Background errors: one to three signatures at a steady rate through the baseline
        // and the window, at random times (so the window may hold a few more or fewer).
        if dice.odds(0.75) {
            for _ in 0..dice.range(1, 3) {
                let text = (*dice.pick(BACKGROUND)).to_owned();
                let per_half_hour = dice.range(2, 20);
                world.background.push(Stream {
                    texts: vec![text],
                    start: -2 * WINDOW_SECS - 60,
                    end: 60,
                    count: per_half_hour * 2,
                });
            }
        }
        // Noise every class may carry.
        if dice.odds(0.25) {
            world.host.cpu = dice.real(0.91, 0.97);
        }
        if dice.odds(0.25) {
            let vendor =
                (*dice.pick(&["PagerDuty", "Zendesk", "Intercom", "Mailgun", "Fastly"])).to_owned();
            world.vendors.push(VendorIncident {
                name: format!(
                    "Delayed {} in eu-west",
                    dice.pick(&["webhooks", "dashboards", "exports"])
                ),
                vendor,
                indicator: "minor",
                started: -60 * dice.range(40, 500),
            });
        }
        world
    }

    fn set(&mut self, kind: &'static str, presence: Presence) {
        self.presence.retain(|(k, _)| *k != kind);
        self.presence.push((kind, presence));
    }

    fn presence(&self, kind: &str) -> Presence {
        self.presence.iter().find(|(k, _)| *k == kind).map_or(Presence::Present, |(_, p)| *p)
    }

    /// Drops or fails kinds the class does not need to be recognised, now and then.
    fn lose_some(&mut self, dice: &mut Dice, needed: &[&str]) {
        for kind in ["kubernetes", "http", "host", "status_page", "postgres", "git", "logs"] {
            if needed.contains(&kind) || self.presence(kind) != Presence::Present {
                continue;
            }
            let roll = dice.real(0.0, 1.0);
            if roll < 0.12 {
                self.set(kind, Presence::Absent);
            } else if roll < 0.2 {
                self.set(kind, Presence::Failed);
            }
        }
    }

    /// A rollout at `at`, the next revision after those already there.
    fn roll_out(&mut self, at: i64, same_image: bool) {
        let revision = self.rollouts.last().map_or(57, |r| r.revision + 1);
        let image = match self.rollouts.last() {
            Some(last) if same_image => last.image.clone(),
            _ => format!("ghcr.io/acme/shop-api:2.{}.{}", revision / 10, revision % 10),
        };
        self.rollouts.push(Rollout { at, revision, image });
    }

    /// Older rollouts, hours back: noise before whatever happens now.
    fn history(&mut self, dice: &mut Dice, latest_minutes_ago: i64) {
        let first = -60 * (latest_minutes_ago + dice.range(200, 3000));
        self.roll_out(first, false);
        self.roll_out(-60 * latest_minutes_ago, false);
    }
}

const BACKGROUND: &[&str] = &[
    "webhook delivery to partner 8841 failed: HTTP 429, will retry in 60s",
    "mailer: bounce for recipient 5521 (mailbox full)",
    "token refresh rejected for session 9f1c2e7a: expired",
    "scheduler: lease renewal for shard 12 missed by 1204ms",
    "image thumbnailer: unsupported format for upload 77120",
    "search indexer: document 55012 skipped, field title too long",
];

/// New errors a bad build causes, worded as services in several languages do.
const CODE_BUGS: &[&[&str]] = &[
    &[
        "AttributeError: 'NoneType' object has no attribute 'currency' in checkout/views.py line 212",
        "AttributeError: 'NoneType' object has no attribute 'currency' in checkout/views.py line 219",
    ],
    &[
        "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"sku\" is null at com.acme.shop.CartService.add(CartService.java:88)",
    ],
    &[
        "panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x7a1f2c]",
    ],
    &["TypeError: items.reduce is not a function at computeTotals (/app/dist/cart.js:41:17)"],
    &["NoMethodError: undefined method `amount' for nil:NilClass (app/models/order.rb:64)"],
    &[
        "thread 'tokio-runtime-worker' panicked at src/handlers/cart.rs:118:31: called `Option::unwrap()` on a `None` value",
    ],
    &["KeyError: 'shipping_zone' while rendering order 88123"],
    &["IndexError: list index out of range in pricing.apply_discounts"],
];

/// New errors after a configuration-only rollout.
const CONFIG_ERRORS: &[&[&str]] = &[
    &["missing required environment variable PAYMENTS_API_BASE; refusing to start the client"],
    &[
        "Failed to bind properties under 'spring.datasource.hikari.maximum-pool-size' to java.lang.Integer: value \"ten\"",
    ],
    &["yaml: unmarshal errors: line 14: cannot unmarshal !!str `fast` into time.Duration"],
    &["ValueError: invalid literal for int() with base 10: '30s' (setting CACHE_TTL)"],
    &["feature flag file /etc/shop/flags.json: unexpected token } at position 211"],
];

/// Errors when a build does not start at all.
const STARTUP_ERRORS: &[&str] = &[
    "Error: Cannot find module '/app/dist/server.js'",
    "exec /usr/local/bin/shop-api: exec format error",
    "java.lang.ClassNotFoundException: com.acme.shop.Application",
    "ImportError: cannot import name 'LegacyPricing' from 'pricing'",
];

/// Migrations a deploy runs (paths the git collector classes as migrations), what they
/// change, and the errors that name it.
const MIGRATIONS: &[(&str, &[&str])] = &[
    (
        "db/migrate/20260307221500_add_tier_to_accounts.rb",
        &["PG::UndefinedColumn: ERROR:  column accounts.tier does not exist"],
    ),
    (
        "shop/orders/migrations/0031_orders_status_not_null.py",
        &[
            "django.db.utils.IntegrityError: null value in column \"status\" of relation \"orders\" violates not-null constraint",
        ],
    ),
    (
        "src/main/resources/db/migration/V42__drop_legacy_sku.sql",
        &["org.postgresql.util.PSQLException: ERROR: column \"legacy_sku\" does not exist"],
    ),
    (
        "prisma/migrations/20260307_invoices_currency_required/migration.sql",
        &["PrismaClientKnownRequestError: Null constraint violation on the fields: (`currency`)"],
    ),
    (
        "migrations/000118_rename_customers_phone.up.sql",
        &["pq: column \"phone\" of relation \"customers\" does not exist"],
    ),
    (
        "db/migrations/2026_03_07_split_addresses_table.sql",
        &["SQLSTATE[42P01]: Undefined table: 7 ERROR:  relation \"addresses\" does not exist"],
    ),
];

/// Vendors with a status page, and errors of our calls to them.
const VENDORS: &[(&str, &[&str])] = &[
    (
        "Stripe",
        &["stripe: POST https://api.stripe.com/v1/payment_intents returned 503 (request req_8XzQ)"],
    ),
    ("Twilio", &["Twilio REST error 20500: Internal Server Error sending SMS to +4477009"]),
    ("SendGrid", &["smtp.sendgrid.net:587 said 421 4.3.2 service not available, closing channel"]),
    ("Auth0", &["POST https://acme.eu.auth0.com/oauth/token failed: 502 Bad Gateway"]),
    ("GitHub", &["GET https://api.github.com/repos/acme/shop/contents: 500 from upstream"]),
    ("Google Cloud", &["storage.googleapis.com: upload of export-77.csv failed: 503 backendError"]),
    ("Algolia", &["AlgoliaSearchError: Unreachable hosts - your application id may be incorrect"]),
];

const LOCK_ERRORS: &[&str] = &[
    "canceling statement due to lock timeout",
    "ERROR: canceling statement due to statement timeout (UPDATE orders SET status = $1 WHERE id = $2)",
    "could not obtain lock on row in relation \"carts\"",
    "ActiveRecord::LockWaitTimeout: PG::LockNotAvailable",
    "QueryTimeoutError: query exceeded 15000 ms on orders",
];

const CONNECTION_ERRORS: &[&str] = &[
    "FATAL:  remaining connection slots are reserved for non-replication superuser connections",
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.",
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 10 overflow 20 reached, connection timed out, timeout 30",
    "pq: sorry, too many clients already",
];

const CERT_ERRORS: &[&str] = &[
    "x509: certificate has expired or is not yet valid: current time 2026-03-08T03:01:12Z is after 2026-03-08T00:00:00Z",
    "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired",
    "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: validity check failed",
];

const DISK_ERRORS: &[&str] = &[
    "OSError: [Errno 28] No space left on device: '/var/lib/shop/uploads/tmp-8812'",
    "ENOSPC: no space left on device, write",
    "could not extend file \"base/16384/2619\": No space left on device",
    "java.io.IOException: No space left on device",
    "write /data/cache/segment-0042: disk quota exceeded",
];

const OOM_ERRORS: &[&str] = &[
    "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
    "java.lang.OutOfMemoryError: Java heap space",
    "fatal error: runtime: out of memory",
];

const SATURATION_ERRORS: &[&str] = &[
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    "request to /api/search took 9120ms, over the 5000ms budget",
    "worker pool exhausted, request queued for 4.2s",
];

/// Own-error component names a health body might use.
const COMPONENTS: &[&str] = &["checkout", "cartService", "orders", "pricingEngine", "db"];

/// Onset of an incident in the window, seconds from the anchor.
fn onset(dice: &mut Dice) -> i64 {
    -dice.range(90, WINDOW_SECS - 120)
}

fn stream(texts: &[&str], start: i64, count: i64) -> Stream {
    Stream { texts: texts.iter().map(|s| (*s).to_owned()).collect(), start, end: 50, count }
}

/// Health probes failing with the service's own error on a component, now and then.
fn failing_health(dice: &mut Dice, at: i64, own_error: Option<&str>) -> Health {
    let down = match own_error {
        Some(error) if dice.odds(0.4) => {
            Some(vec![((*dice.pick(COMPONENTS)).to_owned(), error.to_owned())])
        }
        _ if dice.odds(0.3) => Some(Vec::new()),
        _ => None,
    };
    Health {
        failing: dice.range(1, 3),
        latency_ms: Some(dice.real(15.0, 400.0)),
        down,
        cert_days: Some(dice.range(20, 80)),
        at: at + dice.range(30, 200),
    }
}

fn quiet_health(dice: &mut Dice) -> Health {
    // Slow but healthy, now and then.
    let latency = if dice.odds(0.2) { dice.real(1100.0, 2600.0) } else { dice.real(8.0, 120.0) };
    Health {
        failing: 0,
        latency_ms: Some(latency),
        down: if dice.odds(0.3) { Some(Vec::new()) } else { None },
        cert_days: Some(dice.range(20, 80)),
        at: 20,
    }
}

/// A recent bad rollout and the onset of its new errors, 2 to 40 min after it.
fn bad_rollout(world: &mut World, dice: &mut Dice, same_image: bool) -> i64 {
    let start = onset(dice);
    let rollout = start - 60 * dice.range(2, 40) - dice.range(0, 30);
    // Two rollouts: an earlier harmless one in the hour before, then the bad one.
    let earlier = if dice.odds(0.25) {
        rollout - 60 * dice.range(8, 50)
    } else {
        rollout - 60 * dice.range(300, 4000)
    };
    world.roll_out(earlier - 60 * dice.range(600, 3000), false);
    world.roll_out(earlier, false);
    world.roll_out(rollout, same_image);
    start
}

/// The evidence of one variant of `class`, and its true cause.
fn model(class: &str, dice: &mut Dice) -> (World, &'static str) {
    let mut world = World::new(dice);
    let cause = match class {
        "bad_deploy" => {
            let start = bad_rollout(&mut world, dice, false);
            let bug = *dice.pick(CODE_BUGS);
            world.errors.push(stream(bug, start, dice.range(8, 300)));
            world.health = Some(if dice.odds(0.7) {
                failing_health(dice, start, Some(bug[0]))
            } else {
                quiet_health(dice)
            });
            if dice.odds(0.3) {
                world.access = Some(Access {
                    p95: (dice.real(80.0, 200.0), dice.real(80.0, 260.0)),
                    from: start,
                    errors_5xx: dice.real(0.05, 0.4),
                });
            }
            if dice.odds(0.4) {
                let tag = world.rollouts.last().map(|r| r.at - dice.range(60, 600));
                world.git = Some(Git { tag_at: tag, ..Git::default() });
            }
            world.lose_some(dice, &["kubernetes", "logs"]);
            "rollout"
        }
        "risky_migration" => {
            let start = bad_rollout(&mut world, dice, false);
            let (path, errors) = *dice.pick(MIGRATIONS);
            world.errors.push(stream(errors, start, dice.range(10, 300)));
            let rollout = world.rollouts.last().map_or(0, |r| r.at);
            world.git = Some(Git {
                migration: Some(path.to_owned()),
                deployed_has_migration: true,
                tag_at: Some(rollout - dice.range(60, 900)),
                migration_committed: rollout - 60 * dice.range(30, 600),
                ..Git::default()
            });
            world.health = Some(if dice.odds(0.7) {
                failing_health(dice, start, Some(errors[0]))
            } else {
                quiet_health(dice)
            });
            world.lose_some(dice, &["kubernetes", "logs", "git"]);
            "migration"
        }
        "crash_loop" => {
            let start = bad_rollout(&mut world, dice, false);
            let crashing = dice.range(1, 4);
            world.pods = Pods {
                crashloop: crashing,
                restarts: crashing * dice.range(3, 12),
                not_ready: crashing,
                since: start,
                ..Pods::default()
            };
            if dice.odds(0.6) {
                world.errors.push(stream(&[*dice.pick(STARTUP_ERRORS)], start, dice.range(3, 60)));
            }
            world.health = Some(if dice.odds(0.5) {
                failing_health(dice, start, None)
            } else {
                quiet_health(dice)
            });
            world.lose_some(dice, &["kubernetes"]);
            "rollout"
        }
        "config_change" => {
            let start = bad_rollout(&mut world, dice, true);
            let error = *dice.pick(CONFIG_ERRORS);
            if dice.odds(0.25) {
                // The new pods never start: the old ones keep serving, some requests fail.
                world.pods = Pods {
                    waiting: Some("CreateContainerConfigError".into()),
                    not_ready: dice.range(1, 3),
                    since: start,
                    ..Pods::default()
                };
            } else if dice.odds(0.3) {
                let crashing = dice.range(1, 3);
                world.pods = Pods {
                    crashloop: crashing,
                    restarts: crashing * dice.range(3, 9),
                    not_ready: crashing,
                    since: start,
                    ..Pods::default()
                };
            }
            world.errors.push(stream(error, start, dice.range(5, 200)));
            world.health = Some(if dice.odds(0.6) {
                failing_health(dice, start, Some(error[0]))
            } else {
                quiet_health(dice)
            });
            if dice.odds(0.5) {
                world.git = Some(Git { config_changes: dice.range(1, 3), ..Git::default() });
            }
            world.lose_some(dice, &["kubernetes", "logs"]);
            "config_change"
        }
        "vendor_outage" => {
            vendor_trouble(&mut world, dice, None);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            world.lose_some(dice, &["status_page", "logs"]);
            "vendor_incident"
        }
        "decoy_deploy" => {
            // Something else breaks first; a harmless rollout follows 2 to 20 min later
            // (someone shipping while it burns, or an unrelated change).
            let roll = dice.real(0.0, 1.0);
            let (start, cause, needed): (i64, &'static str, &[&str]) = if roll < 0.55 {
                (
                    vendor_trouble(&mut world, dice, Some(-WINDOW_SECS + 600)),
                    "vendor_incident",
                    &["status_page", "logs"],
                )
            } else if roll < 0.7 {
                (disk_trouble(&mut world, dice, -WINDOW_SECS + 600), "disk_full", &["host", "logs"])
            } else if roll < 0.85 {
                (lock_trouble(&mut world, dice, -WINDOW_SECS + 600), "lock_blocker", &["postgres"])
            } else {
                (
                    cert_trouble(&mut world, dice, -WINDOW_SECS + 600),
                    "certificate_expiry",
                    &["http"],
                )
            };
            let rollout = (start + 60 * dice.range(2, 20)).min(-60);
            world.roll_out(rollout - 60 * dice.range(500, 4000), false);
            world.roll_out(rollout, dice.odds(0.2));
            world.lose_some(dice, needed);
            cause
        }
        "lock_contention" => {
            lock_trouble(&mut world, dice, -WINDOW_SECS + 120);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            world.lose_some(dice, &["postgres"]);
            "lock_blocker"
        }
        "lock_behind_migration" => {
            let start = onset(dice);
            let rollout = start - 60 * dice.range(2, 25);
            let older = -rollout / 60 + dice.range(300, 3000);
            world.history(dice, older);
            world.roll_out(rollout, false);
            let (path, _) = *dice.pick(MIGRATIONS);
            world.git = Some(Git {
                migration: Some(path.to_owned()),
                deployed_has_migration: dice.odds(0.7),
                tag_at: Some(rollout - dice.range(60, 900)),
                migration_committed: rollout - 60 * dice.range(30, 600),
                ..Git::default()
            });
            world.db = Some(Database {
                used_ratio: dice.real(0.4, 0.95),
                blocked: dice.range(3, 60),
                root: Some((dice.range(20_000, 90_000), start - dice.range(5, 60), false, true)),
            });
            world.errors.push(stream(&[*dice.pick(LOCK_ERRORS)], start, dice.range(10, 200)));
            world.health = Some(if dice.odds(0.6) {
                failing_health(dice, start, None)
            } else {
                quiet_health(dice)
            });
            world.lose_some(dice, &["postgres", "git"]);
            "migration"
        }
        "hpa_ceiling" => {
            let start = onset(dice);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            let max = dice.range(4, 30);
            world.hpa = Some(Hpa {
                max,
                desired: max + dice.range(1, max),
                since: start - dice.range(0, 300),
            });
            world.hpa_listed = true;
            let before = dice.real(60.0, 300.0);
            world.access = Some(Access {
                p95: (before, before * dice.real(2.5, 12.0)),
                from: start,
                errors_5xx: if dice.odds(0.5) { dice.real(0.02, 0.2) } else { 0.0 },
            });
            if dice.odds(0.5) {
                world.errors.push(stream(
                    &[*dice.pick(SATURATION_ERRORS)],
                    start,
                    dice.range(5, 80),
                ));
            }
            if dice.odds(0.5) {
                world.health = Some(quiet_health(dice));
            }
            world.lose_some(dice, &["kubernetes"]);
            "capacity_ceiling"
        }
        "host_saturation" => {
            let start = onset(dice);
            if dice.odds(0.6) {
                world.host.cpu = dice.real(0.93, 0.995);
            } else {
                world.host.mem = dice.real(0.955, 0.995);
            }
            let before = dice.real(40.0, 250.0);
            world.access = Some(Access {
                p95: (before, before * dice.real(2.0, 9.0)),
                from: start,
                errors_5xx: if dice.odds(0.3) { dice.real(0.02, 0.1) } else { 0.0 },
            });
            if dice.odds(0.4) {
                world.errors.push(stream(
                    &[*dice.pick(SATURATION_ERRORS)],
                    start,
                    dice.range(5, 60),
                ));
            }
            if dice.odds(0.5) {
                let old = dice.range(90, 5000);
                world.history(dice, old);
            } else {
                world.set("kubernetes", Presence::Absent);
            }
            world.health = Some(if dice.odds(0.5) {
                quiet_health(dice)
            } else {
                failing_health(dice, start, None)
            });
            // The logs are where the queueing shows; without them this is partial evidence.
            world.lose_some(dice, &["host", "logs"]);
            "host_saturation"
        }
        "oom" => {
            let start = onset(dice);
            let old = dice.range(130, 8000);
            world.history(dice, old);
            let kills = dice.range(1, 9);
            world.pods = Pods {
                oom_kills: kills,
                restarts: kills + dice.range(0, 4),
                crashloop: if dice.odds(0.4) { dice.range(1, 2) } else { 0 },
                not_ready: dice.range(0, 2),
                since: start,
                ..Pods::default()
            };
            if dice.odds(0.5) {
                world.errors.push(stream(&[*dice.pick(OOM_ERRORS)], start, kills));
            }
            world.health = Some(if dice.odds(0.5) {
                failing_health(dice, start, None)
            } else {
                quiet_health(dice)
            });
            world.lose_some(dice, &["kubernetes"]);
            "oom"
        }
        "connection_exhaustion" => {
            let start = onset(dice);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            world.db = Some(Database { used_ratio: dice.real(0.9, 1.0), blocked: 0, root: None });
            world.errors.push(stream(&[*dice.pick(CONNECTION_ERRORS)], start, dice.range(10, 300)));
            world.health = Some(if dice.odds(0.6) {
                let mut h = failing_health(dice, start, None);
                if dice.odds(0.5) {
                    h.down = Some(vec![(
                        "db".into(),
                        "timeout acquiring a connection from the pool".into(),
                    )]);
                }
                h
            } else {
                quiet_health(dice)
            });
            world.lose_some(dice, &["postgres"]);
            "connection_ceiling"
        }
        "certificate_expiry" => {
            cert_trouble(&mut world, dice, -WINDOW_SECS + 120);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            world.lose_some(dice, &["http"]);
            "certificate_expiry"
        }
        "disk_full" => {
            disk_trouble(&mut world, dice, -WINDOW_SECS + 120);
            let old = dice.range(90, 5000);
            world.history(dice, old);
            world.lose_some(dice, &["host"]);
            "disk_full"
        }
        "false_alarm" => {
            // A recent rollout that changed nothing users feel, half the time.
            let latest = if dice.odds(0.5) { dice.range(3, 50) } else { dice.range(90, 5000) };
            world.history(dice, latest);
            world.health = Some(quiet_health(dice));
            if dice.odds(0.3) {
                world.db =
                    Some(Database { used_ratio: dice.real(0.1, 0.7), ..Database::default() });
            }
            if dice.odds(0.4) {
                let p95 = dice.real(60.0, 300.0);
                world.access = Some(Access { p95: (p95, p95), from: 0, errors_5xx: 0.0 });
            }
            world.lose_some(dice, &["logs"]);
            "none"
        }
        "partial_evidence" => {
            let start = bad_rollout(&mut world, dice, false);
            let bug = *dice.pick(CODE_BUGS);
            world.errors.push(stream(bug, start, dice.range(20, 300)));
            world.health = Some(failing_health(dice, start, Some(bug[0])));
            match dice.range(0, 2) {
                0 => world.set("logs", Presence::Failed),
                1 => {
                    world.logs_without_baseline = true;
                    world.set("host", Presence::Failed);
                }
                _ => {
                    world.set("kubernetes", Presence::Failed);
                    let tag = world.rollouts.last().map(|r| r.at - dice.range(60, 400));
                    world.git = Some(Git { tag_at: tag, ..Git::default() });
                    world.lose_some(dice, &["logs", "git", "http"]);
                    return (world, "deploy_tag");
                }
            }
            world.lose_some(dice, &["kubernetes", "http"]);
            "rollout"
        }
        other => panic!("no model for class {other}"),
    };
    (world, cause)
}

/// A vendor's outage: its incident opens, our calls to it fail from about then (sometimes
/// minutes before the vendor posts it). Returns the onset of our errors.
fn vendor_trouble(world: &mut World, dice: &mut Dice, earliest: Option<i64>) -> i64 {
    let (vendor, errors) = *dice.pick(VENDORS);
    let lo = earliest.map_or(WINDOW_SECS - 120, |e| -e);
    let start = -dice.range(120, lo.max(121));
    let posted = start + dice.range(-300, 600);
    world.vendors.push(VendorIncident {
        vendor: vendor.to_owned(),
        indicator: ["major", "critical", "minor"][dice.range(0, 2) as usize],
        started: posted.min(-30),
        name: format!(
            "Elevated error rates on {}",
            dice.pick(&["API requests", "the dashboard and API", "EU traffic"])
        ),
    });
    world.errors.push(stream(errors, start, dice.range(10, 400)));
    world.health = Some(if dice.odds(0.4) {
        let mut h = failing_health(dice, start, None);
        if dice.odds(0.5) {
            // The dependency genuinely down, as the health body names it.
            h.down = Some(vec![(
                vendor.to_lowercase().replace(' ', ""),
                "connection timed out after 5000 ms".into(),
            )]);
        }
        h
    } else {
        quiet_health(dice)
    });
    start
}

/// A session holding a lock others wait for; returns the onset of the lock errors.
fn lock_trouble(world: &mut World, dice: &mut Dice, earliest: i64) -> i64 {
    let start = -dice.range(120, -earliest);
    let idle = dice.odds(0.5);
    world.db = Some(Database {
        used_ratio: dice.real(0.3, 0.88),
        blocked: dice.range(2, 45),
        root: Some((dice.range(2000, 60_000), start - dice.range(10, 900), idle, false)),
    });
    world.errors.push(stream(&[*dice.pick(LOCK_ERRORS)], start, dice.range(8, 200)));
    world.health = Some(if dice.odds(0.4) {
        let mut h = failing_health(dice, start, None);
        if dice.odds(0.4) {
            h.down = Some(vec![("db".into(), "query timed out after 3000 ms".into())]);
        }
        h
    } else {
        quiet_health(dice)
    });
    start
}

/// A disk filling up; returns the onset of write errors.
fn disk_trouble(world: &mut World, dice: &mut Dice, earliest: i64) -> i64 {
    let start = -dice.range(120, -earliest);
    if dice.odds(0.8) {
        world.host.disk = dice.real(0.965, 1.0);
    } else {
        world.host.inodes = dice.real(0.97, 1.0);
    }
    world.errors.push(stream(&[*dice.pick(DISK_ERRORS)], start, dice.range(5, 150)));
    world.health =
        Some(if dice.odds(0.5) { failing_health(dice, start, None) } else { quiet_health(dice) });
    start
}

/// A certificate that expired; returns when clients began to fail.
fn cert_trouble(world: &mut World, dice: &mut Dice, earliest: i64) -> i64 {
    let start = -dice.range(120, -earliest);
    world.health = Some(Health {
        failing: 3,
        latency_ms: None,
        down: None,
        cert_days: Some(-dice.range(0, 2)),
        at: 10,
    });
    if dice.odds(0.6) {
        world.errors.push(stream(&[*dice.pick(CERT_ERRORS)], start, dice.range(5, 200)));
    }
    start
}

fn record(kind: &str, name: &str, evidence: Evidence) -> CollectorRecord {
    CollectorRecord {
        kind: kind.into(),
        name: name.into(),
        started_at: t(40),
        finished_at: t(52),
        duration_ms: 1200,
        error: None,
        redactions: Default::default(),
        evidence,
    }
}

fn failed(kind: &str, name: &str, why: &str) -> CollectorRecord {
    let mut evidence = Evidence::ok(why);
    evidence.status = Status::Failed;
    let mut r = record(kind, name, evidence);
    r.error = Some(why.to_owned());
    r
}

/// Every collector's evidence of `world`: what each would publish, or its failure.
fn collect(world: &World, dice: &mut Dice, sources: &Path) -> Vec<CollectorRecord> {
    let mut records = Vec::new();
    let log_seed = dice.next();
    let mut emit =
        |kind: &'static str, name: &str, why: &str, build: &mut dyn FnMut() -> Option<Evidence>| {
            match world.presence(kind) {
                Presence::Absent => {}
                Presence::Failed => records.push(failed(kind, name, why)),
                Presence::Present => {
                    if let Some(e) = build() {
                        records.push(record(kind, name, e));
                    }
                }
            }
        };
    emit("logs", "shop-api", "permission denied: /var/log/shop/api.log", &mut || {
        Some(logs(world, log_seed, sources))
    });
    emit("kubernetes", "prod-eu", "deployments.apps \"shop-api\" is forbidden", &mut || {
        kubernetes(world)
    });
    emit("http", "shop-health", "connect: connection refused (witness's network)", &mut || {
        world.health.as_ref().map(http)
    });
    emit("host", "node", "the host collector timed out after 5 s", &mut || Some(host(world)));
    emit(
        "postgres",
        "orders-db",
        "password authentication failed for user \"witness\"",
        &mut || world.db.as_ref().map(postgres),
    );
    emit("git", "shop", "repository /srv/shop not found", &mut || world.git.as_ref().map(git));
    if world.presence("status_page") != Presence::Absent {
        for v in &world.vendors {
            if world.presence("status_page") == Presence::Failed {
                records.push(failed(
                    "status_page",
                    &v.vendor.to_lowercase().replace(' ', "-"),
                    "status page answered 502",
                ));
            } else {
                records.push(record(
                    "status_page",
                    &v.vendor.to_lowercase().replace(' ', "-"),
                    status_page(v),
                ));
            }
        }
    }
    // A source whose clock runs ahead: an event stamped after the collection.
    if dice.odds(0.15)
        && let Some(r) = records.iter_mut().find(|r| r.status() == Status::Ok && r.kind != "logs")
    {
        r.evidence.events.push(Event::new(
            t(dice.range(200, 900)),
            "clock_probe",
            "event from the future",
        ));
    }
    records
}

/// The application's log (and access log) written from the model, then read by the real
/// logs collector over the evaluation window.
fn logs(world: &World, seed: u64, sources: &Path) -> Evidence {
    std::fs::create_dir_all(sources).expect("a sources directory");
    let mut dice = Dice::new(seed);
    let first =
        if world.logs_without_baseline { -WINDOW_SECS + 240 } else { -2 * WINDOW_SECS - 120 };
    let mut lines: Vec<(i64, String, &str)> = Vec::new();
    let mut at = first;
    while at < 55 {
        lines.push((at, "GET /api/cart 200".to_owned(), "info"));
        at += dice.range(5, 40);
    }
    for s in world.background.iter().chain(&world.errors) {
        for _ in 0..s.count {
            let when = dice.range(s.start, s.end);
            if when >= first {
                lines.push((when, dice.pick(&s.texts).clone(), "error"));
            }
        }
    }
    lines.sort_by_key(|(at, _, _)| *at);
    let text: String = lines
        .iter()
        .map(|(at, message, level)| {
            world.format.line(t(at + world.clock_skew), level, message) + "\n"
        })
        .collect();
    let app = sources.join("api.log");
    std::fs::write(&app, text).expect("the application log");
    let mut paths = vec![app.display().to_string()];
    if let Some(access) = &world.access {
        let mut out = String::new();
        let mut at = first;
        while at < 55 {
            let after = at >= access.from;
            let p95 = if after { access.p95.1 } else { access.p95.0 };
            // Exponential request times: the 95th percentile is 3× the mean.
            let ms = p95 / 3.0 * -(1.0 - dice.real(0.0, 0.999)).ln();
            let status = if after && dice.odds(access.errors_5xx) { 503 } else { 200 };
            out.push_str(&format!(
                "10.2.{}.{} - - [{}] \"GET /api/products/{} HTTP/1.1\" {status} 512 \"-\" \"Mozilla/5.0\" {:.3}\n",
                dice.range(0, 9),
                dice.range(1, 250),
                t(at + world.clock_skew).format("%d/%b/%Y:%H:%M:%S +0000"),
                dice.range(1, 9999),
                ms / 1000.0
            ));
            at += dice.range(1, 3);
        }
        let path = sources.join("access.log");
        std::fs::write(&path, out).expect("the access log");
        paths.push(path.display().to_string());
    }
    let config = witness_logs::LogsConfig::new("shop-api", paths);
    let collector = config.build().unwrap_or_else(|p| panic!("{p:?}"));
    let window = witness_collector::Window::new(t(-WINDOW_SECS), t(60));
    let ctx = witness_collector::CollectContext::for_test_at(anchor(), window);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(collector.collect(&ctx)).expect("logs evidence")
}

/// What the kubernetes collector publishes for the Deployment `shop/shop-api`.
fn kubernetes(world: &World) -> Option<Evidence> {
    let current = world.rollouts.last()?;
    let previous = world.rollouts.iter().rev().nth(1);
    let key = "shop/shop-api";
    let replicas = 6;
    let p = &world.pods;
    let mut e = Evidence::ok(format!("{key}: revision {}", current.revision))
        .fact("kubernetes.deployment", "shop-api")
        .fact("kubernetes.namespace", "shop")
        .fact("kubernetes.deployments_read", 1)
        .fact("kubernetes.minutes_since_rollout", (-current.at as f64 / 6.0).round() / 10.0)
        .fact("kubernetes.current_revision", current.revision)
        .fact("kubernetes.current_images", vec![current.image.clone()])
        .fact("kubernetes.replicas", replicas)
        .fact("kubernetes.available_replicas", replicas - p.not_ready)
        .fact("kubernetes.unavailable_replicas", p.not_ready)
        .fact("kubernetes.rollout_stuck", false)
        .fact("kubernetes.rollout_complete", p.not_ready == 0)
        .fact("kubernetes.restarts_in_window", p.restarts)
        .fact("kubernetes.oom_kills_in_window", p.oom_kills)
        .fact("kubernetes.crashloop_pods", p.crashloop)
        .fact("kubernetes.not_ready_pods", p.not_ready)
        .fact("kubernetes.warning_events", p.restarts + p.not_ready);
    if let Some(prev) = previous {
        e = e
            .fact("kubernetes.previous_revision", prev.revision)
            .fact("kubernetes.images_changed", prev.image != current.image);
    }
    if world.hpa_listed {
        e = e.fact("kubernetes.hpa_at_max", world.hpa.is_some());
    }
    if let Some(h) = &world.hpa {
        e = e
            .fact("kubernetes.hpa_max_replicas", h.max)
            .fact("kubernetes.hpa_desired_replicas", h.desired)
            .fact("kubernetes.hpa_current_replicas", h.max)
            .event(
                Event::new(
                    t(h.since),
                    "hpa_at_max",
                    format!(
                        "HPA shop/shop-api at its ceiling: desired {}, max {}",
                        h.desired, h.max
                    ),
                )
                .severity(Severity::Warning)
                .signature(format!("hpa_at_max:{key}")),
            );
    }
    // Rollout events inside the window or its 60-minute margin.
    for (i, r) in world.rollouts.iter().enumerate() {
        if r.at < -WINDOW_SECS - 3600 {
            continue;
        }
        let what = match i.checked_sub(1).map(|j| &world.rollouts[j]) {
            Some(before) if before.image != r.image => format!("{} → {}", before.image, r.image),
            Some(_) => "no image change".to_owned(),
            None => r.image.clone(),
        };
        e = e.event(
            Event::new(
                t(r.at),
                "rollout",
                format!("Rollout of {key} revision {}: {what}", r.revision),
            )
            .detail(format!(
                "ReplicaSet shop-api-{:x}; change-cause: deploy pipeline",
                r.revision * 7919
            ))
            .signature(format!("rollout:{key}:{}", r.revision)),
        );
    }
    for i in 0..p.oom_kills {
        e = e.event(
            Event::new(
                t(p.since + i * 90),
                "oom_killed",
                format!("OOMKilled: pod shop-api-7d9c-{i:x}q container api (exit 137)"),
            )
            .severity(Severity::Critical)
            .signature(format!("oom_killed:{key}:api")),
        );
    }
    for i in 0..p.crashloop {
        e = e.event(
            Event::new(t(p.since + 60 + i * 30), "pod_waiting", format!("CrashLoopBackOff: pod shop-api-6b7f-{i:x}z container api (last exit: Error, code 1)"))
                .severity(Severity::Critical)
                .signature(format!("pod_waiting:{key}:api:CrashLoopBackOff")),
        );
    }
    if let Some(reason) = &p.waiting {
        e = e.event(
            Event::new(
                t(60),
                "pod_waiting",
                format!("{reason}: pod shop-api-5c4d-0x container api"),
            )
            .detail("couldn't find key PAYMENTS_API_BASE in ConfigMap shop/api-env")
            .severity(Severity::Warning)
            .signature(format!("pod_waiting:{key}:api:{reason}")),
        );
    }
    Some(e)
}

fn http(h: &Health) -> Evidence {
    let mut e = Evidence::ok(format!("{} of 3 probes failing", h.failing))
        .fact("http.failing_probes", h.failing)
        .fact("http.all_failing", h.failing >= 3);
    if let Some(ms) = h.latency_ms {
        e = e.fact("http.latency_median_ms", (ms * 10.0).round() / 10.0);
        if ms > 1000.0 {
            e = e.event(
                Event::new(
                    t(h.at),
                    "health_slow",
                    format!("Health check shop-health slow: median {ms:.0} ms over 1000 ms"),
                )
                .severity(Severity::Warning)
                .signature("http:shop-health:slow"),
            );
        }
    }
    if let Some(down) = &h.down {
        let names: Vec<String> = down.iter().map(|(n, _)| n.clone()).collect();
        let errors: Vec<String> = down.iter().map(|(n, err)| format!("{n}: {err}")).collect();
        e = e.fact("http.components_down", names).fact("http.components_down_errors", errors);
    }
    if let Some(days) = h.cert_days {
        e = e.fact("http.cert_days_left", days);
        if days < 14 {
            let title = if days < 0 {
                format!("Certificate of shop-health expired {} days ago", -days)
            } else {
                format!("Certificate of shop-health expires in {days} days")
            };
            e = e.event(
                Event::new(t(h.at), "cert_expiring", title)
                    .severity(if days <= 1 { Severity::Critical } else { Severity::Warning })
                    .signature("http:shop-health:cert"),
            );
        }
    }
    if h.failing > 0 {
        let reason = if h.latency_ms.is_none() { "tls" } else { "HTTP 503" };
        let mut title =
            format!("Health check shop-health failing: {} of 3 probes ({reason})", h.failing);
        if let Some(down) = h.down.as_ref().filter(|d| !d.is_empty()) {
            let names: Vec<&str> = down.iter().map(|(n, _)| n.as_str()).collect();
            title.push_str(&format!("; down: {}", names.join(", ")));
        }
        e = e.event(
            Event::new(t(h.at), "health_failing", title)
                .detail("GET https://shop.example.com/healthz")
                .severity(if h.failing >= 3 { Severity::Critical } else { Severity::Warning })
                .signature("http:shop-health:failing"),
        );
    }
    e
}

fn host(world: &World) -> Evidence {
    let h = &world.host;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut e = Evidence::ok("node-7")
        .fact("host.cpu_busy_ratio", round(h.cpu))
        .fact("host.cpu_max_core_busy_ratio", round((h.cpu + 0.05).min(1.0)))
        .fact("host.cores", 16)
        .fact("host.load1_per_core", round(h.cpu * 1.3))
        .fact("host.mem_used_ratio", round(h.mem))
        .fact("host.disk_max_used_ratio", round(h.disk))
        .fact("host.disk_max_inodes_used_ratio", round(h.inodes))
        .fact("host.cpu_saturated", h.cpu >= 0.9)
        .fact("host.mem_saturated", h.mem >= 0.9)
        .fact("host.uptime_secs", 3_456_000);
    if h.cpu >= 0.9 || h.mem >= 0.9 {
        let what = if h.cpu >= 0.9 { "CPU saturated" } else { "memory saturated" };
        e = e.event(
            Event::new(t(45), "saturation", format!("{what} on node-7"))
                .severity(Severity::Warning),
        );
    }
    e
}

fn status_page(v: &VendorIncident) -> Evidence {
    let mut e = Evidence::ok(format!("{}: {}", v.vendor, v.indicator))
        .fact("status_page.degraded", true)
        .fact("status_page.vendors_degraded", vec![v.vendor.clone()])
        .fact("status_page.worst_indicator", v.indicator)
        .fact("status_page.unresolved_incidents", 1);
    if v.started < 0 {
        e = e.fact(
            "status_page.incident_minutes_before_anchor",
            (-v.started as f64 / 6.0).round() / 10.0,
        );
    }
    let impact = match v.indicator {
        "minor" => Severity::Warning,
        _ => Severity::Critical,
    };
    e.event(
        Event::new(
            t(v.started),
            "incident_created",
            format!("{} incident opened: {} ({})", v.vendor, v.name, v.indicator),
        )
        .severity(impact)
        .signature(format!("status_page:{}:inc01", v.vendor)),
    )
}

fn postgres(db: &Database) -> Evidence {
    let available = 197;
    let used = (db.used_ratio * available as f64).round() as i64;
    let mut e = Evidence::ok("orders-db")
        .fact("postgres.connections_used", used)
        .fact("postgres.connections_available", available)
        .fact(
            "postgres.connections_used_ratio",
            (used as f64 / available as f64 * 1000.0).round() / 1000.0,
        )
        .fact("postgres.blocked_sessions", db.blocked)
        .fact("postgres.deadlocks_delta", 0)
        .fact("postgres.idle_in_transaction", i64::from(db.root.is_some_and(|r| r.2)))
        .fact("postgres.in_recovery", false);
    match db.root {
        Some((pid, xact, idle, ddl)) => {
            e = e
                .fact("postgres.root_blockers", 1)
                .fact("postgres.root_blocker_pids", FactValue::List(vec![FactValue::Int(pid)]))
                .fact("postgres.lock_tree_max_depth", if db.blocked > 5 { 2 } else { 1 })
                .fact("postgres.root_blocker_holds_access_exclusive", ddl)
                .fact("postgres.root_blocker_runs_ddl", ddl)
                .fact("postgres.root_blocker_idle_in_transaction", idle)
                .fact("postgres.root_blocker_longest_xact_secs", -xact as f64)
                .event(
                    Event::new(
                        t(xact),
                        "root_blocker_transaction",
                        format!("Root blocker pid {pid} began its transaction"),
                    )
                    .detail(if ddl {
                        "ALTER TABLE orders ADD COLUMN fulfilment_id bigint NOT NULL DEFAULT 0"
                    } else if idle {
                        "idle in transaction: UPDATE carts SET locked = true WHERE id = 991"
                    } else {
                        "UPDATE orders SET status = 'paid' WHERE batch = 12"
                    })
                    .severity(Severity::Critical)
                    .signature(format!("lock_tree:{pid}")),
                )
                .event(
                    Event::new(
                        t(xact + 20),
                        "lock_wait",
                        format!("{} sessions wait behind pid {pid}", db.blocked),
                    )
                    .severity(Severity::Warning)
                    .signature(format!("lock_tree:{pid}")),
                );
        }
        None => {
            e = e
                .fact("postgres.root_blockers", 0)
                .fact("postgres.root_blocker_pids", FactValue::List(Vec::new()))
                .fact("postgres.lock_tree_max_depth", 0)
                .fact("postgres.root_blocker_longest_xact_secs", 0.0);
        }
    }
    if db.used_ratio >= 0.9 {
        e = e.event(
            Event::new(
                t(41),
                "connections_near_max",
                format!("{used} of {available} connections in use"),
            )
            .severity(if db.used_ratio >= 0.98 {
                Severity::Critical
            } else {
                Severity::Warning
            }),
        );
    }
    e
}

fn git(g: &Git) -> Evidence {
    let mut e = Evidence::ok("shop: main")
        .fact("git.commits_in_lookback", 11)
        .fact("git.minutes_since_last_commit", 95.0)
        .fact("git.migrations_in_lookback", i64::from(g.migration.is_some()))
        .fact("git.migration_paths", g.migration.iter().cloned().collect::<Vec<_>>())
        .fact("git.dependency_changes", 1)
        .fact("git.config_changes", g.config_changes)
        .fact("git.infra_changes", 0);
    if let Some(tag) = g.tag_at {
        e = e
            .fact("git.minutes_since_last_tag", (-tag as f64 / 6.0).round() / 10.0)
            .fact("git.deployed_revision", "c0ffee1234567890abcdef1234567890abcdef12")
            .fact("git.previous_deployed_revision", "badc0de234567890abcdef1234567890abcdef34")
            .fact("git.deployed_has_migration", g.deployed_has_migration)
            .fact("git.deployed_commits", 4)
            .event(Event::new(t(tag), "deploy_tag", "Tag v2.5.8 on c0ffee12"));
    }
    if let Some(path) = &g.migration {
        e = e.event(
            Event::new(t(g.migration_committed), "migration_commit", format!("c0ffee12 {path}"))
                .severity(Severity::Warning),
        );
    }
    e
}

/// Writes `variants` cases of every class under `dir` from `seed`, each labelled beside it.
pub fn generate(dir: &Path, variants: u64, seed: u64) {
    for (k, class) in CLASSES.iter().enumerate() {
        for v in 0..variants {
            let mut dice = Dice::new(seed.wrapping_mul(1_000_003) ^ ((k as u64) << 32) ^ v);
            let name = format!("{class}-{v:03}");
            let case = dir.join(&name);
            std::fs::create_dir_all(case.join("evidence")).expect("a case directory");
            let (world, cause) = model(class, &mut dice);
            let trigger = json!({
                "source": "alertmanager", "name": "ShopApiErrors", "status": "firing",
                "labels": {"service": "shop-api", "namespace": "shop", "severity": "page"},
                "annotations": {"summary": "shop-api is unhappy"},
                "starts_at": ANCHOR, "fingerprint": format!("{seed:x}{k:x}{v:x}")
            });
            write(&case.join("trigger.json"), &trigger);
            for r in collect(&world, &mut dice, &case.join("sources")) {
                let value = serde_json::to_value(&r).expect("JSON");
                write(
                    &case.join("evidence").join(r.evidence_path().trim_start_matches("evidence/")),
                    &value,
                );
            }
            write(
                &dir.join(format!("{name}.label.json")),
                &json!({"cause": cause, "class": class}),
            );
        }
    }
}

fn write(path: &Path, value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
