//! The query of a Grafana-managed alert rule. Grafana's webhook carries no query, only a
//! link to the rule (`/alerting/grafana/<uid>/view`); with a Grafana URL and token
//! configured, the rule is read from Grafana's provisioning API (`GET
//! /api/v1/provisioning/alert-rules/<uid>`, which a Viewer-role service account token may
//! read), and its condition followed back to the Prometheus query it rests on:
//! `C = threshold(B) > 0.05`, `B = reduce(A)`, `A = <PromQL>` gives the query of `A` and
//! the threshold `> 0.05`.

use std::collections::HashMap;

use serde_json::Value;

use crate::expr::{Condition, Op};

/// What a Grafana rule says about its query.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleQuery {
    /// The PromQL of the data query the condition rests on.
    pub expr: String,
    /// The threshold the condition applies to it, when it is a plain `gt` / `lt`.
    pub threshold: Option<(Op, f64)>,
    /// The rule's title, for notes.
    pub title: Option<String>,
}

impl RuleQuery {
    /// The condition to evaluate: the threshold of the rule when it has one, else whatever
    /// the query's own text says.
    pub fn condition(&self) -> Option<Condition> {
        match self.threshold {
            Some((op, threshold)) => Some(Condition { value: self.expr.clone(), op, threshold }),
            None => Condition::split(&self.expr),
        }
    }
}

/// Follows a provisioned rule's condition back to its Prometheus query. `None` when no
/// data query of the rule has an `expr` (another data source: SQL, Loki, CloudWatch).
pub fn rule_query(rule: &Value) -> Option<RuleQuery> {
    let data = rule.get("data")?.as_array()?;
    let models: HashMap<&str, &Value> = data
        .iter()
        .filter_map(|d| Some((d.get("refId")?.as_str()?, d.get("model")?)))
        .collect();
    let title = rule.get("title").and_then(Value::as_str).map(str::to_owned);
    let mut threshold = None;
    let mut node = rule.get("condition").and_then(Value::as_str);
    // Expressions chain a few steps at most; a loop in a broken rule must not spin.
    for _ in 0..8 {
        let Some(model) = node.and_then(|n| models.get(n)) else { break };
        let expr = model.get("expr").and_then(Value::as_str);
        if let Some(expr) = expr.filter(|e| !e.trim().is_empty()) {
            return Some(RuleQuery { expr: expr.to_owned(), threshold, title });
        }
        if model.get("type").and_then(Value::as_str) == Some("threshold") && threshold.is_none() {
            threshold = evaluator(model);
        }
        node = model.get("expression").and_then(Value::as_str);
    }
    // No chain to follow (classic conditions, math): the first Prometheus-style query.
    let first = data
        .iter()
        .filter_map(|d| d.get("model")?.get("expr")?.as_str())
        .find(|e| !e.trim().is_empty())?;
    Some(RuleQuery { expr: first.to_owned(), threshold: None, title })
}

/// `{"conditions": [{"evaluator": {"type": "gt", "params": [0.05]}}]}` as `> 0.05`.
fn evaluator(model: &Value) -> Option<(Op, f64)> {
    let evaluator = model.get("conditions")?.as_array()?.first()?.get("evaluator")?;
    let value = evaluator.get("params")?.as_array()?.first()?.as_f64()?;
    let op = match evaluator.get("type")?.as_str()? {
        "gt" => Op::Gt,
        "lt" => Op::Lt,
        _ => return None,
    };
    Some((op, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape `GET /api/v1/provisioning/alert-rules/<uid>` returns (Grafana 10–12).
    pub fn provisioned_rule() -> Value {
        json!({"uid": "ae1x", "title": "HighErrorRatio", "condition": "C", "folderUID": "f1",
            "data": [
                {"refId": "A", "datasourceUid": "prom", "relativeTimeRange": {"from": 600, "to": 0},
                 "model": {"refId": "A", "expr": "sum(rate(http_requests_total{code=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m]))", "instant": false, "range": true}},
                {"refId": "B", "datasourceUid": "__expr__", "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"}},
                {"refId": "C", "datasourceUid": "__expr__", "model": {"refId": "C", "type": "threshold", "expression": "B",
                 "conditions": [{"evaluator": {"type": "gt", "params": [0.05]}}]}}
            ]})
    }

    #[test]
    fn the_condition_is_followed_back_to_its_query_and_threshold() {
        let q = rule_query(&provisioned_rule()).unwrap();
        assert!(q.expr.starts_with("sum(rate(http_requests_total{code=~\"5..\"}"), "{q:?}");
        assert_eq!(q.threshold, Some((Op::Gt, 0.05)));
        assert_eq!(q.title.as_deref(), Some("HighErrorRatio"));
        let c = q.condition().unwrap();
        assert_eq!((c.op, c.threshold), (Op::Gt, 0.05));
    }

    #[test]
    fn a_rule_on_another_data_source_has_no_query() {
        let sql = json!({"condition": "A", "data": [{"refId": "A", "model": {"rawSql": "SELECT 1"}}]});
        assert_eq!(rule_query(&sql), None);
        let looped = json!({"condition": "B", "data": [{"refId": "B", "model": {"type": "reduce", "expression": "B"}}]});
        assert_eq!(rule_query(&looped), None);
    }
}
