//! Turns a [`Scan`] into evidence: the facts the rules test, one timeline event per commit
//! and per deploy tag, a one-line summary and the notes. A count is published only when
//! every commit it covers was read; otherwise it is left out, so a cut-short read never
//! passes for a quiet repository.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use witness_collector::time::offset_label;
use witness_collector::{Event, Evidence, Redacted, Severity};

use crate::classes::{CONFIG, DEPENDENCY, INFRA, MIGRATION};
use crate::history::CommitRecord;
use crate::scan::Scan;

/// The longest subject kept in an event title.
const TITLE_SUBJECT_CHARS: usize = 100;
/// The most migration paths in `git.migration_paths`.
const MAX_MIGRATION_PATHS: usize = 50;
/// Files named in a commit event's detail.
const DETAIL_FILES: usize = 5;

/// The evidence of one scan.
pub fn evidence(scan: &Scan) -> Evidence {
    let mut evidence = Evidence::ok(summary(scan));
    let anchor = scan.lookback.anchor;
    let done = scan.completeness;

    if done.counted {
        evidence = evidence.fact("git.commits_in_lookback", scan.commits_in_lookback);
    }
    if let Some(t) = scan.last_commit_before_anchor {
        evidence = evidence.fact("git.minutes_since_last_commit", minutes(t, anchor));
    }
    if done.tags
        && let Some(tag) = &scan.last_tag_before_anchor
    {
        evidence = evidence.fact("git.minutes_since_last_tag", minutes(tag.time, anchor));
    }
    if done.classified {
        let paths = paths_by_class(scan.commits.iter().filter(|c| c.committer_time <= anchor));
        let count = |class: &str| paths.get(class).map_or(0, BTreeSet::len);
        let migration_paths: Vec<String> =
            paths.get(MIGRATION).into_iter().flatten().take(MAX_MIGRATION_PATHS).cloned().collect();
        evidence = evidence
            .fact("git.migrations_in_lookback", count(MIGRATION))
            .fact("git.migration_paths", migration_paths)
            .fact("git.dependency_changes", count(DEPENDENCY))
            .fact("git.config_changes", count(CONFIG))
            .fact("git.infra_changes", count(INFRA));
    }
    if let Some(deployed) = &scan.deployed {
        evidence = evidence.fact("git.deployed_revision", deployed.revision.as_str());
        if let Some(previous) = &deployed.previous {
            evidence = evidence.fact("git.previous_deployed_revision", previous.revision.as_str());
        }
        if let Some(changes) = &deployed.changes {
            evidence = evidence.fact("git.deployed_has_migration", !changes.migrations.is_empty());
            if !changes.commits_incomplete {
                evidence = evidence.fact("git.deployed_commits", changes.commits);
            }
        }
    }

    for (i, commit) in scan.commits.iter().enumerate() {
        evidence =
            evidence.event(commit_event(commit, anchor).pointer(format!("/data/commits/{i}")));
    }
    for (i, tag) in scan.tags.iter().enumerate() {
        let event = Event::new(
            tag.time,
            "deploy_tag",
            format!("Deploy tag {} on {}", tag.name, short(&tag.commit)),
        )
        .detail(format!(
            "{} tag at {}",
            if tag.annotated { "Annotated" } else { "Lightweight" },
            offset_label(tag.time, anchor)
        ))
        .signature(format!("deploy_tag:{}", tag.name))
        .pointer(format!("/data/tags/{i}"));
        evidence = evidence.event(event);
    }
    for note in &scan.partial_notes {
        evidence.add_partial(note.clone());
    }
    for note in &scan.notes {
        evidence.add_note(note.clone());
    }
    evidence.data(scan)
}

/// Distinct paths changed per class: a file changed by three commits (or by a commit and
/// the merge that brought it in) is one change.
fn paths_by_class<'a>(
    commits: impl Iterator<Item = &'a CommitRecord>,
) -> BTreeMap<String, BTreeSet<String>> {
    let mut paths: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for commit in commits {
        for (class, path) in &commit.classified {
            paths.entry(class.clone()).or_default().insert(path.to_string());
        }
    }
    paths
}

/// The event kind of a commit, by the first of its classes.
pub fn commit_kind(commit: &CommitRecord) -> String {
    match commit.classes.first().map(String::as_str) {
        None => "commit".into(),
        Some(MIGRATION) => "migration_commit".into(),
        Some(other) => format!("{other}_change"),
    }
}

fn commit_event(commit: &CommitRecord, anchor: DateTime<Utc>) -> Event {
    let kind = commit_kind(commit);
    let what = if commit.merge { "Merge" } else { "Commit" };
    let title =
        format!("{what} {} by {}: {}", commit.short_id(), commit.author, clip(&commit.subject));
    let mut detail = match &commit.files {
        Some(files) => {
            // Each named file with its line counts where they were taken (`line_counts`).
            let mut names: Vec<String> = files
                .iter()
                .take(DETAIL_FILES)
                .map(|f| match (f.lines_added, f.lines_removed) {
                    (Some(added), Some(removed)) => format!("{} (+{added} −{removed})", f.path),
                    _ => f.path.to_string(),
                })
                .collect();
            if commit.files_changed > DETAIL_FILES {
                names.push("…".to_owned());
            }
            let files = if commit.files_changed == 1 { "file" } else { "files" };
            format!("{} {files}: {}", commit.files_changed, names.join(", "))
        }
        None => "files unknown (shallow clone edge)".to_owned(),
    };
    if !commit.classes.is_empty() {
        detail.push_str(&format!("; classes: {}", commit.classes.join(", ")));
    }
    if commit.merge {
        detail.push_str("; files against the first parent");
    }
    if (commit.committer_time - commit.author_time).num_seconds().abs() >= 60 {
        detail.push_str(&format!(
            "; authored {} ({}), committed {}",
            witness_collector::time::format(commit.author_time),
            offset_label(commit.author_time, anchor),
            offset_label(commit.committer_time, anchor),
        ));
    }
    if !commit.tags.is_empty() {
        let tags: Vec<&str> = commit.tags.iter().map(|t| t.as_str()).collect();
        detail.push_str(&format!("; tags: {}", tags.join(", ")));
    }
    let severity = if kind == "migration_commit" { Severity::Warning } else { Severity::Info };
    Event::new(commit.committer_time, kind.clone(), title)
        .detail(detail)
        .severity(severity)
        .signature(kind)
}

fn summary(scan: &Scan) -> String {
    let on = scan.repository.branch.clone().unwrap_or_else(|| scan.repository.git_ref.clone());
    let hours = (scan.lookback.anchor - scan.lookback.start).num_minutes() as f64 / 60.0;
    let mut parts = vec![if scan.completeness.counted {
        format!(
            "{} commits on {on} in the {hours:.0} h before the anchor",
            scan.commits_in_lookback
        )
    } else {
        format!(
            "at least {} commits on {on} in the {hours:.0} h before the anchor",
            scan.commits_in_lookback
        )
    }];
    let migrations = scan
        .commits
        .iter()
        .filter(|c| {
            c.committer_time <= scan.lookback.anchor && c.classes.iter().any(|k| k == MIGRATION)
        })
        .count();
    if migrations > 0 {
        parts.push(format!("{migrations} touching migrations"));
    }
    if let Some(t) = scan.last_commit_before_anchor {
        parts.push(format!("last commit {}", offset_label(t, scan.lookback.anchor)));
    }
    if let Some(d) = &scan.deployed {
        let mut s = format!("deployed {} ({})", short(&d.revision), d.source);
        if let (Some(p), Some(c)) = (&d.previous, &d.changes) {
            let prev = p.tags.first().map_or_else(|| short(&p.revision), |t| t.as_str());
            s.push_str(&format!(
                ": {} commits since {prev}, {} migrations",
                c.commits,
                c.migrations.len()
            ));
        }
        parts.push(s);
    }
    parts.join("; ")
}

fn minutes(t: DateTime<Utc>, anchor: DateTime<Utc>) -> f64 {
    ((anchor - t).num_seconds() as f64 / 6.0).round() / 10.0
}

/// The subject cut for a title: redacted before the cut, which never splits a token.
fn clip(subject: &Redacted) -> Redacted {
    match subject.char_indices().nth(TITLE_SUBJECT_CHARS) {
        None => subject.clone(),
        Some((at, _)) => subject.truncate(at).map(|cut| format!("{cut}…")),
    }
}

/// The short form of a hex commit id used in titles.
pub fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}
