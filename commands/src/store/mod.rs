//! The event store: the only source of truth.
//!
//! One trait, [`EventStore`], two backends: [`sqlite::SqliteStore`] (a single file in WAL mode,
//! the embedded default) and [`postgres::PostgresStore`] (production, several processes may
//! append at once). [`open`] picks one from a database URL and applies the embedded migrations.
//!
//! Guarantees, on both backends (checked by the conformance suite in `tests/`):
//! - An append (one or several streams) is atomic: all its events are stored or none.
//! - Each stream's expected version is checked inside the writing transaction; a mismatch is
//!   [`StoreError::WrongExpectedVersion`] and writes nothing.
//! - Appending the same event ids again returns the first result and stores nothing new; the
//!   event id is unique forever (a database constraint, not a time window).
//! - Global positions are handed out in commit order, so a reader following [`EventStore::read_all`]
//!   from its checkpoint never skips an event, however writers from any number of processes
//!   interleave. How each backend achieves this is described in its module.
//! - Concurrent appends are grouped into one transaction (group commit, see [`group_commit`]),
//!   so throughput does not collapse to one fsync per event.

pub mod envelope;
pub mod error;
pub(crate) mod group_commit;
pub mod head;
pub(crate) mod kept;
pub(crate) mod known_versions;
pub mod open;
pub mod plan;
pub mod postgres;
pub mod snapshot;
pub mod sqlite;
pub mod sqlite_turns;
pub mod subscription;

use async_trait::async_trait;
pub use envelope::{
    AppendResult, EventJson, EventMetadata, ExpectedVersion, NewEvent, RecordedEvent, StreamAppend,
};
pub use error::StoreError;
pub use open::{open, StoreOptions};
pub use snapshot::Snapshot;
pub use subscription::subscribe;
use tokio::sync::watch;

/// An append-only log of events, organised in streams and in one global order.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends events to one stream if it is at the expected version.
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let results = self
            .append_streams(vec![StreamAppend {
                stream_id: stream_id.to_owned(),
                expected,
                events,
            }])
            .await?;
        Ok(results[0])
    }

    /// Appends to several streams atomically: every stream must be at its expected version,
    /// and either all events are stored or none. Results are in the order of `appends`.
    async fn append_streams(
        &self,
        appends: Vec<StreamAppend>,
    ) -> Result<Vec<AppendResult>, StoreError>;

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

    /// The position of the last committed event (0 = empty store).
    async fn head_position(&self) -> Result<u64, StoreError>;

    /// A receiver that changes whenever the head position may have advanced: after every local
    /// commit, and on a coalesced signal from other processes. Followers wait on it instead of
    /// polling in a tight loop.
    fn watch_head(&self) -> watch::Receiver<u64>;

    /// The latest snapshot of a stream, if any.
    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError>;

    /// Stores a snapshot, unless a newer one of the same stream is already stored.
    async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// The backend's name: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The database the events live in, for components that keep their own tables beside them
    /// (idempotency records, read models).
    fn database(&self) -> Database;
}

/// A handle on the store's database, by backend.
#[derive(Debug, Clone)]
pub enum Database {
    /// The SQLite file's read/write pool.
    Sqlite(sqlx::SqlitePool),
    /// The PostgreSQL pool.
    Postgres(sqlx::PgPool),
}

/// The versions of `stream_ids` in their order, from the rows a backend `found` (a stream
/// without a row does not exist: version 0).
pub(crate) fn in_order(
    stream_ids: &[String],
    found: &std::collections::HashMap<String, i64>,
) -> Vec<u64> {
    stream_ids
        .iter()
        .map(|id| found.get(id).map_or(0, |&version| version as u64))
        .collect()
}
