//! The `keel` command line: `keel serve` runs the server.

use clap::{Parser, Subcommand};
use keel_api::config::Settings;
use keel_api::startup::Application;
use std::path::PathBuf;
use std::process::ExitCode;

/// Keel: an event-sourced control plane for multi-tenant SaaS.
#[derive(Parser)]
#[command(name = "keel", version, about)]
struct Cli {
    /// A TOML configuration file (settings can also come from KEEL_* environment variables).
    #[arg(long, global = true, env = "KEEL_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server (default: 127.0.0.1:8080, SQLite file ./data/keel.db).
    Serve,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("keel: {error}");
            return ExitCode::from(2);
        }
    };
    keel_api::telemetry::init(&settings);
    match cli.command {
        Command::Serve => serve(settings).await,
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let listen = settings.listen;
    let application = match Application::build(settings).await {
        Ok(application) => application,
        Err(error) => {
            eprintln!("keel: cannot start: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(key) = &application.generated_admin_key {
        // Printed once, on the first start: only its hash is stored.
        println!(
            "A platform admin key was created. Keep it now; it is not shown again:\n\n    {key}\n"
        );
    }
    tracing::info!(address = %format!("{}:{}", listen.ip(), application.port()), "keel is serving");
    match application.run_until_stopped().await {
        Ok(()) => {
            tracing::info!("keel stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("keel: the server failed: {error}");
            ExitCode::FAILURE
        }
    }
}
