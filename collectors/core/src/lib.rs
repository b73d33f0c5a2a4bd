//! The seam every collector plugs into: the [`Collector`] trait, the configuration
//! contract of a collector kind ([`CollectorConfig`]), the [`CollectContext`] a run hands
//! to each collector, what a kind declares about itself ([`KindDecl`]: its facts and
//! the labels it reads), and the evidence model they return ([`Evidence`], [`Fact`]s,
//! [`Event`]s). The context carries the run's [`Redactor`]: a collector redacts what it
//! reads where it reads it, and transforms only [`Redacted`] text. This crate has no heavy dependencies on purpose: every collector kind
//! depends on it, and so does the daemon that turns evidence into a bundle.

mod collector;
mod context;
mod evidence;
pub mod kind;
pub mod secret;
pub mod shell;
pub mod time;

pub use collector::{
    CollectError, Collector, CollectorConfig, ConfigProblem, TIMEOUT_SECS, validated,
};
pub use context::{Artifact, ArtifactSink, CollectContext, Trigger, Window};
pub use evidence::{Event, Evidence, FactValue, Facts, Severity, Status};
pub use kind::{Check, FactDecl, KindDecl, Merge, fact};
pub use secret::SecretRef;
pub use witness_redact::{Redacted, Redactor};
