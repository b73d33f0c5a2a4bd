//! Links between collectors made after they ran: the image tag the kubernetes evidence
//! finds running names the deployed revision for the git evidence, against a real git
//! repository. (The kubernetes side is a test collector publishing the fact as the real
//! one does; the real collector is tested against a fake API server in its own crate.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use witness::run::plan::{Planned, PlannedCollector};
use witness_collector::{
    CollectContext, CollectError, Collector, CollectorConfig, Evidence, FactValue,
};

use crate::util::git;

/// Publishes `kubernetes.current_images` like the kubernetes collector does.
struct RunningImage(&'static str);

#[async_trait]
impl Collector for RunningImage {
    async fn collect(&self, _ctx: &CollectContext) -> Result<Evidence, CollectError> {
        Ok(Evidence::ok("prod/web at revision 7").fact("kubernetes.current_images", vec![self.0]))
    }
}

fn commit_id(dir: &std::path::Path, rev: &str) -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", rev])
        .current_dir(dir)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn run_with_image(
    repo: &std::path::Path,
    image: &'static str,
) -> witness::bundle::layout::CollectorRecord {
    let git_config = witness_git::GitConfig::discover_from(repo).expect("a repository");
    let plan = vec![
        PlannedCollector {
            kind: "kubernetes",
            name: "prod".into(),
            timeout: Duration::from_secs(5),
            action: Planned::Run(Arc::new(RunningImage(image))),
        },
        PlannedCollector {
            kind: "git",
            name: "local".into(),
            timeout: Duration::from_secs(10),
            action: Planned::Run(Arc::from(git_config.build().unwrap())),
        },
    ];
    let store = tempfile::tempdir().unwrap();
    let collected = crate::util::collect_now(plan, store.path()).await;
    collected.view.records.into_iter().find(|r| r.kind == "git").unwrap()
}

fn repo_with_two_deploys() -> tempfile::TempDir {
    let repo = crate::util::git_repo();
    git(repo.path(), &["tag", "v1"]);
    std::fs::write(repo.path().join("app.py"), "print('v2')\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "second"]);
    git(repo.path(), &["tag", "v2"]);
    std::fs::write(repo.path().join("app.py"), "print('v3, not deployed yet')\n").unwrap();
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "third"]);
    git(repo.path(), &["tag", "v3"]);
    repo
}

#[tokio::test]
async fn the_running_image_tag_names_the_deployed_revision() {
    let repo = repo_with_two_deploys();
    let record = run_with_image(repo.path(), "registry.example.com/web:v2").await;
    assert_eq!(
        record.evidence.facts.get("git.deployed_revision"),
        Some(&FactValue::Text(commit_id(repo.path(), "v2"))),
        "{:#?}",
        record.evidence
    );
    assert!(
        record.evidence.notes.iter().any(|n| n.contains("registry.example.com/web:v2")),
        "{:?}",
        record.evidence.notes
    );
}

#[tokio::test]
async fn an_unknown_tag_keeps_the_first_answer_and_says_so() {
    let repo = repo_with_two_deploys();
    let without = run_with_image(repo.path(), "registry.example.com/web:latest").await;
    let record = run_with_image(repo.path(), "registry.example.com/web:build-9999").await;
    let first_answer = without.evidence.facts.get("git.deployed_revision");
    assert!(first_answer.is_some(), "a deploy tag counts as deployed: {:#?}", without.evidence);
    assert_eq!(record.evidence.facts.get("git.deployed_revision"), first_answer);
    assert!(
        record.evidence.notes.iter().any(|n| n.contains("build-9999")),
        "{:?}",
        record.evidence.notes
    );
    assert!(
        !without.evidence.notes.iter().any(|n| n.contains("image")),
        "`latest` names no revision"
    );
}
