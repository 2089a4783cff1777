//! What an append is made of: new events, the version each stream is expected at, and where
//! the append landed.

use keel_domain::{DomainEvent, EventCodecError};
use keel_log::EventMetadata;
use uuid::Uuid;

/// An event about to be appended: payload already encoded as MessagePack.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Unique id (UUID v7). Appending an event id again is idempotent.
    pub event_id: Uuid,
    /// Stored type name, e.g. `tenant.renamed`.
    pub event_type: String,
    /// Schema version of the payload.
    pub schema_version: u16,
    /// MessagePack payload.
    pub payload: Vec<u8>,
    /// Who, why and when.
    pub metadata: EventMetadata,
}

impl NewEvent {
    /// Encodes a domain event with a fresh event id.
    pub fn from_domain<E: DomainEvent>(
        event: &E,
        metadata: EventMetadata,
    ) -> Result<Self, EventCodecError> {
        Ok(NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event.event_type().to_owned(),
            schema_version: event.schema_version(),
            payload: event.encode()?,
            metadata,
        })
    }
}

/// What the appender expects a stream's version to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (any version).
    StreamExists,
    /// The stream must be exactly at this version (0 means it must not exist).
    Exact(u64),
}

impl ExpectedVersion {
    /// Whether a stream currently at `current` (0 = absent) satisfies this expectation.
    pub fn accepts(self, current: u64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::StreamExists => current > 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }
}

/// Events for one stream within an append.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    /// Target stream.
    pub stream_id: String,
    /// The version the stream must be at.
    pub expected: ExpectedVersion,
    /// The events, in order. Must not be empty.
    pub events: Vec<NewEvent>,
}

/// Where a stream append landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendResult {
    /// The stream's version after the append (its last event's version).
    pub stream_version: u64,
    /// The global position of the last appended event.
    pub global_position: u64,
}
