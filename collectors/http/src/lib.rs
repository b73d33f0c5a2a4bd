//! The `http` collector kind: health endpoints, probed a few times during the run.
//!
//! Each `[[collectors.http]]` instance sends `probes` requests (default 3, 500 ms apart),
//! each with its own timeout, and keeps per probe the status, the latency, the failure told
//! apart (DNS, connection refused, TLS, timeout, redirect loop, HTTP status, body), the
//! response headers of interest, a capped body excerpt, what the body says about health
//! (Spring Boot Actuator, the IETF health-check draft, `{"status":"ok"}`, plain `ok`) and,
//! for https, the server certificate's expiry.
//!
//! Requests go through the shared HTTP client of the support crate `witness-net` (the
//! `status_page` kind uses it too): rustls only, proxies from `HTTPS_PROXY`/`NO_PROXY`,
//! a timeout on every request, failures classified.
//!
//! # Facts
//! | name | type | meaning |
//! |---|---|---|
//! | `http.failing_probes` | int | probes that were not healthy (transport failure, unexpected status, body match failed, or a health body saying down) |
//! | `http.all_failing` | bool | every probe sent was failing |
//! | `http.latency_median_ms` | float | median latency of the probes that got an answer; absent when none did |
//! | `http.components_down` | list of text | components a Spring Actuator or IETF health body reports down (`db`, `redis/replica`); absent when no probe returned such a body |
//! | `http.components_down_errors` | list of text | `name: error` of each down component whose body gives an error text |
//! | `http.cert_days_left` | int | whole days until the server certificate expires (negative once expired); https only; read with a bare handshake when verification failed; absent when no certificate could be read |
//!
//! # Events
//! `health_failing` (at the first failing probe; critical when all fail), `health_slow`
//! (median latency above `slow_threshold_ms`), `cert_expiring` (fewer than
//! `cert_warning_days` left).

pub mod kind;
pub use kind::KIND;

// The collector, left out of a build without the kind; the declaration above stays.
witness_collector::collector_items! {
    pub mod cert;
    mod collector;
    mod config;
    pub mod health;
    mod probe;

    pub use collector::{HttpCollector, LatencyStats};
    pub use config::{HeaderConfig, HttpConfig, Method};
    pub use probe::Probe;
}
