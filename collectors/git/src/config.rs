//! `[[collectors.git]]`: which repository, which ref, how far back, which files matter and
//! where the deployed revision comes from. Parsed by serde, checked by
//! [`CollectorConfig::validate`], turned into a [`GitCollector`] by
//! [`CollectorConfig::build`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{Collector, CollectorConfig, ConfigProblem};

use crate::GitCollector;
use crate::classes::{self, PathClasses};

/// One `[[collectors.git]]` instance: the repository of a service, a checkout or a bare
/// mirror on disk. It is only read, never fetched or changed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    /// Instance name, unique among `git` instances; names `evidence/git-<name>.json`.
    pub name: String,
    /// This instance's deadline in seconds (default: the run's `collector_timeout_secs`).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The repository: the top of a checkout, its `.git` directory, or a bare repository.
    pub path: PathBuf,
    /// The branch, tag or commit whose history is read (default `HEAD`): `main`,
    /// `origin/production`, `v1.4.2`, a commit id.
    #[serde(default = "default_ref", rename = "ref")]
    pub git_ref: String,
    /// How far before the anchor commits are read, in hours (default 24). When the run's
    /// window starts earlier, the window's start is used instead.
    #[serde(default = "default_lookback_hours")]
    pub lookback_hours: u64,
    /// At most this many commits, newest first, are read with their files (default 500).
    /// Commits past it are still counted; the class facts are then left out, with a note.
    #[serde(default = "default_max_commits")]
    pub max_commits: usize,
    /// At most this many files are listed per commit (default 100). Every
    /// file still counts for the commit's classes and the facts.
    #[serde(default = "default_max_files_per_commit")]
    pub max_files_per_commit: usize,
    /// Which changed files get line counts (lines added and removed, as `git log --numstat`
    /// counts them): `classified` (default) the files with a path class — migrations,
    /// dependencies, infrastructure, configuration, the changes a responder weighs line by
    /// line —, `all` every listed file, `none` no file. A line count reads and compares both
    /// versions of the file, the largest cost of a read: `all` makes a busy day's read about
    /// twice as slow.
    #[serde(default)]
    pub line_counts: LineCounts,
    /// Keep the author's email beside the author's name (default false: it is personal
    /// data, and the name is enough to find who to ask).
    #[serde(default)]
    pub include_author_email: bool,
    /// Path classes, as globs (a glob without `/` matches a file name at any depth, one
    /// with `/` matches from the repository root). Naming a built-in class replaces its
    /// globs, an empty list turns it off, a new name adds a class (events of kind
    /// `<name>_change`). Built in: `migration` (`**/migrations/**`, `**/migrate/**`,
    /// `*.sql`, `db/**`), `dependency` (manifests and lockfiles: `Cargo.toml`, `Cargo.lock`,
    /// `package.json`, `go.mod`, `requirements*.txt`, `pom.xml`, ...), `infra`
    /// (`Dockerfile`, `deploy/**`, `k8s/**`, `*.tf`, `helm/**`), `config` (`*.yaml`, `*.yml`,
    /// `*.toml`, `*.ini`, `.env*`, `config/**`). A file gets the first class that matches,
    /// in that order with added classes before `config`.
    #[serde(default)]
    pub path_classes: BTreeMap<String, Vec<String>>,
    /// Tag names (globs) that mark deploys (default: every tag). Tags in the window
    /// become `deploy_tag` events.
    #[serde(default = "default_deploy_tags")]
    pub deploy_tags: Vec<String>,
    /// Alert labels that may carry the deployed revision, tried in order (default
    /// `revision`, `commit`, `sha`, `version`). A value is a commit id (or a unique
    /// prefix of at least 7 digits, also as `sha-<id>`) or a tag (`1.4.2` also finds
    /// `v1.4.2`, `release-1.4.2` and `release/1.4.2`; `v1.4.2` also finds `1.4.2`).
    #[serde(default = "default_deployed_labels")]
    pub deployed_labels: Vec<String>,
    /// The ref that names the deployed revision when no alert label does
    /// (`origin/production`, `deployed`). Without it, the newest deploy tag at or before
    /// the anchor is taken as deployed.
    #[serde(default)]
    pub deployed_ref: Option<String>,
    /// The ref that names the previously deployed revision. Without it, the nearest deploy
    /// tag in the deployed revision's history (other than on the deployed commit) is used.
    #[serde(default)]
    pub previous_deployed_ref: Option<String>,
}

/// Which changed files get line counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineCounts {
    /// Files with a path class.
    #[default]
    Classified,
    /// Every listed file.
    All,
    /// No file.
    None,
}

impl LineCounts {
    /// Whether a file of class `class` (none: unclassified) gets line counts.
    pub fn wanted(self, class: Option<&str>) -> bool {
        match self {
            Self::Classified => class.is_some(),
            Self::All => true,
            Self::None => false,
        }
    }
}

fn default_ref() -> String {
    "HEAD".to_owned()
}
fn default_lookback_hours() -> u64 {
    24
}
fn default_max_commits() -> usize {
    500
}
fn default_max_files_per_commit() -> usize {
    100
}
fn default_deploy_tags() -> Vec<String> {
    vec!["*".to_owned()]
}
fn default_deployed_labels() -> Vec<String> {
    crate::KIND.labels.iter().map(|label| (*label).to_owned()).collect()
}

/// The longest lookback accepted, in hours (90 days): past it a run reads history no
/// responder will look at, and pays for it.
const MAX_LOOKBACK_HOURS: u64 = 24 * 90;
/// The most commits read with their files.
const MAX_COMMITS: usize = 100_000;

impl GitConfig {
    /// An instance with every default, reading the repository at `path`.
    pub fn new(name: &str, path: impl Into<PathBuf>) -> Self {
        Self {
            name: name.to_owned(),
            timeout_secs: None,
            path: path.into(),
            git_ref: default_ref(),
            lookback_hours: default_lookback_hours(),
            max_commits: default_max_commits(),
            max_files_per_commit: default_max_files_per_commit(),
            line_counts: LineCounts::default(),
            include_author_email: false,
            path_classes: BTreeMap::new(),
            deploy_tags: default_deploy_tags(),
            deployed_labels: default_deployed_labels(),
            deployed_ref: None,
            previous_deployed_ref: None,
        }
    }

    /// The zero-config instance, named `local`: the repository containing the current
    /// directory, if any, read at `HEAD` with the defaults (the commits of the 24 hours
    /// before the anchor).
    pub fn discover_from_current_dir() -> Option<Self> {
        Self::discover_from(&std::env::current_dir().ok()?)
    }

    /// Like [`GitConfig::discover_from_current_dir`], from `dir`.
    pub fn discover_from(dir: &std::path::Path) -> Option<Self> {
        let (path, _trust) = gix::discover::upwards(dir).ok()?;
        let (git_dir, work_dir) = path.into_repository_and_work_tree_directories();
        Some(Self::new("local", work_dir.unwrap_or(git_dir)))
    }
}

impl CollectorConfig for GitConfig {
    witness_collector::instance_settings!();

    fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.path.as_os_str().is_empty() {
            problems.push(ConfigProblem::new("path", "names no repository"));
        }
        if self.git_ref.trim().is_empty() {
            problems.push(ConfigProblem::new("ref", "names no ref (the default is HEAD)"));
        }
        if !(1..=MAX_LOOKBACK_HOURS).contains(&self.lookback_hours) {
            problems.push(ConfigProblem::new(
                "lookback_hours",
                format!("must be between 1 and {MAX_LOOKBACK_HOURS}"),
            ));
        }
        if !(1..=MAX_COMMITS).contains(&self.max_commits) {
            problems.push(ConfigProblem::new(
                "max_commits",
                format!("must be between 1 and {MAX_COMMITS}"),
            ));
        }
        problems.extend(ConfigProblem::timeout(self.timeout_secs));
        problems.extend(ConfigProblem::out_of_range([(
            "max_files_per_commit",
            self.max_files_per_commit as u64,
            1..=100_000,
        )]));
        if let Err(mut p) = PathClasses::new(&self.path_classes) {
            problems.append(&mut p);
        }
        if let Err(mut p) = classes::compile(&self.deploy_tags, "deploy_tags") {
            problems.append(&mut p);
        }
        for (i, label) in self.deployed_labels.iter().enumerate() {
            if label.trim().is_empty() {
                problems
                    .push(ConfigProblem::new(format!("deployed_labels[{i}]"), "empty label name"));
            }
        }
        for (key, value) in [
            ("deployed_ref", &self.deployed_ref),
            ("previous_deployed_ref", &self.previous_deployed_ref),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                problems.push(ConfigProblem::new(key, "names no ref"));
            }
        }
        problems
    }

    fn build(&self) -> Result<Box<dyn Collector>, Vec<ConfigProblem>> {
        witness_collector::validated(self)?;
        Ok(Box::new(GitCollector::new(self.clone())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_instance_gets_the_defaults() {
        let config: GitConfig = toml::from_str("name = \"api\"\npath = \"/srv/api\"").unwrap();
        assert_eq!(config.git_ref, "HEAD");
        assert_eq!(config.lookback_hours, 24);
        assert_eq!(config.line_counts, LineCounts::Classified);
        assert_eq!(config.deployed_labels, ["revision", "commit", "sha", "version"]);
        assert!(config.validate().is_empty());
    }

    #[test]
    fn line_counts_are_chosen_by_name() {
        let read = |value: &str| {
            toml::from_str::<GitConfig>(&format!("name = \"a\"\npath = \"/x\"\nline_counts = \"{value}\""))
                .map(|c| c.line_counts)
                .map_err(|e| e.to_string())
        };
        assert_eq!(read("all"), Ok(LineCounts::All));
        assert_eq!(read("none"), Ok(LineCounts::None));
        assert_eq!(read("classified"), Ok(LineCounts::Classified));
        let err = read("some").unwrap_err();
        assert!(err.contains("unknown variant `some`"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = toml::from_str::<GitConfig>("name = \"a\"\npath = \"/x\"\nbranch = \"main\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `branch`"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config: GitConfig = toml::from_str(
            r#"
            name = "api"
            path = ""
            ref = " "
            lookback_hours = 0
            max_commits = 0
            max_files_per_commit = 0
            deploy_tags = ["v[", "release-*"]
            deployed_labels = [""]
            deployed_ref = ""
            path_classes = { migration = ["{a"] }
            "#,
        )
        .unwrap();
        let keys: Vec<String> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "path",
                "ref",
                "lookback_hours",
                "max_commits",
                "max_files_per_commit",
                "path_classes.migration[0]",
                "deploy_tags[0]",
                "deployed_labels[0]",
                "deployed_ref",
            ]
        );
    }
}
