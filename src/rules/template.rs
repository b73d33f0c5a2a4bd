//! Templates of titles, explanations, reasons and suggested commands. A placeholder names a
//! fact (`{kubernetes.previous_revision}`), optionally through a filter
//! (`{kubernetes.replicas|scale_up}`), or a value of the evidence itself: a JSON pointer
//! into the kind's primary instance (`{postgres:/data/lock_trees/0/root_pid}`) or a command
//! the collector suggested for a purpose (`{kubernetes:suggested:raise_hpa_max}`).
//! `{{` and `}}` are literal braces. `[? … ?]` is an optional section, rendered only when
//! every value in it is present (`[? (error rate ×{logs.error_rate_ratio})?]`).
//!
//! Text renders values as a reader wants them. Commands are stricter: every value is
//! checked against what it must be (a revision is a whole number, a Deployment a DNS-1123
//! name) and shell-quoted; a command with a missing or invalid value is left out, with the
//! reason, rather than printed wrong.

use witness_collector::FactValue;
use witness_collector::shell::{is_dns1123_label, is_dns1123_subdomain, shell_quote};

use super::facts::{self, Check};

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Fact {
        name: String,
        filter: Option<Filter>,
    },
    Pointer {
        kind: String,
        pointer: String,
    },
    Suggested {
        kind: String,
        purpose: String,
    },
    /// `[? … ?]`: rendered only when every value in it is present.
    Optional(Template),
}

/// What a filter does to a value before it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// The first item of a list.
    First,
    /// Half as many again, at least one more (replicas to scale to).
    ScaleUp,
    /// A ratio as a percentage (`0.93` → `93%`).
    Percent,
    /// A number rounded to a whole one.
    Round,
    /// The first 10 characters (commit ids).
    Short,
}

impl Filter {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "first" => Filter::First,
            "scale_up" => Filter::ScaleUp,
            "percent" => Filter::Percent,
            "round" => Filter::Round,
            "short" => Filter::Short,
            _ => return None,
        })
    }

    fn apply(self, value: &FactValue) -> Option<FactValue> {
        match (self, value) {
            (Filter::First, FactValue::List(items)) => items.first().cloned(),
            (Filter::First, other) => Some(other.clone()),
            (Filter::ScaleUp, v) => {
                let n = v.as_f64()?.round().max(1.0) as i64;
                Some(FactValue::Int((n + (n + 1) / 2).max(n + 1)))
            }
            (Filter::Percent, v) => Some(FactValue::Text(format!("{:.0}%", v.as_f64()? * 100.0))),
            (Filter::Round, v) => Some(FactValue::Int(v.as_f64()?.round() as i64)),
            (Filter::Short, FactValue::Text(t)) => {
                Some(FactValue::Text(t.chars().take(10).collect()))
            }
            (Filter::Short, other) => Some(other.clone()),
        }
    }
}

/// Where a template finds its values.
pub trait Values {
    /// The merged value of a fact.
    fn fact(&self, name: &str) -> Option<FactValue>;
    /// A value at `pointer` in the evidence of `kind`'s primary instance.
    fn pointer(&self, kind: &str, pointer: &str) -> Option<serde_json::Value>;
    /// The command `kind`'s primary instance suggested for `purpose`.
    fn suggested(&self, kind: &str, purpose: &str) -> Option<String>;
    /// Whether any instance of `kind` has evidence.
    fn has_kind(&self, kind: &str) -> bool;
}

/// Why a command could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Omitted {
    /// The kind has no evidence at all: the command is about something not in this run.
    NoEvidence(String),
    /// A value is absent or not fit for a command line.
    Because(String),
}

impl Template {
    /// Parses `source`.
    ///
    /// # Errors
    /// An unclosed or empty placeholder, an unknown filter, a placeholder that is not a
    /// `<kind>.<fact>`, `<kind>:/pointer` or `<kind>:suggested:<purpose>`.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    text.push('}');
                }
                '}' => return Err(format!("`}}` at {at} without `{{` (write `}}}}`)")),
                '[' if chars.peek().is_some_and(|(_, n)| *n == '?') => {
                    let rest = &source[at + 2..];
                    let Some(end) = rest.find("?]") else {
                        return Err(format!("optional section at {at} is not closed with `?]`"));
                    };
                    let inner = &rest[..end];
                    if inner.contains("[?") {
                        return Err(format!("optional sections do not nest (at {at})"));
                    }
                    // Offsets are bytes, the iterator yields chars (`×` is two bytes).
                    while chars.next_if(|(i, _)| *i < at + 2 + end + 2).is_some() {}
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Optional(Template::parse(inner)?));
                }
                '{' => {
                    let rest = &source[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!("placeholder at {at} is not closed"));
                    };
                    let inner = rest[..end].trim();
                    while chars.next_if(|(i, _)| *i <= at + 1 + end).is_some() {}
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(placeholder(inner)?);
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The facts this template names.
    pub fn facts(&self) -> Vec<&str> {
        self.parts
            .iter()
            .flat_map(|p| match p {
                Part::Fact { name, .. } => vec![name.as_str()],
                Part::Optional(t) => t.facts(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// Whether every value this template uses is present.
    fn all_present(&self, values: &dyn Values) -> bool {
        self.parts.iter().all(|p| match p {
            Part::Text(_) => true,
            Part::Fact { name, filter } => {
                values.fact(name).is_some_and(|v| filter.is_none_or(|f| f.apply(&v).is_some()))
            }
            Part::Pointer { kind, pointer } => values.pointer(kind, pointer).is_some(),
            Part::Suggested { kind, purpose } => values.suggested(kind, purpose).is_some(),
            Part::Optional(_) => true,
        })
    }

    /// Renders for people: absent values read `unknown`.
    pub fn text(&self, values: &dyn Values) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Fact { name, filter } => {
                    let value = values.fact(name);
                    let value = match filter {
                        Some(f) => value.and_then(|v| f.apply(&v)),
                        None => value,
                    };
                    out.push_str(&value.map_or_else(|| "unknown".to_owned(), |v| display(&v)));
                }
                Part::Pointer { kind, pointer } => out.push_str(
                    &values.pointer(kind, pointer).map_or_else(|| "unknown".into(), json_text),
                ),
                Part::Suggested { kind, purpose } => out
                    .push_str(&values.suggested(kind, purpose).unwrap_or_else(|| "unknown".into())),
                Part::Optional(t) if t.all_present(values) => out.push_str(&t.text(values)),
                Part::Optional(_) => {}
            }
        }
        out
    }

    /// Renders a command line: each value checked and shell-quoted.
    ///
    /// # Errors
    /// Why the command cannot be given (see [`Omitted`]).
    pub fn command(&self, values: &dyn Values) -> Result<String, Omitted> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Fact { name, filter } => {
                    let kind = facts::kind_of(name);
                    if !values.has_kind(kind) {
                        return Err(Omitted::NoEvidence(kind.to_owned()));
                    }
                    let Some(value) = values.fact(name) else {
                        return Err(Omitted::Because(format!("{name} is absent")));
                    };
                    let value = match filter {
                        Some(f) => f.apply(&value).ok_or_else(|| {
                            Omitted::Because(format!(
                                "{name} ({}) is not a number",
                                display(&value)
                            ))
                        })?,
                        None => value,
                    };
                    let check = match filter {
                        Some(Filter::ScaleUp | Filter::Round) => Check::Int,
                        _ => facts::known(name).map_or(Check::Word, |f| f.check),
                    };
                    out.push_str(&checked(name, &value, check)?);
                }
                Part::Pointer { kind, pointer } => {
                    if !values.has_kind(kind) {
                        return Err(Omitted::NoEvidence(kind.clone()));
                    }
                    let what = format!("{kind}:{pointer}");
                    let value = values
                        .pointer(kind, pointer)
                        .and_then(|v| serde_json::from_value::<FactValue>(v).ok())
                        .ok_or_else(|| Omitted::Because(format!("{what} is absent")))?;
                    out.push_str(&checked(&what, &value, Check::Word)?);
                }
                Part::Suggested { kind, purpose } => {
                    if !values.has_kind(kind) {
                        return Err(Omitted::NoEvidence(kind.clone()));
                    }
                    let command = values.suggested(kind, purpose).ok_or_else(|| {
                        Omitted::Because(format!("{kind} suggested no {purpose} command"))
                    })?;
                    if !is_single_command(&command) {
                        return Err(Omitted::Because(format!(
                            "the {purpose} command {kind} suggested is not one plain command line"
                        )));
                    }
                    out.push_str(&command);
                }
                Part::Optional(t) if t.all_present(values) => out.push_str(&t.command(values)?),
                Part::Optional(_) => {}
            }
        }
        Ok(out)
    }
}

fn placeholder(inner: &str) -> Result<Part, String> {
    if inner.is_empty() {
        return Err("empty placeholder `{}`".into());
    }
    if let Some((kind, rest)) = inner.split_once(':') {
        if !facts::KINDS.contains(&kind) {
            return Err(format!("`{{{inner}}}`: unknown kind `{kind}`"));
        }
        if let Some(purpose) = rest.strip_prefix("suggested:") {
            return Ok(Part::Suggested { kind: kind.into(), purpose: purpose.into() });
        }
        if rest.starts_with('/') {
            return Ok(Part::Pointer { kind: kind.into(), pointer: rest.into() });
        }
        return Err(format!(
            "`{{{inner}}}`: expected `{kind}:/json/pointer` or `{kind}:suggested:PURPOSE`"
        ));
    }
    let (name, filter) = match inner.split_once('|') {
        Some((name, filter)) => {
            let f = Filter::parse(filter.trim()).ok_or_else(|| {
                format!(
                    "`{{{inner}}}`: unknown filter `{}` (first, scale_up, percent, round, short)",
                    filter.trim()
                )
            })?;
            (name.trim(), Some(f))
        }
        None => (inner, None),
    };
    if !name.contains('.') {
        return Err(format!("`{{{inner}}}` is not a fact name like `kubernetes.namespace`"));
    }
    Ok(Part::Fact { name: name.to_owned(), filter })
}

/// A value as a reader sees it.
pub fn display(value: &FactValue) -> String {
    match value {
        FactValue::Bool(b) => b.to_string(),
        FactValue::Int(i) => i.to_string(),
        FactValue::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        FactValue::Float(f) => {
            let s = format!("{f:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        FactValue::Text(t) => t.clone(),
        FactValue::List(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
    }
}

fn json_text(value: serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Checks `value` against `check` and shell-quotes it.
fn checked(what: &str, value: &FactValue, check: Check) -> Result<String, Omitted> {
    let text = match value {
        FactValue::List(_) => {
            return Err(Omitted::Because(format!("{what} is a list (use `|first`)")));
        }
        v => display(v),
    };
    let ok = match check {
        Check::Int => {
            matches!(value, FactValue::Int(_))
                || matches!(value, FactValue::Float(f) if f.fract() == 0.0)
        }
        Check::Number => value.as_f64().is_some_and(f64::is_finite),
        Check::K8sName => is_dns1123_subdomain(&text),
        Check::K8sLabel => is_dns1123_label(&text),
        Check::GitRev => {
            !text.is_empty()
                && text.len() <= 200
                && !text.starts_with('-')
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b))
        }
        Check::Word => {
            !text.is_empty()
                && text.len() <= 253
                && !text.starts_with('-')
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:/@+=,-".contains(&b))
        }
    };
    if ok {
        Ok(shell_quote(&text))
    } else {
        Err(Omitted::Because(format!("{what} = {text:?} is not a valid {check:?} value")))
    }
}

/// Whether `command` is one command line with no shell control outside single quotes: no
/// `;`, `&`, `|`, redirections, substitutions or newlines. Commands a collector suggests are
/// pasted whole, so they are held to this before they are shown.
pub fn is_single_command(command: &str) -> bool {
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '\'' => quoted = !quoted,
            '\n' | '\r' => return false,
            ';' | '&' | '|' | '<' | '>' | '`' | '$' | '\\' | '"' if !quoted => return false,
            _ => {}
        }
    }
    !quoted && !command.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<&'static str, FactValue>);

    impl Values for Map {
        fn fact(&self, name: &str) -> Option<FactValue> {
            self.0.get(name).cloned()
        }
        fn pointer(&self, _: &str, pointer: &str) -> Option<serde_json::Value> {
            (pointer == "/data/pid").then(|| serde_json::json!(4242))
        }
        fn suggested(&self, _: &str, purpose: &str) -> Option<String> {
            match purpose {
                "raise_hpa_max" => Some("kubectl patch hpa/web -n prod -p '{\"a\":1}'".into()),
                "evil" => Some("kubectl get pods; rm -rf /".into()),
                _ => None,
            }
        }
        fn has_kind(&self, kind: &str) -> bool {
            self.0.keys().any(|k| k.starts_with(kind)) || kind == "postgres"
        }
    }

    fn values() -> Map {
        Map(BTreeMap::from([
            ("kubernetes.deployment", "web".into()),
            ("kubernetes.namespace", "prod".into()),
            ("kubernetes.previous_revision", 41.into()),
            ("kubernetes.replicas", 4.into()),
            ("kubernetes.current_images", vec!["a:1", "b:2"].into()),
            ("logs.error_rate_ratio", 12.3456.into()),
        ]))
    }

    fn command(t: &str) -> Result<String, Omitted> {
        Template::parse(t).unwrap().command(&values())
    }

    #[test]
    fn commands_get_checked_quoted_values() {
        assert_eq!(
            command(
                "kubectl rollout undo deployment/{kubernetes.deployment} -n {kubernetes.namespace} --to-revision={kubernetes.previous_revision}"
            ),
            Ok("kubectl rollout undo deployment/web -n prod --to-revision=41".into())
        );
        assert_eq!(
            command("kubectl scale --replicas={kubernetes.replicas|scale_up}"),
            Ok("kubectl scale --replicas=6".into())
        );
        assert_eq!(command("x {postgres:/data/pid}"), Ok("x 4242".into()));
        assert_eq!(
            command("{kubernetes:suggested:raise_hpa_max}"),
            Ok("kubectl patch hpa/web -n prod -p '{\"a\":1}'".into())
        );
    }

    #[test]
    fn hostile_or_missing_values_never_reach_a_command() {
        let mut v = values();
        v.0.insert("kubernetes.deployment", "web;rm -rf /".into());
        let t = Template::parse("kubectl rollout undo deployment/{kubernetes.deployment}").unwrap();
        assert!(matches!(t.command(&v), Err(Omitted::Because(m)) if m.contains("not a valid")));
        v.0.insert("kubernetes.previous_revision", "41 && reboot".into());
        let t = Template::parse("--to-revision={kubernetes.previous_revision}").unwrap();
        assert!(t.command(&v).is_err());
        assert!(matches!(
            command("{kubernetes:suggested:evil}"),
            Err(Omitted::Because(m)) if m.contains("not one plain command")
        ));
        assert_eq!(command("{host.cores}"), Err(Omitted::NoEvidence("host".into())));
        assert_eq!(
            command("{kubernetes.hpa_max_replicas}"),
            Err(Omitted::Because("kubernetes.hpa_max_replicas is absent".into()))
        );
        assert!(command("{kubernetes.current_images}").is_err(), "lists need |first");
        assert_eq!(command("{kubernetes.current_images|first}"), Ok("a:1".into()));
    }

    #[test]
    fn text_reads_naturally() {
        let t = Template::parse(
            "errors ×{logs.error_rate_ratio} on {kubernetes.current_images} ({host.cores}) {{ok}}",
        )
        .unwrap();
        assert_eq!(t.text(&values()), "errors ×12.35 on a:1, b:2 (unknown) {ok}");
    }

    #[test]
    fn optional_sections_appear_only_with_their_values() {
        let t =
            Template::parse("errors up[? (×{logs.error_rate_ratio})?][? ({host.cores} cores)?].")
                .unwrap();
        assert_eq!(t.text(&values()), "errors up (×12.35).");
        let c = Template::parse("kubectl[? --replicas={kubernetes.replicas}?][? -x {host.cores}?]")
            .unwrap();
        assert_eq!(c.command(&values()), Ok("kubectl --replicas=4".into()));
        assert!(Template::parse("a [? b").is_err());
        assert!(Template::parse("[? [? b ?] ?]").is_err());
    }

    #[test]
    fn bad_templates_are_rejected() {
        assert!(Template::parse("{kubernetes.x").is_err());
        assert!(Template::parse("{}").is_err());
        assert!(Template::parse("{x|nope}").is_err());
        assert!(Template::parse("{nokind:/a}").is_err());
        assert!(Template::parse("{justaword}").is_err());
        assert!(Template::parse("a } b").is_err());
    }

    #[test]
    fn quoting_is_posix() {
        assert_eq!(shell_quote("web"), "web");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert!(is_single_command("kubectl patch hpa/x -p '{\"a\":1}'"));
        assert!(!is_single_command("kubectl get x $(id)"));
        assert!(!is_single_command("a 'unclosed"));
    }
}
