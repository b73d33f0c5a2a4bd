//! The search that finds, in a buffer of whole lines, the lines worth a closer look: those
//! that match the patterns or one of the level candidates of the file's format. One regex
//! decides, line by line; most lines never reach it. The literals that begin every match
//! of that regex are extracted once (`regex_syntax`'s prefix extraction), folded to ASCII
//! lowercase, and searched for in one multi-literal (Teddy) pass over the buffer folded the
//! same way. A line a literal is found in is a *candidate*: whoever reads it decides by its
//! level when it has one that is not an error (the regex could not change that), and
//! matches it against the regex otherwise ([`Prefilter::is_match`]). A match must therefore
//! lie within one line. When some pattern has no usable prefix literal (`.*x`, a one-byte
//! prefix), the regex itself searches the buffer, as before, and finds matched lines.

use aho_corasick::packed;
use memchr::{memchr, memrchr};
use regex::bytes::{Regex, RegexBuilder};
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::level;
use crate::matchers::REGEX_SIZE_LIMIT;

/// Literals shorter than this find too many places to be worth searching for.
const MIN_LITERAL: usize = 2;
/// The multi-literal search (Teddy) takes at most this many literals; longer literals are
/// cut until there are no more (with more, the regex would search the whole buffer).
const MAX_LITERALS: usize = 64;
/// Literal combinations the extraction may produce per pattern (case-insensitive words
/// multiply) before it gives up on that pattern.
const EXTRACT_LIMIT: usize = 4096;

/// The lines worth a look in one file's format.
#[derive(Debug, Clone)]
pub struct Prefilter {
    /// The patterns and the format's level candidates, as one alternation.
    regex: Regex,
    /// The folded literals that begin every match of `regex`; `None`: `regex` searches.
    literals: Option<packed::Searcher>,
    /// The literals from this one on (pattern ids) are the quoted keys of the JSON level
    /// number candidate ([`level::JSON_NUMBER`]): a hit on one counts only when a number
    /// that may be an error level follows ([`number_follows`]).
    first_key: usize,
}

impl Prefilter {
    /// The prefilter of `patterns` and `candidates`, one alternation.
    ///
    /// # Errors
    /// When the alternation does not compile.
    pub fn new(patterns: &[String], candidates: &[&str]) -> Result<Self, regex::Error> {
        let all: Vec<&str> =
            patterns.iter().map(String::as_str).chain(candidates.iter().copied()).collect();
        let alternation = all.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
        // The patterns alone fit under the cap (the config check says so); the candidates
        // are small and fixed, and must not make a valid config fail later.
        let regex = RegexBuilder::new(&alternation).size_limit(2 * REGEX_SIZE_LIMIT).build()?;
        // The JSON level numbers are searched for by their keys: their prefixes (every key,
        // spacing and digit) are too many for one fast search, and all begin like the level
        // field every line of a JSON log holds.
        let numbers = candidates.contains(&level::JSON_NUMBER);
        let keys: Vec<Vec<u8>> = if numbers {
            level::JSON_NUMBER_KEYS.iter().map(|k| format!("\"{k}\"").into_bytes()).collect()
        } else {
            Vec::new()
        };
        let searched: Vec<&str> =
            all.iter().copied().filter(|p| !(numbers && *p == level::JSON_NUMBER)).collect();
        let literals = folded_literals(&searched, MAX_LITERALS - keys.len());
        let first_key = literals.as_ref().map_or(0, Vec::len);
        let literals = literals.and_then(|lits| {
            // Leftmost-first: where a pattern's literal and a key begin at the same byte,
            // the pattern's is found.
            let mut builder = packed::Config::new().builder();
            for l in lits.iter().chain(&keys) {
                builder.add(l);
            }
            builder.build()
        });
        Ok(Self { regex, literals, first_key })
    }

    /// Whether the buffer is searched for literals (and must be folded first).
    pub fn has_literals(&self) -> bool {
        self.literals.is_some()
    }

    /// Writes `buf` folded to ASCII lowercase into `folded` (when literals are searched).
    pub fn fold(&self, buf: &[u8], folded: &mut Vec<u8>) {
        if self.literals.is_none() {
            return;
        }
        folded.clear();
        folded.extend(buf.iter().map(u8::to_ascii_lowercase));
    }

    /// The next line at or after `from` worth a look: its start, its end (at its newline,
    /// or the buffer's end), and whether it is known to match (`false`: a candidate, see
    /// [`Self::is_match`]). `folded` is `buf` as [`Self::fold`] wrote it.
    pub fn next_line(&self, buf: &[u8], folded: &[u8], from: usize) -> Option<Line> {
        if from >= buf.len() {
            return None;
        }
        let Some(searcher) = &self.literals else {
            // The regex over the buffer: a match may then reach over a newline.
            let m = self.regex.find_at(buf, from)?;
            let start = memrchr(b'\n', &buf[..m.start()]).map_or(0, |i| i + 1);
            let end = memchr(b'\n', &buf[m.end()..]).map_or(buf.len(), |i| m.end() + i);
            return Some(Line { start, end, matched: true });
        };
        let mut at = from;
        let hit = loop {
            let hit = searcher.find_in(folded, aho_corasick::Span::from(at..folded.len()))?;
            if hit.pattern().as_usize() < self.first_key || number_follows(folded, hit.end()) {
                break hit;
            }
            // A level key without an error number: the line may hold a literal further on.
            at = hit.start() + 1;
        };
        let start = memrchr(b'\n', &buf[from..hit.start()]).map_or(from, |i| from + i + 1);
        let end = memchr(b'\n', &buf[hit.end()..]).map_or(buf.len(), |i| hit.end() + i);
        Some(Line { start, end, matched: false })
    }

    /// Whether `line` matches the patterns or the level candidates.
    pub fn is_match(&self, line: &[u8]) -> bool {
        self.regex.is_match(line)
    }
}

/// A line worth a look, `[start, end)` of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub start: usize,
    pub end: usize,
    /// It matches the regex; otherwise it holds a literal and may or may not.
    pub matched: bool,
}

/// Whether, after a quoted level key ending at `at`, what follows may match the rest of
/// [`level::JSON_NUMBER`]: `[ \t]*:[ \t]*(?:[5-9]\d|[0-3])\b`. Read on the folded bytes
/// and generous where the regex is Unicode-aware (a non-ASCII byte after the digits may be
/// a digit or a letter): a line this lets through is matched with the regex afterwards.
fn number_follows(folded: &[u8], at: usize) -> bool {
    let blank = |i: &mut usize| {
        while folded.get(*i).is_some_and(|c| matches!(c, b' ' | b'\t')) {
            *i += 1;
        }
    };
    let mut i = at;
    blank(&mut i);
    if folded.get(i) != Some(&b':') {
        return false;
    }
    i += 1;
    blank(&mut i);
    let end = match folded.get(i) {
        Some(b'5'..=b'9') => match folded.get(i + 1) {
            Some(b'0'..=b'9') => i + 2,
            Some(c) if !c.is_ascii() => return true,
            _ => return false,
        },
        Some(b'0'..=b'3') => i + 1,
        _ => return false,
    };
    match folded.get(end) {
        Some(c) if !c.is_ascii() => true,
        Some(c) => !(c.is_ascii_alphanumeric() || *c == b'_'),
        None => true,
    }
}

/// The ASCII-lowercase literals one of which begins every match of one of `patterns`,
/// none containing another, at most `max`; `None` when some pattern has none of at least
/// [`MIN_LITERAL`] bytes.
fn folded_literals(patterns: &[&str], max: usize) -> Option<Vec<Vec<u8>>> {
    let mut extractor = Extractor::new();
    extractor.kind(ExtractKind::Prefix).limit_total(EXTRACT_LIMIT);
    let mut all = Vec::new();
    for pattern in patterns {
        let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok()?;
        let seq = extractor.extract(&hir);
        for literal in seq.literals()? {
            all.push(literal.as_bytes().to_ascii_lowercase());
        }
    }
    let mut kept = minimal(all);
    // Too many for one search: cut the longest ones until they fit.
    while kept.len() > max {
        let longest = kept.iter().map(Vec::len).max()?;
        kept = minimal(kept.into_iter().map(|mut l| {
            l.truncate(longest - 1);
            l
        }));
    }
    (kept.iter().all(|l| l.len() >= MIN_LITERAL) && !kept.is_empty()).then_some(kept)
}

/// The literals without those that contain another (a line holding the longer one holds
/// the shorter one too).
fn minimal(literals: impl IntoIterator<Item = Vec<u8>>) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = literals.into_iter().collect();
    all.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    all.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for literal in all {
        if !kept.iter().any(|k| memchr::memmem::find(&literal, k).is_some()) {
            kept.push(literal);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(prefilter: &Prefilter, text: &str) -> Vec<String> {
        let buf = text.as_bytes();
        let mut folded = Vec::new();
        prefilter.fold(buf, &mut folded);
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(line) = prefilter.next_line(buf, &folded, pos) {
            let text = &text[line.start..line.end];
            if line.matched || prefilter.is_match(text.as_bytes()) {
                out.push(text.to_owned());
            }
            pos = line.end + 1;
        }
        out
    }

    #[test]
    fn the_default_patterns_are_searched_as_folded_literals() {
        let patterns = crate::default_patterns();
        let text = patterns
            .iter()
            .map(String::as_str)
            .chain(crate::level::CANDIDATE_SETS[0].iter().copied());
        let literals = folded_literals(&text.collect::<Vec<_>>(), MAX_LITERALS).unwrap();
        for want in [&b"err"[..], b"fatal", b"exception", b"traceback", b"\"level\":50"] {
            assert!(literals.contains(&want.to_vec()), "{:?}", String::from_utf8_lossy(want));
        }
        // "error" holds "err": searching for both finds nothing more.
        assert!(!literals.contains(&b"error".to_vec()));
    }

    /// JSON level numbers are found by their keys, the number after them read by hand:
    /// every line holds a level field, and none but those with an error number (or a
    /// literal further on) is a line worth a look.
    #[test]
    fn json_level_numbers_are_read_after_their_keys() {
        let patterns = crate::default_patterns();
        let p = Prefilter::new(&patterns, crate::level::CANDIDATE_SETS[3]).unwrap();
        assert!(p.has_literals(), "the literals fit one search");
        let text = [
            r#"{"level":"info","msg":"ok"}"#,
            r#"{"level":30,"msg":"ok"}"#,
            r#"{"level":50,"msg":"boom"}"#,
            r#"{"level":500,"pid":1}"#,
            r#"{"severity" :	2,"msg":"x"}"#,
            r#"{"lvl":"info","msg":"the err word"}"#,
            r#"{"loglevel": 60}"#,
            r#"{"@l":7,"levelname":3}"#,
            r#"{"logger":"a","level":"debug"}"#,
        ]
        .join("\n");
        let found = lines(&p, &text);
        let want = [
            r#"{"level":50,"msg":"boom"}"#,
            r#"{"severity" :	2,"msg":"x"}"#,
            r#"{"lvl":"info","msg":"the err word"}"#,
            r#"{"loglevel": 60}"#,
            r#"{"@l":7,"levelname":3}"#,
        ];
        assert_eq!(found, want);
        // What the prefilter lets through, the regex alone would find.
        let regex = Regex::new(&crate::level::CANDIDATE_SETS[3].join("|")).unwrap();
        let by_regex: Vec<&str> = text.lines().filter(|l| regex.is_match(l.as_bytes())).collect();
        assert_eq!(by_regex, want);
    }

    #[test]
    fn a_number_follows_a_key_as_the_regex_reads_it() {
        for (after, want) in [
            (":50", true),
            (": \t2}", true),
            (":5", false),
            (":30", false),
            (":3,", true),
            (":99x", false),
            (":7_", false),
            (" : 60 ", true),
            (":\"50\"", false),
            (":5\u{663}", true),
            (":2\u{e9}", true),
            ("", false),
        ] {
            assert_eq!(number_follows(after.as_bytes(), 0), want, "{after:?}");
        }
    }

    #[test]
    fn lines_match_whatever_their_case_and_only_within_one_line() {
        let p =
            Prefilter::new(&[r"(?i:\bboom\b)".to_owned(), "Exception".to_owned()], &[]).unwrap();
        assert!(p.has_literals());
        let text = "a BOOM here\nbooming is not\nan Exception\nEXCEPTION is not\nlast BoOm";
        assert_eq!(lines(&p, text), ["a BOOM here", "an Exception", "last BoOm"]);
        let split = Prefilter::new(&["first[ \t]*second".to_owned()], &[]).unwrap();
        assert!(lines(&split, "the first\nsecond half").is_empty());
        assert_eq!(lines(&split, "the first second half"), ["the first second half"]);
    }

    #[test]
    fn a_pattern_without_a_prefix_literal_searches_with_the_regex() {
        let p = Prefilter::new(&[r"\d+ failed".to_owned()], &[]).unwrap();
        assert!(!p.has_literals());
        assert_eq!(lines(&p, "ok\n12 failed\nfine"), ["12 failed"]);
        let one_byte = Prefilter::new(&["x".to_owned()], &[]).unwrap();
        assert!(!one_byte.has_literals());
    }
}
