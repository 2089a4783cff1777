//! The event store's error type, shared by reading and appending on both backends.

/// Why an event store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream was not at the expected version; nothing was written.
    /// The HTTP layer answers 409 (or 412 when the client sent `If-Match`).
    #[error("stream `{stream_id}` is at version {actual}, expected {expected}")]
    WrongExpectedVersion {
        /// The stream that did not match.
        stream_id: String,
        /// What the caller expected, as text (`any`, `no stream`, `exists`, or a number).
        expected: String,
        /// The stream's actual version (0 = absent).
        actual: u64,
    },
    /// Some of the event ids were already stored, but not as this exact append
    /// (other stream, other position, or only part of the batch). Nothing was written.
    #[error("event id {event_id} is already stored as a different append")]
    IdempotencyConflict {
        /// The first id that did not match.
        event_id: uuid::Uuid,
    },
    /// The request itself is invalid (empty append, duplicate stream in one request...).
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The store is shutting down or its writer stopped.
    #[error("the event store writer is not running")]
    WriterStopped,
    /// A stored row could not be read back (corrupt or foreign data).
    #[error("corrupt stored event at position {position}: {reason}")]
    Corrupt {
        /// Global position of the row.
        position: i64,
        /// What was wrong.
        reason: String,
    },
    /// A stored payload could not be decoded into its domain event.
    #[error("cannot decode stored event: {0}")]
    Codec(#[from] keel_domain::EventCodecError),
    /// The database URL is not one Keel supports.
    #[error("unsupported database URL `{0}`: use sqlite://<file> or postgres://...")]
    UnsupportedUrl(String),
}

impl StoreError {
    /// Whether this is an optimistic-concurrency conflict (retrying with fresh state may succeed).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::WrongExpectedVersion { .. })
    }
}
