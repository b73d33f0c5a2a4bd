//! Rules as data: the TOML format of `config/rules/*.toml` (see `config/rules/README.md`),
//! the built-in rule files compiled into the binary, loading the configured ones, and the
//! checks `witness rules check` reports with file and line: TOML syntax, CEL compilation,
//! fact names, templates.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, OnceLock};

use serde::Deserialize;
use toml::Spanned;

use super::facts::{self, KINDS};
use super::template::Template;
use super::{Recommendation, RulesConfig};

/// The built-in rule files: the default rule set, so that a run without any configuration
/// still has it.
pub const BUILTIN: &[(&str, &str)] = &[
    ("config/rules/deploy.toml", include_str!("../../config/rules/deploy.toml")),
    ("config/rules/saturation.toml", include_str!("../../config/rules/saturation.toml")),
    ("config/rules/postgres.toml", include_str!("../../config/rules/postgres.toml")),
    ("config/rules/vendor.toml", include_str!("../../config/rules/vendor.toml")),
    ("config/rules/infra.toml", include_str!("../../config/rules/infra.toml")),
    ("config/rules/traffic.toml", include_str!("../../config/rules/traffic.toml")),
];

/// Variables a condition may use besides the fact kinds: per-instance facts.
pub const INSTANCE_VARIABLE: &str = "instance";

/// One rule file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Spanned<RuleDef>>,
}

/// One `[[rule]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Unique id; a rule in `[rules] dirs` with the id of a built-in rule replaces it.
    pub id: String,
    /// Rules with the same hypothesis combine into one ranked hypothesis (default: the id).
    #[serde(default)]
    pub hypothesis: Option<String>,
    /// Title template.
    pub title: String,
    pub recommendation: Recommendation,
    /// How much the rule alone makes its hypothesis likely, in (0, 1].
    pub weight: f64,
    /// Facts that must be present for the condition to be evaluated at all.
    #[serde(default)]
    pub needs: Vec<String>,
    /// CEL expression over the facts; true fires the rule.
    pub condition: Spanned<String>,
    /// Explanation template.
    pub explanation: String,
    /// Suggested-command templates.
    #[serde(default)]
    pub commands: Vec<String>,
    /// Facts whose evidence the hypothesis cites (default: `needs`).
    #[serde(default)]
    pub cite: Option<Vec<String>>,
    /// Timeline event kinds the hypothesis cites (`rollout`, `lock_wait`).
    #[serde(default)]
    pub events: Vec<String>,
    /// Clauses that make the hypothesis stronger when they hold.
    #[serde(default)]
    pub stronger: Vec<Clause>,
    /// Clauses that speak against it: listed as counter-evidence, and lower the score.
    #[serde(default)]
    pub against: Vec<Clause>,
    /// What to say when the condition is false (shown by the default hypothesis).
    #[serde(default)]
    pub ruled_out: Option<String>,
    /// The change of state the rule names as the cause (one of [`CAUSES`]). A rule without
    /// one only names a symptom: it must recommend `investigate`, and never outranks a
    /// hypothesis with a cause that explains the same symptoms.
    #[serde(default)]
    pub cause: Option<String>,
    /// The symptoms (of [`SYMPTOMS`]) the cause explains; the run's symptoms it does not
    /// explain count against it.
    #[serde(default)]
    pub explains: Vec<String>,
}

/// The changes of state a rule may name as a cause.
pub const CAUSES: &[&str] = &[
    "rollout",
    "deploy_tag",
    "migration",
    "config_change",
    "vendor_incident",
    "capacity_ceiling",
    "host_saturation",
    "connection_ceiling",
    "lock_blocker",
    "certificate_expiry",
    "disk_full",
    "oom",
    "traffic_surge",
];

/// The symptoms a run can show (see [`super::derive::symptoms`]).
pub const SYMPTOMS: &[&str] = &[
    "error_rate",
    "new_errors",
    "status_5xx",
    "latency",
    "health_failing",
    "components_down",
    "crash_loop",
    "lock_waits",
    "connections",
];

/// A `[[rule.stronger]]` or `[[rule.against]]` clause.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    /// CEL expression; a clause whose facts are absent does not hold.
    pub when: Spanned<String>,
    pub weight: f64,
    /// Template: why it matters.
    pub reason: String,
}

/// A condition or clause: compiled when its rule file is loaded and checked, or, for the
/// built-in rules (compiled into witness and checked by its tests), the first time it is
/// evaluated, so a run compiles only the conditions of the rules whose facts it has (and
/// the daemon each of them once).
#[derive(Debug)]
pub struct Program {
    source: String,
    compiled: OnceLock<Result<Arc<cel::Program>, String>>,
}

impl Program {
    fn compiled(source: &str, program: cel::Program) -> Self {
        Self { source: source.to_owned(), compiled: OnceLock::from(Ok(Arc::new(program))) }
    }

    fn deferred(source: &str) -> Self {
        Self { source: source.to_owned(), compiled: OnceLock::new() }
    }

    /// The program, shared with the thread that evaluates it; why it does not compile.
    pub fn get(&self) -> Result<&Arc<cel::Program>, &str> {
        self.compiled
            .get_or_init(|| {
                cel::Program::compile(&self.source).map(Arc::new).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(String::as_str)
    }
}

type Compiled = Program;

/// A rule ready to evaluate.
#[derive(Debug)]
pub struct Rule {
    pub def: RuleDef,
    /// The file it came from and the line of its `[[rule]]`.
    pub file: String,
    pub line: usize,
    /// Evaluated on a thread of its own, under a deadline ([`super::eval`]).
    pub condition: Program,
    pub stronger: Vec<(Clause, Program)>,
    pub against: Vec<(Clause, Program)>,
    pub title: Template,
    pub explanation: Template,
    pub commands: Vec<Template>,
    pub ruled_out: Option<Template>,
}

impl Rule {
    pub fn hypothesis(&self) -> &str {
        self.def.hypothesis.as_deref().unwrap_or(&self.def.id)
    }

    /// The facts the hypothesis cites.
    pub fn cited(&self) -> &[String] {
        self.def.cite.as_deref().unwrap_or(&self.def.needs)
    }
}

/// A problem in a rule file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
    pub rule: Option<String>,
    pub message: String,
    /// The rule cannot be used (a syntax or CEL error), rather than suspicious (a fact
    /// nobody documents, which is simply absent at run time).
    pub fatal: bool,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The rules of a run and what was wrong with the files they came from.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub problems: Vec<Problem>,
}

impl RuleSet {
    /// The built-in rules (unless `builtin = false`), then every `*.toml` of each of
    /// `dirs`, in name order; a later rule with the id of an earlier one replaces it.
    pub fn load(config: &RulesConfig) -> Self {
        let mut set = RuleSet::default();
        if config.builtin {
            for (file, text) in BUILTIN {
                set.add_text(file, text, Check::Deferred);
            }
        }
        for dir in &config.dirs {
            match rule_files(dir) {
                Ok(files) => {
                    for file in files {
                        set.add_path(&file);
                    }
                }
                Err(e) => set.problems.push(Problem {
                    file: dir.display().to_string(),
                    line: 0,
                    rule: None,
                    message: format!("cannot list the rule directory: {e}"),
                    fatal: true,
                }),
            }
        }
        set
    }

    /// Reads and adds one rule file.
    pub fn add_path(&mut self, path: &Path) {
        match std::fs::read_to_string(path) {
            Ok(text) => self.add_file(&path.display().to_string(), &text),
            Err(e) => self.problems.push(Problem {
                file: path.display().to_string(),
                line: 0,
                rule: None,
                message: format!("cannot read: {e}"),
                fatal: true,
            }),
        }
    }

    /// Parses, checks and compiles the rules of one file.
    pub fn add_file(&mut self, file: &str, text: &str) {
        self.add_text(file, text, Check::Now);
    }

    fn add_text(&mut self, file: &str, text: &str, check: Check) {
        let parsed: RuleFile = match toml::from_str(text) {
            Ok(parsed) => parsed,
            Err(e) => {
                let line = e.span().map_or(0, |s| line_of(text, s.start));
                self.problems.push(Problem {
                    file: file.to_owned(),
                    line,
                    rule: None,
                    message: e.message().trim().to_owned(),
                    fatal: true,
                });
                return;
            }
        };
        for spanned in parsed.rule {
            let span = spanned.span();
            let def = spanned.into_inner();
            let (rule, problems) = compile(def, file, text, span, check);
            let fatal = problems.iter().any(|p| p.fatal);
            self.problems.extend(problems);
            if let (Some(rule), false) = (rule, fatal) {
                self.rules.retain(|r| r.def.id != rule.def.id);
                self.rules.push(rule);
            }
        }
    }
}

/// The `*.toml` files of `dir`, sorted.
fn rule_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |head| head.matches('\n').count()) + 1
}

/// The line where a string value's content starts: a multi-line string's first newline is
/// not part of its content.
fn content_line(text: &str, span: std::ops::Range<usize>) -> usize {
    let raw = text.get(span.clone()).unwrap_or("");
    let skip = ["'''\n", "\"\"\"\n", "'''\r\n", "\"\"\"\r\n"].iter().any(|p| raw.starts_with(p));
    line_of(text, span.start) + usize::from(skip)
}

/// When the conditions of a rule file are compiled and checked.
#[derive(Clone, Copy, PartialEq)]
enum Check {
    /// As the file is loaded: every problem is known before a run starts.
    Now,
    /// Conditions compiled when first evaluated, and the fact names not looked up: the
    /// built-in rules, whose tests check both. Looking up every name where it is
    /// written was two thirds of loading the rules (12 M of 17 M instructions a process).
    Deferred,
}

fn compile(
    def: RuleDef,
    file: &str,
    text: &str,
    span: std::ops::Range<usize>,
    check: Check,
) -> (Option<Rule>, Vec<Problem>) {
    let line = line_of(text, span.start);
    // Where a name is first written inside this rule, for facts named outside a condition.
    // The span of an array-of-tables entry may cover only its header: the rule's text runs
    // to the next `[[rule]]`.
    let rule_text = text.get(span.start..).unwrap_or("");
    let rule_text = rule_text
        .get(1..)
        .and_then(|t| t.find("[[rule]]"))
        .map_or(rule_text, |end| &rule_text[..=end]);
    let line_of_name =
        |name: &str| rule_text.find(name).map_or(line, |at| line_of(text, span.start + at));
    let mut problems = Vec::new();
    let mut problem = |line: usize, message: String, fatal: bool| {
        problems.push(Problem {
            file: file.to_owned(),
            line,
            rule: Some(def.id.clone()),
            message,
            fatal,
        });
    };
    if def.id.trim().is_empty() {
        problem(line, "id is empty".into(), true);
    }
    for (what, weight) in std::iter::once(("weight", def.weight))
        .chain(def.stronger.iter().map(|c| ("stronger weight", c.weight)))
        .chain(def.against.iter().map(|c| ("against weight", c.weight)))
    {
        if !(weight > 0.0 && weight <= 1.0) {
            problem(line, format!("{what} {weight} is not in (0, 1]"), true);
        }
    }

    match def.cause.as_deref() {
        Some(cause) if !CAUSES.contains(&cause) => problem(
            line_of_name("cause"),
            format!("unknown cause `{cause}` (use one of {})", CAUSES.join(", ")),
            true,
        ),
        None if def.recommendation != Recommendation::Investigate => problem(
            line,
            format!(
                "recommends {} without a cause: a rule that names no change of state only names a symptom, and recommends investigate",
                def.recommendation.as_str()
            ),
            true,
        ),
        _ => {}
    }
    for symptom in def.explains.iter().filter(|s| !SYMPTOMS.contains(&s.as_str())) {
        problem(
            line_of_name(symptom),
            format!("unknown symptom `{symptom}` in explains (use one of {})", SYMPTOMS.join(", ")),
            true,
        );
    }

    let mut fact_names: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut program = |source: &Spanned<String>, what: &str| {
        // A built-in rule's facts and condition are checked by its tests
        // (`the_builtin_rules_load_without_problems`), not by every process.
        if check == Check::Deferred {
            return Some(Program::deferred(source.get_ref()));
        }
        let at = content_line(text, source.span());
        for (name, offset) in facts_in_cel(source.get_ref()) {
            fact_names.insert((name, at + offset));
        }
        match cel::Program::compile(source.get_ref()) {
            Ok(p) => {
                let bound = macro_variables(source.get_ref());
                for var in p.references().variables() {
                    if !KINDS.contains(&var) && var != INSTANCE_VARIABLE && !bound.contains(var) {
                        problem(
                            at,
                            format!(
                                "{what}: unknown variable `{var}` (use one of {}, or {INSTANCE_VARIABLE})",
                                KINDS.join(", ")
                            ),
                            true,
                        );
                    }
                }
                if let Some(cost) = super::cost::problem(source.get_ref(), &p) {
                    problem(at, format!("{what}: {cost}"), true);
                    return None;
                }
                Some(Program::compiled(source.get_ref(), p))
            }
            Err(e) => {
                for err in &e.errors {
                    let within = usize::try_from(err.pos.0).unwrap_or(1).max(1) - 1;
                    problem(
                        at + within,
                        format!("{what} is not valid CEL: {} (column {})", err.msg, err.pos.1),
                        true,
                    );
                }
                None
            }
        }
    };
    let condition = program(&def.condition, "condition");
    let clauses =
        |clauses: &[Clause],
         what: &str,
         program: &mut dyn FnMut(&Spanned<String>, &str) -> Option<Compiled>| {
            clauses
                .iter()
                .filter_map(|c| program(&c.when, what).map(|p| (c.clone(), p)))
                .collect::<Vec<_>>()
        };
    let stronger = clauses(&def.stronger, "stronger.when", &mut program);
    let against = clauses(&def.against, "against.when", &mut program);

    let mut template = |source: &str, what: &str| match Template::parse(source) {
        Ok(t) => {
            if check == Check::Now {
                for name in t.facts() {
                    fact_names.insert((name.to_owned(), line_of_name(name)));
                }
            }
            Some(t)
        }
        Err(e) => {
            problem(line, format!("{what}: {e}"), true);
            None
        }
    };
    let title = template(&def.title, "title");
    let explanation = template(&def.explanation, "explanation");
    let commands: Vec<Option<Template>> =
        def.commands.iter().map(|c| template(c, "command")).collect();
    let ruled_out = def.ruled_out.as_deref().map(|r| template(r, "ruled_out"));
    for clause in def.stronger.iter().chain(&def.against) {
        template(&clause.reason, "reason");
    }
    if check == Check::Now {
        for name in def.needs.iter().chain(def.cite.iter().flatten()) {
            fact_names.insert((name.clone(), line_of_name(name)));
        }
    }
    for (name, at) in &fact_names {
        if facts::known(name).is_none() {
            problem(*at, format!("unknown fact `{name}` (see config/rules/README.md)"), false);
        }
    }

    let (Some(condition), Some(title), Some(explanation)) = (condition, title, explanation) else {
        return (None, problems);
    };
    if commands.iter().any(Option::is_none) || matches!(ruled_out, Some(None)) {
        return (None, problems);
    }
    let rule = Rule {
        file: file.to_owned(),
        line,
        condition,
        stronger,
        against,
        title,
        explanation,
        commands: commands.into_iter().flatten().collect(),
        ruled_out: ruled_out.flatten(),
        def,
    };
    (Some(rule), problems)
}

/// The variables CEL macros bind (`s` in `list.exists(s, s > 1)`).
fn macro_variables(source: &str) -> BTreeSet<&str> {
    static PATTERN: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"\b(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,",
        )
        .expect("a valid regex")
    });
    let pattern = &*PATTERN;
    pattern.captures_iter(source).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect()
}

/// The facts a CEL expression names (`kubernetes.previous_revision`), outside string
/// literals, with the line (0-based, within the expression) of each.
pub fn facts_in_cel(source: &str) -> Vec<(String, usize)> {
    // String literals are blanked first, so that `'logs.x'` is not a fact.
    let mut plain = String::with_capacity(source.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                plain.push(if c == '\n' { '\n' } else { ' ' });
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                plain.push(c);
            }
        }
    }
    static PATTERN: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b([a-z_]+)\.([a-z0-9_]+)\b").expect("a valid regex"));
    let pattern = &*PATTERN;
    let mut found = Vec::new();
    for m in pattern.captures_iter(&plain) {
        let (Some(whole), Some(kind)) = (m.get(0), m.get(1)) else { continue };
        // `instance.kubernetes` is the per-instance map, and `.size()`-like member calls
        // follow a value, not a kind.
        let before = plain[..whole.start()].chars().next_back();
        if !KINDS.contains(&kind.as_str()) || before == Some('.') {
            continue;
        }
        let line = plain[..whole.start()].matches('\n').count();
        found.push((whole.as_str().to_owned(), line));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in rules' conditions are compiled when first evaluated: here each is
    /// compiled and checked as a rule file of the configuration would be.
    #[test]
    fn the_builtin_rules_load_without_problems() {
        let set = RuleSet::load(&RulesConfig::default());
        assert_eq!(set.problems, Vec::<Problem>::new());
        assert!(set.rules.len() >= 8, "{} rules", set.rules.len());
        let mut checked = RuleSet::default();
        for (file, text) in BUILTIN {
            checked.add_file(file, text);
        }
        assert_eq!(checked.problems, Vec::<Problem>::new());
        assert_eq!(checked.rules.len(), set.rules.len());
        for rule in &set.rules {
            assert!(rule.condition.get().is_ok(), "{}", rule.def.id);
            for (_, clause) in rule.stronger.iter().chain(&rule.against) {
                assert!(clause.get().is_ok(), "{}", rule.def.id);
            }
        }
    }

    #[test]
    fn the_readme_documents_every_known_fact_and_every_builtin_rule() {
        let readme = include_str!("../../config/rules/README.md");
        for fact in facts::KNOWN_FACTS {
            assert!(readme.contains(&format!("| `{}` |", fact.name)), "{} undocumented", fact.name);
        }
        for rule in RuleSet::load(&RulesConfig::default()).rules {
            assert!(
                readme.contains(&format!("| `{}` |", rule.def.id)),
                "{} undocumented",
                rule.def.id
            );
        }
    }

    /// Issue 15: a rule that recommends acting names the change of state it blames, and
    /// its symptoms are ones witness knows.
    #[test]
    fn acting_needs_a_cause_and_symptoms_are_known_words() {
        let text = "[[rule]]\nid = \"a\"\ntitle = \"t\"\nrecommendation = \"rollback\"\nweight = 0.5\n\
                    condition = 'true'\nexplanation = \"e\"\n\
                    [[rule]]\nid = \"b\"\ntitle = \"t\"\nrecommendation = \"scale_up\"\ncause = \"moon\"\n\
                    explains = [\"sadness\"]\nweight = 0.5\ncondition = 'true'\nexplanation = \"e\"\n";
        let mut set = RuleSet::default();
        set.add_file("mine.toml", text);
        let messages: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
        assert!(
            messages[0].starts_with("mine.toml:1: rule a: recommends rollback without a cause"),
            "{messages:?}"
        );
        assert!(
            messages[1].starts_with("mine.toml:12: rule b: unknown cause `moon`"),
            "{messages:?}"
        );
        assert!(
            messages[2].starts_with("mine.toml:13: rule b: unknown symptom `sadness`"),
            "{messages:?}"
        );
        assert!(set.rules.is_empty());
    }

    #[test]
    fn problems_carry_the_file_and_line() {
        let text = "[[rule]]\nid = \"x\"\ntitle = \"t\"\nrecommendation = \"rollback\"\nweight = 0.5\n\
                    needs = [\"logs.nope\"]\ncondition = '''\nlogs.error_count > 1 &&\n  host.cores > > 2\n'''\n\
                    explanation = \"e\"\n";
        let mut set = RuleSet::default();
        set.add_file("mine.toml", text);
        let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
        assert!(set.rules.is_empty());
        assert!(
            shown.iter().any(|p| p.starts_with("mine.toml:9: rule x: condition is not valid CEL")),
            "{shown:?}"
        );
        assert!(
            shown.contains(
                &"mine.toml:6: rule x: unknown fact `logs.nope` (see config/rules/README.md)"
                    .to_owned()
            ),
            "{shown:?}"
        );
    }

    #[test]
    fn toml_errors_and_unknown_keys_are_reported_with_their_line() {
        let mut set = RuleSet::default();
        set.add_file("a.toml", "[[rule]]\nid = \"x\"\nwieght = 1\n");
        assert_eq!(set.problems[0].file, "a.toml");
        assert!(set.problems[0].message.contains("wieght"), "{:?}", set.problems);
        assert_eq!(set.problems[0].line, 3);
    }

    #[test]
    fn facts_are_found_outside_strings_only() {
        let found = facts_in_cel(
            "logs.error_count > 1 &&\n 'host.x' != kubernetes.namespace && size(status_page.vendors_degraded) > 0 && instance.kubernetes.x == 1",
        );
        let names: Vec<_> = found.iter().map(|(n, l)| (n.as_str(), *l)).collect();
        assert_eq!(
            names,
            vec![
                ("logs.error_count", 0),
                ("kubernetes.namespace", 1),
                ("status_page.vendors_degraded", 1)
            ]
        );
    }
}
