//! The one redaction step every string passes through before it is written into a bundle:
//! evidence, raw artifacts, the trigger's payload, timeline, hypotheses and reports.
//!
//! A secret becomes a stable token, `[REDACTED:<rule>:<4 hex>]`: the hex is a keyed hash of
//! the value with a per-bundle key that is never stored, so within one bundle the same
//! secret always gives the same token (a responder can see "the same key appears in both
//! places") while nothing about the value leaves. The manifest records counts per rule,
//! never values.
//!
//! What is found: the built-in rules of [`BUILTIN_RULES`] (credentials in URLs, secret
//! key-values in the syntaxes of configs and code, auth headers, vendor tokens by their
//! prefixes, private keys, card numbers, and on request email and IP addresses), the
//! configured `rules` and `patterns`, and literal values (every secret read from
//! `*_env`/`*_file` during the run, and the configured literals) in the forms they take
//! in text. A value a rule found is also replaced wherever else it occurs in the same
//! text (`token = 'x' | 'x'`). In JSON, a value under a secret-named key (`password`,
//! `dbPassword`, `Authorization`, or the `value` of a `{"name": "DB_PASSWORD", ...}` pair)
//! is replaced whole.
//!
//! Cost: clean text costs one Aho-Corasick pass for the rules' keywords (`password`,
//! `bearer`, `-----begin`, `ghp_`, ...; exact ones such as `SK` and `EAA` checked on a
//! hit), one for the literals, and byte loops for the rules that have no keyword (a run
//! of 13 digits for card numbers, `.xxxxxx.` for Discord tokens). A rule with keywords
//! runs only on the lines around its keywords that its matches can reach, and a
//! key-value rule only where an assignment follows the keyword, so prose (`password
//! authentication failed`) costs nothing; IP addresses, when asked for, always run.
//! Redaction is idempotent: tokens are never matched again.

mod blocks;
mod checks;
mod entropy;
mod escaped;
mod json;
mod keys;
mod literals;
mod prefilter;
mod redacted;
mod rules;
mod sql;

use escaped::Reading;
pub use escaped::{Escaping, escape_html};
pub use literals::MIN_LITERAL_CHARS;
pub use redacted::Redacted;
pub use rules::{BUILTIN_RULES, RuleInfo};
pub use sql::{looks_like_sql, normalize_sql_literals};

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex, OnceLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use hmac::{Hmac, Mac};
use regex::Regex;
use serde::Deserialize;
use sha2::Sha256;

use literals::Literals;
use prefilter::Prefilter;
use rules::Rule;

/// `[redaction]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    /// Extra rules, applied after the built-in ones:
    /// `rules = [{ id = "acme_key", regex = 'acme_[a-z0-9]{32}', keywords = ["acme_"] }]`.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
    /// Extra patterns to redact (Rust regex syntax): each regex's whole match, or its group
    /// named `secret` when it has one, is replaced; counted as `custom`.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Names of environment variables whose values are redacted wherever they appear
    /// (values shorter than 4 characters are ignored).
    #[serde(default)]
    pub literal_envs: Vec<String>,
    /// Files whose contents (trimmed) are redacted wherever they appear.
    #[serde(default)]
    pub literal_files: Vec<std::path::PathBuf>,
    /// Also redact email addresses (default false: which user hit the error is often the
    /// evidence).
    #[serde(default)]
    pub emails: bool,
    /// Also redact IPv4 and IPv6 addresses (default false).
    #[serde(default)]
    pub ip_addresses: bool,
    /// Replace the literals of SQL query text in evidence (JSON fields named `query`,
    /// `query_text`, `statement`, `sql`) with parameters: `WHERE email = $1` (default
    /// false: literals are kept, and redacted only when a rule finds a secret in them).
    #[serde(default)]
    pub normalize_query_literals: bool,
}

/// One entry of `[redaction] rules`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The rule's name in tokens and counts (`[REDACTED:<id>:…]`): lowercase letters,
    /// digits and `_`.
    pub id: String,
    /// Rust regex syntax; the groups whose names start with `secret` (or the whole match
    /// when there are none) are replaced.
    pub regex: String,
    /// Words every match contains (matched in any case when all lowercase, else
    /// exactly): the regex runs only on texts that hold one. Without keywords it runs on
    /// every text.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// The problem with a regex a user configured, if any.
fn regex_problem(pattern: &str) -> Option<String> {
    match Regex::new(pattern) {
        Err(e) => Some(format!("not a valid regex: {e}")),
        Ok(re) if re.is_match("") => {
            Some("matches the empty string, so it would redact nothing useful".to_owned())
        }
        Ok(_) => None,
    }
}

impl RedactionConfig {
    /// Every problem, each with its key relative to `[redaction]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let patterns = self
            .patterns
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((format!("patterns[{i}]"), regex_problem(p)?)));
        let rules = self.rules.iter().enumerate().flat_map(|(i, rule)| {
            let id_ok = !rule.id.is_empty()
                && rule
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            let id = (!id_ok).then(|| {
                (format!("rules[{i}].id"), "lowercase letters, digits and `_` only".to_owned())
            });
            let regex = regex_problem(&rule.regex).map(|p| (format!("rules[{i}].regex"), p));
            let keywords = rule.keywords.iter().position(String::is_empty).map(|k| {
                (
                    format!("rules[{i}].keywords[{k}]"),
                    "an empty keyword matches every text".to_owned(),
                )
            });
            id.into_iter().chain(regex).chain(keywords)
        });
        let envs = self
            .literal_envs
            .iter()
            .enumerate()
            .filter(|(_, name)| name.is_empty() || name.contains('=') || name.contains('\0'))
            .map(|(i, _)| {
                (format!("literal_envs[{i}]"), "not an environment variable name".into())
            });
        patterns.chain(rules).chain(envs).collect()
    }

    /// The literal values named by `literal_envs` and `literal_files` that can be read.
    pub fn literals(&self) -> Vec<String> {
        let envs = self.literal_envs.iter().filter_map(|name| std::env::var(name).ok());
        let files = self
            .literal_files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .map(|s| s.trim().to_owned());
        envs.chain(files).filter(|v| v.chars().count() >= MIN_LITERAL_CHARS).collect()
    }
}

/// A redaction engine for one run (one bundle): its rules, the literal secrets known so far
/// and the key its tokens are made with. Cloning shares all of that, counts included;
/// [`Redactor::scope`] shares the engine with counts of its own.
#[derive(Clone)]
pub struct Redactor {
    rules: Arc<Vec<Rule>>,
    /// Which rules need to run on a text, from one pass over it.
    prefilter: Arc<Prefilter>,
    /// Grows while the run reads secrets ([`Redactor::add_literal`]).
    literals: Arc<RwLock<Literals>>,
    normalize_query_literals: bool,
    key: [u8; 32],
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("rules", &self.rules.len()).finish_non_exhaustive()
    }
}

/// A token this module wrote: never matched again.
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[REDACTED:[a-z0-9_]+:[0-9a-f]{4}\]").expect("the token pattern compiles")
});
const TOKEN_START: &str = "[REDACTED:";

/// Found values at least this long are also replaced where they occur again in the same
/// text; shorter ones could be ordinary words.
const MIN_ECHO_CHARS: usize = 8;

impl Redactor {
    /// A redactor with the built-in rules, the configured patterns and `literals` (secret
    /// values read while collecting), with a fresh per-bundle key.
    ///
    /// # Errors
    /// When a configured pattern does not compile (config validation reports it first).
    pub fn new(config: &RedactionConfig, literals: Vec<String>) -> Result<Self, regex::Error> {
        let mut rules = rules::builtin_rules(config.emails, config.ip_addresses);
        for rule in &config.rules {
            rules.push(Rule::build(&rule.id, &rule.regex, rule.keywords.clone())?);
        }
        for pattern in &config.patterns {
            rules.push(Rule::custom(Regex::new(pattern)?));
        }
        let prefilter = if config.rules.is_empty() && config.patterns.is_empty() {
            builtin_prefilter(&rules, config.emails, config.ip_addresses)
        } else {
            Arc::new(Prefilter::new(&rules))
        };
        Ok(Self {
            rules: Arc::new(rules),
            prefilter,
            literals: Arc::new(RwLock::new(Literals::new(
                literals.into_iter().chain(config.literals()),
            ))),
            normalize_query_literals: config.normalize_query_literals,
            key: rand::random(),
            counts: Arc::default(),
        })
    }

    /// A redactor with the built-in rules only and no literals: for tests, and for text
    /// witness handles before its configuration is read.
    /// The built-in rules are compiled once per process; each call gets its own literals,
    /// key and counts.
    pub fn builtin() -> Self {
        static BUILTIN: LazyLock<Redactor> = LazyLock::new(|| {
            Redactor::new(&RedactionConfig::default(), Vec::new())
                .expect("the built-in rules compile")
        });
        BUILTIN.for_bundle()
    }

    /// The same rules and literals with a fresh token key and counts of its own, for one
    /// run and its bundle: tokens of two bundles never match, so a token says nothing of
    /// its value across bundles. Literals added to it stay with it.
    pub fn for_bundle(&self) -> Self {
        let literals = self.literals.read().unwrap_or_else(|e| e.into_inner()).clone();
        Self {
            literals: Arc::new(RwLock::new(literals)),
            key: rand::random(),
            counts: Arc::default(),
            ..self.clone()
        }
    }

    /// The same engine (rules, literals) with `key` as its token key and counts of its
    /// own: for text whose tokens must stay the same across processes, such as the
    /// identity of an alert that a restarted daemon must still recognise. Literals added
    /// through it reach this redactor and the other way round.
    pub fn with_key(&self, key: [u8; 32]) -> Self {
        Self { key, counts: Arc::default(), ..self.clone() }
    }

    /// The same engine (rules, literals, token key) with counts of its own, starting at
    /// zero: one per collector and one per bundle file, so the manifest can say where each
    /// redaction was made. Literals added through any scope reach every scope.
    pub fn scope(&self) -> Self {
        Self { counts: Arc::default(), ..self.clone() }
    }

    /// Remembers `value` (a secret read while running: a DSN's password, a token from
    /// `*_env`/`*_file`) so that it is redacted wherever it appears from now on, in every
    /// form [`Literals`] knows. Values shorter than [`MIN_LITERAL_CHARS`] are ignored.
    pub fn add_literal(&self, value: &str) {
        if value.chars().count() < MIN_LITERAL_CHARS {
            return;
        }
        let mut literals = self.literals.write().unwrap_or_else(|e| e.into_inner());
        if literals.contains(value) {
            return;
        }
        let values = literals.values().iter().cloned().chain([value.to_owned()]);
        *literals = Literals::new(values.collect::<Vec<_>>());
    }

    /// `text` redacted, as [`Redacted`]: the only text witness transforms (cuts,
    /// normalises, escapes) or writes.
    pub fn redact(&self, text: &str) -> Redacted {
        Redacted(self.redact_text(text).into_owned())
    }

    /// `bytes` as text (invalid UTF-8 replaced), redacted.
    pub fn redact_bytes(&self, bytes: &[u8]) -> Redacted {
        self.redact(&String::from_utf8_lossy(bytes))
    }

    /// `value` as it may be shown beside `key` (a label, an annotation, a header): the
    /// whole value's token when the key names a secret (`db_password`, `Authorization`),
    /// else the value redacted as text, with the key in view (`token=…` in a value is
    /// found by the key-value rules).
    pub fn redact_pair(&self, key: &str, value: &str) -> Redacted {
        if let Some(rule) = keys::sensitive_key(key, value)
            && !is_token(value)
            && !value.is_empty()
        {
            self.count(rule, 1);
            return Redacted(self.token(rule, value));
        }
        let joined = format!("{key}={value}");
        let redacted = self.redact_text(&joined);
        match redacted.split_once('=') {
            Some((k, v)) if k == key => Redacted(v.to_owned()),
            _ => self.redact(value),
        }
    }

    /// The stable token for `value` found by `rule`.
    fn token(&self, rule: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("[REDACTED:{rule}:{}]", hex::encode(&digest[..2]))
    }

    fn count(&self, rule: &str, n: u64) {
        if n > 0 {
            *self
                .counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(rule.to_owned())
                .or_default() += n;
        }
    }

    /// `text` with every secret replaced by its token; borrowed when nothing was found.
    /// Where the text holds percent-escapes (`?q=token%20ghp_…`, `password%3Dx`), it is
    /// also read decoded, and a secret found there is replaced in the escaped text: an
    /// escape must not hide a secret from the rules.
    ///
    /// Only the lines holding a percent-escape, with the lines a match can reach from
    /// them, are decoded: a large text with one escaped URL costs one plain pass.
    pub fn redact_text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let regions = escaped::percent_regions(text);
        if regions.is_empty() {
            return self.redact_plain(text);
        }
        // Decoded first: read as is, `key:%20"value"` would take `%20` for the value. The
        // text is copied only when a secret was found there.
        let mut joined: Option<String> = None;
        let mut last = 0;
        for region in regions {
            let reading = Reading::Part { ends_text: region.end == text.len() };
            let decoded = self.redact_decoded(&text[region.clone()], Escaping::Url, reading);
            if let Cow::Owned(decoded) = decoded {
                let joined = joined.get_or_insert_with(|| String::with_capacity(text.len()));
                joined.push_str(&text[last..region.start]);
                joined.push_str(&decoded);
                last = region.end;
            }
        }
        let Some(mut joined) = joined else {
            return self.redact_plain(text);
        };
        joined.push_str(&text[last..]);
        // Then the whole text as is: the lines around the regions, and secrets across them.
        let redacted = match self.redact_plain(&joined) {
            Cow::Owned(s) => s,
            Cow::Borrowed(_) => joined,
        };
        if redacted == text { Cow::Borrowed(text) } else { Cow::Owned(redacted) }
    }

    /// [`Redactor::redact_text`] without reading percent-escapes.
    ///
    /// Rules with keywords run only on the lines around an occurrence of one of their
    /// keywords that their matches can reach (the keyword's line for most; the next two
    /// for a `{"name": …}` pair split over lines; up to 200 after a PEM header), so a
    /// large text costs the keyword pass plus the patterns over the few lines that need
    /// them. Rules without keywords run over the whole text.
    fn redact_plain<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        let literals = self.literals.read().unwrap_or_else(|e| e.into_inner());
        if let Some((replaced, _)) = self.splice(&out, "literal", literals.find(&out)) {
            out = Cow::Owned(replaced);
        }
        drop(literals);
        // Values the rules found, to be replaced wherever else they occur in this text.
        let mut found_values: Vec<(String, &str)> = Vec::new();
        let regions = self.prefilter.regions(&out);
        // The text is copied only from the first region where a rule found something.
        let mut joined: Option<String> = None;
        let mut last = 0;
        for region in regions {
            let part = &out[region.range.clone()];
            if let Cow::Owned(redacted) = self.apply(part, &region.runs, &mut found_values) {
                let joined = joined.get_or_insert_with(|| String::with_capacity(out.len() + 64));
                joined.push_str(&out[last..region.range.start]);
                joined.push_str(&redacted);
                last = region.range.end;
            }
        }
        if let Some(mut joined) = joined {
            joined.push_str(&out[last..]);
            out = Cow::Owned(joined);
        }
        let unkeyed = self.prefilter.unkeyed();
        if !unkeyed.is_empty() {
            let runs: Vec<(usize, Range<usize>)> =
                unkeyed.iter().map(|&rule| (rule, 0..out.len())).collect();
            if let Cow::Owned(replaced) = self.apply(&out, &runs, &mut found_values) {
                out = Cow::Owned(replaced);
            }
        }
        if !found_values.is_empty()
            && let Some(replaced) = self.replace_echoes(&out, &found_values)
        {
            out = Cow::Owned(replaced);
        }
        out
    }

    /// `text` after each rule of `runs` on its lines (`(rule, lines)`, in the order rules
    /// apply; lines of the text as given, moved along as earlier rules replace what they
    /// found); the values found are added to `found_values`.
    fn apply<'t, 'r>(
        &'r self,
        text: &'t str,
        runs: &[(usize, Range<usize>)],
        found_values: &mut Vec<(String, &'r str)>,
    ) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        let mut edits: Vec<prefilter::Edits> = Vec::new();
        for (rule, lines) in runs {
            let rule = &self.rules[*rule];
            let lines = prefilter::moved(lines.clone(), &edits);
            let part = &out[lines.clone()];
            if !rule.requires.is_empty() && !rule.requires.iter().any(|r| part.contains(r)) {
                continue;
            }
            let ranges: Vec<Range<usize>> =
                rule.secrets(part).map(|r| r.start + lines.start..r.end + lines.start).collect();
            if ranges.is_empty() {
                continue;
            }
            for range in &ranges {
                let value = &out[range.clone()];
                if value.len() >= MIN_ECHO_CHARS && !value.contains(TOKEN_START) {
                    found_values.push((value.to_owned(), &rule.id));
                }
            }
            let found = ranges.into_iter().map(|range| (range.clone(), &out[range]));
            if let Some((replaced, made)) = self.splice(&out, &rule.id, found) {
                out = Cow::Owned(replaced);
                edits.push(made);
            }
        }
        out
    }

    /// `text` with the other occurrences of values a rule found replaced too, each by its
    /// value's token under the rule that found it.
    fn replace_echoes(&self, text: &str, found: &[(String, &str)]) -> Option<String> {
        let values: Vec<&str> = found.iter().map(|(v, _)| v.as_str()).collect();
        let matcher =
            AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&values).ok()?;
        let mut out = Cow::Borrowed(text);
        // One rule id at a time, so each replacement is counted under its rule.
        let mut ids: Vec<&str> = found.iter().map(|(_, id)| *id).collect();
        ids.dedup();
        for id in ids {
            let hits = matcher
                .find_iter(out.as_ref())
                .filter(|m| found[m.pattern().as_usize()].1 == id)
                .map(|m| (m.range(), found[m.pattern().as_usize()].0.as_str()))
                .collect::<Vec<_>>();
            if let Some((replaced, _)) = self.splice(&out, id, hits.into_iter()) {
                out = Cow::Owned(replaced);
            }
        }
        match out {
            Cow::Owned(s) => Some(s),
            Cow::Borrowed(_) => None,
        }
    }

    /// `text` with each found range replaced by the token of its value, with the
    /// replacements made (`(range, token length)`, in order), or `None` when nothing was
    /// replaced. Ranges that start inside a token, or are one, are skipped
    /// (that is what keeps redaction idempotent); a range that takes in a token grows to
    /// cover it whole.
    fn splice<'v>(
        &self,
        text: &str,
        rule: &str,
        found: impl Iterator<Item = (Range<usize>, &'v str)>,
    ) -> Option<(String, prefilter::Edits)> {
        let tokens: Vec<Range<usize>> = if text.contains(TOKEN_START) {
            TOKEN.find_iter(text).map(|m| m.range()).collect()
        } else {
            Vec::new()
        };
        let mut out = String::new();
        let mut last = 0;
        let mut made = Vec::new();
        for (mut range, value) in found {
            if range.start < last {
                continue;
            }
            // A match that starts inside a token was made of the token's own text (its
            // rule id holds words like `token` and `secret`).
            let mut inside_token = false;
            for t in &tokens {
                if t.start < range.end && range.start < t.end {
                    inside_token |=
                        t.start < range.start || (t.start == range.start && range.end <= t.end);
                    range = range.start.min(t.start)..range.end.max(t.end);
                }
            }
            if inside_token || range.start < last {
                continue;
            }
            let value = if range.len() == value.len() { value } else { &text[range.clone()] };
            out.push_str(&text[last..range.start]);
            let token = self.token(rule, value);
            out.push_str(&token);
            made.push((range.clone(), token.len()));
            last = range.end;
        }
        if made.is_empty() {
            return None;
        }
        out.push_str(&text[last..]);
        self.count(rule, made.len() as u64);
        Some((out, made))
    }

    /// How many values each rule replaced so far.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The prefilter of the built-in rules alone (`rules`), with the optional ones asked
/// for: built once per process and shared by every redactor without configured rules, so
/// a run that makes several redactors builds the keyword automaton once, and the text all
/// of them scan pays for its DFA.
fn builtin_prefilter(rules: &[Rule], emails: bool, ip_addresses: bool) -> Arc<Prefilter> {
    static BUILT: [OnceLock<Arc<Prefilter>>; 4] = [const { OnceLock::new() }; 4];
    let at = usize::from(emails) * 2 + usize::from(ip_addresses);
    BUILT[at].get_or_init(|| Arc::new(Prefilter::new(rules))).clone()
}

/// `range` widened to whole lines, with `span.0` lines before and `span.1` after (each
/// with its `\n`).
fn lines_around(text: &str, range: Range<usize>, span: rules::Span) -> Range<usize> {
    widen(text, line_start(text, range.start)..line_end(text, range.end), span)
}

/// [`lines_around`] of a range whose lines are `lines` (from the start of the first to the
/// `\n` or end of the last).
fn widen(text: &str, lines: Range<usize>, (before, after): rules::Span) -> Range<usize> {
    let mut start = lines.start;
    for _ in 0..before {
        start = line_start(text, start.saturating_sub(1));
    }
    let mut end = lines.end;
    for i in 0..=after {
        if i > 0 {
            end = line_end(text, end);
        }
        if end == text.len() {
            break;
        }
        end += 1;
    }
    start..end
}

/// Where the line holding byte `at` starts.
fn line_start(text: &str, at: usize) -> usize {
    text.as_bytes()[..at].iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1)
}

/// Where the line holding byte `at` ends (its `\n`, or the end of the text).
fn line_end(text: &str, at: usize) -> usize {
    text.as_bytes()[at..].iter().position(|b| *b == b'\n').map_or(text.len(), |p| at + p)
}

/// Whether `s` is exactly one token.
fn is_token(s: &str) -> bool {
    s.starts_with(TOKEN_START) && TOKEN.find(s).is_some_and(|m| m.range() == (0..s.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor() -> Redactor {
        Redactor::new(&RedactionConfig::default(), vec!["s3cr3t-literal".into()]).unwrap()
    }

    #[test]
    fn the_same_secret_gets_the_same_token_and_counts_are_kept() {
        let r = redactor();
        let a = r.redact_text("postgres://app:hunter22@db:5432/x");
        let b = r.redact_text("retry postgres://app:hunter22@db:5432/x");
        assert!(!a.contains("hunter22") && !b.contains("hunter22"), "{a} {b}");
        let token = a.split("app:").nth(1).unwrap().split('@').next().unwrap().to_owned();
        assert!(token.starts_with("[REDACTED:url_credentials:"), "{a}");
        assert!(b.contains(&token));
        assert_eq!(r.counts()["url_credentials"], 2);
    }

    #[test]
    fn another_bundle_gives_the_same_secret_another_token() {
        let text = "password=hunter22";
        assert_ne!(redactor().redact_text(text), redactor().redact_text(text));
    }

    #[test]
    fn a_given_key_gives_the_same_token_in_every_process() {
        let text = "password=hunter22";
        let key = [7; 32];
        let (a, b) = (redactor().with_key(key), redactor().with_key(key));
        assert_eq!(a.redact_text(text), b.redact_text(text));
        assert_ne!(a.redact_text(text), redactor().redact_text(text));
    }

    #[test]
    fn literals_are_redacted_and_counted() {
        let r = redactor();
        let out = r.redact_text("token is s3cr3t-literal, again s3cr3t-literal");
        assert!(!out.contains("s3cr3t"), "{out}");
        assert_eq!(r.counts()["literal"], 2);
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let r = Redactor::new(
            &RedactionConfig { emails: true, ip_addresses: true, ..Default::default() },
            vec!["REDACTED".into(), "s3cr3t-literal".into()],
        )
        .unwrap();
        // The last line is a regression found by the `redact` fuzz target: the token's rule
        // id `bearer_token` read as a `token:` key on the second pass.
        let text = "Authorization: Bearer abcdefgh1234\npassword=s3cr3t-literal@x ann@example.com 10.0.0.1\nAuzhorization: Bearer abcdefgation: 78";
        let once = r.redact_text(text).into_owned();
        assert_eq!(r.redact_text(&once), once);
    }

    #[test]
    fn ordinary_evidence_is_untouched() {
        let r = redactor();
        for line in [
            "2025-11-19T21:00:00.123Z ERROR pid=4242 GET /api/orders/17 status=503 in 1234ms",
            "commit 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49 rolled out revision 41",
            "Nov 19 21:00:00 web-1 kernel: Out of memory: Killed process 1234 (java)",
        ] {
            assert_eq!(r.redact_text(line), line);
        }
        assert!(r.counts().is_empty());
    }

    #[test]
    fn both_items_of_a_vendor_pair_are_redacted_by_the_whole_table() {
        let r = redactor();
        for (text, id, secret) in [
            (
                "github = '9c14koUc3f04PrzlpCcU', 'caa3224b5ddb83924e6a487ee3f6543bae428309'",
                "9c14koUc3f04PrzlpCcU",
                "caa3224b5ddb83924e6a487ee3f6543bae428309",
            ),
            (
                r#"SENDGRID_PAIR => ["Xq7mP2kL9vR4tW8z", "5f2e8d1c9b7a6f3e2d1c0b9a8f7e6d5c"]"#,
                "Xq7mP2kL9vR4tW8z",
                "5f2e8d1c9b7a6f3e2d1c0b9a8f7e6d5c",
            ),
        ] {
            let out = r.redact_text(text);
            assert!(!out.contains(id) && !out.contains(secret), "{out}");
        }
    }

    #[test]
    fn a_vendor_prefix_inside_a_word_makes_no_row_run() {
        let r = redactor();
        let rows = |text: &str| -> Vec<String> {
            let regions = r.prefilter.regions(text);
            regions.iter().flat_map(|g| &g.runs).map(|(i, _)| r.rules[*i].id.clone()).collect()
        };
        for own_words in [
            "disk_full on /var/lib/witness: 97% used",
            "hostname web-1, filename report.md",
            "compat.mode on, risk_level 2, task_id 7",
            "shelf_life",
        ] {
            assert_eq!(rows(own_words), Vec::<String>::new(), "{own_words}");
            assert_eq!(r.redact_text(own_words), own_words);
        }
        assert!(rows("disk sk_live_4eC39HqLyjWDarjtT1zdp7dc").contains(&"stripe_key".to_owned()));
    }

    #[test]
    fn a_vendor_token_after_a_word_boundary_is_still_redacted() {
        let r = redactor();
        for (text, secret) in [
            ("key_sk_live_4eC39HqLyjWDarjtT1zdp7dc", "4eC39HqLyjWDarjtT1zdp7dc"),
            ("(sk_live_4eC39HqLyjWDarjtT1zdp7dc)", "4eC39HqLyjWDarjtT1zdp7dc"),
            ("token:ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "a1B2c3D4e5F6g7H8i9J0"),
            ("x=\"name\": \"DB_PASSWORD\", \"value\": \"hunter22x\"", "hunter22x"),
            ("hostname=db-1 sentry: 8f3Kq2Lm9Zx7Vb4Nc6Qw1Er5Ty", "8f3Kq2Lm9Zx7Vb4Nc6Qw1Er5Ty"),
        ] {
            let out = r.redact_text(text);
            assert!(!out.contains(secret), "{out}");
        }
    }

    #[test]
    fn built_in_patterns_are_compiled_once_and_shared_by_every_redactor() {
        let config = RedactionConfig { emails: true, ..Default::default() };
        let (a, b) = (redactor(), Redactor::new(&config, Vec::new()).unwrap());
        let url = |r: &Redactor| {
            r.rules.iter().find(|rule| rule.id == "url_credentials").unwrap().pattern.clone()
        };
        assert!(Arc::ptr_eq(&url(&a), &url(&b)));
        assert!(Arc::ptr_eq(&url(&a), &url(&Redactor::builtin())));
        // Their keyword automaton too, when they have no rules of their own.
        assert!(Arc::ptr_eq(&a.prefilter, &Redactor::builtin().prefilter));
        let mine = RedactionConfig { patterns: vec!["acme_[0-9]{8}".into()], ..Default::default() };
        assert!(!Arc::ptr_eq(&a.prefilter, &Redactor::new(&mine, Vec::new()).unwrap().prefilter));
        a.redact_text("postgres://app:hunter22@db:5432/x");
        assert!(url(&b).is_compiled());
    }

    #[test]
    fn config_problems_name_the_pattern() {
        let config = RedactionConfig {
            patterns: vec!["ok-[0-9]+".into(), "(".into(), "x*".into()],
            ..Default::default()
        };
        let keys: Vec<_> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["patterns[1]", "patterns[2]"]);
    }
}
