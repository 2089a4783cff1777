//! Keel's stored events as the protocol's `ReadEvent`s, and the protocol's small types (UUIDs,
//! positions, ticks) to and from Keel's.

use super::names::GrpcCaller;
use super::payload::Stored;
use super::proto::shared::{self, uuid::Value, StreamIdentifier};
use super::proto::streams::read_resp::read_event::{Position, RecordedEvent as ProtoEvent};
use super::proto::streams::read_resp::ReadEvent;
use chrono::{DateTime, Utc};
use keel_store::RecordedEvent;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// How the client wants event ids: as text or as two 64-bit halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UuidFormat {
    /// `"0190..."`.
    String,
    /// Most and least significant bits.
    Structured,
}

/// A protocol UUID.
pub fn to_proto_uuid(id: Uuid, format: UuidFormat) -> shared::Uuid {
    let value = match format {
        UuidFormat::String => Value::String(id.to_string()),
        UuidFormat::Structured => {
            let (high, low) = id.as_u64_pair();
            Value::Structured(shared::uuid::Structured {
                most_significant_bits: high as i64,
                least_significant_bits: low as i64,
            })
        }
    };
    shared::Uuid { value: Some(value) }
}

/// A Keel UUID from a protocol one; `None` if missing or malformed.
pub fn from_proto_uuid(id: Option<&shared::Uuid>) -> Option<Uuid> {
    match id?.value.as_ref()? {
        Value::String(text) => Uuid::parse_str(text).ok(),
        Value::Structured(s) => Some(Uuid::from_u64_pair(
            s.most_significant_bits as u64,
            s.least_significant_bits as u64,
        )),
    }
}

/// The clients' `created` format: 100-nanosecond ticks since the Unix epoch.
pub fn ticks(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros().saturating_mul(10)
}

/// What clients see of Keel's own events beside the JSON data: the envelope.
#[derive(Serialize)]
struct KeelMetadata<'a> {
    tenant_id: String,
    actor: &'a keel_domain::Actor,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    occurred_at: DateTime<Utc>,
    schema_version: u16,
}

/// The protocol's view of a stored event, as `caller` names streams; `None` for the
/// deletion markers, which clients never see.
pub fn to_read_event(
    event: &RecordedEvent,
    caller: &GrpcCaller,
    format: UuidFormat,
) -> Option<ReadEvent> {
    let grpc_stream = event.stream_id.starts_with(super::names::NAMESPACE);
    let decoded = if grpc_stream {
        Stored::decode(event)
    } else {
        None
    };
    let (event_type, content_type, revision, data, custom_metadata) = match decoded {
        Some(Stored::Deleted(_) | Stored::Tombstoned) => return None,
        Some(Stored::Event(event_type, payload)) => (
            event_type,
            payload.content_type,
            payload.revision,
            // `Stored::decode` only accepts payloads whose bodies decode.
            payload.data.into_bytes().unwrap_or_default(),
            payload.metadata.into_bytes().unwrap_or_default(),
        ),
        None => {
            // Keel's own events as they may leave it: without secret fields.
            let json = event.outward_json();
            let metadata = KeelMetadata {
                tenant_id: event.metadata.tenant_id.to_string(),
                actor: &event.metadata.actor,
                correlation_id: event.metadata.correlation_id,
                causation_id: event.metadata.causation_id,
                occurred_at: event.metadata.occurred_at,
                schema_version: event.schema_version,
            };
            (
                event.event_type.clone(),
                "application/json".to_owned(),
                event.stream_version.saturating_sub(1),
                serde_json::to_vec(&json.data).expect("JSON values serialize"),
                serde_json::to_vec(&metadata).expect("the envelope serializes"),
            )
        }
    };
    let metadata = HashMap::from([
        ("type".to_owned(), event_type),
        ("content-type".to_owned(), content_type),
        ("created".to_owned(), ticks(event.recorded_at).to_string()),
    ]);
    let position = event.global_position;
    Some(ReadEvent {
        event: Some(ProtoEvent {
            id: Some(to_proto_uuid(event.event_id, format)),
            stream_identifier: Some(StreamIdentifier {
                stream_name: caller.display(&event.stream_id).as_bytes().to_vec(),
            }),
            stream_revision: revision,
            prepare_position: position,
            commit_position: position,
            metadata,
            custom_metadata,
            data,
        }),
        link: None,
        position: Some(Position::CommitPosition(position)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_round_trip_in_both_formats() {
        let id = Uuid::now_v7();
        for format in [UuidFormat::String, UuidFormat::Structured] {
            assert_eq!(from_proto_uuid(Some(&to_proto_uuid(id, format))), Some(id));
        }
        assert_eq!(from_proto_uuid(None), None);
        let bad = shared::Uuid {
            value: Some(Value::String("nope".into())),
        };
        assert_eq!(from_proto_uuid(Some(&bad)), None);
    }

    #[test]
    fn ticks_are_100ns_since_the_unix_epoch() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(ticks(at), 17_000_000_000_000_000);
    }
}
