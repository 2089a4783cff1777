//! Rebuilding a projection from the whole log: blue/green (no downtime) or reset-and-replay.
//!
//! Blue/green fills a new generation's tables while the active generation keeps serving and
//! the live worker keeps it current; when the new generation has caught up with the log, one
//! transaction points the views at it, makes it active and drops the old tables. The live
//! worker notices the switch at its next batch and continues on the new generation from its
//! checkpoint. An interrupted blue/green rebuild resumes where it stopped (its generation and
//! checkpoint are recorded), and a failing event stops it with the event named.

use super::batch::{fold, read_after, BatchStep, GenerationTarget};
use super::checkpoint::{
    self, create_generation, create_indexes, drop_generation, generations_in, point_views, Indexes,
};
use crate::db::{Backend, Tx};
use crate::error::ProjectionError;
use crate::projection::Projection;
use keel_log::EventLog;
use sqlx::Row;
use std::sync::Arc;

/// How to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildMode {
    /// Into new tables while the old ones serve, then switch atomically.
    BlueGreen,
    /// Empty the active tables and replay into them (queries see partial data meanwhile).
    Reset,
}

/// How far a rebuild has got, passed to the progress callback after every batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The generation being filled.
    pub generation: i64,
    /// Its checkpoint.
    pub position: u64,
    /// The log's head when the rebuild started.
    pub head: u64,
    /// Events read so far by this call.
    pub events: u64,
}

/// What a finished rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// The generation now serving.
    pub generation: i64,
    /// Its checkpoint at the end.
    pub position: u64,
    /// Events read by this call.
    pub events: u64,
}

/// Rebuilds `projection` from the log of `store`, calling `progress` after every batch.
pub async fn rebuild_projection(
    projection: &Arc<dyn Projection>,
    store: &Arc<dyn EventLog>,
    mode: RebuildMode,
    batch: usize,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<RebuildReport, ProjectionError> {
    let db = store.database();
    checkpoint::ensure(&db, projection.as_ref()).await?;
    let generation = match mode {
        RebuildMode::BlueGreen => start_building(projection.as_ref(), &db).await?,
        RebuildMode::Reset => reset(projection.as_ref(), &db).await?,
    };
    let target = GenerationTarget {
        generation,
        must_be_active: mode == RebuildMode::Reset,
        up_to: None,
    };
    let head = store.head_position().await?;
    let events = fill(projection, store, target, batch, head, &mut progress).await?;
    if mode == RebuildMode::BlueGreen {
        // Built apart from the switch: on a large table it takes seconds, and the switch's
        // transaction holds the row the live worker locks for every batch.
        let mut tx = Tx::begin(&db).await?;
        create_indexes(&mut tx, projection.as_ref(), generation).await?;
        tx.commit().await?;
        switch_to(projection.as_ref(), &db, generation).await?;
    }
    let position = checkpoint::checkpoint(&db, projection.name(), generation)
        .await?
        .position;
    Ok(RebuildReport {
        generation,
        position,
        events,
    })
}

/// Drives `target` until it has caught up with the log (or its bound).
///
/// The next batch is read while the current one is applied, on another connection: the read
/// and the write proceed at once instead of taking turns (reading is about a tenth of a
/// rebuild's time). Each batch still commits with its checkpoint, compared in its transaction.
pub(crate) async fn fill(
    projection: &Arc<dyn Projection>,
    store: &Arc<dyn EventLog>,
    target: GenerationTarget,
    batch: usize,
    head: u64,
    progress: &mut (impl FnMut(Progress) + Send),
) -> Result<u64, ProjectionError> {
    let db = store.database();
    let mut applied = 0u64;
    let mut position = resume_at(projection.as_ref(), &db, target).await?;
    let mut next = read_after(store, position, batch, target.up_to).await?;
    loop {
        let Some(last) = next.last().map(|e| e.global_position) else {
            return Ok(applied);
        };
        let events = std::mem::take(&mut next);
        let (step, read_ahead) = tokio::join!(
            fold(projection, &db, target, position, &events),
            read_after(store, last, batch, target.up_to),
        );
        match step? {
            BatchStep::Applied { to, events: n } if to == last => {
                applied += n as u64;
                position = to;
                next = read_ahead?;
                progress(Progress {
                    generation: target.generation,
                    position,
                    head,
                    events: applied,
                });
            }
            // Another writer moved the checkpoint meanwhile: go on from where it is now.
            BatchStep::Applied { .. } | BatchStep::CaughtUp => {
                position = resume_at(projection.as_ref(), &db, target).await?;
                next = read_after(store, position, batch, target.up_to).await?;
            }
            BatchStep::Failed(failure) => {
                return Err(ProjectionError::Handler {
                    position: failure.position,
                    reason: failure.error,
                })
            }
        }
    }
}

/// The target generation's checkpoint; an error if it is stopped on a failing event.
async fn resume_at(
    projection: &dyn Projection,
    db: &keel_log::Database,
    target: GenerationTarget,
) -> Result<u64, ProjectionError> {
    let current = checkpoint::checkpoint(db, projection.name(), target.generation).await?;
    match current.failed {
        Some(failure) => Err(ProjectionError::Handler {
            position: failure.position,
            reason: failure.error,
        }),
        None => Ok(current.position),
    }
}

/// The generation a blue/green rebuild fills: the one an interrupted rebuild left (its
/// failure, if any, cleared so it is retried), or a new one.
async fn start_building(
    projection: &dyn Projection,
    db: &keel_log::Database,
) -> Result<i64, ProjectionError> {
    let name = projection.name();
    let mut tx = Tx::begin(db).await?;
    let generations = generations_in(&mut tx, name, true).await?.ok_or_else(|| {
        ProjectionError::InvalidState(format!("projection `{name}` is not set up"))
    })?;
    if let Some(building) = generations.building {
        let position = checkpoint::checkpoint_in(&mut tx, name, building, true)
            .await?
            .position;
        checkpoint::advance_to(&mut tx, name, building, position).await?;
        tx.commit().await?;
        return Ok(building);
    }
    let generation = next_generation(&mut tx, name).await?;
    // PostgreSQL builds the indexes once the generation is filled. SQLite keeps them up to
    // date as it goes: an index built at the end would hold its only write lock, and with it
    // every command, for as long as the build takes.
    let indexes = match tx.backend() {
        Backend::Postgres => Indexes::Later,
        Backend::Sqlite => Indexes::Now,
    };
    create_generation(&mut tx, projection, generation, indexes).await?;
    crate::with_tx!(&mut tx, conn => {
        sqlx::query("UPDATE projection_state SET building_generation = $1 WHERE name = $2")
            .bind(generation).bind(name).execute(&mut *conn).await?;
    });
    tx.commit().await?;
    Ok(generation)
}

/// A generation number no table set uses yet.
pub(crate) async fn next_generation(tx: &mut Tx, name: &str) -> Result<i64, ProjectionError> {
    let highest: i64 = crate::with_tx!(tx, conn => {
        sqlx::query("SELECT COALESCE(MAX(generation), 0) FROM projection_checkpoints WHERE name = $1")
            .bind(name).fetch_one(&mut *conn).await?.get(0)
    });
    Ok(highest + 1)
}

/// Makes `generation` the active one: views, state, and the old generation's tables dropped.
async fn switch_to(
    projection: &dyn Projection,
    db: &keel_log::Database,
    generation: i64,
) -> Result<(), ProjectionError> {
    let name = projection.name();
    let mut tx = Tx::begin(db).await?;
    let old = generations_in(&mut tx, name, true)
        .await?
        .map(|g| g.active)
        .unwrap_or(generation);
    point_views(&mut tx, projection, generation).await?;
    crate::with_tx!(&mut tx, conn => {
        sqlx::query("UPDATE projection_state SET active_generation = $1, building_generation = NULL WHERE name = $2")
            .bind(generation).bind(name).execute(&mut *conn).await?;
    });
    if old != generation {
        drop_generation(&mut tx, projection, old).await?;
    }
    tx.commit().await
}

/// Empties the active generation and moves its checkpoint to the start of the log; dead
/// letters are cleared (a replay meets those events again).
async fn reset(
    projection: &dyn Projection,
    db: &keel_log::Database,
) -> Result<i64, ProjectionError> {
    let name = projection.name();
    let mut tx = Tx::begin(db).await?;
    let active = generations_in(&mut tx, name, true)
        .await?
        .map(|g| g.active)
        .ok_or_else(|| {
            ProjectionError::InvalidState(format!("projection `{name}` is not set up"))
        })?;
    checkpoint::drop_views(&mut tx, projection).await?;
    create_generation(&mut tx, projection, active, Indexes::Now).await?;
    point_views(&mut tx, projection, active).await?;
    crate::with_tx!(&mut tx, conn => {
        sqlx::query("DELETE FROM projection_dead_letters WHERE name = $1")
            .bind(name).execute(&mut *conn).await?;
    });
    tx.commit().await?;
    Ok(active)
}
