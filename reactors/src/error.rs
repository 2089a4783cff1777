//! Why a reactor stopped or could not act. Every reactor runs under the supervisor
//! ([`crate::tasks`]), which logs the error, shows it on `/readyz` and `/metrics`, and starts
//! the reactor again with a backoff.

use crate::relay::RelayError;
use keel_log::StoreError;
use keel_projections::ProjectionError;

/// A reactor failure.
#[derive(Debug, thiserror::Error)]
pub enum ReactorError {
    /// Another process took the reactor's lease (this one was paused or cut off for longer than
    /// the lease lasts): it stops acting at once and waits to take the lease again.
    #[error("the lease of reactor `{0}` moved to another process")]
    LeaseLost(&'static str),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The event store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A read model the reactor reads failed.
    #[error(transparent)]
    ReadModel(#[from] ProjectionError),
    /// The NATS relay failed.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// An event the reactor follows could not be decoded.
    #[error("cannot decode the event at position {position}: {source}")]
    Decode {
        /// Its global position.
        position: u64,
        /// Why.
        source: keel_domain::EventCodecError,
    },
    /// A command the reactor issued failed for a reason it cannot handle.
    #[error("{0}")]
    Command(String),
    /// The task ended although nothing asked it to stop.
    #[error("the task ended on its own")]
    Ended,
    /// The task panicked.
    #[error("the task panicked: {0}")]
    Panicked(String),
}
