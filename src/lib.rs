//! witness: an evidence-collecting diagnostic daemon for production incidents. This
//! library holds everything the `witness` binary does, so that integration tests, fuzz
//! targets and benchmarks reach the same code:
//!
//! - [`config`] and [`registry`]: `witness.toml` and the collector kinds it configures;
//! - [`run`], [`collect`] and [`correlate`]: running collectors concurrently under
//!   deadlines, a whole run from trigger to sealed bundle, and the links between collectors;
//! - [`timeline`] and [`rules`]: from evidence to a timeline and ranked hypotheses;
//! - [`redact`], [`bundle`] and [`report`]: what is written, sealed, verified and read;
//! - [`server`] and [`trigger`]: the daemon and the alerts that start runs;
//! - [`cli`], [`commands`] and [`progress`]: the command line.

pub mod bundle;
pub mod cli;
pub mod collect;
pub mod commands;
pub mod config;
pub mod correlate;
pub mod escape;
pub mod progress;
pub mod redact;
pub mod registry;
pub mod report;
pub mod rules;
pub mod run;
pub mod server;
pub mod timeline;
pub mod trigger;
pub mod view;
