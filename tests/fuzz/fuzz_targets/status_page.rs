//! Vendor status page parsing (Atlassian Statuspage v2 and the other formats): any body
//! gets a snapshot or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness_status_page::formats::{gcp, instatus, slack, statusio, statuspage};

fuzz_target!(|body: &[u8]| {
    let _ = statuspage::parse_summary(body);
    let _ = statuspage::parse_status(body);
    let _ = statuspage::parse_incidents(body);
    let _ = gcp::parse(body);
    let _ = instatus::parse(body);
    let _ = slack::parse(body);
    let _ = statusio::parse(body);
});
