//! The status-page formats witness reads, each turned into the one [`Snapshot`] model:
//! which documents a format has, where they are under the page's base URL, and how to
//! read them.

pub mod gcp;
pub mod instatus;
pub mod slack;
pub mod statusio;
pub mod statuspage;

use serde::Deserialize;
use witness_net::client::FailureKind;

use crate::fetch::{FetchError, Fetcher};
use crate::model::Snapshot;

/// The API a vendor's status page speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Atlassian Statuspage v2: `<url>/api/v2/summary.json` (GitHub, Atlassian, Twilio,
    /// Datadog, Cloudflare, ...).
    #[default]
    Statuspage,
    /// Slack's status API: `<url>/api/v2.0.0/current` (url `https://slack-status.com`).
    Slack,
    /// Google Cloud's `<url>/incidents.json` (url `https://status.cloud.google.com`).
    Gcp,
    /// status.io: `<url>/1.0/status/<page_id>` (url `https://api.status.io`).
    Statusio,
    /// Instatus: `<url>/summary.json`.
    Instatus,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Statuspage => "statuspage",
            Format::Slack => "slack",
            Format::Gcp => "gcp",
            Format::Statusio => "statusio",
            Format::Instatus => "instatus",
        }
    }
}

/// A page as read, with what could not be read.
#[derive(Debug)]
pub(crate) struct Reading {
    pub snapshot: Snapshot,
    /// What is missing and why; non-empty makes the evidence partial.
    pub gaps: Vec<String>,
}

impl Reading {
    fn whole(snapshot: Snapshot) -> Self {
        Self { snapshot, gaps: Vec::new() }
    }
}

/// What a read needs besides the format.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReadOptions<'a> {
    /// The status.io page id.
    pub page_id: Option<&'a str>,
    /// Also read Statuspage's recent incidents, resolved ones included.
    pub recent_incidents: bool,
}

/// Reads the page in `format`.
///
/// # Errors
/// A [`FetchError`] when the page could not be read at all.
pub(crate) async fn read(
    format: Format,
    fetcher: &Fetcher<'_>,
    options: ReadOptions<'_>,
) -> Result<Reading, FetchError> {
    let page_id = options.page_id;
    match format {
        Format::Statuspage => {
            let mut reading = read_statuspage(fetcher).await?;
            if options.recent_incidents {
                add_recent_incidents(fetcher, &mut reading).await;
            }
            Ok(reading)
        }
        Format::Slack => fetcher
            .get_parsed(slack::CURRENT, "current.json", slack::parse)
            .await
            .map(Reading::whole),
        Format::Gcp => fetcher
            .get_parsed(gcp::INCIDENTS, "incidents.json", gcp::parse)
            .await
            .map(Reading::whole),
        Format::Statusio => {
            let path = format!("1.0/status/{}", page_id.unwrap_or_default());
            fetcher.get_parsed(&path, "status.json", statusio::parse).await.map(Reading::whole)
        }
        Format::Instatus => fetcher
            .get_parsed(instatus::SUMMARY, "summary.json", instatus::parse)
            .await
            .map(Reading::whole),
    }
}

/// Adds the incidents of `incidents.json` (the 50 most recent, resolved ones included)
/// that the reading does not have yet, so an incident resolved just before the anchor
/// still reaches the timeline.
async fn add_recent_incidents(fetcher: &Fetcher<'_>, reading: &mut Reading) {
    match fetcher
        .get_parsed(statuspage::RECENT, "incidents.json", statuspage::parse_incidents)
        .await
    {
        Ok(recent) => {
            for incident in recent {
                if !reading.snapshot.incidents.iter().any(|i| i.id == incident.id) {
                    reading.snapshot.incidents.push(incident);
                }
            }
        }
        Err(e) => reading.gaps.push(format!("{e}; recently resolved incidents not seen")),
    }
}

/// `summary.json`, or when that one document is broken (an error status, a body that is
/// not the summary), `status.json` plus `incidents/unresolved.json`. When the host itself
/// cannot be reached (timeout, TLS, refused) the other documents would fail the same way,
/// so they are not tried.
async fn read_statuspage(fetcher: &Fetcher<'_>) -> Result<Reading, FetchError> {
    let summary_error = match fetcher
        .get_parsed(statuspage::SUMMARY, "summary.json", statuspage::parse_summary)
        .await
    {
        Ok(snapshot) => return Ok(Reading::whole(snapshot)),
        Err(e) => e,
    };
    if !matches!(
        summary_error.failure.kind,
        FailureKind::HttpStatus | FailureKind::Decode | FailureKind::Body
    ) {
        return Err(summary_error);
    }
    tracing::info!(error = %summary_error, "Status page summary unreadable; trying status and unresolved incidents.");
    let status =
        fetcher.get_parsed(statuspage::STATUS, "status.json", statuspage::parse_status).await;
    let incidents = fetcher
        .get_parsed(
            statuspage::UNRESOLVED,
            "incidents-unresolved.json",
            statuspage::parse_incidents,
        )
        .await;
    let mut gaps = vec![format!("{summary_error}; components and scheduled maintenance not seen")];
    let snapshot = match (status, incidents) {
        (Err(_), Err(_)) => return Err(summary_error),
        (Ok(status), Ok(incidents)) => Snapshot { incidents, ..status },
        (Ok(status), Err(e)) => {
            gaps.push(format!("{e}; unresolved incidents not seen"));
            status
        }
        (Err(e), Ok(incidents)) => {
            gaps.push(format!("{e}; the page's own indicator not seen"));
            Snapshot { incidents, ..Snapshot::default() }
        }
    };
    Ok(Reading { snapshot, gaps })
}

/// A document of `text` as the fetcher hands it over: parsed and redacted.
#[cfg(test)]
pub(crate) fn document(text: &str) -> crate::fetch::Document {
    crate::fetch::Document::read(text.as_bytes(), &witness_collector::Redactor::builtin())
        .expect("test documents are JSON")
}
