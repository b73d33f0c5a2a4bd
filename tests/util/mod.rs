//! Helpers shared by the integration tests: running the built `witness` binary, temporary
//! git repositories, reading bundles.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

// The kubernetes collector's fake API server (no API server can run here) and its
// objects, shared by the tests that drive a run through `kube::Client` over real HTTP.
#[path = "../../collectors/kubernetes/tests/fake_api.rs"]
pub mod fake_api;
#[path = "../../collectors/kubernetes/tests/fixtures.rs"]
pub mod fixtures;
use std::process::{Command, Output};

/// The `witness` binary cargo built for these tests.
pub fn witness_bin() -> &'static str {
    env!("CARGO_BIN_EXE_witness")
}

/// Runs `witness` with `args` in `dir`, with no config from the environment.
pub fn witness(dir: &Path, args: &[&str]) -> Output {
    Command::new(witness_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("WITNESS_CONFIG")
        .output()
        .expect("the witness binary runs")
}

/// stdout and stderr of `output` as text, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `git` with `args` in `dir`, failing the test when it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", text(&output));
}

/// A temporary git repository with one commit made now.
pub fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("README"), "service\n").unwrap();
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "first commit"]);
    dir
}

/// The only entry of `dir`, failing when there is not exactly one.
pub fn only_entry(dir: &Path) -> PathBuf {
    let entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "expected exactly one entry in {}: {entries:?}", dir.display());
    entries.into_iter().next().unwrap()
}

/// Every file under `dir`, relative, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Makes every file and directory under `dir` writable again (a sealed bundle is 0444/0555).
pub fn make_writable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            make_writable(&path);
        } else {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// Copies a directory tree (to tamper with a copy of a bundle).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub mod alertmanager;
pub mod corpus;
pub mod garage;
pub mod heldout;
pub mod scenario;
pub mod secrets;
pub mod tls_proxy;

/// Runs `plan` as a `collect now` would (default config, a 30-minute lookback) and seals
/// the bundle in `store`.
pub async fn collect_now(
    plan: Vec<witness::run::plan::PlannedCollector>,
    store: &Path,
) -> witness::run::Sealed {
    let now = chrono::Utc::now();
    let request = witness::run::RunRequest {
        trigger: witness::trigger::Trigger::manual(now, Default::default()),
        anchor: now,
        lookback: std::time::Duration::from_secs(1800),
        only: None,
        store: store.to_owned(),
        id: None,
        follow_up: None,
    };
    let prepared =
        witness::run::prepare(std::sync::Arc::new(witness::config::WitnessConfig::default()))
            .expect("the default configuration prepares");
    witness::run::collect_planned(
        &prepared,
        request,
        plan,
        &tokio_util::sync::CancellationToken::new(),
        &witness::run::gather::Silent,
    )
    .await
    .expect("the bundle is written")
}
