//! Paging through the store for reads and subscriptions: a stream's versions in either
//! direction, and the global log (or a tenant's slice of it) in either direction.

use keel_domain::TenantId;
use keel_store::{EventStore, RecordedEvent, StoreError};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// Events per store read.
pub const PAGE: usize = 500;

/// The part of the global log a caller sees.
#[derive(Debug, Clone, Copy)]
pub enum Log {
    /// All of it (platform admin).
    All,
    /// One tenant's events.
    Tenant(TenantId),
}

impl Log {
    /// Up to `limit` events with a position above `after`, in order (gap-free, like
    /// [`EventStore::read_all`]).
    pub async fn after(
        self,
        store: &dyn EventStore,
        after: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match self {
            Log::All => store.read_all(after, limit).await,
            Log::Tenant(tenant) => store.read_tenant(tenant, after, limit).await,
        }
    }

    /// Up to `limit` events with a position below `before`, newest first. The store reads
    /// forwards only, so this reads windows of positions backwards, widening them while a
    /// tenant's events are sparse.
    pub async fn before(
        self,
        store: &dyn EventStore,
        before: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut found = Vec::new();
        let mut end = before;
        let mut window = (limit as u64).clamp(1, PAGE as u64);
        while end > 1 && found.len() < limit {
            let start = end.saturating_sub(window).max(1);
            // Positions in [start, end) are at most `end - start` events.
            let mut events = self.after(store, start - 1, (end - start) as usize).await?;
            events.retain(|e| e.global_position < end);
            found.extend(events.into_iter().rev());
            end = start;
            window = (window * 2).min(64 * PAGE as u64);
        }
        found.truncate(limit);
        Ok(found)
    }
}

/// The next page of a forward read of the log, read in the background while the page before
/// it is sent: the store's read (a database round trip, or SQLite's work on another thread)
/// then overlaps the encoding and sending of that page instead of following it. Dropping it
/// stops the read.
pub struct NextPage(JoinHandle<Result<Vec<RecordedEvent>, StoreError>>);

impl NextPage {
    /// Starts reading up to `limit` events of `log` with a position above `after`.
    pub fn start(log: Log, store: Arc<dyn EventStore>, after: u64, limit: usize) -> NextPage {
        NextPage(tokio::spawn(async move {
            log.after(&*store, after, limit).await
        }))
    }

    /// The page, once read.
    pub async fn events(mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        match (&mut self.0).await {
            Ok(read) => read,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Only a runtime shutting down cancels the read: the server is stopping.
            Err(_) => Err(StoreError::WriterStopped),
        }
    }
}

impl Drop for NextPage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Up to `limit` events of a stream from version `from` down to `lowest`, newest first.
pub async fn stream_backwards(
    store: &dyn EventStore,
    stream_id: &str,
    from: u64,
    lowest: u64,
    limit: usize,
) -> Result<Vec<RecordedEvent>, StoreError> {
    if from < lowest || from == 0 || limit == 0 {
        return Ok(Vec::new());
    }
    let start = from.saturating_sub(limit as u64 - 1).max(lowest).max(1);
    let mut events = store
        .read_stream(stream_id, start, (from - start + 1) as usize)
        .await?;
    events.retain(|e| e.stream_version <= from);
    events.reverse();
    Ok(events)
}
