//! The lookback walk: every commit reachable from the tip whose committer time lies in the
//! scanned span, newest first, like `git log --since --until`. The committer time decides
//! (a rebase or cherry-pick today lands today, whenever it was first written); the author
//! time is kept beside it.
//!
//! The walk follows commit time through a priority queue, reading times from the
//! commit-graph when there is one, and stops a few commits past the first one older than
//! the span.
//! The newest `max_commits` commits are read in full with their files; older ones in the
//! span are only counted.

use std::cell::RefCell;
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::CommitRef;
use serde::Serialize;
use witness_collector::{Redacted, Redactor};

use crate::budget::Budget;
use crate::classes::PathClasses;
use crate::config::LineCounts;
use crate::diff::{Differ, FileChange};
use crate::error::GitError;
use crate::objects::{Objects, Packs};
use crate::repo::utc;
use crate::walk;

/// How many commits older than the span are walked past before stopping. A commit whose
/// clock was wrong can be older than its own parent; the walk looks a little further so
/// such a commit does not hide the ones behind it (git's `--since` would stop there).
const SKEW_SLOP: u32 = 5;
/// Threads reading commits in full, at most.
const MAX_READERS: usize = 4;
/// Cores left to the thread beside the walk (tags and the deployed revision), which runs
/// while the commits are read.
const SIDE_THREADS: usize = 1;
/// Fewer commits than this per thread are not worth a thread.
const MIN_COMMITS_PER_READER: usize = 16;

/// One commit, as recorded in the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct CommitRecord {
    pub id: String,
    #[serde(with = "witness_collector::time::millis")]
    pub committer_time: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub author_time: DateTime<Utc>,
    /// The author's name, redacted as read, like every text of the commit.
    pub author: Redacted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_email: Option<Redacted>,
    pub subject: Redacted,
    pub merge: bool,
    /// Tags pointing at this commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Redacted>,
    #[serde(skip)]
    pub commit_id: ObjectId,
    /// Path classes of the files it touched, in classification order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Files changed (against the first parent for a merge); absent when they cannot be
    /// known (the commit's parent is cut off by a shallow clone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileChange>>,
    /// How many files changed in all, listed or not.
    pub files_changed: usize,
    /// Files changed but not listed (past `max_files_per_commit`).
    #[serde(skip_serializing_if = "is_zero")]
    pub files_not_listed: usize,
    /// Every changed path with its class, listed or not, for the facts.
    #[serde(skip)]
    pub classified: Vec<(String, Redacted)>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct History {
    /// Commits read in full, newest first.
    pub commits: Vec<CommitRecord>,
    /// Commits in `[since, anchor]`.
    pub in_lookback: usize,
    /// Commits in `(anchor, until]`.
    pub after_anchor: usize,
    /// The newest commit at or before the anchor, however old.
    pub last_before_anchor: Option<(ObjectId, DateTime<Utc>)>,
    /// More commits were in the span than `max_commits`.
    pub truncated: bool,
    /// The deadline or the run's cancellation stopped the walk.
    pub interrupted: bool,
    /// The deadline or the cancellation came while commits were read in full: `commits`
    /// misses some of the ones counted.
    pub details_interrupted: bool,
    /// Commits of the span that could not be read in full, with the reason.
    pub unreadable: Vec<String>,
    /// The shallow clone's history ends inside the span, at this commit.
    pub shallow_cut: Option<(ObjectId, DateTime<Utc>)>,
}

/// The span of history a scan reads and how much of it it keeps, as the collector worked
/// them out from the run and the config.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// Start of the lookback.
    pub since: DateTime<Utc>,
    pub anchor: DateTime<Utc>,
    /// End of the scanned span (the end of the window, or the anchor if later).
    pub until: DateTime<Utc>,
    pub max_commits: usize,
    pub max_files_per_commit: usize,
    pub line_counts: LineCounts,
    pub include_email: bool,
}

/// What the walk looks at and how much it keeps.
pub struct WalkSpec<'a> {
    pub span: Span,
    pub classes: &'a PathClasses,
    pub shallow: &'a HashSet<ObjectId>,
    /// What every text read from the repository goes through first.
    pub redactor: &'a Redactor,
    pub packs: &'a Packs,
}

/// Walks the history of `tip` as described in the module doc.
///
/// # Errors
/// [`GitError::Read`] when the walk cannot start or a commit cannot be read.
pub fn walk(
    repo: &gix::Repository,
    tip: ObjectId,
    spec: &WalkSpec<'_>,
    budget: &Budget,
) -> Result<History, GitError> {
    let mut history = History::default();
    let mut wanted = Vec::new();
    let objects = RefCell::new(Objects::new(repo, spec.packs));
    let walk = walk::newest_first(repo, &objects, tip, None)
        .map_err(|e| GitError::read("the history", &e))?;
    let (since, anchor, until) =
        (spec.span.since.timestamp(), spec.span.anchor.timestamp(), spec.span.until.timestamp());
    let mut reached_older = false;
    let mut slop = SKEW_SLOP;
    let mut last_seen = None;
    for info in walk {
        if budget.exhausted() {
            history.interrupted = true;
            break;
        }
        let (id, time) = info.map_err(|e| GitError::read("the history", &e))?;
        let seconds = match time {
            Some(seconds) => seconds,
            None => commit_seconds(&mut objects.borrow_mut(), id)?,
        };
        if seconds <= anchor
            && history.last_before_anchor.is_none_or(|(_, t)| t.timestamp() < seconds)
        {
            history.last_before_anchor = Some((id, utc(seconds)));
        }
        if seconds < since {
            reached_older = true;
            slop -= 1;
            if slop == 0 {
                break;
            }
            continue;
        }
        slop = SKEW_SLOP;
        last_seen = Some((id, seconds));
        if seconds > until {
            continue;
        }
        if seconds <= anchor {
            history.in_lookback += 1;
        } else {
            history.after_anchor += 1;
        }
        if wanted.len() < spec.span.max_commits {
            wanted.push(id);
        } else {
            history.truncated = true;
        }
    }
    // A walk that ran out of commits before leaving the span either reached the first
    // commit ever, or the edge of a shallow clone: then older commits exist but are not here.
    if !reached_older
        && !history.interrupted
        && let Some((id, seconds)) = last_seen
        && spec.shallow.contains(&id)
    {
        history.shallow_cut = Some((id, utc(seconds)));
    }
    let (read, complete) = read_all(repo, &wanted, spec, budget);
    for result in read {
        match result {
            Ok(record) => history.commits.push(record),
            Err(e) => history.unreadable.push(e.to_string()),
        }
    }
    history.details_interrupted = !complete;
    Ok(history)
}

/// Reads `ids` in full on a few threads (reading and diffing objects is the expensive
/// part of a scan). Returns the records (or why one could not be read) in the order of
/// `ids`, and whether all were tried before the budget ran out.
fn read_all(
    repo: &gix::Repository,
    ids: &[ObjectId],
    spec: &WalkSpec<'_>,
    budget: &Budget,
) -> (Vec<Result<CommitRecord, GitError>>, bool) {
    // Each reader has caches of its own and starts cold: a second reader re-inflates the
    // delta chains the first has already built (on the benchmark's repository, two readers
    // do about a quarter more work than one). So a reader only gets a core of its own:
    // on two cores, one reads beside the tags and the deployed revision.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = cores.saturating_sub(SIDE_THREADS).clamp(1, MAX_READERS);
    let workers = workers.min(ids.len().div_ceil(MIN_COMMITS_PER_READER)).max(1);
    type Share = Vec<(usize, Result<CommitRecord, GitError>)>;
    let read_share = |repo: gix::Repository, worker: usize| -> Share {
        let mut objects = Objects::new(&repo, spec.packs);
        let mut differ = Differ::new(spec.redactor, repo.object_hash());
        let mut done = Vec::new();
        // Contiguous shares: a commit's parent is usually its neighbour, so the
        // parent's trees were just read as the neighbour's own and are in the cache.
        let share = ids.len().div_ceil(workers);
        for (i, id) in ids.iter().enumerate().skip(worker * share).take(share) {
            if budget.exhausted() {
                break;
            }
            done.push((i, record(&mut objects, &mut differ, *id, spec)));
        }
        done
    };
    let mut records: Share = if workers == 1 {
        read_share(repo.clone(), 0)
    } else {
        let shares: Vec<Share> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|worker| {
                    let repo = repo.clone();
                    scope.spawn(move || read_share(repo, worker))
                })
                .collect();
            handles
                .into_iter()
                .zip(0..)
                .map(|(h, worker)| {
                    h.join().unwrap_or_else(|_| {
                        let what = format!("the commits of reader {worker}");
                        vec![(usize::MAX, Err(GitError::read(what, &"the reader thread panicked")))]
                    })
                })
                .collect()
        });
        shares.into_iter().flatten().collect()
    };
    records.sort_by_key(|(i, _)| *i);
    let complete = records.len() == ids.len();
    (records.into_iter().map(|(_, r)| r).collect(), complete)
}

fn commit_seconds(objects: &mut Objects<'_>, id: ObjectId) -> Result<i64, GitError> {
    let data = objects.find_commit(&id).map_err(|e| GitError::read(format!("commit {id}"), &e))?;
    CommitRef::from_bytes(&data, objects.object_hash())
        .and_then(|c| c.time())
        .map(|t| t.seconds)
        .map_err(|e| GitError::read(format!("the time of commit {id}"), &e))
}

/// Reads one commit in full: who, when, what, and the files it changed.
fn record(
    objects: &mut Objects<'_>,
    differ: &mut Differ<'_>,
    id: ObjectId,
    spec: &WalkSpec<'_>,
) -> Result<CommitRecord, GitError> {
    let read = |e: &dyn std::fmt::Display| GitError::read(format!("commit {id}"), e);
    let commit = objects.find_commit(&id).map_err(|e| read(&e))?;
    let decoded = CommitRef::from_bytes(&commit, objects.object_hash()).map_err(|e| read(&e))?;
    let author = decoded.author().map_err(|e| read(&e))?.trim();
    let committer = decoded.committer().map_err(|e| read(&e))?.trim();
    let parents: Vec<ObjectId> = decoded.parents().collect();
    let tree = decoded.tree();
    let redactor = spec.redactor;
    let subject = redactor.redact(&decoded.message().summary().to_str_lossy());

    // The shallow edge's parents are not in the clone: its diff would read as adding
    // every file in the repository.
    let files = if spec.shallow.contains(&id) {
        None
    } else {
        let parent_tree = match parents.first() {
            Some(parent) => Some(
                objects
                    .tree_of(parent)
                    .map_err(|e| GitError::read(format!("parent {parent} of commit {id}"), &e))?,
            ),
            None => None,
        };
        Some(differ.changes(objects, parent_tree, tree)?)
    };

    let mut record = CommitRecord {
        id: id.to_string(),
        committer_time: utc(committer.seconds()),
        author_time: utc(author.seconds()),
        author: redactor.redact(&author.name.to_str_lossy()),
        author_email: spec.span.include_email.then(|| redactor.redact(&author.email.to_str_lossy())),
        subject,
        merge: parents.len() > 1,
        tags: Vec::new(),
        commit_id: id,
        classes: Vec::new(),
        files: None,
        files_changed: 0,
        files_not_listed: 0,
        classified: Vec::new(),
    };
    if let Some(changes) = files {
        record.files_changed = changes.len();
        record.files_not_listed = changes.len().saturating_sub(spec.span.max_files_per_commit);
        let mut listed = Vec::with_capacity(changes.len().min(spec.span.max_files_per_commit));
        for (i, change) in changes.iter().enumerate() {
            let class = spec.classes.classify(&change.path).map(str::to_owned);
            if let Some(class) = &class {
                record.classified.push((class.clone(), change.path.clone()));
                if !record.classes.contains(class) {
                    record.classes.push(class.clone());
                }
            }
            if i < spec.span.max_files_per_commit {
                let (lines_added, lines_removed, binary) =
                    if spec.span.line_counts.wanted(class.as_deref()) {
                        Differ::line_counts(objects, change)
                    } else {
                        (None, None, false)
                    };
                listed.push(FileChange {
                    path: change.path.clone(),
                    change: change.change,
                    class,
                    lines_added,
                    lines_removed,
                    binary,
                    submodule: change.submodule,
                });
            }
        }
        record.classes.sort_by_key(|c| spec.classes.rank(c));
        record.files = Some(listed);
    }
    Ok(record)
}

impl CommitRecord {
    /// The short id used in titles.
    pub fn short_id(&self) -> &str {
        crate::report::short(&self.id)
    }
}
