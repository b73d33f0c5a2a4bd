//! Repositories of unusual shapes, and failures: each gets a clear note or error, never a
//! panic.

use serde_json::json;
use witness_collector::{CollectError, CollectorConfig, Status};
use witness_git::GitConfig;

use super::support::*;

#[tokio::test]
async fn a_shallow_clone_that_ends_inside_the_lookback_is_partial_and_says_so() {
    let source = TestRepo::init();
    source.commit_file("a.txt", "1\n", before(30 * 60));
    source.commit_file("a.txt", "2\n", before(10 * 60));
    let edge = source.commit_file("a.txt", "3\n", before(5 * 60));
    source.commit_file("a.txt", "4\n", before(60));
    let clone = TestRepo::clone_from(&source.url(), &["--depth", "2"]);

    let evidence = collect(&clone.path).await;
    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("Shallow clone: its history ends at {}", &edge[..10]))),
        "{:?}",
        evidence.notes
    );
    // What it has is shown, but no count pretends to be complete.
    assert_eq!(evidence.data["commits"].as_array().unwrap().len(), 2);
    assert_eq!(evidence.data["commits"][1]["id"], edge.as_str());
    assert!(evidence.data["commits"][1].get("files").is_none());
    assert_eq!(evidence.data["commits"][0]["files"][0]["path"], "a.txt");
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), None);
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), None);
    assert_eq!(evidence.data["repository"]["shallow"], true);
}

#[tokio::test]
async fn a_shallow_clone_deep_enough_for_the_lookback_is_complete() {
    let source = TestRepo::init();
    source.commit_file("a.txt", "1\n", before(48 * 60));
    source.commit_file("a.txt", "2\n", before(40 * 60));
    source.commit_file("a.txt", "3\n", before(60));
    let clone = TestRepo::clone_from(&source.url(), &["--depth", "2"]);

    let evidence = collect(&clone.path).await;
    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(1)));
    assert!(evidence.notes.iter().any(|n| n.contains("Shallow clone: the lookback lies inside")));
}

#[tokio::test]
async fn an_empty_repository_is_skipped_with_the_reason() {
    let repo = TestRepo::init();
    let evidence = collect(&repo.path).await;
    assert_eq!(evidence.status, Status::Skipped);
    assert!(
        evidence.summary.ends_with("has no commits yet (HEAD points at the unborn branch main)"),
        "{}",
        evidence.summary
    );
    assert!(evidence.facts.is_empty());
}

#[tokio::test]
async fn a_bare_mirror_is_read_like_a_checkout() {
    let source = TestRepo::init();
    source.commit_file("db/001.sql", "CREATE TABLE t (c int);\n", before(30));
    let mirror = TestRepo::clone_from(&source.url(), &["--bare"]);

    let evidence = collect(&mirror.path).await;
    assert_eq!(evidence.status, Status::Ok);
    assert_eq!(evidence.data["repository"]["bare"], true);
    assert!(evidence.notes.iter().any(|n| n.starts_with("Bare repository")));
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), Some(json!(1)));
}

#[tokio::test]
async fn a_detached_head_is_read_from_the_commit_it_points_at() {
    let repo = TestRepo::init();
    let first = repo.commit_file("a.txt", "1\n", before(90));
    repo.commit_file("a.txt", "2\n", before(30));
    repo.git(&["checkout", "-q", "--detach", &first]);

    let evidence = collect(&repo.path).await;
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(1)));
    assert_eq!(evidence.data["repository"]["detached"], true);
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with(&format!("HEAD is detached at {}", &first[..10])))
    );
}

#[tokio::test]
async fn a_submodule_pointer_change_is_listed_and_noted() {
    let library = TestRepo::init();
    library.commit_file("lib.txt", "v1\n", before(48 * 60));
    let repo = TestRepo::init();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &library.url(),
        "vendor/lib",
    ]);
    repo.commit("add submodule", before(30 * 60));
    library.commit_file("lib.txt", "v2\n", before(200));
    repo.git(&["-C", "vendor/lib", "fetch", "-q", "origin"]);
    repo.git(&["-C", "vendor/lib", "checkout", "-q", "--detach", "origin/main"]);
    repo.commit("bump lib", before(100));

    let evidence = collect(&repo.path).await;
    assert_eq!(evidence.status, Status::Ok);
    let file = &evidence.data["commits"][0]["files"][0];
    assert_eq!(file["path"], "vendor/lib");
    assert_eq!(file["submodule"], true);
    assert!(file.get("lines_added").is_none());
    assert!(
        evidence.notes.iter().any(|n| n.starts_with("The repository has submodules (vendor/lib)")),
        "{:?}",
        evidence.notes
    );
}

#[tokio::test]
async fn a_missing_repository_or_ref_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = GitConfig::new("t", dir.path().join("nope")).build().unwrap();
    let err = missing.collect(&context()).await.unwrap_err();
    assert!(
        matches!(&err, CollectError::Config(m) if m.contains("nope is not a git repository: no such directory")),
        "{err}"
    );

    let not_repo = GitConfig::new("t", dir.path()).build().unwrap();
    let err = not_repo.collect(&context()).await.unwrap_err();
    assert!(
        matches!(&err, CollectError::Config(m) if m.contains("is not a git repository")),
        "{err}"
    );

    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(5));
    let mut config = GitConfig::new("t", &repo.path);
    config.git_ref = "production".into();
    let err = config.build().unwrap().collect(&context()).await.unwrap_err();
    assert!(
        matches!(&err, CollectError::Config(m) if m.starts_with("ref `production` does not name a commit")),
        "{err}"
    );
}

#[tokio::test]
async fn a_read_cut_short_by_the_deadline_is_partial_without_counts() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(5));
    let mut ctx = context();
    ctx.deadline = tokio::time::Instant::now();
    let evidence = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;
    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence.notes.iter().any(|n| n.starts_with("The deadline came after 0 commits")),
        "{:?}",
        evidence.notes
    );
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), None);
}

#[tokio::test]
async fn a_cancelled_run_stops_the_read() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(5));
    let ctx = context();
    ctx.cancel.cancel();
    let evidence = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;
    assert_eq!(evidence.status, Status::Partial);
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), None);
}

#[test]
fn discovery_finds_the_repository_around_a_directory() {
    let repo = TestRepo::init();
    repo.commit_file("src/a.txt", "1\n", before(5));
    let found = GitConfig::discover_from(&repo.path.join("src")).expect("found");
    assert_eq!(found.name, "local");
    assert_eq!(found.path.canonicalize().unwrap(), repo.path.canonicalize().unwrap());
    assert_eq!(found.git_ref, "HEAD");
    assert_eq!(found.lookback_hours, 24);
    assert!(found.validate().is_empty());
}

#[tokio::test]
async fn a_commit_whose_objects_are_missing_is_left_out_with_a_note() {
    let repo = TestRepo::init();
    repo.commit_file("dir/a.txt", "1\n", before(60));
    repo.commit_file("dir/a.txt", "2\n", before(30));
    // A damaged repository: one tree of the newest commit is gone.
    let tree = repo.git(&["rev-parse", "HEAD:dir"]);
    std::fs::remove_file(repo.path.join(".git/objects").join(&tree[..2]).join(&tree[2..])).unwrap();

    let evidence = collect(&repo.path).await;
    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with("1 commit(s) could not be read and are left out")),
        "{:?}",
        evidence.notes
    );
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(2)));
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), None);
    assert_eq!(evidence.data["commits"].as_array().unwrap().len(), 1);
}
