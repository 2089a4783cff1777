//! `keel replay <projection>`: rebuilds a read model from the log and reports its rows and
//! checksum; `--check` rebuilds into scratch tables and compares them with the serving ones.
//!
//! A blue/green replay (the default) fills new tables while the old ones keep serving and
//! switches at the end, so it is safe on a live database; interrupted (Ctrl-C), it resumes where
//! it stopped when run again. `--reset` empties the serving tables and replays into them.

use super::progress::ProgressDisplay;
use super::{CliError, ToolContext};
use clap::Args;
use keel_projections::{Projection, RebuildMode};
use keel_store::{Database, EventLog};
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;

/// The arguments of `keel replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The read model: `audit`, `usage`, ...
    pub projection: String,
    /// Empty the serving tables and replay into them (queries see partial data meanwhile),
    /// instead of blue/green.
    #[arg(long, conflicts_with = "check")]
    pub reset: bool,
    /// Rebuild into scratch tables and compare with the serving tables; changes nothing.
    #[arg(long)]
    pub check: bool,
}

/// What a finished replay reports.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    /// The projection.
    pub projection: String,
    /// The generation now serving.
    pub generation: i64,
    /// Its checkpoint.
    pub position: u64,
    /// Events read by this run.
    pub events: u64,
    /// Rows in each serving table.
    pub rows: Vec<(String, u64)>,
    /// SHA-256 of the serving tables.
    pub checksum: String,
}

/// Runs `keel replay`; `interrupt` (Ctrl-C) stops it between batches.
pub async fn run(
    args: ReplayArgs,
    context: &mut ToolContext<'_>,
    interrupt: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let store = context.log.clone();
    let projection = context.projection(&args.projection)?;
    if args.check {
        return check(&store, &projection, context).await;
    }
    let mode = if args.reset {
        RebuildMode::Reset
    } else {
        RebuildMode::BlueGreen
    };
    let head = store.head_position().await?;
    let label = format!("replay {}", args.projection);
    let mut progress = ProgressDisplay::new(&label, Some(head), context.out.is_json());
    let mut seen = 0;
    let rebuild = keel_projections::rebuild_with(&store, &projection, mode, |p| {
        progress.advance(p.events - seen);
        seen = p.events;
    });
    let report = tokio::select! {
        report = rebuild => report?,
        () = interrupt => {
            // The batch in flight was dropped with its transaction; closing the pool rolls it
            // back now and releases SQLite's write lock before the tool exits.
            keel_projections::with_pool!(store.database(), pool => pool.close().await);
            let message = match mode {
                RebuildMode::BlueGreen => "interrupted; run it again to resume where it stopped",
                RebuildMode::Reset => "interrupted; the tables are partly rebuilt: run it again",
            };
            return Err(CliError::Interrupted(format!("replay {}: {message}", args.projection)));
        }
    };
    progress.finish();
    let report = ReplayReport {
        projection: args.projection.clone(),
        generation: report.generation,
        position: report.position,
        events: report.events,
        rows: row_counts(projection.as_ref(), &store.database()).await?,
        checksum: keel_projections::checksum(&store, &args.projection).await?,
    };
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&report)?;
    } else {
        out.line(format!(
            "replayed {}: {} events, generation {} at position {}",
            report.projection, report.events, report.generation, report.position
        ))?;
        for (table, rows) in &report.rows {
            out.line(format!("  {table}: {rows} rows"))?;
        }
        out.line(format!("  checksum: {}", report.checksum))?;
    }
    Ok(())
}

async fn check(
    store: &Arc<dyn EventLog>,
    projection: &Arc<dyn Projection>,
    context: &mut ToolContext<'_>,
) -> Result<(), CliError> {
    let name = projection.name();
    let report = keel_projections::check_with(store, projection).await?;
    let out = &mut context.out;
    if out.is_json() {
        out.json_pretty(&report)?;
    } else {
        match &report.first_difference {
            None => out.line(format!(
                "{name}: a fresh rebuild to position {} matches the serving tables ({} rows)",
                report.position, report.rows
            ))?,
            Some(difference) => out.line(format!(
                "{name}: differs from a fresh rebuild to position {}: {difference}",
                report.position
            ))?,
        }
    }
    match report.first_difference {
        None => Ok(()),
        Some(_) => Err(CliError::Failed(format!(
            "{name} does not match a rebuild from the log"
        ))),
    }
}

/// Rows in each of the projection's serving tables.
async fn row_counts(
    projection: &dyn Projection,
    db: &Database,
) -> Result<Vec<(String, u64)>, CliError> {
    let mut counts = Vec::new();
    for table in projection.tables() {
        // Table names come from the projection's own declaration, never from input.
        let sql = format!("SELECT COUNT(*) FROM {}", table.base);
        let count: Result<i64, sqlx::Error> = keel_projections::with_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await);
        let count =
            count.map_err(|e| anyhow::anyhow!("cannot count the rows of {}: {e}", table.base))?;
        counts.push((table.base.to_owned(), count as u64));
    }
    Ok(counts)
}
