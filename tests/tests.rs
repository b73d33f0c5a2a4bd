//! witness's integration tests: one binary, a module per area, shared helpers in `util`.
//! Run them all with the README's test command (`tests/run.sh`), which provisions the real
//! services they talk to.

mod util;

mod bad_input;
mod correlate;
mod fleet;
mod follow_up;
mod layers;
mod pod_logs;
mod postmortem;
mod postmortem_classes;
mod prometheus;
mod redaction;
mod report;
mod rules;
mod rules_heldout;
mod seeding;
mod server;
mod severity;
mod spine;
mod status_update;
