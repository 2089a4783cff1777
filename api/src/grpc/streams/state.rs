//! A gRPC stream's state, read from its last event: how far it is, where its current life
//! began (after a soft delete), whether it is deleted.

use crate::grpc::error::GrpcError;
use crate::grpc::payload::Stored;
use keel_store::{EventStore, StoreError};

/// The state of a stream written over gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    /// Never written.
    Absent,
    /// Has events.
    Live {
        /// Keel version of its last event.
        version: u64,
        /// Revision of its last event.
        last_revision: u64,
        /// Keel version of the first event of its current life.
        epoch: u64,
    },
    /// Soft-deleted: reads find nothing; a write starts it again.
    Deleted {
        /// Keel version of the delete marker.
        version: u64,
        /// The revision its next event gets.
        next_revision: u64,
    },
    /// Tombstoned: never readable or writable again.
    Tombstoned,
}

impl StreamState {
    /// Reads the state of the Keel stream `stream_id`.
    pub async fn load(store: &dyn EventStore, stream_id: &str) -> Result<StreamState, GrpcError> {
        let version = store.stream_version(stream_id).await?;
        if version == 0 {
            return Ok(StreamState::Absent);
        }
        let last = store.read_stream(stream_id, version, 1).await?;
        let last = last
            .first()
            .ok_or_else(|| corrupt(version, "its last event is missing"))?;
        match Stored::decode(last) {
            Some(Stored::Event(_, payload)) => Ok(StreamState::Live {
                version,
                last_revision: payload.revision,
                epoch: payload.epoch,
            }),
            Some(Stored::Deleted(marker)) => Ok(StreamState::Deleted {
                version,
                next_revision: marker.next_revision,
            }),
            Some(Stored::Tombstoned) => Ok(StreamState::Tombstoned),
            None => Err(corrupt(version, "its last event is not a gRPC event")),
        }
    }

    /// The Keel stream version (0 = absent).
    pub fn version(self) -> u64 {
        match self {
            StreamState::Absent | StreamState::Tombstoned => 0,
            StreamState::Live { version, .. } | StreamState::Deleted { version, .. } => version,
        }
    }

    /// The revision of the last readable event, if there is one.
    pub fn current_revision(self) -> Option<u64> {
        match self {
            StreamState::Live { last_revision, .. } => Some(last_revision),
            _ => None,
        }
    }

    /// The revision and epoch the next appended event gets.
    pub fn next(self) -> (u64, u64) {
        match self {
            StreamState::Absent | StreamState::Tombstoned => (0, 1),
            StreamState::Live {
                last_revision,
                epoch,
                ..
            } => (last_revision + 1, epoch),
            StreamState::Deleted {
                version,
                next_revision,
            } => (next_revision, version + 1),
        }
    }

    /// The Keel version of the event at `revision` in the current life (which starts at
    /// `epoch`, whose events have consecutive versions and revisions).
    pub fn version_of(self, revision: u64) -> Option<u64> {
        match self {
            StreamState::Live {
                version,
                last_revision,
                ..
            } => revision.checked_add(version)?.checked_sub(last_revision),
            _ => None,
        }
    }
}

fn corrupt(version: u64, reason: &str) -> GrpcError {
    GrpcError::Store(StoreError::Corrupt {
        position: version as i64,
        reason: format!("a gRPC stream at version {version}: {reason}"),
    })
}
