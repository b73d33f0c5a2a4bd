//! The cost bound of a rule's conditions, checked when the rules are loaded (`witness
//! rules check`, and every run's preparation): the CEL interpreter cannot be interrupted,
//! so a condition that could run for minutes is refused before it runs. The deadline at
//! run time ([`super::eval::RULE_DEADLINE`]) is the second line of defence.

use cel::IdedExpr;
use cel::common::ast::{EntryExpr, Expr};

/// The cost bound `rules check` applies to every condition, so that no rule can run for
/// minutes: comprehensions (`all`, `exists`, `exists_one`, `map`, `filter`) nested at
/// most this deep (each level multiplies the work by a list's length) ...
pub const MAX_COMPREHENSION_DEPTH: usize = 2;
/// ... at most this many characters ...
pub const MAX_CONDITION_CHARS: usize = 4096;
/// ... and at most this many nodes once the macros are expanded.
pub const MAX_CONDITION_NODES: usize = 2000;

/// What is too costly about a compiled condition, if anything (for `rules check`).
pub fn problem(source: &str, program: &cel::Program) -> Option<String> {
    if source.len() > MAX_CONDITION_CHARS {
        return Some(format!(
            "is {} characters long; at most {MAX_CONDITION_CHARS} are evaluated",
            source.len()
        ));
    }
    let (nodes, depth) = cost(program.expression());
    if depth > MAX_COMPREHENSION_DEPTH {
        return Some(format!(
            "nests {depth} comprehensions (all, exists, map, filter) inside each other; at most \
             {MAX_COMPREHENSION_DEPTH} are allowed, each multiplies the work by a list's length"
        ));
    }
    (nodes > MAX_CONDITION_NODES).then(|| {
        format!("has {nodes} nodes once expanded; at most {MAX_CONDITION_NODES} are evaluated")
    })
}

/// (nodes, deepest nesting of comprehensions) of `e`. A comprehension's range is evaluated
/// once, its step and condition once per element: only those nest.
fn cost(e: &IdedExpr) -> (usize, usize) {
    let of = |children: &mut dyn Iterator<Item = &IdedExpr>| {
        children.map(cost).fold((1, 0), |(n, d), (cn, cd)| (n + cn, d.max(cd)))
    };
    match &e.expr {
        Expr::Call(call) => of(&mut call.target.iter().map(AsRef::as_ref).chain(&call.args)),
        Expr::Comprehension(c) => {
            let (range_nodes, range_depth) = of(&mut [&c.iter_range, &c.accu_init].into_iter());
            let (body_nodes, body_depth) =
                of(&mut [&c.loop_cond, &c.loop_step, &c.result].into_iter());
            (range_nodes + body_nodes, range_depth.max(body_depth + 1))
        }
        Expr::List(list) => of(&mut list.elements.iter()),
        Expr::Map(map) => of(&mut map.entries.iter().flat_map(|e| entry(&e.expr))),
        Expr::Struct(s) => of(&mut s.entries.iter().flat_map(|e| entry(&e.expr))),
        Expr::Select(select) => of(&mut std::iter::once(select.operand.as_ref())),
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => (1, 0),
    }
}

fn entry(e: &EntryExpr) -> Vec<&IdedExpr> {
    match e {
        EntryExpr::StructField(f) => vec![&f.value],
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
    }
}
