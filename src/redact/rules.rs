//! The built-in redaction rules: each a pattern, the groups that hold the secret, an
//! optional check that rejects look-alikes (Luhn for card numbers, a real address parse
//! for IPv6), and an id that names it in the manifest's counts.
//!
//! Patterns use ASCII word boundaries (`(?-u:\b)`) and ASCII classes so that the lazy DFA
//! can run them over megabytes of text in one pass; Unicode boundaries would send the
//! regex engine to its slow path on the first non-ASCII byte.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::checks;

/// A built-in rule's id and what it finds, for documentation and `witness show`.
pub struct RuleInfo {
    pub id: &'static str,
    pub finds: &'static str,
    /// Whether it runs without being switched on in `[redaction]`.
    pub default_on: bool,
}

/// Every built-in rule id, in the order rules apply, with what it finds.
pub const BUILTIN_RULES: &[RuleInfo] = &[
    info("private_key", "PEM private-key blocks (RSA, EC, OpenSSH, PKCS#8, PGP), whole"),
    info("jwt", "JSON Web Tokens (`eyJ...`.`...`.`...`)"),
    info("url_credentials", "the password in `scheme://user:password@host` URLs and DSNs"),
    info("aws_access_key_id", "AWS access key ids (`AKIA...`, `ASIA...`)"),
    info("aws_secret_access_key", "AWS secret access keys next to their key name"),
    info("gcp_service_account", "GCP service-account key ids and private keys"),
    info("gcp_api_key", "Google API keys (`AIza...`)"),
    info("azure_connection_string", "Azure `AccountKey=`, `SharedAccessKey=` and SAS `sig=`"),
    info("github_token", "GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`)"),
    info("gitlab_token", "GitLab tokens (`glpat-`, `gldt-`, `glrt-`, ...)"),
    info("slack_token", "Slack tokens (`xoxb-`, `xoxp-`, ...) and webhook URLs"),
    info("stripe_key", "Stripe secret and restricted keys (`sk_live_`, `rk_test_`, `whsec_`)"),
    info(
        "http_header",
        "values of Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Auth-Token",
    ),
    info("bearer_token", "the token after `Bearer`"),
    info(
        "key_value_secret",
        "values of password/passwd/pwd/secret/token/api_key/apikey keys in text, query strings and JSON",
    ),
    info("credit_card", "card numbers of the major networks that pass the Luhn check"),
    RuleInfo { id: "email", finds: "email addresses (`emails = true`)", default_on: false },
    RuleInfo { id: "ipv4", finds: "IPv4 addresses (`ip_addresses = true`)", default_on: false },
    RuleInfo { id: "ipv6", finds: "IPv6 addresses (`ip_addresses = true`)", default_on: false },
    RuleInfo {
        id: "literal",
        finds: "secret values read during the run and configured literals",
        default_on: true,
    },
    RuleInfo { id: "custom", finds: "the configured `patterns`", default_on: true },
];

const fn info(id: &'static str, finds: &'static str) -> RuleInfo {
    RuleInfo { id, finds, default_on: true }
}

/// A quick scan of a whole text, true whenever a rule can match it.
pub(super) type Gate = fn(&str) -> bool;

/// Rejects a match that only looks like a secret: `(text, whole match range)`.
type Check = fn(&str, Range<usize>) -> bool;

/// A pattern whose secret groups (named `secret...`), or whole match when it has none, are
/// replaced by a token.
#[derive(Clone)]
pub(super) struct Rule {
    pub id: &'static str,
    pub regex: Regex,
    secret_groups: Vec<usize>,
    check: Option<Check>,
    /// Words (ASCII, any case) every match contains; none for rules that must always run.
    pub keywords: &'static [&'static str],
    /// For a rule without keywords, a quick scan that is true whenever the rule can match.
    pub gate: Option<Gate>,
}

/// For each rule id, words every one of its matches contains. They let one Aho-Corasick
/// pass tell which rules need to run on a text at all, so clean text costs one pass.
const KEYWORDS: &[(&str, &[&str])] = &[
    ("private_key", &["-----begin"]),
    ("jwt", &["eyj"]),
    ("url_credentials", &["://"]),
    ("aws_access_key_id", &["a3t", "akia", "asia", "abia", "acca"]),
    ("aws_secret_access_key", &["secret"]),
    ("gcp_service_account", &["private_key_id"]),
    ("gcp_api_key", &["aiza"]),
    ("azure_connection_string", &["accountkey=", "sharedaccesskey=", "sharedsecretvalue=", "sig="]),
    ("github_token", &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
    (
        "gitlab_token",
        &[
            "glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glimt-", "gloas-", "glsoat-",
            "glffct-", "glft-", "glagent-",
        ],
    ),
    ("slack_token", &["xox", "xapp-", "hooks.slack.com"]),
    ("stripe_key", &["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]),
    ("http_header", &["authorization", "cookie", "x-api-key", "x-auth-token"]),
    ("bearer_token", &["bearer"]),
    (
        "key_value_secret",
        &[
            "password",
            "passwd",
            "pwd",
            "secret",
            "token",
            "apikey",
            "api_key",
            "api-key",
            "identified",
        ],
    ),
    ("email", &["@"]),
];

impl Rule {
    fn new(id: &'static str, pattern: &str, check: Option<Check>) -> Self {
        let regex = Regex::new(pattern)
            .unwrap_or_else(|e| panic!("built-in redaction pattern {id} compiles: {e}"));
        Self::from_regex(id, regex, check)
    }

    fn from_regex(id: &'static str, regex: Regex, check: Option<Check>) -> Self {
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        let keywords = KEYWORDS.iter().find(|(k, _)| *k == id).map_or(&[][..], |(_, w)| *w);
        let gate = (id == "credit_card").then_some(checks::has_card_length_digit_run as Gate);
        Self { id, regex, secret_groups, check, keywords, gate }
    }

    /// A rule for a configured pattern: its group `secret` when it has one, else the
    /// whole match.
    pub fn custom(regex: Regex) -> Self {
        Self::from_regex("custom", regex, None)
    }

    /// The ranges of `text` this rule would replace.
    pub fn secrets<'t>(&'t self, text: &'t str) -> Box<dyn Iterator<Item = Range<usize>> + 't> {
        let checked = move |whole: Range<usize>| match self.check {
            Some(check) => check(text, whole.clone()).then_some(whole),
            None => Some(whole),
        };
        if self.secret_groups.is_empty() {
            // The whole match is the secret: no need for the slower capture search.
            return Box::new(self.regex.find_iter(text).filter_map(move |m| checked(m.range())));
        }
        Box::new(self.regex.captures_iter(text).filter_map(move |caps| {
            checked(caps.get(0)?.range())?;
            let secret = self.secret_groups.iter().find_map(|i| caps.get(*i))?;
            // A value read to the end of a line keeps its trailing blanks outside.
            let trimmed = secret.as_str().trim_end_matches([' ', '\t']);
            let range = secret.start()..secret.start() + trimmed.len();
            (!range.is_empty()).then_some(range)
        }))
    }
}

/// `(?-u:\b)`: an ASCII word boundary, which the fast engines support.
macro_rules! b {
    () => {
        r"(?-u:\b)"
    };
}

/// An optional quote after a key or before a value: plain, JSON-escaped once or more
/// (`{\"password\":\"x\"}` in a log line, inside a container's JSON log), or an HTML
/// entity (the HTML report escapes evidence before it is redacted).
macro_rules! q {
    () => {
        r#"(?:\\*(?:["']|&quot;|&#0*3[49];|&#x0*2[27];|&apos;))?"#
    };
}

/// The words that make a key secret. Kept in step with [`sensitive_key`].
macro_rules! secret_words {
    () => {
        r"(?:password|passwd|pwd|secret|token|api[_-]?key)"
    };
}

/// A value after a secret key: a double-quoted string (JSON escapes allowed), a
/// single-quoted one, or a bare word up to a delimiter. An auth scheme word in front
/// (`token: Bearer x`) is kept.
macro_rules! value {
    () => {
        concat!(
            r#"(?:(?:bearer|basic|token)\s+)?"#,
            r#"(?:"(?P<secret1>(?:[^"\\\r\n]|\\[^\r\n])+)"|\\+"(?P<secret2>(?:[^"\\\r\n]|\\+[^"\\\r\n])+)\\+"|'(?P<secret3>[^'\r\n]+)'|\\*&quot;(?P<secret5>[^&\r\n\\]+)\\*&quot;|\\*&#39;(?P<secret6>[^&\r\n\\]+)\\*&#39;|(?P<secret4>[^\s"'&,;<>\\]+))"#,
        )
    };
}

static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Whole PEM blocks. A block cut before its END line is the last rule (below).
        Rule::new(
            "private_key",
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.)*?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
            None,
        ),
        Rule::new(
            "jwt",
            concat!(b!(), r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
            None,
        ),
        Rule::new(
            "url_credentials",
            // Quotes and angle brackets are never raw in a URL's userinfo (they are
            // percent-encoded): without them a user or password could run across JSON
            // (`…{"password":"[REDACTED…]","x@db`) and a second pass would differ (fuzz).
            concat!(
                r"(?i)",
                b!(),
                r#"[a-z][a-z0-9+.-]*://[^\s:/@?#"'<>]*:(?P<secret>[^\s@/?#"'<>]+)@"#
            ),
            None,
        ),
        Rule::new(
            "aws_access_key_id",
            concat!(b!(), r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", b!()),
            None,
        ),
        Rule::new(
            "aws_secret_access_key",
            concat!(
                r"(?i)secret[_-]?(?:access[_-]?)?key",
                q!(),
                r"\s*(?:=>|=&gt;|[:=])\s*",
                q!(),
                r"(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
            ),
            None,
        ),
        Rule::new(
            "gcp_service_account",
            concat!(
                r#"(?i)private_key_id"#,
                q!(),
                r#"\s*[:=]\s*"#,
                q!(),
                r"(?P<secret>[a-f0-9]{40})"
            ),
            None,
        ),
        Rule::new("gcp_api_key", concat!(b!(), r"AIza[0-9A-Za-z_-]{35}"), None),
        Rule::new(
            "azure_connection_string",
            r"(?i)(?:(?-u:\b)(?:AccountKey|SharedAccessKey|SharedSecretValue)=(?P<secret1>[A-Za-z0-9+/=]{16,})|[?&;]sig=(?P<secret2>[A-Za-z0-9%+/=]{16,}))",
            None,
        ),
        Rule::new(
            "github_token",
            concat!(b!(), r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"),
            None,
        ),
        Rule::new(
            "gitlab_token",
            concat!(b!(), r"gl(?:pat|dt|rt|ptt|cbt|imt|oas|soat|ffct|ft|agent)-[A-Za-z0-9_-]{20,}"),
            None,
        ),
        Rule::new(
            "slack_token",
            r"(?:(?-u:\b)xox[abposre]-[A-Za-z0-9-]{10,}|(?-u:\b)xapp-[A-Za-z0-9-]{10,}|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+)",
            None,
        ),
        Rule::new(
            "stripe_key",
            concat!(b!(), r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"),
            None,
        ),
        // A header line (`Cookie: a=1; b=2`) or a header inside quoted text: the value to
        // the end of the line or the closing quote, after the auth scheme.
        Rule::new(
            "http_header",
            concat!(
                r"(?i)",
                b!(),
                r"(?:proxy-authorization|authorization|set-cookie|cookie|x-api-key|x-auth-token)",
                q!(),
                r"[ \t]*[:=][ \t]*",
                q!(),
                r"(?:(?:bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256)[ \t]+)?",
                r#"(?P<secret>(?:[^\r\n"'\\&]|&[^q#\r\n])+)"#
            ),
            None,
        ),
        Rule::new(
            "bearer_token",
            concat!(r"(?i)", b!(), r"bearer\s+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)"),
            None,
        ),
        // `password=x`, `"client_secret": "x"`, `?access_token=x&...`, `PGPASSWORD=x`.
        Rule::new(
            "key_value_secret",
            concat!(
                r"(?i)",
                b!(),
                r"[a-z0-9_.-]*",
                secret_words!(),
                r"(?:[_-]?(?:access[_-]?)?key)?",
                q!(),
                r"\s*(?:=>|=&gt;|[:=])\s*",
                value!()
            ),
            None,
        ),
        // SQL: `ALTER ROLE app PASSWORD 'x'`, `IDENTIFIED BY 'x'`.
        Rule::new(
            "key_value_secret",
            concat!(
                r"(?i)",
                b!(),
                r"(?:password|identified\s+by)\s+'(?P<secret>(?:[^'\r\n]|'')+)'"
            ),
            None,
        ),
        Rule::new(
            "credit_card",
            // Contiguous digits, or the groupings cards are printed in (4-4-4-4[-3],
            // 4-6-5, 4-6-4), so a card next to other numbers is still found whole.
            concat!(
                b!(),
                r"(?:[0-9]{13,19}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}(?:[ -][0-9]{3})?|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5})",
                b!()
            ),
            Some(checks::card_number),
        ),
        // A PEM block cut before its END line, redacted to where its lines of base64 (or
        // `Name: value` headers) stop, after real or JSON-escaped newlines or as long
        // space-separated runs. It runs after every other rule: a greedy run would otherwise
        // stop inside a following secret (`ghp_…` read as base64 up to `_`) and leave half
        // of it behind (found by the property test).
        Rule::new(
            "private_key",
            concat!(
                r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
                r"(?:(?:\r?\n|(?:\\r)?\\n)(?:[A-Za-z0-9+/=]+|[A-Za-z-]+: [^\r\n\\]*))*",
                r"(?: [A-Za-z0-9+/=]{16,})*",
            ),
            None,
        ),
    ]
});

static EMAIL: LazyLock<Rule> = LazyLock::new(|| {
    Rule::new(
        "email",
        concat!(b!(), r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", b!()),
        None,
    )
});

static IP: LazyLock<[Rule; 2]> = LazyLock::new(|| {
    [
        Rule::new(
            "ipv4",
            concat!(
                b!(),
                r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
                b!()
            ),
            Some(checks::ipv4),
        ),
        Rule::new(
            "ipv6",
            r"(?i)(?:[0-9a-f]{1,4}:|::)[0-9a-f:]*:[0-9a-f:.]*(?:%[0-9a-z]+)?",
            Some(checks::ipv6),
        ),
    ]
});

/// The built-in rules in the order they apply, with the optional ones asked for.
/// Specific rules come before generic ones, so a value is counted under the most precise
/// id and the generic rules find it already replaced.
pub(super) fn builtin_rules(emails: bool, ip_addresses: bool) -> Vec<Rule> {
    let mut rules = BUILTIN.clone();
    let generic_start = rules.iter().position(|r| r.id == "credit_card").unwrap_or(rules.len());
    if emails {
        // Before the generic rules: `user:pass@host` is a URL, `a@b.io` an address.
        rules.insert(generic_start, EMAIL.clone());
    }
    if ip_addresses {
        rules.extend(IP.iter().cloned());
    }
    rules
}

/// The rule id for a value held under the key `key` (a JSON object key, or the `name` of
/// a `{name, value}` pair such as a Kubernetes environment variable or a HAR header), when
/// the key says the whole value is secret.
pub(super) fn sensitive_key(key: &str) -> Option<&'static str> {
    // `dbPassword`, `db_password`, `db-password`, `DB.PASSWORD` all read `dbpassword`.
    let key: String = key
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let ends = |suffixes: &[&str]| suffixes.iter().any(|s| key.ends_with(s));
    if ends(&["privatekeyid"]) {
        Some("gcp_service_account")
    } else if ends(&["privatekey"]) {
        Some("private_key")
    } else if ends(&["secretaccesskey", "secretkey"]) {
        Some("aws_secret_access_key")
    } else if ends(&["authorization", "cookie", "xapikey", "xauthtoken"]) {
        Some("http_header")
    } else if ends(&["password", "passwd", "pwd", "secret", "token", "apikey", "credentials"]) {
        Some("key_value_secret")
    } else if ends(&["connectionstring"]) {
        Some("azure_connection_string")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(id: &str, text: &str) -> Vec<String> {
        builtin_rules(true, true)
            .iter()
            .filter(|r| r.id == id)
            .flat_map(|r| r.secrets(text).map(|m| text[m].to_owned()).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn every_documented_id_is_a_rule_and_every_rule_is_documented() {
        let rules = builtin_rules(true, true);
        for rule in &rules {
            assert!(BUILTIN_RULES.iter().any(|i| i.id == rule.id), "{} undocumented", rule.id);
        }
        for info in BUILTIN_RULES {
            if !matches!(info.id, "literal" | "custom") {
                assert!(rules.iter().any(|r| r.id == info.id), "{} has no rule", info.id);
            }
        }
    }

    #[test]
    fn key_values_find_the_value_in_every_quoting() {
        for (text, secret) in [
            ("password=hunter22 next", "hunter22"),
            ("DB_PASSWORD: 'two words'", "two words"),
            (r#"{"client_secret":"a\"b c"}"#, r#"a\"b c"#),
            (r#"log {\"api_key\":\"k-123\"} end"#, "k-123"),
            ("GET /cb?code=1&access_token=abc.def&x=1", "abc.def"),
            ("token => xyzzy1", "xyzzy1"),
            ("secret_key=zzz", "zzz"),
            ("ALTER ROLE app PASSWORD 'it''s'", "it''s"),
        ] {
            assert_eq!(found("key_value_secret", text), [secret], "{text}");
        }
        for text in ["max_tokens=512", "token_count: 3", "password authentication failed"] {
            assert!(found("key_value_secret", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn header_values_are_found_to_the_end_of_the_line_after_the_scheme() {
        assert_eq!(found("http_header", "Authorization: Bearer abc.def\r\nHost: x"), ["abc.def"]);
        assert_eq!(found("http_header", "Cookie: a=1; b=2 \nnext"), ["a=1; b=2"]);
        assert_eq!(found("http_header", r#"{"headers":{"X-Api-Key":"k1 k2"}}"#), ["k1 k2"]);
    }

    #[test]
    fn pem_blocks_are_found_whole_even_when_cut() {
        let block =
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA==\n-----END RSA PRIVATE KEY-----";
        // The whole block is found by the first rule, which runs before the cut one.
        assert_eq!(found("private_key", &format!("x\n{block}\ny"))[0], block);
        let cut = "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\nABCD";
        assert_eq!(found("private_key", &format!("{cut}\" more")), [cut]);
        // A cut block followed by another secret's line stops before that line's words.
        let then = "-----BEGIN PRIVATE KEY-----\nMIIEvQ\nAB==\n using ghp_abc";
        assert_eq!(found("private_key", then), ["-----BEGIN PRIVATE KEY-----\nMIIEvQ\nAB=="]);
    }

    #[test]
    fn sensitive_keys_read_through_case_and_separators() {
        assert_eq!(sensitive_key("dbPassword"), Some("key_value_secret"));
        assert_eq!(sensitive_key("X-Api-Key"), Some("http_header"));
        assert_eq!(sensitive_key("private_key_id"), Some("gcp_service_account"));
        assert_eq!(sensitive_key("SecretAccessKey"), Some("aws_secret_access_key"));
        for key in ["max_tokens", "token_count", "password_required", "name", "tokens"] {
            assert_eq!(sensitive_key(key), None, "{key}");
        }
    }
}
