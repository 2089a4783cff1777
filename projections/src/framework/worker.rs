//! The live worker: catch up with the log, then follow it, woken by the store's head watch.
//!
//! Between batches the worker remembers where it is (generation and checkpoint), so a batch
//! costs the log read and the batch's transaction only; the transaction checks that memory
//! against the stored checkpoint (see [`fold`]), and anything unexpected (a rebuild swapped
//! the generation, another process moved the checkpoint, a failure) makes the worker read both
//! again. Every round trip saved here is saved per projection per group commit.

use super::batch::{advance, fold, read_after, BatchStep, GenerationTarget};
use super::checkpoint::{self, Checkpoint};
use crate::error::ProjectionError;
use crate::projection::Projection;
use keel_log::{Database, EventLog, RecordedEvent};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Events per batch (one transaction each) of a live worker: small enough that a batch
/// commits within milliseconds, so read-your-writes waits stay short.
pub const DEFAULT_BATCH: usize = 1000;
/// Events per batch of a rebuild, where throughput matters more than latency: the larger the
/// batch, the more samples fold into one row (usage) and the fewer statements per event. On
/// PostgreSQL 50,000 took the usage rebuild from 47,000 to 77,000 events/s and the audit one
/// from 55,000 to 77,000; 100,000 gained little more and held twice the memory.
pub const REBUILD_BATCH: usize = 50_000;
/// How long an idle worker waits for a wake-up before looking anyway: wake-ups from other
/// processes are coalesced and may be lost, this bounds the delay.
pub(crate) const FALLBACK_POLL: Duration = Duration::from_millis(500);
/// The least time between the starts of two batches that a commit woke: under a steady
/// stream of commits a worker folds what gathered in that time as one batch (one read, one
/// transaction) instead of one batch per group commit. A worker idle for longer than this
/// starts at once, so a lone command's read-your-writes wait is not lengthened; under load the
/// wait grows by at most this much. On PostgreSQL the four projections' batches otherwise cost
/// more machine CPU than the commands that feed them.
pub(crate) const PACE: Duration = Duration::from_millis(10);
/// How often a stopped (failed) projection looks whether an operator retried or parked.
pub(crate) const FAILED_POLL: Duration = Duration::from_secs(1);
/// Pause after an infrastructure error before trying again.
pub(crate) const ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// The live worker's target: the active generation, while it is active, with no bound.
fn live(generation: i64) -> GenerationTarget {
    GenerationTarget {
        generation,
        must_be_active: true,
        up_to: None,
    }
}

/// Drives one projection's active generation.
pub struct Worker {
    projection: Arc<dyn Projection>,
    store: Arc<dyn EventLog>,
    db: Database,
    batch: usize,
    position: watch::Sender<u64>,
    cursor: Mutex<Option<Cursor>>,
}

/// Where the worker's last batch left the active generation, as far as this worker knows.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    generation: i64,
    position: u64,
}

impl Worker {
    /// A worker for `projection` on `store`'s database.
    pub fn new(projection: Arc<dyn Projection>, store: Arc<dyn EventLog>, batch: usize) -> Self {
        let db = store.database();
        Worker {
            projection,
            store,
            db,
            batch: batch.max(1),
            position: watch::Sender::new(0),
            cursor: Mutex::new(None),
        }
    }

    /// The projection's name.
    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// A receiver of the active generation's checkpoint, as this worker last saw it.
    pub fn position(&self) -> watch::Receiver<u64> {
        self.position.subscribe()
    }

    /// Sets up the projection if needed and publishes its checkpoint.
    pub async fn prepare(&self) -> Result<(), ProjectionError> {
        checkpoint::ensure(&self.db, self.projection.as_ref()).await?;
        self.checkpoint(self.active().await?).await?;
        Ok(())
    }

    /// The generation serving queries, which the worker drives.
    pub async fn active(&self) -> Result<i64, ProjectionError> {
        Ok(checkpoint::generations(&self.db, self.name()).await?.active)
    }

    /// The checkpoint of `generation`, also published to [`position`](Worker::position).
    pub async fn checkpoint(&self, generation: i64) -> Result<Checkpoint, ProjectionError> {
        let current = checkpoint::checkpoint(&self.db, self.name(), generation).await?;
        self.position.send_replace(current.position);
        Ok(current)
    }

    /// The events this worker folds at most per transaction.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Applies at most one batch to the active generation.
    pub async fn step(&self) -> Result<BatchStep, ProjectionError> {
        let Some(cursor) = self.remembered() else {
            let generation = self.active().await?;
            let step = advance(
                &self.projection,
                &self.store,
                &self.db,
                live(generation),
                self.batch,
            )
            .await?;
            return self.settle(generation, step).await;
        };
        let events = read_after(&self.store, cursor.position, self.batch, None).await?;
        let step = fold(
            &self.projection,
            &self.db,
            live(cursor.generation),
            cursor.position,
            &events,
        )
        .await?;
        self.settle(cursor.generation, step).await
    }

    /// The remembered cursor, if the last step left one.
    fn remembered(&self) -> Option<Cursor> {
        *self.cursor.lock().expect("not poisoned")
    }

    /// Remembers `cursor` (or forgets, with `None`) for the next step.
    fn remember(&self, cursor: Option<Cursor>) {
        *self.cursor.lock().expect("not poisoned") = cursor;
    }

    /// Records where `step` left `generation`: a batch that applied events moves the cursor
    /// and the published position; anything else (caught up, moved under us, failed) forgets
    /// the cursor and publishes the stored checkpoint, so the next step starts from the
    /// database again. Caught up forgets too, so an idle worker notices a swapped generation.
    async fn settle(&self, generation: i64, step: BatchStep) -> Result<BatchStep, ProjectionError> {
        let cursor = match step {
            BatchStep::Applied { to, events } if events > 0 => Some(Cursor {
                generation,
                position: to,
            }),
            _ => None,
        };
        self.remember(cursor);
        match cursor {
            Some(cursor) => {
                self.position.send_replace(cursor.position);
            }
            None => {
                self.checkpoint(generation).await?;
            }
        }
        Ok(step)
    }

    /// Applies `events`, read from another source than the log (JetStream), as the batch
    /// after checkpoint `from` of `generation`: the same transaction as [`step`](Worker::step),
    /// so a checkpoint that moved meanwhile makes it a no-op (see [`fold`]).
    pub async fn fold(
        &self,
        generation: i64,
        from: u64,
        events: &[RecordedEvent],
    ) -> Result<BatchStep, ProjectionError> {
        self.remember(None);
        let target = live(generation);
        let step = fold(&self.projection, &self.db, target, from, events).await?;
        self.checkpoint(generation).await?;
        Ok(step)
    }

    /// Steps until caught up (or failed); returns the last step.
    pub async fn catch_up(&self) -> Result<BatchStep, ProjectionError> {
        loop {
            match self.step().await? {
                BatchStep::Applied { .. } => continue,
                other => return Ok(other),
            }
        }
    }

    /// Catches up, then follows the log until `stop` fires. A batch in progress when the
    /// stop comes is finished first (it is one transaction, so dropping it would be safe too).
    /// Infrastructure errors are logged and retried; a failing event stops the projection
    /// until an operator retries or parks it.
    pub async fn run(self, stop: CancellationToken) {
        let mut head = self.store.watch_head();
        if let Err(error) = self.prepare().await {
            tracing::error!(projection = self.name(), %error, "cannot set up the projection");
        }
        while !stop.is_cancelled() {
            let started = Instant::now();
            // Mark the head as seen before reading, so a commit during the step wakes us.
            let seen = *head.borrow_and_update();
            let wait = match self.step().await {
                // Everything committed here before the step is folded: wait for the next
                // commit rather than read an empty batch.
                Ok(BatchStep::Applied { to, events }) if events > 0 && to >= seen => FALLBACK_POLL,
                Ok(BatchStep::Applied { .. }) => continue,
                Ok(BatchStep::CaughtUp) => FALLBACK_POLL,
                Ok(BatchStep::Failed(_)) => FAILED_POLL,
                Err(error) => {
                    tracing::warn!(projection = self.name(), %error, "projection step failed; retrying");
                    ERROR_BACKOFF
                }
            };
            tokio::select! {
                Ok(()) = head.changed(), if wait == FALLBACK_POLL => {
                    // Let a steady stream of commits gather into the next batch.
                    tokio::select! {
                        _ = tokio::time::sleep_until(started + PACE) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => {}
            }
        }
    }
}
