//! Glob expansion as a bounded, cancellable walk. `glob::glob` walks as far as its pattern
//! reaches and cannot be stopped between two matches, so a glob like `/**/*` kept a core
//! busy long after the run had sealed its bundle. Here the walk starts at the pattern's
//! literal directory, descends only into directories the pattern can match below, checks
//! the run's stop (deadline or cancellation) at every entry, and ends at a bound on entries
//! visited, depth and files found; when it ends early the evidence says so and why.

use std::path::{Path, PathBuf};

use glob::{MatchOptions, Pattern, PatternError};

/// Directory entries one glob may visit.
pub const MAX_ENTRIES: usize = 100_000;
/// Directory levels below the glob's literal start a walk descends.
pub const MAX_DEPTH: usize = 32;
/// Files one glob may match.
pub const MAX_FILES: usize = 10_000;

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// What one glob matched.
#[derive(Debug, Default)]
pub struct Walked {
    /// Matched paths that are not directories.
    pub files: Vec<PathBuf>,
    /// Directories that could not be read, with the reason.
    pub errors: Vec<String>,
    /// Why the walk ended before it had looked everywhere, when it did.
    pub cut: Option<String>,
}

/// The non-directory paths matching `pattern`, within the bounds; `stop` ends the walk.
///
/// # Errors
/// The pattern is not a valid glob.
pub fn expand(pattern: &str, stop: &dyn Fn() -> bool) -> Result<Walked, PatternError> {
    expand_bounded(pattern, stop, MAX_ENTRIES)
}

fn has_magic(part: &str) -> bool {
    part.contains(['*', '?', '['])
}

fn expand_bounded(
    pattern: &str,
    stop: &dyn Fn() -> bool,
    max_entries: usize,
) -> Result<Walked, PatternError> {
    let whole = Pattern::new(pattern)?;
    let mut walked = Walked::default();
    let parts: Vec<&str> = pattern.split('/').collect();
    let literal = parts.iter().take_while(|p| !has_magic(p)).count();
    if literal == parts.len() {
        let path = PathBuf::from(pattern);
        if std::fs::symlink_metadata(&path).is_ok() && !path.is_dir() {
            walked.files.push(path);
        }
        return Ok(walked);
    }
    let base = match parts[..literal].join("/") {
        b if b.is_empty() && pattern.starts_with('/') => PathBuf::from("/"),
        b if b.is_empty() => PathBuf::from("."),
        b => PathBuf::from(b),
    };
    let rest: Vec<Pattern> =
        parts[literal..].iter().map(|p| Pattern::new(p)).collect::<Result<_, _>>()?;
    let recursive_from = parts[literal..].iter().position(|p| *p == "**");
    // Matching is done on the path as the walk builds it, `./` included when relative.
    let whole = if base == Path::new(".") && !pattern.starts_with("./") {
        Pattern::new(&format!("./{pattern}"))?
    } else {
        whole
    };
    let mut visited = 0usize;
    let mut deep = false;
    let mut stack = vec![(base, 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                walked.errors.push(format!("{}: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries {
            visited += 1;
            if stop() {
                walked.cut = Some(format!(
                    "the walk for matching files was stopped by the deadline or the run's cancellation after {visited} entries; files past them were not looked at"
                ));
                return Ok(walked);
            }
            if visited > max_entries {
                walked.cut = Some(format!(
                    "the walk for matching files stopped after {max_entries} directory entries (its limit); files past them were not looked at: narrow the glob"
                ));
                return Ok(walked);
            }
            let Ok(entry) = entry else { continue };
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            let is_dir = kind.is_dir() || (kind.is_symlink() && path.is_dir());
            if is_dir {
                let recursive = recursive_from.is_some_and(|r| r <= depth);
                let below = recursive
                    || (depth + 1 < rest.len()
                        && entry.file_name().to_str().is_some_and(|n| rest[depth].matches(n)));
                // Under `**` a symlinked directory is not followed: a link back up would
                // loop. Named by a component of the glob, it is (`/var/log/*/current`).
                if below && !(recursive && kind.is_symlink()) {
                    if depth + 1 >= MAX_DEPTH {
                        deep = true;
                    } else {
                        stack.push((path, depth + 1));
                    }
                }
                continue;
            }
            if whole.matches_path_with(&path, OPTIONS) {
                if walked.files.len() >= MAX_FILES {
                    walked.cut = Some(format!(
                        "the glob matches more than {MAX_FILES} files (its limit); the others were not looked at: narrow the glob"
                    ));
                    return Ok(walked);
                }
                walked.files.push(path);
            }
        }
    }
    if deep {
        walked.cut = Some(format!(
            "the walk for matching files went no deeper than {MAX_DEPTH} directories below the glob's start"
        ));
    }
    Ok(walked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for p in ["a/app.log", "a/b/app.log", "a/b/c/deep.log", "a/x.txt", "top.log", ".hidden.log"]
        {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        dir
    }

    fn names(walked: &Walked, root: &Path) -> Vec<String> {
        let mut v: Vec<String> = walked
            .files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn globs_match_as_glob_does() {
        let dir = tree();
        let root = dir.path();
        let never = || false;
        let cases: [(&str, &[&str]); 4] = [
            ("*.log", &[".hidden.log", "top.log"]),
            ("a/*/app.log", &["a/b/app.log"]),
            ("**/*.log", &[".hidden.log", "a/app.log", "a/b/app.log", "a/b/c/deep.log", "top.log"]),
            ("a/**/app.log", &["a/app.log", "a/b/app.log"]),
        ];
        for (glob, want) in cases {
            let pattern = format!("{}/{glob}", root.display());
            let walked = expand(&pattern, &never).unwrap();
            assert_eq!(names(&walked, root), want, "{glob}");
            assert!(walked.cut.is_none(), "{glob}");
            let from_glob: Vec<PathBuf> =
                glob::glob(&pattern).unwrap().map(Result::unwrap).filter(|p| !p.is_dir()).collect();
            assert_eq!(walked.files.len(), from_glob.len(), "{glob}: the same as glob::glob");
        }
    }

    #[test]
    fn symlinked_directories_are_followed_only_where_the_glob_names_them() {
        let dir = tree();
        let root = dir.path();
        std::os::unix::fs::symlink(root.join("a"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root, root.join("a/b/up")).unwrap();
        let never = || false;
        let walked = expand(&format!("{}/link/*.log", root.display()), &never).unwrap();
        assert_eq!(names(&walked, root), ["link/app.log"]);
        let walked = expand(&format!("{}/**/*.log", root.display()), &never).unwrap();
        assert_eq!(walked.files.len(), 5, "{:?}", walked.files);
        assert!(walked.cut.is_none());
    }

    #[test]
    fn the_walk_ends_at_its_bound_and_at_a_stop_and_says_so() {
        let dir = tree();
        let pattern = format!("{}/**/*", dir.path().display());
        let never = || false;
        let walked = expand_bounded(&pattern, &never, 3).unwrap();
        assert!(walked.cut.as_deref().unwrap().contains("stopped after 3 directory entries"));
        let calls = AtomicUsize::new(0);
        let stop_soon = || calls.fetch_add(1, Ordering::Relaxed) >= 2;
        let walked = expand(&pattern, &stop_soon).unwrap();
        let cut = walked.cut.unwrap();
        assert!(
            cut.contains("stopped by the deadline or the run's cancellation after 3 entries"),
            "{cut}"
        );
    }
}
