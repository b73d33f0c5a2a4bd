//! Bad input at every door the command line opens: arguments, config files, rule files and
//! bundles to verify (crafted `.tar.gz` files with path traversal, absolute paths, links
//! and sizes that would unpack past the limit). Each row of the table says the exit status
//! and the error text a user sees. For every row: nothing panics, no collector starts (what
//! the config names — rule files, the signing key — is checked first), and nothing is
//! written — the working directory holds exactly what the test put there, so no
//! half-written bundle and no file outside it.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use crate::util::{files_under, text, witness_bin};

/// What a row prepares in its empty working directory before running.
type Setup = fn(&Path);

struct Case {
    name: &'static str,
    setup: Setup,
    args: &'static [&'static str],
    status: i32,
    /// Text the user sees (stderr, or stdout for `rules check`, which prints a report).
    says: &'static str,
}

fn nothing(_: &Path) {}

/// A FIFO named `name`: opening it for reading blocks until a writer comes, forever here.
fn fifo(dir: &Path, name: &str) {
    let path =
        std::ffi::CString::new(dir.join(name).into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0, "mkfifo");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A `.tar.gz` whose single entry has `name`, `kind` and a size header of `size`, with
/// `data` after it (raw header bytes, so names tar::Builder would refuse get through).
fn crafted_archive(
    dir: &Path,
    file: &str,
    name: &str,
    kind: tar::EntryType,
    size: u64,
    data: &[u8],
) {
    use std::io::Write;
    let mut header = tar::Header::new_old();
    let old = header.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    if kind == tar::EntryType::Symlink {
        old.linkname[..11].copy_from_slice(b"/etc/passwd");
    }
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_cksum();
    let mut tar = header.as_bytes().to_vec();
    tar.extend_from_slice(data);
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    write(dir, file, &gz.finish().unwrap());
}

/// A config with one host collector whose bundles are signed with `./signing.key`.
const HOST_SIGNED_WITH_SIGNING_KEY: &[u8] =
    b"[signing]\nkey_file = \"signing.key\"\n\n[[collectors.host]]\nname = \"h\"\n";

/// A rule file whose rule `typo` has a condition on line 6 that does not parse.
const BAD_CEL_RULE: &[u8] = b"[[rule]]\nid = \"typo\"\ntitle = \"t\"\nrecommendation = \"investigate\"\nweight = 0.5\ncondition = \"host.cpu_saturated &&\"\nexplanation = \"e\"\n";

/// `w.toml` with one host collector and the rule directory `rules/`, holding `bad.toml`.
fn with_rule_file(dir: &Path, rule: &[u8]) {
    write(dir, "w.toml", b"[rules]\ndirs = [\"rules\"]\n\n[[collectors.host]]\nname = \"h\"\n");
    std::fs::create_dir(dir.join("rules")).unwrap();
    write(dir, "rules/bad.toml", rule);
}

const CASES: &[Case] = &[
    // The command line.
    Case {
        name: "unknown command",
        setup: nothing,
        args: &["frobnicate"],
        status: 2,
        says: "unrecognized subcommand 'frobnicate'",
    },
    Case {
        name: "verify without a bundle",
        setup: nothing,
        args: &["verify"],
        status: 2,
        says: "required arguments were not provided",
    },
    Case {
        name: "since not a duration",
        setup: nothing,
        args: &["collect", "now", "--since", "yesterday"],
        status: 2,
        says: "--since \"yesterday\" is not a duration like 30m or 2h",
    },
    Case {
        name: "since zero",
        setup: nothing,
        args: &["collect", "now", "--since", "0s"],
        status: 2,
        says: "--since must be longer than zero",
    },
    Case {
        name: "follow-up of no bundle",
        setup: nothing,
        args: &["collect", "now", "--follow-up", "gone"],
        status: 2,
        says: "gone: no such bundle directory or .tar.gz",
    },
    Case {
        name: "follow-up of a directory that is no bundle",
        setup: |dir| std::fs::create_dir(dir.join("empty")).unwrap(),
        args: &["collect", "now", "--follow-up", "empty"],
        status: 2,
        says: "empty: manifest.json is missing: this is not a witness bundle",
    },
    Case {
        name: "follow-up window of zero",
        setup: |dir| write(dir, "w.toml", b"[follow_up]\nwindow_secs = 0\n"),
        args: &["collect", "now", "--config", "w.toml", "--follow-up", "gone"],
        status: 2,
        says: "w.toml:2: follow_up.window_secs: must be at least 1",
    },
    Case {
        name: "since past the calendar",
        setup: nothing,
        args: &["collect", "now", "--since", "300000y"],
        status: 2,
        says: "--since \"300000y\" reaches back further than 366 days, the most a window may",
    },
    Case {
        name: "since past any clock",
        setup: nothing,
        args: &["collect", "now", "--since", "20000000000000s"],
        status: 2,
        says: "--since \"20000000000000s\" reaches back further than 366 days",
    },
    Case {
        name: "unknown kind in only",
        setup: nothing,
        args: &["collect", "now", "--only", "nosuchkind"],
        status: 2,
        says: "--only \"nosuchkind\" is not a collector kind",
    },
    Case {
        name: "label without value",
        setup: nothing,
        args: &["collect", "now", "--label", "service"],
        status: 2,
        says: "--label \"service\" is not of the form key=value",
    },
    Case {
        name: "anchor not a time",
        setup: nothing,
        args: &["collect", "at", "last tuesday"],
        status: 2,
        says: "\"last tuesday\" is not an RFC 3339 time",
    },
    Case {
        name: "anchor in the future",
        setup: nothing,
        args: &["collect", "at", "2999-01-01T00:00:00Z"],
        status: 2,
        says: "is in the future",
    },
    Case {
        name: "no such config",
        setup: nothing,
        args: &["collect", "now", "--config", "/nonexistent/witness.toml"],
        status: 2,
        says: "/nonexistent/witness.toml: cannot read the config file",
    },
    Case {
        name: "config check without a file",
        setup: nothing,
        args: &["config", "check"],
        status: 2,
        says: "no configuration file",
    },
    // Config files.
    Case {
        name: "unknown key",
        setup: |d| write(d, "w.toml", b"[store]\ndir = \"x\"\nbogus = 1\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "w.toml:3: unknown field `bogus`",
    },
    Case {
        name: "not TOML",
        setup: |d| write(d, "w.toml", b"[collect\nlookback_secs = 5\n"),
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:1:",
    },
    Case {
        name: "not UTF-8",
        setup: |d| write(d, "w.toml", b"\xff\xfe[store]\n"),
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml: cannot read the config file",
    },
    Case {
        name: "bad redaction pattern",
        setup: |d| write(d, "w.toml", b"[redaction]\npatterns = [\"(unclosed\"]\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: redaction.patterns[0]: not a valid regex",
    },
    Case {
        name: "zero deadline",
        setup: |d| write(d, "w.toml", b"[collect]\ncollector_timeout_secs = 0\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: collect.collector_timeout_secs: must be at least 1",
    },
    // Absurd numbers: each used to pass `config check` and then panic (issue 22).
    Case {
        name: "deadline past any clock",
        setup: |d| {
            write(d, "w.toml", b"[collect]\ncollector_timeout_secs = 18446744073709551615\n")
        },
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: collect.collector_timeout_secs: must be at most 86400",
    },
    Case {
        name: "instance deadline past any clock",
        setup: |d| {
            write(
                d,
                "w.toml",
                b"[[collectors.host]]\nname = \"h\"\ntimeout_secs = 18446744073709551615\n",
            )
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:3: collectors.host[0].timeout_secs: must be at most 86400",
    },
    Case {
        name: "more parallel runs than a semaphore holds",
        setup: |d| write(d, "w.toml", b"[server]\nmax_parallel_runs = 18446744073709551615\n"),
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: server.max_parallel_runs: must be at most 256",
    },
    Case {
        name: "flight recorder history past any clock",
        setup: |d| write(d, "w.toml", b"[server.recorder]\nretain_secs = 18446744073709551615\n"),
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: server.recorder.retain_secs: must be at most 604800",
    },
    // `config check` said `ok` to each of these, then a run failed (issue 22); it names
    // every problem at once, validation and machine alike.
    Case {
        name: "every problem at once, an unset variable among them",
        setup: |d| {
            write(
                d,
                "w.toml",
                b"[collect]\ncollector_timeout_secs = 0\n\n[[collectors.postgres]]\nname = \"db\"\ndsn_env = \"WITNESS_SURELY_UNSET_DSN\"\n",
            )
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: collect.collector_timeout_secs: must be at least 1\nw.toml:6: collectors.postgres[0].dsn_env: environment variable WITNESS_SURELY_UNSET_DSN is not set",
    },
    Case {
        name: "kubeconfig that is not there",
        setup: |d| {
            write(d, "w.toml", b"[[collectors.kubernetes]]\nname = \"k\"\nkubeconfig_path = \"/nonexistent/kubeconfig\"\n")
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:3: collectors.kubernetes[0].kubeconfig_path: /nonexistent/kubeconfig is not a file",
    },
    Case {
        name: "pod log caps out of range and a pattern that does not compile",
        setup: |d| {
            write(d, "w.toml", b"[[collectors.kubernetes]]\nname = \"k\"\npod_log_max_bytes = 100\npod_log_exclude = [\"(\"]\n")
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:3: collectors.kubernetes[0].pod_log_max_bytes: must be at least 1024\nw.toml:4: collectors.kubernetes[0].pod_log_exclude[0]: not a valid regular expression: regex parse error:",
    },
    Case {
        name: "prometheus query named like the alert's expression, token unset",
        setup: |d| {
            write(d, "w.toml", b"[[collectors.prometheus]]\nname = \"p\"\nurl = \"http://prometheus:9090\"\nbearer_token_env = \"WITNESS_SURELY_UNSET_PROM_TOKEN\"\n\n[[collectors.prometheus.queries]]\nname = \"alert\"\nquery = \"up\"\n")
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:7: collectors.prometheus[0].queries[0].name: `alert` is the alert's own expression; give the query another name\nw.toml:4: collectors.prometheus[0].bearer_token_env: environment variable WITNESS_SURELY_UNSET_PROM_TOKEN is not set",
    },
    Case {
        name: "signing key that is not a key",
        setup: |d| {
            write(d, "k.key", b"garbage\n");
            write(d, "w.toml", b"[signing]\nkey_file = \"k.key\"\n");
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: signing.key_file: k.key is not an ed25519 private key",
    },
    Case {
        name: "bearer token file that is not there",
        setup: |d| {
            write(d, "w.toml", b"[server.auth]\nbearer_token_file = \"/nonexistent/token\"\n")
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: server.auth.bearer_token_file: cannot read /nonexistent/token",
    },
    Case {
        name: "instance name that could escape the bundle",
        setup: |d| write(d, "w.toml", b"[[collectors.host]]\nname = \"../../etc\"\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "collectors.host[0].name: must be 1-64 characters",
    },
    Case {
        name: "wrong type",
        setup: |d| write(d, "w.toml", b"[collect]\nlookback_secs = \"thirty\"\n"),
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "w.toml:2: invalid type: string \"thirty\", expected u64",
    },
    // What the config names, loaded before any collector starts: a bundle is never
    // collected only to be thrown away.
    Case {
        name: "signing key that is not a key",
        setup: |d| {
            write(d, "w.toml", HOST_SIGNED_WITH_SIGNING_KEY);
            write(d, "signing.key", b"-----BEGIN PRIVATE KEY-----\nnot a key\n");
        },
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "signing.key_file: signing.key is not an ed25519 private key",
    },
    Case {
        name: "no such signing key",
        setup: |d| write(d, "w.toml", HOST_SIGNED_WITH_SIGNING_KEY),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "signing.key_file: cannot read the key signing.key",
    },
    Case {
        name: "signing key that is not a key, in config check",
        setup: |d| {
            write(d, "w.toml", HOST_SIGNED_WITH_SIGNING_KEY);
            write(d, "signing.key", b"garbage");
        },
        args: &["config", "check", "--config", "w.toml"],
        status: 2,
        says: "signing.key_file: signing.key is not an ed25519 private key",
    },
    Case {
        name: "rule file with a condition that is not CEL",
        setup: |d| with_rule_file(d, BAD_CEL_RULE),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "rules/bad.toml:6: rule typo: condition is not valid CEL",
    },
    Case {
        name: "rule file that is not TOML, named in the config",
        setup: |d| with_rule_file(d, b"[[rule]]\nid = \"x\"\nnot toml\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "rules/bad.toml:3: ",
    },
    Case {
        name: "rule directory that does not exist",
        setup: |d| write(d, "w.toml", b"[rules]\ndirs = [\"nowhere\"]\n"),
        args: &["collect", "now", "--config", "w.toml"],
        status: 2,
        says: "nowhere:0: cannot list the rule directory",
    },
    // Rule files.
    Case {
        name: "rule with an unknown key",
        setup: |d| write(d, "r.toml", b"[[rule]]\nbogus = 1\n"),
        args: &["rules", "check", "r.toml"],
        status: 1,
        says: "r.toml:2: unknown field `bogus`",
    },
    Case {
        name: "rule file that is not TOML",
        setup: |d| write(d, "r.toml", b"not [ toml"),
        args: &["rules", "check", "r.toml"],
        status: 1,
        says: "r.toml:1: key with no value",
    },
    Case {
        name: "no such rule file",
        setup: nothing,
        args: &["rules", "check", "missing.toml"],
        status: 1,
        says: "cannot read: No such file or directory",
    },
    // Bundles to verify.
    // A FIFO blocked `verify`, `show` and `rules test --bundle` forever (issue 22).
    Case {
        name: "verify a FIFO",
        setup: |d| fifo(d, "b.tar.gz"),
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "b.tar.gz: not a directory or a regular file (a FIFO, a socket or a device): refusing to open it",
    },
    Case {
        name: "show a FIFO",
        setup: |d| fifo(d, "b"),
        args: &["show", "b"],
        status: 2,
        says: "b: not a directory or a regular file",
    },
    Case {
        name: "rules test over a FIFO",
        setup: |d| fifo(d, "b"),
        args: &["rules", "test", "--bundle", "b"],
        status: 2,
        says: "b: not a directory or a regular file",
    },
    Case {
        name: "no such bundle",
        setup: nothing,
        args: &["verify", "missing.tar.gz"],
        status: 2,
        says: "missing.tar.gz: no such bundle directory or .tar.gz",
    },
    Case {
        name: "empty archive file",
        setup: |d| write(d, "b.tar.gz", b""),
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "b.tar.gz: not a readable .tar.gz bundle",
    },
    Case {
        name: "not gzip",
        setup: |d| write(d, "b.tar.gz", b"PK\x03\x04 a zip, not a tar.gz"),
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "b.tar.gz: not a readable .tar.gz bundle",
    },
    Case {
        name: "path traversal entry",
        setup: |d| {
            crafted_archive(
                d,
                "b.tar.gz",
                "bundle/../../escaped",
                tar::EntryType::Regular,
                2,
                b"hi",
            )
        },
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "entry \"bundle/../../escaped\" is not a safe relative path",
    },
    Case {
        name: "absolute entry",
        setup: |d| {
            crafted_archive(d, "b.tar.gz", "/tmp/escaped", tar::EntryType::Regular, 2, b"hi")
        },
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "entry \"/tmp/escaped\" is not a safe relative path",
    },
    Case {
        name: "symlink entry",
        setup: |d| {
            crafted_archive(d, "b.tar.gz", "bundle/manifest.json", tar::EntryType::Symlink, 0, b"")
        },
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "entry \"bundle/manifest.json\" is not a regular file (links and devices are refused)",
    },
    Case {
        name: "device entry",
        setup: |d| crafted_archive(d, "b.tar.gz", "bundle/zero", tar::EntryType::Char, 0, b""),
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "is not a regular file (links and devices are refused)",
    },
    Case {
        name: "entry that unpacks past the limit",
        setup: |d| {
            crafted_archive(
                d,
                "b.tar.gz",
                "bundle/huge.log",
                tar::EntryType::Regular,
                2 << 30,
                b"x",
            )
        },
        args: &["verify", "b.tar.gz"],
        status: 2,
        says: "unpacks to more than 1073741824 bytes",
    },
    Case {
        name: "directory without a manifest",
        setup: |d| {
            std::fs::create_dir(d.join("b")).unwrap();
            write(d, "b/report.md", b"# nothing\n");
        },
        args: &["verify", "b"],
        status: 2,
        says: "manifest.json is missing: this is not a witness bundle",
    },
    Case {
        name: "manifest that is not JSON",
        setup: |d| {
            std::fs::create_dir(d.join("b")).unwrap();
            write(d, "b/manifest.json", b"{\"id\": ");
        },
        args: &["verify", "b"],
        status: 2,
        says: "manifest.json is not a valid manifest",
    },
    Case {
        name: "manifest that is a link out of the bundle",
        setup: |d| {
            std::fs::create_dir(d.join("b")).unwrap();
            symlink("/etc/hostname", d.join("b/manifest.json")).unwrap();
        },
        args: &["verify", "b"],
        status: 2,
        says: "manifest.json is not a valid manifest",
    },
];

#[test]
fn bad_input_at_every_door_gets_its_status_and_one_clear_error() {
    let mut failures = Vec::new();
    for case in CASES {
        let dir = tempfile::tempdir().unwrap();
        (case.setup)(dir.path());
        let before = files_under(dir.path());
        let output = run_bounded(
            Command::new(witness_bin())
                .args(case.args)
                .current_dir(dir.path())
                .env_remove("WITNESS_CONFIG")
                .env("WITNESS_LOG", "off"),
        );
        let Some(output) = output else {
            failures.push(format!("{}: still running after 20 s (killed)", case.name));
            continue;
        };
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = format!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
        let mut problems = Vec::new();
        if output.status.code() != Some(case.status) {
            problems.push(format!(
                "exit status {:?}, expected {}",
                output.status.code(),
                case.status
            ));
        }
        if !said.contains(case.says) {
            problems.push(format!("the output lacks {:?}", case.says));
        }
        // `collect` prints `collecting <kind>/<name>` as a collector starts (in a pipe):
        // bad input is refused before any collector runs.
        if stderr.contains("collecting ") {
            problems.push("a collector started".into());
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            problems.push("it panicked".into());
        }
        let after = files_under(dir.path());
        if after != before {
            problems.push(format!("the directory changed: {before:?} -> {after:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n{}", case.name, problems.join("; "), text(&output)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}

/// Runs `command` to its end, or kills it after 20 s (`None`): a row that hangs fails.
fn run_bounded(command: &mut Command) -> Option<std::process::Output> {
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the witness binary runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Some(child.wait_with_output().unwrap())
}

/// Issue 22: a signing key anyone on the machine can read passed `config check` silently.
/// It still works, so the check passes, with a warning that names the file and the fix.
#[test]
fn a_signing_key_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |args: &[&str]| {
        Command::new(witness_bin())
            .args(args)
            .current_dir(d)
            .env_remove("WITNESS_CONFIG")
            .env("WITNESS_LOG", "off")
            .output()
            .unwrap()
    };
    assert!(run(&["keygen", "--out", "k"]).status.success());
    write(d, "w.toml", b"[signing]\nkey_file = \"k.key\"\n");
    let quiet = run(&["config", "check", "--config", "w.toml"]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"), "{}", text(&quiet));
    std::fs::set_permissions(d.join("k.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let warned = run(&["config", "check", "--config", "w.toml"]);
    assert!(warned.status.success(), "{}", text(&warned));
    assert!(
        String::from_utf8_lossy(&warned.stderr).contains(
            "warning: w.toml:2: signing.key_file: k.key is readable by others (mode 0644)"
        ),
        "{}",
        text(&warned)
    );
}
