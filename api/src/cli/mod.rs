//! The `keel` command line: the server, and the tools operators, auditors and support engineers
//! run against a live or copied database.
//!
//! Every tool shares the server's libraries (the store, the aggregates, the read models), so
//! what a tool shows is what the server would compute. Output is for humans by default and JSON
//! with `--json`; errors go to standard error with a non-zero exit code.
//!
//! - [`serve`]: `keel serve`, the HTTP server.
//! - [`events`]: `keel events read` and `keel events tail`.
//! - [`stream`]: `keel stream state`, an aggregate's state at a past moment, or a diff.
//! - [`status`]: `keel status` and `keel migrate`.
//! - [`tenant`]: `keel tenant export`, everything Keel holds about a tenant.
//! - [`replay`]: `keel replay`, rebuilding (or checking) a read model from the log.
//! - [`project`]: `keel project`, read-model workers in a process of their own, from the log
//!   or from JetStream.
//! - [`audit`]: `keel audit verify` and `keel audit export`.
//! - [`keys`]: `keel keys audit`, tenant keys that hold more than the key that issued them.
//! - [`progress`]: progress of long work.
//! - [`output`]: human and JSON output; [`filter`]: which events a tool reads.

pub mod audit;
pub mod events;
pub mod filter;
pub mod keys;
pub mod output;
pub mod progress;
pub mod project;
pub mod replay;
pub mod serve;
pub mod status;
pub mod stream;
pub mod tenant;

use crate::config::Settings;
use crate::database::{open_store, Missing};
use clap::{Parser, Subcommand};
use keel_projections::Projection;
use keel_store::EventStore;
use output::Output;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Keel: an event-sourced control plane for multi-tenant SaaS.
#[derive(Debug, Parser)]
#[command(name = "keel", version, about)]
pub struct Cli {
    /// A TOML configuration file (settings can also come from KEEL_* environment variables).
    #[arg(long, global = true, env = "KEEL_CONFIG")]
    pub config: Option<PathBuf>,
    /// The database to work on, `sqlite://<file>` or `postgres://...` (default: the
    /// `database_url` setting, itself `KEEL_DATABASE_URL` or `sqlite://./data/keel.db`).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Machine-readable output: JSON (JSON Lines for lists of events).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `keel`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the HTTP server (default: 127.0.0.1:8080, SQLite file ./data/keel.db).
    Serve,
    /// Reads or follows the event log.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Shows a stream's aggregate state.
    #[command(subcommand)]
    Stream(stream::StreamCommand),
    /// Exports what Keel holds about a tenant.
    #[command(subcommand)]
    Tenant(tenant::TenantCliCommand),
    /// Rebuilds a read model from the log (blue/green), or checks it against a rebuild.
    Replay(replay::ReplayArgs),
    /// Runs read-model workers in this process until Ctrl-C or SIGTERM, from the log or
    /// (--from-nats) from JetStream.
    Project(project::ProjectArgs),
    /// Verifies or exports the audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Reviews API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Applies pending database migrations (creating a SQLite file if missing) and says which.
    Migrate,
    /// Shows the backend, the log's head and each read model's position.
    Status,
}

/// Why a tool failed. Printed as `keel: <error>` with exit code 1 (2 for bad arguments).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An argument that parsed but makes no sense.
    #[error("invalid --{argument}: {reason}")]
    InvalidArgument {
        /// The argument's name, without the dashes.
        argument: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A check found a problem (a broken audit chain, a read model that differs); the report
    /// was printed.
    #[error("{0}")]
    Failed(String),
    /// Stopped by Ctrl-C before the end.
    #[error("{0}")]
    Interrupted(String),
    /// The thing asked about does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] keel_store::StoreError),
    /// A read model failed.
    #[error(transparent)]
    Projection(#[from] keel_projections::ProjectionError),
    /// The output could not be written (for example a closed pipe).
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
    /// Anything else, with its context.
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::InvalidArgument { .. } | CliError::Config(_) => 2,
            CliError::Interrupted(_) => 130,
            _ => 1,
        }
    }
}

/// What a tool needs: the store it works on and where its output goes.
pub struct ToolContext<'a> {
    /// The event store (migrations applied).
    pub store: Arc<dyn EventStore>,
    /// The same store, read-only, as the read side takes it.
    pub log: Arc<dyn keel_store::EventLog>,
    /// The configured plan catalogue (usage quotas when a tool rebuilds the usage read model).
    pub catalogue: Arc<keel_domain::billing::Catalogue>,
    /// Human or JSON output.
    pub out: Output<'a>,
    /// The configuration (the audit signing key).
    pub settings: Settings,
}

impl ToolContext<'_> {
    /// The projection called `name` as the server builds it: usage quotas from the configured
    /// plan catalogue, audit checkpoints signed with the configured key (generated beside an
    /// embedded database that has none yet).
    pub fn projection(&self, name: &str) -> Result<Arc<dyn Projection>, CliError> {
        let signer = match name {
            "audit" => self.settings.audit_signer(true)?,
            _ => None,
        };
        Ok(keel_projections::projection_with(
            name,
            self.catalogue.clone(),
            signer,
        )?)
    }

    /// The configured audit signing key, if it exists: tools that only read (verify, export)
    /// never make one up, and without one they leave signatures unchecked or the head unsigned.
    pub fn existing_audit_signer(&self) -> Option<Arc<keel_projections::audit::AuditSigner>> {
        self.settings.audit_signer(false).ok().flatten()
    }

    /// Every projection as the server builds it (see [`ToolContext::projection`]).
    pub fn projections(&self) -> Result<Vec<Arc<dyn Projection>>, CliError> {
        Ok(keel_projections::registry_with(
            self.catalogue.clone(),
            self.settings.audit_signer(true)?,
        ))
    }
}

/// Settings for the tools: the configuration, with `--database-url` on top.
pub fn settings(cli: &Cli) -> Result<Settings, CliError> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        settings.database_url = url.clone();
        settings.validate()?;
    }
    Ok(settings)
}

/// Runs a command, writing its output to `out`; Ctrl-C or SIGTERM interrupts long work.
pub async fn run(cli: Cli, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    run_until(cli, out, stop_signal()).await
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM (what service managers send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The `keel` binary's `main`: runs the command line, prints an error as `keel: <error>` and
/// turns it into the exit code.
pub async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut stdout = std::io::stdout();
    match run(cli, &mut stdout).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A reader that closed the pipe (`keel events read | head`) is not a failure.
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("keel: {error}");
            std::process::ExitCode::from(error.exit_code())
        }
    }
}

/// Runs a command until it ends or `interrupt` resolves (tests interrupt a replay with it).
pub async fn run_until(
    cli: Cli,
    out: &mut (dyn Write + Send),
    interrupt: impl std::future::Future<Output = ()>,
) -> Result<(), CliError> {
    let settings = settings(&cli)?;
    if let Command::Serve = cli.command {
        crate::telemetry::init(&settings);
        return serve::serve(settings, out).await;
    }
    if let Command::Audit(command) = &cli.command {
        // An export is verified, and the public key printed, without any database.
        if let Some(done) =
            audit::run_without_store(command, &settings, &mut Output::new(out, cli.json))
        {
            return done;
        }
    }
    let missing = match cli.command {
        Command::Migrate => Missing::Create,
        _ => Missing::Refuse,
    };
    // Tools read one thing at a time; a small pool is plenty.
    let store = open_store(&settings.database_url, 4, missing).await?;
    let mut context = ToolContext {
        log: store.clone(),
        store,
        catalogue: Arc::new(settings.catalogue()?),
        out: Output::new(out, cli.json),
        settings: settings.clone(),
    };
    match cli.command {
        Command::Serve => Ok(()),
        Command::Events(command) => events::run(command, &mut context).await,
        Command::Stream(command) => stream::run(command, &mut context).await,
        Command::Tenant(command) => tenant::run(command, &mut context).await,
        Command::Replay(args) => replay::run(args, &mut context, interrupt).await,
        Command::Project(args) => project::run(args, &mut context, &settings, interrupt).await,
        Command::Audit(command) => audit::run(command, &mut context).await,
        Command::Keys(command) => keys::run(command, &mut context).await,
        Command::Migrate => status::migrate(&mut context, &settings.database_url).await,
        Command::Status => status::status(&mut context).await,
    }
}
