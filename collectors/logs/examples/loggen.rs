//! Writes a time-ordered application log for the benchmark (`tests/bench/logs.sh`):
//! `loggen OUT BYTES HOURS` writes at least BYTES bytes spread evenly over HOURS hours
//! (a little more, to reach the end time) ending at 2025-11-19T21:00:00Z, with about 0.5 % error lines (some with stack traces),
//! and, in the last 30 minutes, an error spike with a signature the rest never has.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(bytes), Some(hours)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: loggen OUT BYTES HOURS");
        std::process::exit(2);
    };
    let bytes: u64 = bytes.parse().expect("BYTES is a number");
    let hours: i64 = hours.parse().expect("HOURS is a number");
    let end = chrono::DateTime::parse_from_rfc3339("2025-11-19T21:00:00Z")
        .expect("constant")
        .timestamp_millis();
    let start = end - hours * 3_600_000;
    // Lines average about 124 bytes; aim a little short so BYTES is reached before the
    // end time, then keep writing until the end time.
    let lines = bytes / 120 + 1;
    let step = ((end - start) as f64 / lines as f64).max(0.001);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut written = 0u64;
    let mut i = 0u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    loop {
        let t = start + (i as f64 * step) as i64;
        if written >= bytes && t >= end {
            break;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let ts = chrono::DateTime::from_timestamp_millis(t).expect("in range");
        let stamp = ts.format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let spike = end - t < 30 * 60_000;
        let line = match rng % 1000 {
            0..=2 => format!(
                "{stamp} ERROR [db] query failed: timeout after {} ms on 10.0.{}.{}:5432\n",
                rng % 5000,
                rng % 7,
                rng % 250
            ),
            3 => format!(
                "{stamp} ERROR [api] unhandled exception for order {}\njava.lang.IllegalStateException: order {} in state \"paid\"\n\tat com.example.Orders.pay(Orders.java:{})\n\tat com.example.Api.handle(Api.java:88)\n",
                rng % 100_000,
                rng % 100_000,
                rng % 400
            ),
            4 if spike => format!(
                "{stamp} ERROR [payments] upstream vendor returned 503 for charge ch_{:x}\n",
                rng
            ),
            5..=30 if spike => format!(
                "{stamp} ERROR [payments] connection pool exhausted after {} waiters\n",
                rng % 90
            ),
            10..=59 => format!(
                "{stamp} WARN  [cache] miss ratio {}.{}% above threshold for shard {}\n",
                rng % 40,
                rng % 10,
                rng % 64
            ),
            _ => format!(
                "{stamp} INFO  [http] request handled method=GET path=/api/orders/{} user={} status=200 duration_ms={}\n",
                rng % 1_000_000,
                rng % 50_000,
                rng % 300
            ),
        };
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    w.flush()
}
