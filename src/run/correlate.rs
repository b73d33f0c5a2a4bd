//! Correlation, the step of a run after gathering: what one collector saw that another can
//! use. Collectors run in parallel and never see each other's evidence; the few links
//! between them are made here, after they ran. A link that needs collectors to run again
//! asks [`gather`] for it, like the run does; it never reaches inside gathering.
//!
//! Today there is one: the deployed revision. When the alert names none, the image tag
//! the `kubernetes` collector found running (`checkout:3f2a9c1`, `checkout:v1.4.2`) is
//! often the commit or tag that was deployed, so the `git` instances run again with it as
//! the `revision` label, which gives the diff between the previous deploy and that one.
//! The second run replaces the first only when it found that revision in the repository.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use witness_collector::FactValue;

use super::gather::{CollectorOutcome, Progress, Scope, gather};
use super::plan::{Planned, PlannedCollector};

/// Alert labels the `git` collector reads the deployed revision from by default.
const REVISION_LABELS: &[&str] = &["revision", "commit", "sha", "version"];

/// The instances of `plan` that can use a deployed revision (`git`), to run again.
pub fn rerunnable(plan: &[PlannedCollector]) -> Vec<PlannedCollector> {
    plan.iter()
        .filter(|p| p.kind == "git")
        .filter_map(|p| match &p.action {
            Planned::Run(collector) => Some(PlannedCollector {
                kind: p.kind,
                name: p.name.clone(),
                timeout: p.timeout,
                action: Planned::Run(Arc::clone(collector)),
            }),
            Planned::BuildFailed(_) | Planned::Skip(_) => None,
        })
        .collect()
}

/// The tag of an image reference (`registry:5000/shop/web:v1.4.2@sha256:…` → `v1.4.2`),
/// when it can name a revision: not `latest`, not empty.
fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next()?;
    let last_segment = without_digest.rsplit('/').next()?;
    let (_, tag) = last_segment.split_once(':')?;
    let usable = !tag.is_empty()
        && tag != "latest"
        && tag.len() <= 128
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    usable.then_some(tag)
}

/// The image tag the kubernetes evidence says is running, with where it came from.
fn deployed_image_tag(outcomes: &[CollectorOutcome]) -> Option<(String, String)> {
    outcomes
        .iter()
        .filter(|o| o.record.kind == "kubernetes" && o.record.status().has_evidence())
        .find_map(|o| {
            let Some(FactValue::List(images)) =
                o.record.evidence.facts.get("kubernetes.current_images")
            else {
                return None;
            };
            images.iter().find_map(|image| match image {
                FactValue::Text(image) => image_tag(image).map(|tag| {
                    (tag.to_owned(), format!("image {image} of kubernetes/{}", o.record.name))
                }),
                _ => None,
            })
        })
}

/// Runs the `git` instances again with the deployed image's tag as their `revision`
/// label, when the alert named no revision, and keeps each new result that found it.
pub async fn deployed_revision_from_images(
    outcomes: &mut [CollectorOutcome],
    git: Vec<PlannedCollector>,
    scope: &Scope,
    cancel: &CancellationToken,
    progress: &dyn Progress,
) {
    if git.is_empty() || REVISION_LABELS.iter().any(|l| scope.trigger.labels.contains_key(*l)) {
        return;
    }
    let Some((tag, source)) = deployed_image_tag(outcomes) else { return };
    let mut scope = scope.clone();
    scope.trigger.labels.insert("revision".into(), tag.clone());
    for mut rerun in gather(git, &scope, cancel, progress).await {
        let Some(slot) = outcomes
            .iter_mut()
            .find(|o| o.record.kind == rerun.record.kind && o.record.name == rerun.record.name)
        else {
            continue;
        };
        if rerun.record.evidence.facts.contains_key("git.deployed_revision")
            && rerun.record.status().has_evidence()
        {
            rerun
                .record
                .evidence
                .add_note(format!("deployed revision {tag} taken from the {source}"));
            *slot = rerun;
        } else {
            slot.record.evidence.add_note(format!(
                "the {source} has the tag {tag}, which this repository does not know as a commit or tag"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_that_can_name_a_revision() {
        assert_eq!(image_tag("registry.example.com/checkout:v42"), Some("v42"));
        assert_eq!(image_tag("registry:5000/shop/web:3f2a9c1@sha256:abcd"), Some("3f2a9c1"));
        assert_eq!(image_tag("registry:5000/shop/web"), None, "a registry port is not a tag");
        assert_eq!(image_tag("web:latest"), None);
        assert_eq!(image_tag("web:$(id)"), None);
        assert_eq!(image_tag("web@sha256:abcd"), None);
    }
}
