//! Catch-up subscriptions: read the log from a position, then follow new events live.

use crate::{EventLog, RecordedEvent, StoreError};
use futures::Stream;
use std::sync::Arc;
use std::time::Duration;

/// How long a follower waits for a wake-up before looking at the store anyway. Wake-ups from
/// other processes are coalesced and may be lost if a connection drops; this bounds the delay.
const FALLBACK_POLL: Duration = Duration::from_millis(500);

/// Every event after `after_position`, in order: first the stored ones in batches of `batch`,
/// then new ones as they are committed. The stream ends only on a store error.
pub fn subscribe(
    log: Arc<dyn EventLog>,
    after_position: u64,
    batch: usize,
) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send {
    async_stream::try_stream! {
        let mut head = log.watch_head();
        let mut position = after_position;
        loop {
            // Mark the current head as seen *before* reading, so a commit that lands between
            // the read and the wait still wakes us.
            head.borrow_and_update();
            let events = log.read_all(position, batch).await?;
            if events.is_empty() {
                let _ = tokio::time::timeout(FALLBACK_POLL, head.changed()).await;
                continue;
            }
            for event in events {
                position = event.global_position;
                yield event;
            }
        }
    }
}
