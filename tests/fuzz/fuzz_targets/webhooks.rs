//! The webhook body parsers (Alertmanager, Grafana, PagerDuty, generic): any body gets a
//! notification or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness::redact::Redactor;
use witness::server::hooks;
use witness::trigger::TriggerSource;

fuzz_target!(|body: &[u8]| {
    static REDACTOR: std::sync::LazyLock<Redactor> = std::sync::LazyLock::new(Redactor::builtin);
    let _ = hooks::alertmanager(body, TriggerSource::Alertmanager, &REDACTOR);
    let _ = hooks::alertmanager(body, TriggerSource::Grafana, &REDACTOR);
    let _ = hooks::pagerduty(body, &REDACTOR);
    let _ = hooks::generic(body, TriggerSource::Generic, &REDACTOR);
});
