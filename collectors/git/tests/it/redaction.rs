//! Secrets committed into a repository (a subject pasted from a terminal, an author
//! name, a file named after a token, a tag) never reach the evidence: the collector
//! redacts every text where it reads it from the repository, before it cuts a subject
//! for a title or classifies a path.

use witness_git::GitConfig;
use witness_net::seeds::{self, Secret};

use super::support::{TestRepo, before, collect_with, context, git_in};

#[tokio::test]
async fn secrets_in_subjects_authors_paths_and_tags_never_reach_the_evidence() {
    for seed in [7, 8] {
        let repo = TestRepo::init();
        let mut seeded = seeds::secrets(seed);
        let ghp = seeded.iter().find(|s| s.class == "github_token").unwrap().value.clone();
        let kv = seeded.iter().find(|s| s.class == "key_value").unwrap().value.clone();
        // One commit per secret, its subject the secret's text; the author's name and
        // email hold secrets too. Each subject is long enough to be cut in its title.
        for (i, secret) in seeded.iter().enumerate() {
            repo.write(&format!("notes/{i}.txt"), &secret.text);
            repo.git(&["add", "-A"]);
            let when = before(100 - i64::try_from(i).unwrap()).to_rfc3339();
            let subject = format!("{} {}", secret.text, "x".repeat(100));
            git_in(
                &repo.path,
                &["commit", "-q", "-m", &subject],
                &[
                    ("GIT_AUTHOR_DATE", when.clone()),
                    ("GIT_COMMITTER_DATE", when),
                    ("GIT_AUTHOR_NAME", format!("Deploy password={kv}")),
                    ("GIT_AUTHOR_EMAIL", format!("bot+{ghp}@example.com")),
                ],
            );
        }
        // A file named after a token, in a migration folder, and a tag named after one.
        repo.write(&format!("db/migrations/001-{ghp}.sql"), "SELECT 1;\n");
        let id = repo.commit("add migration", before(10));
        repo.git(&["tag", &format!("v1-{ghp}"), &id]);

        let mut config = GitConfig::new("test", &repo.path);
        config.include_author_email = true;
        let ev = collect_with(&config, &context()).await;
        assert_eq!(ev.data["commits"].as_array().unwrap().len(), seeded.len() + 1, "{:#}", ev.data);
        assert!(ev.data["tags"][0]["name"].as_str().unwrap().starts_with("v1-"), "{:#}", ev.data);
        seeded.push(Secret { class: "author", value: kv, text: String::new() });
        let everything = serde_json::to_string(&ev).unwrap();
        assert!(everything.contains("[REDACTED:"), "{everything}");
        seeds::assert_none_survive("the git evidence", &everything, &seeded);
    }
}
