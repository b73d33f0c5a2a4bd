//! What decides which lines are errors: the patterns for lines without a level field (and
//! for the lines of a record without a timestamp), the patterns that exclude a line, and
//! the prefilter of each format that finds the lines worth a closer look. Compiled once per
//! instance, with a size cap, so a pathological pattern fails when the config is checked,
//! not at 3 a.m.; a format's prefilter is built when a file of that format is first read.

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

use crate::level;
use crate::prefilter::Prefilter;
use crate::timestamp::TsFormat;

/// Compiled regex size cap.
pub(crate) const REGEX_SIZE_LIMIT: usize = 32 * 1024 * 1024;

/// The default `patterns`: the level words where they stand as the level (`ERROR`,
/// `Error`, `error:`, `FATAL`, `CRITICAL`, `SEVERE`, `PANIC`, `panic:`, not
/// `ERROR_INVALID_FUNCTION`), `Exception`, `Traceback`, `level=error`, `"level":"error"`,
/// pino's `"level":50`/`60`, nginx/Apache `[error]`-style levels. Spaces are `[ \t]`, not
/// `\s`: a match lies within one line, and the literals that begin it can be searched for.
pub fn default_patterns() -> Vec<String> {
    [
        r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC|EMERG|Error|Fatal|Critical|Severe|Panic)\b",
        r"(?i:\b(?:error|fatal|critical|crit|severe|panic|emerg)\b ?:)",
        "Exception",
        "Traceback",
        "level=error",
        r#""level":[ \t]*"error""#,
        r#""level":[ \t]*[56]0\b"#,
        r"\[(?:error|crit|alert|emerg)\]",
        r":(?:error|crit|alert|emerg)\]",
    ]
    .map(String::from)
    .to_vec()
}

/// The compiled patterns of one instance.
#[derive(Debug, Clone)]
pub struct Matchers {
    /// Lines without a level are errors when they match (`None`: no pattern).
    pub patterns: Option<Regex>,
    /// Lines that never count as errors.
    pub exclude: Option<Regex>,
    /// The pattern texts, for the prefilters.
    texts: Vec<String>,
    /// Per set of [`level::CANDIDATE_SETS`], the patterns and those candidates: the lines
    /// worth a closer look in a format, built when first needed.
    prefilters: [OnceLock<Prefilter>; level::CANDIDATE_SETS.len()],
}

/// Which list a pattern that does not compile is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Patterns,
    Exclude,
}

impl List {
    /// The config key of the list.
    pub fn key(self) -> &'static str {
        match self {
            List::Patterns => "patterns",
            List::Exclude => "exclude",
        }
    }
}

impl Matchers {
    /// Compiles `patterns` and `exclude`, each list as one alternation.
    ///
    /// # Errors
    /// The list whose alternation does not compile, and why.
    pub fn new(patterns: &[String], exclude: &[String]) -> Result<Self, (List, regex::Error)> {
        let pattern_regex = combined(patterns).map_err(|e| (List::Patterns, e))?;
        let exclude = combined(exclude).map_err(|e| (List::Exclude, e))?;
        Ok(Self {
            patterns: pattern_regex,
            exclude,
            texts: patterns.to_vec(),
            prefilters: Default::default(),
        })
    }

    /// The prefilter of the lines of `format`: the patterns and the level candidates of
    /// that format.
    pub fn prefilter(&self, format: &TsFormat) -> &Prefilter {
        let set = level::candidates(format);
        self.prefilters[set].get_or_init(|| {
            // The patterns compile (checked by `new`) and so do the candidates.
            Prefilter::new(&self.texts, level::CANDIDATE_SETS[set])
                .expect("the patterns and the level candidates compile")
        })
    }

    /// The default patterns and no exclusion.
    pub fn defaults() -> Self {
        Self::new(&default_patterns(), &[]).expect("the default patterns compile")
    }
}

/// Why each pattern of `list` that does not compile on its own fails: its index and the
/// regex error, for a config check that names `patterns[3]`. Each pattern is parsed on
/// its own and the list compiled once; each is compiled alone only when the list does
/// not compile (a config is checked at every run's start).
pub fn invalid(list: &[String]) -> Vec<(usize, regex::Error)> {
    let parser = || regex_syntax::ParserBuilder::new().utf8(false).build();
    let syntax: Vec<(usize, regex::Error)> = list
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let e = parser().parse(p).err()?;
            Some((
                i,
                RegexBuilder::new(p).build().err().unwrap_or(regex::Error::Syntax(e.to_string())),
            ))
        })
        .collect();
    if !syntax.is_empty() || combined(list).is_ok() {
        return syntax;
    }
    list.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            RegexBuilder::new(p).size_limit(REGEX_SIZE_LIMIT).build().err().map(|e| (i, e))
        })
        .collect()
}

fn combined(patterns: &[String]) -> Result<Option<Regex>, regex::Error> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let alternation = patterns.iter().map(|p| format!("(?:{p})")).collect::<Vec<_>>().join("|");
    RegexBuilder::new(&alternation).size_limit(REGEX_SIZE_LIMIT).build().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_find_json_and_level_words_and_a_bad_pattern_is_named() {
        let m = Matchers::defaults();
        assert!(m.patterns.as_ref().unwrap().is_match(br#"{"level":"error"}"#));
        let iso = TsFormat::layout("iso8601").unwrap();
        assert!(m.prefilter(&iso).has_literals());
        assert!(m.exclude.is_none());
        let bad = ["ok".to_owned(), "(".to_owned()];
        assert_eq!(invalid(&bad).into_iter().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
        assert_eq!(Matchers::new(&[], &bad).unwrap_err().0, List::Exclude);
    }
}
