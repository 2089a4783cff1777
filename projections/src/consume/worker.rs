//! The JetStream worker: one projection folded from the relayed stream instead of the log.
//!
//! Each step reads the active generation's checkpoint from the database, makes sure its
//! cursor stands exactly there (reopening it after anything unusual: a batch that did not
//! apply in full, an error, a checkpoint another writer moved back by a reset), takes the next
//! gap-free batch and folds it through [`Worker::fold`], the database worker's transaction.
//! The checkpoint moved forward by someone else is followed by skipping; one moved back
//! reopens the cursor there.

use super::source::{Source, StreamCursor};
use crate::error::ProjectionError;
use crate::framework::batch::BatchStep;
use crate::framework::worker::{Worker, ERROR_BACKOFF, FAILED_POLL, FALLBACK_POLL};
use crate::projection::Projection;
use keel_log::EventLog;
use std::sync::Arc;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Drives one projection's active generation from JetStream.
pub struct NatsWorker {
    worker: Worker,
    source: Arc<Source>,
    /// Stands right after the checkpoint, or is `None` and is reopened on the next step.
    cursor: Option<StreamCursor>,
}

impl NatsWorker {
    /// A worker folding `projection` into `store`'s database from `source`, at most `batch`
    /// events per transaction.
    pub fn new(
        projection: Arc<dyn Projection>,
        store: Arc<dyn EventLog>,
        source: Arc<Source>,
        batch: usize,
    ) -> Self {
        NatsWorker {
            worker: Worker::new(projection, store, batch),
            source,
            cursor: None,
        }
    }

    /// The projection's name.
    pub fn name(&self) -> &'static str {
        self.worker.name()
    }

    /// A receiver of the active generation's checkpoint, as this worker last saw it.
    pub fn position(&self) -> watch::Receiver<u64> {
        self.worker.position()
    }

    /// Sets up the projection if needed and publishes its checkpoint.
    pub async fn prepare(&self) -> Result<(), ProjectionError> {
        self.worker.prepare().await
    }

    /// Folds one batch, waiting at most the fallback poll for it; `None` if `stop` fired
    /// meanwhile.
    pub async fn step(
        &mut self,
        stop: &CancellationToken,
    ) -> Result<Option<BatchStep>, ProjectionError> {
        let generation = self.worker.active().await?;
        let current = self.worker.checkpoint(generation).await?;
        if let Some(failure) = current.failed {
            self.cursor = None;
            return Ok(Some(BatchStep::Failed(failure)));
        }
        // Taken, so that any early return below leaves no cursor to trust.
        let mut cursor = match self.cursor.take() {
            Some(mut cursor) if cursor.after() <= current.position => {
                cursor.skip_to(current.position);
                cursor
            }
            _ => self.source.open_after(current.position).await?,
        };
        let events = tokio::select! {
            events = cursor.next_batch(self.worker.batch(), FALLBACK_POLL) => events?,
            // Messages already taken from the consumer would be lost with the cursor: it is
            // dropped and reopened from the checkpoint if the worker goes on.
            _ = stop.cancelled() => return Ok(None),
        };
        let Some(last) = events.last().map(|e| e.global_position) else {
            self.cursor = Some(cursor);
            return Ok(Some(BatchStep::CaughtUp));
        };
        let step = self
            .worker
            .fold(generation, current.position, &events)
            .await?;
        if matches!(step, BatchStep::Applied { to, .. } if to == last) {
            self.cursor = Some(cursor);
        }
        Ok(Some(step))
    }

    /// Follows the stream until `stop` fires, finishing the
    /// batch in progress. Connection and database failures are logged and retried; a failing
    /// event stops the projection until an operator retries or parks it, as in the database
    /// worker. Returns an error only for what retrying cannot mend: set-up failures, a gap in
    /// the stream, a message that is not a Keel event.
    pub async fn run(mut self, stop: CancellationToken) -> Result<(), ProjectionError> {
        // Through the field: a `&self` held across an await would need the cursor's consumer
        // stream to be `Sync`, which it is not, and the task must be `Send`.
        self.worker.prepare().await?;
        while !stop.is_cancelled() {
            let wait = match self.step(&stop).await {
                Ok(Some(BatchStep::Failed(_))) => FAILED_POLL,
                Ok(_) => continue,
                Err(error) if error.is_fatal() => {
                    tracing::error!(projection = self.name(), %error, "the projection cannot go on from JetStream");
                    return Err(error);
                }
                Err(error) => {
                    tracing::warn!(projection = self.name(), %error, "projection step from JetStream failed; retrying");
                    ERROR_BACKOFF
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => {}
            }
        }
        Ok(())
    }
}
