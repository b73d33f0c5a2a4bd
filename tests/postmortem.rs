//! `witness postmortem` over real bundles, one per scenario class witness diagnoses: a
//! new error after which the fix took (logs, with its follow-up), a bad deploy (a
//! Deployment and its pods' logs through the fake Kubernetes API server of the kubernetes
//! crate's tests, which speaks the real HTTP API: no API server can run here), an
//! autoscaler at its ceiling (the same), a vendor down (a Statuspage site served here), and
//! lock contention (a real PostgreSQL). Each bundle is made by `witness collect`; each
//! draft, Markdown and HTML, is checked line by line:
//!
//! - every ref it writes (`` [`file#pointer`] ``, `<cite class="ref">`) resolves in the
//!   bundle it names: the file is there and the JSON pointer leads somewhere;
//! - every line that is not a heading, a note (`>`), a table's head or a blank for the team
//!   (`✎ … ______`) is a statement and ends with its refs;
//! - the HTML states the same things with the same refs, is valid (Nu validator, offline),
//!   and renders in Chromium without a single request.
//!
//! A bundle that changed since its seal is refused with one error and nothing written; a
//! follow-up of another incident is refused; `--out` never lands inside a bundle.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use regex::Regex;
use serde_json::Value;

use crate::util::fake_api::{ContainerLog, FakeApi};
use crate::util::{copy_tree, fixtures, make_writable, only_entry, text, witness};

/// Runs witness in `dir`; fails the test unless it succeeds.
pub(crate) fn ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let output = witness(dir, args);
    assert!(output.status.success(), "witness {args:?}: {}", text(&output));
    output
}

/// `collect` with `args` and `config` written as `dir/witness.toml`, into `dir/<store>`;
/// returns the sealed bundle.
pub(crate) fn collect(dir: &Path, store: &str, config: &str, args: &[&str]) -> PathBuf {
    std::fs::write(dir.join("witness.toml"), config).unwrap();
    let out = dir.join(store);
    let mut all = vec!["collect"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--config", "witness.toml", "--out", out.to_str().unwrap()]);
    let output = ok(dir, &all);
    let summary = String::from_utf8_lossy(&output.stdout).into_owned();
    let bundle = summary
        .lines()
        .find_map(|l| l.strip_prefix("bundle: "))
        .unwrap_or_else(|| panic!("no bundle line: {summary}"));
    PathBuf::from(bundle)
}

/// `collect` run off the async threads (the fake servers live on them).
async fn collect_blocking(dir: &Path, config: String, args: Vec<String>) -> PathBuf {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        collect(&dir, "store", &config, &args)
    })
    .await
    .unwrap()
}

/// The hypotheses the bundle sealed.
pub(crate) fn hypotheses(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("hypotheses.json")).unwrap()).unwrap()
}

/// A logs-only incident and its follow-up: a new error three times a second from 10 to 2
/// minutes ago, gone since; the alert two minutes ago; the follow-up says the fix was a
/// minute ago.
/// `extra` lines join the log in time order; `service` labels the run.
pub(crate) fn new_error_with_follow_up(
    dir: &Path,
    service: &str,
    extra: &[String],
) -> (PathBuf, PathBuf) {
    crate::follow_up::app_log(&dir.join("app.log"));
    if !extra.is_empty() {
        let log = std::fs::read_to_string(dir.join("app.log")).unwrap();
        let mut lines: Vec<&str> = log.lines().chain(extra.iter().map(String::as_str)).collect();
        // RFC 3339 times in UTC sort as text.
        lines.sort();
        std::fs::write(dir.join("app.log"), lines.join("\n") + "\n").unwrap();
    }
    let config = "[follow_up]\nwindow_secs = 2\n[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\n";
    // The alert came as the errors stopped, two minutes ago.
    let anchor = (Utc::now() - chrono::Duration::minutes(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let label = format!("service={service}");
    let incident = collect(dir, "store", config, &["at", &anchor, "--label", &label]);
    let follow_up = collect(
        dir,
        "store",
        config,
        &["now", "--follow-up", incident.to_str().unwrap(), "--since", "1m"],
    );
    (incident, follow_up)
}

/// The kubernetes collector's config against `api`, for `collect at` the fixtures' anchor.
fn kubernetes_config(api: &FakeApi, dir: &Path) -> String {
    format!(
        "[[collectors.kubernetes]]\nname = \"prod\"\ncredentials = \"kubeconfig\"\nkubeconfig_path = \"{}\"\ncontext = \"fake\"\ndeployments = [\"web\"]\n",
        api.kubeconfig(dir).display()
    )
}

fn at_anchor() -> Vec<String> {
    ["at", "2025-11-19T21:00:00Z", "--since", "30m", "--label", "service=web"]
        .map(str::to_owned)
        .to_vec()
}

/// A bad deploy: revision 4 half rolled out, its pods logging a new error and one
/// crash-looping.
pub(crate) async fn bad_deploy(dir: &Path) -> PathBuf {
    let api = FakeApi::start().await;
    fixtures::bad_deploy(&api);
    collect_blocking(dir, kubernetes_config(&api, dir), at_anchor()).await
}

/// Traffic beyond capacity: the Deployment's autoscaler pinned at its ceiling, wanting more.
async fn autoscaler_at_ceiling(dir: &Path) -> PathBuf {
    let api = FakeApi::start().await;
    api.add("deployments", [fixtures::deployment("web", fixtures::DEPLOYMENT_UID, "web:1.4.2", 3)]);
    api.add("replicasets", [fixtures::replica_set("r3", 3, "web:1.4.2", -3 * 24 * 60, 4)]);
    api.add(
        "pods",
        ["a", "b", "c", "d"]
            .map(|p| fixtures::pod(&format!("web-r3-{p}"), "r3", "web:1.4.2", -180)),
    );
    let mut at_max = fixtures::hpa("web", "web", 2, 4, 4, 4, 190);
    at_max["status"]["conditions"].as_array_mut().unwrap().push(serde_json::json!({
        "type": "ScalingLimited", "status": "True", "reason": "TooManyReplicas",
        "message": "the desired replica count is more than the maximum replica count",
        "lastTransitionTime": fixtures::at(-6)
    }));
    api.add("horizontalpodautoscalers", [at_max]);
    // Requests time out on every pod since the load rose, ten minutes ago.
    let busy: Vec<i64> = (-10..=0).collect();
    for p in ["a", "b", "c", "d"] {
        let log = fixtures::app_log(
            -70,
            1,
            &busy,
            "request timed out after 30000 ms: worker pool exhausted",
        );
        api.log(&format!("web-r3-{p}"), "web", ContainerLog { current: Some(log), previous: None });
    }
    collect_blocking(dir, kubernetes_config(&api, dir), at_anchor()).await
}

/// `dir/app.log`: an hour up to now, `ok` every second, and `error` every `every` seconds
/// of the last `since` seconds.
fn app_log(dir: &Path, ok: &str, error: &str, (since, every): (i64, i64)) {
    let now = Utc::now();
    let mut log = String::new();
    for i in (1..=3600i64).rev() {
        let at = (now - chrono::Duration::seconds(i))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        log.push_str(&format!("{at} INFO {ok}\n"));
        if i < since && i % every == 0 {
            log.push_str(&format!("{at} ERROR {error}\n"));
        }
    }
    std::fs::write(dir.join("app.log"), log).unwrap();
}

/// A vendor down: its Statuspage site reports a major outage begun 25 minutes ago, and the
/// app logs errors calling it.
async fn vendor_down(dir: &Path) -> PathBuf {
    let now = Utc::now();
    let stamp = |m: i64| {
        (now - chrono::Duration::minutes(m)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let component = serde_json::json!({"id": "c1", "name": "Card API", "status": "major_outage",
        "created_at": stamp(600), "updated_at": stamp(20), "position": 1, "description": null,
        "showcase": false, "start_date": null, "group_id": null, "page_id": "p1", "group": false,
        "only_show_if_degraded": false});
    let page = serde_json::json!({"id": "p1", "name": "Payments", "url": "https://status.example.com",
        "time_zone": "Etc/UTC", "updated_at": stamp(5)});
    let incident = serde_json::json!({"id": "inc1", "name": "Card payments failing",
        "status": "identified", "impact": "major", "created_at": stamp(25), "updated_at": stamp(5),
        "started_at": stamp(25), "monitoring_at": null, "resolved_at": null,
        "shortlink": "https://stspg.io/x", "page_id": "p1", "components": [component.clone()],
        "incident_updates": [{"id": "u1", "status": "identified", "body": "We are seeing failures.",
            "incident_id": "inc1", "created_at": stamp(20), "updated_at": stamp(20),
            "display_at": stamp(20), "affected_components": null}]});
    let summary = serde_json::json!({"page": page.clone(),
        "status": {"indicator": "major", "description": "Major outage"},
        "components": [component], "incidents": [incident], "scheduled_maintenances": []})
    .to_string();
    let recent = serde_json::json!({"page": page, "incidents": []}).to_string();
    let app = axum::Router::new()
        .route("/api/v2/summary.json", axum::routing::get(move || async move { summary }))
        .route("/api/v2/incidents.json", axum::routing::get(move || async move { recent }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    app_log(dir, "checkout: POST /api/pay 200", "checkout: Payments API answered 503", (480, 2));
    let config = format!(
        "[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\n[[collectors.status_page]]\nname = \"payments\"\nvendor = \"Payments\"\nurl = \"http://{addr}\"\n"
    );
    let args = ["now", "--since", "30m", "--label", "service=checkout"].map(str::to_owned).to_vec();
    collect_blocking(dir, config, args).await
}

/// Lock contention in a real PostgreSQL: a session idle in a transaction holds a lock on a
/// table, and an update waits behind it while witness collects.
async fn lock_contention(dir: &Path) -> PathBuf {
    let url = std::env::var("WITNESS_TEST_PG_URL")
        .expect("WITNESS_TEST_PG_URL names the test PostgreSQL (tests/run.sh sets it)");
    let connect = |url: String| async move {
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(async move { connection.await.unwrap_or(()) });
        client
    };
    let table = format!("postmortem_{}", std::process::id());
    let admin = connect(url.clone()).await;
    admin
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int primary key, n int); INSERT INTO {table} VALUES (1, 0);"
        ))
        .await
        .unwrap();
    let blocker = connect(url.clone()).await;
    blocker
        .batch_execute(&format!("BEGIN; UPDATE {table} SET n = n + 1 WHERE id = 1;"))
        .await
        .unwrap();
    let waiter = connect(url.clone()).await;
    let update = format!("UPDATE {table} SET n = n + 2 WHERE id = 1");
    let blocked = tokio::spawn(async move { waiter.batch_execute(&update).await });
    let mut waiting = false;
    for _ in 0..200 {
        let rows = admin
            .query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'", &[])
            .await
            .unwrap();
        if !rows.is_empty() {
            waiting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waiting, "the update never waited for the lock");
    // Idle in its transaction for a while, as a forgotten session would be.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let config =
        "[[collectors.postgres]]\nname = \"main\"\ndsn_env = \"POSTMORTEM_DSN\"\n".to_owned();
    let (work, bin) = (dir.to_owned(), crate::util::witness_bin());
    let output = tokio::task::spawn_blocking(move || {
        std::fs::write(work.join("witness.toml"), config).unwrap();
        std::process::Command::new(bin)
            .args([
                "collect",
                "now",
                "--config",
                "witness.toml",
                "--out",
                "store",
                "--label",
                "service=orders",
            ])
            .current_dir(&work)
            .env("POSTMORTEM_DSN", url)
            .env_remove("WITNESS_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let _ = blocked.await;
    admin.batch_execute(&format!("DROP TABLE IF EXISTS {table}")).await.unwrap();
    assert!(output.status.success(), "{}", text(&output));
    only_entry(&dir.join("store"))
}

/// `git` in `dir` with its commits dated `minutes_ago`.
fn git_at(dir: &Path, args: &[&str], minutes_ago: i64) {
    let when = (Utc::now() - chrono::Duration::minutes(minutes_ago)).to_rfc3339();
    let output = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_AUTHOR_DATE", &when)
        .env("GIT_COMMITTER_DATE", &when)
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {}", text(&output));
}

/// A risky migration: release v1.1.0, deployed 20 minutes ago, adds a migration that drops
/// a column the code still reads; the app logs the new error since. The alert's `revision`
/// label names the release, as a deploy pipeline sets it.
fn risky_migration(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_at(&repo, &["init", "-q"], 3000);
    std::fs::write(repo.join("app.py"), "print('orders')\n").unwrap();
    git_at(&repo, &["add", "."], 3000);
    git_at(&repo, &["commit", "-q", "-m", "orders service"], 3000);
    git_at(&repo, &["tag", "v1.0.0"], 3000);
    std::fs::create_dir(repo.join("migrations")).unwrap();
    std::fs::write(
        repo.join("migrations/0042_drop_currency.sql"),
        "ALTER TABLE orders DROP COLUMN currency;\n",
    )
    .unwrap();
    git_at(&repo, &["add", "."], 20);
    git_at(&repo, &["commit", "-q", "-m", "orders: drop the currency column"], 20);
    git_at(&repo, &["tag", "v1.1.0"], 20);

    let error = "orders: psycopg2.errors.UndefinedColumn: column \"currency\" does not exist";
    app_log(dir, "orders: GET /api/orders 200", error, (1080, 3));
    let config = format!(
        "[[collectors.logs]]\nname = \"app\"\npaths = [\"app.log\"]\n[[collectors.git]]\nname = \"orders\"\npath = {repo:?}\n"
    );
    collect(
        dir,
        "store",
        &config,
        &["now", "--label", "service=orders", "--label", "revision=v1.1.0"],
    )
}

/// `` [`ref`] `` in Markdown (not escaped as `\[`).
fn md_refs(line: &str) -> Vec<String> {
    let re = Regex::new(r"(^|[^\\])\[(`{1,2}) ?([^`]+?) ?`{1,2}\]").unwrap();
    re.captures_iter(line).map(|c| c[3].to_owned()).collect()
}

/// `<cite class="ref"><code>ref</code></cite>` in HTML, unescaped.
fn html_refs(html: &str) -> Vec<String> {
    let re = Regex::new(r#"<cite class="ref"><code>([^<]*)</code></cite>"#).unwrap();
    re.captures_iter(html)
        .map(|c| {
            c[1].replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Resolves `r` (`file#pointer`, or `<follow-up id>:file#pointer`) in the bundles.
fn resolve(r: &str, incident: &Path, follow_up: Option<&Path>) -> Result<(), String> {
    let (place, pointer) = r.split_once('#').unwrap_or((r, ""));
    let (dir, file) = match place.split_once(':') {
        Some((id, file)) => match follow_up {
            Some(fu) if fu.file_name().is_some_and(|n| n == id) => (fu, file),
            _ => return Err(format!("{r}: names bundle {id}, which is not the follow-up")),
        },
        None => (incident, place),
    };
    let path = dir.join(file);
    if !path.is_file() {
        return Err(format!("{r}: no file {file} in {}", dir.display()));
    }
    if pointer.is_empty() {
        return Ok(());
    }
    let json: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
        .map_err(|e| format!("{r}: {file} is not JSON: {e}"))?;
    json.pointer(pointer)
        .map(|_| ())
        .ok_or_else(|| format!("{r}: {pointer} leads nowhere in {file}"))
}

/// What the Markdown draft states: every line but headings, notes, table heads and
/// blanks must end with its refs, and every ref must resolve. Returns the refs.
pub(crate) fn assert_cited_markdown(
    md: &str,
    incident: &Path,
    follow_up: Option<&Path>,
) -> Vec<String> {
    let lines: Vec<&str> = md.lines().collect();
    let mut refs = Vec::new();
    let (mut statements, mut blanks) = (0, 0);
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim_end();
        let is_head = lines.get(n + 1).is_some_and(|next| next.starts_with("|---"));
        if line.is_empty() || line.starts_with('#') || line.starts_with("|---") || is_head {
            continue;
        }
        let found = md_refs(line);
        refs.extend(found.iter().cloned());
        if line.starts_with('>') {
            continue;
        }
        let content = line
            .trim_start_matches("- ")
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches(". ");
        if content.starts_with('✎') {
            assert!(line.contains("______"), "a blank without a line to fill in: {line}");
            blanks += 1;
            continue;
        }
        statements += 1;
        let end = line.trim_end_matches(" |").trim_end_matches('.');
        assert!(
            !found.is_empty() && end.ends_with("`]"),
            "line {} states something without ending with its refs:\n{line}\n\n{md}",
            n + 1
        );
    }
    for r in &refs {
        if let Err(e) = resolve(r, incident, follow_up) {
            panic!("a ref does not resolve: {e}\n\n{md}");
        }
    }
    assert!(statements >= 10, "only {statements} statements:\n{md}");
    assert!(blanks >= 5, "the five whys and the rest leave blanks for the team:\n{md}");
    refs
}

/// The HTML draft: every statement (`class="fact"`) carries refs, every ref resolves, and
/// the refs are those of the Markdown draft.
fn assert_cited_html(html: &str, md_refs: &[String], incident: &Path, follow_up: Option<&Path>) {
    let mut pieces = html.split("class=\"fact").skip(1).peekable();
    assert!(pieces.peek().is_some(), "no statement in the HTML draft");
    for piece in pieces {
        let end = ["</li>", "</tr>", "</span>"]
            .iter()
            .filter_map(|t| piece.find(t))
            .min()
            .unwrap_or(piece.len());
        assert!(
            piece[..end].contains("<cite class=\"ref\">"),
            "a statement without refs: {}",
            &piece[..end]
        );
    }
    let refs = html_refs(html);
    for r in &refs {
        if let Err(e) = resolve(r, incident, follow_up) {
            panic!("a ref of the HTML draft does not resolve: {e}");
        }
    }
    let md: BTreeSet<&String> = md_refs.iter().collect();
    let html: BTreeSet<&String> = refs.iter().collect();
    assert_eq!(md, html, "the HTML draft cites other evidence than the Markdown one");
}

/// Drafts `incident` (with `follow_up`) as Markdown on stdout and as HTML into
/// `pages/<name>.html`, checks both, and returns the Markdown.
fn draft(
    dir: &Path,
    name: &str,
    incident: &Path,
    follow_up: Option<&Path>,
    pages: &Path,
) -> String {
    let mut args = vec!["postmortem", incident.to_str().unwrap()];
    if let Some(fu) = follow_up {
        args.extend(["--follow-up", fu.to_str().unwrap()]);
    }
    let md = String::from_utf8(ok(dir, &args).stdout).unwrap();
    let refs = assert_cited_markdown(&md, incident, follow_up);
    let page = pages.join(format!("{name}.html"));
    args.extend(["--format", "html", "--out", page.to_str().unwrap()]);
    ok(dir, &args);
    let html = std::fs::read_to_string(&page).unwrap();
    assert_cited_html(&html, &refs, incident, follow_up);
    // The bundles were only read.
    for bundle in std::iter::once(incident).chain(follow_up) {
        ok(dir, &["verify", bundle.to_str().unwrap()]);
    }
    md
}

/// The draft of a bundle whose top hypothesis has `key` = `value` (`cause`,
/// `vendor_incident`): the class the scenario is of.
fn diagnosed(
    dir: &Path,
    name: &str,
    bundle: &Path,
    (key, value): (&str, &str),
    pages: &tempfile::TempDir,
) -> String {
    let sealed = hypotheses(bundle);
    assert_eq!(sealed["hypotheses"][0][key], value, "{sealed:#}");
    draft(dir, name, bundle, None, pages.path())
}

/// The section `title` of a Markdown draft.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let start = md.find(&format!("## {title}\n")).unwrap_or_else(|| panic!("no {title}:\n{md}"));
    let rest = &md[start..];
    &rest[..rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3)]
}

#[tokio::test(flavor = "multi_thread")]
async fn every_scenario_class_gets_a_draft_whose_every_statement_is_cited() {
    let pages = tempfile::tempdir().unwrap();

    // A new error after which the fix took: with the follow-up, its checks and durations.
    let logs = tempfile::tempdir().unwrap();
    let (incident, follow_up) = {
        let dir = logs.path().to_owned();
        tokio::task::spawn_blocking(move || new_error_with_follow_up(&dir, "checkout", &[]))
            .await
            .unwrap()
    };
    let md = draft(logs.path(), "new-error", &incident, Some(&follow_up), pages.path());
    let verification = section(&md, "Verification (follow-up)");
    assert!(verification.contains("Verdict: fixed: every check passed"), "{verification}");
    assert!(verification.contains("time to resolve: 1m"), "{verification}");
    assert!(section(&md, "Metadata").contains("| duration (alert → resolved) | 1m"), "{md}");
    let went_well = section(&md, "What went well");
    assert!(went_well.contains("Verified: the incident's new errors gone"), "{went_well}");
    let whys = section(&md, "Five whys");
    assert!(
        whys.contains("1. Why was the incident raised? Because of New error: TypeError"),
        "{whys}"
    );
    assert!(section(&md, "Timeline (UTC)").contains("Resolved (manual)"), "{md}");
    // The alert came 8 minutes after the first new error.
    let improve = section(&md, "What could improve");
    assert!(
        improve.contains("The alert fired 7m5") || improve.contains("The alert fired 8m"),
        "{improve}"
    );
    assert!(improve.contains("It took longer than 5m"), "{improve}");
    assert!(section(&md, "Action items").contains("- [ ] Alert on the first symptom"), "{md}");

    // A bad deploy: rollback, and the five whys down to the revision.
    let deploy = tempfile::tempdir().unwrap();
    let bundle = bad_deploy(deploy.path()).await;
    let md =
        diagnosed(deploy.path(), "bad-deploy", &bundle, ("recommendation", "rollback"), &pages);
    let whys = section(&md, "Five whys");
    assert!(whys.contains("Why? The Deployment was at revision 4."), "{whys}");
    assert!(whys.contains("5. ✎ Why? ______") || whys.contains("6. ✎ Why?"), "{whys}");
    let actions = section(&md, "Action items");
    assert!(actions.contains("- [ ] Find and fix what the change broke"), "{actions}");
    assert!(actions.contains("(owner: ______)"), "{actions}");
    assert!(section(&md, "Root cause").contains("### Evidence chain"), "{md}");
    assert!(!section(&md, "Hypotheses ruled out").trim().is_empty());

    // An autoscaler at its ceiling: scale up, and the ceiling as a contributing factor.
    let hpa = tempfile::tempdir().unwrap();
    let bundle = autoscaler_at_ceiling(hpa.path()).await;
    let md = diagnosed(hpa.path(), "autoscaler", &bundle, ("recommendation", "scale_up"), &pages);
    let factors = section(&md, "Contributing factors");
    assert!(factors.contains("The autoscaler was at its ceiling"), "{factors}");
    assert!(section(&md, "Action items").contains("Raise the autoscaler's ceiling"), "{md}");

    // A vendor down.
    let vendor = tempfile::tempdir().unwrap();
    let bundle = vendor_down(vendor.path()).await;
    let md = diagnosed(vendor.path(), "vendor", &bundle, ("cause", "vendor_incident"), &pages);
    assert!(section(&md, "Action items").contains("Degrade gracefully when the vendor is down"));
    assert!(section(&md, "Contributing factors").contains("status page reported degraded"));

    // A risky migration: the five whys reach the commit and its migration.
    let migration = tempfile::tempdir().unwrap();
    let bundle = {
        let dir = migration.path().to_owned();
        tokio::task::spawn_blocking(move || risky_migration(&dir)).await.unwrap()
    };
    let md = diagnosed(migration.path(), "migration", &bundle, ("cause", "migration"), &pages);
    let whys = section(&md, "Five whys");
    let commit = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "v1.1.0^{commit}"])
            .current_dir(migration.path().join("repo"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(whys.contains(&format!("The deployed code is commit {}.", commit.trim())), "{whys}");
    assert!(
        whys.contains(
            "The deployed commits add the migration migrations/0042\\_drop\\_currency.sql."
        ),
        "{whys}"
    );
    assert!(section(&md, "Contributing factors").contains("included a database migration"));

    // Lock contention in PostgreSQL.
    let locks = tempfile::tempdir().unwrap();
    let bundle = lock_contention(locks.path()).await;
    let md = diagnosed(locks.path(), "locks", &bundle, ("cause", "lock_blocker"), &pages);
    assert!(section(&md, "Action items").contains("held the lock"), "{md}");

    crate::report::assert_valid_html(pages.path());
}

/// The HTML draft is one page that opens offline: Chromium renders it, prints it, and it
/// asks for nothing over the network.
#[tokio::test(flavor = "multi_thread")]
async fn the_html_draft_renders_in_chromium_without_any_network_request() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bad_deploy(dir.path()).await;
    let page = dir.path().join("postmortem.html");
    let work = dir.path().to_owned();
    let args = [
        "postmortem",
        bundle.to_str().unwrap(),
        "--format",
        "html",
        "--out",
        page.to_str().unwrap(),
    ];
    let args: Vec<String> = args.map(str::to_owned).to_vec();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&work, &args)
    })
    .await
    .unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    for needle in ["<script", "<link", "@import", "url(", "<img", "<iframe", "http://", "https://"]
    {
        assert!(!html.contains(needle), "the draft refers to something outside itself: {needle}");
    }
    let (port, requests) = crate::report::request_recorder();
    crate::report::screenshot(&page, &dir.path().join("p1"), port, "1280,2400");
    let dom = crate::report::chromium(&page, &dir.path().join("p2"), port, &["--dump-dom".into()]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let top = hypotheses(&bundle)["hypotheses"][0]["title"].as_str().unwrap().to_owned();
    assert!(dom.contains(&crate::report::dom_text(top.trim_end_matches('.'))), "{dom}");
    for heading in ["Five whys", "Action items", "Hypotheses ruled out", "Timeline (UTC)"] {
        assert!(dom.contains(&format!(">{heading}</h2>")), "{heading} missing from the DOM");
    }
    assert!(dom.contains("type=\"checkbox\""), "action items are checkboxes");
    let made = crate::report::page_requests(&requests.lock().unwrap());
    assert!(made.is_empty(), "the draft made network requests: {made:?}");
}

#[test]
fn a_changed_bundle_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (incident, follow_up) = new_error_with_follow_up(dir.path(), "checkout", &[]);
    let changed = dir.path().join("changed");
    copy_tree(&incident, &changed);
    make_writable(&changed);
    let evidence = changed.join("evidence/logs-app.json");
    let text_before = std::fs::read_to_string(&evidence).unwrap();
    std::fs::write(&evidence, text_before.replace("TypeError", "TypoError")).unwrap();

    let drafts = dir.path().join("drafts");
    std::fs::create_dir(&drafts).unwrap();
    let out = drafts.join("postmortem.md");
    let refused = witness(
        dir.path(),
        &["postmortem", changed.to_str().unwrap(), "--out", out.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("does not verify (modified: evidence/logs-app.json)"), "{said}");
    assert_eq!(said.lines().count(), 1, "one clear error: {said}");
    assert!(refused.stdout.is_empty());
    assert_eq!(std::fs::read_dir(&drafts).unwrap().count(), 0, "nothing may be written");

    // A draft already there stays whole when the next one is refused.
    ok(dir.path(), &["postmortem", incident.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let before = std::fs::read(&out).unwrap();
    let refused = witness(
        dir.path(),
        &["postmortem", changed.to_str().unwrap(), "--out", out.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    assert_eq!(std::fs::read_dir(&drafts).unwrap().count(), 1, "no temporary file is left");

    // The follow-up must name this incident, and nothing goes inside a bundle.
    let other = dir.path().join("other");
    let (other_incident, _) = {
        std::fs::create_dir(&other).unwrap();
        new_error_with_follow_up(&other, "checkout", &[])
    };
    let mismatch = witness(
        dir.path(),
        &[
            "postmortem",
            other_incident.to_str().unwrap(),
            "--follow-up",
            follow_up.to_str().unwrap(),
        ],
    );
    assert_eq!(mismatch.status.code(), Some(2), "{}", text(&mismatch));
    assert!(
        String::from_utf8_lossy(&mismatch.stderr).contains("is the follow-up of"),
        "{}",
        text(&mismatch)
    );
    let swapped = witness(dir.path(), &["postmortem", follow_up.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&swapped.stderr).contains("is a follow-up of"),
        "{}",
        text(&swapped)
    );
    let inside = incident.join("postmortem.md");
    let refused = witness(
        dir.path(),
        &["postmortem", incident.to_str().unwrap(), "--out", inside.to_str().unwrap()],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is inside the bundle"));
    assert!(!inside.exists());
    ok(dir.path(), &["verify", incident.to_str().unwrap()]);

    // The checks of the drafts above can fail: a bare statement, and a ref leading nowhere.
    let md = String::from_utf8(ok(dir.path(), &["postmortem", incident.to_str().unwrap()]).stdout)
        .unwrap();
    assert_cited_markdown(&md, &incident, None);
    let bare = md.replace("## Impact\n\n", "## Impact\n\n- The database was fine.\n");
    let nowhere = md.replace("#/facts/logs.error_count`]", "#/facts/logs.no_such_fact`]");
    assert_ne!(nowhere, md);
    for broken in [bare, nowhere] {
        let caught = std::panic::catch_unwind(|| assert_cited_markdown(&broken, &incident, None));
        assert!(caught.is_err(), "the check let this through:\n{broken}");
    }
}
