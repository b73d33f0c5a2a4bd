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
pub mod remote;
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
        Command::Verify { bundle, key, store } => match remote::fetch(&bundle, &store).await? {
            Some(fetched) => verify::verify_fetched(&fetched, key.as_deref()).await,
            None => verify::verify(&bundle, key.as_deref()),
        },
        Command::Show { bundle, format, status_update, stage, store } => {
            // A bundle in an object store is read from its verified download.
            let fetched = remote::fetch(&bundle, &store).await?;
            let bundle = fetched.as_ref().map_or(bundle.as_path(), |f| f.dir.as_path());
            if status_update {
                show::status_update(bundle, stage)
            } else {
                show::show(bundle, format)
            }
        }
        Command::Postmortem { bundle, follow_up, out, format, key, store } => {
            let fetched = remote::fetch(&bundle, &store).await?;
            let bundle = fetched.as_ref().map_or(bundle.as_path(), |f| f.dir.as_path());
            let fetched_follow_up = match &follow_up {
                Some(f) => remote::fetch(f, &store).await?,
                None => None,
            };
            let follow_up =
                fetched_follow_up.as_ref().map(|f| f.dir.as_path()).or(follow_up.as_deref());
            postmortem::postmortem(bundle, follow_up, out.as_deref(), format, key.as_deref())
        }
        Command::List { store, limit } => list::list(&store, limit).await,
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
