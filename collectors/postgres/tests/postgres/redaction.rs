//! Secrets in what PostgreSQL shows of its sessions never reach the evidence or the
//! artifacts: the collector redacts every session's texts where it reads them, each query
//! whole before it is cut to `max_query_chars`, so a cut inside `PASSWORD '…'` leaves
//! nothing of the password.

use witness_collector::CollectContext;
use witness_net::seeds::{self, Secret};

use crate::scene::tree_of;
use crate::support::{TestDb, collect_in, wait_until_waiting};

/// A root blocker idle in a transaction whose last query is `ALTER ROLE … PASSWORD '…'`
/// behind a comment holding a secret of every class, with the password across the cut
/// of `max_query_chars`; a session blocked behind it running the same with another
/// password; a long statement with a secret in a comment; a secret application name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_query_text_and_session_names_never_reach_the_evidence() {
    for seed in [1, 2] {
        let mut db = TestDb::create("redact").await;
        let role = db.role("pw", false).await;
        let mut seeded = seeds::secrets(seed);
        let comment: Vec<&str> = seeded.iter().map(|s| s.text.as_str()).collect();
        let comment = comment.join("\n");
        let root_pw = format!("Root-{}", seeded[2].value.get(4..28).unwrap());
        let blocked_pw = format!("Blocked-{}", seeded[4].value.get(40..64).unwrap());
        let sleeper_pw = format!("Sleep-{}", seeded[8].value);
        let app_name = seeded.iter().find(|s| s.class == "github_token").unwrap().value.clone();
        for (class, value) in [
            ("root_password", &root_pw),
            ("blocked_password", &blocked_pw),
            ("sleeper", &sleeper_pw),
        ] {
            seeded.push(Secret { class, value: value.clone(), text: String::new() });
        }

        let admin = db.session().await;
        let root = db.session().await;
        // Text after the password, so that the redacted query is still cut.
        let tail = "-".repeat(300);
        let root_query =
            format!("/* {comment} */\nALTER ROLE {role} PASSWORD '{root_pw}' /* {tail} */");
        root.client
            .batch_execute(&format!("SET application_name = '{app_name}'"))
            .await
            .expect("root names itself");
        root.client.batch_execute("BEGIN").await.expect("root begins");
        root.client.batch_execute(&root_query).await.expect("root alters the role");
        let blocked = db.session().await;
        blocked.send(&format!("ALTER ROLE {role} PASSWORD '{blocked_pw}'"));
        wait_until_waiting(&admin.client, blocked.pid).await;
        let sleeper = db.session().await;
        sleeper.send(&format!("SELECT pg_sleep(60) /* password={sleeper_pw} */"));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;

        let mut config = db.config_for(&db.dsn_as(None, "sslmode=disable"));
        config.long_statement_secs = 1;
        config.idle_in_transaction_secs = 1;
        config.sample_interval_ms = 200;
        // The cut falls in the middle of the root's password, in the text as sent.
        let password_at = root_query.find("PASSWORD '").unwrap() + "PASSWORD '".len();
        config.max_query_chars = u32::try_from(password_at + root_pw.len() / 2).unwrap();
        let ctx = CollectContext::for_test();
        let ev = collect_in(&config, &ctx).await.expect("collects");

        // The places the secrets could leak through are there.
        let tree = tree_of(&ev.data, root.pid).unwrap_or_else(|| panic!("{:#}", ev.data));
        assert_eq!(tree["root"]["session"]["query_truncated"], true, "{tree:#}");
        assert!(tree["root"]["children"][0]["session"]["query"].is_string(), "{tree:#}");
        let long = ev.data["long_statements"].as_array().unwrap();
        assert!(long.iter().any(|s| s["pid"] == sleeper.pid), "{long:?}");
        let everything = seeds::everything(&ev, &ctx);
        assert!(everything.contains("[REDACTED:"), "{everything}");
        seeds::assert_none_survive("the postgres evidence and artifacts", &everything, &seeded);
    }
}
