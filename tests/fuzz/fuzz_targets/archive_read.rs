//! The bundle verifier on arbitrary bytes given as a `.tar.gz`: an error that names the
//! problem, never a panic, never a file outside the archive touched.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let dir = tempdir();
    let path = dir.join("bundle.tar.gz");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .expect("the fuzz scratch file is writable");
    let _ = witness::bundle::archive::read(&path);
    let _ = witness::bundle::verify::verify(&path, None);
});

/// One scratch directory per process (libFuzzer runs inputs one after another).
fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("witness-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("the temporary directory is writable");
    dir
}
