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
    /// value, an error signature's count, a short value, or the path alone.
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
            (Value::Object(map), _) if map.contains_key("signature") => signature(map),
            (Value::Null, _) if r.pointer.is_empty() => format!("the file {}", r.file),
            _ => short(&value),
        })
    }
}

/// An error signature of the logs evidence (`data/signatures/N`) in words: its errors in
/// the window and the baseline, and the first. A signature the timeline does not show (no
/// baseline to call it new against) was written out as its raw JSON object before.
fn signature(map: &serde_json::Map<String, Value>) -> String {
    let field = |key: &str| map.get(key).filter(|v| !v.is_null()).map(short);
    let mut text = format!("Error {}", field("signature").unwrap_or_default());
    if let Some(count) = field("count") {
        text.push_str(&format!(": {count} in the window"));
        // `new` is `null` when the logs do not reach back into the baseline: its count
        // of 0 then says nothing.
        match (map.get("new"), field("baseline_count")) {
            (Some(Value::Null), _) => text.push_str(", the logs not reaching the baseline"),
            (_, Some(baseline)) => text.push_str(&format!(", {baseline} in the baseline")),
            _ => {}
        }
    }
    if let Some(first) = field("first_seen") {
        text.push_str(&format!(", first at {first}"));
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_described_in_words_not_as_its_json() {
        let with_baseline = serde_json::json!({"signature": "KeyError: <s>", "count": 12,
            "baseline_count": 0, "new": true, "first_seen": "2026-03-08T03:04:27.000Z",
            "examples": ["{\"msg\": \"KeyError: 'sku'\"}"]});
        let Value::Object(map) = with_baseline else { unreachable!() };
        assert_eq!(
            signature(&map),
            "Error KeyError: <s>: 12 in the window, 0 in the baseline, first at 2026-03-08T03:04:27.000Z"
        );
        let mut without = map.clone();
        without.insert("new".into(), Value::Null);
        without.remove("first_seen");
        assert_eq!(
            signature(&without),
            "Error KeyError: <s>: 12 in the window, the logs not reaching the baseline"
        );
    }
}
