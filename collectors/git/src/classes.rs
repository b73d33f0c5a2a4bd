//! Path classes: which changed files are migrations, configuration, dependencies or
//! infrastructure. A class is a list of globs with `.gitignore`-like reading: a glob
//! without `/` matches the file name at any depth (`*.sql`, `Dockerfile`), a glob with `/`
//! matches the path from the repository root (`db/**`, `**/migrations/**`).
//!
//! Each file gets at most one class, the first that matches in [`PathClasses::order`], so
//! `Cargo.toml` is a dependency change and not also a configuration change, and
//! `deploy/values.yaml` is infrastructure.

use std::collections::BTreeMap;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use witness_collector::ConfigProblem;

/// Migrations: schema changes, the change most likely to make a rollback unsafe.
pub const MIGRATION: &str = "migration";
/// Configuration files.
pub const CONFIG: &str = "config";
/// Dependency manifests and lockfiles.
pub const DEPENDENCY: &str = "dependency";
/// Container, deployment and infrastructure-as-code files.
pub const INFRA: &str = "infra";

/// The built-in classes and their globs, in the order a file is classified.
pub fn defaults() -> BTreeMap<String, Vec<String>> {
    let class = |globs: &[&str]| globs.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
    BTreeMap::from([
        (MIGRATION.to_owned(), class(&["**/migrations/**", "**/migrate/**", "*.sql", "db/**"])),
        (
            DEPENDENCY.to_owned(),
            class(&[
                "Cargo.lock",
                "Cargo.toml",
                "package.json",
                "package-lock.json",
                "yarn.lock",
                "pnpm-lock.yaml",
                "go.mod",
                "go.sum",
                "requirements*.txt",
                "poetry.lock",
                "Pipfile",
                "Pipfile.lock",
                "uv.lock",
                "pyproject.toml",
                "Gemfile",
                "Gemfile.lock",
                "composer.json",
                "composer.lock",
                "pom.xml",
                "build.gradle",
                "build.gradle.kts",
                "gradle.lockfile",
            ]),
        ),
        (
            INFRA.to_owned(),
            class(&[
                "Dockerfile",
                "Dockerfile.*",
                "*.dockerfile",
                "deploy/**",
                "k8s/**",
                "*.tf",
                "helm/**",
            ]),
        ),
        (CONFIG.to_owned(), class(&["*.yaml", "*.yml", "*.toml", "*.ini", ".env*", "config/**"])),
    ])
}

/// Compiled path classes.
#[derive(Debug, Clone)]
pub struct PathClasses {
    /// Class names in classification order, with their compiled globs.
    classes: Vec<(String, GlobSet)>,
}

impl PathClasses {
    /// The defaults with `overrides` applied: a class named there replaces the default
    /// globs (an empty list turns it off), other names add classes.
    ///
    /// # Errors
    /// Every invalid class name or glob, keyed `path_classes.<class>[i]`.
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<Self, Vec<ConfigProblem>> {
        let mut merged = defaults();
        for (name, globs) in overrides {
            merged.insert(name.clone(), globs.clone());
        }
        let mut problems = Vec::new();
        let mut classes = Vec::new();
        for name in Self::order(merged.keys().map(String::as_str)) {
            if !valid_class_name(name) {
                problems.push(ConfigProblem::new(
                    format!("path_classes.{name}"),
                    "class names are lowercase letters, digits and `_`, starting with a letter",
                ));
                continue;
            }
            let globs = &merged[name];
            match compile(globs, &format!("path_classes.{name}")) {
                Ok(set) if !globs.is_empty() => classes.push((name.to_owned(), set)),
                Ok(_) => {}
                Err(mut p) => problems.append(&mut p),
            }
        }
        if problems.is_empty() { Ok(Self { classes }) } else { Err(problems) }
    }

    /// Classification order: migration, dependency, infra, then added classes by name, and
    /// config last (its globs, `*.yaml` and the like, are the broadest).
    pub fn order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
        let rank = |n: &str| match n {
            MIGRATION => 0,
            DEPENDENCY => 1,
            INFRA => 2,
            CONFIG => 4,
            _ => 3,
        };
        let mut names: Vec<&str> = names.collect();
        names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
        names
    }

    /// The class of `path` (relative to the repository root, `/` separated), if any.
    pub fn classify(&self, path: &str) -> Option<&str> {
        self.classes.iter().find(|(_, set)| set.is_match(path)).map(|(name, _)| name.as_str())
    }

    /// The rank of a class in classification order (unknown names last).
    pub fn rank(&self, class: &str) -> usize {
        self.classes.iter().position(|(name, _)| name == class).unwrap_or(usize::MAX)
    }
}

fn valid_class_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Compiles `globs` with the `.gitignore`-like reading described in the module doc.
///
/// # Errors
/// One problem per invalid glob, keyed `<key>[i]`.
pub fn compile(globs: &[String], key: &str) -> Result<GlobSet, Vec<ConfigProblem>> {
    let mut builder = GlobSetBuilder::new();
    let mut problems = Vec::new();
    for (i, pattern) in globs.iter().enumerate() {
        match glob(pattern) {
            Ok(g) => {
                builder.add(g);
            }
            Err(message) => problems.push(ConfigProblem::new(format!("{key}[{i}]"), message)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    builder.build().map_err(|e| vec![ConfigProblem::new(key, e.to_string())])
}

fn glob(pattern: &str) -> Result<Glob, String> {
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return Err("empty glob".into());
    }
    let anchored = trimmed.strip_prefix('/');
    let body = anchored.unwrap_or(trimmed).trim_end_matches('/');
    // A trailing `/` names a directory: everything under it.
    let body = if trimmed.ends_with('/') { format!("{body}/**") } else { body.to_owned() };
    let full = if anchored.is_none() && !body.contains('/') { format!("**/{body}") } else { body };
    GlobBuilder::new(&full)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob `{pattern}`: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> PathClasses {
        PathClasses::new(&BTreeMap::new()).expect("defaults compile")
    }

    #[test]
    fn defaults_classify_the_usual_suspects() {
        let c = classes();
        let cases = [
            ("db/migrations/0042_add_index.sql", Some(MIGRATION)),
            ("services/api/migrations/0001_init.py", Some(MIGRATION)),
            ("schema.sql", Some(MIGRATION)),
            ("db/seeds.rb", Some(MIGRATION)),
            ("Cargo.lock", Some(DEPENDENCY)),
            ("crates/a/Cargo.toml", Some(DEPENDENCY)),
            ("web/package.json", Some(DEPENDENCY)),
            ("requirements-dev.txt", Some(DEPENDENCY)),
            ("Dockerfile", Some(INFRA)),
            ("deploy/values.yaml", Some(INFRA)),
            ("infra/main.tf", Some(INFRA)),
            ("config/app.json", Some(CONFIG)),
            ("settings.yaml", Some(CONFIG)),
            (".env.production", Some(CONFIG)),
            ("src/main.rs", None),
            ("docs/migrations.md", None),
            ("mydb/x.rb", None),
        ];
        for (path, want) in cases {
            assert_eq!(c.classify(path), want, "{path}");
        }
    }

    #[test]
    fn overrides_replace_turn_off_and_add_classes() {
        let overrides = BTreeMap::from([
            (CONFIG.to_owned(), vec![]),
            ("feature_flags".to_owned(), vec!["flags/**".to_owned()]),
            (MIGRATION.to_owned(), vec!["/schema/".to_owned()]),
        ]);
        let c = PathClasses::new(&overrides).unwrap();
        assert_eq!(c.classify("settings.yaml"), None);
        assert_eq!(c.classify("flags/checkout.yaml"), Some("feature_flags"));
        assert_eq!(c.classify("schema/001.sql"), Some(MIGRATION));
        assert_eq!(c.classify("db/001.sql"), None);
        assert_eq!(c.classify("x/schema/001.sql"), None);
    }

    #[test]
    fn bad_globs_and_names_are_reported_with_their_keys() {
        let overrides = BTreeMap::from([
            ("Bad-Name".to_owned(), vec!["x".to_owned()]),
            (MIGRATION.to_owned(), vec!["ok/**".to_owned(), "a[".to_owned(), " ".to_owned()]),
        ]);
        let problems = PathClasses::new(&overrides).unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["path_classes.migration[1]", "path_classes.migration[2]", "path_classes.Bad-Name"]
        );
        assert!(problems[0].message.starts_with("invalid glob `a[`"), "{}", problems[0].message);
    }
}
