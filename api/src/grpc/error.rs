//! The gRPC layer's error type, and the statuses (with the metadata the official clients read)
//! it turns into.

use keel_store::StoreError;
use tonic::metadata::MetadataValue;
use tonic::{Code, Status};

/// Why a gRPC call failed.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// No usable credentials.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Credentials fine, but not for this (Keel's own streams are read-only, missing scope).
    #[error("{0}")]
    PermissionDenied(String),
    /// The request cannot be served as sent.
    #[error("{0}")]
    InvalidArgument(String),
    /// The stream was tombstoned (or a tombstoned stream was asked to be deleted again).
    #[error("stream `{0}` is deleted")]
    StreamDeleted(String),
    /// A delete or tombstone whose expected revision did not match. The message has the
    /// shape the clients parse.
    #[error(
        "WrongExpectedVersion: the stream is not at the expected revision. Stream: {stream}, \
         Expected version: {expected}, Actual version: {actual}"
    )]
    WrongExpectedVersion {
        /// The client's stream name.
        stream: String,
        /// What the client expected, as the protocol spells it.
        expected: String,
        /// The stream's current revision, as the protocol spells it.
        actual: String,
    },
    /// The event store failed.
    #[error("event store: {0}")]
    Store(#[from] StoreError),
}

impl From<GrpcError> for Status {
    fn from(error: GrpcError) -> Status {
        let message = error.to_string();
        match error {
            GrpcError::Unauthenticated(_) => Status::unauthenticated(message),
            GrpcError::PermissionDenied(_) => {
                with_exception(Status::permission_denied(message), "access-denied", &[])
            }
            GrpcError::InvalidArgument(_) => Status::invalid_argument(message),
            GrpcError::StreamDeleted(stream) => with_exception(
                Status::failed_precondition(message),
                "stream-deleted",
                &[("stream-name", &stream)],
            ),
            GrpcError::WrongExpectedVersion {
                stream,
                expected,
                actual,
            } => with_exception(
                Status::failed_precondition(message),
                "wrong-expected-version",
                &[
                    ("stream-name", &stream),
                    ("expected-version", &expected),
                    ("actual-version", &actual),
                ],
            ),
            GrpcError::Store(StoreError::InvalidAppend(_)) => Status::invalid_argument(message),
            GrpcError::Store(StoreError::WriterStopped) => Status::unavailable(message),
            GrpcError::Store(error) => {
                tracing::error!(%error, "gRPC call failed in the event store");
                Status::new(Code::Unavailable, "the event store failed; try again")
            }
        }
    }
}

/// Adds the `exception` metadata (and its companions) the clients use to name an error.
fn with_exception(mut status: Status, exception: &str, extra: &[(&'static str, &str)]) -> Status {
    let metadata = status.metadata_mut();
    if let Ok(value) = MetadataValue::try_from(exception) {
        metadata.insert("exception", value);
    }
    for (name, value) in extra {
        // A stream name that is not valid in a header is left out rather than failing the call.
        if let Ok(value) = MetadataValue::try_from(*value) {
            metadata.insert(*name, value);
        }
    }
    status
}
