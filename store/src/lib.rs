//! The event store: the only source of truth, and the one place events are appended.
//!
//! One trait, [`EventStore`] (the read-only [`EventLog`] plus appending and snapshots), two
//! backends: [`sqlite::SqliteStore`] (a single file in WAL mode, the embedded default) and
//! [`postgres::PostgresStore`] (production, several processes may append at once). [`open`]
//! picks one from a database URL and applies the embedded migrations.
//!
//! Guarantees, on both backends (checked by the conformance suite in `tests/`):
//! - An append (one or several streams) is atomic: all its events are stored or none.
//! - Each stream's expected version is checked inside the writing transaction; a mismatch is
//!   [`StoreError::WrongExpectedVersion`] and writes nothing.
//! - Appending the same event ids again returns the first result and stores nothing new; the
//!   event id is unique forever (a database constraint, not a time window).
//! - Global positions are handed out in commit order, so a reader following
//!   [`EventLog::read_all`] from its checkpoint never skips an event, however writers from any
//!   number of processes interleave. How each backend achieves this is described in its module.
//! - Concurrent appends are grouped into one transaction (group commit, see [`group_commit`]),
//!   so throughput does not collapse to one fsync per event.
//!
//! Who may append: the command handler and `append_facts` (both in `keel-commands`), and
//! nothing on the read side, which depends on `keel-log` only.

pub mod append;
pub(crate) mod group_commit;
pub mod group_decision;
pub(crate) mod idle_connections;
pub(crate) mod known_versions;
pub mod open;
pub mod postgres;
pub mod snapshot;
pub mod sqlite;

pub use append::{AppendResult, ExpectedVersion, NewEvent, StreamAppend};
pub use keel_log::{
    subscribe, write_turns, Database, EventJson, EventLog, EventMetadata, Head, RecordedEvent,
    StoreError,
};
pub use open::{open, StoreOptions};
pub use snapshot::Snapshot;

use async_trait::async_trait;

/// The event log with appending: what the write side holds.
#[async_trait]
pub trait EventStore: EventLog {
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

    /// The latest snapshot of a stream, if any.
    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError>;

    /// Stores a snapshot, unless a newer one of the same stream is already stored.
    async fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
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
