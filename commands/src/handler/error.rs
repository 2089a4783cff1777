//! What can go wrong handling a command: the domain refused it, it conflicted with another
//! write, or the infrastructure failed.

use keel_store::StoreError;
use std::sync::Arc;

/// Why a command produced no events.
#[derive(Debug, thiserror::Error)]
pub enum CommandError<E> {
    /// The aggregate refused the command (a business rule). HTTP: 409 or 422, as the domain
    /// error says.
    #[error(transparent)]
    Domain(E),
    /// The command lost against a concurrent write, or claims a taken unique value.
    /// HTTP: 412 for [`Conflict::ExpectedVersion`], 409 otherwise.
    #[error(transparent)]
    Conflict(Conflict),
    /// The store failed; the command may or may not be worth retrying later. HTTP: 503 when
    /// the store is unreachable, 500 otherwise (the cause is logged, not shown).
    #[error("the event store failed: {0}")]
    Infra(Arc<StoreError>),
}

/// The ways a command can conflict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The caller required a stream version (e.g. HTTP `If-Match`) and the stream is elsewhere.
    #[error("`{stream_id}` is at version {actual}, not the expected {expected}")]
    ExpectedVersion {
        /// The aggregate's stream.
        stream_id: String,
        /// What the caller expected.
        expected: u64,
        /// The stream's version now.
        actual: u64,
    },
    /// Concurrent writers kept changing the stream; the command gave up after some retries.
    #[error("`{stream_id}` kept changing concurrently; gave up after {attempts} attempts")]
    Contention {
        /// The aggregate's stream.
        stream_id: String,
        /// How often it was tried.
        attempts: usize,
    },
    /// A value that must be unique (see `keel_domain::Claim`) is already claimed.
    #[error("{scope} `{value}` is already taken")]
    Taken {
        /// What kind of value (e.g. `tenant-slug`).
        scope: &'static str,
        /// The value.
        value: String,
    },
}

impl<E> From<StoreError> for CommandError<E> {
    fn from(error: StoreError) -> Self {
        CommandError::Infra(Arc::new(error))
    }
}
