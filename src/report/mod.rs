//! Reports people attach to postmortems, all rendered from a
//! [`RunView`](crate::run::view::RunView): `report.md` (the
//! evidence appendix, valid CommonMark with GitHub tables), `report.html` (one
//! self-contained page with SVG charts, no scripts and no network) and the text `witness
//! show` prints on a terminal. Every report puts the recommendation first (a follow-up's,
//! its checks against the incident: [`follow_up`]). Reports only render: the view they
//! read is made by the run's analysis or loaded from a bundle.

mod anchors;
mod follow_up;
mod html;
mod markdown;
mod metrics;
pub mod postmortem;
pub mod status_update;
mod svg;
mod terminal;
mod words;

pub use html::html;
pub use markdown::markdown;
pub use terminal::text;
