//! Understanding what a health endpoint's body says, beyond its status code: Spring Boot
//! Actuator (`status` plus nested `components`/`details`), the IETF health-check draft
//! (`status` pass/fail/warn plus `checks`), a generic `{"status": "ok"}`, and a plain-text
//! `ok`. The point is to name the component that is down, so a responder reads "db DOWN"
//! instead of "503".

use serde::Serialize;
use serde_json::Value;
use witness_collector::Redacted;

/// Which convention the body follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthFormat {
    /// Spring Boot Actuator: `{"status":"UP","components":{"db":{"status":"UP"}}}`.
    SpringActuator,
    /// draft-inadarei-api-health-check: `{"status":"pass","checks":{"db:x":[{...}]}}`.
    IetfHealth,
    /// Some other JSON object with a `status` field.
    JsonStatus,
    /// A plain-text body such as `ok`.
    PlainText,
}

/// What the body means for the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Up,
    /// Working but degraded (`warn`).
    Degraded,
    Down,
    /// A status word witness does not know; kept as text in [`HealthReport::status`].
    Unknown,
}

/// The health a body reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub format: HealthFormat,
    /// The overall status word exactly as the body gives it.
    pub status: String,
    pub verdict: Verdict,
    /// Components whose own status is down, by path (`db`, `db/replica`, `redis:ping`).
    pub components_down: Vec<String>,
    /// Components reporting a degraded status (`warn`, `DEGRADED`).
    pub components_degraded: Vec<String>,
    /// The error text a down component gives (Actuator `details.error`, IETF `output`), by
    /// path: the rules compare it with the service's own new error signatures, because a
    /// component failing with the service's own error is the service, not a dependency.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub component_errors: Vec<(String, String)>,
}

/// Maps a status word of any of the known conventions.
pub fn verdict_of(status: &str) -> Verdict {
    match status.trim().to_ascii_lowercase().as_str() {
        "up" | "ok" | "pass" | "healthy" | "green" | "alive" | "ready" | "serving" => Verdict::Up,
        "warn" | "warning" | "degraded" | "yellow" => Verdict::Degraded,
        "down" | "fail" | "failed" | "failure" | "error" | "unhealthy" | "out_of_service"
        | "critical" | "red" | "not_serving" => Verdict::Down,
        _ => Verdict::Unknown,
    }
}

/// Reads a health body, redacted before it is parsed (so the status words, component
/// names and errors it gives are redacted too). `None` when the body follows none of the
/// known conventions (an HTML page, an empty body): then only the status code speaks.
pub fn interpret(body: &Redacted) -> Option<HealthReport> {
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return None;
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(object)) => interpret_json(&object),
        Ok(_) => None,
        // Plain text: only a single short word is taken as a verdict, so an HTML error
        // page saying "error" somewhere is not read as a health body.
        Err(_) => {
            let word = trimmed.trim_end_matches(['.', '!']);
            let verdict = verdict_of(word);
            (word.len() <= 32 && !word.contains(char::is_whitespace) && verdict != Verdict::Unknown)
                .then(|| HealthReport {
                    format: HealthFormat::PlainText,
                    status: trimmed.to_owned(),
                    verdict,
                    components_down: Vec::new(),
                    components_degraded: Vec::new(),
                    component_errors: Vec::new(),
                })
        }
    }
}

fn interpret_json(object: &serde_json::Map<String, Value>) -> Option<HealthReport> {
    let status = object.get("status")?.as_str()?.to_owned();
    let mut report = HealthReport {
        format: HealthFormat::JsonStatus,
        verdict: verdict_of(&status),
        status,
        components_down: Vec::new(),
        components_degraded: Vec::new(),
        component_errors: Vec::new(),
    };
    let is_actuator_word =
        matches!(report.status.as_str(), "UP" | "DOWN" | "OUT_OF_SERVICE" | "UNKNOWN");
    if object.contains_key("checks") || matches!(report.status.as_str(), "pass" | "fail" | "warn") {
        report.format = HealthFormat::IetfHealth;
        if let Some(Value::Object(checks)) = object.get("checks") {
            for (name, entries) in checks {
                ietf_check(name, entries, &mut report);
            }
        }
    } else if is_actuator_word || object.contains_key("components") {
        report.format = HealthFormat::SpringActuator;
        actuator_components(object, "", &mut report);
    }
    Some(report)
}

/// Spring Boot 2.2+ nests `components`; 2.0/2.1 used `details` for the same tree.
fn actuator_components(
    node: &serde_json::Map<String, Value>,
    prefix: &str,
    report: &mut HealthReport,
) {
    let children = node.get("components").or_else(|| node.get("details"));
    let Some(Value::Object(children)) = children else { return };
    for (name, child) in children {
        let Value::Object(child) = child else { continue };
        let Some(status) = child.get("status").and_then(Value::as_str) else { continue };
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let has_children = matches!(child.get("components"), Some(Value::Object(_)));
        // A composite is down because a child is; name the child, not both.
        if has_children {
            actuator_components(child, &path, report);
        } else {
            let error = child.get("details").and_then(|d| d.get("error")).and_then(Value::as_str);
            classify_component(path, status, error, report);
        }
    }
}

/// IETF checks: `"component:measurement": [ {"componentId": "...", "status": "fail"} ]`.
fn ietf_check(name: &str, entries: &Value, report: &mut HealthReport) {
    let Value::Array(entries) = entries else { return };
    for entry in entries {
        let Some(status) = entry.get("status").and_then(Value::as_str) else { continue };
        let path = match entry.get("componentId").and_then(Value::as_str) {
            Some(id) if entries.len() > 1 => format!("{name}/{id}"),
            _ => name.to_owned(),
        };
        let output = entry.get("output").and_then(Value::as_str);
        classify_component(path, status, output, report);
    }
}

/// Longest error text kept per component.
const MAX_COMPONENT_ERROR: usize = 500;

fn classify_component(path: String, status: &str, error: Option<&str>, report: &mut HealthReport) {
    match verdict_of(status) {
        Verdict::Down => {
            if let Some(error) = error.map(str::trim).filter(|e| !e.is_empty()) {
                let cut =
                    error.char_indices().nth(MAX_COMPONENT_ERROR).map_or(error.len(), |(i, _)| i);
                report.component_errors.push((path.clone(), error[..cut].to_owned()));
            }
            report.components_down.push(path);
        }
        Verdict::Degraded => report.components_degraded.push(path),
        Verdict::Up | Verdict::Unknown => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as the client hands it over: redacted.
    fn body_of(text: &str) -> Redacted {
        witness_collector::Redactor::builtin().redact(text)
    }

    #[test]
    fn actuator_names_the_component_that_is_down() {
        let body = r#"{"status":"DOWN","components":{
            "db":{"status":"DOWN","details":{"database":"PostgreSQL","error":"Connection refused"}},
            "diskSpace":{"status":"UP","details":{"total":1,"free":1}},
            "redis":{"status":"UP","components":{"primary":{"status":"UP"},"replica":{"status":"OUT_OF_SERVICE"}}},
            "ping":{"status":"UP"}}}"#;
        let report = interpret(&body_of(body)).unwrap();
        assert_eq!(report.format, HealthFormat::SpringActuator);
        assert_eq!(report.verdict, Verdict::Down);
        assert_eq!(report.components_down, vec!["db", "redis/replica"]);
        assert_eq!(report.component_errors, vec![("db".into(), "Connection refused".into())]);
    }

    /// Issue 15: the service's own component fails with the service's own error; the
    /// text is kept so that the rules can tell it from a dependency that is down.
    #[test]
    fn a_down_component_keeps_its_error_text() {
        let body = r#"{"status":"DOWN","components":{
            "userService":{"status":"DOWN","details":{"error":"TypeError: Cannot read properties of null (reading 'email')"}},
            "db":{"status":"UP"}}}"#;
        let report = interpret(&body_of(body)).unwrap();
        assert_eq!(report.components_down, vec!["userService"]);
        assert_eq!(
            report.component_errors,
            vec![(
                "userService".into(),
                "TypeError: Cannot read properties of null (reading 'email')".into()
            )]
        );
        let ietf = r#"{"status":"fail","checks":{"mail:smtp":[{"status":"fail","output":"connect timeout"}]}}"#;
        assert_eq!(
            interpret(&body_of(ietf)).unwrap().component_errors,
            vec![("mail:smtp".into(), "connect timeout".into())]
        );
    }

    #[test]
    fn old_actuator_details_tree_is_read_too() {
        let body =
            r#"{"status":"DOWN","details":{"mongo":{"status":"DOWN"},"disk":{"status":"UP"}}}"#;
        assert_eq!(interpret(&body_of(body)).unwrap().components_down, vec!["mongo"]);
    }

    #[test]
    fn ietf_checks_name_failing_and_warning_components() {
        let body = r#"{"status":"warn","version":"1","checks":{
            "cassandra:responseTime":[{"componentId":"dfd6cf2b","status":"warn","observedValue":250}],
            "uptime":[{"componentType":"system","status":"pass"}],
            "cpu:utilization":[{"componentId":"n1","status":"pass"},{"componentId":"n2","status":"fail"}]}}"#;
        let report = interpret(&body_of(body)).unwrap();
        assert_eq!(report.format, HealthFormat::IetfHealth);
        assert_eq!(report.verdict, Verdict::Degraded);
        assert_eq!(report.components_down, vec!["cpu:utilization/n2"]);
        assert!(report.component_errors.is_empty(), "no output given");
        assert_eq!(report.components_degraded, vec!["cassandra:responseTime"]);
    }

    #[test]
    fn plain_ok_and_json_ok_are_up_and_html_is_not_a_verdict() {
        assert_eq!(interpret(&body_of("ok\n")).unwrap().verdict, Verdict::Up);
        assert_eq!(interpret(&body_of("OK")).unwrap().format, HealthFormat::PlainText);
        let json = interpret(&body_of(r#"{"status":"ok","uptime":12}"#)).unwrap();
        assert_eq!((json.format, json.verdict), (HealthFormat::JsonStatus, Verdict::Up));
        assert_eq!(interpret(&body_of("<html><body>error</body></html>")), None);
        assert_eq!(interpret(&body_of("")), None);
        assert_eq!(interpret(&body_of("[1,2]")), None);
    }

    #[test]
    fn unknown_status_words_are_kept_not_judged() {
        let report = interpret(&body_of(r#"{"status":"MAINTENANCE_MODE"}"#)).unwrap();
        assert_eq!(report.verdict, Verdict::Unknown);
        assert_eq!(report.status, "MAINTENANCE_MODE");
    }
}
