//! Secrets of every shape the redaction rules know, generated (proptest strategies, also
//! sampled with fixed seeds), each with the substrings that must never survive: shared by
//! the redaction tests over bundle files and the seeding harness over real sources.

#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Value, json};

/// A secret as it is seeded: how it reads in a line of text, how it sits in JSON, and the
/// substrings that must not survive.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub kind: &'static str,
    pub text: String,
    pub json: Value,
    pub needles: Vec<String>,
}

impl Seeded {
    fn new(kind: &'static str, text: String, json: Value, needles: Vec<String>) -> Self {
        Self { kind, text, json, needles }
    }
}

pub fn alnum(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![b'a'..=b'z', b'A'..=b'Z', b'0'..=b'9'].prop_map(char::from),
        len,
    )
    .prop_map(|c| c.into_iter().collect())
}

pub fn from_alphabet(
    alphabet: &'static str,
    len: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    proptest::collection::vec(proptest::sample::select(chars), len)
        .prop_map(|c| c.into_iter().collect())
}

/// Mixed case, as keys arrive from different systems.
pub fn recase(key: &str, how: u8) -> String {
    match how % 3 {
        0 => key.to_owned(),
        1 => key.to_ascii_uppercase(),
        _ => key
            .char_indices()
            .map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c })
            .collect(),
    }
}

pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn url_credentials() -> impl Strategy<Value = Seeded> {
    (
        proptest::sample::select(vec![
            "postgres",
            "postgresql",
            "mysql",
            "redis",
            "amqps",
            "https",
            "mongodb+srv",
        ]),
        "[a-z]{3,8}",
        from_alphabet(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*~_.-",
            12..=24,
        ),
    )
        .prop_map(|(scheme, user, password)| {
            let url =
                format!("{scheme}://{user}:{password}@db-1.internal:5432/app?sslmode=require");
            Seeded::new("url_credentials", url.clone(), json!({ "dsn": url }), vec![password])
        })
}

pub fn key_value() -> impl Strategy<Value = Seeded> {
    (
        proptest::sample::select(vec![
            "password",
            "passwd",
            "pwd",
            "secret",
            "token",
            "api_key",
            "apikey",
            "db_password",
            "client_secret",
            "access_token",
            "PGPASSWORD",
            "refresh_token",
            "x-api-key",
        ]),
        any::<u8>(),
        from_alphabet(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.:-",
            12..=28,
        ),
        0u8..6,
    )
        .prop_map(|(key, case, value, form)| {
            let key = recase(key, case);
            let text = match form {
                0 => format!("{key}={value}"),
                1 => format!("{key}: {value}"),
                2 => format!("\"{key}\": \"{value}\""),
                3 => format!("{key}='{value}'"),
                4 => format!("GET /oauth/callback?state=xyz&{key}={value}&page=2 HTTP/1.1"),
                _ => format!("{{\\\"{key}\\\":\\\"{value}\\\"}}"),
            };
            Seeded::new("key_value_secret", text, json!({ key: value }), vec![value])
        })
}

pub fn header() -> impl Strategy<Value = Seeded> {
    (
        proptest::sample::select(vec![
            "Authorization",
            "authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "x-api-key",
            "X-Auth-Token",
        ]),
        proptest::sample::select(vec!["Bearer ", "Basic ", "token ", ""]),
        from_alphabet(B64, 16..=40),
    )
        .prop_map(|(name, scheme, value)| {
            let header_value = if name.ends_with("ookie") {
                format!("session={value}; theme=dark")
            } else {
                format!("{scheme}{value}")
            };
            Seeded::new(
                "http_header",
                format!("{name}: {header_value}"),
                json!({ "headers": { name: header_value } }),
                vec![value],
            )
        })
}

pub fn bearer() -> impl Strategy<Value = Seeded> {
    from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/-", 20..=48)
        .prop_map(|token| {
            let text = format!("calling upstream with bearer {token} failed");
            Seeded::new("bearer_token", text.clone(), json!({ "note": text }), vec![token])
        })
}

pub fn jwt() -> impl Strategy<Value = Seeded> {
    (from_alphabet(B64URL, 16..=60), from_alphabet(B64URL, 20..=43)).prop_map(|(payload, sig)| {
        let payload = format!("eyJ{payload}");
        let token = format!("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.{payload}.{sig}");
        Seeded::new(
            "jwt",
            format!("session jwt={token}"),
            json!({ "id_token_hint": token }),
            vec![payload, sig],
        )
    })
}

pub fn pem_block(label: &str, lines: &[String], cut: bool) -> String {
    let mut block = format!("-----BEGIN {label}PRIVATE KEY-----\n{}\n", lines.join("\n"));
    if !cut {
        block.push_str(&format!("-----END {label}PRIVATE KEY-----"));
    }
    block
}

pub fn private_key() -> impl Strategy<Value = Seeded> {
    (
        proptest::sample::select(vec!["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "]),
        proptest::collection::vec(from_alphabet(B64, 64..=64), 2..6),
        any::<bool>(),
    )
        .prop_map(|(label, lines, cut)| {
            let block = pem_block(label, &lines, cut);
            Seeded::new("private_key", block.clone(), json!({ "tls": { "key_pem": block } }), lines)
        })
}

pub fn aws() -> impl Strategy<Value = Seeded> {
    (
        from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16..=16),
        from_alphabet(B64, 40..=40),
        0u8..4,
    )
        .prop_map(|(id, secret, form)| {
            let id = format!("AKIA{id}");
            let text = match form {
                0 => format!("aws_access_key_id={id} aws_secret_access_key={secret}"),
                1 => format!("AWS_ACCESS_KEY_ID: {id}, AWS_SECRET_ACCESS_KEY: {secret}"),
                2 => format!("{{\"AccessKeyId\": \"{id}\", \"SecretAccessKey\": \"{secret}\"}}"),
                _ => format!("credentials {id} secretKey => '{secret}'"),
            };
            Seeded::new(
                "aws",
                text,
                json!({ "Credentials": { "AccessKeyId": id, "SecretAccessKey": secret } }),
                vec![id, secret],
            )
        })
}

pub fn gcp() -> impl Strategy<Value = Seeded> {
    (
        from_alphabet("0123456789abcdef", 40..=40),
        proptest::collection::vec(from_alphabet(B64, 64..=64), 2..4),
        from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 35..=35),
    )
        .prop_map(|(key_id, lines, api_key)| {
            let doc = json!({
                "type": "service_account",
                "project_id": "shop-prod",
                "private_key_id": key_id,
                "private_key": format!("{}\n", pem_block("", &lines, false)),
                "client_email": "witness@shop-prod.iam.gserviceaccount.com",
                "api_key": format!("AIza{api_key}"),
            });
            let mut needles = lines;
            needles.push(key_id);
            needles.push(api_key);
            Seeded::new("gcp", doc.to_string(), doc, needles)
        })
}

pub fn azure() -> impl Strategy<Value = Seeded> {
    (from_alphabet(B64, 86..=86), from_alphabet(B64, 43..=43), from_alphabet(B64, 43..=43), 0u8..3)
        .prop_map(|(account_key, shared_key, sig, form)| {
            let (text, needle) = match form {
                0 => (
                    format!("DefaultEndpointsProtocol=https;AccountName=shopprod;AccountKey={account_key}==;EndpointSuffix=core.windows.net"),
                    account_key,
                ),
                1 => (
                    format!("Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={shared_key}="),
                    shared_key,
                ),
                _ => {
                    let sig = sig.replace('+', "%2B").replace('/', "%2F");
                    (
                        format!("https://shopprod.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2025-12-01&sr=b&sp=r&sig={sig}%3D"),
                        sig,
                    )
                }
            };
            Seeded::new("azure_connection_string", text.clone(), json!({ "connection": text }), vec![needle])
        })
}

pub fn prefixed_token() -> impl Strategy<Value = Seeded> {
    (
        0u8..8,
        alnum(36..=36),
        from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", 82..=82),
        from_alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 20..=20),
        "[0-9]{10,12}",
        alnum(24..=24),
    )
        .prop_map(|(which, a36, pat82, gl20, digits, a24)| {
            let (kind, token, needle) = match which {
                0 => ("github_token", format!("ghp_{a36}"), a36),
                1 => ("github_token", format!("ghs_{a36}"), a36),
                2 => ("github_token", format!("github_pat_{pat82}"), pat82),
                3 => ("gitlab_token", format!("glpat-{gl20}"), gl20),
                4 => ("slack_token", format!("xoxb-{digits}-{digits}-{a24}"), a24),
                5 => (
                    "slack_token",
                    format!("https://hooks.slack.com/services/T{digits}/B{digits}/{a24}"),
                    a24,
                ),
                6 => ("stripe_key", format!("sk_live_{a24}"), a24),
                _ => ("stripe_key", format!("whsec_{a36}"), a36),
            };
            Seeded::new(
                kind,
                format!("using {token} for the call"),
                json!({ "credential": token }),
                vec![needle],
            )
        })
}

/// A card number of a major network with a valid Luhn digit, printed as cards are.
pub fn card() -> impl Strategy<Value = Seeded> {
    (0usize..4, proptest::collection::vec(0u8..10, 18), 0u8..3).prop_map(
        |(network, fill, format)| {
            let (prefix, len): (&[u8], usize) = match network {
                0 => (&[4], 16),
                1 => (&[5, 3], 16),
                2 => (&[3, 7], 15),
                _ => (&[6, 0, 1, 1], 16),
            };
            let mut digits: Vec<u8> = prefix.to_vec();
            digits.extend(fill.iter().take(len - 1 - prefix.len()));
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &d)| {
                    let d = u32::from(d);
                    if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
                })
                .sum();
            digits.push(u8::try_from((10 - sum % 10) % 10).unwrap());
            let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            let groups: &[usize] = if len == 15 { &[4, 6, 5] } else { &[4, 4, 4, 4] };
            let sep = [None, Some(' '), Some('-')][usize::from(format)];
            let mut printed = String::new();
            let mut at = 0;
            for (i, g) in groups.iter().enumerate() {
                if i > 0
                    && let Some(sep) = sep
                {
                    printed.push(sep);
                }
                printed.push_str(&plain[at..at + g]);
                at += g;
            }
            Seeded::new(
                "credit_card",
                format!("charge failed for card {printed} amount 42.00"),
                json!({ "payment": { "pan": printed } }),
                vec![printed.clone(), plain],
            )
        },
    )
}

pub fn addresses() -> impl Strategy<Value = Seeded> {
    (
        "[a-z]{4,10}",
        "[a-z]{4,10}",
        (11u8..=223, 10u8..=250, 10u8..=250, 10u8..=250),
        proptest::collection::vec(0x1000u16..0xffff, 3),
    )
        .prop_map(|(user, domain, (a, b, c, d), groups)| {
            let email = format!("{user}.{domain}@{domain}-mail.com");
            let ipv4 = format!("{a}.{b}.{c}.{d}");
            let ipv6 = format!("2001:db8:{:x}:{:x}::{:x}", groups[0], groups[1], groups[2]);
            Seeded::new(
                "addresses",
                format!("login by {email} from {ipv4} via [{ipv6}]:443"),
                json!({ "client": { "email": email, "ip": ipv4, "ip6": ipv6 } }),
                vec![email, ipv4, ipv6],
            )
        })
}

pub fn seeded() -> impl Strategy<Value = Seeded> {
    prop_oneof![
        url_credentials(),
        key_value(),
        header(),
        bearer(),
        jwt(),
        private_key(),
        aws(),
        gcp(),
        azure(),
        prefixed_token(),
        card(),
        addresses(),
    ]
}

/// A secret read from `*_env`/`*_file` during the run, with characters that need escaping
/// in URLs, JSON and HTML.
pub fn literal() -> impl Strategy<Value = String> {
    from_alphabet(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#%^*()_+=:;,.?/~\"'<>&-",
        10..=20,
    )
    .prop_filter("mixed enough to be a secret", |s| {
        s.chars().filter(char::is_ascii_alphanumeric).count() >= 6
    })
}

pub fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// As the HTML report escapes evidence (`witness::report::html::esc`).
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Every form of a needle that could appear in a file: as is, JSON-escaped, HTML-escaped.
pub fn needle_forms(needle: &str) -> Vec<String> {
    let json = serde_json::to_string(needle).unwrap();
    let mut forms =
        vec![needle.to_owned(), json[1..json.len() - 1].to_owned(), html_escape(needle)];
    forms.dedup();
    forms
}
