//! Runs one `postgres` collection against the DSN in `WITNESS_PG_DSN` and prints the
//! evidence as JSON, with the time it took on stderr:
//! `WITNESS_PG_DSN=postgresql://witness@127.0.0.1/postgres cargo run -p witness-postgres --example collect`

use std::time::Instant;

use witness_collector::{CollectContext, CollectorConfig};
use witness_postgres::PostgresConfig;

#[tokio::main]
async fn main() {
    let config = PostgresConfig::new("example", "WITNESS_PG_DSN");
    let collector = match config.build() {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("bad config: {problems:?}");
            std::process::exit(2);
        }
    };
    let ctx = CollectContext::for_test();
    let started = Instant::now();
    let result = collector.collect(&ctx).await;
    eprintln!("collected in {:?}", started.elapsed());
    match result {
        Ok(evidence) => match serde_json::to_string_pretty(&evidence) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("cannot print evidence: {e}"),
        },
        Err(e) => {
            eprintln!("failed: {e}");
            std::process::exit(1);
        }
    }
}
