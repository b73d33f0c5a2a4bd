//! witness: an evidence-collecting diagnostic daemon for production incidents. This
//! library holds everything the `witness` binary does, so that integration tests, fuzz
//! targets and benchmarks reach the same code:
//!
//! - [`config`] and [`registry`]: `witness.toml` and the collector kinds it configures;
//! - [`run`]: one run, from a trigger to a sealed bundle — prepare, plan, gather,
//!   correlate, analyse, seal — each step in its own module, data flowing one way;
//! - [`timeline`] and [`rules`]: what the run's analysis turns evidence into, a timeline and
//!   ranked hypotheses;
//! - [`redact`], [`bundle`] and [`report`]: what is written, sealed, verified and read;
//!   [`bundle::layout`] names every file of a bundle;
//! - [`server`] and [`trigger`]: the daemon and the alerts that start runs;
//! - [`cli`], [`commands`] (one module per command) and [`progress`]: the command line;
//!   [`logging`]: witness's own log lines, redacted.

pub mod bundle;
pub mod cli;
pub mod commands;
pub mod config;
pub mod escape;
pub mod logging;
pub mod progress;
pub use witness_redact as redact;
pub mod registry;
pub mod report;
pub mod rules;
pub mod run;
pub mod server;
pub mod store;
pub mod timeline;
pub mod trigger;
