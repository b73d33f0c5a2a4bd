//! What a commit changed: the files between two trees (added, modified, deleted) and their
//! line counts. Trees are compared without rename detection, like
//! `git log --name-status --no-renames`: a rename reads as a delete and an add, which is
//! what matters for "which files changed". Line counts come from a Myers diff of the two
//! blobs, as `git log --numstat` counts them; binary files and very large blobs get none.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use std::rc::Rc;

use serde::Serialize;
use witness_collector::{Redacted, Redactor};

use crate::error::GitError;
use crate::objects::Objects;
use crate::trees::{FileDiff, TreeDiff};

/// Blobs larger than this get no line counts: diffing them would cost more than a responder
/// gains from the number.
const MAX_LINE_COUNT_BYTES: usize = 4 << 20;
/// Git's own test for binary content: a NUL byte in the first 8000 bytes.
const BINARY_PROBE_BYTES: usize = 8000;

/// How a file changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Add,
    Modify,
    Delete,
}

/// One changed file, as recorded in the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Path from the repository root, redacted as read.
    pub path: Redacted,
    pub change: ChangeKind,
    /// The path class, when one matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Lines added; absent for binary files, submodules, very large blobs and the files
    /// `line_counts` leaves out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_added: Option<u32>,
    /// Lines removed; absent like `lines_added`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_removed: Option<u32>,
    /// The file is binary (known only for a file whose lines were to be counted).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub binary: bool,
    /// The entry is a submodule: only its pinned commit changed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub submodule: bool,
}

/// A changed path before line counting.
#[derive(Debug, Clone)]
pub struct RawChange {
    pub path: Redacted,
    pub change: ChangeKind,
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    pub submodule: bool,
}

/// What diffs trees and counts lines, reusing its buffers from one commit to the next.
pub struct Differ<'r> {
    redactor: &'r Redactor,
    trees: TreeDiff,
}

impl<'r> Differ<'r> {
    /// A differ whose paths are redacted with `redactor` as they are read.
    pub fn new(redactor: &'r Redactor, hash: gix::hash::Kind) -> Self {
        Self { redactor, trees: TreeDiff::new(hash) }
    }

    /// The files that differ from tree `old` (none: the empty tree) to tree `new`, sorted
    /// by path.
    ///
    /// # Errors
    /// [`GitError::Read`] when a tree cannot be read.
    pub fn changes(
        &mut self,
        objects: &mut Objects<'_>,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<RawChange>, GitError> {
        let redactor = self.redactor;
        let mut changes = Vec::new();
        self.trees
            .compare(objects, old, Some(new), &mut |path, diff| {
                changes.push(raw_change(path, diff, redactor));
            })
            .map_err(|e| GitError::read(format!("the diff of tree {new}"), &e))?;
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
    }

    /// Line counts of one change: `(added, removed, binary)`; `None` counts when they are
    /// not computed (binary, submodule, too large, unreadable).
    pub fn line_counts(
        objects: &mut Objects<'_>,
        change: &RawChange,
    ) -> (Option<u32>, Option<u32>, bool) {
        if change.submodule {
            return (None, None, false);
        }
        let mut load = |id: Option<ObjectId>| -> Option<Rc<Vec<u8>>> {
            match id {
                None => Some(Rc::default()),
                Some(id) => {
                    let blob = objects.find(&id).ok()?;
                    (blob.kind == gix::objs::Kind::Blob).then_some(blob.data)
                }
            }
        };
        let (Some(old), Some(new)) = (load(change.old), load(change.new)) else {
            return (None, None, false);
        };
        let binary = |b: &[u8]| b[..b.len().min(BINARY_PROBE_BYTES)].contains(&0);
        let (old_binary, new_binary) = (binary(&old), binary(&new));
        if old_binary || new_binary || old.len().max(new.len()) > MAX_LINE_COUNT_BYTES {
            return (None, None, old_binary || new_binary);
        }
        let (added, removed) = count_lines(&old, &new);
        (Some(added), Some(removed), false)
    }
}

/// Lines added and removed from `old` to `new`.
pub fn count_lines(old: &[u8], new: &[u8]) -> (u32, u32) {
    if old.is_empty() {
        return (line_total(new), 0);
    }
    if new.is_empty() {
        return (0, line_total(old));
    }
    let input = imara_diff::InternedInput::new(old, new);
    let diff = imara_diff::Diff::compute(imara_diff::Algorithm::Myers, &input);
    (diff.count_additions(), diff.count_removals())
}

fn line_total(data: &[u8]) -> u32 {
    let newlines = data.iter().filter(|&&b| b == b'\n').count();
    let unterminated = usize::from(data.last().is_some_and(|&b| b != b'\n'));
    u32::try_from(newlines + unterminated).unwrap_or(u32::MAX)
}

/// A file's change with its path redacted as read.
fn raw_change(path: &[u8], diff: FileDiff, redactor: &Redactor) -> RawChange {
    let change = match (diff.old, diff.new) {
        (None, _) => ChangeKind::Add,
        (_, None) => ChangeKind::Delete,
        _ => ChangeKind::Modify,
    };
    RawChange {
        path: redactor.redact(&path.to_str_lossy()),
        change,
        old: diff.old,
        new: diff.new,
        submodule: diff.submodule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_counts_match_numstat() {
        assert_eq!(count_lines(b"", b"a\nb\nc"), (3, 0));
        assert_eq!(count_lines(b"a\nb\n", b""), (0, 2));
        assert_eq!(count_lines(b"a\nb\nc\n", b"a\nB\nc\nd\n"), (2, 1));
        assert_eq!(count_lines(b"same\n", b"same\n"), (0, 0));
    }
}
