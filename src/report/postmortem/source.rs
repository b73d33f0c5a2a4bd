//! A sealed bundle as the draft reads it: its view, and its files to resolve every ref
//! against before the ref is written. A ref resolves when its file is in the bundle and,
//! with a pointer, the file is JSON and the pointer leads somewhere in it.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::Value;

use super::draft::Cite;
use crate::run::view::RunView;
use crate::timeline::EvidenceRef;

/// A verified, sealed bundle: its view and its files by path.
pub struct Sealed<'a> {
    pub view: &'a RunView,
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// Named in refs (`<id>:file#pointer`): the follow-up's; `None` for the incident.
    prefix: Option<String>,
    parsed: RefCell<BTreeMap<String, Option<Value>>>,
}

impl<'a> Sealed<'a> {
    /// The incident's bundle: its refs are written as they are in its own reports.
    pub fn incident(view: &'a RunView, files: &'a BTreeMap<String, Vec<u8>>) -> Self {
        Self { view, files, prefix: None, parsed: RefCell::default() }
    }

    /// A follow-up's bundle: its refs are prefixed with its id.
    pub fn follow_up(view: &'a RunView, files: &'a BTreeMap<String, Vec<u8>>) -> Self {
        Self { view, files, prefix: Some(view.id.clone()), parsed: RefCell::default() }
    }

    /// What `r` points at: the JSON value, or `Null` for a whole file that is not JSON.
    /// `None` when it does not resolve.
    pub fn value(&self, r: &EvidenceRef) -> Option<Value> {
        let bytes = self.files.get(&r.file)?;
        let mut parsed = self.parsed.borrow_mut();
        let json = parsed
            .entry(r.file.clone())
            .or_insert_with(|| serde_json::from_slice::<Value>(bytes).ok());
        match (json.as_ref(), r.pointer.as_str()) {
            (Some(json), pointer) => json.pointer(pointer).cloned(),
            (None, "") => Some(Value::Null),
            (None, _) => None,
        }
    }

    /// A cite of `r` when it resolves in this bundle.
    pub fn cite(&self, r: &EvidenceRef) -> Option<Cite> {
        self.value(r)?;
        Some(Cite { bundle: self.prefix.clone(), at: r.clone() })
    }

    /// A cite of `pointer` in `file`, when it resolves.
    pub fn cite_at(&self, file: &str, pointer: impl Into<String>) -> Option<Cite> {
        self.cite(&EvidenceRef { file: file.to_owned(), pointer: pointer.into() })
    }

    /// What `r` holds in a few words, for an evidence chain: an event's title, a fact's
    /// value, a short value, or the path alone.
    pub fn describe(&self, r: &EvidenceRef) -> Option<String> {
        let value = self.value(r)?;
        let fact = r.pointer.strip_prefix("/facts/");
        Some(match (&value, fact) {
            (_, Some(name)) => {
                format!("{} = {}", name.replace("~1", "/").replace("~0", "~"), short(&value))
            }
            (Value::Object(map), _) if map.contains_key("title") => {
                map.get("title").map(short).unwrap_or_default()
            }
            (Value::Null, _) if r.pointer.is_empty() => format!("the file {}", r.file),
            _ => short(&value),
        })
    }
}

/// A JSON value in at most 160 characters, strings without their quotes.
fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 160 {
        let cut: String = text.chars().take(157).collect();
        format!("{cut}…")
    } else {
        text
    }
}
