//! The bundle verifier on crafted archives: well-formed gzip and tar around hostile
//! entries (path traversal, absolute paths, symlinks and hard links, devices, sizes that
//! lie, many entries, a manifest that does not match). `archive::read` must refuse every
//! unsafe entry by name and never return a path that leaves the bundle.
#![no_main]

use std::io::Write;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Entry {
    name: Name,
    kind: Kind,
    data: Vec<u8>,
    /// A size header that lies about the data.
    claimed_size: Option<u32>,
    link: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
enum Name {
    Bundle(Vec<u8>),
    Manifest,
    Evidence(u8),
    Traversal(u8),
    Absolute,
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Fifo,
    Char,
    Other(u8),
}

fn name_bytes(name: &Name) -> Vec<u8> {
    match name {
        Name::Bundle(rest) => [b"20251119T210000Z-abc123/".as_slice(), rest].concat(),
        Name::Manifest => b"20251119T210000Z-abc123/manifest.json".to_vec(),
        Name::Evidence(n) => format!("20251119T210000Z-abc123/evidence/host-{n}.json").into_bytes(),
        Name::Traversal(depth) => {
            let mut name = b"20251119T210000Z-abc123/".to_vec();
            for _ in 0..(depth % 8) + 1 {
                name.extend_from_slice(b"../");
            }
            name.extend_from_slice(b"etc/passwd");
            name
        }
        Name::Absolute => b"/etc/passwd".to_vec(),
        Name::Raw(raw) => raw.clone(),
    }
}

fuzz_target!(|input: (Vec<Entry>, bool)| {
    let (entries, compress) = input;
    let mut tar = Vec::new();
    for entry in entries.iter().take(64) {
        let mut header = tar::Header::new_old();
        let name = name_bytes(&entry.name);
        let old = header.as_old_mut();
        let n = name.len().min(old.name.len());
        old.name[..n].copy_from_slice(&name[..n]);
        let link = &entry.link;
        let l = link.len().min(old.linkname.len());
        old.linkname[..l].copy_from_slice(&link[..l]);
        header.set_entry_type(match entry.kind {
            Kind::File => tar::EntryType::Regular,
            Kind::Dir => tar::EntryType::Directory,
            Kind::Symlink => tar::EntryType::Symlink,
            Kind::HardLink => tar::EntryType::Link,
            Kind::Fifo => tar::EntryType::Fifo,
            Kind::Char => tar::EntryType::Char,
            Kind::Other(b) => tar::EntryType::new(b),
        });
        header.set_mode(0o644);
        header.set_size(entry.claimed_size.map_or(entry.data.len() as u64, u64::from));
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(&entry.data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let bytes = if compress {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("writing to memory");
        gz.finish().expect("writing to memory")
    } else {
        tar
    };
    let dir = std::env::temp_dir().join(format!("witness-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    let path = dir.join("crafted.tar.gz");
    std::fs::write(&path, &bytes).expect("the fuzz scratch file is writable");
    if let Ok(files) = witness::bundle::archive::read(&path) {
        for name in files.keys() {
            assert!(
                witness::bundle::is_safe_path(name),
                "archive::read returned an unsafe path {name:?}"
            );
        }
    }
    let _ = witness::bundle::verify::verify(&path, None);
});
