//! The built-in redaction rules, as one table: each row an id that names it in the
//! manifest's counts, a pattern whose groups named `secret…` (or whole match) are
//! replaced, keywords that every match contains (so one Aho-Corasick pass over a text
//! tells which rules can match at all), and an optional check that rejects look-alikes
//! (Luhn for card numbers, a real address parse for IPv6, the key's words for key-value
//! rules). Users add rows in `[redaction] rules`.
//!
//! Vendor tokens follow the prefixes and shapes the vendors document and the open secret
//! detectors (gitleaks, trufflehog, detect-secrets) publish. Patterns use ASCII word
//! boundaries (`(?-u:\b)`) and ASCII classes so that the lazy DFA can run them over
//! megabytes of text in one pass; Unicode boundaries would send the regex engine to its
//! slow path on the first non-ASCII byte.

use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock};

use regex::Regex;

use super::{blocks, checks, entropy, keys};

/// A built-in rule's id and what it finds, for documentation.
pub struct RuleInfo {
    pub id: &'static str,
    pub finds: &'static str,
    /// Whether it runs without being switched on in `[redaction]`.
    pub default_on: bool,
}

/// Every built-in rule id, in the order rules apply, with what it finds.
pub const BUILTIN_RULES: &[RuleInfo] = &[
    info(
        "private_key",
        "PEM private-key blocks (RSA, EC, OpenSSH, PKCS#8, PGP), whole, cut ones up to their last base64 line, and the base64 lines and END line of a block whose BEGIN line is missing",
    ),
    info("jwt", "JSON Web Tokens (`eyJ…`.`eyJ…`[.`…`]), two or three segments"),
    info(
        "url_credentials",
        "the password in `scheme://user:password@host` URLs and DSNs, and in Go DSNs `user:password@tcp(host)/db`",
    ),
    info("aws_access_key_id", "AWS access key ids (`AKIA…`, `ASIA…`, `ABIA…`, `ACCA…`)"),
    info("aws_secret_access_key", "AWS secret access keys next to their key name"),
    info(
        "aws_session_token",
        "AWS session tokens next to their key name, Bedrock API keys (`ABSK…`, `bedrock-api-key-…`)",
    ),
    info("gcp_service_account", "GCP service-account key ids and private keys"),
    info(
        "gcp_api_key",
        "Google API keys (`AIza…`), OAuth client secrets (`GOCSPX-`) and access tokens (`ya29.`)",
    ),
    info(
        "azure_connection_string",
        "Azure `AccountKey=`, `SharedAccessKey=`, `Password=` in connection strings, SAS `sig=`, AD client secrets",
    ),
    info("github_token", "GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`)"),
    info(
        "gitlab_token",
        "GitLab tokens (`glpat-`, `gldt-`, `glrt-`, `glcbt-`, `glsoat-`, …, runner registration `GR1348941…`, `_gitlab_session=`)",
    ),
    info("slack_token", "Slack tokens (`xoxb-`, `xoxp-`, `xapp-`, …) and webhook URLs"),
    info(
        "stripe_key",
        "Stripe and Stripe-shaped secret and restricted keys (`sk_live_`, `sk_test_`, `sk_prod_`, `rk_…`, `whsec_`)",
    ),
    info("openai_key", "OpenAI keys (`sk-…T3BlbkFJ…`, `sk-proj-`, `sk-admin-`, `sk-svcacct-`)"),
    info("anthropic_key", "Anthropic keys (`sk-ant-api03-`, `sk-ant-admin01-`)"),
    info(
        "vendor_token",
        "API tokens with a documented vendor prefix: npm, PyPI, RubyGems, Clojars, NuGet-free; Twilio (`SK…`), SendGrid (`SG.`), Mailgun (`key-`), Mailchimp (`…-us12`), Sendinblue (`xkeysib-`), Shopify (`shpat_`, …), Doppler (`dp.pt.`), HashiCorp Vault (`hvs.`, `hvb.`, `hvr.`, legacy `s.`) and Terraform (`.atlasv1.`), Heroku (`HRKU-`), DigitalOcean (`dop_v1_`, …), Atlassian (`ATATT`, `ATCTT`, `ATBB`), Hugging Face (`hf_`, `api_org_`), Sourcegraph (`sgp_`), Sentry (`sntrys_`, `sntryu_`), Grafana (`glc_`, `glsa_`, `eyJrIjoi`), Databricks (`dapi`), Dynatrace (`dt0c01.`), EasyPost (`EZAK`, `EZTK`), Facebook (`EAA…`), Square (`sq0atp-`, `EAAA…`), New Relic (`NRAK-`, …), Notion (`ntn_`), Linear (`lin_api_`), Postman (`PMAK-`), Pulumi (`pul-`), Prefect (`pnu_`), Planetscale (`pscale_`), Fly.io (`fo1_`, `fm2_`), Infracost (`ico-`), 42 (`s-s4t2…`), ReadMe (`rdme_`), Scalingo (`tk-us-`), Settlemint (`sm_…`), Shippo (`shippo_`), Typeform (`tfp_`), Duffel, Frame.io, Flutterwave, 1Password (`ops_`, `A3-`), Artifactory (`AKCp`, `cmVmd`), Adobe (`p8e-`), Cloudflare origin CA (`v1.0-`), Perplexity, xAI, Groq, Replicate, LangSmith, Tailscale, Supabase, Razorpay, Lob, Netlify, Octopus, OpenShift (`sha256~`), Authress, Yandex, Telegram bot tokens, Discord bot tokens, Mapbox (`sk.`); and a credential-looking value right after a vendor's name (`sourcegraph: …`, `jira …`, `GITHUB_API = …`)",
    ),
    info(
        "http_header",
        "values of Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key, X-Auth-Token",
    ),
    info("bearer_token", "the token after `Bearer`"),
    info(
        "key_value_secret",
        "values under secret-named keys (password, passwd, pass, pwd, secret, token, api_key, access_key, private_key, credentials, and with a secret-looking value key, auth) in every assignment syntax, XML elements, name/value pairs, `curl -u`, `docker login -p`, SQL `PASSWORD '…'`, and every value of a Kubernetes Secret's `data`/`stringData` (YAML and JSON)",
    ),
    info(
        "high_entropy_string",
        "quoted strings of 32+ base64 characters that read as random (mixed case and digits, 4.5 bits a character or more; never hex)",
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

/// A quick scan of a text for the first place a rule can match: the pattern then runs on
/// that line only (and the scan goes on after it). `None`: the rule matches nowhere.
pub(super) type Gate = fn(&str) -> Option<usize>;

/// Rejects a match that only looks like a secret: `(text, whole match range)`.
type Check = fn(&str, Range<usize>) -> bool;

/// The secrets of the block a match heads: `(text, header match range)` to the ranges to
/// replace ([`blocks::secret_data`]).
type Block = fn(&str, Range<usize>) -> Vec<Range<usize>>;

/// A rule's pattern, compiled the first time a text needs it (most runs need a few of the
/// built-in rows, and compiling all of them was most of a short run's cost); the
/// built-in rows' patterns are shared by every redactor of the process, so they are
/// compiled once per process.
pub(super) struct Pattern {
    /// A built-in row's pattern; configured ones are compiled when their config is read.
    source: &'static str,
    compiled: OnceLock<Compiled>,
}

pub(super) struct Compiled {
    regex: Regex,
    secret_groups: Vec<usize>,
    /// A group named `key`: the match counts only when the key's words and the value say
    /// it is a secret ([`keys::is_secret_value`]).
    key_group: Option<usize>,
}

impl Compiled {
    fn new(regex: Regex) -> Self {
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("secret")))
            .map(|(i, _)| i)
            .collect();
        let key_group = regex.capture_names().position(|name| name == Some("key"));
        Self { regex, secret_groups, key_group }
    }
}

impl Pattern {
    /// Whether a text has needed this pattern yet.
    #[cfg(test)]
    pub(super) fn is_compiled(&self) -> bool {
        self.compiled.get().is_some()
    }

    fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            let regex = Regex::new(self.source).unwrap_or_else(|e| {
                panic!("built-in redaction pattern {:?} compiles: {e}", self.source)
            });
            Compiled::new(regex)
        })
    }
}

/// A pattern whose secret groups (named `secret…`), or whole match when it has none, are
/// replaced by a token.
#[derive(Clone)]
pub(super) struct Rule {
    pub id: String,
    pub pattern: Arc<Pattern>,
    /// Whether every match starts with its key (after a JSON escape `\n`), the key's
    /// characters running to the end of the key: a match whose key names no secret is
    /// then dropped without the slower capture search.
    key_first: bool,
    /// Whether each keyword that starts with a letter or digit starts its match's token
    /// (after a byte that is not a letter or digit), as a vendor's prefix does: `sk_` in
    /// `disk_full` is not a Stripe key's start, and the row need not run there.
    pub prefixed: bool,
    check: Option<Check>,
    /// For a rule whose match is a block's header: what in the block is secret.
    block: Option<Block>,
    /// Words every match contains. All-lowercase ones are matched in any case, ones with
    /// an uppercase letter exactly (`SK`, `EAA`); none for rules that must always run.
    pub keywords: Vec<String>,
    /// For a rule without keywords, a quick scan that is true whenever the rule can match.
    pub gate: Option<Gate>,
    /// How many lines before and after the line of a keyword a match can reach: the
    /// pattern runs on those lines only.
    pub span: Span,
    /// Strings of which every match holds one (`@` in a URL with credentials): a part of
    /// a text without any is skipped without running the pattern. Empty: no such string.
    pub requires: &'static [&'static str],
    /// Whether every match has its keyword in a key followed by an assignment
    /// ([`checks::assignment_follows`]): a keyword in prose (`password authentication
    /// failed`) does not make the rule run.
    pub assigned: bool,
}

/// Lines before and after a keyword's line.
pub(super) type Span = (usize, usize);

/// Lines after a PEM header that are searched for the rest of its block.
pub(super) const PEM_LINES: usize = 200;

/// The span of a configured rule: its pattern may reach across a few lines.
const CUSTOM_SPAN: Span = (2, 2);

/// One row of the built-in table.
struct Spec {
    id: &'static str,
    keywords: &'static [&'static str],
    pattern: &'static str,
    check: Option<Check>,
    block: Option<Block>,
    gate: Option<Gate>,
    span: Span,
    requires: &'static [&'static str],
    assigned: bool,
    key_first: bool,
    prefixed: bool,
}

/// A row whose matches lie on the line of their keyword.
const fn row(id: &'static str, keywords: &'static [&'static str], pattern: &'static str) -> Spec {
    Spec {
        id,
        keywords,
        pattern,
        check: None,
        block: None,
        gate: None,
        span: (0, 0),
        requires: &[],
        assigned: false,
        key_first: false,
        prefixed: false,
    }
}

impl Spec {
    /// The same row, its matches reaching `before` lines above and `after` lines below
    /// the line of their keyword.
    const fn lines(mut self, before: usize, after: usize) -> Self {
        self.span = (before, after);
        self
    }

    /// The same row, each match's keyword in a key followed by an assignment.
    const fn assigned(mut self) -> Self {
        self.assigned = true;
        self
    }

    /// The same row, its matches rejected when `check` says they only look like secrets.
    const fn checked(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    /// The same row, run only where `gate` finds a place it can match (a row without
    /// keywords).
    const fn gated(mut self, gate: Gate) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The same row, each match the header of a block whose secrets `block` finds.
    const fn heading(mut self, block: Block) -> Self {
        self.block = Some(block);
        self
    }

    /// The same row, each match starting with its key ([`Rule::key_first`]).
    const fn key_first(mut self) -> Self {
        self.key_first = true;
        self
    }

    /// The same row, each keyword that starts with a letter or digit starting its match's
    /// token ([`Rule::prefixed`]).
    const fn prefixed(mut self) -> Self {
        self.prefixed = true;
        self
    }

    /// The same row, each match holding one of `strings`.
    const fn requires(mut self, strings: &'static [&'static str]) -> Self {
        self.requires = strings;
        self
    }
}

impl Rule {
    /// A rule from its parts.
    ///
    /// # Errors
    /// When `pattern` does not compile.
    pub fn build(id: &str, pattern: &str, keywords: Vec<String>) -> Result<Self, regex::Error> {
        let compiled = OnceLock::from(Compiled::new(Regex::new(pattern)?));
        Ok(Self::new(id, Pattern { source: "", compiled }, keywords))
    }

    fn new(id: &str, pattern: Pattern, keywords: Vec<String>) -> Self {
        Self {
            id: id.to_owned(),
            pattern: Arc::new(pattern),
            key_first: false,
            prefixed: false,
            check: None,
            block: None,
            keywords,
            gate: None,
            span: CUSTOM_SPAN,
            requires: &[],
            assigned: false,
        }
    }

    /// A built-in row, its pattern compiled when first needed.
    fn from_spec(spec: &Spec) -> Self {
        let keywords = spec.keywords.iter().map(|k| (*k).to_owned()).collect();
        let pattern = Pattern { source: spec.pattern, compiled: OnceLock::new() };
        let mut rule = Self::new(spec.id, pattern, keywords);
        rule.check = spec.check;
        rule.block = spec.block;
        rule.gate = spec.gate;
        rule.span = spec.span;
        rule.requires = spec.requires;
        rule.assigned = spec.assigned;
        rule.key_first = spec.key_first;
        rule.prefixed = spec.prefixed;
        rule
    }

    /// A rule for a configured pattern: its group `secret` when it has one, else the
    /// whole match.
    pub fn custom(regex: Regex) -> Self {
        let compiled = OnceLock::from(Compiled::new(regex));
        Self::new("custom", Pattern { source: "", compiled }, Vec::new())
    }

    /// The ranges of `text` this rule would replace.
    pub fn secrets<'t>(&'t self, text: &'t str) -> Box<dyn Iterator<Item = Range<usize>> + 't> {
        let Compiled { regex, secret_groups, key_group } = self.pattern.compiled();
        let checked = move |whole: Range<usize>| match self.check {
            Some(check) => check(text, whole.clone()).then_some(whole),
            None => Some(whole),
        };
        if let Some(block) = self.block {
            return Box::new(regex.find_iter(text).flat_map(move |m| block(text, m.range())));
        }
        if secret_groups.is_empty() && key_group.is_none() {
            // The whole match is the secret: no need for the slower capture search.
            return Box::new(regex.find_iter(text).filter_map(move |m| checked(m.range())));
        }
        let captures: Box<dyn Iterator<Item = regex::Captures<'t>>> = if self.key_first {
            // Most matches of a key-value rule in ordinary text are keys about a secret
            // (`token_count`, `password_required`): their key alone rejects them.
            Box::new(
                regex
                    .find_iter(text)
                    .filter(|m| keys::classify(key_at(text, m.start())).is_some())
                    .filter_map(|m| regex.captures_at(text, m.start())),
            )
        } else {
            Box::new(regex.captures_iter(text))
        };
        Box::new(captures.flat_map(move |caps| {
            if caps.get(0).and_then(|m| checked(m.range())).is_none() {
                return Vec::new();
            }
            // A pattern with alternatives may name the secret in some of them only; one
            // may name two (an id and its secret).
            let mut secrets: Vec<_> = secret_groups.iter().filter_map(|i| caps.get(*i)).collect();
            if secrets.is_empty() {
                secrets.extend(caps.get(0));
            }
            let key = key_group.and_then(|i| caps.get(i));
            secrets
                .into_iter()
                .filter_map(|secret| {
                    // A value read to the end of a line keeps its trailing blanks outside,
                    // and a bare value the punctuation that ends a sentence or a list item.
                    let trimmed = secret.as_str().trim_end_matches([' ', '\t']);
                    let trimmed = if is_bare(text, secret.start()) {
                        trimmed.trim_end_matches([',', '.', ')'])
                    } else {
                        trimmed
                    };
                    if key.is_some_and(|key| !keys::is_secret_value(key.as_str(), trimmed)) {
                        return None;
                    }
                    let range = secret.start()..secret.start() + trimmed.len();
                    (!range.is_empty()).then_some(range)
                })
                .collect()
        }))
    }
}

/// The key a match starting at `at` starts with: after a JSON escape (`\n`), the run of
/// key characters (`[A-Za-z0-9_.-]`, and non-ASCII ones: `(?i)` lets `ſ` and `K` into a
/// key, and no other can end one, since what follows a key is ASCII).
fn key_at(text: &str, at: usize) -> &str {
    let start = if text.as_bytes()[at] == b'\\' { at + 2 } else { at };
    let rest = &text[start..];
    let len = rest
        .bytes()
        .position(|b| {
            b.is_ascii() && !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        })
        .unwrap_or(rest.len());
    &rest[..len]
}

/// Whether the value starting at `at` is unquoted.
fn is_bare(text: &str, at: usize) -> bool {
    !matches!(text.as_bytes().get(at.wrapping_sub(1)), Some(b'"' | b'\'' | b'`' | b';' | b'>'))
}

/// `(?-u:\b)`: an ASCII word boundary, which the fast engines support.
macro_rules! b {
    () => {
        r"(?-u:\b)"
    };
}

/// Where a vendor token may start: a word boundary, or right after an `_` joining it to a
/// name (`001_ghp_….sql`, `key_sk_live_…`; the `_` is replaced with the token).
macro_rules! token_start {
    () => {
        r"(?:(?-u:\b)|_)"
    };
}

/// An optional quote after a key or before a value: plain, JSON-escaped once or more
/// (`{\"password\":\"x\"}` in a log line, inside a container's JSON log), or an HTML
/// entity (the HTML report escapes evidence before it is redacted).
macro_rules! q {
    () => {
        r#"(?:\\*(?:["'`]|&quot;|&#0*3[49];|&#x0*2[27];|&apos;))?"#
    };
}

/// A key name that may hold a secret; [`keys::is_secret_value`] decides on its words.
macro_rules! key {
    () => {
        r"(?P<key>[a-z0-9_.-]*(?:pass|pwd|pw|secret|token|key|credential|auth)[a-z0-9_.-]*)"
    };
}

/// A quoted value: double-quoted (JSON escapes allowed), escaped-quoted, single-quoted,
/// backquoted, or an HTML-entity-quoted one.
macro_rules! quoted {
    () => {
        r#"(?:@?"(?P<secret1>(?:[^"\\\r\n]|\\[^\r\n])+)"|\\+"(?P<secret2>(?:[^"\\\r\n]|\\+[^"\\\r\n])+)\\+"|''(?P<secret8>[^'\r\n]+)''|'(?P<secret3>[^'\r\n]+)'|`(?P<secret7>[^`\r\n]+)`|\\*&quot;(?P<secret5>[^&\r\n\\]+)\\*&quot;|\\*&#39;(?P<secret6>[^&\r\n\\]+)\\*&#39;)"#
    };
}

/// A value after a secret key: quoted, or a bare run up to a blank, a quote, `;`, `&`,
/// `<` or a backslash. An auth scheme word in front (`token: Bearer x`) is kept.
macro_rules! value {
    () => {
        concat!(
            r#"(?:(?:bearer|basic|token)\s+)?"#,
            r#"(?:"#,
            quoted!(),
            r#"|(?P<secret4>[^\s"'`&;<\\]+))"#
        )
    };
}

/// The assignment operators of config files and code: `=`, `:`, `=>`, Go `:=`, Makefile
/// `?=` `::=` `:::=` `+=`, PHP `.=`, comparisons (`==`, `===`, `!=`, `!==`).
macro_rules! assign {
    () => {
        r"[ \t]*(?:=>|=&gt;|:::=|::=|:=|\?=|\.=|\+=|={1,3}|!==?|:)[ \t]*"
    };
}

/// Vendors whose tokens are found right after their name (the keywords of that rule).
macro_rules! vendor_names {
    () => {
        "sourcegraph|azure|jira|atlassian|confluence|bitbucket|mailgun|mailchimp|sendgrid|twilio|github|gitlab|mapbox|alibaba|aliyun|datadog|newrelic|new_relic|sentry|okta|pagerduty|cloudflare|digitalocean|linode|heroku|netlify|vercel|shopify|dropbox|asana|airtable|algolia|auth0|circleci|travis|contentful|firebase|intercom|postmark|pusher|segment|snyk|zendesk|hubspot|discord|telegram|openai|anthropic"
    };
}

/// A vendor's name, in any case, at the start of a word: where the rows that find a value
/// by the name before it begin.
macro_rules! vendor_name {
    () => {
        concat!(r"(?i)", b!(), "(?:", vendor_names!(), ")")
    };
}

const VENDOR_NAMES: &[&str] = &[
    "sourcegraph",
    "azure",
    "jira",
    "atlassian",
    "confluence",
    "bitbucket",
    "mailgun",
    "mailchimp",
    "sendgrid",
    "twilio",
    "github",
    "gitlab",
    "mapbox",
    "alibaba",
    "aliyun",
    "datadog",
    "newrelic",
    "new_relic",
    "sentry",
    "okta",
    "pagerduty",
    "cloudflare",
    "digitalocean",
    "linode",
    "heroku",
    "netlify",
    "vercel",
    "shopify",
    "dropbox",
    "asana",
    "airtable",
    "algolia",
    "auth0",
    "circleci",
    "travis",
    "contentful",
    "firebase",
    "intercom",
    "postmark",
    "pusher",
    "segment",
    "snyk",
    "zendesk",
    "hubspot",
    "discord",
    "telegram",
    "openai",
    "anthropic",
];

static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| TABLE.iter().map(Rule::from_spec).collect());

/// Base64 lines of a PEM body, or its `Name: value` headers, after a real or escaped
/// newline (with indentation), or as space-separated runs on one line.
macro_rules! pem_body {
    () => {
        r"(?:(?:(?:\r?\n|(?:\\+r)?\\+n)[ \t]*)(?:[A-Za-z0-9+/=]+|[A-Za-z-]+: [^\r\n\\]*)| [A-Za-z0-9+/=]+)*"
    };
}

const TABLE: &[Spec] = &[
    // A PEM block, whole: BEGIN, lines of base64 or headers, END. Anything else in between
    // ends the block, so a block cut before its END line never reaches a later END.
    row(
        "private_key",
        &["-----begin"],
        concat!(
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
            pem_body!(),
            r"(?:(?:\r?\n|(?:\\+r)?\\+n)[ \t]*| )?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
        ),
    )
    .lines(0, PEM_LINES),
    // The tail of a PEM block whose BEGIN line is elsewhere (cut off above an excerpt's
    // context lines, or the oldest lines a capped stretch dropped): whole lines of base64
    // up to its END line. Every line but the last is 16 characters or longer (a PEM line
    // is 64), so a short word on a line of its own above it is not taken for one; the
    // match ends with the END line, so nothing after it is swallowed. It runs after the
    // whole-block rule, which has already replaced a block that has its BEGIN.
    row(
        "private_key",
        &["-----end"],
        concat!(
            r"(?m)^[ \t]*(?:[A-Za-z0-9+/=]{16,}[ \t]*\r?\n[ \t]*)+(?:[A-Za-z0-9+/=]{1,15}[ \t]*\r?\n[ \t]*)?",
            r"-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
        ),
    )
    .lines(PEM_LINES, 0),
    row(
        "jwt",
        &["eyj"],
        concat!(
            b!(),
            r"eyJ[A-Za-z0-9_-]{5,}\.(?:[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*|eyJ[A-Za-z0-9_-]{5,})"
        ),
    )
    .prefixed(),
    row(
        "url_credentials",
        &["://"],
        // Quotes and angle brackets are never raw in a URL's userinfo (they are
        // percent-encoded): without them a user or password could run across JSON
        // (`…{"password":"[REDACTED…]","x@db`) and a second pass would differ (fuzz).
        // A raw `@` in the password is read as the parsers do: up to the last `@`.
        concat!(r"(?i)", b!(), r#"[a-z][a-z0-9+.-]*://[^\s:/@?#"'<>]*:(?P<secret>[^\s/?#"'<>]+)@"#),
    )
    .requires(&["@"]),
    // Go's MySQL driver: `user:password@tcp(host:3306)/db`.
    row(
        "url_credentials",
        &["@tcp(", "@unix(", "@udp("],
        concat!(b!(), r#"[A-Za-z0-9_.%-]+:(?P<secret>[^\s/"'<>]+)@(?:tcp|udp|unix)\("#),
    ),
    row(
        "aws_access_key_id",
        &["A3T", "AKIA", "ASIA", "ABIA", "ACCA"],
        concat!(b!(), r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", b!()),
    )
    .prefixed(),
    row(
        "aws_secret_access_key",
        &["secret", "key"],
        concat!(
            r"(?i)(?:secret[_-]?(?:access[_-]?)?key|aws[_-]?access[_-]?key)",
            q!(),
            r"[ \t]*(?:=>|=&gt;|:=|[:=])[ \t]*",
            q!(),
            r"(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"
        ),
    )
    .assigned(),
    row(
        "aws_session_token",
        &["session", "security-token", "securitytoken"],
        concat!(
            r"(?i)(?:session[_-]?token|security[_-]?token|session)",
            q!(),
            r"[ \t]*(?:=>|:=|[:=])[ \t]*",
            q!(),
            r"(?P<secret>[A-Za-z0-9/+=]{100,})"
        ),
    )
    .assigned(),
    row(
        "aws_session_token",
        &["ABSK", "bedrock-api-key-"],
        concat!(
            b!(),
            r"(?:ABSK[A-Za-z0-9+/]{100,}={0,2}|bedrock-api-key-[A-Za-z0-9+/]{20,}={0,2})"
        ),
    )
    .prefixed(),
    row(
        "gcp_service_account",
        &["private_key_id"],
        concat!(r#"(?i)private_key_id"#, q!(), r#"\s*[:=]\s*"#, q!(), r"(?P<secret>[a-f0-9]{40})"),
    )
    .lines(0, 1),
    row(
        "gcp_api_key",
        &["AIza", "GOCSPX-", "ya29."],
        concat!(
            b!(),
            r"(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[0-9A-Za-z_-]{20,})"
        ),
    )
    .prefixed(),
    row(
        "azure_connection_string",
        &["accountkey=", "sharedaccesskey=", "sharedsecretvalue=", "sig=", "password="],
        r"(?i)(?:(?-u:\b)(?:AccountKey|SharedAccessKey|SharedSecretValue)=(?P<secret1>[A-Za-z0-9+/=]{16,})|[?&;]sig=(?P<secret2>[A-Za-z0-9%+/=_-]{16,})|;\s*Password=(?P<secret3>[^;\r\n]+))",
    )
    .prefixed(),
    row(
        "azure_connection_string",
        &["Q~"],
        concat!(b!(), r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}", b!()),
    ),
    row(
        "github_token",
        &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        concat!(
            token_start!(),
            r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"
        ),
    )
    .prefixed(),
    row(
        "gitlab_token",
        &[
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glcbt-",
            "glimt-",
            "gloas-",
            "glsoat-",
            "glffct-",
            "glft-",
            "glagent-",
            "glcbt-",
            "GR1348941",
            "_gitlab_session=",
        ],
        concat!(
            r"(?:",
            token_start!(),
            r"gl(?:pat|dt|rt|ptt|cbt|imt|oas|soat|ffct|ft|agent)-[A-Za-z0-9_.-]{20,}",
            r"|",
            b!(),
            r"GR1348941[A-Za-z0-9_-]{10,}",
            r"|_gitlab_session=(?P<secret>[A-Za-z0-9]{32,})",
            r")"
        ),
    )
    .prefixed(),
    row(
        "slack_token",
        &["xox", "xapp-", "hooks.slack.com"],
        r"(?:(?:(?-u:\b)|_)xox[abposre]-[A-Za-z0-9-]{10,}|(?-u:\b)xapp-[A-Za-z0-9-]{10,}|(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]+)",
    ),
    row(
        "stripe_key",
        &["sk_", "rk_", "whsec_"],
        concat!(
            token_start!(),
            r"(?:(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})"
        ),
    )
    .prefixed(),
    row(
        "anthropic_key",
        &["sk-ant-"],
        concat!(token_start!(), r"sk-ant-(?:api|admin|sid)[0-9]{2}-[A-Za-z0-9_-]{40,}"),
    )
    .prefixed(),
    row(
        "openai_key",
        &["T3BlbkFJ", "sk-proj-", "sk-admin-", "sk-svcacct-", "sk-None-"],
        concat!(
            b!(),
            r"sk-(?:(?:proj|admin|svcacct|None)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9_-]{10,}T3BlbkFJ[A-Za-z0-9_-]{10,})"
        ),
    ),
    // Tokens whose prefix names their vendor.
    row(
        "vendor_token",
        &[
            "npm_",
            "pypi-ag",
            "rubygems_",
            "CLOJARS_",
            "SG.",
            "key-",
            "xkeysib-",
            "shpat_",
            "shpca_",
            "shppa_",
            "shpss_",
            "dp.",
            "hvs.",
            "hvb.",
            "hvr.",
            "HRKU-",
            "_v1_",
            "ATATT",
            "ATCTT",
            "ATBB",
            "hf_",
            "api_org_",
            "sgp_",
            "sgph_",
            "sntrys_",
            "sntryu_",
            "glc_",
            "glsa_",
            "eyJrIjoi",
            "dapi",
            "dt0c01.",
            "EZAK",
            "EZTK",
            "EAA",
            "sq0",
            "NRAK-",
            "NRJS-",
            "NRII-",
            "NRRA-",
            "ntn_",
            "lin_api_",
            "PMAK-",
            "pul-",
            "pnu_",
            "pscale_",
            "fo1_",
            "fm1",
            "fm2",
            "ico-",
            "s-s4t2",
            "rdme_",
            "tk-us-",
            "sm_",
            "shippo_",
            "tfp_",
            "duffel_",
            "fio-u-",
            "FLW",
            "ops_eyJ",
            "A3-",
            "AKCp",
            "cmVmd",
            "p8e-",
            "v1.0-",
            "pplx-",
            "xai-",
            "gsk_",
            "r8_",
            "lsv2_",
            "tskey-",
            "sbp_",
            "rzp_",
            "live_",
            "test_",
            "nfp_",
            "API-",
            "sha256~",
            "_sc",
            "sc_",
            "t1.",
            "AQVN",
            "sk_",
            "SK",
            "sqp_",
            "squ_",
            "sqa_",
            "pat.",
            "LTAI",
            "sk.",
            "4b1d",
        ],
        concat!(
            b!(),
            r"(?:",
            r"npm_[A-Za-z0-9]{36}",
            r"|pypi-AgE[IN][A-Za-z0-9_-]{50,}",
            r"|rubygems_[a-f0-9]{48}",
            r"|CLOJARS_[a-z0-9]{60}",
            r"|SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_=-]{16,64}",
            r"|key-[a-z0-9]{32}",
            r"|xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}",
            r"|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
            r"|dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}",
            r"|hv[sbr]\.[A-Za-z0-9_-]{24,}",
            r"|HRKU-[A-Za-z0-9_-]{58,}",
            r"|do[opr]_v1_[a-f0-9]{64}",
            r"|AT(?:ATT|CTT)[A-Za-z0-9_=-]{20,}",
            r"|ATBB[A-Za-z0-9]{20,}",
            r"|hf_[A-Za-z0-9]{34,}",
            r"|api_org_[A-Za-z0-9]{34}",
            r"|sgph?_(?:[a-fA-F0-9]{16}_)?[a-fA-F0-9]{40}",
            r"|sntry[su]_[A-Za-z0-9+/=_]{40,}",
            r"|glc_[A-Za-z0-9+/]{32,}={0,2}",
            r"|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
            r"|eyJrIjoi[A-Za-z0-9]{50,}={0,2}",
            r"|dapi[a-f0-9]{32}(?:-[0-9])?",
            r"|dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",
            r"|EZ[AT]K[A-Za-z0-9]{54}",
            r"|EAA[A-Za-z0-9]{90,}",
            r"|(?:sandbox-)?sq0(?:atp|csp|idb|ige|idp)-[A-Za-z0-9_\\-]{22,}",
            r"|EAAA[A-Za-z0-9_=+-]{60}",
            r"|NR(?:AK|JS|II|RA)-[A-Za-z0-9]{19,32}",
            r"|ntn_[0-9]{11}[A-Za-z0-9]{32,35}",
            r"|lin_api_[A-Za-z0-9]{40}",
            r"|PMAK-[a-f0-9]{24}-[a-f0-9]{34}",
            r"|pul-[a-f0-9]{40}",
            r"|pnu_[A-Za-z0-9]{36}",
            r"|pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}",
            r"|fo1_[A-Za-z0-9_-]{43}",
            r"|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3}",
            r"|ico-[A-Za-z0-9]{32}",
            r"|s-s4t2(?:ud|af)-[a-f0-9]{64}",
            r"|rdme_[a-z0-9]{70}",
            r"|tk-us-[A-Za-z0-9_-]{48}",
            r"|sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}",
            r"|shippo_(?:live|test)_[a-f0-9]{40}",
            r"|tfp_[A-Za-z0-9_.=-]{59}",
            r"|duffel_(?:test|live)_[A-Za-z0-9_=-]{43}",
            r"|fio-u-[A-Za-z0-9_=-]{64}",
            r"|FLW(?:PUB|SEC)K(?:_TEST)?-[a-h0-9]{12,32}(?:-X)?",
            r"|ops_eyJ[A-Za-z0-9+/]{250,}={0,3}",
            r"|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}",
            r"|AKCp[A-Za-z0-9]{69}",
            r"|cmVmd[A-Za-z0-9]{59}",
            r"|p8e-[A-Za-z0-9]{32}",
            r"|v1\.0-[a-f0-9]{24}-[a-f0-9]{146}",
            r"|pplx-[A-Za-z0-9]{48}",
            r"|xai-[A-Za-z0-9]{80}",
            r"|gsk_[A-Za-z0-9]{52}",
            r"|r8_[A-Za-z0-9]{37}",
            r"|lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}",
            r"|tskey-[a-z]+-[A-Za-z0-9]+-[A-Za-z0-9]+",
            r"|sbp_[a-f0-9]{40}",
            r"|rzp_(?:live|test)_[A-Za-z0-9]{14}",
            r"|(?:live|test)_(?:pub_)?[a-f0-9]{35}",
            r"|nfp_[A-Za-z0-9]{36}",
            r"|API-[A-Z0-9]{26}",
            r"|sha256~[A-Za-z0-9_-]{43}",
            r"|(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}",
            r"|t1\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]{86}={0,2}",
            r"|AQVN[A-Za-z0-9_-]{35,38}",
            r"|sk_[a-f0-9]{48}",
            r"|SK[0-9a-fA-F]{32}",
            r"|sq[pua]_[A-Za-z0-9]{40}",
            r"|pat\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}",
            r"|LTAI[A-Za-z0-9]{12,24}",
            r"|sk\.eyJ[A-Za-z0-9._-]{60,240}|sk\.[A-Za-z0-9]{3}\.[A-Za-z0-9.-]{76,236}",
            r"|4b1d[A-Za-z0-9]{38}",
            r")",
            b!()
        ),
    )
    .prefixed(),
    // Tokens whose vendor's mark is inside them: Terraform's `.atlasv1.`, New Relic's
    // `…NRAL`.
    row(
        "vendor_token",
        &["atlasv1", "NRAL"],
        concat!(
            b!(),
            r"(?:[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}|[A-Za-z0-9]{30,40}NRAL)",
            b!()
        ),
    ),
    // An id and its secret assigned together to a vendor's name, as a tuple or a list
    // (`github = ('9c14…', 'caa3…')`, `[]string{"AC1f…", "e4b7…"}`): both items, the
    // second whatever its alphabet (a legacy 40-hex token), when the first reads as a
    // credential. Before the single value, which would take the first item alone.
    row(
        "vendor_token",
        VENDOR_NAMES,
        concat!(
            vendor_name!(),
            r#"[a-z0-9_.-]{0,24}["'`]?[ \t]*(?:=>|:=|[:=])[^"'`\r\n=]{0,16}?["'`]"#,
            r#"(?P<secret1>[A-Za-z0-9][A-Za-z0-9_+/=.-]{15,})["'`][ \t]*,[ \t]*["'`]"#,
            r#"(?P<secret2>[A-Za-z0-9][A-Za-z0-9_+/=.-]{15,})["'`]"#,
        ),
    )
    .prefixed()
    .checked(checks::vendor_pair),
    // A token right after its vendor's name, the way detectors that look for a keyword
    // nearby find them (`sourcegraph: 6d2F…`, `jira Z7Vo…`, `mailgun 'gRtZ…'`): the name
    // (and the rest of a key: `github_api_key`), an optional assignment or quote, and a
    // value that reads as a credential ([`checks::vendor_value`]: 16+ characters, letters
    // and digits, not a hash, a host or a URL).
    row(
        "vendor_token",
        VENDOR_NAMES,
        concat!(
            vendor_name!(),
            r#"[a-z0-9_.-]{0,24}(?:\\*["'`])?[ \t]*(?:=>|:=|[:=])?[ \t]*(?:\\*["'`])?"#,
            r#"(?P<secret>[A-Za-z0-9][A-Za-z0-9_+/=.-]{15,})"#,
            b!(),
        ),
    )
    .prefixed()
    .checked(checks::vendor_value),
    // Facebook app access tokens `<app id>|<secret>` next to the vendor's name; Sidekiq
    // Enterprise credentials under their Bundler key.
    row(
        "vendor_token",
        &["facebook", "contribsys"],
        concat!(
            r"(?i)(?:facebook[^\r\n]{0,40}?(?P<secret1>[0-9]{15,16}(?:\||%7C)[A-Za-z0-9_-]{27,})",
            r#"|BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM[ \t]*[:=][ \t]*["'`]?(?P<secret2>[a-f0-9]{8}:[a-f0-9]{8}))"#
        ),
    ),
    row("vendor_token", &["-us"], concat!(b!(), r"[a-f0-9]{32}-us[0-9]{1,2}", b!())),
    row("vendor_token", &[":AA"], concat!(b!(), r"[0-9]{8,10}:AA[A-Za-z0-9_-]{32,33}", b!())),
    // Discord bot tokens: `<base64 user id>.<6>.<27-38>`.
    row(
        "vendor_token",
        &[],
        r"(?:^|[^A-Za-z0-9_.-])(?P<secret>[A-Za-z0-9=][A-Za-z0-9_-]{22,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})(?:[^A-Za-z0-9_.-]|$)",
    )
    .gated(checks::dotted_six),
    // Legacy HashiCorp Vault service tokens: `s.` and 24 random letters and digits, or
    // 16 or more with Vault named within two lines.
    row(
        "vendor_token",
        &[],
        r"(?:^|[^A-Za-z0-9_./-])(?P<secret>s\.[A-Za-z0-9]{16,24})(?:[^A-Za-z0-9_./-]|$)",
    )
    .checked(checks::vault_token)
    .gated(checks::vault_legacy)
    .lines(2, 2),
    // A quoted string of 32 or more base64 characters that reads as random (mixed case and
    // digits, 4.5 bits a character or more, not hex): a credential with no prefix or key
    // to name it ([`entropy`]).
    row(
        "high_entropy_string",
        &[],
        r#"["'`](?P<secret>[A-Za-z0-9+/_-]{32,}={0,2})(?:["'`]|\\)"#,
    )
    .checked(entropy::quoted_value_is_random)
    .gated(entropy::quoted_random),
    // A cookie header (`Cookie: a=1; b=2`), or one inside quoted text: the value to the
    // end of the line or the closing quote.
    row(
        "http_header",
        &["cookie"],
        concat!(
            r"(?i)",
            b!(),
            r"(?:set-cookie|cookie)",
            q!(),
            r"[ \t]*[:=][ \t]*",
            q!(),
            r#"(?P<secret>(?:[^\r\n"'\\&]|&[^q#\r\n])+)"#
        ),
    )
    .prefixed(),
    // A credential header: after a one-token scheme (or none) the credential is one token,
    // so what follows on the line (`; ALTER ROLE … PASSWORD '…'`) is left for the other
    // rules; quoted, it runs to the closing quote; Digest and AWS4 parameters to the end.
    row(
        "http_header",
        &["authorization", "x-api-key", "x-auth-token"],
        concat!(
            r"(?i)",
            b!(),
            r"(?:proxy-authorization|authorization|x-api-key|x-auth-token)",
            q!(),
            r"[ \t]*[:=][ \t]*",
            r#"(?:\\*["'](?:(?:bearer|basic|token|negotiate|ntlm)[ \t]+)?(?P<secret_quoted>[^"'\r\n\\]+)"#,
            r"|(?:digest|aws4-hmac-sha256)[ \t]+",
            r#"(?P<secret>(?:[^\r\n"'\\&]|&[^q#\r\n])+)"#,
            r#"|(?:(?:bearer|basic|token|negotiate|ntlm)[ \t]+)?(?P<secret_token>[^\s"'\\;,&]+))"#
        ),
    )
    .prefixed(),
    row(
        "bearer_token",
        &["bearer"],
        concat!(r"(?i)", b!(), r"bearer\s+(?P<secret>[A-Za-z0-9._~+/-]{8,}=*)"),
    )
    .prefixed()
    .lines(0, 1),
    // `{"name": "DB_PASSWORD", "value": "x"}` in text, on one line or two, plain or
    // JSON-escaped; YAML `- name: X_TOKEN` / `value: "x"`.
    row(
        "key_value_secret",
        &["name"],
        concat!(
            r"(?i)",
            b!(),
            r"name",
            q!(),
            r"[ \t]*[:=][ \t]*",
            q!(),
            key!(),
            q!(),
            r"[ \t]*,?\s*",
            q!(),
            r"value",
            q!(),
            r"[ \t]*[:=][ \t]*",
            value!()
        ),
    )
    .prefixed()
    .lines(0, 2),
    // Ceph's `{"entity": "osd.0", "key": "…"}`.
    row(
        "key_value_secret",
        &["entity"],
        concat!(
            r"(?i)",
            b!(),
            r"entity",
            q!(),
            r"[ \t]*:[ \t]*",
            q!(),
            r"[A-Za-z0-9_.-]+",
            q!(),
            r"[ \t]*,?\s*",
            q!(),
            r"key",
            q!(),
            r"[ \t]*:[ \t]*",
            value!()
        ),
    )
    .prefixed()
    .lines(0, 2),
    // `<add key="Password" value="x" />` (NuGet, .NET config).
    row(
        "key_value_secret",
        &["value="],
        concat!(r#"(?i)key=["']"#, key!(), r#"["'][ \t]+value=["'](?P<secret>[^"'\r\n]+)["']"#),
    )
    .prefixed(),
    // `<password>x</password>`, `<secret>{AQAAABAAA …}</secret>`, `<dbToken>\n x\n</dbToken>`:
    // found by the end tag's `</`, up to two lines below the start tag.
    row(
        "key_value_secret",
        &["</"],
        concat!(
            r"(?i)<",
            key!(),
            r#"(?:[ \t][^<>]*)?>[ \t]*\r?\n?[ \t]*(?P<secret>[^<\s](?:[^<\r\n]*[^<\s])?)[ \t]*\r?\n?[ \t]*</"#
        ),
    )
    .lines(2, 0),
    // `System.setProperty("X_TOKEN", "x")`, `("basicauthuser", "x")`.
    row(
        "key_value_secret",
        &["pass", "pwd", "secret", "token", "key", "credential", "auth"],
        concat!(
            r#"(?i)["']"#,
            key!(),
            r#"["'][ \t]*,[ \t]*["'](?P<secret>[^"'\r\n]+)["'][ \t]*\)"#
        ),
    )
    .requires(&[")"])
    .assigned(),
    // A key at the start of a line, YAML style (`password: two words`): the bare value
    // runs to the end of the line, before a ` # comment`.
    row(
        "key_value_secret",
        &["pass", "pwd", "secret", "token", "key", "credential", "auth"],
        concat!(
            r"(?mi)^[ \t]*(?:export[ \t]+|-[ \t]+)?",
            key!(),
            r#"[ \t]*:[ \t]*(?P<secret>[^\s"'`|>\[{=][^\r\n]*?)[ \t]*(?:[ \t]#[^\r\n]*)?\r?$"#
        ),
    )
    .assigned(),
    // `password=x`, `"client_secret": "x"`, `?access_token=x&...`, `PGPASSWORD=x`,
    // `dbPass := "x"`, `$token .= "x"`, `secrete[] = "x"`, `os.environ["API_KEY"] = 'x'`,
    // `if (api_key == "x")`, `token - 'x'`, after a JSON escape (`\npassword=x`).
    row(
        "key_value_secret",
        &["pass", "pwd", "secret", "token", "key", "credential", "auth"],
        concat!(
            r"(?i)(?:\\[nrt]|",
            b!(),
            r")",
            key!(),
            r"(?:\[[0-9]*\])?",
            q!(),
            r"\]?",
            // Go's `var xToken string = "x"`.
            r"(?:[ \t]+(?:string|String|str|&str|\[\]byte))?",
            assign!(),
            value!()
        ),
    )
    .checked(checks::key_not_in_path)
    .assigned()
    .key_first(),
    // SQL: `ALTER ROLE app PASSWORD 'x'`, `IDENTIFIED BY 'x'`; inside a string literal
    // (a query that quotes one) the quotes are doubled: `'... PASSWORD ''x'' ...'`.
    row(
        "key_value_secret",
        &["password", "identified"],
        concat!(r"(?i)", b!(), r"(?:password|identified\s+by)\s+(?:''(?P<secret_nested>[^'\r\n]+)''|'(?P<secret>(?:[^'\r\n]|'')+)')"),
    )
    .prefixed()
    .requires(&["'"]),
    // `password "x";`, `secrete "x"`, `token - 'x'`: a key and a quoted value with only
    // blanks (or a dash) between.
    row(
        "key_value_secret",
        &["pass", "pwd", "secret", "token", "key", "credential", "auth"],
        concat!(r"(?i)", b!(), key!(), r"[ \t]+(?:-[ \t]+)?", quoted!()),
    )
    .checked(checks::key_not_in_path)
    .assigned()
    .key_first()
    .requires(&[" \"", " '", " `", " &", " \\", "\t"]),
    // `if ("x" == password)`: the value first.
    row(
        "key_value_secret",
        &["pass", "pwd", "secret", "token", "key", "credential", "auth"],
        concat!(r"(?i)", quoted!(), r"[ \t]*(?:===?|!==?)[ \t]*", key!(), b!()),
    )
    .requires(&["==", "!="]),
    // `curl -u user:password`, also after `\`-continued lines; `docker login -p x`.
    row(
        "key_value_secret",
        &["curl", "login"],
        concat!(
            r#"(?:"#,
            b!(),
            r#"curl(?:[^\r\n]|\\\r?\n)*?[ \t](?:-u|--user)[ \t=]+["']?[^\s:"']*:(?P<secret1>[^\s"']+)"#,
            r#"|"#,
            b!(),
            r#"(?:docker|podman|nerdctl|buildah) login(?:[^\r\n]|\\\r?\n)*?[ \t](?:-p|--password)[ \t=]+(?P<secret2>[^\s"']+))"#
        ),
    )
    .prefixed()
    .lines(0, 4)
    .requires(&["-u", "--user", "-p", "--password"]),
    // The values of a Kubernetes Secret's `data:` / `stringData:` map in YAML, whatever
    // their keys: the header line, then [`blocks::secret_data`] reads the block below it.
    row("key_value_secret", &[], r"(?mi)^[ \t]*(?:data|stringdata):[ \t]*\r?$")
        .heading(blocks::secret_data)
        .gated(checks::data_header)
        .lines(40, 200),
    // Contiguous digits, or the groupings cards are printed in (4-4-4-4[-3], 4-6-5,
    // 4-6-4), so a card next to other numbers is still found whole.
    row(
        "credit_card",
        &[],
        concat!(
            b!(),
            r"(?:[0-9]{13,19}|[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}(?:[ -][0-9]{3})?|[0-9]{4}[ -][0-9]{6}[ -][0-9]{4,5})",
            b!()
        ),
    )
    .checked(checks::card_number)
    .gated(checks::card_length_digit_run),
    // A PEM block cut before its END line, redacted up to its last line of base64 (or
    // `Name: value` header), ending where a line or a quoted string ends. Indented lines
    // and space-separated runs count only when 16 characters or longer (a PEM line is 64),
    // so a following `  status=200` is not taken for one. It runs after every other rule:
    // a run of base64 would otherwise stop inside a following secret (`ghp_…` read as
    // base64 up to `_`) and leave half of it behind (property test).
    row(
        "private_key",
        &["-----begin"],
        concat!(
            r"(?P<secret>-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
            r"(?:(?:\r?\n|(?:\\+r)?\\+n)(?:[A-Za-z0-9+/=]+|[A-Za-z-]+: [^\r\n\\]*|[ \t]+[A-Za-z0-9+/=]{16,})| [A-Za-z0-9+/=]{16,})*",
            r"(?: [A-Za-z0-9+/=]{1,15})?",
            r#")(?:(?m:$)|[\\"'<,;)}\]])"#,
        ),
    )
    .lines(0, PEM_LINES),
];

static EMAIL: LazyLock<Rule> = LazyLock::new(|| {
    Rule::from_spec(&row(
        "email",
        &["@"],
        concat!(b!(), r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", b!()),
    ))
});

static IP: LazyLock<[Rule; 2]> = LazyLock::new(|| {
    [
        Rule::from_spec(
            &row(
                "ipv4",
                &[],
                concat!(
                    b!(),
                    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
                    b!()
                ),
            )
            .checked(checks::ipv4),
        ),
        Rule::from_spec(
            &row(
                "ipv6",
                &[],
                r"(?i)(?:[0-9a-f]{1,4}:|::)[0-9a-f:]*:[0-9a-f:.]*(?:%[0-9a-z]+)?",
            )
            .checked(checks::ipv6),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What the rules with `id` replace, applied in order as the redactor does: a later
    /// rule's match over an earlier one's is not counted.
    fn found(id: &str, text: &str) -> Vec<String> {
        let mut taken: Vec<std::ops::Range<usize>> = Vec::new();
        let mut out = Vec::new();
        for rule in builtin_rules(true, true).iter().filter(|r| r.id == id) {
            for m in rule.secrets(text) {
                if !taken.iter().any(|t| t.start < m.end && m.start < t.end) {
                    out.push(text[m.clone()].to_owned());
                    taken.push(m);
                }
            }
        }
        out
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
    fn key_values_find_the_value_in_every_quoting_and_syntax() {
        for (text, secret) in [
            ("password=hunter22 next", "hunter22"),
            ("DB_PASSWORD: 'two words'", "two words"),
            (r#"{"client_secret":"a\"b c"}"#, r#"a\"b c"#),
            (r#"log {\"api_key\":\"k-123\"} end"#, "k-123"),
            ("GET /cb?code=1&access_token=abc.def&x=1", "abc.def"),
            ("token => xyzzy1", "xyzzy1"),
            ("x secret_key=zzz", "zzz"),
            ("ALTER ROLE app PASSWORD 'it''s'", "it''s"),
            ("SELECT 'ALTER ROLE app PASSWORD ''pw12345678'''", "pw12345678"),
            ("note <> 'client_secret=''ok5YT1xpu+4buvHM8'' x'", "ok5YT1xpu+4buvHM8"),
            ("dbPass := `s3cr3t-v4l`", "s3cr3t-v4l"),
            ("\"private_key_id\": \"abc12345def67890ghi\",", "abc12345def67890ghi"),
            ("x mailgun_TOKEN ?= \"abc123def\"", "abc123def"),
            ("x TOKEN :::= \"abc123def\"", "abc123def"),
            ("$jiraToken .= \"7wlkzljr1as31e24\"", "7wlkzljr1as31e24"),
            ("System.setProperty(\"CLOUDFLARE_TOKEN\", \"7b30fe2372\")", "7b30fe2372"),
            ("var xToken string = \"ndg2pgghe7\"", "ndg2pgghe7"),
            ("<password>hunter22</password>", "hunter22"),
            ("<add key=\"ClearTextPassword\" value=\"TestSource\" />", "TestSource"),
            ("  password_super_secure: value with spaces", "value with spaces"),
            (
                "x apikey = m{{h}o)p${e]nob(ody[finds>-_$#thisone}}",
                "m{{h}o)p${e]nob(ody[finds>-_$#thisone}}",
            ),
            ("if (\"v4lue-s3cret\" == password) {", "v4lue-s3cret"),
            ("x password \"quoted1\";", "quoted1"),
            ("{\"msg\":\"boot\\npassword=abc123\\tx\"}", "abc123"),
            ("curl -s -u elastic:P@ssw0rd$1 https://localhost:9200", "P@ssw0rd$1"),
            ("docker login r.io -u me -p Ljc+1lq0U0+c3jHlM", "Ljc+1lq0U0+c3jHlM"),
        ] {
            assert_eq!(found("key_value_secret", text), [secret], "{text}");
        }
        for text in [
            "max_tokens=512",
            "token_count: 3",
            "password authentication failed",
            "auth: token expired for session, please sign in again",
            "sort_key=created_at",
            "password_required=true",
        ] {
            assert!(found("key_value_secret", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn name_value_pairs_are_found_on_one_line_or_two() {
        for (text, secret) in [
            (r#"{"name":"MYSQL_PASSWORD","value":"s3cr3t"}"#, "s3cr3t"),
            ("\"name\": \"PASSWORD\"\n\"value\": \"secret123\"", "secret123"),
            ("- name: FACEBOOK_TOKEN\n\t\tvalue: \"EAACEd\"", "EAACEd"),
            (r#"{\"name\":\"DB_PASSWORD\",\"value\":\"pw99\"}"#, "pw99"),
            ("\"entity\": \"osd.1\"\n\"key\": \"Gjt8s0Wkf==\"", "Gjt8s0Wkf=="),
        ] {
            assert_eq!(found("key_value_secret", text), [secret], "{text}");
        }
        assert!(found("key_value_secret", r#"{"name":"PORT","value":"5432"}"#).is_empty());
    }

    #[test]
    fn vendor_tokens_are_found_by_their_prefix() {
        for token in [
            "npm_3g57pgctamjipontgzf14yfdekple3pxj18k",
            "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",
            "SK201eb1dce8e7ea3ac30b4e19f0a6c403",
            "key-dirirygl04i92ww1uuvz9owuc9sb0fpm",
            "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",
            "dp.pt.xcis79pf38hiea2nl4ywo0c5gca8u6jd67vh7s3qse9",
            "hvs.0yknRyRdicVQHJtC6hevD3_xah6m3nkFGSwjjA",
            "dop_v1_000058b9b1d08fd182054b6f4c0b6e18dec46064caf1edb3400d3b3a05687c67",
            "110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw",
            "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
            "ATATThktLkSzzcXi1xt19IlU6gAchV1TS83w11YOqAXqFUeA2=Yx3ssoNC",
        ] {
            let text = format!("sent with {token} now");
            assert_eq!(found("vendor_token", &text), [token], "{text}");
        }
        assert_eq!(
            found("stripe_key", "k sk_prod_k2qdi37k5nnpxeo6a2xw"),
            ["sk_prod_k2qdi37k5nnpxeo6a2xw"]
        );
        assert_eq!(
            found("url_credentials", "dbuser:thisisasecret@tcp(db:3309)/blog"),
            ["thisisasecret"]
        );
        assert_eq!(found("jwt", "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0 x").len(), 1);
    }

    #[test]
    fn tokens_right_after_their_vendor_name_are_found_and_names_are_not() {
        for (text, token) in [
            (
                "sourcegraph: 6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3",
                "6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3",
            ),
            ("jira Z7VoIYJ0K4rFWLBfkhOsLAWX  ", "Z7VoIYJ0K4rFWLBfkhOsLAWX"),
            ("mailgun 'gRtZTX7RaarK8pXdNcUBDcgvmIP6qiX5' pass", "gRtZTX7RaarK8pXdNcUBDcgvmIP6qiX5"),
            ("GITHUB_API = \"9c14koUc3f04PrzlpCcUx\"", "9c14koUc3f04PrzlpCcUx"),
            ("[DEBUG] Using ID=LTAIXgRPqwF1DhBf6Q1uZ5DrM", "LTAIXgRPqwF1DhBf6Q1uZ5DrM"),
            (
                "<id>{azure bhIIhGTLlW7gLxy4rM93gLPaPFwdRajJX}</id>",
                "bhIIhGTLlW7gLxy4rM93gLPaPFwdRajJX",
            ),
            ("vault_api_token = \"s.2J18LwCaJFYEZFAssFy6TB4Z\"", "s.2J18LwCaJFYEZFAssFy6TB4Z"),
            ("token: s.ZC9Ecf4M5g9o34Q6RkzGsj0z", "s.ZC9Ecf4M5g9o34Q6RkzGsj0z"),
            (
                "\ts.1234567890abcdefddd\n\thttps://vault-cluster-abc123.hashicorp.cloud:8200",
                "s.1234567890abcdefddd",
            ),
        ] {
            assert_eq!(found("vendor_token", text), [token], "{text}");
        }
        let mapbox = format!("mapbox sk.{}", "nc7.R5t.P5a.bnM.".repeat(6));
        assert_eq!(found("vendor_token", &mapbox).len(), 1, "{mapbox}");
        for text in [
            "github commit 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49 merged",
            "sentry: ingest.eu-west-1.sentry.io",
            "gitlab runner-20251119-ab started",
            "Statuspage: Twilio API degraded performance since 2025-11-19T20:58:00Z",
            "datadog monitor checkout_latency_p95 alert",
            "azure region westeurope, resource group checkout-prod",
            // A legacy Vault token's shape, but a word, a path or a field name.
            "metrics.requestsPerSecondTotal1234 up",
            "see s.abcdefghijklmnopqrstuvwx for details",
            "loaded /srv/s.K2qdi37k5nnpxeo6a2xwAb12",
            "vault: unsealed; see s.handbook and s.1234567890abcdef12345678x9",
        ] {
            assert!(found("vendor_token", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn an_id_and_secret_assigned_together_are_both_found() {
        for (text, id, secret) in [
            (
                "github = '9c14koUc3f04PrzlpCcU', 'caa3224b5ddb83924e6a487ee3f6543bae428309'",
                "9c14koUc3f04PrzlpCcU",
                "caa3224b5ddb83924e6a487ee3f6543bae428309",
            ),
            (
                r#"TWILIO_CREDS := []string{"AC1f2e3d4c5b6a79881f2e3d4c5b6a7988", "e4b7c1d9a2f35e6b8c0d1a2b3c4d5e6f"}"#,
                "AC1f2e3d4c5b6a79881f2e3d4c5b6a7988",
                "e4b7c1d9a2f35e6b8c0d1a2b3c4d5e6f",
            ),
            (
                r#"datadog_keys: ("k9Xq2Lw8Rt5Zp3Vn", "0a1b2c3d4e5f60718293a4b5c6d7e8f9")"#,
                "k9Xq2Lw8Rt5Zp3Vn",
                "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            ),
        ] {
            let got = found("vendor_token", text);
            assert!(
                got.iter().any(|g| g == id) && got.iter().any(|g| g == secret),
                "{text}: {got:?}"
            );
        }
        // Two commits, or names, in a pair are not an id and its secret.
        for text in [
            "github_shas = 'ffac537e6cbbf934b08745a378932722df287a53', '3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49'",
            "sentry = 'ingest.eu-west-1.sentry.io', 'checkout-api-production'",
        ] {
            assert!(found("vendor_token", text).is_empty(), "{text}");
        }
    }

    #[test]
    fn quoted_random_strings_are_found_and_quoted_ids_are_not() {
        let blob =
            "I6FwzQZFL9l-44nviI1F04OTmorMaVQf9GS4Oe07qxL_vNkW6CRas4Lo42vqJMT0M6riJfma_f-pTAuoX2U=";
        for text in [
            format!("\"{blob}\""),
            format!("cursor = '{blob}'"),
            format!(r#"{{"level":"error","msg":"retry with \"{blob}\" failed"}}"#),
            format!("x-session `{blob}`"),
        ] {
            assert_eq!(found("high_entropy_string", &text), [blob], "{text}");
        }
        for text in [
            r#"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","sha":"ffac537e6cbbf934b08745a378932722df287a53"}"#,
            r#"{"request_id":"0f8fad5b-d9cb-469f-a165-70867728950e","handler":"getUserByIdAndOrganizationIdFromCache2"}"#,
            r#"{"path":"/api/v1/orders/9c14koUc3f04PrzlpCcUx/items/caa3224b5ddb8392"}"#,
            r#"{"class":"org.springframework.web.servlet.DispatcherServlet"}"#,
        ] {
            assert!(found("high_entropy_string", text).is_empty(), "{text}");
        }
        // Hex with nothing naming it, alone on its line, is judged like base64.
        let hex = "2b00042f7481c7b056c4b410d28f33cf";
        assert_eq!(found("high_entropy_string", &format!("keys = [\n  \"{hex}\",\n]")), [hex]);
        assert!(found("high_entropy_string", &format!("sha \"{hex}\",")).is_empty());
    }

    #[test]
    fn header_values_are_found_to_the_end_of_the_line_after_the_scheme() {
        assert_eq!(found("http_header", "Authorization: Bearer abc.def\r\nHost: x"), ["abc.def"]);
        assert_eq!(
            found(
                "http_header",
                "Authorization: Bearer abcdefgh12345678; ALTER ROLE app PASSWORD 'x'"
            ),
            ["abcdefgh12345678"]
        );
        let token = format!("ghp_{}", "Ab1".repeat(12));
        for name in [format!("db/migrations/001_{token}.sql"), format!("key_{token}")] {
            assert_eq!(found("github_token", &name), [format!("_{token}")], "{name}");
        }
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
    fn the_tail_of_a_pem_block_without_its_begin_line_is_found_up_to_its_end_line() {
        let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun";
        let tail = format!("{body}\n{body}\nVs9M0Ow==\n-----END RSA PRIVATE KEY-----");
        // An excerpt's context lines: a record before, the tail, a later record after.
        let text =
            format!("2025-11-19T21:00:00Z ERROR boot\n{tail}\n2025-11-19T21:00:01Z INFO next");
        assert_eq!(found("private_key", &text), [tail.as_str()]);
        // Indented, as in YAML or a stack trace; CRLF line ends.
        let indented = format!("  {body}\r\n  AB==\r\n  -----END PRIVATE KEY-----");
        assert_eq!(found("private_key", &format!("key: |\n{indented}\nnext")), [indented]);
        // A lone END line, and a short word above a tail, are not a key's body.
        assert!(found("private_key", "done\n-----END PRIVATE KEY-----").is_empty());
        let short = format!("Traceback\n{body}\n-----END PRIVATE KEY-----");
        assert_eq!(found("private_key", &short), [format!("{body}\n-----END PRIVATE KEY-----")]);
    }

    #[test]
    fn a_cut_pem_block_never_reaches_a_later_end_line() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n2025-11-19T21:00:00Z ERROR pid=1 GET /x\n-----END RSA PRIVATE KEY-----";
        assert_eq!(found("private_key", text), ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow"]);
    }

    #[test]
    fn a_key_first_rule_finds_what_its_whole_capture_search_finds() {
        let lines = [
            r#"{"token_count":512,"max_tokens":4096,"password_required":true,"password":"hunter2x"}"#,
            r#"{\"msg\":\"x\npassword=hunter22\tapi_key: AbCd1234EfGh5678\"}"#,
            "count_\u{17f}_token=hunter22 db.password.=s3cretvalue x-token - 'abc123def'",
            "sort_key=created_at cache_key=orders:17 aws_secret_key: \"Zx9Qw8Er7Ty6Ui5Op4As\"",
            "password_changed_at=2025-11-01T08:00:00Z token \"t0k3n-value-1234\" secret 'x'",
        ];
        let mut found = 0;
        for rule in builtin_rules(false, false).into_iter().filter(|r| r.key_first) {
            let mut whole = rule.clone();
            whole.key_first = false;
            for line in lines {
                let fast: Vec<_> = rule.secrets(line).collect();
                assert_eq!(fast, whole.secrets(line).collect::<Vec<_>>(), "{line}");
                found += fast.len();
            }
        }
        assert!(found >= 6, "{found}");
    }

    #[test]
    fn a_row_is_compiled_when_a_text_first_needs_it_and_every_row_compiles() {
        let rows: Vec<Rule> = TABLE.iter().map(Rule::from_spec).collect();
        assert!(rows.iter().all(|r| !r.pattern.is_compiled()));
        let jwt = rows.iter().find(|r| r.id == "jwt").unwrap();
        assert_eq!(jwt.secrets("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl").count(), 1);
        assert!(jwt.pattern.is_compiled());
        assert_eq!(rows.iter().filter(|r| r.pattern.is_compiled()).count(), 1);
        for rule in rows.iter().chain([&*EMAIL]).chain(IP.iter()) {
            rule.secrets("text").count();
            assert!(rule.pattern.is_compiled(), "{}", rule.id);
        }
    }
}
