//! The deployed revision and what it brought: which commit is running (from an alert
//! label, the configured `deployed_ref`, or the newest deploy tag at or before the anchor),
//! which was running before it (the configured `previous_deployed_ref`, or the nearest
//! deploy tag in its history), and the difference between the two — commits, files by
//! class, migrations by name. This is what a responder weighs before a rollback: a
//! migration among the deployed changes can make rolling back unsafe.

use std::cell::RefCell;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::objs::CommitRef;
use serde::Serialize;
use witness_collector::{Redacted, Redactor};

use crate::budget::Budget;
use crate::classes::{MIGRATION, PathClasses};
use crate::diff::{ChangeKind, Differ};
use crate::objects::Objects;
use crate::repo::{resolve, short, utc};
use crate::tags::Tags;
use crate::walk;

/// The most commits walked back from the deployed revision to find the previous deploy tag.
const PREVIOUS_SEARCH_COMMITS: usize = 50_000;
/// The most commits counted between the previous and the deployed revision.
const RANGE_COUNT_COMMITS: usize = 10_000;
/// The most commits listed between the previous and the deployed revision.
const RANGE_LISTED_COMMITS: usize = 50;
/// The most paths listed per class.
const PATHS_PER_CLASS: usize = 100;

/// Where the deployed revision may come from, in the order they are tried.
pub struct DeployedRequest<'a> {
    /// `(label, value)` of the configured labels the alert carries, in configured order.
    pub labels: Vec<(String, String)>,
    pub deployed_ref: Option<&'a str>,
    pub previous_ref: Option<&'a str>,
    /// What every text read from the repository (or the alert) goes through first.
    pub redactor: &'a Redactor,
}

/// The deployed revision, as recorded in the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub revision: String,
    /// Where it came from: `label revision=4f2c9e1`, `deployed_ref origin/production`, `tag v1.4.2`.
    pub source: Redacted,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Redacted>,
    #[serde(with = "witness_collector::time::millis")]
    pub committer_time: DateTime<Utc>,
    pub subject: Redacted,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// What changed from the previous revision to the deployed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<RangeSummary>,
}

/// The revision deployed before.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub revision: String,
    pub source: Redacted,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Redacted>,
}

/// The difference between the previous and the deployed revision.
#[derive(Debug, Clone, Serialize)]
pub struct RangeSummary {
    /// Commits in the deployed revision's history that are not in the previous one's.
    pub commits: usize,
    /// The count stopped at its cap or the deadline: `commits` is a lower bound.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub commits_incomplete: bool,
    /// The newest of them.
    pub listed_commits: Vec<RangeCommit>,
    pub files_changed: usize,
    /// Changed paths by class (at most 100 per class).
    pub files_by_class: BTreeMap<String, Vec<Redacted>>,
    pub unclassified_files: usize,
    /// Migration files added, changed or deleted.
    pub migrations: Vec<Migration>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RangeCommit {
    pub id: String,
    #[serde(with = "witness_collector::time::millis")]
    pub committer_time: DateTime<Utc>,
    pub subject: Redacted,
}

#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    pub path: Redacted,
    pub change: ChangeKind,
}

/// The outcome: the deployed revision when one is known, and notes; `partial` notes say
/// something asked for could not be shown.
#[derive(Debug, Default)]
pub struct DeployedOutcome {
    pub deployed: Option<Deployed>,
    pub notes: Vec<String>,
    pub partial_notes: Vec<String>,
}

/// Finds the deployed revision and summarizes what it brought.
pub fn find(
    repo: &gix::Repository,
    objects: &mut Objects<'_>,
    request: &DeployedRequest<'_>,
    tags: &Tags,
    anchor: DateTime<Utc>,
    classes: &PathClasses,
    budget: &Budget,
) -> DeployedOutcome {
    let mut outcome = DeployedOutcome::default();
    let redactor = request.redactor;
    let Some((deployed_id, source)) = deployed_revision(repo, request, tags, anchor, &mut outcome)
    else {
        return outcome;
    };
    // Made of config, tag names and alert labels: redacted whole.
    let source = redactor.redact(&source);
    let tags_by_commit = tags.by_commit();
    let Some(commit) = read_commit(objects, deployed_id, redactor) else {
        outcome
            .partial_notes
            .push(format!("The deployed commit {} cannot be read.", short(&deployed_id)));
        return outcome;
    };
    let mut deployed = Deployed {
        revision: deployed_id.to_string(),
        source,
        tags: tags_by_commit.get(&deployed_id).cloned().unwrap_or_default(),
        committer_time: utc(commit.seconds),
        subject: commit.subject,
        previous: None,
        changes: None,
    };

    let previous = match request.previous_ref {
        Some(spec) => match resolve(repo, spec) {
            Ok(id) => Some((id, format!("previous_deployed_ref {spec}"))),
            Err(e) => {
                outcome
                    .partial_notes
                    .push(format!("previous_deployed_ref `{spec}` names no commit: {e}."));
                None
            }
        },
        None => {
            let found = previous_tagged(repo, objects, deployed_id, &tags_by_commit, budget);
            if found.is_none() {
                outcome.notes.push(format!(
                    "No previous deploy tag: no commit in the history of the deployed commit {} \
                     carries a deploy tag, so the changes it brought are not summarized (set \
                     `previous_deployed_ref`).",
                    short(&deployed_id)
                ));
            }
            found.map(|id| {
                let names: Vec<&str> =
                    tags_by_commit.get(&id).into_iter().flatten().map(|t| t.as_str()).collect();
                let names = names.join(", ");
                (id, format!("tag {names}"))
            })
        }
    };
    if let Some((previous_id, source)) = previous {
        deployed.previous = Some(Previous {
            revision: previous_id.to_string(),
            source: redactor.redact(&source),
            tags: tags_by_commit.get(&previous_id).cloned().unwrap_or_default(),
        });
        match summarize(repo, objects, previous_id, deployed_id, classes, budget, redactor) {
            Ok(summary) => deployed.changes = Some(summary),
            Err(e) => outcome.partial_notes.push(format!(
                "The changes from {} to the deployed {} could not be read: {e}.",
                short(&previous_id),
                short(&deployed_id)
            )),
        }
    }
    outcome.deployed = Some(deployed);
    outcome
}

fn deployed_revision(
    repo: &gix::Repository,
    request: &DeployedRequest<'_>,
    tags: &Tags,
    anchor: DateTime<Utc>,
    outcome: &mut DeployedOutcome,
) -> Option<(ObjectId, String)> {
    if let Some((label, value)) = request.labels.first() {
        // The alert names the revision: if it is not here, falling back to a tag would show
        // the wrong deploy.
        return match resolve_label(repo, value) {
            Ok(id) => Some((id, format!("label {label}={value}"))),
            Err(reason) => {
                outcome.partial_notes.push(format!(
                    "The alert label {label}={value} names no commit in this repository ({reason}); \
                     is the repository fetched up to date?"
                ));
                None
            }
        };
    }
    if let Some(spec) = request.deployed_ref {
        return match resolve(repo, spec) {
            Ok(id) => Some((id, format!("deployed_ref {spec}"))),
            Err(e) => {
                outcome.partial_notes.push(format!("deployed_ref `{spec}` names no commit: {e}."));
                None
            }
        };
    }
    let tag = tags.last_at_or_before(anchor)?;
    Some((
        tag.commit_id,
        format!("tag {} (the newest deploy tag at or before the anchor)", tag.name),
    ))
}

/// Resolves an alert label's value: a commit id, a unique prefix, or a tag under the usual
/// conventions between an image tag and a git tag (`1.4.0` also finds `v1.4.0`,
/// `release-1.4.0`, `release/1.4.0`; `v1.4.0` also finds `1.4.0`; `sha-4f2c9e1` finds the
/// commit `4f2c9e1…`). Label values come from outside, so only plain names are looked up:
/// revision syntax such as `:/text` (a search through every commit message) is refused.
fn resolve_label(repo: &gix::Repository, value: &str) -> Result<ObjectId, String> {
    let plain = !value.is_empty()
        && value.len() <= 200
        && !value.starts_with('-')
        && !value.contains("..")
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | '+'));
    if !plain {
        return Err("not a plain commit id or tag name".into());
    }
    let first = resolve(repo, value);
    if first.is_ok() {
        return first;
    }
    label_candidates(value)
        .iter()
        .find_map(|candidate| resolve(repo, candidate).ok())
        .ok_or_else(|| first.err().unwrap_or_default())
}

/// Other spellings of a version or revision label, tried after the value itself.
fn label_candidates(value: &str) -> Vec<String> {
    let mut bare = value;
    for prefix in ["release-", "release/", "sha-"] {
        bare = bare.strip_prefix(prefix).unwrap_or(bare);
    }
    let version = bare.strip_prefix('v').filter(|v| v.starts_with(|c: char| c.is_ascii_digit()));
    let core = version.unwrap_or(bare);
    let mut candidates = vec![
        core.to_owned(),
        format!("v{core}"),
        format!("release-{core}"),
        format!("release/{core}"),
        format!("release-v{core}"),
    ];
    candidates.retain(|c| c != value);
    candidates.dedup();
    candidates
}

struct CommitSummary {
    seconds: i64,
    subject: Redacted,
}

fn read_commit(
    objects: &mut Objects<'_>,
    id: ObjectId,
    redactor: &Redactor,
) -> Option<CommitSummary> {
    let data = objects.find_commit(&id).ok()?;
    let commit = CommitRef::from_bytes(&data, objects.object_hash()).ok()?;
    let seconds = commit.time().ok()?.seconds;
    let subject = redactor.redact(&commit.message().summary().to_str_lossy());
    Some(CommitSummary { seconds, subject })
}

/// The nearest commit in `deployed`'s history, other than itself, that carries a deploy tag.
fn previous_tagged(
    repo: &gix::Repository,
    objects: &mut Objects<'_>,
    deployed: ObjectId,
    tags_by_commit: &BTreeMap<ObjectId, Vec<Redacted>>,
    budget: &Budget,
) -> Option<ObjectId> {
    // With no other tagged commit there is nothing to find: do not walk the whole history.
    if tags_by_commit.keys().all(|id| *id == deployed) {
        return None;
    }
    let objects = RefCell::new(Objects::new(repo, objects.packs()));
    let walk = walk::newest_first(repo, &objects, deployed, None).ok()?;
    for info in walk.take(PREVIOUS_SEARCH_COMMITS) {
        if budget.exhausted() {
            return None;
        }
        let (id, _) = info.ok()?;
        if id != deployed && tags_by_commit.contains_key(&id) {
            return Some(id);
        }
    }
    None
}

fn summarize(
    repo: &gix::Repository,
    objects: &mut Objects<'_>,
    previous: ObjectId,
    deployed: ObjectId,
    classes: &PathClasses,
    budget: &Budget,
    redactor: &Redactor,
) -> Result<RangeSummary, String> {
    let mut commits = 0usize;
    let mut incomplete = false;
    let mut listed_commits = Vec::new();
    let walk_objects = RefCell::new(Objects::new(repo, objects.packs()));
    let walk = walk::newest_first(repo, &walk_objects, deployed, Some(previous))?;
    for info in walk {
        if commits >= RANGE_COUNT_COMMITS || budget.exhausted() {
            incomplete = true;
            break;
        }
        let (id, _) = info?;
        commits += 1;
        if listed_commits.len() < RANGE_LISTED_COMMITS
            && let Some(c) = read_commit(objects, id, redactor)
        {
            listed_commits.push(RangeCommit {
                id: id.to_string(),
                committer_time: utc(c.seconds),
                subject: c.subject,
            });
        }
    }

    let previous_tree = objects.tree_of(&previous).map_err(|e| e.to_string())?;
    let deployed_tree = objects.tree_of(&deployed).map_err(|e| e.to_string())?;
    let changes = Differ::new(redactor, repo.object_hash())
        .changes(objects, Some(previous_tree), deployed_tree)
        .map_err(|e| e.to_string())?;
    let mut files_by_class: BTreeMap<String, Vec<Redacted>> = BTreeMap::new();
    let mut unclassified_files = 0;
    let mut migrations = Vec::new();
    for change in &changes {
        match classes.classify(&change.path) {
            Some(class) => {
                let paths = files_by_class.entry(class.to_owned()).or_default();
                if paths.len() < PATHS_PER_CLASS {
                    paths.push(change.path.clone());
                }
                if class == MIGRATION {
                    migrations.push(Migration { path: change.path.clone(), change: change.change });
                }
            }
            None => unclassified_files += 1,
        }
    }
    Ok(RangeSummary {
        commits,
        commits_incomplete: incomplete,
        listed_commits,
        files_changed: changes.len(),
        files_by_class,
        unclassified_files,
        migrations,
    })
}
