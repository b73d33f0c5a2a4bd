//! The webhook body parsers (Alertmanager, Grafana, PagerDuty, generic): any body gets a
//! notification or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use witness::server::hooks;
use witness::trigger::TriggerSource;

fuzz_target!(|body: &[u8]| {
    let _ = hooks::alertmanager(body, TriggerSource::Alertmanager);
    let _ = hooks::alertmanager(body, TriggerSource::Grafana);
    let _ = hooks::pagerduty(body);
    let _ = hooks::generic(body, TriggerSource::Generic);
});
