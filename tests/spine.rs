//! The spine, end to end as a user meets it: `collect now` in a git repository leaves one
//! sealed bundle, `verify` finds every modified, missing and unexpected file in the
//! directory and in the `.tar.gz`, signatures verify with the right key only, a collector
//! past its deadline does not hold the bundle back, and bad input gets one clear line and
//! exit status 2.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use witness::run::plan::{Planned, PlannedCollector};
use witness_collector::{CollectContext, CollectError, Collector, Evidence, Status};

use crate::util::{copy_tree, files_under, git_repo, make_writable, text, witness};

/// Runs `collect now --out <tmp>/bundles` in a fresh git repository; returns the repository,
/// the output directory and the bundle.
fn collect_in_repo(extra: &[&str]) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let repo = git_repo();
    let out = repo.path().join("bundles");
    let mut args = vec!["collect", "now", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = witness(repo.path(), &args);
    assert!(output.status.success(), "{}", text(&output));
    let bundles: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(bundles.len(), 1, "expected exactly one bundle directory: {bundles:?}");
    (repo, out, bundles[0].clone())
}

#[test]
fn collect_now_in_a_git_repository_writes_one_sealed_bundle() {
    let (_repo, out, bundle) = collect_in_repo(&["--archive"]);
    let files = files_under(&bundle);
    for expected in
        ["manifest.json", "trigger.json", "timeline.json", "hypotheses.json", "report.md"]
    {
        assert!(files.contains(&expected.to_owned()), "{expected} missing from {files:?}");
    }
    assert!(
        files.iter().any(|f| f.starts_with("evidence/host-") && f.ends_with(".json")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.starts_with("evidence/git-") && f.ends_with(".json")),
        "{files:?}"
    );
    for file in &files {
        let mode = std::fs::metadata(bundle.join(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o444, "{file} is not read-only");
    }
    let dir_mode = std::fs::metadata(bundle.join("evidence")).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o555);
    // The archive sits beside the bundle; nothing else is left in the store.
    let mut entries: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    let id = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(entries, vec![id.clone(), format!("{id}.tar.gz")]);

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["id"], id.as_str());
    let hypotheses: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("hypotheses.json")).unwrap()).unwrap();
    assert!(
        !hypotheses["hypotheses"].as_array().unwrap().is_empty(),
        "hypotheses.json is never empty"
    );
}

#[test]
fn json_output_is_machine_readable() {
    let repo = git_repo();
    let out = repo.path().join("b");
    let output = witness(
        repo.path(),
        &["collect", "now", "--out", out.to_str().unwrap(), "--only", "host", "--format", "json"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let summary: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(
        summary["collectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "skipped")
            .count(),
        1
    );
    assert!(Path::new(summary["bundle"].as_str().unwrap()).join("manifest.json").exists());
}

/// Asserts `verify` fails on `target` and names `path` as `what` (`modified`, ...).
fn assert_verify_names(dir: &Path, target: &Path, what: &str, path: &str) {
    let output = witness(dir, &["verify", target.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{what}: {path}")),
        "expected `{what}: {path}` in {}",
        text(&output)
    );
}

#[test]
fn verify_names_every_modified_missing_and_unexpected_file_in_a_directory() {
    let (repo, _out, bundle) = collect_in_repo(&[]);
    let ok = witness(repo.path(), &["verify", bundle.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));

    let tamper = |name: &str, change: &dyn Fn(&Path)| {
        let copy = repo.path().join(name).join(bundle.file_name().unwrap());
        copy_tree(&bundle, &copy);
        make_writable(&copy);
        change(&copy);
        copy
    };
    let modified = tamper("modified", &|b| {
        let path = b.join("timeline.json");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[5] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    });
    assert_verify_names(repo.path(), &modified, "modified", "timeline.json");

    let missing = tamper("missing", &|b| std::fs::remove_file(b.join("report.md")).unwrap());
    assert_verify_names(repo.path(), &missing, "missing", "report.md");

    let host_file =
        files_under(&bundle).into_iter().find(|f| f.starts_with("evidence/host-")).unwrap();
    let added = tamper("added", &|b| std::fs::write(b.join("evidence/notes.txt"), "hi").unwrap());
    assert_verify_names(repo.path(), &added, "unexpected", "evidence/notes.txt");
    let evidence = tamper("evidence", &|b| {
        let path = b.join(&host_file);
        let text = std::fs::read_to_string(&path).unwrap().replacen("\"ok\"", "\"partial\"", 1);
        std::fs::write(path, text).unwrap();
    });
    assert_verify_names(repo.path(), &evidence, "modified", &host_file);
}

/// An archive's files: path and contents.
type Entries = Vec<(String, Vec<u8>)>;

/// Rewrites a bundle archive, changing the entries `change` is given.
fn rewrite_archive(from: &Path, to: &Path, change: &dyn Fn(&mut Entries)) {
    let mut entries = Vec::new();
    let mut archive =
        tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(from).unwrap()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            entries.push((path, bytes));
        }
    }
    change(&mut entries);
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(to).unwrap(),
        flate2::Compression::fast(),
    ));
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o444);
        header.set_cksum();
        builder.append_data(&mut header, path, bytes.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[test]
fn verify_checks_the_tar_gz_the_same_way() {
    let (repo, _out, bundle) = collect_in_repo(&["--archive"]);
    let archive = bundle.with_extension("tar.gz");
    let ok = witness(repo.path(), &["verify", archive.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", text(&ok));
    let id = bundle.file_name().unwrap().to_string_lossy().into_owned();

    let modified = repo.path().join("modified.tar.gz");
    rewrite_archive(&archive, &modified, &|entries| {
        let (_, bytes) = entries.iter_mut().find(|(p, _)| p.ends_with("/report.md")).unwrap();
        bytes.push(b'!');
    });
    assert_verify_names(repo.path(), &modified, "modified", "report.md");

    let missing = repo.path().join("missing.tar.gz");
    rewrite_archive(&archive, &missing, &|entries| {
        entries.retain(|(p, _)| !p.ends_with("/trigger.json"))
    });
    assert_verify_names(repo.path(), &missing, "missing", "trigger.json");

    let added = repo.path().join("added.tar.gz");
    rewrite_archive(&archive, &added, &|entries| {
        entries.push((format!("{id}/extra.json"), b"{}".to_vec()))
    });
    assert_verify_names(repo.path(), &added, "unexpected", "extra.json");
}

#[test]
fn a_signed_bundle_verifies_with_its_key_and_fails_with_another() {
    let repo = git_repo();
    let keys = repo.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for prefix in ["signing", "other"] {
        let out = witness(repo.path(), &["keygen", "--out", keys.join(prefix).to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let config = repo.path().join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "[signing]\nkey_file = {:?}\n\n[[collectors.host]]\nname = \"local\"\n",
            keys.join("signing.key")
        ),
    )
    .unwrap();
    let out_dir = repo.path().join("bundles");
    let output = witness(
        repo.path(),
        &[
            "collect",
            "now",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--archive",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let bundle = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .unwrap();
    assert!(bundle.join("manifest.sig").exists());
    for target in [bundle.clone(), bundle.with_extension("tar.gz")] {
        let good = witness(
            repo.path(),
            &[
                "verify",
                target.to_str().unwrap(),
                "--key",
                keys.join("signing.pub").to_str().unwrap(),
            ],
        );
        assert!(good.status.success(), "{}", text(&good));
        assert!(
            String::from_utf8_lossy(&good.stdout).contains("signature valid"),
            "{}",
            text(&good)
        );
        let bad = witness(
            repo.path(),
            &[
                "verify",
                target.to_str().unwrap(),
                "--key",
                keys.join("other.pub").to_str().unwrap(),
            ],
        );
        assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
        assert!(
            String::from_utf8_lossy(&bad.stdout).contains("signature: manifest.sig does not match"),
            "{}",
            text(&bad)
        );
    }
}

/// A test collector that sleeps far past any deadline.
struct Sleeper;

#[async_trait]
impl Collector for Sleeper {
    async fn collect(&self, _ctx: &CollectContext) -> Result<Evidence, CollectError> {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok(Evidence::ok("woke up"))
    }
}

#[tokio::test]
async fn a_collector_past_its_deadline_is_timed_out_and_the_bundle_is_written_in_time() {
    let store = tempfile::tempdir().unwrap();
    let deadline = Duration::from_secs(2);
    let plan = vec![PlannedCollector {
        kind: "test",
        name: "sleeper".into(),
        timeout: deadline,
        action: Planned::Run(Arc::new(Sleeper)),
    }];
    let started = Instant::now();
    let collected = crate::util::collect_now(plan, store.path()).await;
    let elapsed = started.elapsed();
    assert!(elapsed < deadline + Duration::from_secs(1), "took {elapsed:?}");
    assert_eq!(collected.view.records[0].status(), Status::TimedOut);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(collected.bundle.dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["collectors"][0]["status"], "timed_out");
    assert_eq!(manifest["collectors"][0]["error"], "did not finish within its deadline of 2s");
}

#[test]
fn bad_input_gets_one_clear_line_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("unknown.toml"), "[collect]\nlookback_secs = 60\ncolour = \"red\"\n")
        .unwrap();
    std::fs::write(d.join("corrupt.tar.gz"), b"\x1f\x8b\x08\x00not really gzip").unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["collect", "now", "--config", "missing.toml"],
            "missing.toml: cannot read the config file",
        ),
        (
            &["config", "check", "--config", "unknown.toml"],
            "unknown.toml:3: unknown field `colour`",
        ),
        (&["collect", "now", "--config", "unknown.toml"], "unknown.toml:3: unknown field `colour`"),
        (&["collect", "at", "yesterday-ish"], "\"yesterday-ish\" is not an RFC 3339 time"),
        (
            &["collect", "now", "--label", "novalue"],
            "--label \"novalue\" is not of the form key=value",
        ),
        (&["collect", "now", "--since", "soon"], "--since \"soon\" is not a duration"),
        (&["collect", "now", "--only", "logz"], "--only \"logz\" is not a collector kind"),
        (&["verify", "no-such-bundle"], "no-such-bundle: no such bundle directory or .tar.gz"),
        (&["verify", "corrupt.tar.gz"], "corrupt.tar.gz: not a readable .tar.gz bundle"),
        (&["show", "no-such-bundle"], "no such bundle"),
    ];
    for (args, expected) in cases {
        let output = witness(d, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output));
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in {}", text(&output));
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: more than one line: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // Nothing was written for any of them.
    assert!(!d.join("witness-bundles").exists());
}

/// Issue 21: a `collect at` bundle's trigger and reports said `collect now`.
#[test]
fn a_retroactive_run_is_named_collect_at() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundles");
    let anchor = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let args = ["collect", "at", &anchor, "--only", "host", "--out", out.to_str().unwrap()];
    let output = witness(dir.path(), &args);
    assert!(output.status.success(), "{}", text(&output));
    let bundle = crate::util::only_entry(&out);
    let trigger: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("trigger.json")).unwrap()).unwrap();
    assert_eq!(trigger["name"], "collect at", "{trigger:#}");
    let report = std::fs::read_to_string(bundle.join("report.md")).unwrap();
    assert!(report.contains("collect at"), "{report}");
    assert!(!report.contains("collect now"), "{report}");
}
