//! The `git` collector kind: what changed before the anchor, read from the repository of
//! the service (a checkout or a bare mirror on disk) with gitoxide — no `git` binary at run
//! time.
//!
//! Per instance it reads the history of a ref (default `HEAD`) over a lookback (default the
//! 24 hours before the anchor, or the run's window when that starts earlier), newest first,
//! and keeps per commit: id, author and committer time (a rebase makes them differ; the
//! committer time decides what is in the lookback), author name (the email only with
//! `include_author_email`), subject, the files changed against the first parent (add,
//! modify, delete; with line counts for the files of a path class, or as `line_counts`
//! says), their path classes (`migration`, `dependency`,
//! `infra`, `config`, or classes of your own), whether it is a merge and the tags on it.
//! Deploy tags (`deploy_tags`) in the span are deploy markers.
//!
//! The **deployed revision** comes from an alert label (`revision`, `commit`, `sha`,
//! `version`), else `deployed_ref`, else the newest deploy tag at or before the anchor; the
//! previous one from `previous_deployed_ref`, else the nearest deploy tag in the deployed
//! commit's history. Between them: the commits, the files by class and the migrations by
//! name.
//!
//! Shallow clones, detached HEAD, empty and bare repositories and submodules each get a
//! note saying what the evidence can and cannot show.
//!
//! Speed: a 24 h lookback of 238 commits in a 100,000-commit repository costs 30–33 ms
//! of CPU per collect in a running process; as a fresh process 75 M instructions with a
//! commit-graph (`git log --name-status`: 58 M), on a reader thread and one beside it for
//! the tags and the deployed revision. Packed objects are read with every delta base kept
//! (`objects`); `BENCHMARK.md` has the figures and `tests/bench/git.sh` the benchmark.
//!
//! # Facts
//! Documented in `FACTS.md` too. Counts are absent when the read was cut short (deadline,
//! a shallow clone ending inside the lookback, more commits than `max_commits`).
//!
//! | fact | type | meaning |
//! |---|---|---|
//! | `git.commits_in_lookback` | int | commits with a committer time in the lookback, up to the anchor |
//! | `git.minutes_since_last_commit` | float | minutes from the newest commit at or before the anchor to the anchor |
//! | `git.minutes_since_last_tag` | float | minutes from the newest deploy tag at or before the anchor to the anchor |
//! | `git.migrations_in_lookback` | int | distinct migration files changed in the lookback |
//! | `git.migration_paths` | list of text | those paths (at most 50) |
//! | `git.dependency_changes` | int | distinct dependency files (manifests, lockfiles) changed in the lookback |
//! | `git.config_changes` | int | distinct configuration files changed in the lookback |
//! | `git.infra_changes` | int | distinct infrastructure files changed in the lookback |
//! | `git.deployed_revision` | text | full id of the deployed commit |
//! | `git.previous_deployed_revision` | text | full id of the commit deployed before it |
//! | `git.deployed_has_migration` | bool | a migration file changed between the previous and the deployed revision |
//! | `git.deployed_commits` | int | commits between the previous and the deployed revision |
//!
//! # Events
//! One per commit in the span, of kind `commit`, `migration_commit`, `dependency_change`,
//! `infra_change`, `config_change` (or `<class>_change`), by the commit's first class; one
//! `deploy_tag` per deploy tag in the span.

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    mod budget;
    mod classes;
    mod collector;
    mod config;
    mod deployed;
    mod diff;
    mod error;
    mod history;
    mod objects;
    mod repo;
    mod report;
    mod scan;
    mod tags;
    mod trees;
    mod walk;

    pub use collector::GitCollector;
    pub use config::{GitConfig, LineCounts};
    pub use error::GitError;
}
