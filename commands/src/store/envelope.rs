//! The event envelope: what is stored around every domain payload.

use chrono::{DateTime, Utc};
use keel_domain::{Actor, DomainEvent, EventCodecError, TenantId};
use serde::Serialize;
use std::net::IpAddr;
use uuid::Uuid;

/// Who, why and when: the metadata a command stamps on every event it causes.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMetadata {
    /// The tenant whose data the event is.
    pub tenant_id: TenantId,
    /// The principal that caused it.
    pub actor: Actor,
    /// Ties together everything one request caused (the HTTP request id).
    pub correlation_id: Uuid,
    /// The event or command that directly caused this one, if known.
    pub causation_id: Option<Uuid>,
    /// When the fact happened, by the caller's clock.
    pub occurred_at: DateTime<Utc>,
    /// The client address the command came from (an HTTP request's peer), if it came from one.
    pub source_ip: Option<IpAddr>,
}

impl EventMetadata {
    /// Metadata for a command run now by `actor` on `tenant_id`, with a fresh correlation id.
    pub fn new(tenant_id: TenantId, actor: Actor) -> Self {
        EventMetadata {
            tenant_id,
            actor,
            correlation_id: Uuid::now_v7(),
            causation_id: None,
            occurred_at: Utc::now(),
            source_ip: None,
        }
    }
}

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

/// An event as stored: the envelope with its place in its stream and in the global log.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Unique id.
    pub event_id: Uuid,
    /// The stream it belongs to, e.g. `tenant-0190...`.
    pub stream_id: String,
    /// Its version in the stream: 1 for the first event.
    pub stream_version: u64,
    /// Its position in the global log: strictly increasing in the order `read_all` hands out.
    pub global_position: u64,
    /// Stored type name.
    pub event_type: String,
    /// Schema version of the stored payload.
    pub schema_version: u16,
    /// MessagePack payload, exactly as appended.
    pub payload: Vec<u8>,
    /// Who, why and when.
    pub metadata: EventMetadata,
    /// When the store committed it.
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    /// Decodes the payload into a domain event (upcasting old schema versions).
    pub fn decode<E: DomainEvent>(&self) -> Result<E, EventCodecError> {
        E::decode(&self.event_type, self.schema_version, &self.payload)
    }

    /// The JSON view of the whole event, for the API and the tools.
    pub fn to_json(&self) -> EventJson {
        let data = keel_domain::event::payload_to_json(&self.payload).unwrap_or_else(|e| {
            // A payload that is not valid MessagePack is shown, not hidden: the tools must be
            // able to display a damaged store.
            serde_json::json!({ "undecodable_payload": e.to_string() })
        });
        EventJson {
            event_id: self.event_id,
            stream_id: self.stream_id.clone(),
            stream_version: self.stream_version,
            global_position: self.global_position,
            tenant_id: self.metadata.tenant_id,
            event_type: self.event_type.clone(),
            schema_version: self.schema_version,
            occurred_at: self.metadata.occurred_at,
            recorded_at: self.recorded_at,
            actor: self.metadata.actor.clone(),
            correlation_id: self.metadata.correlation_id,
            causation_id: self.metadata.causation_id,
            source_ip: self.metadata.source_ip,
            data,
        }
    }
}

/// The JSON view of a stored event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventJson {
    /// Unique id.
    pub event_id: Uuid,
    /// Stream id.
    pub stream_id: String,
    /// Version in the stream.
    pub stream_version: u64,
    /// Position in the global log.
    pub global_position: u64,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Stored type name.
    pub event_type: String,
    /// Schema version of the stored payload.
    pub schema_version: u16,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When it was stored.
    pub recorded_at: DateTime<Utc>,
    /// Who caused it.
    pub actor: Actor,
    /// Request-wide correlation id.
    pub correlation_id: Uuid,
    /// Direct cause, if known.
    pub causation_id: Option<Uuid>,
    /// The client address the command came from, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<IpAddr>,
    /// The payload as JSON.
    pub data: serde_json::Value,
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
