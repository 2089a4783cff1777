//! The `keel` binary: the server and the tools (see [`keel_api::cli`]).

use clap::Parser;
use keel_api::cli::{run, Cli};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match run(cli, &mut stdout).await {
        Ok(()) => ExitCode::SUCCESS,
        // A reader that closed the pipe (`keel events read | head`) is not a failure.
        Err(keel_api::cli::CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("keel: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
