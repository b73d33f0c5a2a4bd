//! Opening the repository and saying what kind it is: bare or not, shallow, with or
//! without a commit-graph, where HEAD points, which submodules it has. Each unusual shape
//! is described in a note so a responder knows what the evidence can and cannot show.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use serde::Serialize;

use crate::error::GitError;
use crate::objects::{Objects, Packs};

/// Tags of tags are followed this deep.
const MAX_TAG_DEPTH: usize = 100;
/// The delta base cache of each reader.
const DELTA_BASE_CACHE: &str = "core.deltaBaseCacheLimit=32m";
/// The cache of whole objects of each reader.
const OBJECT_CACHE: &str = "gitoxide.objects.cacheLimit=4m";

/// The repository as the evidence describes it.
#[derive(Debug, Clone, Serialize)]
pub struct RepoInfo {
    pub path: PathBuf,
    pub bare: bool,
    pub shallow: bool,
    /// Whether a commit-graph file speeds up the history walk.
    pub commit_graph: bool,
    /// The configured ref.
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// The commit the ref resolved to.
    pub commit: String,
    /// The branch HEAD points at, when the ref is HEAD and HEAD is on a branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// HEAD points at a commit, not a branch.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub detached: bool,
    /// Submodule paths from `.gitmodules` at the resolved commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub submodules: Vec<String>,
}

/// An opened repository with its resolved tip, or the news that it has no commits.
pub enum Opened {
    Ready {
        repo: Box<gix::Repository>,
        /// Its packs, opened for the readers.
        packs: Packs,
        tip: ObjectId,
        info: RepoInfo,
        notes: Vec<String>,
    },
    /// HEAD points at a branch with no commits and no other ref exists.
    Empty {
        branch: String,
    },
}

/// Opens the repository at `path` and resolves `git_ref` to a commit.
///
/// Only the repository's own configuration is read (not the user's or the system's), so a
/// run sees the same repository whoever runs it.
///
/// # Errors
/// [`GitError::Open`] when `path` is not a repository, [`GitError::Ref`] when the ref names
/// no commit.
pub fn open(path: &Path, git_ref: &str) -> Result<Opened, GitError> {
    let open_error = |reason: String| GitError::Open { path: path.to_owned(), reason };
    if !path.exists() {
        return Err(open_error("no such directory".into()));
    }
    // Packed objects are read by `objects::Objects`, which keeps every delta base it meets.
    // gitoxide's store still reads loose objects and walks shallow clones: for those a
    // byte-capped delta base cache and a small cache of whole objects (commits and trees
    // are read twice: as a commit and as the next one's parent).
    let options =
        gix::open::Options::isolated().config_overrides([DELTA_BASE_CACHE, OBJECT_CACHE]);
    let repo = gix::open_opts(path, options).map_err(|e| open_error(e.to_string()))?;
    // Objects are read through the packs opened here, not gitoxide's store (which checks
    // the whole pack index when it first opens it).
    let packs = Packs::open(&repo);
    let mut objects = Objects::new(&repo, &packs);
    let ref_error =
        |reason: String| GitError::Ref { name: git_ref.to_owned(), path: path.to_owned(), reason };

    let mut notes = Vec::new();
    let mut branch = None;
    let mut detached = false;
    let tip = if git_ref == "HEAD" {
        let head = repo.head().map_err(|e| ref_error(e.to_string()))?;
        match head.kind {
            gix::head::Kind::Unborn(name) => {
                let branch = name.shorten().to_str_lossy().into_owned();
                if has_any_ref(&repo) {
                    return Err(ref_error(format!(
                        "HEAD points at `{branch}`, which has no commits; set `ref` to a branch that has"
                    )));
                }
                return Ok(Opened::Empty { branch });
            }
            gix::head::Kind::Detached { target, peeled } => {
                detached = true;
                let id = peeled.unwrap_or(target);
                notes.push(format!(
                    "HEAD is detached at {}: the history read is that commit's.",
                    short(&id)
                ));
                peel_tags(&mut objects, id).map_err(ref_error)?
            }
            gix::head::Kind::Symbolic(reference) => {
                branch = Some(reference.name.shorten().to_str_lossy().into_owned());
                let id = reference.target.try_id().map(ToOwned::to_owned);
                let id = id.ok_or_else(|| ref_error("HEAD's branch is itself symbolic".into()))?;
                peel_tags(&mut objects, id).map_err(ref_error)?
            }
        }
    } else {
        resolve(&repo, git_ref).map_err(ref_error)?
    };

    let bare = repo.is_bare();
    if bare {
        notes.push(
            "Bare repository (a mirror): no working tree; the history is read from the refs."
                .into(),
        );
    }
    let shallow = repo.is_shallow().unwrap_or(false);
    let commit_graph = repo.commit_graph_if_enabled().ok().flatten().is_some();
    let submodules = submodules(&mut objects, tip);
    drop(objects);
    if !submodules.is_empty() {
        notes.push(format!(
            "The repository has submodules ({}): their own commits are not read; a change of the \
             commit a submodule is pinned to is listed as a changed file marked `submodule`.",
            submodules.join(", ")
        ));
    }
    let info = RepoInfo {
        path: path.to_owned(),
        bare,
        shallow,
        commit_graph,
        git_ref: git_ref.to_owned(),
        commit: tip.to_string(),
        branch,
        detached,
        submodules,
    };
    Ok(Opened::Ready { repo: Box::new(repo), packs, tip, info, notes })
}

/// Resolves a revision (`main`, `origin/main`, `v1.2`, a commit id or unique prefix) to a
/// commit.
///
/// # Errors
/// Why it names no commit, in words.
pub fn resolve(repo: &gix::Repository, spec: &str) -> Result<ObjectId, String> {
    let id = repo.rev_parse_single(spec).map_err(|e| e.to_string())?;
    peel_to_commit(repo, id.detach())
}

fn peel_to_commit(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, String> {
    let object = repo.find_object(id).map_err(|e| e.to_string())?;
    let commit = object.peel_to_commit().map_err(|e| format!("{id} is not a commit: {e}"))?;
    Ok(commit.id)
}

fn has_any_ref(repo: &gix::Repository) -> bool {
    repo.references()
        .ok()
        .and_then(|refs| refs.all().ok().map(|mut all| all.next().is_some()))
        .unwrap_or(false)
}

/// Submodule paths named in `.gitmodules` at `commit`: only the `path = ...` lines matter.
fn submodules(objects: &mut Objects<'_>, commit: ObjectId) -> Vec<String> {
    let Some(data) = (|| {
        let tree_id = objects.tree_of(&commit).ok()?;
        let tree = objects.find(&tree_id).ok()?;
        let hash = objects.object_hash();
        let entry = gix::objs::TreeRefIter::from_bytes(&tree.data, hash)
            .filter_map(Result::ok)
            .find(|e| e.filename == ".gitmodules")?;
        let blob = objects.find(entry.oid).ok()?;
        (blob.kind == gix::objs::Kind::Blob).then_some(blob.data)
    })() else {
        return Vec::new();
    };
    data.lines()
        .filter_map(|line| {
            let (key, value) = line
                .to_str_lossy()
                .split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))?;
            (key == "path").then_some(value)
        })
        .collect()
}

/// The commit `id` names, through any tags.
fn peel_tags(objects: &mut Objects<'_>, mut id: ObjectId) -> Result<ObjectId, String> {
    for _ in 0..MAX_TAG_DEPTH {
        let object = objects.find(&id).map_err(|e| e.to_string())?;
        match object.kind {
            gix::objs::Kind::Commit => return Ok(id),
            gix::objs::Kind::Tag => {
                id = gix::objs::TagRef::from_bytes(&object.data, objects.object_hash())
                    .map_err(|e| e.to_string())?
                    .target();
            }
            kind => return Err(format!("{id} is not a commit but a {kind}")),
        }
    }
    Err(format!("{id} is a tag of a tag more than {MAX_TAG_DEPTH} deep"))
}

/// A commit or tag time (seconds since the epoch) in UTC.
pub fn utc(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// The short form of a commit id used in titles.
pub fn short(id: &gix::oid) -> String {
    id.to_hex_with_len(10).to_string()
}
