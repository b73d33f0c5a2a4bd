//! Pod logs read over real HTTP from the fake API server (see [`crate::fake_api`]: no real
//! API server can run here; the fake serves `pods/{pod}/log` as the kubelet does, with
//! kubelet timestamps, `previous` semantics and its 400s, `limitBytes` cut wherever it
//! falls, and bodies streamed in small chunks), through a real `kube::Client`.

use chrono::Duration;
use serde_json::{Value, json};
use witness_collector::{FactValue, Status};

use crate::collect::{artifacts, ctx, fact, run, setup};
use crate::fake_api::{ContainerLog, FakeApi, LogLine, Recorded};
use crate::fixtures::*;

fn log_requests(api: &FakeApi) -> Vec<Recorded> {
    api.requests().into_iter().filter(|r| r.path.ends_with("/log")).collect()
}

#[tokio::test]
async fn a_crash_loop_and_errors_only_on_the_new_revision_are_evidence_of_a_bad_deploy() {
    let s = setup().await;
    bad_deploy(&s.api);
    let ctx = ctx();
    let evidence = run(&s.config, &ctx).await.unwrap_or_else(|e| panic!("collect failed: {e}"));
    let json = serde_json::to_value(&evidence).unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    assert_eq!(fact(&evidence, "kubernetes.pod_logs_read"), FactValue::Int(4));
    assert_eq!(fact(&evidence, "kubernetes.errors_only_on_new_revision"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.errors_on_both_revisions"), FactValue::Bool(true));
    // Window T-30m..T+2m: revision 3's pods logged the shared error at T-20m and T-5m each;
    // revision 4's: three new ones, one shared, and the panic of the crashed instance.
    assert_eq!(fact(&evidence, "kubernetes.old_revision_errors"), FactValue::Int(4));
    assert_eq!(fact(&evidence, "kubernetes.new_revision_errors"), FactValue::Int(5));
    assert_eq!(fact(&evidence, "kubernetes.previous_log_errors"), FactValue::Int(1));
    assert_eq!(fact(&evidence, "kubernetes.pod_log_error_count"), FactValue::Int(9));
    let FactValue::List(only) = fact(&evidence, "kubernetes.new_revision_only_signatures") else {
        panic!("a list")
    };
    let only: Vec<String> = only.iter().map(|v| format!("{v:?}")).collect();
    assert_eq!(only.len(), 2, "{only:?}");
    assert!(only[0].contains("payment failed: column"), "most frequent first: {only:?}");
    assert!(
        only[1].contains("missing config PAYMENT_URL"),
        "the panic, its level left out: {only:?}"
    );
    // Revision 3's pods reach into the baseline, where the shared error was already logged.
    assert_eq!(fact(&evidence, "kubernetes.pod_log_new_signatures"), FactValue::Int(2));
    assert_eq!(fact(&evidence, "kubernetes.pod_log_new_error_count"), FactValue::Int(4));
    assert_eq!(
        fact(&evidence, "kubernetes.pod_log_first_new_error_offset_secs"),
        FactValue::Int(-9 * 60 + 30)
    );

    let logs = &json["data"]["deployments"][0]["pod_logs"];
    assert_eq!(logs["comparison"]["current_revision"], 4);
    assert_eq!(logs["comparison"]["older_revisions"], json!([3]));
    let revisions: Vec<(i64, bool, u64)> = logs["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_i64().unwrap(),
                r["current"].as_bool().unwrap(),
                r["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(revisions, [(4, true, 5), (3, false, 4)]);
    let formats: Vec<(&str, &str)> = logs["pods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["containers"].as_array().unwrap())
        .map(|c| (c["instance"].as_str().unwrap(), c["format"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        formats,
        [
            ("previous", "kubelet timestamps"),
            ("current", "kubelet timestamps (iso8601)"),
            ("current", "kubelet timestamps (json)"),
            ("current", "kubelet timestamps (iso8601)"),
        ],
        "revisions take turns, the current one first, pods in trouble first"
    );
    let crash = &logs["pods"][0]["containers"][0]["crash"];
    assert_eq!(crash["exit_code"], 2);
    assert_eq!(crash["reason"], "Error");
    assert!(
        crash["last_lines"].as_str().unwrap().starts_with("starting payment service"),
        "{crash}"
    );

    // The timeline: the crash output, the errors only on the new revision, the first error.
    let crash_event =
        evidence.events.iter().find(|e| e.kind == "crash_output").expect("crash_output event");
    assert_eq!(
        crash_event.title,
        "Crash output of pod web-r4-b container web (Error, exit 2): panic: missing config PAYMENT_URL"
    );
    assert_eq!(crash_event.time, t(-1, 0));
    assert_eq!(json.pointer(crash_event.pointer.as_deref().unwrap()).unwrap()["exit_code"], 2);
    let revision =
        evidence.events.iter().find(|e| e.kind == "revision_errors").expect("revision_errors");
    assert!(
        revision.title.starts_with("Errors only on revision 4's pods of prod/web: payment failed"),
        "{}",
        revision.title
    );
    assert_eq!(revision.time, t(-9, 30));
    assert!(json.pointer(revision.pointer.as_deref().unwrap()).is_some());
    let first = evidence.events.iter().find(|e| e.kind == "first_error").expect("first_error");
    assert_eq!(first.time, t(-20, 20));
    let new: Vec<&str> = evidence
        .events
        .iter()
        .filter(|e| e.kind == "new_signature")
        .map(|e| e.title.as_str())
        .collect();
    assert_eq!(new.len(), 2, "{new:?}");
    for e in &evidence.events {
        if let Some(pointer) = &e.pointer {
            assert!(json.pointer(pointer).is_some(), "{} points nowhere: {pointer}", e.kind);
        }
    }
    assert!(evidence.summary.contains("errors only on revision 4's pods"), "{}", evidence.summary);

    // What the client asked: kubelet timestamps, a limit, per container; the window from
    // its start, the baseline only of pods older than the window; only the previous
    // instance of the crash-looping container.
    let requests = log_requests(&s.api);
    assert!(requests.iter().all(|r| r.query.get("timestamps").map(String::as_str) == Some("true")));
    assert!(requests.iter().all(|r| r.query.get("container").map(String::as_str) == Some("web")));
    assert!(requests.iter().all(|r| r.query.contains_key("limitBytes")));
    let since = |pod: &str| -> Vec<(String, bool)> {
        let mut v: Vec<(String, bool)> = requests
            .iter()
            .filter(|r| r.path == format!("/api/v1/namespaces/prod/pods/{pod}/log"))
            .map(|r| (r.query["sinceTime"].clone(), r.query.contains_key("previous")))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        since("web-r3-a"),
        [("2025-11-19T19:58:00Z".to_owned(), false), ("2025-11-19T20:30:00Z".to_owned(), false)]
    );
    assert_eq!(since("web-r4-a"), [("2025-11-19T20:30:00Z".to_owned(), false)]);
    assert_eq!(since("web-r4-b"), [("2025-11-19T20:30:00Z".to_owned(), true)]);

    // The excerpt names each pod, the crash output is kept whole.
    let artifacts = artifacts(&ctx);
    let excerpt =
        &artifacts.iter().find(|(p, _)| p == "prod/web/pod-logs/excerpt.log").expect("excerpt").1;
    assert!(excerpt.contains("==> pod web-r4-a container web @"), "{excerpt}");
    assert!(excerpt.contains("does not exist"), "{excerpt}");
    let previous = &artifacts
        .iter()
        .find(|(p, _)| p == "prod/web/pod-logs/web-r4-b/web.previous.log")
        .expect("previous log")
        .1;
    assert!(previous.contains("Z panic: missing config PAYMENT_URL"), "{previous}");
}

#[tokio::test]
async fn the_same_errors_on_both_revisions_do_not_read_as_the_new_revisions_doing() {
    let s = setup().await;
    bad_deploy(&s.api);
    let shared = json_log(-11, 1, &[(-9, SHARED), (-6, SHARED)]);
    s.api.log("web-r4-a", "web", ContainerLog { current: Some(shared), previous: None });
    s.api.log(
        "web-r4-b",
        "web",
        ContainerLog { current: Some(Vec::new()), previous: Some(Vec::new()) },
    );
    let evidence = run(&s.config, &ctx()).await.unwrap();

    assert_eq!(fact(&evidence, "kubernetes.errors_only_on_new_revision"), FactValue::Bool(false));
    assert_eq!(fact(&evidence, "kubernetes.errors_on_both_revisions"), FactValue::Bool(true));
    assert_eq!(fact(&evidence, "kubernetes.pod_log_new_signatures"), FactValue::Int(0));
    assert!(evidence.events.iter().all(|e| e.kind != "revision_errors"));
    assert!(
        evidence.summary.contains("the same errors on the older revision's pods"),
        "{}",
        evidence.summary
    );
}

#[tokio::test]
async fn previous_is_asked_only_after_a_restart_and_a_missing_one_is_no_log_not_a_failure() {
    let s = setup().await;
    s.api.add("deployments", [deployment("web", DEPLOYMENT_UID, "web:1.4.2", 3)]);
    s.api.add("replicasets", [replica_set("r3", 3, "web:1.4.2", -3 * 24 * 60, 2)]);
    // Restarted at T-7m, but its previous instance is gone from the node: the kubelet
    // answers 400 "previous terminated container ... not found".
    let mut restarted = pod("web-r3-a", "r3", "web:1.4.2", -180);
    restarted["status"]["containerStatuses"][0]["restartCount"] = json!(1);
    restarted["status"]["containerStatuses"][0]["state"] =
        json!({"running": {"startedAt": at(-7)}});
    restarted["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": at(-100), "finishedAt": at(-7)}});
    s.api.add("pods", [restarted, pod("web-r3-b", "r3", "web:1.4.2", -180)]);
    s.api.log(
        "web-r3-a",
        "web",
        ContainerLog { current: Some(app_log(-7, 1, &[], "")), previous: None },
    );
    let evidence = run(&s.config, &ctx()).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    assert_eq!(evidence.status, Status::Ok, "{:?}", evidence.notes);
    let previous: Vec<Recorded> =
        log_requests(&s.api).into_iter().filter(|r| r.query.contains_key("previous")).collect();
    assert_eq!(previous.len(), 1, "only the restarted container's previous instance");
    assert_eq!(previous[0].path, "/api/v1/namespaces/prod/pods/web-r3-a/log");
    let containers = &json["data"]["deployments"][0]["pod_logs"]["pods"][0]["containers"];
    assert_eq!(containers[1]["instance"], "previous");
    assert_eq!(
        containers[1]["note"],
        "previous terminated container \"web\" in pod \"web-r3-a\" not found"
    );
    // The current instance started in the window: no baseline to read, and none asked for.
    assert_eq!(containers[0]["baseline"], "started in the window: no baseline");
    assert_eq!(fact(&evidence, "kubernetes.pod_logs_read"), FactValue::Int(2));
    assert_eq!(fact(&evidence, "kubernetes.previous_log_errors"), FactValue::Int(0));
    // With one revision running there is nothing to compare: the facts are absent.
    assert!(!evidence.facts.contains_key("kubernetes.errors_only_on_new_revision"));
}

#[tokio::test]
async fn limit_bytes_cuts_mid_line_the_partial_line_is_dropped_and_the_crash_is_read_from_its_tail()
{
    let mut s = setup().await;
    s.config.pod_log_max_bytes = 4096;
    bad_deploy(&s.api);
    // A chatty crashed instance: 200 lines before its panic.
    let mut crash: Vec<LogLine> = (0..200)
        .map(|i| {
            (
                t(-5, 0) + Duration::milliseconds(i * 10),
                format!("warming cache shard {i:04} of 0200"),
            )
        })
        .collect();
    crash.push((t(-1, 58), "panic: cache warmup failed".to_owned()));
    s.api.log("web-r4-b", "web", ContainerLog { current: None, previous: Some(crash) });
    let ctx = ctx();
    let evidence = run(&s.config, &ctx).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    let cut_note = evidence
        .notes
        .iter()
        .find(|n| {
            n.starts_with("the log of pod web-r4-b container web (previous) was cut at 4096 bytes")
        })
        .unwrap_or_else(|| panic!("{:?}", evidence.notes));
    assert!(cut_note.ends_with("and the partial line at the cut was dropped"), "{cut_note}");
    let requests = log_requests(&s.api);
    let tail = requests
        .iter()
        .find(|r| r.path.ends_with("/web-r4-b/log") && r.query.contains_key("tailLines"))
        .expect("the crashed instance's tail is read");
    assert_eq!(tail.query["previous"], "true");
    let containers = &json["data"]["deployments"][0]["pod_logs"]["pods"][0]["containers"];
    assert_eq!(containers[0]["cut"], true);
    assert_eq!(containers[0]["baseline"], "started in the window: no baseline");
    let crash = evidence.events.iter().find(|e| e.kind == "crash_output").unwrap();
    assert!(crash.title.ends_with("panic: cache warmup failed"), "{}", crash.title);
    assert_eq!(fact(&evidence, "kubernetes.previous_log_errors"), FactValue::Int(1));
    // No line of the excerpt or the crash tail is a line cut short.
    for (path, text) in artifacts(&ctx) {
        if path.ends_with(".log") {
            for line in text.lines().filter(|l| l.contains("warming cache shard")) {
                assert!(line.ends_with(" of 0200"), "{path}: a partial line: {line}");
            }
        }
    }
}

#[tokio::test]
async fn a_403_on_pods_log_is_partial_names_the_permission_and_keeps_the_rest() {
    let s = setup().await;
    bad_deploy(&s.api);
    s.api.forbid("pods/log");
    let evidence = run(&s.config, &ctx()).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    assert_eq!(evidence.status, Status::Partial);
    assert_eq!(
        json["data"]["forbidden"],
        json!([{"verb": "get", "resource": "pods/log", "namespace": "prod"}])
    );
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with("forbidden: cannot get pods/log in namespace prod")),
        "{:?}",
        evidence.notes
    );
    assert_eq!(log_requests(&s.api).len(), 1, "no further log is asked for once one is denied");
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(4));
    assert_eq!(fact(&evidence, "kubernetes.pod_logs_read"), FactValue::Int(0));
    assert!(!evidence.facts.contains_key("kubernetes.pod_log_error_count"), "absent, not 0");
}

#[tokio::test]
async fn the_byte_budget_and_the_pod_cap_are_said_in_the_evidence() {
    let mut s = setup().await;
    s.config.pod_log_max_pods = 3;
    s.config.pod_log_max_bytes = 2048;
    s.config.pod_log_max_total_bytes = 4096;
    bad_deploy(&s.api);
    let evidence = run(&s.config, &ctx()).await.unwrap();
    let json = serde_json::to_value(&evidence).unwrap();

    assert!(
        evidence.notes.iter().any(|n| n
            == "read the logs of 3 of 4 pods of prod/web (pod_log_max_pods); not read: web-r3-b"),
        "{:?}",
        evidence.notes
    );
    assert!(
        evidence
            .notes
            .iter()
            .any(|n| n.starts_with("pod logs: pod_log_max_total_bytes (4096) was reached")),
        "{:?}",
        evidence.notes
    );
    let read: u64 = json["data"]["deployments"][0]["pod_logs"]["bytes_read"].as_u64().unwrap();
    assert!(read <= 4096, "read {read} bytes past the total");
    assert_eq!(json["data"]["deployments"][0]["pod_logs"]["pods_not_read"], json!(["web-r3-b"]));
}

#[tokio::test]
async fn pod_logs_off_reads_no_log() {
    let mut s = setup().await;
    s.config.pod_logs = false;
    bad_deploy(&s.api);
    let evidence = run(&s.config, &ctx()).await.unwrap();
    assert!(log_requests(&s.api).is_empty());
    assert!(evidence.facts.keys().all(|k| !k.contains("pod_log")), "{:?}", evidence.facts.keys());
    let json = serde_json::to_value(&evidence).unwrap();
    assert_eq!(json["data"]["deployments"][0]["pod_logs"], Value::Null);
}

#[tokio::test]
async fn a_log_read_that_hangs_is_abandoned_before_the_deadline_and_the_rest_is_evidence() {
    let s = setup().await;
    bad_deploy(&s.api);
    s.api.hang_on("pods/log");
    let mut ctx = ctx();
    ctx.deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(4);
    let started = std::time::Instant::now();
    let evidence =
        run(&s.config, &ctx).await.expect("the objects were read: evidence, not a failure");
    let elapsed = started.elapsed();

    assert!(elapsed < std::time::Duration::from_secs(4), "took {elapsed:?} past a 4 s deadline");
    assert_eq!(evidence.status, Status::Partial);
    assert!(
        evidence.notes.iter().any(|n| n == "the log of pod web-r4-b container web (previous) was not read: the collector's deadline was near"),
        "{:?}",
        evidence.notes
    );
    assert_eq!(log_requests(&s.api).len(), 1, "the first read hung; no other was started");
    assert_eq!(fact(&evidence, "kubernetes.current_revision"), FactValue::Int(4));
    assert!(!evidence.facts.contains_key("kubernetes.pod_log_error_count"), "absent, not 0");
}

/// The fake streams log bodies as the kubelet does, in chunks without a length, so the
/// collector's reads above put lines together across chunks.
#[tokio::test]
async fn log_bodies_are_streamed_in_chunks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let s = setup().await;
    bad_deploy(&s.api);
    let mut stream = tokio::net::TcpStream::connect(s.api.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/namespaces/prod/pods/web-r3-a/log?container=web&timestamps=true HTTP/1.1\r\n\
         Host: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        s.api.addr,
        crate::fake_api::TOKEN
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the fake answers")
        .unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.to_ascii_lowercase().contains("transfer-encoding: chunked"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("content-length"), "{head}");
    // Chunks of the body, their sizes taken off; some end inside a line.
    let mut chunks = Vec::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        chunks.push(&after[..size]);
        rest = &after[size + 2..];
    }
    assert!(chunks.len() > 10, "{chunks:?}");
    assert!(chunks.iter().any(|c| !c.ends_with('\n')), "a line spans chunks");
    let text: String = chunks.concat();
    assert!(
        text.starts_with(
            "2025-11-19T19:50:00Z 2025-11-19 19:50:00,000 INFO app: GET /checkout 200\n"
        ),
        "{text}"
    );
}
