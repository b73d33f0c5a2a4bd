//! The declaration of the `git` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{GitRev, Int, Number, Word},
    Merge::{Min, Or, Primary, Sum, Union},
};
use witness_collector::{KindDecl, fact};

/// The `git` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "git",
    sees: "commits, tags and the files they touch before the anchor",
    facts: &[
        fact("git.commits_in_lookback", "int", Sum, Int, "commits in the lookback"),
        fact("git.minutes_since_last_commit", "float", Min, Number, "anchor minus the last commit"),
        fact("git.minutes_since_last_tag", "float", Min, Number, "anchor minus the last tag"),
        fact("git.migrations_in_lookback", "int", Sum, Int, "migration paths changed"),
        fact("git.migration_paths", "list", Union, Word, "those paths"),
        fact("git.dependency_changes", "int", Sum, Int, "dependency paths changed"),
        fact("git.config_changes", "int", Sum, Int, "config paths changed"),
        fact("git.infra_changes", "int", Sum, Int, "infra paths changed"),
        fact("git.deployed_revision", "text", Primary, GitRev, "the deployed commit"),
        fact("git.previous_deployed_revision", "text", Primary, GitRev, "the one before it"),
        fact("git.deployed_has_migration", "bool", Or, Word, "a migration is among the deployed"),
        fact("git.deployed_commits", "int", Primary, Int, "commits between the two"),
    ],
    labels: LABELS,
};

/// The alert labels the deployed revision is read from, tried in order (`deployed_labels`'
/// default).
pub const LABELS: &[&str] = &["revision", "commit", "sha", "version"];
