//! Which key names hold a secret, and which values under them are one: the judgement the
//! key-value rules (`password=…`, `<dbPass>…</dbPass>`, `System.setProperty("X_TOKEN", …)`)
//! and the JSON walk share, so `db_pass`, `dbPassword`, `password_super_secure` and
//! `SUMO_ACCESS_KEY` read the same in a log line and in a JSON document.
//!
//! A key is split into words (`_`, `-`, `.`, spaces and camelCase boundaries). Strong words
//! (`password`, `passwd`, `passphrase`, `pwd`, `pass`, `secret`, `token`, `apikey`,
//! `credentials`, …) make a key secret when they are its last word: any value under it is
//! redacted. Weak words (`key`, `auth`, `credential` inside a longer name) and strong
//! words followed by more words (`password_super_secure`, `token_count`) need a value that
//! looks like a secret, so `token_count: 3`, `password_required: true`, `sort_key=name`
//! and `auth: token expired` stay.

/// Words whose presence as the last word of a key makes any value under it secret.
const STRONG: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "pw",
    "secret",
    "secrete",
    "token",
    "apikey",
    "credentials",
    "secretkey",
    "accesskey",
    "privatekey",
];

/// Strong words that also count inside a single lowercase or uppercase word
/// (`PGPASSWORD`, `ACRPWD`, `clientsecret`, `accesstoken`).
const STRONG_INSIDE: &[&str] = &["password", "passwd", "pwd", "secret", "token", "apikey"];

/// Words that make a key secret only when the value looks like a secret.
const WEAK: &[&str] = &["key", "auth", "credential"];

/// Last words after a strong word that say the value is about the secret, not the secret
/// (`token_type`, `password_file`, `secret_name`).
const ABOUT: &[&str] = &[
    "type",
    "types",
    "count",
    "counts",
    "required",
    "expires",
    "expiry",
    "expiration",
    "expired",
    "ttl",
    "length",
    "len",
    "size",
    "endpoint",
    "url",
    "uri",
    "file",
    "path",
    "name",
    "names",
    "id",
    "policy",
    "format",
    "algorithm",
    "version",
    "enabled",
    "header",
    "status",
    "reset",
    "strength",
    "min",
    "max",
    "ref",
    "env",
    "field",
    "hint",
    "kind",
    "mode",
    "source",
    "prefix",
    "provided",
    "set",
    "present",
    "changed",
    "age",
    "at",
];

/// The words of a key: split at separators and camelCase boundaries, lowercased.
fn words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    // A redaction token's words (`bearer_token`) are not the key's.
    let key = super::TOKEN.replace_all(key, " ");
    let chars: Vec<char> = key.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        // `dbPassword` → db|Password; `APIToken` → API|Token; `Token2` stays one.
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    // `sumoKey1`, `password2`: a number after a word is not a word of its own.
    for w in &mut words {
        let trimmed = w.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if trimmed > 0 {
            w.truncate(trimmed);
        }
    }
    // `api_key`, `access-key`, `private.key`, `secret_key` read as one word.
    let mut joined: Vec<String> = Vec::with_capacity(words.len());
    for w in words {
        if w == "key"
            && let Some(last) = joined.last_mut()
            && matches!(last.as_str(), "api" | "access" | "private" | "secret")
        {
            last.push_str("key");
            continue;
        }
        joined.push(w);
    }
    joined
}

/// How a key names a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// Any non-empty value under it is secret.
    Always,
    /// A strong word followed by more words (`password_super_secure`): a value under it
    /// is secret unless it reads as something else (a number, a URL, a path, a date).
    Likely,
    /// A value under it is secret when it looks like one.
    IfLooksSecret,
}

/// Whether `key` names a secret, and how sure that is.
pub(super) fn classify(key: &str) -> Option<KeyKind> {
    let words = words(key);
    let last = words.last()?;
    // `SeCrEt`, `PGPASSWORD`: case alone does not split a key.
    let flat: String = words.concat();
    if STRONG.contains(&last.as_str()) || strong_inside(last) || strong_inside(&flat) {
        return Some(KeyKind::Always);
    }
    // A service account key's id (`private_key_id`) is given with its key: as secret.
    if flat.ends_with("privatekeyid") {
        return Some(KeyKind::Likely);
    }
    let strong_at = words.iter().position(|w| STRONG.contains(&w.as_str()) || strong_inside(w));
    if let Some(at) = strong_at {
        let about = words[at + 1..].iter().any(|w| ABOUT.contains(&w.as_str()));
        return (!about).then_some(KeyKind::Likely);
    }
    if WEAK.contains(&last.as_str()) || last.ends_with("key") && last.len() > 3 {
        return Some(KeyKind::IfLooksSecret);
    }
    None
}

/// A strong word at the end of one word (`pgpassword`, `accesstoken`).
fn strong_inside(word: &str) -> bool {
    STRONG_INSIDE.iter().any(|s| word.ends_with(s))
}

/// Whether `value` under `key` is a count witness wrote of what a rule redacted
/// (`"key_value_secret": 3`, `"private_key": 1` in a record's or a file's `redactions`):
/// a rule's id with a whole number, never a secret.
fn is_redaction_count(key: &str, value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_digit())
        && crate::rules::BUILTIN_RULES.iter().any(|rule| rule.id == key)
}

/// Whether `value` under `key` is redacted.
pub(super) fn is_secret_value(key: &str, value: &str) -> bool {
    let value = value.trim();
    if value.is_empty()
        || !value.bytes().any(|b| b.is_ascii_alphanumeric())
        || is_redaction_count(key, value)
    {
        return false;
    }
    match classify(key) {
        Some(KeyKind::Always) => !is_placeholder(value),
        Some(KeyKind::Likely) => {
            value.chars().count() >= 8 && !is_placeholder(value) && !reads_as_data(value)
        }
        Some(KeyKind::IfLooksSecret) => looks_secret(value),
        None => false,
    }
}

/// Values that say there is no secret here: empty markers and booleans.
fn is_placeholder(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "nil" | "none" | "undefined" | "yes" | "no"
    )
}

/// A number, a URL, a path or a date.
fn reads_as_data(value: &str) -> bool {
    value.contains("://")
        || value.starts_with('/')
        || value.starts_with("./")
        || value.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        || is_date(value)
}

fn is_date(value: &str) -> bool {
    value.len() >= 10
        && value.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && value.as_bytes()[4] == b'-'
}

/// Whether a value under a weakly named key looks like a credential: at least 8
/// characters, letters and digits or symbols, no spaces, not a URL, path, number, date
/// or a plain word.
pub(super) fn looks_secret(value: &str) -> bool {
    let n = value.chars().count();
    if n < 8 || value.contains(char::is_whitespace) || reads_as_data(value) {
        return false;
    }
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    let letters = value.bytes().filter(u8::is_ascii_alphabetic).count();
    if letters == 0
        || (digits == 0 && value.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-'))
    {
        // A plain word or identifier (`created_at`, `application-json`).
        return n >= 20 && has_mixed_case(value);
    }
    // Long, or short with mixed case and digits (`orders:17` is a cache key, not a
    // credential).
    n >= 16 || (has_mixed_case(value) && digits > 0)
}

fn has_mixed_case(value: &str) -> bool {
    value.bytes().any(|b| b.is_ascii_uppercase()) && value.bytes().any(|b| b.is_ascii_lowercase())
}

/// The rule id for `value` held under the JSON key `key` (or the `name` of a
/// `{name, value}` pair), when the key says the whole value is secret.
pub(super) fn sensitive_key(key: &str, value: &str) -> Option<&'static str> {
    if is_redaction_count(key, value.trim()) {
        return None;
    }
    // `dbPassword`, `db_password`, `db-password`, `DB.PASSWORD` all read `dbpassword`.
    let flat: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| flat.ends_with(s));
    if ends(&["privatekeyid"]) {
        Some("gcp_service_account")
    } else if ends(&["privatekey"]) {
        Some("private_key")
    } else if ends(&["secretaccesskey", "secretkey"]) {
        Some("aws_secret_access_key")
    } else if ends(&["authorization", "cookie", "xapikey", "xauthtoken"]) {
        Some("http_header")
    } else if ends(&["connectionstring"]) {
        Some("azure_connection_string")
    } else if is_secret_value(key, value) {
        Some("key_value_secret")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redaction_count_under_its_rule_id_is_no_secret() {
        for rule in ["key_value_secret", "private_key", "aws_secret_access_key", "http_header"] {
            assert_eq!(sensitive_key(rule, "3"), None, "{rule}");
            assert!(!is_secret_value(rule, "1024"), "{rule}");
        }
        assert_eq!(sensitive_key("key_value_secret", "hunter22"), Some("key_value_secret"));
        assert_eq!(sensitive_key("private_key", "MIIEvQ"), Some("private_key"));
        assert_eq!(sensitive_key("db_password", "123456"), Some("key_value_secret"));
    }

    #[test]
    fn keys_split_into_words_at_separators_and_camel_case() {
        assert_eq!(words("dbPassword"), ["db", "password"]);
        assert_eq!(words("sengridAPITokenToken"), ["sengrid", "api", "token", "token"]);
        assert_eq!(words("SUMO_ACCESS_KEY"), ["sumo", "accesskey"]);
        assert_eq!(words("x-api-key"), ["x", "apikey"]);
    }

    #[test]
    fn strong_last_words_take_any_value_and_the_rest_need_a_secret_looking_one() {
        for (key, value) in [
            ("password", "hunter2"),
            ("db_pass", "x1"),
            ("PGPASSWORD", "abc"),
            ("client_secret", "abc"),
            ("password_super_secure", "value with spaces"),
            ("apikey_myservice", "m{{h}o)p${e]nob"),
            ("HEROKU_KEY", "12345678-ABCD-ABCD-ABCD-1234567890AB"),
            ("auth", "c2Zjcy50ZXN0ZXI6c2Zjcw=="),
            ("sumoKey1", "CzrMhR8zzy1eH1F0XlY1tu5ywqa2yaSFoWGg2cqE43Xk"),
        ] {
            assert!(is_secret_value(key, value), "{key}={value}");
        }
        for (key, value) in [
            ("token_count", "3"),
            ("max_tokens", "4096"),
            ("password_required", "true"),
            ("token_type", "Bearer"),
            ("token_endpoint", "https://idp.example.com/token"),
            ("sort_key", "created_at"),
            ("auth", "token"),
            ("cache_key", "orders:17"),
            ("password", "true"),
            ("monkey", "banana"),
            ("password_file", "/run/secrets/db"),
        ] {
            assert!(!is_secret_value(key, value), "{key}={value}");
        }
    }

    #[test]
    fn json_keys_name_their_rule() {
        assert_eq!(sensitive_key("dbPassword", "x"), Some("key_value_secret"));
        assert_eq!(sensitive_key("X-Api-Key", "x"), Some("http_header"));
        assert_eq!(sensitive_key("private_key_id", "x"), Some("gcp_service_account"));
        assert_eq!(sensitive_key("SecretAccessKey", "x"), Some("aws_secret_access_key"));
        for key in ["max_tokens", "token_count", "password_required", "name", "tokens"] {
            assert_eq!(sensitive_key(key, "512"), None, "{key}");
        }
    }
}
