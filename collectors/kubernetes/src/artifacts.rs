//! Raw API objects kept beside the evidence. Before they leave this crate, literal
//! environment values and the `last-applied-configuration` annotation (a full copy of the
//! spec, env values included) are withheld and `managedFields` dropped: pod templates
//! routinely carry credentials that no redaction rule knows.

use serde::Serialize;
use serde_json::Value;
use witness_collector::ArtifactSink;

const WITHHELD: &str = "(withheld by witness)";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Stores `objects` as JSON under `path`, scrubbed.
pub fn put(sink: &ArtifactSink, path: &str, objects: &impl Serialize) {
    let mut value = serde_json::to_value(objects).unwrap_or_else(
        |e| serde_json::json!({"error": format!("objects could not be serialized: {e}")}),
    );
    scrub(&mut value);
    sink.put_json(path, &value);
}

/// Withholds env values and last-applied configurations anywhere in `value`.
pub fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("managedFields");
            if let Some(Value::Object(annotations)) = map.get_mut("annotations")
                && let Some(v) = annotations.get_mut(LAST_APPLIED)
            {
                *v = Value::String(WITHHELD.to_owned());
            }
            if let Some(Value::Array(env)) = map.get_mut("env") {
                for var in env.iter_mut() {
                    if let Some(v) = var.get_mut("value") {
                        *v = Value::String(WITHHELD.to_owned());
                    }
                }
            }
            map.values_mut().for_each(scrub);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_and_last_applied_are_withheld() {
        let mut pod = serde_json::json!({
            "metadata": {"annotations": {LAST_APPLIED: "{\"env\":\"hunter2\"}", "a": "b"}, "managedFields": [1]},
            "spec": {"containers": [{"name": "web", "env": [
                {"name": "DB_PASSWORD", "value": "hunter2"},
                {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}
            ]}]}
        });
        scrub(&mut pod);
        let text = pod.to_string();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("managedFields"));
        assert_eq!(
            pod["spec"]["containers"][0]["env"][1]["valueFrom"]["secretKeyRef"]["key"],
            "pw"
        );
        assert_eq!(pod["metadata"]["annotations"]["a"], "b");
    }
}
