//! Applying one batch: the handler's rows and the new checkpoint in one transaction.
//!
//! Delivery guarantee: exactly-once effect. The batch's rows and the checkpoint commit
//! together, so after any crash the worker resumes right after the last committed batch; an
//! event is never applied twice nor skipped. The checkpoint row is read (and on PostgreSQL
//! locked) inside the transaction and must still be where the batch started: a second worker
//! (another process, or a rebuild) that got there first makes this batch a no-op.

use super::checkpoint::{self, advance_to, checkpoint_in, generations_in, record_failure, Failure};
use crate::db::{now_micros, Tx};
use crate::error::ProjectionError;
use crate::projection::{Projection, Tables};
use keel_log::{Database, EventLog, RecordedEvent};
use std::collections::HashSet;
use std::sync::Arc;

/// What one call to [`advance`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStep {
    /// A batch was applied (or found already applied); the checkpoint is now at `to`.
    Applied {
        /// The checkpoint after the batch.
        to: u64,
        /// Events read in the batch.
        events: usize,
    },
    /// No event after the checkpoint (up to the requested bound).
    CaughtUp,
    /// The projection is stopped on a failing event.
    Failed(Failure),
}

enum Outcome {
    Applied,
    /// The checkpoint moved (or the generation stopped serving) since the batch was read.
    Moved,
    Handler(ProjectionError),
}

/// Where a generation is driven: the live worker drives the active one, a rebuild its own.
#[derive(Debug, Clone, Copy)]
pub struct GenerationTarget {
    /// The generation.
    pub generation: i64,
    /// Only while it is the active generation (the live worker stops writing a generation a
    /// rebuild has replaced, and moves to the new one).
    pub must_be_active: bool,
    /// Never apply events beyond this position (a comparison build stops where the live
    /// tables are).
    pub up_to: Option<u64>,
}

/// Reads the next batch after the target generation's checkpoint and applies it.
///
/// A handler error is isolated: the batch is retried one event at a time, everything before
/// the failing event commits, and the generation is marked failed at that event with the
/// error (nothing after it is applied, nothing is skipped silently).
pub async fn advance(
    projection: &Arc<dyn Projection>,
    store: &Arc<dyn EventLog>,
    db: &Database,
    target: GenerationTarget,
    batch: usize,
) -> Result<BatchStep, ProjectionError> {
    let current = checkpoint::checkpoint(db, projection.name(), target.generation).await?;
    if let Some(failure) = current.failed {
        return Ok(BatchStep::Failed(failure));
    }
    let events = read_after(store, current.position, batch, target.up_to).await?;
    fold(projection, db, target, current.position, &events).await
}

/// The batch of the log after `position`, within the bound `up_to`.
pub(crate) async fn read_after(
    store: &Arc<dyn EventLog>,
    position: u64,
    batch: usize,
    up_to: Option<u64>,
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    if up_to.is_some_and(|limit| position >= limit) {
        return Ok(Vec::new());
    }
    let mut events = store.read_all(position, batch).await?;
    if let Some(limit) = up_to {
        events.retain(|e| e.global_position <= limit);
    }
    Ok(events)
}

/// Applies `events`, read from any source, as the batch following checkpoint `from`: the
/// path [`advance`] takes after reading the log, shared with the JetStream consumer.
///
/// The events must be in log order after `from` (an [`ProjectionError::InvalidState`]
/// otherwise). The checkpoint is compared inside the transaction: if it is no longer at
/// `from` (another writer got there first), nothing is applied and the step reports the
/// checkpoint unmoved with no events, so the caller reads it again. Positions at or below the
/// stored checkpoint are therefore never applied twice.
#[tracing::instrument(level = "debug", name = "projection_batch", skip_all, fields(
    projection = projection.name(),
    from = from,
    events = events.len(),
))]
pub async fn fold(
    projection: &Arc<dyn Projection>,
    db: &Database,
    target: GenerationTarget,
    from: u64,
    events: &[RecordedEvent],
) -> Result<BatchStep, ProjectionError> {
    let Some(last) = events.last().map(|e| e.global_position) else {
        return Ok(BatchStep::CaughtUp);
    };
    let mut previous = from;
    for event in events {
        if event.global_position <= previous {
            return Err(ProjectionError::InvalidState(format!(
                "a batch after position {from} must be in log order: position {} follows {previous}",
                event.global_position
            )));
        }
        previous = event.global_position;
    }
    let error = match apply(projection, db, target, from, events).await? {
        Outcome::Applied => None,
        Outcome::Moved => {
            return Ok(BatchStep::Applied {
                to: from,
                events: 0,
            })
        }
        Outcome::Handler(error) => Some(error),
    };
    if let Some(error) = error {
        if is_transient(&error) {
            return Err(error);
        }
        return isolate(projection, db, target, from, events, error).await;
    }
    tracing::debug!(to = last, "batch folded");
    Ok(BatchStep::Applied {
        to: last,
        events: events.len(),
    })
}

/// Applies the batch one event at a time to find the failing one, and records it.
async fn isolate(
    projection: &Arc<dyn Projection>,
    db: &Database,
    target: GenerationTarget,
    mut from: u64,
    events: &[RecordedEvent],
    batch_error: ProjectionError,
) -> Result<BatchStep, ProjectionError> {
    for event in events {
        let outcome = apply(projection, db, target, from, std::slice::from_ref(event)).await?;
        match outcome {
            Outcome::Applied => from = event.global_position,
            Outcome::Moved => {
                return Ok(BatchStep::Applied {
                    to: from,
                    events: 0,
                })
            }
            Outcome::Handler(error) => {
                if is_transient(&error) {
                    return Err(error);
                }
                let failure = Failure {
                    position: event.global_position,
                    error: error.to_string(),
                };
                tracing::error!(projection = projection.name(), position = failure.position,
                    error = %failure.error, "projection stopped on a failing event");
                record_failure(db, projection.name(), target.generation, &failure).await?;
                return Ok(BatchStep::Failed(failure));
            }
        }
    }
    // Every event applied alone: the batch failed for a reason of its own (too large for one
    // statement, say). Report it rather than hide it; the events are applied now.
    tracing::warn!(projection = projection.name(), error = %batch_error,
        "a batch failed but each of its events applied alone");
    Ok(BatchStep::Applied {
        to: from,
        events: events.len(),
    })
}

/// Connection-level failures are not the event's fault: the worker retries them.
fn is_transient(error: &ProjectionError) -> bool {
    matches!(
        error,
        ProjectionError::Database(
            sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
        )
    )
}

async fn apply(
    projection: &Arc<dyn Projection>,
    db: &Database,
    target: GenerationTarget,
    from: u64,
    events: &[RecordedEvent],
) -> Result<Outcome, ProjectionError> {
    let name = projection.name();
    let mut tx = Tx::begin(db).await?;
    if target.must_be_active {
        let generations = generations_in(&mut tx, name, true).await?;
        if generations.map(|g| g.active) != Some(target.generation) {
            return Ok(Outcome::Moved);
        }
    }
    let current = checkpoint_in(&mut tx, name, target.generation, true).await?;
    if current.position != from || current.failed.is_some() {
        return Ok(Outcome::Moved);
    }
    let handled = hold_back_parked_streams(&mut tx, projection.as_ref(), events).await?;
    if !handled.is_empty() {
        let tables = Tables {
            generation: target.generation,
        };
        if let Err(error) = projection.apply(&mut tx, tables, &handled).await {
            return Ok(Outcome::Handler(error));
        }
    }
    let last = events.last().map_or(from, |e| e.global_position);
    advance_to(&mut tx, name, target.generation, last).await?;
    tx.commit().await?;
    Ok(Outcome::Applied)
}

/// The events the projection handles, minus those of streams with a parked event: those are
/// added to the dead letters behind it, to be applied in order when the stream is unparked.
async fn hold_back_parked_streams(
    tx: &mut Tx,
    projection: &dyn Projection,
    events: &[RecordedEvent],
) -> Result<Vec<RecordedEvent>, ProjectionError> {
    let name = projection.name();
    let mut handled = Vec::with_capacity(events.len());
    // Collected first: an iterator adapter holding a closure must not live across an await
    // (the future would not be `Send` for every lifetime).
    let candidates: Vec<&RecordedEvent> = events
        .iter()
        .filter(|e| projection.handles(&e.event_type))
        .collect();
    if candidates.is_empty() {
        // Nothing to hold back (a batch of other aggregates' events): spare the query.
        return Ok(handled);
    }
    let parked: HashSet<String> = crate::with_tx!(tx, conn => {
        sqlx::query_scalar("SELECT DISTINCT stream_id FROM projection_dead_letters WHERE name = $1")
            .bind(name)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    });
    for event in candidates {
        if parked.contains(&event.stream_id) {
            crate::with_tx!(tx, conn => {
                sqlx::query("INSERT INTO projection_dead_letters (name, position, stream_id, event_type, reason, parked_at) VALUES ($1, $2, $3, $4, 'waiting behind a parked event of its stream', $5)")
                    .bind(name)
                    .bind(event.global_position as i64)
                    .bind(&event.stream_id)
                    .bind(&event.event_type)
                    .bind(now_micros())
                    .execute(&mut *conn)
                    .await?;
            });
        } else {
            handled.push(event.clone());
        }
    }
    Ok(handled)
}
