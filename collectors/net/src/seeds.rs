//! Secrets to seed into the real sources of collector tests (feature `seeds`), and the
//! check that none of them, nor any 8-character fragment of one, survived into what a
//! collector returned. Shared here so every kind's redaction test seeds the same classes
//! of secrets the same way; the values are random from a fixed seed, so a rule cannot
//! pass by knowing one example.
//!
//! Not network code: it lives in this support crate because every kind may depend on it
//! and it is plainly not a kind.

use witness_collector::{CollectContext, Evidence};

/// Everything a collector wrote in one run: its evidence as JSON and every artifact it
/// stored in `ctx`, as text (the artifacts are taken).
pub fn everything(evidence: &Evidence, ctx: &CollectContext) -> String {
    let mut all = serde_json::to_string(evidence).expect("evidence serializes");
    for artifact in ctx.artifacts.take() {
        all.push('\n');
        all.push_str(&String::from_utf8_lossy(&artifact.contents));
    }
    all
}

/// One secret as it is seeded: its class, the value that must never be written, and the
/// text it is seeded as (the value in the syntax its class has in the world).
#[derive(Debug, Clone)]
pub struct Secret {
    pub class: &'static str,
    pub value: String,
    pub text: String,
}

/// A small deterministic generator (xorshift64*): tests stay reproducible from the seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len).map(|_| chars[(self.next() % chars.len() as u64) as usize]).collect()
    }

    fn alnum(&mut self, len: usize) -> String {
        self.pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", len)
    }
}

const UPPER_DIGITS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DIGITS: &str = "0123456789";

/// One secret of every class a collector may read, random from `seed`: cloud keys,
/// GitHub and Slack tokens, a JWT, a bearer token, a password in a URL, a DSN, secret
/// `key=value` pairs and a password in SQL.
pub fn secrets(seed: u64) -> Vec<Secret> {
    let mut r = Random(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = Vec::new();
    let mut add = |class, value: String, text: String| out.push(Secret { class, value, text });

    let aws_id = format!("AKIA{}", r.pick(UPPER_DIGITS, 16));
    add("aws_access_key_id", aws_id.clone(), aws_id);
    let aws_secret = r.pick(BASE64, 40);
    add("aws_secret_access_key", aws_secret.clone(), format!("aws_secret_access_key={aws_secret}"));
    let ghp = format!("ghp_{}", r.alnum(36));
    add("github_token", ghp.clone(), ghp);
    let slack = format!("xoxb-{}-{}-{}", r.pick(DIGITS, 12), r.pick(DIGITS, 13), r.alnum(24));
    add("slack_token", slack.clone(), slack);
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
        r.pick(BASE64URL, 40),
        r.pick(BASE64URL, 43)
    );
    add("jwt", jwt.clone(), jwt);
    let bearer = r.alnum(32);
    add("bearer_token", bearer.clone(), format!("Authorization: Bearer {bearer}"));
    let url_pw = r.alnum(18);
    add("url_password", url_pw.clone(), format!("https://deploy:{url_pw}@git.example.com/app.git"));
    let dsn_pw = r.alnum(20);
    add("dsn_password", dsn_pw.clone(), format!("postgresql://app:{dsn_pw}@db.internal:5432/app"));
    let kv = r.alnum(22);
    add("key_value", kv.clone(), format!("password={kv}"));
    let api_key = r.alnum(28);
    add("key_value_api_key", api_key.clone(), format!("api_key: {api_key}"));
    let sql = r.alnum(24);
    add("sql_password", sql.clone(), format!("ALTER ROLE app PASSWORD '{sql}'"));
    out
}

/// Secrets as JSON fields under secret-named keys, with string, array and object values:
/// `{"client_secret": ["…"]}`, `{"credentials": {"pass": "…"}}`, `{"db_password": "…"}`.
/// Returns the JSON objects and the secrets they hold.
pub fn json_fields(seed: u64) -> (Vec<String>, Vec<Secret>) {
    let mut r = Random(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let (a, b, c) = (r.alnum(24), r.alnum(24), r.alnum(24));
    let objects = vec![
        format!(r#"{{"db_password": "{a}"}}"#),
        format!(r#"{{"client_secret": ["{b}"]}}"#),
        format!(r#"{{"credentials": {{"user": "app", "pass": "{c}"}}}}"#),
    ];
    let secret =
        |class, value: &String| Secret { class, value: value.clone(), text: String::new() };
    let secrets =
        vec![secret("json_string", &a), secret("json_array", &b), secret("json_object", &c)];
    (objects, secrets)
}

/// The secrets of `secrets` found in `haystack`, whole or as any 8-character fragment,
/// raw or as JSON escapes would write them; each as `class: fragment`.
pub fn survivors(haystack: &str, secrets: &[Secret]) -> Vec<String> {
    let mut found = Vec::new();
    for secret in secrets {
        let chars: Vec<char> = secret.value.chars().collect();
        let fragments = chars.windows(8.min(chars.len())).map(|w| w.iter().collect::<String>());
        for fragment in fragments {
            let escaped = fragment.replace('\\', "\\\\").replace('"', "\\\"").replace('/', "\\/");
            if haystack.contains(&fragment) || haystack.contains(&escaped) {
                found.push(format!("{}: {fragment}", secret.class));
                break;
            }
        }
    }
    found
}

/// Panics naming every secret of `secrets` that survived into `haystack` (see
/// [`survivors`]), with where: `what` names the output searched.
pub fn assert_none_survive(what: &str, haystack: &str, secrets: &[Secret]) {
    let found = survivors(haystack, secrets);
    assert!(found.is_empty(), "secrets survived into {what}: {found:?}\n{haystack}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_reproducible_and_differ_between_seeds() {
        let values = |seed| secrets(seed).into_iter().map(|s| s.value).collect::<Vec<_>>();
        assert_eq!(values(7), values(7));
        assert_ne!(values(7), values(8));
    }

    #[test]
    fn a_fragment_is_found_and_clean_text_is_not() {
        let seeded = secrets(1);
        let ghp = seeded.iter().find(|s| s.class == "github_token").unwrap();
        let cut = format!("token {}", &ghp.value[10..18]);
        assert_eq!(survivors(&cut, &seeded).len(), 1);
        assert!(survivors("token [REDACTED:github_token:ab12]", &seeded).is_empty());
    }
}
