//! Deploy tags: the tags whose names match `deploy_tags`, each peeled to the commit it
//! marks, with its time — the tagger's time for an annotated tag (when the tag was made,
//! which is when the release was cut), the commit's committer time for a lightweight one.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use globset::GlobSet;
use serde::Serialize;
use witness_collector::{Redacted, Redactor};

use crate::budget::Budget;
use crate::objects::Objects;
use crate::repo::utc;

/// Longer than this a loose ref names no object (a symbolic one is read as unreadable).
const MAX_LOOSE_REF_BYTES: u64 = 256;
/// The most tags read; a repository with more gets a note.
const MAX_TAGS: usize = 20_000;

/// One deploy tag.
#[derive(Debug, Clone, Serialize)]
pub struct TagRecord {
    /// The tag's name, redacted as read.
    pub name: Redacted,
    /// The commit it marks.
    pub commit: String,
    #[serde(with = "witness_collector::time::millis")]
    pub time: DateTime<Utc>,
    pub annotated: bool,
    #[serde(skip)]
    pub commit_id: ObjectId,
}

/// Every deploy tag, newest first, plus notes on what could not be read.
#[derive(Debug, Default)]
pub struct Tags {
    pub all: Vec<TagRecord>,
    pub notes: Vec<String>,
    pub interrupted: bool,
}

impl Tags {
    /// Tag names by the commit they mark.
    pub fn by_commit(&self) -> BTreeMap<ObjectId, Vec<Redacted>> {
        let mut map: BTreeMap<ObjectId, Vec<Redacted>> = BTreeMap::new();
        for tag in &self.all {
            map.entry(tag.commit_id).or_default().push(tag.name.clone());
        }
        map
    }

    /// The newest tag at or before `t`.
    pub fn last_at_or_before(&self, t: DateTime<Utc>) -> Option<&TagRecord> {
        self.all.iter().find(|tag| tag.time <= t)
    }
}

/// Reads the deploy tags of `repo`, their names redacted with `redactor` as read (and
/// matched against `deploy_tags` redacted).
pub fn read(
    repo: &gix::Repository,
    objects: &mut Objects<'_>,
    deploy_tags: &GlobSet,
    budget: &Budget,
    redactor: &Redactor,
) -> Tags {
    let mut tags = Tags::default();
    let refs = match tag_refs(repo.common_dir()) {
        Ok(refs) => refs,
        Err(e) => {
            tags.notes.push(format!("The tags could not be listed: {e}."));
            return tags;
        }
    };
    let mut unreadable = 0usize;
    let mut seen = 0usize;
    for reference in refs {
        if budget.exhausted() {
            tags.interrupted = true;
            break;
        }
        let (name, target) = reference;
        let name = redactor.redact(&name.to_str_lossy());
        if !deploy_tags.is_match(name.as_str()) {
            continue;
        }
        seen += 1;
        if seen > MAX_TAGS {
            tags.notes.push(format!("Only the first {MAX_TAGS} deploy tags (by name) were read."));
            break;
        }
        let Some(target) = target else {
            unreadable += 1;
            continue;
        };
        match peel(repo, objects, target) {
            // Tags of trees or blobs mark no deploy.
            Some(None) => {}
            Some(Some((commit_id, seconds, annotated))) => tags.all.push(TagRecord {
                name,
                commit: commit_id.to_string(),
                time: utc(seconds),
                annotated,
                commit_id,
            }),
            None => unreadable += 1,
        }
    }
    if unreadable > 0 {
        tags.notes.push(format!("{unreadable} tags could not be read and were left out."));
    }
    tags.all.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.name.cmp(&b.name)));
    tags
}

/// The tags of the repository whose common directory is `git_dir`, by name (without
/// `refs/tags/`), each with the id it points at (none for a symbolic or unreadable ref):
/// the loose refs under `refs/tags`, then those of `packed-refs` that no loose ref
/// overrides, as git lists them. Read here rather than through gitoxide's reference
/// iterator, which spent 13 k instructions per loose ref (a third of the tags' time).
///
/// # Errors
/// When `refs/tags` or `packed-refs` exists but cannot be listed or read.
fn tag_refs(git_dir: &Path) -> std::io::Result<Vec<(BString, Option<ObjectId>)>> {
    let mut refs = BTreeMap::new();
    let mut buf = Vec::new();
    let mut dirs = vec![(git_dir.join("refs/tags"), BString::default())];
    while let Some((dir, prefix)) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name();
            let mut name = prefix.clone();
            name.extend_from_slice(file_name.as_encoded_bytes());
            if entry.file_type()?.is_dir() {
                name.push(b'/');
                dirs.push((entry.path(), name));
            } else if !name.ends_with(b".lock") {
                // A loose ref is 41 bytes: read through `take`, which asks for no size
                // hint (a `statx` per file when read whole).
                buf.clear();
                let read = std::fs::File::open(entry.path())
                    .and_then(|f| f.take(MAX_LOOSE_REF_BYTES).read_to_end(&mut buf));
                let target = read.ok().and_then(|_| ObjectId::from_hex(buf.trim_end()).ok());
                refs.insert(name, target);
            }
        }
    }
    match std::fs::read(git_dir.join("packed-refs")) {
        Ok(packed) => {
            for line in packed.lines() {
                let Some((id, name)) = line.split_once_str(" ") else { continue };
                let Some(name) = name.strip_prefix(b"refs/tags/") else { continue };
                if let Ok(id) = ObjectId::from_hex(id) {
                    refs.entry(BString::from(name)).or_insert(Some(id));
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    Ok(refs.into_iter().collect())
}

/// The commit a tag marks, the tag's time and whether it is annotated; `Some(None)` when it
/// marks no commit, `None` when it cannot be read.
fn peel(
    repo: &gix::Repository,
    objects: &mut Objects<'_>,
    target: ObjectId,
) -> Option<Option<(ObjectId, i64, bool)>> {
    let object = objects.find(&target).ok()?;
    let hash = objects.object_hash();
    match object.kind {
        gix::objs::Kind::Tag => {
            let decoded = gix::objs::TagRef::from_bytes(&object.data, hash).ok()?;
            let tagger_seconds = decoded.tagger().ok().flatten().map(|s| s.seconds());
            // The tag object names its target's kind: no need to read a commit to know it
            // is one, and the tag's own time is the one that counts.
            if let (Some(seconds), gix::objs::Kind::Commit) = (tagger_seconds, decoded.target_kind)
            {
                return Some(Some((decoded.target(), seconds, true)));
            }
            // A tag of a tag, or one without a tagger: rare, peeled by gitoxide.
            let end = repo.find_object(target).ok()?.peel_tags_to_end().ok()?;
            if end.kind != gix::objs::Kind::Commit {
                return Some(None);
            }
            let commit = end.try_into_commit().ok()?;
            let seconds = tagger_seconds.or_else(|| commit.time().ok().map(|t| t.seconds))?;
            Some(Some((commit.id, seconds, true)))
        }
        gix::objs::Kind::Commit => {
            let seconds =
                gix::objs::CommitRef::from_bytes(&object.data, hash).ok()?.time().ok()?.seconds;
            Some(Some((target, seconds, false)))
        }
        _ => Some(None),
    }
}
