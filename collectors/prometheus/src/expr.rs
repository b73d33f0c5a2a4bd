//! The alert's own expression: where it is found in the alert, and how its condition is
//! read.
//!
//! - Prometheus (and Thanos, Mimir's and Cortex's rulers) link an alert to its rule with
//!   `generatorURL = <prometheus>/graph?g0.expr=<expression>`.
//! - vmalert, and rulers configured to link to Grafana, send a Grafana Explore URL whose
//!   `left` (or, since Grafana 10, `panes`) parameter is JSON holding `queries[].expr`.
//! - A Grafana-managed rule links to `/alerting/grafana/<uid>/view`: its query is read from
//!   Grafana (see [`crate::grafana`]).
//!
//! An alerting expression is usually `<value> <op> <number>` (`rate(errors[5m]) /
//! rate(requests[5m]) > 0.05`): Prometheus returns only the series and times where it
//! holds, so the value itself is lost. [`Condition::split`] finds that top-level
//! comparison, so the value is evaluated on its own and the crossing of the number read
//! from it; anything else (`and`, vector matching, `bool`) is evaluated as it is, and the
//! condition holds wherever it returns a value.

use std::fmt;

use witness_net::client::reqwest::Url;

/// Where the alert's expression came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `g0.expr` of a Prometheus `/graph` link.
    GeneratorUrl,
    /// `queries[].expr` of a Grafana Explore link.
    GrafanaExplore,
    /// The query of a Grafana-managed rule, read from Grafana.
    GrafanaRule,
}

/// The expression of `generator_url`, when the link carries one: `g0.expr`, or the first
/// `expr` of a Grafana Explore link's `left` / `panes`.
pub fn from_generator_url(generator_url: &str) -> Option<(String, Origin)> {
    let url = Url::parse(generator_url).ok()?;
    let mut explore = None;
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "g0.expr" if !value.trim().is_empty() => {
                return Some((value.into_owned(), Origin::GeneratorUrl));
            }
            "left" | "panes" if explore.is_none() => {
                explore = serde_json::from_str::<serde_json::Value>(&value)
                    .ok()
                    .as_ref()
                    .and_then(first_expr);
            }
            _ => {}
        }
    }
    explore.map(|expr| (expr, Origin::GrafanaExplore))
}

/// The first non-empty `expr` string anywhere in an Explore state (`{"queries": [{"expr":
/// ...}]}`, `{"pane": {"queries": [...]}}`, or the legacy array form).
fn first_expr(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Object(map) => {
            let expr = map.get("expr").and_then(|e| e.as_str());
            if let Some(expr) = expr.filter(|e| !e.trim().is_empty()) {
                return Some(expr.to_owned());
            }
            map.values().find_map(first_expr)
        }
        serde_json::Value::Array(items) => items.iter().find_map(first_expr),
        _ => None,
    }
}

/// The uid of a Grafana-managed rule from its link
/// (`https://grafana.example/alerting/grafana/<uid>/view?orgId=1`).
pub fn grafana_rule_uid(generator_url: &str) -> Option<String> {
    let url = Url::parse(generator_url).ok()?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    let at = segments.windows(2).position(|w| w == ["alerting", "grafana"])?;
    let uid = segments.get(at + 2)?;
    let safe =
        !uid.is_empty() && uid.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
    safe.then(|| (*uid).to_owned())
}

/// A comparison operator of PromQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }

    /// The operator with its sides swapped (`0.05 < x` is `x > 0.05`).
    fn flipped(self) -> Self {
        match self {
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            other => other,
        }
    }

    /// Whether `value <op> threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
            Op::Eq => value == threshold,
            Op::Ne => value != threshold,
        }
    }

    /// Whether the condition is a value going down (`<`, `<=`).
    pub fn downward(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An expression's condition read as `<value> <op> <threshold>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Condition {
    /// The value's expression, evaluated on its own.
    pub value: String,
    pub op: Op,
    pub threshold: f64,
}

impl Condition {
    /// The top-level comparison of `expr` with a number, when it is its only top-level
    /// operator of its kind and no set operator (`and`, `or`, `unless`) stands beside it.
    /// `None` for anything else: the expression is then evaluated as it is.
    pub fn split(expr: &str) -> Option<Condition> {
        let expr = &without_comments(expr);
        let tokens = top_level(expr);
        let mut comparisons = tokens.iter().filter(|t| matches!(t, Top::Op(..)));
        let Top::Op(at, len) = *comparisons.next()? else { return None };
        if comparisons.next().is_some() || tokens.iter().any(|t| matches!(t, Top::SetOp)) {
            return None;
        }
        let op = Op::parse(&expr[at..at + len])?;
        let (left, right) = (expr[..at].trim(), expr[at + len..].trim());
        // `x > bool 1` returns 0/1 and `x > on(a) y` matches vectors: not a threshold.
        let first_word =
            right.split(|c: char| !(c.is_ascii_alphabetic() || c == '_')).next().unwrap_or("");
        if matches!(first_word, "bool" | "on" | "ignoring" | "group_left" | "group_right") {
            return None;
        }
        match (number(left), number(right)) {
            (None, Some(threshold)) if !left.is_empty() => {
                Some(Condition { value: left.to_owned(), op, threshold })
            }
            (Some(threshold), None) if !right.is_empty() => {
                Some(Condition { value: right.to_owned(), op: op.flipped(), threshold })
            }
            _ => None,
        }
    }
}

/// A PromQL number literal, possibly in parentheses: `0.05`, `1e3`, `(5)`, `-1`.
fn number(text: &str) -> Option<f64> {
    let mut text = text.trim();
    while let Some(inner) = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        text = inner.trim();
    }
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// `expr` without its comments (`#` to the end of the line, outside strings).
fn without_comments(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    for c in expr.chars() {
        if comment {
            if c == '\n' {
                comment = false;
                out.push(c);
            }
            continue;
        }
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '#' => {
                comment = true;
                continue;
            }
            None if matches!(c, '"' | '\'' | '`') => quote = Some(c),
            None => {}
        }
        out.push(c);
    }
    out
}

/// What stands at the top level of an expression without comments (outside parentheses,
/// brackets, braces and strings).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Top {
    /// A comparison operator at this byte offset, of this length.
    Op(usize, usize),
    /// `and`, `or` or `unless`.
    SetOp,
}

fn top_level(expr: &str) -> Vec<Top> {
    let bytes = expr.as_bytes();
    let mut found = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' && q != b'`' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' | b'\'' | b'`' => quote = Some(b),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'>' | b'<' | b'=' | b'!' if depth == 0 => {
                let two = expr.get(i..i + 2).unwrap_or("");
                if matches!(two, ">=" | "<=" | "==" | "!=") {
                    found.push(Top::Op(i, 2));
                    i += 2;
                    continue;
                }
                if matches!(b, b'>' | b'<') {
                    found.push(Top::Op(i, 1));
                }
            }
            _ if depth == 0 && b.is_ascii_alphabetic() => {
                let end = expr[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                    .map_or(bytes.len(), |n| i + n);
                let word_start = i == 0 || !matches!(bytes[i - 1], b'_' | b':' | b'0'..=b'9');
                if word_start && matches!(&expr[i..end], "and" | "or" | "unless") {
                    found.push(Top::SetOp);
                }
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generatorURL a real Alertmanager 0.25 delivered (see the wire formats).
    const CAPTURED: &str = "http://prometheus.example:9090/graph?g0.expr=rate(http_requests_total%7Bcode%3D~%225..%22%7D%5B5m%5D)";

    #[test]
    fn the_expression_of_a_prometheus_link_is_read() {
        let (expr, origin) = from_generator_url(CAPTURED).unwrap();
        assert_eq!(expr, r#"rate(http_requests_total{code=~"5.."}[5m])"#);
        assert_eq!(origin, Origin::GeneratorUrl);
        assert_eq!(from_generator_url("http://prom/graph"), None);
        assert_eq!(from_generator_url("not a url"), None);
    }

    #[test]
    fn the_expression_of_a_grafana_explore_link_is_read() {
        let left = r#"{"datasource":"VictoriaMetrics","queries":[{"expr":"sum(up) < 3","refId":"A"}],"range":{"from":"now-1h","to":"now"}}"#;
        let mut url = Url::parse("https://grafana.example/explore?orgId=1").unwrap();
        url.query_pairs_mut().append_pair("left", left);
        let (expr, origin) = from_generator_url(url.as_str()).unwrap();
        assert_eq!((expr.as_str(), origin), ("sum(up) < 3", Origin::GrafanaExplore));
        let panes = r#"{"x1":{"datasource":"P","queries":[{"refId":"A","expr":"up == 0"}]}}"#;
        let mut url = Url::parse("https://grafana.example/explore").unwrap();
        url.query_pairs_mut().append_pair("schemaVersion", "1").append_pair("panes", panes);
        assert_eq!(from_generator_url(url.as_str()).unwrap().0, "up == 0");
    }

    #[test]
    fn a_grafana_managed_rule_is_named_by_its_uid() {
        let url = "https://grafana.example/alerting/grafana/ae1x-9_Z/view?orgId=1";
        assert_eq!(grafana_rule_uid(url).as_deref(), Some("ae1x-9_Z"));
        assert_eq!(grafana_rule_uid("https://grafana.example/alerting/list"), None);
        assert_eq!(grafana_rule_uid(CAPTURED), None);
    }

    #[test]
    fn a_threshold_comparison_is_split_off() {
        let c = Condition::split(
            r#"sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m])) > 0.05"#,
        )
        .unwrap();
        assert_eq!(
            c.value,
            r#"sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))"#
        );
        assert_eq!((c.op, c.threshold), (Op::Gt, 0.05));
        let flipped = Condition::split("10 >= histogram_quantile(0.95, x)").unwrap();
        assert_eq!((flipped.value.as_str(), flipped.op), ("histogram_quantile(0.95, x)", Op::Le));
        assert_eq!(Condition::split("up == 0").unwrap().op, Op::Eq);
    }

    #[test]
    fn what_is_not_a_plain_threshold_is_evaluated_as_it_is() {
        for expr in [
            r#"rate(http_requests_total{code=~"5.."}[5m])"#,
            "a > 1 and b > 2",
            "a > bool 1",
            "a > on(job) b",
            "a > b",
            r#"up{job=">"} unless absent(x)"#,
            "a > 1 > 2",
        ] {
            assert_eq!(Condition::split(expr), None, "{expr}");
        }
        // Set operators inside parentheses, names containing them, strings and comments
        // are not top level.
        let c = Condition::split("(a and b) > 1 # and more > 2").unwrap();
        assert_eq!((c.value.as_str(), c.threshold), ("(a and b)", 1.0));
        assert_eq!(Condition::split("orders_total > 3").unwrap().value, "orders_total");
    }
}
