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
    let files: Vec<PathBuf> = ["sidecar.yaml", "service.yaml", "rbac.yaml", "fleet.yaml"]
        .iter()
        .map(|f| deploy().join(f))
        .collect();
    let output = validate(&files);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    for kind in [
        "configmap/witness-config",
        "deployment/checkout",
        "service/witness",
        "configmap/witness-fleet-config",
        "service/witness-fleet",
        "statefulset/witness",
    ] {
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
    check_embedded_config("sidecar.yaml");
}

/// The fleet's config names its store, credentials and coordinator as files (from
/// Secrets), and is a valid witness config.
#[test]
fn the_fleet_config_is_a_valid_witness_config_with_its_secrets_in_files() {
    let fleet = std::fs::read_to_string(deploy().join("fleet.yaml")).unwrap();
    for needle in [
        "url = \"s3://",
        "access_key_id_file = \"/etc/witness/store/access_key_id\"",
        "coordinator_file = \"/etc/witness/coordinator/dsn\"",
        "secret: {secretName: witness-store",
        "replicas: 2",
        "volumeClaimTemplates:",
    ] {
        assert!(fleet.contains(needle), "fleet.yaml lacks {needle:?}");
    }
    check_embedded_config("fleet.yaml");
}

/// The witness.toml of the ConfigMap in deploy/`file` parses and validates.
fn check_embedded_config(file: &str) {
    let sidecar = std::fs::read_to_string(deploy().join(file)).unwrap();
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
        witness::config::WitnessConfig::parse(&toml, Path::new(&format!("{file}:witness.toml")))
    {
        panic!("{e}\n---\n{toml}");
    }
}
