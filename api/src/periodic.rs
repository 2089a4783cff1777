//! Flushing what the API collects in memory (API call counts, access denials) every interval
//! until shutdown, and once more after it, so a graceful stop loses nothing.

use futures::future::BoxFuture;
use keel_commands::store::{EventStore, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Something collected in memory and appended to the store from time to time.
pub trait Flush: Send + Sync + 'static {
    /// What it is, for logs (`the api_calls meter`).
    fn name(&self) -> &'static str;

    /// Appends what was collected since the last flush; what fails is kept for the next.
    fn flush<'a>(&'a self, store: &'a Arc<dyn EventStore>)
        -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Starts a task flushing `what` every `interval` until `stop` turns true (or its sender is
/// dropped), then once more. A failed flush is logged and retried at the next tick.
pub fn spawn(
    what: Arc<dyn Flush>,
    store: Arc<dyn EventStore>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() && stop.has_changed().is_ok() {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => {}
            }
            if let Err(error) = what.flush(&store).await {
                tracing::warn!(%error, "cannot flush {}; will retry", what.name());
            }
        }
    })
}
