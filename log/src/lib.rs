//! Reading Keel's event log: the side of the event store that the read side may use.
//!
//! [`EventLog`] reads streams, the global log and a tenant's slice of it, reports versions and
//! the head position, and wakes followers when the head moves; [`subscribe`] turns that into a
//! catch-up-then-live stream. Nothing here appends: appending lives in `keel-store`, whose
//! backends implement this trait, so a crate that depends on `keel-log` alone (the
//! projections) cannot write to the log, and Cargo, not a comment, keeps it that way.
//!
//! Guarantees every backend gives (the conformance suite in `tests/` checks them):
//! - [`EventLog::read_all`] hands out events in global position order and never skips: an
//!   event not handed out now has a higher position than every event handed out, however
//!   writers in any number of processes interleave.
//! - [`EventLog::watch_head`] changes after every local commit and on a (coalesced) signal
//!   from other processes.
//!
//! Also here, because read models share the log's database: [`Database`] (the pool by
//! backend) and [`write_turns`] (the queue a process's writers of one SQLite file wait in).

pub mod error;
pub mod event;
pub mod head;
pub mod subscription;
pub mod write_turns;

pub use error::StoreError;
pub use event::{EventJson, EventMetadata, RecordedEvent};
pub use head::Head;
pub use subscription::subscribe;

use async_trait::async_trait;
use tokio::sync::watch;

/// The event log, read-only: streams, the global order, a tenant's slice, versions, the head.
#[async_trait]
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` events of a stream, from `from_version` (1 = the first event) on.
    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events of the global log with a position above `after_position`,
    /// in position order. Never skips: an event not handed out now has a higher position
    /// than every event handed out.
    async fn read_all(
        &self,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Up to `limit` events of one tenant with a position above `after_position`, in position
    /// order: the tenant's own slice of the log.
    async fn read_tenant(
        &self,
        tenant_id: keel_domain::TenantId,
        after_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError>;

    /// The current version of a stream (0 = it does not exist).
    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError>;

    /// The current versions of several streams, in the order given (0 = it does not exist), in
    /// one query: what loading a list of aggregates checks its cached states against.
    async fn stream_versions(&self, stream_ids: &[String]) -> Result<Vec<u64>, StoreError>;

    /// The position of the last committed event (0 = empty log).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// A receiver that changes whenever the head position may have advanced: after every local
    /// commit, and on a coalesced signal from other processes. Followers wait on it instead of
    /// polling in a tight loop.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// The backend's name: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The database the events live in, for components that keep their own tables beside them
    /// (read models, reactors' progress, idempotency records).
    fn database(&self) -> Database;
}

/// A handle on the log's database, by backend.
#[derive(Debug, Clone)]
pub enum Database {
    /// The SQLite file's read/write pool.
    Sqlite(sqlx::SqlitePool),
    /// The PostgreSQL pool.
    Postgres(sqlx::PgPool),
}
