//! Rule files (`config/rules/*.toml`): any text gets rules or problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness::rules::rule::RuleSet;

fuzz_target!(|text: &str| {
    let mut set = RuleSet::default();
    set.add_file("fuzz.toml", text);
});
