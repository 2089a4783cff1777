//! Stored events as readers see them: the envelope around every domain payload (who, why,
//! when), an event's place in its stream and in the global log, and its JSON view.

use chrono::{DateTime, Utc};
use keel_domain::{Actor, DomainEvent, EventCodecError, TenantId};
use serde::Serialize;
use std::borrow::Cow;
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

    /// The payload as it may leave Keel (NATS, gRPC, event views, exports): as stored, but
    /// without the secret fields of a secret-bearing event type (`keel_domain::redact`).
    pub fn outward_payload(&self) -> Cow<'_, [u8]> {
        keel_domain::redact::outward_payload(&self.event_type, &self.payload)
    }

    /// The JSON view of the whole event as it may leave Keel: [`Self::to_json`] of the
    /// [`Self::outward_payload`]. The API's and the tools' event views are this.
    pub fn outward_json(&self) -> EventJson {
        self.json_of(&self.outward_payload())
    }

    /// The JSON view of the whole event as stored, secrets included: for Keel's own readers.
    pub fn to_json(&self) -> EventJson {
        self.json_of(&self.payload)
    }

    fn json_of(&self, payload: &[u8]) -> EventJson {
        let data = keel_domain::event::payload_to_json(payload).unwrap_or_else(|e| {
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub source_ip: Option<IpAddr>,
    /// The payload as a JSON object: the fields of the event type's payload (those of the
    /// `schema_version` it was stored with, without the fields that hold secrets), or
    /// `{"undecodable_payload": "<why>"}` for a damaged payload.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = std::collections::BTreeMap<String, serde_json::Value>)
    )]
    pub data: serde_json::Value,
}
