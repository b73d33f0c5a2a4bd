//! Vendor status page parsing (Atlassian Statuspage v2 and the other formats): any body
//! gets a snapshot or an error, never a panic, through the redaction every document
//! passes before a format reads it.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use witness::redact::Redactor;
use witness_status_page::Document;
use witness_status_page::formats::{gcp, instatus, slack, statusio, statuspage};

static REDACTOR: LazyLock<Redactor> = LazyLock::new(Redactor::builtin);

fuzz_target!(|body: &[u8]| {
    let Ok(document) = Document::read(body, &REDACTOR) else { return };
    let _ = statuspage::parse_summary(document.clone());
    let _ = statuspage::parse_status(document.clone());
    let _ = statuspage::parse_incidents(document.clone());
    let _ = gcp::parse(document.clone());
    let _ = instatus::parse(document.clone());
    let _ = slack::parse(document.clone());
    let _ = statusio::parse(document);
});
