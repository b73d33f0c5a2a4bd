//! `deploy/rbac.yaml` grants exactly what the collector uses: read verbs on the five
//! resources and `get` on pods/log, nothing else, and every call the collector makes to
//! the fake API server (see [`crate::fake_api`]) is one the Role allows.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::collect::run_full_scenario;

const RBAC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/rbac.yaml"));

fn documents() -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(RBAC).expect("deploy/rbac.yaml parses")
}

/// (apiGroup, resource, verb) the Role grants.
fn granted() -> BTreeSet<(String, String, String)> {
    let role = documents().into_iter().find(|d| d["kind"] == "Role").expect("a Role");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.insert((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    granted
}

#[test]
fn the_role_grants_only_reads_on_the_five_resources_and_pod_logs() {
    let kinds: Vec<Value> = documents().iter().map(|d| d["kind"].clone()).collect();
    assert_eq!(kinds, ["ServiceAccount", "Role", "RoleBinding"]);
    let mut expected = BTreeSet::new();
    for (group, resource) in [
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("", "pods"),
        ("", "events"),
        ("events.k8s.io", "events"),
        ("autoscaling", "horizontalpodautoscalers"),
    ] {
        for verb in ["get", "list", "watch"] {
            expected.insert((group.to_owned(), resource.to_owned(), verb.to_owned()));
        }
    }
    expected.insert((String::new(), "pods/log".to_owned(), "get".to_owned()));
    assert_eq!(granted(), expected);
}

#[test]
fn the_binding_gives_the_role_to_the_witness_service_account() {
    let docs = documents();
    let account = docs.iter().find(|d| d["kind"] == "ServiceAccount").unwrap();
    let binding = docs.iter().find(|d| d["kind"] == "RoleBinding").unwrap();
    let role = docs.iter().find(|d| d["kind"] == "Role").unwrap();
    assert_eq!(account["metadata"]["name"], "witness");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(binding["metadata"]["namespace"], role["metadata"]["namespace"]);
    assert_eq!(binding["subjects"][0]["name"], "witness");
    assert_eq!(binding["subjects"][0]["namespace"], account["metadata"]["namespace"]);
}

#[tokio::test]
async fn every_call_the_collector_makes_is_allowed_by_the_role() {
    let requests = run_full_scenario().await;
    let granted = granted();
    assert!(requests.len() >= 6, "{requests:?}");
    assert!(requests.iter().any(|r| r.path.ends_with("/log")), "the pods' logs are read");
    for r in requests {
        let parts: Vec<&str> = r.path.trim_matches('/').split('/').collect();
        let (group, rest) = match parts.as_slice() {
            ["api", "v1", rest @ ..] => ("", rest),
            ["apis", group, _version, rest @ ..] => (*group, rest),
            _ => panic!("unexpected path {}", r.path),
        };
        let (resource, verb) = match rest {
            ["namespaces", _, resource] => ((*resource).to_owned(), "list"),
            ["namespaces", _, resource, _name] => ((*resource).to_owned(), "get"),
            ["namespaces", _, resource, _name, sub] => (format!("{resource}/{sub}"), "get"),
            _ => panic!("unexpected path {}", r.path),
        };
        assert_eq!(r.method, "GET");
        assert!(
            granted.contains(&(group.to_owned(), resource.clone(), verb.to_owned())),
            "{verb} {resource} (group {group:?}) is not granted by deploy/rbac.yaml"
        );
    }
}
