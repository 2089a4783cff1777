//! The read side's error type.

use keel_commands::store::StoreError;

/// Why a projection operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    /// The read-model database failed.
    #[error("read-model database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The event store failed.
    #[error("event store error: {0}")]
    Store(#[from] StoreError),
    /// A handler could not fold an event (undecodable payload, broken invariant...).
    #[error("cannot apply event at position {position}: {reason}")]
    Handler {
        /// The event's global position.
        position: u64,
        /// What went wrong.
        reason: String,
    },
    /// No projection has this name.
    #[error("no projection is named `{0}`")]
    UnknownProjection(String),
    /// The operation needs the projection to be in another state (e.g. park needs a failure).
    #[error("{0}")]
    InvalidState(String),
    /// Writing an export failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

impl ProjectionError {
    /// A handler failure at `position`.
    pub fn handler(position: u64, reason: impl std::fmt::Display) -> Self {
        ProjectionError::Handler {
            position,
            reason: reason.to_string(),
        }
    }
}
