//! Recognises schema changes in query text: a root blocker running DDL (a migration's
//! `ALTER TABLE`, a `CREATE INDEX` without `CONCURRENTLY`, `VACUUM FULL`) points at the
//! deploy that started it, which is what the rollback rules want to know.

use witness_collector::Redacted;

/// The DDL statement `query` runs, e.g. `ALTER TABLE`, or `None` when it runs none.
/// Multi-statement strings are read statement by statement (transaction control and
/// `SET` skipped); comments are ignored. The query is redacted: the command's words come
/// from it.
pub fn ddl_command(query: &Redacted) -> Option<String> {
    strip_comments(query).split(';').find_map(classify)
}

fn classify(statement: &str) -> Option<String> {
    let upper = statement.to_ascii_uppercase();
    let words: Vec<&str> = upper
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .collect();
    let word = |i: usize| words.get(i).copied().unwrap_or("");
    let has = |w: &str| words.contains(&w);
    let first = word(0);
    match first {
        "ALTER" | "DROP" => Some(format!("{first} {}", word(1))),
        "TRUNCATE" | "CLUSTER" => Some(first.to_owned()),
        // CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY and REFRESH MATERIALIZED VIEW
        // CONCURRENTLY take no lock that blocks writes.
        "CREATE" if has("CONCURRENTLY") => None,
        "CREATE" if word(1) == "INDEX" || (word(1) == "UNIQUE" && word(2) == "INDEX") => {
            Some("CREATE INDEX".to_owned())
        }
        "CREATE" => Some(format!("CREATE {}", word(1))),
        "REINDEX" if !has("CONCURRENTLY") => Some("REINDEX".to_owned()),
        "VACUUM" if has("FULL") => Some("VACUUM FULL".to_owned()),
        "REFRESH" if !has("CONCURRENTLY") => Some("REFRESH MATERIALIZED VIEW".to_owned()),
        _ => None,
    }
}

/// Removes `-- line` and `/* block */` comments (not inside quotes: good enough to find
/// the first word of each statement).
fn strip_comments(query: &str) -> String {
    let mut out = String::with_capacity(query.len());
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('-', Some('-')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push(' ');
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
                out.push(' ');
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    fn ddl_command(query: &str) -> Option<String> {
        super::ddl_command(&witness_collector::Redactor::builtin().redact(query))
    }

    #[test]
    fn migrations_are_ddl() {
        assert_eq!(
            ddl_command("ALTER TABLE orders ADD COLUMN x int").as_deref(),
            Some("ALTER TABLE")
        );
        assert_eq!(
            ddl_command("  /* migrate 42 */ create index on orders(x)").as_deref(),
            Some("CREATE INDEX")
        );
        assert_eq!(ddl_command("CREATE UNIQUE INDEX i ON t(a)").as_deref(), Some("CREATE INDEX"));
        assert_eq!(ddl_command("vacuum (full, verbose) orders").as_deref(), Some("VACUUM FULL"));
        assert_eq!(
            ddl_command("BEGIN; SET lock_timeout=0; -- x\nDROP TABLE t").as_deref(),
            Some("DROP TABLE")
        );
        assert_eq!(ddl_command("TRUNCATE t").as_deref(), Some("TRUNCATE"));
    }

    #[test]
    fn non_blocking_or_plain_statements_are_not() {
        assert_eq!(ddl_command("CREATE INDEX CONCURRENTLY i ON t(a)"), None);
        assert_eq!(ddl_command("REINDEX INDEX CONCURRENTLY i"), None);
        assert_eq!(ddl_command("VACUUM ANALYZE t"), None);
        assert_eq!(ddl_command("SELECT * FROM alter_log"), None);
        assert_eq!(ddl_command("UPDATE t SET a = 1"), None);
        assert_eq!(ddl_command("LOCK TABLE t IN ACCESS EXCLUSIVE MODE"), None);
        assert_eq!(ddl_command("<insufficient privilege>"), None);
    }
}
