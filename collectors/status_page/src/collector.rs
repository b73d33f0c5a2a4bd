//! The `status_page` collector: reads one vendor's page in its format, judges it for the
//! service (see [`crate::assess`]) and writes the evidence.

use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use witness_collector::time::offset_label;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};
use witness_net::client::instance_client;

use crate::assess::{self, Assessment, ComponentFilter, Limits};
use crate::config::StatusPageConfig;
use crate::fetch::{Fetched, Fetcher};
use crate::formats::{self, ReadOptions};

/// Update texts longer than this are cut in the evidence (the artifact keeps them whole).
const MAX_UPDATE_CHARS: usize = 2000;

/// Reads one vendor's status page; built by [`StatusPageConfig`].
#[derive(Debug)]
pub struct StatusPageCollector {
    config: StatusPageConfig,
    filter: ComponentFilter,
}

impl StatusPageCollector {
    pub fn new(config: StatusPageConfig) -> Self {
        let filter = ComponentFilter::new(&config.components);
        Self { config, filter }
    }
}

/// The instance's findings, as written under `data` in its evidence file.
#[derive(Debug, Serialize)]
struct StatusPageData<'a> {
    vendor: &'a str,
    url: &'a str,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    components_filter: &'a [String],
    #[serde(flatten)]
    assessment: &'a Assessment,
    fetched: Vec<Fetched>,
}

#[async_trait]
impl Collector for StatusPageCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let config = &self.config;
        let client = instance_client(config.ca_file.clone()).await?;
        let fetcher = Fetcher {
            client,
            base_url: config.url.clone(),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            max_body_bytes: config.max_body_bytes,
            ctx,
            log: Default::default(),
        };
        let options = ReadOptions {
            page_id: config.page_id.as_deref(),
            recent_incidents: config.recent_incidents,
        };
        let reading = formats::read(config.format, &fetcher, options).await?;
        let page_name = reading.snapshot.page_name.clone();
        let description = reading.snapshot.description.clone();
        let components = reading.snapshot.components.clone();
        let assessment = assess::assess(
            reading.snapshot,
            &self.filter,
            ctx.anchor,
            ctx.window,
            Limits {
                max_updates_per_incident: config.max_updates_per_incident,
                max_update_chars: MAX_UPDATE_CHARS,
            },
        );

        let mut evidence = Evidence::ok(summary(&config.vendor, &assessment, ctx));
        evidence = assess::facts(evidence, &config.vendor, &assessment);
        evidence.events = assess::events(&config.vendor, &assessment, &self.filter, &components);
        for gap in reading.gaps {
            evidence.add_partial(gap);
        }
        for unmatched in &assessment.filter_unmatched {
            evidence.add_note(format!(
                "component filter entry `{unmatched}` matches no component on the page"
            ));
        }
        let fetched = fetcher.fetched();
        for doc in fetched.iter().filter(|f| f.artifact.is_none()) {
            evidence.add_note(format!(
                "{} ({} bytes) was read but not kept as an artifact (over {} bytes)",
                doc.url,
                doc.bytes,
                crate::fetch::MAX_ARTIFACT_BYTES
            ));
        }
        Ok(evidence.data(StatusPageData {
            vendor: &config.vendor,
            url: &config.url,
            format: config.format.as_str(),
            page_name,
            description,
            components_filter: &config.components,
            assessment: &assessment,
            fetched,
        }))
    }
}

/// One line: `GitHub: major; 1 unresolved incident (Degraded git operations, major,
/// investigating, began T-12m); 1 component not operational`.
fn summary(vendor: &str, a: &Assessment, ctx: &CollectContext) -> String {
    let mut parts = vec![match &a.indicator_reason {
        Some(reason) => format!("{vendor}: {reason}"),
        None => format!("{vendor}: {}", a.indicator),
    }];
    let unresolved: Vec<String> = a
        .incidents
        .iter()
        .filter(|v| v.unresolved)
        .map(|v| {
            let i = &v.incident;
            let began = i
                .began_at()
                .map(|b| format!(", began {}", offset_label(b, ctx.anchor)))
                .unwrap_or_default();
            format!("{}, {}, {}{began}", i.name, i.impact, i.status)
        })
        .collect();
    match unresolved.len() {
        0 => parts.push("no unresolved incident".into()),
        1 => parts.push(format!("1 unresolved incident ({})", unresolved[0])),
        n => parts.push(format!("{n} unresolved incidents ({})", unresolved.join("; "))),
    }
    match a.components_not_operational.len() {
        0 => {}
        1 => parts.push("1 component not operational".into()),
        n => parts.push(format!("{n} components not operational")),
    }
    if !a.maintenances_in_progress.is_empty() {
        parts.push(format!("{} maintenance in progress", a.maintenances_in_progress.len()));
    }
    parts.join("; ")
}
