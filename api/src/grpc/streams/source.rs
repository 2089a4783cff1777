//! Paging through the store for reads and subscriptions: a stream's versions in either
//! direction, and the global log (or a tenant's slice of it) in either direction.

use keel_commands::store::{EventStore, RecordedEvent, StoreError};
use keel_domain::TenantId;

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
