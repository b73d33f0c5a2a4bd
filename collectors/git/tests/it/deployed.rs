//! The deployed revision and the changes it brought since the previous deploy.

use serde_json::json;
use witness_collector::Status;
use witness_git::GitConfig;

use super::support::*;

/// v1.0 at T-30h; then a migration, a dependency bump and a code change; v1.1 at T-1h; then
/// one more commit, not deployed. Returns the repository and the ids of v1.0 and v1.1.
fn released() -> (TestRepo, String, String) {
    let repo = TestRepo::init();
    repo.commit_file("src/app.rs", "v1\n", before(31 * 60));
    let v10 = repo.commit_file("src/app.rs", "v1.0\n", before(30 * 60));
    repo.git_at(&["tag", "-a", "v1.0", "-m", "1.0"], before(30 * 60), before(30 * 60));
    repo.commit_file(
        "db/migrations/0007_orders.sql",
        "ALTER TABLE orders ADD note text;\n",
        before(5 * 60),
    );
    repo.commit_file("package-lock.json", "{}\n", before(4 * 60));
    let v11 = repo.commit_file("src/app.rs", "v1.1\n", before(3 * 60));
    repo.git_at(&["tag", "-a", "v1.1", "-m", "1.1"], before(60), before(60));
    repo.commit_file("src/app.rs", "v1.2-dev\n", before(30));
    (repo, v10, v11)
}

#[tokio::test]
async fn an_alert_label_names_the_deployed_revision_and_the_previous_tag_bounds_its_changes() {
    let (repo, v10, v11) = released();
    let ctx = context_with_labels(&[("revision", &v11[..12])]);
    let evidence = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "git.deployed_revision"), Some(json!(v11)));
    assert_eq!(fact(&evidence, "git.previous_deployed_revision"), Some(json!(v10)));
    assert_eq!(fact(&evidence, "git.deployed_has_migration"), Some(json!(true)));
    assert_eq!(fact(&evidence, "git.deployed_commits"), Some(json!(3)));
    let deployed = &evidence.data["deployed"];
    assert_eq!(deployed["source"], format!("label revision={}", &v11[..12]));
    assert_eq!(deployed["tags"], json!(["v1.1"]));
    assert_eq!(deployed["previous"]["source"], "tag v1.0");
    let changes = &deployed["changes"];
    assert_eq!(
        changes["migrations"],
        json!([{"path": "db/migrations/0007_orders.sql", "change": "add"}])
    );
    assert_eq!(
        changes["files_by_class"],
        json!({"migration": ["db/migrations/0007_orders.sql"], "dependency": ["package-lock.json"]})
    );
    assert_eq!(changes["unclassified_files"], 1);
    assert_eq!(changes["listed_commits"][0]["id"], v11.as_str());
    assert!(
        evidence.summary.contains("3 commits since v1.0, 1 migrations"),
        "{}",
        evidence.summary
    );
}

#[tokio::test]
async fn a_version_label_finds_its_v_tag() {
    let (repo, _, v11) = released();
    let ctx = context_with_labels(&[("version", "1.1")]);
    let evidence = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;
    assert_eq!(fact(&evidence, "git.deployed_revision"), Some(json!(v11)));
}

#[tokio::test]
async fn without_a_label_the_newest_tag_before_the_anchor_is_deployed() {
    let (repo, _, v11) = released();
    let evidence = collect(&repo.path).await;
    assert_eq!(fact(&evidence, "git.deployed_revision"), Some(json!(v11)));
    assert!(evidence.data["deployed"]["source"].as_str().unwrap().starts_with("tag v1.1"));
}

#[tokio::test]
async fn configured_refs_name_the_deployed_and_previous_revisions() {
    let (repo, v10, _) = released();
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["branch", "production", "HEAD"]);
    let mut config = GitConfig::new("t", &repo.path);
    config.deployed_ref = Some("production".into());
    config.previous_deployed_ref = Some(v10.clone());
    let evidence = collect_with(&config, &context()).await;
    assert_eq!(fact(&evidence, "git.deployed_revision"), Some(json!(head)));
    assert_eq!(fact(&evidence, "git.deployed_commits"), Some(json!(4)));
    assert_eq!(evidence.data["deployed"]["source"], "deployed_ref production");
}

#[tokio::test]
async fn a_deploy_without_migrations_says_so() {
    let repo = TestRepo::init();
    let v1 = repo.commit_file("src/a.rs", "1\n", before(120));
    repo.git(&["tag", "v1"]);
    let v2 = repo.commit_file("src/a.rs", "2\n", before(60));
    repo.git(&["tag", "v2"]);
    let evidence =
        collect_with(&GitConfig::new("t", &repo.path), &context_with_labels(&[("sha", &v2)])).await;
    assert_eq!(fact(&evidence, "git.deployed_has_migration"), Some(json!(false)));
    assert_eq!(fact(&evidence, "git.previous_deployed_revision"), Some(json!(v1)));
}

#[tokio::test]
async fn an_unknown_or_unsafe_label_value_is_a_partial_note_not_a_guess() {
    let (repo, _, _) = released();
    for value in ["0123456789abcdef", ":/orders"] {
        let ctx = context_with_labels(&[("commit", value)]);
        let evidence = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;
        assert_eq!(evidence.status, Status::Partial);
        assert!(
            evidence
                .notes
                .iter()
                .any(|n| n.starts_with(&format!("The alert label commit={value} names no commit"))),
            "{:?}",
            evidence.notes
        );
        assert_eq!(fact(&evidence, "git.deployed_revision"), None);
        assert_eq!(fact(&evidence, "git.deployed_has_migration"), None);
        // The lookback is still there.
        assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(4)));
    }
}

#[tokio::test]
async fn without_a_previous_deploy_the_changes_are_not_summarized_and_no_fact_guesses() {
    let repo = TestRepo::init();
    repo.commit_file("db/001.sql", "CREATE TABLE a (c int);\n", before(120));
    let deployed = repo.commit_file("src/a.rs", "1\n", before(60));
    let evidence = collect_with(
        &GitConfig::new("t", &repo.path),
        &context_with_labels(&[("revision", &deployed)]),
    )
    .await;
    assert_eq!(evidence.status, Status::Ok);
    assert_eq!(fact(&evidence, "git.deployed_revision"), Some(json!(deployed)));
    assert_eq!(fact(&evidence, "git.previous_deployed_revision"), None);
    assert_eq!(fact(&evidence, "git.deployed_has_migration"), None);
    assert!(
        evidence.notes.iter().any(|n| n.starts_with(
            "No previous deploy tag: no commit in the history of the deployed commit"
        )),
        "{:?}",
        evidence.notes
    );
}

/// Issue 15: the image tag an alert carries and the git tag of the same release follow
/// different conventions; each of them finds the deployed commit.
#[tokio::test]
async fn the_deployed_revision_is_found_across_tag_conventions() {
    let repo = TestRepo::init();
    repo.commit_file("src/app.rs", "1\n", before(300));
    let v13 = repo.commit_file("src/app.rs", "1.3\n", before(240));
    repo.git_at(&["tag", "-a", "release-1.3.0", "-m", "1.3.0"], before(240), before(240));
    let v14 = repo.commit_file("src/app.rs", "1.4\n", before(120));
    repo.git_at(&["tag", "-a", "v1.4.0", "-m", "1.4.0"], before(120), before(120));
    let cases = [
        ("1.4.0", &v14),
        ("v1.4.0", &v14),
        ("release-1.4.0", &v14),
        ("1.3.0", &v13),
        ("v1.3.0", &v13),
        (&v14[..7], &v14),
        (&format!("sha-{}", &v14[..8])[..], &v14),
    ];
    for (label, want) in cases {
        let evidence = collect_with(
            &GitConfig::new("t", &repo.path),
            &context_with_labels(&[("revision", label)]),
        )
        .await;
        assert_eq!(
            fact(&evidence, "git.deployed_revision"),
            Some(json!(want)),
            "label {label}: {:?}",
            evidence.notes
        );
    }
    let evidence = collect_with(
        &GitConfig::new("t", &repo.path),
        &context_with_labels(&[("revision", "1.4.0")]),
    )
    .await;
    assert_eq!(fact(&evidence, "git.previous_deployed_revision"), Some(json!(v13)));
    let evidence = collect_with(
        &GitConfig::new("t", &repo.path),
        &context_with_labels(&[("revision", "2.0.0")]),
    )
    .await;
    assert_eq!(fact(&evidence, "git.deployed_revision"), None);
}
