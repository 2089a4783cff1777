//! The read side's error type.

use keel_log::StoreError;

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
    /// NATS could not be reached or answered with an error (retried by the consumer).
    #[error("NATS error: {0}")]
    Nats(String),
    /// The JetStream stream cannot feed a projection as configured (it does not exist, its
    /// retention may drop what the projection has not applied, bodies are JSON).
    #[error("cannot project from JetStream: {0}")]
    SourceSetup(String),
    /// The stream lacks events the projection needs: its retention dropped them, or someone
    /// deleted them. Positions are gap-free in the log, so this is never skipped silently.
    #[error("the JetStream stream `{stream}` has no event between position {after} and position {found}: it lost {missing} event(s) the projection needs (dropped by retention or deleted); rebuild the projection from the database (`keel replay`) or run it without --from-nats")]
    SourceGap {
        /// The stream.
        stream: String,
        /// The projection's checkpoint (or the last event read).
        after: u64,
        /// The position of the next message the stream holds.
        found: u64,
        /// How many positions are missing.
        missing: u64,
    },
    /// A message of the stream is not an event as the relay publishes it.
    #[error("message {sequence} of the JetStream stream `{stream}` is not a Keel event the projections can fold: {reason}")]
    SourceMessage {
        /// The stream.
        stream: String,
        /// The message's stream sequence.
        sequence: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// An audit signing or public key could not be read, written or parsed.
    #[error("audit key: {0}")]
    AuditKey(String),
    /// An audit export to verify is not as Keel writes them.
    #[error("line {line} of the audit export: {reason}")]
    AuditExport {
        /// The line (from 1).
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing an export failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

impl ProjectionError {
    /// Whether retrying cannot help: the JetStream consumer stops on these instead of
    /// retrying (the stream lost events, holds foreign messages, or cannot serve at all).
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            ProjectionError::SourceSetup(_)
                | ProjectionError::SourceGap { .. }
                | ProjectionError::SourceMessage { .. }
                | ProjectionError::UnknownProjection(_)
        )
    }

    /// A handler failure at `position`.
    pub fn handler(position: u64, reason: impl std::fmt::Display) -> Self {
        ProjectionError::Handler {
            position,
            reason: reason.to_string(),
        }
    }
}
