//! A real Garage cluster for the tests (the distributed S3-compatible store; binary in
//! `WITNESS_TEST_GARAGE`, else `garage` on `PATH` or in `~/.cargo/bin`, which
//! `tests/run.sh` installs with `cargo install garage --locked`): three nodes on free
//! ports of 127.0.0.1, one zone, replication factor 3 (writes need two of three), a bucket
//! and a key made with its CLI. Nodes can be killed (`kill -9`) and started again on the
//! same data. Every node is killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// One node: its config file, its ports, its process while it runs.
struct Node {
    config: PathBuf,
    s3_port: u16,
    child: Option<Child>,
}

/// A running 3-node cluster with one bucket and one key.
pub struct Garage {
    nodes: Vec<Node>,
    pub bucket: String,
    pub key_id: String,
    pub secret: String,
    binary: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The garage binary the tests run.
pub fn binary() -> String {
    if let Ok(path) = std::env::var("WITNESS_TEST_GARAGE") {
        return path;
    }
    let cargo_bin =
        std::env::var("HOME").map(|h| format!("{h}/.cargo/bin/garage")).unwrap_or_default();
    if Path::new(&cargo_bin).is_file() { cargo_bin } else { "garage".into() }
}

impl Garage {
    /// Starts three nodes under `dir`, connects them, applies a layout of three 1 GB nodes
    /// in zone dc1, and creates bucket `bucket` with a key allowed to read and write it.
    /// Waits (60 s at most) until the bucket takes writes.
    pub fn start(dir: &Path, bucket: &str) -> Self {
        let secret: String = (0..32).map(|_| format!("{:02x}", rand_byte())).collect();
        let mut nodes = Vec::new();
        for i in 0..3 {
            let root = dir.join(format!("garage{i}"));
            std::fs::create_dir_all(&root).unwrap();
            let (rpc, s3) = (free_port(), free_port());
            let config = root.join("garage.toml");
            std::fs::write(
                &config,
                format!(
                    "metadata_dir = {meta:?}\ndata_dir = {data:?}\ndb_engine = \"sqlite\"\n\
                     replication_factor = 3\nconsistency_mode = \"consistent\"\n\
                     rpc_bind_addr = \"127.0.0.1:{rpc}\"\nrpc_public_addr = \"127.0.0.1:{rpc}\"\n\
                     rpc_secret = \"{secret}\"\n\n[s3_api]\ns3_region = \"garage\"\n\
                     api_bind_addr = \"127.0.0.1:{s3}\"\n",
                    meta = root.join("meta"),
                    data = root.join("data"),
                ),
            )
            .unwrap();
            nodes.push(Node { config, s3_port: s3, child: None });
        }
        let mut garage = Self {
            nodes,
            bucket: bucket.to_owned(),
            key_id: String::new(),
            secret: String::new(),
            binary: binary(),
        };
        for i in 0..3 {
            garage.start_node(i);
        }
        // Each node's id, then every node connected to the first.
        let ids: Vec<String> = (0..3)
            .map(|i| {
                let out = garage.retry(i, &["node", "id", "-q"], "node id");
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            })
            .collect();
        for id in &ids[1..] {
            garage.retry(0, &["node", "connect", id], "node connect");
        }
        // A node started again finds the others at once (else it waits for their retries).
        let peers: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
        for node in &garage.nodes {
            let text = std::fs::read_to_string(&node.config).unwrap();
            let text = text.replacen(
                "[s3_api]",
                &format!("bootstrap_peers = [{}]\n\n[s3_api]", peers.join(", ")),
                1,
            );
            std::fs::write(&node.config, text).unwrap();
        }
        for id in &ids {
            let short = id.split('@').next().unwrap();
            garage.retry(0, &["layout", "assign", "-z", "dc1", "-c", "1G", short], "layout assign");
        }
        garage.retry(0, &["layout", "apply", "--version", "1"], "layout apply");
        garage.retry(0, &["bucket", "create", bucket], "bucket create");
        let out = garage.retry(0, &["key", "create", &format!("{bucket}-key")], "key create");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix(name)
                        .map(|v| v.trim().trim_start_matches(':').trim().to_owned())
                })
                .unwrap_or_else(|| panic!("no {name} in `garage key create`:\n{text}"))
        };
        garage.key_id = field("Key ID");
        garage.secret = field("Secret key");
        garage.retry(
            0,
            &[
                "bucket",
                "allow",
                "--read",
                "--write",
                "--owner",
                bucket,
                "--key",
                &format!("{bucket}-key"),
            ],
            "bucket allow",
        );
        garage
    }

    /// `http://127.0.0.1:<port>` of node `i`'s S3 API.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// The address of node `i`'s S3 API.
    pub fn s3_addr(&self, i: usize) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.nodes[i].s3_port))
    }

    /// Runs the CLI against node `i` until it succeeds (30 s at most): the cluster takes a
    /// moment to connect and to apply a layout.
    fn retry(&self, i: usize, args: &[&str], what: &str) -> Output {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.cli(i, args);
            if out.status.success() {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "garage {what} failed for 30 s: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// `garage -c <node i's config> ARGS`.
    pub fn cli(&self, i: usize, args: &[&str]) -> Output {
        Command::new(&self.binary)
            .arg("-c")
            .arg(&self.nodes[i].config)
            .args(args)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {} (tests/run.sh installs it): {e}", self.binary)
            })
    }

    /// Starts node `i` (again, on its data) and waits (20 s at most) for its S3 port.
    pub fn start_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let log = std::fs::File::create(node.config.with_extension("log")).unwrap();
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&node.config)
            .arg("server")
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {} (tests/run.sh installs it): {e}", self.binary)
            });
        node.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", node.s3_port)).is_err() {
            assert!(Instant::now() < deadline, "garage node {i} did not open its S3 port in 20 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kill -9` of node `i`.
    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits (60 s at most) until a write through node `i` succeeds again after nodes
    /// came back: `garage bucket info` answers once the node sees a quorum.
    pub fn wait_ready(&self, i: usize) {
        self.retry(i, &["bucket", "info", &self.bucket], "bucket info");
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill_node(i);
        }
    }
}

fn rand_byte() -> u8 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos(),
    );
    h.finish() as u8
}
