//! `witness.toml` parsing and validation: any text gets a config or a list of problems,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness::config::WitnessConfig;

fuzz_target!(|text: &str| {
    if let Err(e) = WitnessConfig::parse(text, std::path::Path::new("fuzz.toml")) {
        assert!(!e.problems.is_empty(), "an error names at least one problem");
    }
});
