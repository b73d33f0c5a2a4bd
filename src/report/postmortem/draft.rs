//! What a postmortem draft is made of, whatever it is rendered as: sections of sentences,
//! bullets, numbered steps and tables, each statement with the refs it rests on, and the
//! blanks left for people.

use std::fmt;

use crate::timeline::EvidenceRef;

/// A ref into a sealed bundle: the incident's (`file#pointer`) or, named by its id, the
/// follow-up's (`<id>:file#pointer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cite {
    /// The follow-up bundle's id; `None` for the incident's own bundle.
    pub bundle: Option<String>,
    pub at: EvidenceRef,
}

impl fmt::Display for Cite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.bundle {
            Some(id) => write!(f, "{id}:{}", self.at),
            None => write!(f, "{}", self.at),
        }
    }
}

/// One line of the draft.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A statement and the refs it rests on (never empty).
    Fact { text: String, cites: Vec<Cite> },
    /// An action item: a checkbox, what to do, the refs it derives from; the owner is left
    /// blank.
    Action { text: String, cites: Vec<Cite> },
    /// A blank for the team: what to fill in.
    Blank { prompt: String },
}

/// A table row: its cells, and the refs of the whole row (the last column).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<String>,
    pub cites: Vec<Cite>,
}

/// A block of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Sentences of one paragraph.
    Paragraph(Vec<Line>),
    Bullets(Vec<Line>),
    /// Numbered steps (the five whys).
    Steps(Vec<Line>),
    /// A table whose last column holds each row's refs.
    Table {
        head: Vec<&'static str>,
        rows: Vec<Row>,
    },
    /// A heading inside a section.
    Subheading(&'static str),
}

/// One section of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The HTML anchor.
    pub id: &'static str,
    pub title: &'static str,
    pub blocks: Vec<Block>,
}

/// The whole draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub title: String,
    /// Which bundle (and follow-up) the draft was made from, verified, with refs.
    pub provenance: Vec<Line>,
    pub sections: Vec<Section>,
}

/// The refs that resolved, each once; `None` when none did (the line is left out).
fn cited(cites: impl IntoIterator<Item = Option<Cite>>) -> Option<Vec<Cite>> {
    let mut out: Vec<Cite> = Vec::new();
    for c in cites.into_iter().flatten() {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A statement with the refs that resolved, or nothing when none did.
pub fn fact(
    text: impl Into<String>,
    cites: impl IntoIterator<Item = Option<Cite>>,
) -> Option<Line> {
    cited(cites).map(|cites| Line::Fact { text: text.into(), cites })
}

/// An action item with the refs that resolved, or nothing when none did.
pub fn action(
    text: impl Into<String>,
    cites: impl IntoIterator<Item = Option<Cite>>,
) -> Option<Line> {
    cited(cites).map(|cites| Line::Action { text: text.into(), cites })
}

/// A blank for the team.
pub fn blank(prompt: impl Into<String>) -> Line {
    Line::Blank { prompt: prompt.into() }
}

/// A table row with the refs that resolved, or nothing when none did.
pub fn row(cells: Vec<String>, cites: impl IntoIterator<Item = Option<Cite>>) -> Option<Row> {
    cited(cites).map(|cites| Row { cells, cites })
}
