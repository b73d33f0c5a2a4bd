//! The lookback: which commits are in it, what each one changed and how it is classed.

use serde_json::json;
use witness_collector::{CollectorConfig, Severity, Status};
use witness_git::{GitConfig, LineCounts};

use super::support::*;

#[tokio::test]
async fn the_lookback_holds_commits_from_24_hours_before_the_anchor_to_the_window_end() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(25 * 60)); // before the lookback
    let at_start = repo.commit_file("a.txt", "2\n", before(24 * 60)); // exactly its start
    repo.commit_file("a.txt", "3\n", before(24 * 60 - 1));
    let last = repo.commit_file("a.txt", "4\n", before(10));
    let after = repo.commit_file("a.txt", "5\n", before(-2)); // after the anchor, in the window
    repo.commit_file("a.txt", "6\n", before(-10)); // after the window

    let evidence = collect(&repo.path).await;
    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(3)));
    assert_eq!(fact(&evidence, "git.minutes_since_last_commit"), Some(json!(10.0)));
    let ids: Vec<&str> = evidence.data["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    assert_eq!((ids[0], ids[1], ids[3]), (after.as_str(), last.as_str(), at_start.as_str()));
    assert_eq!(evidence.data["commits_after_anchor"], 1);
    assert_eq!(events(&evidence, "commit").len(), 4);
    assert!(
        evidence.summary.starts_with("3 commits on main in the 24 h before the anchor"),
        "{}",
        evidence.summary
    );
}

#[tokio::test]
async fn a_window_that_starts_earlier_widens_the_lookback_and_lookback_hours_narrows_it() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(30 * 60));
    repo.commit_file("a.txt", "2\n", before(90));

    let mut ctx = context();
    ctx.window.start = before(48 * 60);
    let wide = collect_with(&GitConfig::new("t", &repo.path), &ctx).await;
    assert_eq!(fact(&wide, "git.commits_in_lookback"), Some(json!(2)));

    let mut config = GitConfig::new("t", &repo.path);
    config.lookback_hours = 1;
    let narrow = collect_with(&config, &context()).await;
    assert_eq!(fact(&narrow, "git.commits_in_lookback"), Some(json!(0)));
    // The newest commit before the anchor is found however old it is.
    assert_eq!(fact(&narrow, "git.minutes_since_last_commit"), Some(json!(90.0)));
}

#[tokio::test]
async fn the_committer_time_decides_and_a_rebased_commit_keeps_both_times() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "base\n", before(48 * 60));
    repo.write("b.txt", "rebased\n");
    let rebased = repo.commit_dated("old work, rebased today", before(3 * 24 * 60), before(60));
    repo.write("c.txt", "old\n");
    // Written an hour ago but committed (by a clock gone wrong) 30 hours ago: outside.
    repo.commit_dated("committed long ago", before(60), before(30 * 60));

    let evidence = collect(&repo.path).await;
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(1)));
    let commit = &evidence.data["commits"][0];
    assert_eq!(commit["id"], rebased.as_str());
    assert_eq!(commit["committer_time"], "2025-11-19T20:00:00.000Z");
    assert_eq!(commit["author_time"], "2025-11-16T21:00:00.000Z");
    let detail = evidence.events[0].detail.as_deref().unwrap();
    assert!(
        detail.starts_with(
            "1 file: b.txt; authored 2025-11-16T21:00:00.000Z (T-72h00m), committed T-1h00m"
        ),
        "{detail}"
    );
}

#[tokio::test]
async fn each_commit_is_classed_by_the_files_it_touches() {
    let repo = TestRepo::init();
    repo.write("src/main.rs", "fn main() {}\n");
    repo.write("config/app.yaml", "a: 1\nb: 2\n");
    repo.write("old.txt", "x\ny\n");
    repo.commit("initial", before(30 * 60));
    repo.commit_file("db/migrations/0042_add_index.sql", "CREATE INDEX i ON t (c);\n", before(120));
    repo.commit_file("Cargo.lock", "# lock\n", before(100));
    repo.write("config/app.yaml", "a: 1\nb: 3\nc: 4\n");
    repo.remove("old.txt");
    repo.commit("tune config", before(80));
    repo.commit_file("Dockerfile", "FROM scratch\n", before(60));
    repo.commit_file("src/main.rs", "fn main() { run() }\n", before(40));
    // A second change of the same migration counts once.
    repo.commit_file(
        "db/migrations/0042_add_index.sql",
        "CREATE INDEX CONCURRENTLY i ON t (c);\n",
        before(20),
    );

    let evidence = collect(&repo.path).await;
    let kinds: Vec<&str> = evidence.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "migration_commit",
            "commit",
            "infra_change",
            "config_change",
            "dependency_change",
            "migration_commit"
        ]
    );
    assert_eq!(evidence.events[0].severity, Severity::Warning);
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), Some(json!(1)));
    assert_eq!(
        fact(&evidence, "git.migration_paths"),
        Some(json!(["db/migrations/0042_add_index.sql"]))
    );
    assert_eq!(fact(&evidence, "git.dependency_changes"), Some(json!(1)));
    assert_eq!(fact(&evidence, "git.config_changes"), Some(json!(1)));
    assert_eq!(fact(&evidence, "git.infra_changes"), Some(json!(1)));

    let config_commit = &evidence.data["commits"][3];
    assert_eq!(config_commit["classes"], json!(["config"]));
    assert_eq!(
        config_commit["files"],
        json!([
            {"path": "config/app.yaml", "change": "modify", "class": "config", "lines_added": 2, "lines_removed": 1},
            {"path": "old.txt", "change": "delete"},
        ])
    );
    assert_eq!(
        evidence.events[3].detail.as_deref(),
        Some("2 files: config/app.yaml (+2 −1), old.txt; classes: config")
    );
    // Line counts agree with git's own; by default only the classified file's are taken.
    let numstat =
        repo.git(&["show", "--numstat", "--format=", config_commit["id"].as_str().unwrap()]);
    assert_eq!(numstat, "2\t1\tconfig/app.yaml\n0\t2\told.txt");
    let mut config = GitConfig::new("test", &repo.path);
    config.line_counts = LineCounts::All;
    let all = collect_with(&config, &context()).await;
    assert_eq!(
        all.data["commits"][3]["files"][1],
        json!({"path": "old.txt", "change": "delete", "lines_added": 0, "lines_removed": 2})
    );
    config.line_counts = LineCounts::None;
    let none = collect_with(&config, &context()).await;
    assert!(none.data["commits"][3]["files"][0].get("lines_added").is_none());
    assert_eq!(evidence.data["commits"][0]["author"], "Alice Example");
    assert!(evidence.data["commits"][0].get("author_email").is_none());
}

#[tokio::test]
async fn the_author_email_is_kept_only_when_configured() {
    let repo = TestRepo::init();
    repo.commit_file("a.txt", "1\n", before(5));
    let mut config = GitConfig::new("t", &repo.path);
    config.include_author_email = true;
    let evidence = collect_with(&config, &context()).await;
    assert_eq!(evidence.data["commits"][0]["author_email"], "alice@example.com");
}

#[tokio::test]
async fn configured_classes_and_file_caps_apply() {
    let repo = TestRepo::init();
    repo.commit_file("README.md", "hi\n", before(30 * 60));
    for i in 0..5 {
        repo.write(&format!("flags/f{i}.json"), "{}\n");
    }
    repo.commit("flip flags", before(10));
    let mut config: GitConfig = toml::from_str(&format!(
        "name = \"t\"\npath = \"{}\"\nmax_files_per_commit = 2\n[path_classes]\nfeature_flags = [\"flags/**\"]",
        repo.path.display()
    ))
    .unwrap();
    config.timeout_secs = Some(5);
    assert!(config.validate().is_empty());
    let evidence = collect_with(&config, &context()).await;
    assert_eq!(evidence.events[0].kind, "feature_flags_change");
    let commit = &evidence.data["commits"][0];
    assert_eq!(commit["files_changed"], 5);
    assert_eq!(commit["files_not_listed"], 3);
    assert_eq!(commit["files"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn tags_in_the_window_are_deploy_markers() {
    let repo = TestRepo::init();
    let old = repo.commit_file("a.txt", "1\n", before(40 * 60));
    repo.git_at(&["tag", "v0.9"], before(40 * 60), before(40 * 60));
    let first = repo.commit_file("a.txt", "2\n", before(5 * 60));
    // Annotated: its time is the tagger's (the release was cut an hour ago).
    repo.git_at(&["tag", "-a", "v1.0", "-m", "release 1.0"], before(60), before(60));
    let second = repo.commit_file("a.txt", "3\n", before(2 * 60));
    repo.git(&["tag", "v1.0.1"]); // lightweight: the commit's time
    repo.git(&["tag", "nightly", &old]);

    let mut config = GitConfig::new("t", &repo.path);
    config.deploy_tags = vec!["v*".into()];
    let evidence = collect_with(&config, &context()).await;
    let tags = events(&evidence, "deploy_tag");
    let titles: Vec<&str> = tags.iter().map(|e| e.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            format!("Deploy tag v1.0 on {}", &first[..10]),
            format!("Deploy tag v1.0.1 on {}", &second[..10])
        ]
    );
    assert_eq!(tags[0].time, before(60));
    assert_eq!(tags[1].time, before(120));
    assert_eq!(fact(&evidence, "git.minutes_since_last_tag"), Some(json!(60.0)));
    let commits = evidence.data["commits"].as_array().unwrap();
    assert_eq!(commits[0]["tags"], json!(["v1.0.1"]));
    assert_eq!(commits[1]["tags"], json!(["v1.0"]));
}

/// Tags are read as loose refs, from `packed-refs` (after `git gc` or a clone), and as a
/// loose ref that moved a packed one: the loose one wins, as in git; names with a `/`
/// are found in their directories.
#[tokio::test]
async fn packed_and_loose_tags_are_read_alike_and_a_loose_tag_overrides_its_packed_one() {
    let repo = TestRepo::init();
    let first = repo.commit_file("a.txt", "1\n", before(5 * 60));
    repo.git_at(&["tag", "-a", "v1.0", "-m", "release 1.0"], before(4 * 60), before(4 * 60));
    repo.git(&["tag", "release/v1.1", &first]);
    let second = repo.commit_file("a.txt", "2\n", before(2 * 60));
    let mut config = GitConfig::new("t", &repo.path);
    config.deploy_tags = vec!["v*".into(), "release/*".into()];
    let tags = |evidence: &witness_collector::Evidence| -> Vec<String> {
        let tags = events(evidence, "deploy_tag");
        tags.iter().map(|e| format!("{} {}", e.title, e.time)).collect()
    };

    let loose = tags(&collect_with(&config, &context()).await);
    assert_eq!(loose.len(), 2, "{loose:?}");
    repo.git(&["pack-refs", "--all"]);
    assert!(repo.path.join(".git/packed-refs").exists());
    assert!(!repo.path.join(".git/refs/tags/v1.0").exists());
    assert_eq!(tags(&collect_with(&config, &context()).await), loose);

    // Moved after packing: the loose ref names the commit now tagged.
    repo.git_at(&["tag", "-f", "-a", "v1.0", "-m", "again", &second], before(60), before(60));
    let evidence = collect_with(&config, &context()).await;
    let moved = tags(&evidence);
    assert_eq!(moved.len(), 2, "{moved:?}");
    assert!(moved.contains(&format!("Deploy tag v1.0 on {} {}", &second[..10], before(60))));
    assert_eq!(evidence.data["commits"][0]["tags"], json!(["v1.0"]));
}

#[tokio::test]
async fn a_merge_lists_its_files_against_the_first_parent_and_counts_them_once() {
    let repo = TestRepo::init();
    repo.commit_file("README.md", "hi\n", before(30 * 60));
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.commit_file("migrations/0002_users.sql", "ALTER TABLE users ADD c int;\n", before(180));
    repo.git(&["checkout", "-q", "main"]);
    repo.commit_file("src/lib.rs", "// main work\n", before(120));
    let merge = repo.git_at(
        &["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"],
        before(60),
        before(60),
    );
    let _ = merge;
    let merge_id = repo.git(&["rev-parse", "HEAD"]);

    let evidence = collect(&repo.path).await;
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(3)));
    let commit = &evidence.data["commits"][0];
    assert_eq!(commit["id"], merge_id.as_str());
    assert_eq!(commit["merge"], true);
    assert_eq!(commit["files"][0]["path"], "migrations/0002_users.sql");
    assert_eq!(evidence.events[0].kind, "migration_commit");
    assert!(evidence.events[0].title.starts_with("Merge "), "{}", evidence.events[0].title);
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), Some(json!(1)));
}

/// Read on one thread per core beyond the one beside the walk (several on a machine of
/// three cores or more): the commits come back newest first whatever the readers.
#[tokio::test]
async fn a_busy_day_is_read_in_full_and_kept_newest_first() {
    let repo = TestRepo::init();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(repo.commit_file(
            &format!("src/f{}.rs", i % 7),
            &format!("{i}\n"),
            before(600 - i * 10),
        ));
    }
    let evidence = collect(&repo.path).await;
    assert_eq!(evidence.status, witness_collector::Status::Ok);
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(40)));
    let read: Vec<&str> = evidence.data["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(read, newest_first);
    assert!(evidence.data["commits"].as_array().unwrap().iter().all(|c| c["files_changed"] == 1));
}

#[tokio::test]
async fn past_max_commits_the_commits_are_counted_but_the_class_facts_left_out() {
    let repo = TestRepo::init();
    repo.commit_file("db/001.sql", "CREATE TABLE a (c int);\n", before(50));
    repo.commit_file("src/a.rs", "1\n", before(40));
    repo.commit_file("src/a.rs", "2\n", before(30));
    let mut config = GitConfig::new("t", &repo.path);
    config.max_commits = 2;
    let evidence = collect_with(&config, &context()).await;
    assert_eq!(evidence.status, Status::Ok);
    assert_eq!(fact(&evidence, "git.commits_in_lookback"), Some(json!(3)));
    // The migration is in the commit not read: no count may claim there was none.
    assert_eq!(fact(&evidence, "git.migrations_in_lookback"), None);
    assert_eq!(evidence.data["commits"].as_array().unwrap().len(), 2);
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with("3 commits are in the span; the newest 2 were read"))
    );
}

/// Objects are read loose, then from a pack whose versions of each file and tree are delta
/// chains of one another (as after `git gc`), then with a commit-graph beside the pack: the
/// evidence must not depend on how the repository stores its history, and every file and
/// line count is `git log --numstat`'s.
#[tokio::test]
async fn loose_packed_or_with_a_commit_graph_the_evidence_is_the_same_and_git_numstat_s() {
    let repo = TestRepo::init();
    let body = |i: usize| -> String {
        (0..40)
            .map(|j| if j == i % 40 { format!("edited {i}\n") } else { format!("line {j}\n") })
            .collect()
    };
    for i in 0..60 {
        repo.write(&format!("src/m{}/f{}.rs", i % 3, i % 5), &body(i));
        if i % 20 == 0 {
            repo.write(&format!("db/migrations/{i:03}.sql"), "ALTER TABLE t ADD c int;\n");
        }
        if i % 25 == 24 {
            repo.remove(&format!("src/m{}/f{}.rs", (i + 1) % 3, (i + 1) % 5));
        }
        repo.commit(&format!("change {i}"), before(600 - 10 * i64::try_from(i).unwrap()));
    }
    let mut config = GitConfig::new("t", &repo.path);
    config.line_counts = LineCounts::All;
    // The evidence without the description of the repository, and whether it has a
    // commit-graph.
    async fn read(config: &GitConfig) -> (serde_json::Value, serde_json::Value) {
        let evidence = collect_with(config, &context()).await;
        assert_eq!(evidence.status, Status::Ok);
        let mut data = evidence.data;
        let repository = data.as_object_mut().unwrap().remove("repository").unwrap();
        (data, repository["commit_graph"].clone())
    }

    let (loose, graph) = read(&config).await;
    assert_eq!(graph, false);
    repo.git(&["repack", "-adfq", "--window=10", "--depth=50"]);
    repo.git(&["prune-packed"]);
    let (packed, graph) = read(&config).await;
    assert_eq!(graph, false);
    repo.git(&["commit-graph", "write", "--reachable"]);
    let (graphed, graph) = read(&config).await;
    assert_eq!(graph, true);
    assert_eq!(packed, loose);
    assert_eq!(graphed, loose);

    let mut numstat: Vec<String> = Vec::new();
    let mut id = String::new();
    let log = repo.git(&["log", "--numstat", "--no-renames", "--format=commit %H", "main"]);
    for line in log.lines() {
        match line.strip_prefix("commit ") {
            Some(commit) => id = commit.to_owned(),
            None if !line.is_empty() => numstat.push(format!("{id} {}", line.replace('\t', " "))),
            None => {}
        }
    }
    let mut listed: Vec<String> = Vec::new();
    for commit in loose["commits"].as_array().unwrap() {
        for file in commit["files"].as_array().unwrap() {
            listed.push(format!(
                "{} {} {} {}",
                commit["id"].as_str().unwrap(),
                file["lines_added"],
                file["lines_removed"],
                file["path"].as_str().unwrap()
            ));
        }
    }
    numstat.sort();
    listed.sort();
    assert_eq!(listed.len(), 60 + 3 + 2, "every commit's file, the migrations, the deletes");
    assert_eq!(listed, numstat);
}
