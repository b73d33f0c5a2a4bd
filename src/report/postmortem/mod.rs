//! The postmortem draft (`witness postmortem`): the usual template — metadata, summary,
//! impact, timeline, root cause, five whys, contributing factors, the follow-up's
//! verification, what went well and what could improve, action items, and the hypotheses
//! ruled out — filled in from a sealed bundle (and its follow-up) as far as the evidence
//! goes, with blank lines (`✎ … ______`) for what only people know.
//!
//! Every statement carries its refs into the bundle, and a ref is only written after it
//! was resolved against the sealed files ([`source`]): a statement with no ref that
//! resolves is left out, never written bare. Nothing is worded by a model; the sentences
//! are fixed phrases around what the bundle holds. The draft is built once as a
//! [`Draft`] ([`build`]) and rendered as Markdown or HTML ([`render`]), so that the two
//! say the same thing.

mod build;
mod draft;
mod render;
mod source;

pub use build::build;
pub use draft::{Block, Cite, Draft, Line, Row, Section};
pub use render::{html, markdown};
pub use source::Sealed;
