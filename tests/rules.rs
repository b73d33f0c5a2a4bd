//! Hypothesis rules over scenario fixtures (`tests/data/scenarios/<scenario>/`: the
//! trigger and one evidence file per collector, in the shape of a bundle's
//! `evidence/<kind>-<name>.json`): for each, the top recommendation, its command and the
//! evidence it cites, and that no hypothesis is made without evidence that exists. Also the
//! property that healthy evidence unrelated to the cause never changes the top
//! recommendation, and the `witness rules check` / `rules test` commands. Also that the
//! facts docs (each kind's FACTS.md, the facts table of config/rules/README.md) say what
//! the kinds declare.

use std::path::Path;

use chrono::Duration;
use proptest::prelude::*;
use witness::bundle::layout::{self, CollectorRecord};
use witness::rules::facts::{Check, KNOWN_FACTS};
use witness::rules::rule::RuleSet;
use witness::rules::{Evaluation, Hypothesis, Likelihood, Recommendation, RulesConfig};
use witness::run::analyse::{Gathered, analyse};
use witness::timeline::{EvidenceRef, Timeline};
use witness::trigger::Trigger;
use witness_collector::{Evidence, FactValue, Window};

use crate::util::scenario::{self, SCENARIOS, load};
use crate::util::{text, witness};

struct Scenario {
    records: Vec<CollectorRecord>,
    timeline: Timeline,
    evaluation: Evaluation,
}

fn evaluate(trigger: &Trigger, records: Vec<CollectorRecord>) -> Scenario {
    let view = scenario::analysed(
        trigger.clone(),
        records,
        &scenario::BUILTIN_RULES,
        scenario::no_bundle(),
    );
    Scenario { records: view.records, timeline: view.timeline, evaluation: view.evaluation }
}

fn run(name: &str) -> Scenario {
    let (trigger, records) = load(name);
    let s = evaluate(&trigger, records);
    assert_every_claim_rests_on_evidence(name, &s);
    s
}

fn top(s: &Scenario) -> &Hypothesis {
    &s.evaluation.hypotheses[0]
}

/// Whether `r` leads to something in the bundle the scenario would be.
fn resolves(s: &Scenario, r: &EvidenceRef) -> bool {
    if r.file == layout::TRIGGER {
        return true;
    }
    s.records.iter().any(|record| {
        record.evidence_path() == r.file
            && serde_json::to_value(record).unwrap().pointer(&r.pointer).is_some()
    })
}

/// No recommendation without evidence: every hypothesis cites something, every ref
/// resolves in the evidence files, and a hypothesis from rules cites at least one fact or
/// event of a collector (not only summaries).
fn assert_every_claim_rests_on_evidence(name: &str, s: &Scenario) {
    assert!(!s.evaluation.hypotheses.is_empty(), "{name}: hypotheses.json is never empty");
    for h in &s.evaluation.hypotheses {
        assert!(!h.evidence.is_empty(), "{name}: {} cites nothing", h.title);
        for r in &h.evidence {
            assert!(resolves(s, r), "{name}: {} cites {r}, which is not in the bundle", h.title);
        }
        if h.id != "default" {
            assert!(
                h.evidence.iter().any(|r| r.pointer.starts_with("/facts/")
                    || r.pointer.starts_with("/events/")
                    || r.pointer.starts_with("/data/")),
                "{name}: {} cites no fact or event: {:?}",
                h.title,
                h.evidence
            );
        } else {
            assert!(h.commands.is_empty(), "{name}: the default hypothesis recommends no command");
        }
    }
    for e in &s.timeline.entries {
        assert!(resolves(s, &e.evidence), "{name}: timeline entry {} refs {}", e.title, e.evidence);
    }
}

fn cites(h: &Hypothesis, rendered: &str) -> bool {
    h.evidence.iter().any(|r| r.to_string() == rendered)
}

fn not_evaluated<'a>(s: &'a Scenario, rule: &str) -> Option<&'a str> {
    s.evaluation.not_evaluated.iter().find(|n| n.rule == rule).map(|n| n.reason.as_str())
}

#[test]
fn bad_deploy_recommends_rolling_back_to_the_previous_revision() {
    let s = run("bad_deploy");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("bad_deploy", Recommendation::Rollback));
    assert_eq!(h.likelihood, Likelihood::High, "{h:#?}");
    assert_eq!(h.commands[0], "kubectl rollout undo deployment/checkout -n shop --to-revision=41");
    assert!(cites(h, "evidence/kubernetes-prod.json#/facts/kubernetes.minutes_since_rollout"));
    assert!(cites(h, "evidence/logs-app.json#/facts/logs.error_rate_ratio"));
    assert!(cites(h, "evidence/logs-app.json#/facts/logs.new_signatures"), "{:?}", h.evidence);
    assert!(
        cites(h, "evidence/kubernetes-prod.json#/data/deployments/0/history/revisions/0"),
        "the rollout event is cited by its own pointer: {:?}",
        h.evidence
    );
    assert!(h.title.contains("revision 42 to 41"), "{}", h.title);
    assert!(h.explanation.contains("new error signature"), "{}", h.explanation);
    // The 34 TypeErrors fold into one timeline entry.
    let burst: Vec<_> = s.timeline.entries.iter().filter(|e| e.kind == "error").collect();
    assert_eq!(burst.len(), 1);
    assert_eq!((burst[0].count, burst[0].offset.as_str()), (34, "T-11m"));
    // Not looked at: said so, not counted as healthy.
    assert!(not_evaluated(&s, "lock_contention").unwrap().contains("no postgres evidence"));
}

#[test]
fn a_migration_among_the_deployed_changes_is_a_risky_migration() {
    let s = run("migration");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("risky_migration", Recommendation::Rollback));
    assert_eq!(h.commands[0], "kubectl rollout undo deployment/orders -n shop --to-revision=17");
    assert_eq!(
        h.commands[1],
        "git log --stat 0f9e8d7c6b5a49382716a5b4c3d2e1f098765432..a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
    );
    assert!(h.explanation.contains("db/migrations/0042_rename_email.sql"), "{}", h.explanation);
    assert!(h.explanation.contains("migrated schema"), "the note about rolling back migrations");
    assert!(cites(h, "evidence/git-orders.json#/facts/git.deployed_has_migration"));
    assert!(cites(h, "evidence/logs-app.json#/facts/logs.new_signature_messages"));
    assert!(cites(h, "evidence/git-orders.json#/data/commits/0"), "{:?}", h.evidence);
    // The plain bad-deploy reading is there too, ranked below.
    assert!(s.evaluation.hypotheses.iter().any(|h| h.id == "bad_deploy"));
}

/// Issue 15, the textbook incident: a deploy ran a NOT NULL migration, the new revision's
/// requests fail with a TypeError on the email field, the health endpoint answers 503 with
/// the app's own `userService` component DOWN carrying that same TypeError, and a
/// background error runs at its usual rate in the baseline. Witness once ranked
/// "a dependency is down: userService" above the rollback, because the background error
/// made "errors began before the rollout" hold and the service's own component read as a
/// dependency.
#[test]
fn the_textbook_migration_incident_ranks_the_rollback_first() {
    let s = run("textbook_migration");
    let h = top(&s);
    assert_eq!(h.recommendation, Recommendation::Rollback, "{:#?}", s.evaluation.hypotheses);
    assert_eq!(h.id, "risky_migration", "{:#?}", s.evaluation.hypotheses);
    assert_eq!(h.likelihood, Likelihood::High, "{h:#?}");
    assert_eq!(h.commands[0], "kubectl rollout undo deployment/accounts -n shop --to-revision=41");
    assert!(h.title.contains("revision 42 to 41"), "{}", h.title);
    assert!(h.explanation.contains("migrated schema"), "the migration caveat: {}", h.explanation);
    assert!(h.explanation.contains("9f3c2a7b1d"), "the commit: {}", h.explanation);
    assert!(cites(h, "evidence/git-accounts.json#/data/commits/0"), "{:?}", h.evidence);
    assert!(
        cites(h, "evidence/git-accounts.json#/facts/git.deployed_revision"),
        "{:?}",
        h.evidence
    );
    assert!(
        !h.counter_evidence.iter().any(|c| c.contains("before the rollout")),
        "the background error is no onset: {:?}",
        h.counter_evidence
    );
    // userService fails with the service's own new error: a symptom, not a dependency.
    assert!(
        !s.evaluation.hypotheses.iter().any(|h| h.id == "dependency_down"),
        "{:#?}",
        s.evaluation.hypotheses
    );
    assert!(s.evaluation.ruled_out.iter().any(|r| r.rule == "dependency_down"));
}

#[test]
fn an_autoscaler_at_its_ceiling_is_saturation() {
    let s = run("saturation_hpa");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("saturation", Recommendation::ScaleUp));
    assert_eq!(h.commands[0], r#"kubectl patch hpa/api -n prod -p '{"spec":{"maxReplicas":15}}'"#);
    assert!(cites(h, "evidence/kubernetes-prod.json#/facts/kubernetes.hpa_at_max"));
    assert!(cites(h, "evidence/kubernetes-prod.json#/events/0"), "{:?}", h.evidence);
    assert!(h.rules.contains(&"saturation_latency".to_owned()), "{:?}", h.rules);
    assert_eq!(s.evaluation.hypotheses.len(), 1, "{:#?}", s.evaluation.hypotheses);
    let ruled_out: Vec<_> = s.evaluation.ruled_out.iter().map(|r| r.rule.as_str()).collect();
    assert!(ruled_out.contains(&"bad_deploy"), "{ruled_out:?}");
}

#[test]
fn a_saturated_host_is_saturation_even_without_kubernetes() {
    let s = run("saturation_host");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("saturation", Recommendation::ScaleUp));
    // No Kubernetes in this run: no kubectl command, and no note about it either.
    assert_eq!(h.commands, vec!["ps -eo pid,user,comm,pcpu,pmem --sort=-pcpu | head -n 15"]);
    assert!(!h.explanation.contains("left out"), "{}", h.explanation);
    assert!(cites(h, "evidence/host-local.json#/facts/host.cpu_saturated"));
    assert!(h.title.contains("98%"), "{}", h.title);
    assert_eq!(
        not_evaluated(&s, "bad_deploy"),
        Some("no kubernetes evidence (no kubernetes collector in this run)")
    );
}

#[test]
fn lock_contention_names_the_root_blocker_and_the_last_resort() {
    let s = run("lock_contention");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("lock_contention", Recommendation::Investigate));
    assert_eq!(h.likelihood, Likelihood::High);
    assert!(h.commands[0].contains("WHERE pid = 4242'"), "{:?}", h.commands);
    // DDL holding an ACCESS EXCLUSIVE lock: end that session (a cancel inside a
    // migration's transaction would keep the lock), never a plain cancel.
    assert_eq!(h.commands.last().unwrap(), "psql -X -c 'SELECT pg_terminate_backend(4242)'");
    assert!(!h.commands.iter().any(|c| c.contains("pg_cancel_backend")), "{:?}", h.commands);
    assert!(h.explanation.contains("runs DDL"), "{}", h.explanation);
    assert!(cites(h, "evidence/postgres-main.json#/facts/postgres.root_blocker_pids"));
    assert!(cites(h, "evidence/postgres-main.json#/data/lock_trees/0"), "{:?}", h.evidence);
    // Connections near the limit, but because of the locks: not saturation.
    assert!(s.evaluation.hypotheses.iter().all(|h| h.id != "saturation"));
}

#[test]
fn a_vendor_incident_named_by_our_errors_is_a_vendor_outage() {
    let s = run("vendor_outage");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("vendor_outage", Recommendation::Investigate));
    assert!(h.commands.is_empty(), "nothing to run on our side: {:?}", h.commands);
    assert!(h.title.contains("Stripe"), "{}", h.title);
    assert!(h.explanation.contains("our error messages name Stripe"), "{}", h.explanation);
    assert!(cites(h, "evidence/status_page-stripe.json#/facts/status_page.vendors_degraded"));
    // The error event that names the vendor is cited.
    assert!(cites(h, "evidence/logs-app.json#/events/0"), "{:?}", h.evidence);
    assert_eq!(h.likelihood, Likelihood::High);
}

#[test]
fn a_crash_loop_after_a_rollout_is_rolled_back() {
    let s = run("crash_loop");
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("crash_loop", Recommendation::Rollback));
    // The kubeconfig context the collector used goes into the command.
    assert_eq!(
        h.commands[0],
        "kubectl --context prod-eu rollout undo deployment/worker -n prod --to-revision=8"
    );
    assert!(h.explanation.contains("stuck"), "{}", h.explanation);
    assert!(cites(h, "evidence/kubernetes-prod.json#/facts/kubernetes.crashloop_pods"));
    assert!(cites(h, "evidence/kubernetes-prod.json#/events/1"), "{:?}", h.evidence);
    let ruled_out: Vec<_> = s.evaluation.ruled_out.iter().map(|r| r.rule.as_str()).collect();
    assert!(ruled_out.contains(&"out_of_memory"), "{ruled_out:?}");
}

#[test]
fn nothing_abnormal_says_investigate_with_what_was_checked() {
    let s = run("nothing_abnormal");
    assert_eq!(s.evaluation.hypotheses.len(), 1, "{:#?}", s.evaluation.hypotheses);
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("default", Recommendation::Investigate));
    assert_eq!(h.likelihood, Likelihood::Low);
    assert!(h.commands.is_empty());
    assert!(h.explanation.contains("Checked and not found: bad_deploy"), "{}", h.explanation);
    assert!(h.explanation.contains("Seen: git/web"), "{}", h.explanation);
    assert_eq!(s.evaluation.hypotheses[0].evidence.len(), s.records.len());
}

#[test]
fn counter_evidence_lowers_and_explains() {
    // A deploy tag 20 minutes before the alert and errors up, but Kubernetes has not rolled
    // anything out in three days.
    let (trigger, mut records) = load("nothing_abnormal");
    for r in &mut records {
        match r.kind.as_str() {
            "git" => {
                r.evidence.facts.insert("git.minutes_since_last_tag".into(), 20.0.into());
            }
            "logs" => {
                r.evidence.facts.insert("logs.error_rate_ratio".into(), 5.0.into());
                r.evidence.facts.insert("logs.error_count".into(), 50.into());
            }
            _ => {}
        }
    }
    let s = evaluate(&trigger, records);
    assert_every_claim_rests_on_evidence("tag without rollout", &s);
    let h = top(&s);
    assert_eq!((h.id.as_str(), h.recommendation), ("bad_deploy", Recommendation::Rollback));
    assert_eq!(h.likelihood, Likelihood::Low, "{h:#?}");
    assert_eq!(h.score, 0.225);
    assert_eq!(
        h.counter_evidence,
        vec![
            "no rollout of web in the 4320 min before the alert: the tag may not be deployed"
                .to_owned()
        ]
    );
    assert!(cites(h, "evidence/kubernetes-prod.json#/facts/kubernetes.minutes_since_rollout"));
}

#[test]
fn an_expired_certificate_is_named_not_rolled_back() {
    let (trigger, mut records) = load("nothing_abnormal");
    for r in records.iter_mut().filter(|r| r.kind == "http") {
        r.evidence.facts.insert("http.cert_days_left".into(), (-2).into());
        r.evidence.facts.insert("http.failing_probes".into(), 3.into());
        r.evidence.facts.insert("http.all_failing".into(), true.into());
    }
    let s = evaluate(&trigger, records);
    assert_every_claim_rests_on_evidence("expired certificate", &s);
    let h = top(&s);
    assert_eq!(
        (h.id.as_str(), h.recommendation, h.likelihood),
        ("certificate_expired", Recommendation::Investigate, Likelihood::High)
    );
    assert!(h.explanation.contains("-2 day(s) left, and 3 probe(s) failed"), "{}", h.explanation);
    assert!(cites(h, "evidence/http-web.json#/facts/http.cert_days_left"));
}

#[test]
fn a_failed_collector_is_named_in_what_could_not_be_evaluated() {
    let (trigger, mut records) = load("bad_deploy");
    for r in records.iter_mut().filter(|r| r.kind == "kubernetes") {
        r.evidence.status = witness_collector::Status::Failed;
        r.error = Some("403 Forbidden: deployments".into());
    }
    let s = evaluate(&trigger, records);
    assert_eq!(
        not_evaluated(&s, "bad_deploy"),
        Some("no kubernetes evidence (kubernetes/prod failed: 403 Forbidden: deployments)")
    );
    assert_ne!(top(&s).recommendation, Recommendation::Rollback, "no rollback without kubernetes");
}

#[test]
fn rule_dirs_add_rules_and_replace_builtin_ones_by_id() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        r#"
[[rule]]
id = "bad_deploy"
title = "Never roll back on Fridays"
recommendation = "investigate"
weight = 0.9
needs = ["kubernetes.minutes_since_rollout"]
condition = "kubernetes.minutes_since_rollout < 60.0"
explanation = "Revision {kubernetes.current_revision} is new; ask the release manager."
"#,
    )
    .unwrap();
    let (trigger, records) = load("bad_deploy");
    let anchor = trigger.starts_at;
    let window = Window::new(anchor - Duration::minutes(30), anchor);
    let config = RulesConfig { dirs: vec![dir.path().to_owned()], builtin: true };
    let gathered = Gathered { trigger, anchor, window, records };
    let evaluation = analyse(gathered, &RuleSet::load(&config), scenario::no_bundle()).evaluation;
    let h = &evaluation.hypotheses[0];
    assert_eq!(
        (h.title.as_str(), h.recommendation),
        ("Never roll back on Fridays", Recommendation::Investigate)
    );
    assert_eq!(h.explanation, "Revision 42 is new; ask the release manager.");
}

/// Healthy evidence of a kind that has nothing to do with the scenario's cause.
fn healthy_record() -> impl Strategy<Value = CollectorRecord> {
    let host = (0.05f64..0.6, 0.1f64..0.7).prop_map(|(cpu, mem)| {
        Evidence::ok("healthy host")
            .fact("host.cpu_busy_ratio", cpu)
            .fact("host.mem_used_ratio", mem)
            .fact("host.cpu_saturated", false)
            .fact("host.mem_saturated", false)
    });
    let http = (5.0f64..300.0, 20i64..400).prop_map(|(latency, days)| {
        Evidence::ok("healthy endpoint")
            .fact("http.failing_probes", 0)
            .fact("http.all_failing", false)
            .fact("http.latency_median_ms", latency)
            .fact("http.components_down", Vec::<String>::new())
            .fact("http.cert_days_left", days)
    });
    let postgres = (0.01f64..0.5).prop_map(|ratio| {
        Evidence::ok("quiet database")
            .fact("postgres.connections_used_ratio", ratio)
            .fact("postgres.blocked_sessions", 0)
            .fact("postgres.root_blockers", 0)
            .fact("postgres.root_blocker_pids", Vec::<i64>::new())
            .fact("postgres.deadlocks_delta", 0)
    });
    let status_page = Just(
        Evidence::ok("operational")
            .fact("status_page.vendors_degraded", Vec::<String>::new())
            .fact("status_page.worst_indicator", "none"),
    );
    let git = (0i64..50, 1500.0f64..10_000.0).prop_map(|(commits, minutes)| {
        Evidence::ok("quiet repository")
            .fact("git.commits_in_lookback", commits)
            .fact("git.minutes_since_last_commit", minutes)
            .fact("git.minutes_since_last_tag", minutes)
            .fact("git.migrations_in_lookback", 0)
            .fact("git.deployed_has_migration", false)
    });
    let logs = (0.2f64..1.3, 0i64..20).prop_map(|(ratio, errors)| {
        Evidence::ok("quiet logs")
            .fact("logs.error_rate_ratio", ratio)
            .fact("logs.error_count", errors)
            .fact("logs.new_signatures", 0)
            .fact("logs.new_signature_messages", Vec::<String>::new())
    });
    let kind_evidence = prop_oneof![
        host.prop_map(|e| ("host", e)),
        http.prop_map(|e| ("http", e)),
        postgres.prop_map(|e| ("postgres", e)),
        status_page.prop_map(|e| ("status_page", e)),
        git.prop_map(|e| ("git", e)),
        logs.prop_map(|e| ("logs", e)),
    ];
    (kind_evidence, "[a-z]{3,8}").prop_map(|((kind, evidence), name)| {
        let at = chrono::DateTime::parse_from_rfc3339("2025-11-19T21:01:00Z").unwrap().to_utc();
        CollectorRecord {
            kind: kind.to_owned(),
            name: format!("extra-{name}"),
            started_at: at,
            finished_at: at,
            duration_ms: 10,
            error: None,
            redactions: Default::default(),
            evidence,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn unrelated_healthy_evidence_never_changes_the_top_recommendation(
        scenario in prop::sample::select(SCENARIOS),
        extra in prop::collection::vec(healthy_record(), 1..5),
    ) {
        let (trigger, records) = load(scenario);
        let before = evaluate(&trigger, records.clone());
        let mut more = records;
        more.extend(extra);
        let after = evaluate(&trigger, more);
        let (b, a) = (top(&before), top(&after));
        prop_assert_eq!(
            (&b.id, b.recommendation, b.commands.first()),
            (&a.id, a.recommendation, a.commands.first()),
            "{}: {:#?}", scenario, a
        );
    }
}

/// Any fact value under any documented (or made-up) name, from any kind of collector.
fn arbitrary_record() -> impl Strategy<Value = CollectorRecord> {
    let value = prop_oneof![
        any::<bool>().prop_map(FactValue::from),
        any::<i64>().prop_map(FactValue::from),
        any::<f64>().prop_map(FactValue::from),
        ".{0,20}".prop_map(FactValue::from),
        prop::collection::vec(".{0,12}", 0..4).prop_map(FactValue::from),
        prop::collection::vec(any::<i64>(), 0..4).prop_map(FactValue::from),
    ];
    let known: Vec<&'static str> = KNOWN_FACTS.iter().map(|f| f.name).collect();
    let name = prop_oneof![
        prop::sample::select(known).prop_map(str::to_owned),
        "[a-z_]{1,8}\\.[a-z_.~/]{0,8}"
    ];
    let kinds = witness::registry::KINDS.iter().map(|k| k.name).chain(["other"]);
    let kind = prop::sample::select(kinds.collect::<Vec<_>>());
    (kind, "[a-z0-9-]{1,6}", prop::collection::btree_map(name, value, 0..12)).prop_map(
        |(kind, name, facts)| {
            let at = chrono::DateTime::parse_from_rfc3339("2025-11-19T21:01:00Z").unwrap().to_utc();
            let mut evidence = Evidence::ok("anything");
            evidence.facts = facts;
            CollectorRecord {
                kind: kind.to_owned(),
                name,
                started_at: at,
                finished_at: at,
                duration_ms: 1,
                error: None,
                redactions: Default::default(),
                evidence,
            }
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Evidence is input from systems in trouble: whatever it holds, evaluating it never
    /// panics, always ranks something, and every command line is one plain command whose
    /// values passed their checks.
    #[test]
    fn any_evidence_evaluates_to_claims_that_rest_on_it(
        records in prop::collection::vec(arbitrary_record(), 0..6),
    ) {
        let (trigger, _) = load("nothing_abnormal");
        let s = evaluate(&trigger, records);
        assert_every_claim_rests_on_evidence("arbitrary evidence", &s);
        for h in &s.evaluation.hypotheses {
            for c in &h.commands {
                prop_assert!(!c.contains('\n') && !c.contains('`') && !c.contains("$("), "{}", c);
            }
        }
    }
}

#[test]
fn rules_check_accepts_the_shipped_rules_and_points_at_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/rules");
    let mut args = vec!["rules".to_owned(), "check".to_owned()];
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "toml") {
            args.push(path.display().to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = witness(dir.path(), &args);
    assert!(output.status.success(), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("; 0 problems"), "{}", text(&output));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"typo\"\ntitle = \"t\"\nrecommendation = \"rollback\"\nweight = 0.5\n\
         condition = \"kubernetes.minutes_since_rolout < 10.0 &&\"\nexplanation = \"e\"\n",
    )
    .unwrap();
    let output = witness(dir.path(), &["rules", "check", "bad.toml"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(stdout.contains("bad.toml:6: rule typo: condition is not valid CEL"), "{stdout}");
    assert!(
        stdout.contains("bad.toml:6: rule typo: unknown fact `kubernetes.minutes_since_rolout`"),
        "{stdout}"
    );
}

#[test]
fn rules_test_re_evaluates_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundles");
    let output =
        witness(dir.path(), &["collect", "now", "--only", "host", "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let bundle = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a bundle directory");
    let output = witness(dir.path(), &["rules", "test", "--bundle", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("Could not evaluate ("), "{stdout}");
    assert!(
        stdout.contains("bad_deploy: no kubernetes evidence (no kubernetes collector in this run)")
            || stdout.contains("bad_deploy: no kubernetes evidence (kubernetes/"),
        "{stdout}"
    );
    assert!(stdout.contains("Hypotheses:\n1. "), "{stdout}");
    let hypotheses: Evaluation =
        serde_json::from_slice(&std::fs::read(bundle.join("hypotheses.json")).unwrap()).unwrap();
    assert!(!hypotheses.hypotheses.is_empty());
    let timeline: Timeline =
        serde_json::from_slice(&std::fs::read(bundle.join("timeline.json")).unwrap()).unwrap();
    assert!(timeline.entries.iter().any(|e| e.kind == "alert"));
}

#[test]
fn every_kind_documents_exactly_the_facts_it_declares() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for kind in witness::registry::KINDS {
        let path = root.join("collectors").join(kind.name).join("FACTS.md");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (every kind documents its facts)", path.display()));
        let problems = witness_collector::kind::facts_doc_mismatches(kind, &text);
        assert_eq!(problems, Vec::<String>::new(), "{}", path.display());
        for fact in kind.facts {
            let (prefix, _) = fact.name.split_once('.').unwrap_or_default();
            assert_eq!(prefix, kind.name, "{} is published by {}", fact.name, kind.name);
        }
    }
}

/// The facts table of config/rules/README.md, as the declarations say it must read.
fn facts_table() -> Vec<String> {
    let checked_as = |check: Check| match check {
        Check::Int => "whole number",
        Check::Number => "number",
        Check::K8sName => "DNS-1123 name",
        Check::K8sLabel => "DNS-1123 label",
        Check::GitRev => "git revision",
        Check::Word => "plain word",
    };
    let mut table = vec![
        "| fact | type | merge | checked in commands as | meaning |".to_owned(),
        "|---|---|---|---|---|".to_owned(),
    ];
    table.extend(KNOWN_FACTS.iter().map(|f| {
        let (name, kind, merge) = (f.name, f.kind, f.merge.as_str());
        format!("| `{name}` | {kind} | {merge} | {} | {} |", checked_as(f.check), f.meaning)
    }));
    table
}

/// Holds the table of `file` (under the repository root) that starts with the line
/// `header` to `expected`; with `WITNESS_BLESS=1` in the environment, rewrites it so.
fn generated_table(file: &str, header: &str, expected: &[String]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("{file} has no table starting `{header}`"));
    let len = lines[start..].iter().take_while(|l| l.starts_with('|')).count();
    let written: Vec<String> = lines[start..start + len].iter().map(|l| (*l).to_owned()).collect();
    if written == expected {
        return;
    }
    if std::env::var_os("WITNESS_BLESS").is_some() {
        let mut out: Vec<String> = lines[..start].iter().map(|l| (*l).to_owned()).collect();
        out.extend(expected.iter().cloned());
        out.extend(lines[start + len..].iter().map(|l| (*l).to_owned()));
        std::fs::write(&path, out.join("\n") + "\n").expect("rewrite the table");
        return;
    }
    let missing: Vec<&String> = expected.iter().filter(|row| !written.contains(row)).collect();
    let extra: Vec<&String> = written.iter().filter(|row| !expected.contains(row)).collect();
    panic!(
        "{file}'s table must read as the kinds declare themselves (WITNESS_BLESS=1 cargo test \
         --test integration rules rewrites it)\nrows to write: {missing:#?}\nrows to drop: \
         {extra:#?}\n(and otherwise the order of the declarations)"
    );
}

#[test]
fn the_rules_readme_lists_the_declared_facts_as_declared() {
    generated_table("config/rules/README.md", "| fact | type | merge |", &facts_table());
}

#[test]
fn the_readme_lists_every_kind_with_what_it_sees() {
    let mut table = vec!["| kind | sees |".to_owned(), "|---|---|".to_owned()];
    table.extend(witness::registry::KINDS.iter().map(|k| format!("| `{}` | {} |", k.name, k.sees)));
    generated_table("README.md", "| kind | sees |", &table);
}

/// Issue 15: `rules test --bundle` shows, for each hypothesis, its cause, the symptoms it
/// explains, those it does not and what speaks against it.
#[test]
fn rules_test_shows_cause_symptoms_and_counter_evidence() {
    let view = scenario::view("textbook_migration");
    let report = witness::commands::rules::test_report(&view, &RulesConfig::default());
    let first = report.split("\n2. ").next().unwrap();
    assert!(first.contains("Hypotheses:\n1. Risky migration"), "{report}");
    assert!(first.contains("   cause: migration\n"), "{report}");
    assert!(
        first.contains("   explains: error_rate, new_errors, health_failing, components_down\n"),
        "{report}"
    );
    assert!(first.contains("   unexplained: none\n"), "{report}");
    assert!(
        report.contains("   against: the deployed changes include a migration"),
        "the plain bad-deploy reading says why it ranks second: {report}"
    );
}

/// Issue 15: the rules measured on a generated corpus of 17 incident classes × 20 seeded
/// variants with noise (`tests/util/corpus.rs`), as `witness rules eval` measures them.
/// Floors: every class ≥ 95% top-1, a false alarm or a decoy deploy never recommends a
/// rollback or a scale-up, and a `high` top hypothesis is right ≥ 95% of the time.
#[test]
fn the_rules_meet_their_floors_on_the_generated_corpus() {
    let dir = tempfile::tempdir().unwrap();
    crate::util::corpus::generate(dir.path(), 20);
    let (cases, unlabelled) =
        witness::commands::rules::eval_cases(dir.path(), &scenario::BUILTIN_RULES).unwrap();
    assert_eq!((cases.len(), unlabelled), (17 * 20, 0));
    let report = witness::rules::accuracy::Report::of(&cases);
    let rendered = report.render();
    // The figures the README quotes (`cargo test --test integration corpus -- --nocapture`).
    println!("{rendered}");
    for (class, _) in crate::util::corpus::CLASSES {
        let accuracy = report.accuracy(class).unwrap();
        assert!(accuracy >= 0.95, "{class}: {:.1}% top-1\n{rendered}", accuracy * 100.0);
    }
    assert!(report.harmful.is_empty(), "{rendered}");
    let high = report.calibrated(Likelihood::High).unwrap();
    assert!(high >= 0.95, "high right {:.1}%\n{rendered}", high * 100.0);
}

/// `witness label` writes the true cause beside a sealed bundle, never inside it, and
/// `witness rules eval` reads such labels: here over a store of one collected bundle
/// (labelled) and the generated corpus's case directories.
#[test]
fn label_and_rules_eval_measure_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let output = witness(
        dir.path(),
        &["collect", "now", "--only", "host", "--archive", "--out", store.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output));
    let bundle = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir())
        .expect("a bundle directory");
    let before: Vec<_> = std::fs::read_dir(&bundle).unwrap().map(|e| e.unwrap().path()).collect();
    let bad = witness(dir.path(), &["label", bundle.to_str().unwrap(), "--cause", "gremlins"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown cause `gremlins`"),
        "{}",
        text(&bad)
    );
    let output = witness(dir.path(), &["label", bundle.to_str().unwrap(), "--cause", "none"]);
    assert!(output.status.success(), "{}", text(&output));
    let label = bundle
        .with_file_name(format!("{}.label.json", bundle.file_name().unwrap().to_str().unwrap()));
    assert_eq!(
        std::fs::read_to_string(&label).unwrap(),
        "{\n  \"cause\": \"none\"\n}\n",
        "the label sits beside the bundle"
    );
    let after: Vec<_> = std::fs::read_dir(&bundle).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "nothing inside the sealed bundle changes");
    let output = witness(dir.path(), &["verify", bundle.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));

    crate::util::corpus::generate(&store, 2);
    let output = witness(dir.path(), &["rules", "eval", store.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("35 cases, top-1 accuracy"), "the archive is the same case: {stdout}");
    assert!(stdout.contains("  none                     "), "the bundle counts: {stdout}");
    assert!(stdout.contains("Per class (top-1):\n  bad_deploy"), "{stdout}");
    assert!(stdout.contains("Calibration (how often the top hypothesis was right):"), "{stdout}");
    assert!(stdout.contains("Confusion (true cause → predicted cause: cases):"), "{stdout}");
}

/// Issue 15, the textbook incident through the real collectors: a log file where a cron
/// job fails at its usual rate before and during the window and the new revision's
/// requests fail with a TypeError on `email`; a health endpoint answering 503 with the
/// app's own `userService` DOWN carrying that TypeError; a git repository whose deploy tag
/// v1.4.0 (14 minutes ago) brought a NOT NULL migration. `collect now` must rank the
/// rollback first, with the migration caveat and the commit, and never call userService a
/// dependency.
#[test]
fn the_textbook_migration_incident_through_the_real_collectors() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let now = chrono::Utc::now();
    let stamp = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();

    let mut lines: Vec<(chrono::DateTime<chrono::Utc>, String)> = Vec::new();
    let mut t = now - Duration::minutes(60);
    while t < now {
        lines.push((t, format!("{} INFO request ok", stamp(t))));
        t += Duration::seconds(10);
    }
    for i in 0..12 {
        let t = now - Duration::minutes(58) + Duration::minutes(5 * i);
        lines.push((t, format!("{} ERROR cron: sitemap refresh failed after 3 retries", stamp(t))));
    }
    for i in 0..40 {
        let t = now - Duration::minutes(11) + Duration::seconds(15 * i);
        lines.push((t, format!(
            "{} ERROR api: TypeError: Cannot read properties of null (reading 'email') at updateProfile (src/users/profile.js:42)",
            stamp(t)
        )));
    }
    lines.sort_by_key(|(t, _)| *t);
    let log = dir.path().join("app.log");
    let body: String = lines.into_iter().map(|(_, l)| l + "\n").collect();
    std::fs::write(&log, body).unwrap();

    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git_at = |args: &[&str], minutes_ago: i64| {
        let date = (now - Duration::minutes(minutes_ago)).to_rfc3339();
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_AUTHOR_NAME", "Ana")
            .env("GIT_AUTHOR_EMAIL", "ana@example.com")
            .env("GIT_COMMITTER_NAME", "Ana")
            .env("GIT_COMMITTER_EMAIL", "ana@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {}", text(&output));
    };
    git_at(&["init", "-q", "-b", "main"], 300);
    std::fs::create_dir_all(repo.join("src/users")).unwrap();
    std::fs::write(repo.join("src/users/profile.js"), "module.exports = {};\n").unwrap();
    git_at(&["add", "."], 300);
    git_at(&["commit", "-q", "-m", "profile page"], 300);
    git_at(&["tag", "-a", "v1.3.2", "-m", "1.3.2"], 290);
    std::fs::create_dir_all(repo.join("db/migrations")).unwrap();
    std::fs::write(
        repo.join("db/migrations/0043_users_email_not_null.sql"),
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n",
    )
    .unwrap();
    std::fs::write(repo.join("src/users/profile.js"), "module.exports = { email: null };\n")
        .unwrap();
    git_at(&["add", "."], 120);
    git_at(&["commit", "-q", "-m", "users.email NOT NULL"], 120);
    git_at(&["tag", "-a", "v1.4.0", "-m", "1.4.0"], 14);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let body = r#"{"status":"DOWN","components":{"db":{"status":"UP"},"userService":{"status":"DOWN","details":{"error":"TypeError: Cannot read properties of null (reading 'email')"}}}}"#;
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });

    let config = dir.path().join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "[[collectors.logs]]\nname = \"app\"\npaths = [\"{}\"]\n\n\
             [[collectors.http]]\nname = \"accounts-health\"\nurl = \"http://127.0.0.1:{port}/actuator/health\"\nprobe_interval_ms = 50\n\n\
             [[collectors.git]]\nname = \"accounts\"\npath = \"{}\"\ndeploy_tags = [\"v*\"]\n",
            log.display(),
            repo.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("bundles");
    let output = witness(
        dir.path(),
        &[
            "collect",
            "now",
            "--config",
            config.to_str().unwrap(),
            "--only",
            "logs,http,git",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let bundle = crate::util::only_entry(&out);
    let evaluation: Evaluation =
        serde_json::from_slice(&std::fs::read(bundle.join("hypotheses.json")).unwrap()).unwrap();
    let h = &evaluation.hypotheses[0];
    assert_eq!(
        (h.id.as_str(), h.recommendation),
        ("risky_migration", Recommendation::Rollback),
        "{:#?}",
        evaluation.hypotheses
    );
    assert!(h.explanation.contains("migrated schema"), "{}", h.explanation);
    assert!(h.explanation.contains("they name email"), "{}", h.explanation);
    assert!(h.commands.iter().any(|c| c.starts_with("git log --stat ")), "{:?}", h.commands);
    assert!(
        h.evidence
            .iter()
            .any(|r| r.to_string() == "evidence/git-accounts.json#/facts/git.deployed_revision"),
        "{:?}",
        h.evidence
    );
    assert!(
        !evaluation.hypotheses.iter().any(|h| h.id == "dependency_down"),
        "{:#?}",
        evaluation.hypotheses
    );
}
