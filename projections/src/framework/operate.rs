//! What an operator does with a projection: look at its status, retry a failed event, park
//! it in the dead letters, and later replay a parked stream.

use super::checkpoint::{self, advance_to, checkpoint_in, generations_in};
use crate::db::{now_micros, Tx};
use crate::error::ProjectionError;
use crate::projection::{Projection, Tables};
use chrono::Utc;
use keel_log::{EventLog, RecordedEvent};
use serde::Serialize;
use std::sync::Arc;

/// A projection's state, for `/metrics`, `/readyz`, the status query and `keel status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectionStatus {
    /// The projection.
    pub name: &'static str,
    /// The generation serving queries.
    pub generation: i64,
    /// A blue/green rebuild's generation, if one is in progress.
    pub building_generation: Option<i64>,
    /// The active generation's checkpoint.
    pub position: u64,
    /// The log's head.
    pub head: u64,
    /// Events between the checkpoint and the head.
    pub lag_events: u64,
    /// How long ago the oldest event not yet applied was stored (0 when caught up).
    pub lag_seconds: f64,
    /// `running` or `failed`.
    pub state: &'static str,
    /// The failing event's position, if failed.
    pub failed_position: Option<u64>,
    /// The handler's error, if failed.
    pub failed_error: Option<String>,
    /// Events in the dead letters (parked, and waiting behind a parked one).
    pub dead_letters: u64,
}

/// The status of `projection`.
pub async fn projection_status(
    projection: &dyn Projection,
    store: &Arc<dyn EventLog>,
) -> Result<ProjectionStatus, ProjectionError> {
    let db = store.database();
    let name = projection.name();
    let generations = checkpoint::generations(&db, name).await?;
    let current = checkpoint::checkpoint(&db, name, generations.active).await?;
    let head = store.head_position().await?;
    let lag_events = head.saturating_sub(current.position);
    let lag_seconds = if lag_events == 0 {
        0.0
    } else {
        match store.read_all(current.position, 1).await?.first() {
            Some(next) => {
                ((Utc::now() - next.recorded_at).num_milliseconds().max(0) as f64) / 1000.0
            }
            None => 0.0,
        }
    };
    let dead_letters: i64 = crate::with_pool!(&db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM projection_dead_letters WHERE name = $1")
            .bind(name).fetch_one(pool).await?
    });
    Ok(ProjectionStatus {
        name,
        generation: generations.active,
        building_generation: generations.building,
        position: current.position,
        head,
        lag_events,
        lag_seconds,
        state: if current.failed.is_some() {
            "failed"
        } else {
            "running"
        },
        failed_position: current.failed.as_ref().map(|f| f.position),
        failed_error: current.failed.map(|f| f.error),
        dead_letters: dead_letters as u64,
    })
}

/// Clears a failure so the worker tries the failing event again. Returns whether the
/// projection was failed.
pub async fn retry_projection(
    projection: &dyn Projection,
    store: &Arc<dyn EventLog>,
) -> Result<bool, ProjectionError> {
    let db = store.database();
    let name = projection.name();
    let mut tx = Tx::begin(&db).await?;
    let active = active_generation(&mut tx, name).await?;
    let current = checkpoint_in(&mut tx, name, active, true).await?;
    if current.failed.is_none() {
        return Ok(false);
    }
    advance_to(&mut tx, name, active, current.position).await?;
    tx.commit().await?;
    Ok(true)
}

/// Parks the event a failed projection stopped on: it goes to the dead letters, the
/// projection continues after it, and later events of the same stream wait behind it.
/// Returns the parked event's position.
pub async fn park_failed(
    projection: &dyn Projection,
    store: &Arc<dyn EventLog>,
) -> Result<u64, ProjectionError> {
    let db = store.database();
    let name = projection.name();
    let mut tx = Tx::begin(&db).await?;
    let active = active_generation(&mut tx, name).await?;
    let current = checkpoint_in(&mut tx, name, active, true).await?;
    let failure = current.failed.ok_or_else(|| {
        ProjectionError::InvalidState(format!("projection `{name}` is not stopped on an event"))
    })?;
    let event = event_at(store, failure.position).await?;
    crate::with_tx!(&mut tx, conn => {
        sqlx::query("INSERT INTO projection_dead_letters (name, position, stream_id, event_type, reason, parked_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(name)
            .bind(failure.position as i64)
            .bind(&event.stream_id)
            .bind(&event.event_type)
            .bind(format!("parked: {}", failure.error))
            .bind(now_micros())
            .execute(&mut *conn)
            .await?;
    });
    advance_to(&mut tx, name, active, failure.position).await?;
    tx.commit().await?;
    Ok(failure.position)
}

/// Applies a stream's dead letters in order (after the handler was fixed) and removes them.
/// Nothing changes if the handler fails again. Returns how many events were applied.
pub async fn unpark_stream(
    projection: &dyn Projection,
    store: &Arc<dyn EventLog>,
    stream_id: &str,
) -> Result<usize, ProjectionError> {
    let db = store.database();
    let name = projection.name();
    let mut tx = Tx::begin(&db).await?;
    let active = active_generation(&mut tx, name).await?;
    checkpoint_in(&mut tx, name, active, true).await?;
    let positions: Vec<i64> = crate::with_tx!(&mut tx, conn => {
        sqlx::query_scalar("SELECT position FROM projection_dead_letters WHERE name = $1 AND stream_id = $2 ORDER BY position")
            .bind(name).bind(stream_id).fetch_all(&mut *conn).await?
    });
    let mut events = Vec::with_capacity(positions.len());
    for position in &positions {
        events.push(event_at(store, *position as u64).await?);
    }
    projection
        .apply(&mut tx, Tables { generation: active }, &events)
        .await?;
    crate::with_tx!(&mut tx, conn => {
        sqlx::query("DELETE FROM projection_dead_letters WHERE name = $1 AND stream_id = $2")
            .bind(name).bind(stream_id).execute(&mut *conn).await?;
    });
    tx.commit().await?;
    Ok(events.len())
}

async fn active_generation(tx: &mut Tx, name: &str) -> Result<i64, ProjectionError> {
    generations_in(tx, name, true)
        .await?
        .map(|g| g.active)
        .ok_or_else(|| ProjectionError::InvalidState(format!("projection `{name}` is not set up")))
}

async fn event_at(
    store: &Arc<dyn EventLog>,
    position: u64,
) -> Result<RecordedEvent, ProjectionError> {
    store
        .read_all(position.saturating_sub(1), 1)
        .await?
        .into_iter()
        .find(|e| e.global_position == position)
        .ok_or_else(|| ProjectionError::InvalidState(format!("no event at position {position}")))
}
