//! `keel serve`: runs the HTTP server until SIGTERM or Ctrl-C.

use super::CliError;
use crate::config::Settings;
use crate::startup::Application;
use std::io::Write;

/// Builds the application, prints a generated admin key once, and serves until stopped.
pub async fn serve(settings: Settings, out: &mut (dyn Write + Send)) -> Result<(), CliError> {
    let listen = settings.listen;
    let application = Application::build(settings)
        .await
        .map_err(|error| anyhow::anyhow!("cannot start: {error:#}"))?;
    if let Some(key) = &application.generated_admin_key {
        // Printed once, on the first start: only its hash is stored.
        writeln!(
            out,
            "A platform admin key was created. Keep it now; it is not shown again:\n\n    {key}\n"
        )?;
        out.flush()?;
    }
    tracing::info!(address = %format!("{}:{}", listen.ip(), application.port()), "keel is serving");
    application
        .run_until_stopped()
        .await
        .map_err(|error| anyhow::anyhow!("the server failed: {error}"))?;
    tracing::info!("keel stopped");
    Ok(())
}
