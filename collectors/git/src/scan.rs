//! One blocking read of a repository for one run: open it, walk the lookback and, on a
//! thread beside the walk, read the deploy tags and find the deployed revision. Runs on a
//! blocking thread and checks its [`Budget`] between commits, so it hands back what it has
//! before the deadline.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use globset::GlobSet;
use serde::Serialize;

use crate::budget::Budget;
use crate::classes::PathClasses;
use crate::deployed::{self, Deployed, DeployedOutcome, DeployedRequest};
use crate::error::GitError;
use crate::history::{self, CommitRecord, History, Span, WalkSpec};
use crate::objects::{Objects, Packs};
use crate::repo::{self, Opened, RepoInfo};
use crate::tags::{self, TagRecord, Tags};

/// Everything one scan needs, owned so it can move to a blocking thread.
pub struct ScanRequest {
    pub path: PathBuf,
    pub git_ref: String,
    pub span: Span,
    pub classes: Arc<PathClasses>,
    pub deploy_tags: Arc<GlobSet>,
    pub labels: Vec<(String, String)>,
    pub deployed_ref: Option<String>,
    pub previous_deployed_ref: Option<String>,
    pub budget: Budget,
    /// The run's redactor: every text read from the repository goes through it first.
    pub redactor: witness_collector::Redactor,
}

/// What a scan found. Serialized as the `data` of the evidence.
#[derive(Debug, Serialize)]
pub struct Scan {
    pub repository: RepoInfo,
    pub lookback: Lookback,
    /// Commits with a committer time in `[lookback.start, lookback.anchor]`.
    pub commits_in_lookback: usize,
    /// Commits after the anchor, up to `lookback.end`.
    pub commits_after_anchor: usize,
    /// The commits of the span read in full, newest first.
    pub commits: Vec<CommitRecord>,
    /// Deploy tags with a time in the span, newest first.
    pub tags: Vec<TagRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_tag_before_anchor: Option<TagRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed: Option<Deployed>,
    #[serde(skip)]
    pub last_commit_before_anchor: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub completeness: Completeness,
    /// Notes that do not make the evidence partial.
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Notes on what is missing.
    #[serde(skip)]
    pub partial_notes: Vec<String>,
}

/// The span of history read.
#[derive(Debug, Clone, Serialize)]
pub struct Lookback {
    #[serde(with = "witness_collector::time::millis")]
    pub start: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub anchor: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    pub end: DateTime<Utc>,
}

/// Which counts can be trusted as exact.
#[derive(Debug, Clone, Copy, Default)]
pub struct Completeness {
    /// Every commit of the lookback was seen (counted).
    pub counted: bool,
    /// Every commit of the lookback was read with its files.
    pub classified: bool,
    /// Every deploy tag was read.
    pub tags: bool,
}

/// What a scan ends in.
pub enum Outcome {
    Scanned(Box<Scan>),
    /// The repository has no commits yet.
    Empty {
        path: PathBuf,
        branch: String,
    },
}

/// Runs the scan described by `request`.
///
/// # Errors
/// [`GitError`] when the repository cannot be opened, the ref names no commit, or the
/// history cannot be read at all.
pub fn run(request: &ScanRequest) -> Result<Outcome, GitError> {
    let (repo, packs, tip, info, mut notes) = match repo::open(&request.path, &request.git_ref)? {
        Opened::Ready { repo, packs, tip, info, notes } => (repo, packs, tip, info, notes),
        Opened::Empty { branch } => {
            return Ok(Outcome::Empty { path: request.path.clone(), branch });
        }
    };
    let budget = &request.budget;
    let mut partial_notes = Vec::new();

    let shallow: HashSet<_> = match repo.shallow_commits() {
        Ok(Some(commits)) => commits.iter().copied().collect(),
        _ => HashSet::new(),
    };
    let spec = WalkSpec {
        span: request.span,
        classes: &request.classes,
        shallow: &shallow,
        redactor: &request.redactor,
        packs: &packs,
    };
    let deployed_request = DeployedRequest {
        labels: request.labels.clone(),
        deployed_ref: request.deployed_ref.as_deref(),
        previous_ref: request.previous_deployed_ref.as_deref(),
        redactor: &request.redactor,
    };
    // The tags and the deployed revision need nothing from the lookback walk: they are read
    // on a thread of their own beside it, so a free core hides their time.
    let started = Instant::now();
    let (deploys, history) = std::thread::scope(|scope| {
        let side = repo.as_ref().clone();
        let packs = &packs;
        let deploys =
            scope.spawn(move || read_deploys(&side, packs, request, &deployed_request, started));
        let history = history::walk(&repo, tip, &spec, budget);
        let walk_done = started.elapsed();
        let deploys = deploys.join().unwrap_or_else(|_| Deploys::stopped());
        (deploys, history.map(|h| (h, walk_done)))
    });
    let Deploys { tags, outcome, tags_done, done: deploys_done } = deploys;
    let (mut history, walk_done) = history?;
    notes.extend(tags.notes.iter().cloned());
    let tags_by_commit = tags.by_commit();
    for commit in &mut history.commits {
        commit.tags = tags_by_commit.get(&commit.commit_id).cloned().unwrap_or_default();
    }
    let History {
        commits,
        in_lookback,
        after_anchor,
        last_before_anchor,
        truncated,
        interrupted,
        details_interrupted,
        unreadable,
        shallow_cut,
    } = history;

    let skipped_edges = commits.iter().filter(|c| c.files.is_none()).count();
    if let Some(first) = unreadable.first() {
        partial_notes.push(format!(
            "{} commit(s) could not be read and are left out, with the class facts; the first: {first}.",
            unreadable.len()
        ));
    }
    history_notes(
        &HistoryNotes {
            shallow: info.shallow,
            shallow_cut,
            interrupted,
            details_interrupted,
            truncated,
            read: commits.len(),
            seen: in_lookback + after_anchor,
            max_commits: request.span.max_commits,
            skipped_edges,
        },
        &mut notes,
        &mut partial_notes,
    );

    notes.extend(outcome.notes);
    partial_notes.extend(outcome.partial_notes);
    tracing::debug!(
        tags_ms = tags_done.as_millis() as u64,
        deployed_ms = deploys_done.saturating_sub(tags_done).as_millis() as u64,
        walk_ms = walk_done.as_millis() as u64,
        commits = in_lookback + after_anchor,
        "Scanned the repository."
    );
    if tags.interrupted {
        partial_notes
            .push("The deadline came while reading tags: some deploy tags are missing.".into());
    }

    let counted = !interrupted && shallow_cut.is_none();
    let completeness = Completeness {
        counted,
        classified: counted
            && !truncated
            && !details_interrupted
            && unreadable.is_empty()
            && skipped_edges == 0,
        tags: !tags.interrupted,
    };
    let in_span = |t: &TagRecord| t.time >= request.span.since && t.time <= request.span.until;
    Ok(Outcome::Scanned(Box::new(Scan {
        repository: info,
        lookback: Lookback {
            start: request.span.since,
            anchor: request.span.anchor,
            end: request.span.until,
        },
        commits_in_lookback: in_lookback,
        commits_after_anchor: after_anchor,
        commits,
        tags: tags.all.iter().filter(|t| in_span(t)).cloned().collect(),
        last_tag_before_anchor: tags.last_at_or_before(request.span.anchor).cloned(),
        deployed: outcome.deployed,
        last_commit_before_anchor: last_before_anchor.map(|(_, t)| t),
        completeness,
        notes,
        partial_notes,
    })))
}

/// The deploy tags and the deployed revision, with when each was done (from the scan's
/// start).
struct Deploys {
    tags: Tags,
    outcome: DeployedOutcome,
    tags_done: Duration,
    done: Duration,
}

impl Deploys {
    /// What is known when the thread reading them stopped unexpectedly: nothing.
    fn stopped() -> Self {
        let tags = Tags { interrupted: true, ..Tags::default() };
        let outcome = DeployedOutcome {
            partial_notes: vec!["The reader of tags and deploys stopped unexpectedly.".into()],
            ..DeployedOutcome::default()
        };
        Self { tags, outcome, tags_done: Duration::ZERO, done: Duration::ZERO }
    }
}

fn read_deploys(
    repo: &gix::Repository,
    packs: &Packs,
    request: &ScanRequest,
    deployed_request: &DeployedRequest<'_>,
    started: Instant,
) -> Deploys {
    let budget = &request.budget;
    let mut objects = Objects::new(repo, packs);
    let tags = tags::read(repo, &mut objects, &request.deploy_tags, budget, &request.redactor);
    let tags_done = started.elapsed();
    let outcome = deployed::find(
        repo,
        &mut objects,
        deployed_request,
        &tags,
        request.span.anchor,
        &request.classes,
        budget,
    );
    Deploys { tags, outcome, tags_done, done: started.elapsed() }
}

/// What the history walk ran into, for its notes.
struct HistoryNotes {
    shallow: bool,
    shallow_cut: Option<(gix::ObjectId, DateTime<Utc>)>,
    interrupted: bool,
    details_interrupted: bool,
    truncated: bool,
    /// Commits read in full.
    read: usize,
    /// Commits seen in the span.
    seen: usize,
    max_commits: usize,
    /// Commits at a shallow edge, without a file list.
    skipped_edges: usize,
}

/// The notes on what the history walk could not see or read.
fn history_notes(h: &HistoryNotes, notes: &mut Vec<String>, partial_notes: &mut Vec<String>) {
    if h.shallow {
        match h.shallow_cut {
            Some((id, time)) => partial_notes.push(format!(
                "Shallow clone: its history ends at {} ({}), inside the lookback; older commits \
                 of the lookback are not in this clone (fetch with more depth).",
                repo::short(&id),
                witness_collector::time::format(time)
            )),
            None if !h.interrupted => notes.push(
                "Shallow clone: the lookback lies inside the history it has, so nothing is missing."
                    .into(),
            ),
            None => {}
        }
    }
    if h.interrupted {
        partial_notes.push(format!(
            "The deadline came after {} commits: the commit counts are left out.",
            h.seen
        ));
    } else if h.details_interrupted {
        partial_notes.push(format!(
            "The deadline came while commits were read: {} of {} were read with their files; \
             the class facts are left out.",
            h.read, h.seen
        ));
    } else if h.truncated {
        notes.push(format!(
            "{} commits are in the span; the newest {} were read with their files (max_commits); \
             the class facts are left out.",
            h.seen, h.max_commits
        ));
    }
    if h.skipped_edges > 0 {
        notes.push(format!(
            "{} commit(s) at the edge of the shallow clone have no file list: their \
             parents are not in the clone.",
            h.skipped_edges
        ));
    }
}
