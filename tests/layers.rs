//! The import structure of the server, its configuration and the trigger: no circle of
//! imports across files, and no arrow from a lower floor (the configuration, the trigger)
//! up to the server. Read from the source, the way a reader follows `use crate::...`:
//! every `crate::`, `super::` and `self::` path and every path through a child module
//! counts as an arrow from the file it is written in to the file that defines it (tests
//! at the bottom of a file and comments do not count).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use regex::Regex;

/// Files whose every circle is a failure: the server, its configuration, the trigger, and
/// a run from trigger to bundle (the run's steps, the commands, reports, bundle, rules,
/// timeline).
const UNTANGLED: [&str; 11] = [
    "server", "config", "trigger", "run", "commands", "report", "bundle", "rules", "timeline",
    "cli", "progress",
];

/// Lower floors and what they must never import: the bundle, the rules and the timeline
/// never import the run that uses them, nor the reports or a command; the run and the
/// reports never import the server or a command.
const NEVER_UP: [(&str, &str); 13] = [
    ("config", "server"),
    ("trigger", "server"),
    ("bundle", "run"),
    ("bundle", "report"),
    ("bundle", "commands"),
    ("rules", "run"),
    ("rules", "report"),
    ("rules", "commands"),
    ("timeline", "run"),
    ("report", "commands"),
    ("run", "commands"),
    ("run", "server"),
    ("report", "server"),
];

type Module = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/server/mod.rs` is `server`, `src/server/router.rs` is `server::router`.
fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The source without comments and without the unit tests at its end.
fn code_of(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every module `code` (in `module`, a directory module when `is_dir`) refers to.
fn arrows(module: &Module, code: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let paths = Regex::new(r"\b((?:crate|super|self)(?:::\w+)+)").unwrap();
    let groups = Regex::new(r"use\s+((?:crate|super|self)(?:::\w+)*)::\{([^}]*)\}").unwrap();
    let children = Regex::new(r"(?:^|[^\w:])(\w+)::").unwrap();
    let absolute = |path: &str| -> Module {
        let mut at = module.clone();
        let mut rest = Vec::new();
        for (i, segment) in path.split("::").map(str::trim).enumerate() {
            match segment {
                "crate" if i == 0 => at.clear(),
                "self" => {}
                "super" if rest.is_empty() => {
                    at.pop();
                }
                "" => {}
                other => rest.push(other.to_owned()),
            }
        }
        at.extend(rest);
        at
    };
    let resolve = |path: Module| -> Option<Module> {
        (1..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| known.contains(m))
    };
    let mut out = BTreeSet::new();
    for m in paths.captures_iter(code) {
        out.extend(resolve(absolute(&m[1])));
    }
    for m in groups.captures_iter(code) {
        for item in m[2].split(',') {
            let item = item.split(" as ").next().unwrap_or("").trim();
            if !item.is_empty() {
                out.extend(resolve(absolute(&format!("{}::{item}", &m[1]))));
            }
        }
    }
    for m in children.captures_iter(code) {
        let mut child = module.clone();
        child.push(m[1].to_owned());
        if known.contains(&child) {
            out.insert(child);
        }
    }
    out.remove(module);
    out
}

fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeMap<Module, PathBuf> =
        files.into_iter().map(|f| (module_of(&src, &f), f)).collect();
    let known: BTreeSet<Module> = modules.keys().cloned().collect();
    modules.iter().map(|(m, file)| (m.clone(), arrows(m, &code_of(file), &known))).collect()
}

fn name(module: &Module) -> String {
    if module.is_empty() { "lib".into() } else { module.join("::") }
}

/// A shortest way back from `start` to itself, if there is one.
fn circle_through(graph: &BTreeMap<Module, BTreeSet<Module>>, start: &Module) -> Option<String> {
    let mut came_from: BTreeMap<&Module, &Module> = BTreeMap::new();
    let mut queue: VecDeque<&Module> = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                // Walk back from `at` to `start`, then read the way forwards.
                let mut way = vec![name(start)];
                let mut back = at;
                while back != start {
                    way.push(name(back));
                    back = came_from[back];
                }
                way.push(name(start));
                way.reverse();
                return Some(way.join(" -> "));
            }
            if next != start && !came_from.contains_key(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn the_server_config_and_trigger_files_import_in_no_circle() {
    let graph = graph();
    assert!(graph.contains_key(&vec!["server".to_owned(), "router".to_owned()]), "{graph:?}");
    let circles: BTreeSet<String> = graph
        .keys()
        .filter(|m| m.first().is_some_and(|top| UNTANGLED.contains(&top.as_str())))
        .filter_map(|m| circle_through(&graph, m))
        .collect();
    assert!(circles.is_empty(), "import circles:\n{}", Vec::from_iter(circles).join("\n"));
}

#[test]
fn the_config_and_the_trigger_never_import_the_server() {
    let graph = graph();
    let mut upward = Vec::new();
    for (module, targets) in &graph {
        for (low, high) in NEVER_UP {
            if module.first().is_some_and(|top| top == low) {
                upward.extend(
                    targets
                        .iter()
                        .filter(|t| t.first().is_some_and(|top| top == high))
                        .map(|t| format!("{} -> {}", name(module), name(t))),
                );
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}
