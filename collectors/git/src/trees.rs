//! The files that differ between two trees, as `git diff-tree -r --no-renames` finds them:
//! both trees are walked side by side in git's order and only directories whose ids differ
//! are entered. A commit touches a file or two of a directory of dozens, so most of the two
//! trees' bytes are the same at their start and at their end: those are skipped without
//! parsing an entry, which is where a generic tree diff spends most of its time.

use std::cmp::Ordering;
use std::rc::Rc;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use crate::objects::{ObjectError, Objects};

/// The mode bits that say what an entry is.
const KIND_MASK: u32 = 0o170000;
const TREE: u32 = 0o040000;
const SUBMODULE: u32 = 0o160000;

/// One file that differs: added (`old` is none), deleted (`new` is none) or modified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileDiff {
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    /// The entry is (or was) a submodule: only the commit it pins changed.
    pub submodule: bool,
}

/// Why two trees could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("tree {id} cannot be read: {reason}")]
    Unreadable { id: ObjectId, reason: String },
    #[error("tree {id} is missing")]
    Missing { id: ObjectId },
    #[error("{id} is not a tree")]
    NotATree { id: ObjectId },
    #[error("tree {id} is malformed")]
    Malformed { id: ObjectId },
}

/// Compares trees, reusing its path buffer from one comparison to the next.
pub struct TreeDiff {
    hash_len: usize,
    path: Vec<u8>,
}

impl TreeDiff {
    pub fn new(hash: gix::hash::Kind) -> Self {
        Self { hash_len: hash.len_in_bytes(), path: Vec::new() }
    }

    /// Calls `found` with the path and the change of every file that differs from tree
    /// `old` (none: the empty tree) to tree `new`, in git's tree order.
    ///
    /// # Errors
    /// [`TreeError`] when a tree to compare cannot be read or parsed.
    pub fn compare(
        &mut self,
        objects: &mut Objects<'_>,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        found: &mut dyn FnMut(&[u8], FileDiff),
    ) -> Result<(), TreeError> {
        self.path.clear();
        self.compare_at(objects, old, new, found)
    }

    fn compare_at(
        &mut self,
        objects: &mut Objects<'_>,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        found: &mut dyn FnMut(&[u8], FileDiff),
    ) -> Result<(), TreeError> {
        let lhs = read(objects, old)?;
        let rhs = read(objects, new)?;
        let (lhs, rhs) = (lhs.as_deref().map_or(&[][..], Vec::as_slice), rhs.as_deref().map_or(&[][..], Vec::as_slice));
        self.walk(objects, lhs, rhs, old, new, found)
    }

    fn walk(
        &mut self,
        objects: &mut Objects<'_>,
        lhs: &[u8],
        rhs: &[u8],
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        found: &mut dyn FnMut(&[u8], FileDiff),
    ) -> Result<(), TreeError> {
        let hash_len = self.hash_len;
        let malformed = |id: Option<ObjectId>| TreeError::Malformed {
            id: id.unwrap_or_else(|| ObjectId::null(gix::hash::Kind::Sha1)),
        };
        // Entries that end before the first differing byte are the same in both trees, at
        // the same offsets.
        let first_difference = common_prefix(lhs, rhs);
        let mut start = 0;
        while let Some(end) = entry_end(lhs, start, hash_len) {
            if end > first_difference {
                break;
            }
            start = end;
        }
        let shared_tail = common_suffix(lhs, rhs);
        let (mut l, mut r) = (start, start);
        let base = self.path.len();
        loop {
            // Equal tails from entry boundaries are the same entries.
            if lhs.len() - l == rhs.len() - r && lhs.len() - l <= shared_tail {
                return Ok(());
            }
            let left = if l < lhs.len() {
                Some(entry_at(lhs, l, hash_len).ok_or_else(|| malformed(old))?)
            } else {
                None
            };
            let right = if r < rhs.len() {
                Some(entry_at(rhs, r, hash_len).ok_or_else(|| malformed(new))?)
            } else {
                None
            };
            let order = match (&left, &right) {
                (None, None) => return Ok(()),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.git_order(b),
            };
            let (deleted, added) = match order {
                Ordering::Less => (left, None),
                Ordering::Greater => (None, right),
                Ordering::Equal => (left, right),
            };
            if let Some((_, next)) = deleted {
                l = next;
            }
            if let Some((_, next)) = added {
                r = next;
            }
            let (a, b) = (deleted.map(|(e, _)| e), added.map(|(e, _)| e));
            if let (Some(a), Some(b)) = (a, b)
                && a.id == b.id
                && a.mode == b.mode
            {
                continue;
            }
            let name = a.or(b).map_or(&[][..], |e| e.name);
            self.path.truncate(base);
            self.path.extend_from_slice(name);
            let tree = a.or(b).is_some_and(|e| e.is_tree());
            if tree {
                // Both sides are trees here: git's order puts a file and a directory
                // of one name apart.
                self.path.push(b'/');
                let result = self.compare_at(objects, a.map(|e| e.oid()), b.map(|e| e.oid()), found);
                self.path.truncate(base);
                result?;
            } else {
                let diff = FileDiff {
                    old: a.map(|e| e.oid()),
                    new: b.map(|e| e.oid()),
                    submodule: a.is_some_and(|e| e.is_submodule())
                        || b.is_some_and(|e| e.is_submodule()),
                };
                found(&self.path, diff);
                self.path.truncate(base);
            }
        }
    }
}

/// The contents of tree `id` (none for no tree).
fn read(objects: &mut Objects<'_>, id: Option<ObjectId>) -> Result<Option<Rc<Vec<u8>>>, TreeError> {
    let Some(id) = id else { return Ok(None) };
    let object = objects.find(&id).map_err(|e| match e {
        ObjectError::Missing { id } => TreeError::Missing { id },
        ObjectError::Unreadable { id, reason } => TreeError::Unreadable { id, reason },
    })?;
    if object.kind != gix::objs::Kind::Tree {
        return Err(TreeError::NotATree { id });
    }
    Ok(Some(object.data))
}

/// One entry of a tree: `<octal mode> <name>\0<id>`.
#[derive(Clone, Copy)]
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    id: &'a [u8],
}

impl Entry<'_> {
    fn is_tree(&self) -> bool {
        self.mode & KIND_MASK == TREE
    }

    fn is_submodule(&self) -> bool {
        self.mode & KIND_MASK == SUBMODULE
    }

    fn oid(&self) -> ObjectId {
        ObjectId::from_bytes_or_panic(self.id)
    }

    /// Git's order of tree entries: by name, a directory's name read with a `/` after it.
    fn git_order(&self, other: &Self) -> Ordering {
        let common = self.name.len().min(other.name.len());
        self.name[..common].cmp(&other.name[..common]).then_with(|| {
            let next = |e: &Self| e.name.get(common).copied().or(e.is_tree().then_some(b'/'));
            next(self).cmp(&next(other))
        })
    }
}

/// The entry starting at `pos` of `tree`, and where the next one starts.
fn entry_at(tree: &[u8], pos: usize, hash_len: usize) -> Option<(Entry<'_>, usize)> {
    let rest = tree.get(pos..)?;
    let space = rest.find_byte(b' ')?;
    let nul = space + 1 + rest[space + 1..].find_byte(0)?;
    let end = nul + 1 + hash_len;
    let id = rest.get(nul + 1..end)?;
    let mode = rest[..space].iter().try_fold(0u32, |mode, &b| match b {
        b'0'..=b'7' => mode.checked_mul(8).map(|m| m + u32::from(b - b'0')),
        _ => None,
    })?;
    Some((Entry { mode, name: &rest[space + 1..nul], id }, pos + end))
}

/// Where the entry starting at `pos` of `tree` ends, without parsing it.
fn entry_end(tree: &[u8], pos: usize, hash_len: usize) -> Option<usize> {
    let nul = tree.get(pos..)?.find_byte(0)?;
    let end = pos + nul + 1 + hash_len;
    (end <= tree.len()).then_some(end)
}

/// How many bytes `a` and `b` share at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 32;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + CHUNK <= n && a[i..i + CHUNK] == b[i..i + CHUNK] {
        i += CHUNK;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` share at their end.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 32;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + CHUNK <= n && a[n - i - CHUNK..n - i] == b[n - i - CHUNK..n - i] {
        i += CHUNK;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mode: &str, name: &str, id: u8) -> Vec<u8> {
        let mut e = format!("{mode} {name}\0").into_bytes();
        e.extend_from_slice(&[id; 20]);
        e
    }

    #[test]
    fn entries_parse_and_order_as_git_sorts_them() {
        let tree = [entry("100644", "a.txt", 1), entry("40000", "a", 2)].concat();
        let (file, next) = entry_at(&tree, 0, 20).unwrap();
        let (dir, end) = entry_at(&tree, next, 20).unwrap();
        assert_eq!((file.mode, file.name, end), (0o100644, &b"a.txt"[..], tree.len()));
        assert!(dir.is_tree() && !file.is_tree());
        // "a.txt" sorts before the directory "a/" ('.' < '/'), and a file "a" before both.
        assert_eq!(file.git_order(&dir), Ordering::Less);
        let bare = entry("100644", "a", 3);
        let (bare, _) = entry_at(&bare, 0, 20).unwrap();
        assert_eq!(bare.git_order(&file), Ordering::Less);
        assert_eq!(bare.git_order(&dir), Ordering::Less);
        assert_eq!(entry_end(&tree, 0, 20), Some(next));
        assert!(entry_at(&tree[..tree.len() - 1], next, 20).is_none());
    }

    #[test]
    fn shared_starts_and_ends_are_measured_in_bytes() {
        let a: Vec<u8> = (0..100).collect();
        let mut b = a.clone();
        b[70] = 0xff;
        assert_eq!(common_prefix(&a, &b), 70);
        assert_eq!(common_suffix(&a, &b), 29);
        assert_eq!(common_prefix(&a, &a), 100);
        assert_eq!(common_suffix(&a[1..], &a), 99);
    }
}
