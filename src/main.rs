//! The `witness` binary: parses the command line, sets up logging (redacted:
//! [`witness::logging`]) and the runtime, runs the command, and turns every error into
//! one line on stderr and exit status 2.

use witness::{cli, commands};

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The daemon logs what it accepts and runs; one-shot commands only warn.
    let default_level =
        if matches!(cli.command, cli::Command::Serve { .. }) { "info" } else { "warn" };
    witness::logging::init(cli.log_format, default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("witness: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("witness: {}", witness::logging::redact(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
