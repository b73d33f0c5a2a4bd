//! Which rules run on a text, and where, from one pass over it: a rule runs on the lines
//! around an occurrence of one of its keywords that its matches can reach (all-lowercase
//! keywords in any ASCII case, the others exactly), a rule with a gate on the lines its
//! gate finds, and rules with neither over the whole text.
//!
//! Each rule runs on its own lines only, even where the lines of several rules touch and
//! are redacted as one region: a region of a text full of keywords (a report, a page of
//! near-misses) would otherwise have every rule of every keyword run over all of it.

use std::ops::Range;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use super::rules::{Gate, Rule, Span};
use super::{checks, line_end, line_start, lines_around, widen};

/// A part of a text that rules must read, and where each of them runs in it.
pub(super) struct Region {
    pub range: Range<usize>,
    /// `(rule, lines)`, the lines relative to the region's start, in the order rules
    /// apply, each rule's lines in text order and disjoint.
    pub runs: Vec<(usize, Range<usize>)>,
}

pub(super) struct Prefilter {
    /// Every keyword, matched in any case; a hit on an exact keyword is checked after.
    matcher: Option<Matcher>,
    keywords: Vec<String>,
    /// Whether a keyword must match exactly (it has an uppercase letter).
    exact: Vec<bool>,
    /// Whether a keyword counts only at the start of a word (not after a letter or a
    /// digit): every rule it lets run is [`Rule::prefixed`].
    starts_word: Vec<bool>,
    /// For each keyword, the rules it lets run: always, and when an assignment follows
    /// it ([`Rule::assigned`]).
    owners: Vec<[Vec<usize>; 2]>,
    /// For each rule, the lines before and after its keyword's line that its matches can
    /// reach.
    spans: Vec<Span>,
    /// Rules without keywords or gate, which run over every text.
    unkeyed: Vec<usize>,
    /// The rules without keywords that have a gate, with it.
    gates: Vec<(usize, Gate)>,
}

impl Prefilter {
    pub fn new(rules: &[Rule]) -> Self {
        let mut keywords: Vec<String> = Vec::new();
        let mut owners: Vec<[Vec<usize>; 2]> = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let at = keywords.iter().position(|k| k == keyword).unwrap_or_else(|| {
                    keywords.push(keyword.clone());
                    owners.push([Vec::new(), Vec::new()]);
                    keywords.len() - 1
                });
                owners[at][usize::from(rule.assigned)].push(index);
            }
        }
        let matcher = (!keywords.is_empty()).then(|| Matcher::new(&keywords));
        let exact = keywords.iter().map(|k| k.bytes().any(|b| b.is_ascii_uppercase())).collect();
        let starts_word = keywords
            .iter()
            .zip(&owners)
            .map(|(keyword, owners)| {
                keyword.as_bytes()[0].is_ascii_alphanumeric()
                    && owners.iter().flatten().all(|&r| rules[r].prefixed)
            })
            .collect();
        let spans = rules.iter().map(|r| r.span).collect();
        let unkeyed = (0..rules.len())
            .filter(|&i| rules[i].keywords.is_empty() && rules[i].gate.is_none())
            .collect();
        let gates = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.keywords.is_empty())
            .filter_map(|(i, r)| Some((i, r.gate?)))
            .collect();
        Self { matcher, keywords, exact, starts_word, owners, spans, unkeyed, gates }
    }

    /// The rules that run over the whole text: those with neither keywords nor gate.
    pub fn unkeyed(&self) -> &[usize] {
        &self.unkeyed
    }

    /// The parts of `text` where a rule with keywords or a gate can match, in order, each
    /// with the lines each rule runs on: around each of its keywords and each place its
    /// gate found, the lines its matches can reach ([`Rule::span`]).
    pub fn regions(&self, text: &str) -> Vec<Region> {
        // Every (lines, rule) the text asks for.
        let mut wants: Vec<(Range<usize>, usize)> = Vec::new();
        for &(rule, gate) in &self.gates {
            let mut from = 0;
            while let Some(at) = text.get(from..).and_then(gate).map(|i| from + i) {
                let range = lines_around(text, at..at, self.spans[rule]);
                from = range.end.max(at + 1);
                wants.push((range, rule));
            }
        }
        let found = self.matcher.as_ref().map(|m| m.scan(text.len()).find_overlapping_iter(text));
        // The line of the last keyword: keywords often come many to a line (a long line
        // of a report), and finding its ends again for each of them would read the line
        // once per keyword.
        let mut last_line: Option<Range<usize>> = None;
        for found in found.into_iter().flatten() {
            let keyword = found.pattern().as_usize();
            if self.exact[keyword] && text[found.range()] != self.keywords[keyword] {
                continue;
            }
            if self.starts_word[keyword]
                && found.start() > 0
                && text.as_bytes()[found.start() - 1].is_ascii_alphanumeric()
            {
                continue;
            }
            // Rules whose keyword sits in a key need an assignment after it.
            let [free, assigned] = &self.owners[keyword];
            let assigned: &[usize] =
                if !assigned.is_empty() && checks::assignment_follows(text, found.end()) {
                    assigned
                } else {
                    &[]
                };
            if free.is_empty() && assigned.is_empty() {
                continue;
            }
            let line = match &last_line {
                Some(line) if line.start <= found.start() && found.end() <= line.end => {
                    line.clone()
                }
                _ => {
                    let line = line_start(text, found.start())..line_end(text, found.end());
                    last_line = Some(line.clone());
                    line
                }
            };
            for &rule in free.iter().chain(assigned) {
                let lines = widen(text, line.clone(), self.spans[rule]);
                if !wants.iter().rev().take(8).any(|(r, i)| *i == rule && *r == lines) {
                    wants.push((lines, rule));
                }
            }
        }
        regions(wants)
    }
}

/// Text scanned with the keyword NFA before a DFA is built: a DFA scans several times
/// faster but takes a few ms more to build, which a short run (a few KiB of evidence) never earns
/// back.
const DFA_AFTER_BYTES: usize = 512 << 10;

/// One automaton over every keyword, matched in any ASCII case.
struct Matcher {
    keywords: Vec<String>,
    nfa: AhoCorasick,
    dfa: OnceLock<AhoCorasick>,
    /// Bytes scanned with the NFA so far.
    scanned: AtomicUsize,
}

impl Matcher {
    fn new(keywords: &[String]) -> Self {
        Self {
            keywords: keywords.to_vec(),
            nfa: Self::build(keywords, AhoCorasickKind::ContiguousNFA),
            dfa: OnceLock::new(),
            scanned: AtomicUsize::new(0),
        }
    }

    fn build(keywords: &[String], kind: AhoCorasickKind) -> AhoCorasick {
        AhoCorasick::builder()
            .kind(Some(kind))
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(keywords)
            .expect("short keywords always build")
    }

    /// The automaton to scan `len` more bytes with: the DFA once the texts scanned pay
    /// for it.
    fn scan(&self, len: usize) -> &AhoCorasick {
        if let Some(dfa) = self.dfa.get() {
            return dfa;
        }
        if self.scanned.fetch_add(len, Ordering::Relaxed) + len < DFA_AFTER_BYTES {
            return &self.nfa;
        }
        self.dfa.get_or_init(|| Self::build(&self.keywords, AhoCorasickKind::DFA))
    }
}

/// `wants` (lines and the rule to run on them) gathered into regions: overlapping lines
/// make one region, in which each rule runs on the union of its own lines.
fn regions(mut wants: Vec<(Range<usize>, usize)>) -> Vec<Region> {
    wants.sort_unstable_by_key(|(r, rule)| (r.start, *rule));
    let mut regions: Vec<Region> = Vec::new();
    for (range, rule) in wants {
        match regions.last_mut() {
            Some(last) if range.start < last.range.end => {
                last.range.end = last.range.end.max(range.end);
                last.runs.push((rule, range));
            }
            _ => regions.push(Region { range: range.clone(), runs: vec![(rule, range)] }),
        }
    }
    for region in &mut regions {
        region.runs.sort_unstable_by_key(|(rule, r)| (*rule, r.start));
        let mut runs: Vec<(usize, Range<usize>)> = Vec::with_capacity(region.runs.len());
        for (rule, r) in region.runs.drain(..) {
            let r = r.start - region.range.start..r.end - region.range.start;
            match runs.last_mut() {
                Some((last_rule, last)) if *last_rule == rule && r.start < last.end => {
                    last.end = last.end.max(r.end);
                }
                _ => runs.push((rule, r)),
            }
        }
        region.runs = runs;
    }
    regions
}

/// Replacements made in a text, in text order: each replaced range, in the coordinates of
/// the text they were made in, and the length of what replaced it.
pub(super) type Edits = Vec<(Range<usize>, usize)>;

/// Where `range` of a text lies after `edits`, batches of replacements made one after
/// the other, each `(replaced range, length of what replaced it)` in text order in the
/// coordinates of the text it was made in. An end inside a replaced range moves to the
/// end of what replaced it, a start to its start.
pub(super) fn moved(range: Range<usize>, edits: &[Edits]) -> Range<usize> {
    edits.iter().fold(range, |range, batch| {
        moved_at(range.start, batch, false)..moved_at(range.end, batch, true)
    })
}

fn moved_at(at: usize, batch: &[(Range<usize>, usize)], end: bool) -> usize {
    let mut at_now = at;
    for (replaced, len) in batch {
        if replaced.end <= at {
            at_now = at_now + len - replaced.len();
        } else if replaced.start < at {
            let start = at_now - (at - replaced.start);
            return if end { start + len } else { start };
        } else {
            break;
        }
    }
    at_now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_runs_on_its_own_lines_in_a_region() {
        let regions = regions(vec![(0..10, 3), (5..20, 1), (10..20, 3), (30..40, 2)]);
        let got: Vec<_> = regions.iter().map(|r| (r.range.clone(), r.runs.clone())).collect();
        assert_eq!(
            got,
            [(0..20, vec![(1, 5..20), (3, 0..10), (3, 10..20)]), (30..40, vec![(2, 0..10)])]
        );
    }

    #[test]
    fn keywords_are_scanned_with_a_dfa_once_the_texts_pay_for_it() {
        let matcher = Matcher::new(&["password".to_owned(), "sk_".to_owned()]);
        assert_eq!(matcher.scan(4096).kind(), AhoCorasickKind::ContiguousNFA);
        assert_eq!(matcher.scan(DFA_AFTER_BYTES).kind(), AhoCorasickKind::DFA);
        assert_eq!(matcher.scan(10).kind(), AhoCorasickKind::DFA);
    }

    #[test]
    fn ranges_move_with_the_replacements_before_them() {
        // "aaa SECRET bbb ccc": SECRET (4..10) became a 3-byte token.
        let edits = vec![vec![(4..10, 3)]];
        assert_eq!(moved(11..14, &edits), 8..11);
        assert_eq!(moved(0..3, &edits), 0..3);
        assert_eq!(moved(6..12, &edits), 4..9);
        assert_eq!(moved(0..8, &edits), 0..7);
    }
}
