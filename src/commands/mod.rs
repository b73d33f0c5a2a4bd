//! The commands, one module each (as mini-redis keeps `cmd/<name>.rs`): each takes its
//! parsed arguments, calls the modules that do the work and prints for a human or a pipe.
//! [`dispatch`] picks the command; it returns the exit status, and its errors become one
//! line on stderr and status 2 in `main`.

pub mod collect;
pub mod config;
pub mod keygen;
pub mod label;
pub mod list;
pub mod postmortem;
pub mod rules;
pub mod serve;
pub mod show;
pub mod verify;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{CollectWhen, Command, ConfigCommand, RulesCommand};
use config::load as load_config;

/// Runs `command` to its end.
///
/// # Errors
/// Bad usage or configuration, or a failure the command cannot report otherwise.
pub async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Collect { when: CollectWhen::Now { args } } => collect::now(args).await,
        Command::Collect { when: CollectWhen::At { anchor, args } } => {
            collect::at(&anchor, args).await
        }
        Command::Serve { config, listen } => serve::serve(&config, listen).await,
        Command::Verify { bundle, key } => verify::verify(&bundle, key.as_deref()),
        Command::Show { bundle, format, status_update: false, .. } => show::show(&bundle, format),
        Command::Show { bundle, stage, status_update: true, .. } => {
            show::status_update(&bundle, stage)
        }
        Command::Postmortem { bundle, follow_up, out, format, key } => postmortem::postmortem(
            &bundle,
            follow_up.as_deref(),
            out.as_deref(),
            format,
            key.as_deref(),
        ),
        Command::List { config } => list::list(&load_config(&config)?),
        Command::Rules { command: RulesCommand::Check { files, config } } => {
            rules::check(&files, &load_config(&config)?.rules)
        }
        Command::Rules { command: RulesCommand::Test { bundle, config } } => {
            rules::test(&bundle, &load_config(&config)?.rules)
        }
        Command::Rules { command: RulesCommand::Eval { dir, floor, config } } => {
            rules::eval(&dir, floor, &load_config(&config)?.rules)
        }
        Command::Label { bundle, cause, class } => label::label(&bundle, &cause, class),
        Command::Config { command: ConfigCommand::Check { config } } => config::check(&config),
        Command::Keygen { out } => keygen::keygen(&out),
    }
}
