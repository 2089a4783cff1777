//! `keel status` (the backend, the log's head, the read models' positions and lags) and
//! `keel migrate`.

use super::{CliError, ToolContext};
use keel_projections::ProjectionStatus;
use keel_store::Database;
use serde::Serialize;

/// A migration recorded as applied.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct AppliedMigration {
    /// Its version (a timestamp).
    pub version: i64,
    /// What it does.
    pub description: String,
}

/// What `keel status` reports.
#[derive(Debug, Serialize)]
pub struct Status {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The position of the last committed event.
    pub head_position: u64,
    /// How many of the event store's migrations are applied.
    pub migrations: usize,
    /// Each read model's position, lag and state.
    pub projections: Vec<ProjectionStatus>,
}

/// Runs `keel migrate`: opening the store applied its pending migrations; this applies the
/// read models' (and sets up their tables), then lists the store's applied migrations.
pub async fn migrate(context: &mut ToolContext<'_>, url: &str) -> Result<(), CliError> {
    keel_projections::setup(&context.log).await?;
    let applied = applied_migrations(&context.store.database()).await?;
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&serde_json::json!({ "migrations": applied }))?;
    } else {
        out.line(format!(
            "{} is up to date: {} store migrations applied, read models set up",
            crate::database::redact(url),
            applied.len()
        ))?;
        for migration in &applied {
            out.line(format!("  {} {}", migration.version, migration.description))?;
        }
    }
    Ok(())
}

/// Runs `keel status`.
pub async fn status(context: &mut ToolContext<'_>) -> Result<(), CliError> {
    let store = &context.log;
    let status = Status {
        backend: store.backend(),
        head_position: store.head_position().await?,
        migrations: applied_migrations(&store.database()).await?.len(),
        projections: keel_projections::status(store).await?,
    };
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&status)?;
    } else {
        out.line(format!("backend: {}", status.backend))?;
        out.line(format!("head position: {}", status.head_position))?;
        out.line(format!("store migrations applied: {}", status.migrations))?;
        for p in &status.projections {
            let failure = match (&p.failed_position, &p.failed_error) {
                (Some(position), Some(error)) => format!(", failed at {position}: {error}"),
                _ => String::new(),
            };
            out.line(format!(
                "projection {}: {} at position {} (lag {} events, {:.1} s), generation {}{}, {} dead letters{failure}",
                p.name,
                p.state,
                p.position,
                p.lag_events,
                p.lag_seconds,
                p.generation,
                p.building_generation
                    .map(|g| format!(" (building {g})"))
                    .unwrap_or_default(),
                p.dead_letters,
            ))?;
        }
    }
    Ok(())
}

/// The migrations recorded as applied, oldest first.
async fn applied_migrations(database: &Database) -> Result<Vec<AppliedMigration>, CliError> {
    const QUERY: &str =
        "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
    let rows: Result<Vec<AppliedMigration>, sqlx::Error> =
        keel_projections::with_pool!(database, pool => sqlx::query_as(QUERY).fetch_all(pool).await);
    rows.map_err(|e| CliError::Other(anyhow::anyhow!("cannot list the migrations: {e}")))
}
