//! What decides which lines are errors: the patterns for lines without a level field (and
//! for the lines of a record without a timestamp), the patterns that exclude a line, and
//! the prefilter that finds the lines worth a closer look. Compiled once per instance,
//! with a size cap, so a pathological pattern fails when the config is checked, not at
//! 3 a.m.

use regex::bytes::{Regex, RegexBuilder};

/// Compiled regex size cap.
const REGEX_SIZE_LIMIT: usize = 32 * 1024 * 1024;

/// The default `patterns`: the level words where they stand as the level (`ERROR`,
/// `Error`, `error:`, `FATAL`, `CRITICAL`, `SEVERE`, `PANIC`, `panic:`, not
/// `ERROR_INVALID_FUNCTION`), `Exception`, `Traceback`, `level=error`, `"level":"error"`,
/// pino's `"level":50`/`60`, nginx/Apache `[error]`-style levels.
pub fn default_patterns() -> Vec<String> {
    [
        r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC|EMERG|Error|Fatal|Critical|Severe|Panic)\b",
        r"(?i:\b(?:error|fatal|critical|crit|severe|panic|emerg)\b ?:)",
        "Exception",
        "Traceback",
        "level=error",
        r#""level":\s*"error""#,
        r#""level":\s*[56]0\b"#,
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
    /// The patterns and [`crate::level::CANDIDATES`] in one regex: the lines worth a
    /// closer look, found by one literal-optimized search per buffer.
    pub prefilter: Regex,
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
        let alternation = patterns
            .iter()
            .map(String::as_str)
            .chain([crate::level::CANDIDATES])
            .map(|p| format!("(?:{p})"))
            .collect::<Vec<_>>()
            .join("|");
        let prefilter = RegexBuilder::new(&alternation)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| (List::Patterns, e))?;
        Ok(Self { patterns: pattern_regex, exclude, prefilter })
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
        assert!(m.prefilter.is_match(b"2025-11-19 ERROR boom"));
        assert!(m.exclude.is_none());
        let bad = ["ok".to_owned(), "(".to_owned()];
        assert_eq!(invalid(&bad).into_iter().map(|(i, _)| i).collect::<Vec<_>>(), [1]);
        assert_eq!(Matchers::new(&[], &bad).unwrap_err().0, List::Exclude);
    }
}
