//! Reading one container log over the API: `GET /api/v1/namespaces/{ns}/pods/{pod}/log`
//! with `container`, `previous`, `sinceTime`, `timestamps=true` and `limitBytes`, streamed
//! (the kubelet answers in chunks) into memory that never grows past the limit, whatever
//! the server sends. Reading stops at the limit, at the first line dated at or after
//! `until` (the baseline's read stops where the window begins), or at the end. A read cut
//! at the limit ends inside a line: that partial line is dropped, and the read says so.
//!
//! The kubelet answers 400 when there is no such log: no previous instance ("previous
//! terminated container \"web\" in pod \"web-1\" not found") or a container that never
//! started ("is waiting to start"). That is an answer, "no log", not a failure.
//!
//! Nothing is redacted here except the server's own messages: the lines go to the
//! analysis raw, which redacts each line that becomes evidence whole, as it does a file's.

use chrono::{DateTime, Utc};
use futures::AsyncBufReadExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::LogParams;
use witness_log_analysis::timestamp::kubelet;

use crate::api::{Call, Cluster, KubernetesError};

/// One read of a container's log.
#[derive(Debug, Clone)]
pub struct LogRequest<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: &'a str,
    pub previous: bool,
    /// `sinceTime` (whole seconds, rounded down: the kubelet reads no fraction).
    pub since: DateTime<Utc>,
    /// Lines dated at or after this are not kept, and reading stops at the first.
    pub until: DateTime<Utc>,
    /// `limitBytes`, and the most bytes kept whatever the server sends.
    pub limit_bytes: u64,
    /// `tailLines`: only the last lines (a crashed instance's last words).
    pub tail_lines: Option<i64>,
}

/// What a read gave.
#[derive(Debug, Clone, Default)]
pub struct LogBody {
    /// Whole lines, as the kubelet served them.
    pub bytes: Vec<u8>,
    /// The limit was reached: the lines after these were not read.
    pub cut: bool,
    /// Bytes of the partial line dropped at the cut.
    pub partial_dropped: usize,
}

/// A log, or the kubelet's word that there is none.
#[derive(Debug, Clone)]
pub enum LogAnswer {
    Body(LogBody),
    /// No such log (the kubelet's message, redacted).
    Absent(String),
}

/// Reads one container log.
///
/// # Errors
/// A [`KubernetesError`] for `get pods/log` (403 names the missing permission, 404 a pod
/// that is gone, timeouts and cancellation as for every call).
pub async fn read(cluster: &Cluster, request: &LogRequest<'_>) -> Result<LogAnswer, KubernetesError> {
    let api = cluster.api::<Pod>(request.namespace);
    let since = Timestamp::from_second(request.since.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH);
    let params = LogParams {
        container: Some(request.container.to_owned()),
        previous: request.previous,
        since_time: Some(since),
        timestamps: true,
        limit_bytes: Some(i64::try_from(request.limit_bytes).unwrap_or(i64::MAX)),
        tail_lines: request.tail_lines,
        ..LogParams::default()
    };
    let call = Call::pod_log(request.namespace, request.pod);
    cluster
        .run(&call, async {
            let stream = match api.log_stream(request.pod, &params).await {
                Ok(stream) => stream,
                Err(kube::Error::Api(status)) if status.code == 400 => {
                    let message = cluster.redactor().redact(&status.message).into_string();
                    return Ok(LogAnswer::Absent(message));
                }
                Err(e) => return Err(e),
            };
            let body = collect(stream, request.until, request.limit_bytes)
                .await
                .map_err(kube::Error::ReadEvents)?;
            Ok(LogAnswer::Body(body))
        })
        .await
}

/// Reads `stream` into memory up to `limit` bytes, stopping at the first line dated at or
/// after `until`.
async fn collect(
    stream: impl futures::AsyncBufRead,
    until: DateTime<Utc>,
    limit: u64,
) -> std::io::Result<LogBody> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut stream = std::pin::pin!(stream);
    let mut bytes: Vec<u8> = Vec::new();
    // Lines before this offset are whole and dated before `until`.
    let mut checked = 0;
    let mut cut = false;
    loop {
        let chunk = stream.fill_buf().await?;
        if chunk.is_empty() {
            break;
        }
        let take = chunk.len().min(limit - bytes.len());
        bytes.extend_from_slice(&chunk[..take]);
        let consumed = chunk.len();
        stream.consume_unpin(consumed);
        while let Some(nl) = bytes[checked..].iter().position(|c| *c == b'\n') {
            if kubelet::time_of(&bytes[checked..checked + nl]).is_some_and(|t| t >= until) {
                bytes.truncate(checked);
                return Ok(LogBody { bytes, cut: false, partial_dropped: 0 });
            }
            checked += nl + 1;
        }
        if bytes.len() >= limit {
            cut = true;
            break;
        }
    }
    // A last line without its newline: dropped when the limit cut it, kept (unless dated
    // past `until`) when the container wrote it so.
    let partial = bytes.len() - checked;
    if partial > 0
        && (cut || kubelet::time_of(&bytes[checked..]).is_some_and(|t| t >= until))
    {
        bytes.truncate(checked);
        let dropped = if cut { partial } else { 0 };
        return Ok(LogBody { bytes, cut, partial_dropped: dropped });
    }
    Ok(LogBody { bytes, cut, partial_dropped: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn until() -> DateTime<Utc> {
        "2025-11-19T20:30:00Z".parse().unwrap()
    }

    async fn read_all(body: &str, limit: u64) -> LogBody {
        collect(futures::io::Cursor::new(body.as_bytes().to_vec()), until(), limit).await.unwrap()
    }

    #[tokio::test]
    async fn a_read_stops_at_the_first_line_past_until() {
        let body = read_all(
            "2025-11-19T20:29:59.9Z a\n2025-11-19T20:30:00Z b\n2025-11-19T20:30:01Z c\n",
            1 << 20,
        )
        .await;
        assert_eq!(String::from_utf8(body.bytes).unwrap(), "2025-11-19T20:29:59.9Z a\n");
        assert!(!body.cut);
    }

    #[tokio::test]
    async fn a_cut_mid_line_drops_the_partial_line_and_says_so() {
        let text = "2025-11-19T20:00:00Z first line\n2025-11-19T20:00:01Z second line\n";
        let body = read_all(text, 40).await;
        assert_eq!(String::from_utf8(body.bytes).unwrap(), "2025-11-19T20:00:00Z first line\n");
        assert!(body.cut);
        assert_eq!(body.partial_dropped, 40 - 32);
        // The container's own last line without a newline is kept when nothing cut it.
        let body = read_all("2025-11-19T20:00:00Z last words", 1 << 20).await;
        assert_eq!(body.bytes, b"2025-11-19T20:00:00Z last words");
        assert!(!body.cut);
    }
}
