//! The commands a responder may run after reading the evidence: roll back to the previous
//! revision, scale up, watch the rollout. witness never runs them. Names come from the
//! cluster and the alert, so they are checked against the Kubernetes naming rules
//! (DNS-1123) and shell-quoted before they are put into a command line.

use serde::Serialize;

/// One suggested command line and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuggestedCommand {
    /// `rollback`, `scale_up`, `rollout_status`, `raise_hpa_max`.
    pub purpose: &'static str,
    pub command: String,
}

pub use witness_collector::shell::{is_dns1123_label, is_dns1123_subdomain, shell_quote};

/// What the commands are about.
pub struct CommandTarget<'a> {
    pub namespace: &'a str,
    pub deployment: &'a str,
    /// The kubeconfig context configured for this instance, if any.
    pub context: Option<&'a str>,
    pub previous_revision: Option<i64>,
    pub spec_replicas: Option<i32>,
    /// The HPA targeting the Deployment: its name and `maxReplicas`.
    pub hpa: Option<(&'a str, i32)>,
}

/// The suggested commands for one Deployment, or why there are none.
///
/// # Errors
/// A message naming the value that is not a valid Kubernetes name.
pub fn suggest(target: &CommandTarget<'_>) -> Result<Vec<SuggestedCommand>, String> {
    if !is_dns1123_label(target.namespace) {
        return Err(format!("namespace {:?} is not a valid name", target.namespace));
    }
    if !is_dns1123_subdomain(target.deployment) {
        return Err(format!("deployment {:?} is not a valid name", target.deployment));
    }
    let kubectl = |args: String| {
        let context =
            target.context.map(|c| format!(" --context {}", shell_quote(c))).unwrap_or_default();
        format!("kubectl{context} {args} -n {}", shell_quote(target.namespace))
    };
    let deployment = shell_quote(&format!("deployment/{}", target.deployment));
    let mut commands = Vec::new();
    if let Some(previous) = target.previous_revision {
        commands.push(SuggestedCommand {
            purpose: "rollback",
            command: format!(
                "{} --to-revision={previous}",
                kubectl(format!("rollout undo {deployment}"))
            ),
        });
    }
    match (target.hpa, target.spec_replicas) {
        // Under an HPA a manual scale is undone at its next sync: raise its ceiling instead.
        (Some((hpa, max)), _) if is_dns1123_subdomain(hpa) => {
            let patch = format!(r#"{{"spec":{{"maxReplicas":{}}}}}"#, scale_up(max));
            commands.push(SuggestedCommand {
                purpose: "raise_hpa_max",
                command: format!(
                    "{} -p {}",
                    kubectl(format!("patch {}", shell_quote(&format!("hpa/{hpa}")))),
                    shell_quote(&patch)
                ),
            });
        }
        (_, Some(replicas)) => commands.push(SuggestedCommand {
            purpose: "scale_up",
            command: format!(
                "{} --replicas={}",
                kubectl(format!("scale {deployment}")),
                scale_up(replicas)
            ),
        }),
        _ => {}
    }
    commands.push(SuggestedCommand {
        purpose: "rollout_status",
        command: kubectl(format!("rollout status {deployment}")),
    });
    Ok(commands)
}

/// Half as many again, at least one more.
fn scale_up(replicas: i32) -> i32 {
    let replicas = replicas.max(1);
    (replicas + (replicas + 1) / 2).max(replicas + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>() -> CommandTarget<'a> {
        CommandTarget {
            namespace: "prod",
            deployment: "web",
            context: None,
            previous_revision: Some(2),
            spec_replicas: Some(3),
            hpa: None,
        }
    }

    #[test]
    fn commands_name_revision_replicas_and_context() {
        let commands =
            suggest(&CommandTarget { context: Some("prod cluster"), ..target() }).unwrap();
        let lines: Vec<&str> = commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(
            lines,
            [
                "kubectl --context 'prod cluster' rollout undo deployment/web -n prod --to-revision=2",
                "kubectl --context 'prod cluster' scale deployment/web -n prod --replicas=5",
                "kubectl --context 'prod cluster' rollout status deployment/web -n prod",
            ]
        );
    }

    #[test]
    fn an_hpa_gets_its_ceiling_raised_instead_of_a_scale() {
        let commands = suggest(&CommandTarget { hpa: Some(("web", 10)), ..target() }).unwrap();
        assert_eq!(
            commands[1].command,
            r#"kubectl patch hpa/web -n prod -p '{"spec":{"maxReplicas":15}}'"#
        );
    }

    #[test]
    fn invalid_names_get_no_command() {
        let err = suggest(&CommandTarget { deployment: "web; reboot", ..target() }).unwrap_err();
        assert!(err.contains("not a valid name"), "{err}");
    }
}
