//! What a collector kind says about itself: its [`KindDecl`]aration. Each kind crate holds
//! one (`pub const KIND: KindDecl`), and everything that lists kinds reads it — the root
//! registry, `witness list`, the facts the rules may name (`witness rules check`), how the
//! facts of several instances merge, and the docs tests — so a kind is described once, in
//! its own crate. A declaration needs nothing but this crate: it compiles even when the
//! kind's collector is left out of a build, so the rules know its facts either way.

/// One collector kind: its name, what it sees, the facts it publishes and the alert labels
/// it reads.
#[derive(Debug, Clone, Copy)]
pub struct KindDecl {
    /// The kind, a noun named after the system (`logs`, `postgres`): the key of its array
    /// in `[collectors]`, the prefix of its facts, the `<kind>` of `evidence/<kind>-<name>`.
    pub name: &'static str,
    /// What it sees, in one line, for `witness list` and the docs.
    pub sees: &'static str,
    /// Every fact it publishes, documented in `collectors/<kind>/FACTS.md`.
    pub facts: &'static [FactDecl],
    /// The alert labels it reads by default (git's deployed revision: `revision`, ...).
    pub labels: &'static [&'static str],
}

/// One fact a kind publishes.
#[derive(Debug, Clone, Copy)]
pub struct FactDecl {
    /// `kind.fact`, as the collector publishes it and the rules name it.
    pub name: &'static str,
    /// Its type: `int`, `float`, `bool`, `text`, `list`.
    pub kind: &'static str,
    /// How the values of several instances of the kind become one.
    pub merge: Merge,
    /// What a value must look like to be put into a command line.
    pub check: Check,
    /// What it means, in a few words (the full text is in FACTS.md).
    pub meaning: &'static str,
}

/// A [`FactDecl`], in the one-line form the declarations are written in.
pub const fn fact(
    name: &'static str,
    kind: &'static str,
    merge: Merge,
    check: Check,
    meaning: &'static str,
) -> FactDecl {
    FactDecl { name, kind, merge, check, meaning }
}

/// How the values of one fact from several instances of a kind become one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The largest number.
    Max,
    /// The smallest number.
    Min,
    /// The sum of the numbers.
    Sum,
    /// True when any instance says true.
    Or,
    /// The union of the lists, in instance order, without duplicates.
    Union,
    /// The value of the kind's primary instance: facts that only make sense together (a
    /// Deployment's name, namespace and revisions; a server's pids).
    Primary,
    /// The worst status-page indicator (`none` < `maintenance` < `minor` < `major` <
    /// `critical`; an unknown word ranks as `minor`).
    Worst,
    /// The earliest RFC 3339 time.
    Earliest,
    /// The latest RFC 3339 time.
    Latest,
}

impl Merge {
    pub fn as_str(self) -> &'static str {
        match self {
            Merge::Max => "max",
            Merge::Min => "min",
            Merge::Sum => "sum",
            Merge::Or => "or",
            Merge::Union => "union",
            Merge::Primary => "primary",
            Merge::Worst => "worst",
            Merge::Earliest => "earliest",
            Merge::Latest => "latest",
        }
    }
}

/// What a value must look like to be put into a command line (after which it is
/// shell-quoted anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// A whole number.
    Int,
    /// A number.
    Number,
    /// A Kubernetes object name (DNS-1123 subdomain).
    K8sName,
    /// A Kubernetes namespace (DNS-1123 label).
    K8sLabel,
    /// A git revision: hex id or a ref name without spaces or shell metacharacters.
    GitRev,
    /// Any short word of letters, digits and `._:/@+=,-` (the default).
    Word,
}

/// Puts every item given behind the invoking kind crate's `collector` feature: the
/// collector and its configuration, which a build without the kind leaves out, while the
/// crate's declaration (`KIND`, outside the macro) stays. The `cfg` is evaluated in the
/// crate that invokes the macro.
///
/// ```text
/// pub mod kind;
/// pub use kind::KIND;
///
/// witness_collector::collector_items! {
///     mod collector;
///     mod config;
///
///     pub use config::EchoConfig;
/// }
/// ```
#[macro_export]
macro_rules! collector_items {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "collector")]
            $item
        )*
    };
}

/// Where the facts table of a kind's FACTS.md and its declaration disagree: a fact
/// published but undocumented, documented but never published, or documented with another
/// type. Empty when they agree. The table is the first one headed `| name | type | ...`;
/// its rows start `` | `kind.fact` | type | ``, a list type reading `list` or `list of …`.
pub fn facts_doc_mismatches(kind: &KindDecl, facts_md: &str) -> Vec<String> {
    let documented: Vec<(&str, &str)> = facts_md
        .lines()
        .skip_while(|line| !line.starts_with("| name | type |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let mut cells = line.split('|').skip(1).map(str::trim);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name, cells.next()?))
        })
        .collect();
    let mut problems = Vec::new();
    for fact in kind.facts {
        match documented.iter().find(|(name, _)| *name == fact.name) {
            None => problems.push(format!("{} is published but not in FACTS.md", fact.name)),
            Some((_, ty)) if ty.split(' ').next() != Some(fact.kind) => {
                problems.push(format!("{} is a {} but FACTS.md says {ty}", fact.name, fact.kind))
            }
            Some(_) => {}
        }
    }
    for (name, _) in &documented {
        if !kind.facts.iter().any(|f| f.name == *name) {
            problems.push(format!("{name} is in FACTS.md but never published"));
        }
    }
    if documented.is_empty() {
        problems.push("FACTS.md has no `| name | type | meaning |` table".to_owned());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const ECHO: KindDecl = KindDecl {
        name: "echo",
        sees: "its own voice",
        facts: &[
            fact("echo.count", "int", Merge::Sum, Check::Int, "echoes"),
            fact("echo.words", "list", Merge::Union, Check::Word, "what came back"),
        ],
        labels: &[],
    };

    #[test]
    fn a_facts_table_that_matches_the_declaration_has_no_mismatch() {
        let md = "# Facts\n\n| name | type | meaning |\n|---|---|---|\n\
                  | `echo.count` | int | echoes |\n| `echo.words` | list of text | words |\n\n\
                  | name | merge |\n| `echo.count` | sum |\n";
        assert_eq!(facts_doc_mismatches(&ECHO, md), Vec::<String>::new());
    }

    #[test]
    fn undocumented_unpublished_and_mistyped_facts_are_named() {
        let md = "| name | type | meaning |\n|---|---|---|\n\
                  | `echo.count` | float | echoes |\n| `echo.ghost` | int | never sent |\n";
        assert_eq!(
            facts_doc_mismatches(&ECHO, md),
            [
                "echo.count is a int but FACTS.md says float",
                "echo.words is published but not in FACTS.md",
                "echo.ghost is in FACTS.md but never published",
            ]
        );
    }
}
