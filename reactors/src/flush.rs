//! Flushing what the API collects in memory (API call counts, access denials) every interval
//! until shutdown, and once more after it, so a graceful stop loses nothing.
//!
//! These are not leased: each process flushes what its own requests collected. What a flush
//! appends is a fact (`keel_commands::facts`) whose id is fixed before the first attempt, so a
//! flush retried after an append that did commit stores nothing twice.

use crate::error::ReactorError;
use futures::future::BoxFuture;
use keel_store::{EventStore, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Something collected in memory and appended to the store from time to time.
pub trait Flush: Send + Sync + 'static {
    /// What it is, for logs (`the api_calls meter`).
    fn name(&self) -> &'static str;

    /// Appends what was collected since the last flush; what fails is kept for the next.
    fn flush<'a>(&'a self, store: &'a Arc<dyn EventStore>)
        -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Flushes `what` every `interval` until `cancel` fires, then once more. A failed flush is
/// returned (what it could not append is kept for the next one), for the supervisor to report
/// and start the task again.
pub async fn run(
    what: Arc<dyn Flush>,
    store: Arc<dyn EventStore>,
    interval: Duration,
    cancel: CancellationToken,
) -> Result<(), ReactorError> {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: nothing is collected yet.
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = cancel.cancelled() => {
                what.flush(&store).await?;
                return Ok(());
            }
        }
        what.flush(&store).await?;
    }
}
