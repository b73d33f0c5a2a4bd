//! The deploy/ files: every Kubernetes manifest validates offline against the Kubernetes
//! OpenAPI schema (`kubernetes-validate --strict`, path in
//! `WITNESS_TEST_KUBERNETES_VALIDATE`, installed by tests/run.sh), a broken one does not;
//! the Alertmanager snippet passes `amtool check-config`; the sidecar's witness.toml is a
//! valid witness config.

use std::path::{Path, PathBuf};
use std::process::Command;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn validator() -> String {
    std::env::var("WITNESS_TEST_KUBERNETES_VALIDATE")
        .unwrap_or_else(|_| "kubernetes-validate".into())
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    Command::new(validator())
        .arg("--strict")
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run kubernetes-validate ({e}): pip install kubernetes-validate, or run tests/run.sh")
        })
}

#[test]
fn kubernetes_manifests_validate_against_the_openapi_schema() {
    let files: Vec<PathBuf> =
        ["sidecar.yaml", "service.yaml", "rbac.yaml"].iter().map(|f| deploy().join(f)).collect();
    let output = validate(&files);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    for kind in ["configmap/witness-config", "deployment/checkout", "service/witness"] {
        assert!(
            text.contains(&format!("passed for resource {kind}")),
            "{kind} was not validated:\n{text}"
        );
    }

    // The validator does catch a mistake (so the check above can fail).
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    let sidecar = std::fs::read_to_string(deploy().join("sidecar.yaml")).unwrap();
    std::fs::write(
        &broken,
        sidecar.replace(
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: true\n            readOnlyRootFs: true",
        ),
    )
    .unwrap();
    assert!(!validate(&[broken]).status.success(), "an unknown field must fail validation");
}

#[test]
fn the_sidecar_mounts_logs_read_only_and_probes_the_endpoints() {
    let sidecar = std::fs::read_to_string(deploy().join("sidecar.yaml")).unwrap();
    for needle in [
        "{name: app-logs, mountPath: /var/log/app, readOnly: true}",
        "httpGet: {path: /healthz, port: witness}",
        "httpGet: {path: /readyz, port: witness}",
        "serviceAccountName: witness",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
    ] {
        assert!(sidecar.contains(needle), "sidecar.yaml lacks {needle:?}");
    }
}

#[test]
fn the_alertmanager_snippet_passes_amtool() {
    let output = Command::new("amtool")
        .args(["check-config"])
        .arg(deploy().join("alertmanager.yml"))
        .output()
        .expect("amtool runs (Debian package prometheus-alertmanager)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    let text = std::fs::read_to_string(deploy().join("alertmanager.yml")).unwrap();
    assert!(text.contains("/hooks/alertmanager") && text.contains("type: Bearer"));
}

#[test]
fn the_sidecar_config_is_a_valid_witness_config() {
    let sidecar = std::fs::read_to_string(deploy().join("sidecar.yaml")).unwrap();
    let start = sidecar.find("witness.toml: |\n").expect("the ConfigMap holds witness.toml")
        + "witness.toml: |\n".len();
    let toml: String = sidecar[start..]
        .lines()
        .take_while(|l| l.starts_with("    ") || l.is_empty())
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    // The logs collector is an optional feature: without it, check the rest.
    let toml = if cfg!(feature = "logs") {
        toml
    } else {
        toml.split("[[collectors.logs]]").next().unwrap().to_owned()
    };
    if let Err(e) =
        witness::config::WitnessConfig::parse(&toml, Path::new("sidecar.yaml:witness.toml"))
    {
        panic!("{e}\n---\n{toml}");
    }
}
