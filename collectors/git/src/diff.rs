//! What a commit changed: the files between two trees (added, modified, deleted) and their
//! line counts. Trees are compared without rename detection, like
//! `git log --name-status --no-renames`: a rename reads as a delete and an add, which is
//! what matters for "which files changed". Line counts come from a Myers diff of the two
//! blobs, as `git log --numstat` counts them; binary files and very large blobs get none.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::FindExt;
use serde::Serialize;
use witness_collector::{Redacted, Redactor};

use crate::error::GitError;
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

/// Reusable buffers for tree diffs and line counts, one per scan.
pub struct Differ<'r> {
    repo: &'r gix::Repository,
    redactor: &'r Redactor,
    trees: TreeDiff<'r, gix::OdbHandle>,
    old_blob: Vec<u8>,
    new_blob: Vec<u8>,
}

impl<'r> Differ<'r> {
    /// A differ of `repo` whose paths are redacted with `redactor` as they are read.
    pub fn new(repo: &'r gix::Repository, redactor: &'r Redactor) -> Self {
        Self {
            repo,
            redactor,
            trees: TreeDiff::new(&repo.objects, repo.object_hash()),
            old_blob: Vec::new(),
            new_blob: Vec::new(),
        }
    }

    /// The files that differ from tree `old` (none: the empty tree) to tree `new`, sorted
    /// by path.
    ///
    /// # Errors
    /// [`GitError::Read`] when a tree cannot be read.
    pub fn changes(
        &mut self,
        old: Option<ObjectId>,
        new: ObjectId,
    ) -> Result<Vec<RawChange>, GitError> {
        let redactor = self.redactor;
        let mut changes = Vec::new();
        self.trees
            .compare(old, Some(new), &mut |path, diff| {
                changes.push(raw_change(path, diff, redactor));
            })
            .map_err(|e| GitError::read(format!("the diff of tree {new}"), &e))?;
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
    }

    /// Line counts of one change: `(added, removed, binary)`; `None` counts when they are
    /// not computed (binary, submodule, too large, unreadable).
    pub fn line_counts(&mut self, change: &RawChange) -> (Option<u32>, Option<u32>, bool) {
        if change.submodule {
            return (None, None, false);
        }
        let objects = &self.repo.objects;
        let load = |id: Option<ObjectId>, buf: &mut Vec<u8>| -> Option<bool> {
            match id {
                None => {
                    buf.clear();
                    Some(false)
                }
                Some(id) => {
                    let blob = objects.find_blob(&id, buf).ok()?;
                    let data = blob.data;
                    let binary = data[..data.len().min(BINARY_PROBE_BYTES)].contains(&0);
                    Some(binary || data.len() > MAX_LINE_COUNT_BYTES)
                }
            }
        };
        let Some(old_unusable) = load(change.old, &mut self.old_blob) else {
            return (None, None, false);
        };
        let Some(new_unusable) = load(change.new, &mut self.new_blob) else {
            return (None, None, false);
        };
        if old_unusable || new_unusable {
            let binary = [&self.old_blob, &self.new_blob]
                .iter()
                .any(|b| b[..b.len().min(BINARY_PROBE_BYTES)].contains(&0));
            return (None, None, binary);
        }
        let (added, removed) = count_lines(&self.old_blob, &self.new_blob);
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
