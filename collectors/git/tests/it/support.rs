//! Test repositories: built with the `git` CLI, isolated from the user's and the system's
//! git configuration, with commit dates set through `GIT_AUTHOR_DATE` and
//! `GIT_COMMITTER_DATE`; and a context anchored at a fixed time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use tempfile::TempDir;
use witness_collector::{CollectContext, CollectorConfig, Evidence, Window};
use witness_git::GitConfig;

/// How long one `git` command may take before the test fails.
const GIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The anchor of every test: 2025-11-19 21:00:00 UTC.
pub fn anchor() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 19, 21, 0, 0).unwrap()
}

/// `minutes` before the anchor (negative: after it).
pub fn before(minutes: i64) -> DateTime<Utc> {
    anchor() - chrono::Duration::minutes(minutes)
}

/// A context at [`anchor`] with a window from 30 minutes before to 5 minutes after it.
pub fn context() -> CollectContext {
    CollectContext::for_test_at(anchor(), Window::new(before(30), before(-5)))
}

/// A context like [`context`] whose alert carries `labels`.
pub fn context_with_labels(labels: &[(&str, &str)]) -> CollectContext {
    let mut ctx = context();
    for (k, v) in labels {
        ctx.trigger.labels.insert((*k).to_owned(), (*v).to_owned());
    }
    ctx
}

/// Runs the collector configured by `config` in `ctx`.
pub async fn collect_with(config: &GitConfig, ctx: &CollectContext) -> Evidence {
    let collector = config.build().unwrap_or_else(|p| panic!("config does not build: {p:?}"));
    collector.collect(ctx).await.unwrap_or_else(|e| panic!("collect failed: {e}"))
}

/// Runs a default-configured collector on `path` at the test anchor.
pub async fn collect(path: &Path) -> Evidence {
    collect_with(&GitConfig::new("test", path), &context()).await
}

/// Runs `git` in `dir` with `env`, failing the test on error or after [`GIT_TIMEOUT`].
pub fn git_in(dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("git runs");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("git can be waited for").is_some() {
            break;
        }
        assert!(
            started.elapsed() < GIT_TIMEOUT,
            "git {args:?} did not finish within {GIT_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("git output");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A repository built by a test.
pub struct TestRepo {
    _dir: TempDir,
    pub path: PathBuf,
}

fn date_env(author: DateTime<Utc>, committer: DateTime<Utc>) -> Vec<(&'static str, String)> {
    vec![("GIT_AUTHOR_DATE", author.to_rfc3339()), ("GIT_COMMITTER_DATE", committer.to_rfc3339())]
}

impl TestRepo {
    /// `git init -b main` with a test identity.
    pub fn init() -> Self {
        Self::init_with(&[])
    }

    /// `git init` with extra arguments (`--bare`).
    pub fn init_with(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let mut init = vec!["init", "-q", "-b", "main"];
        init.extend_from_slice(args);
        git_in(&path, &init, &[]);
        let repo = Self { _dir: dir, path };
        repo.configure();
        repo
    }

    /// `git clone` of `url` with extra arguments (`--depth 2`, `--bare`).
    pub fn clone_from(url: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut clone = vec!["clone", "-q"];
        clone.extend_from_slice(args);
        clone.extend_from_slice(&[url, "repo"]);
        git_in(dir.path(), &clone, &[]);
        let repo = Self { path: dir.path().join("repo"), _dir: dir };
        repo.configure();
        repo
    }

    fn configure(&self) {
        for (k, v) in [
            ("user.name", "Alice Example"),
            ("user.email", "alice@example.com"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
            ("protocol.file.allow", "always"),
        ] {
            self.git(&["config", k, v]);
        }
    }

    /// The `file://` URL of this repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }

    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, args, &[])
    }

    /// Runs `git` with author and committer dates set.
    pub fn git_at(&self, args: &[&str], author: DateTime<Utc>, committer: DateTime<Utc>) -> String {
        git_in(&self.path, args, &date_env(author, committer))
    }

    pub fn write(&self, path: &str, contents: &str) {
        let full = self.path.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.path.join(path)).unwrap();
    }

    /// Commits every change in the working tree at `when`; returns the commit id.
    pub fn commit(&self, message: &str, when: DateTime<Utc>) -> String {
        self.commit_dated(message, when, when)
    }

    /// Commits every change with distinct author and committer dates (a rebased commit).
    pub fn commit_dated(
        &self,
        message: &str,
        author: DateTime<Utc>,
        committer: DateTime<Utc>,
    ) -> String {
        self.git(&["add", "-A"]);
        self.git_at(&["commit", "-q", "--allow-empty", "-m", message], author, committer);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Writes `path` and commits it at `when`.
    pub fn commit_file(&self, path: &str, contents: &str, when: DateTime<Utc>) -> String {
        self.write(path, contents);
        self.commit(&format!("change {path}"), when)
    }
}

/// The events of `kind` in `evidence`.
pub fn events<'a>(evidence: &'a Evidence, kind: &str) -> Vec<&'a witness_collector::Event> {
    evidence.events.iter().filter(|e| e.kind == kind).collect()
}

/// A fact as JSON, for compact assertions.
pub fn fact(evidence: &Evidence, name: &str) -> Option<serde_json::Value> {
    evidence.facts.get(name).map(|v| serde_json::to_value(v).unwrap())
}
