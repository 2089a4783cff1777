//! How an event written over gRPC is stored as an ordinary Keel event.
//!
//! - Event type `kurrent.<client's type>`: the `kurrent` category keeps client events apart
//!   from Keel's own (projections dispatch on the category, so a client can never forge a
//!   `tenant.*` or `platform.*` event), and NATS subjects become
//!   `<prefix>.<tenant>.kurrent.<type>`.
//! - Payload: a MessagePack map (schema version 1) `{content_type, data, metadata, revision,
//!   epoch}`: the client's bytes (`data`, custom `metadata`), each `{"utf8": text}` when they
//!   are UTF-8 (JSON events stay readable in Keel's event views, audit trail and NATS JSON
//!   bodies) or else `{"base64": text}`, so every payload is also JSON and comes back byte for
//!   byte; the content type, the event's stream revision as the client knows it, and the Keel stream
//!   version at which the stream's current life began (after a soft delete it starts anew).
//! - A soft delete appends `kurrent_stream.deleted` `{next_revision}` to the stream, a
//!   tombstone `kurrent_stream.tombstoned` `{}`. Being events of the stream itself, they are
//!   checked by the store's expected-version rule like any append: a write that raced a
//!   tombstone fails and, read again, sees it. Clients never see these markers.

use keel_store::RecordedEvent;
use serde::{Deserialize, Serialize};

/// The event type prefix of client events.
pub const CLIENT_TYPE_PREFIX: &str = "kurrent.";
/// The event type of a soft delete marker.
pub const DELETED_TYPE: &str = "kurrent_stream.deleted";
/// The event type of a tombstone.
pub const TOMBSTONED_TYPE: &str = "kurrent_stream.tombstoned";

/// The stored payload of a client event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientPayload {
    /// The client's `content-type` (`application/json`, `application/octet-stream`...).
    pub content_type: String,
    /// The event's data, exactly as sent.
    pub data: Body,
    /// The custom metadata, exactly as sent.
    pub metadata: Body,
    /// The event's revision in its stream (0 for the first event).
    pub revision: u64,
    /// The Keel stream version of the first event of the stream's current life.
    pub epoch: u64,
}

/// Client bytes, stored so that Keel's JSON views of payloads can show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// Bytes that are UTF-8 text (JSON, mostly).
    Utf8(String),
    /// Any other bytes, in standard base64.
    Base64(String),
}

impl Body {
    /// Stores `bytes`.
    pub fn new(bytes: Vec<u8>) -> Body {
        match String::from_utf8(bytes) {
            Ok(text) => Body::Utf8(text),
            Err(error) => {
                use base64::Engine;
                Body::Base64(base64::engine::general_purpose::STANDARD.encode(error.into_bytes()))
            }
        }
    }

    /// The bytes as sent; `None` if stored base64 is damaged.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self {
            Body::Utf8(text) => Some(text.into_bytes()),
            Body::Base64(text) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(text).ok()
            }
        }
    }
}

/// The stored payload of a soft delete marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedPayload {
    /// The revision the stream's next event gets if it is written again.
    pub next_revision: u64,
}

/// A stored event of a gRPC stream, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A client event and its type (without the prefix).
    Event(String, ClientPayload),
    /// The stream was soft-deleted here.
    Deleted(DeletedPayload),
    /// The stream was tombstoned here.
    Tombstoned,
}

impl Stored {
    /// Decodes a stored event of a gRPC stream; `None` if it is not one (a foreign or
    /// damaged event, which is then shown as a Keel event).
    pub fn decode(event: &RecordedEvent) -> Option<Stored> {
        match event.event_type.as_str() {
            DELETED_TYPE => rmp_serde::from_slice(&event.payload)
                .ok()
                .map(Stored::Deleted),
            TOMBSTONED_TYPE => Some(Stored::Tombstoned),
            other => {
                let event_type = other.strip_prefix(CLIENT_TYPE_PREFIX)?;
                let payload: ClientPayload = rmp_serde::from_slice(&event.payload).ok()?;
                let intact = |body: &Body| body.clone().into_bytes().is_some();
                (intact(&payload.data) && intact(&payload.metadata))
                    .then(|| Stored::Event(event_type.to_owned(), payload))
            }
        }
    }
}

/// MessagePack with field names, so that Keel's event views show the fields.
pub fn encode<T: Serialize>(payload: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(payload).expect("these payloads always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_bytes_round_trip_and_show_as_fields() {
        let binary = vec![0, 159, 146, 150, 255];
        let payload = ClientPayload {
            content_type: "application/octet-stream".into(),
            data: Body::new(binary.clone()),
            metadata: Body::new(br#"{"a":1}"#.to_vec()),
            revision: 7,
            epoch: 1,
        };
        let bytes = encode(&payload);
        let decoded = rmp_serde::from_slice::<ClientPayload>(&bytes).unwrap();
        assert_eq!(decoded, payload);
        assert_eq!(decoded.data.into_bytes().unwrap(), binary);
        assert_eq!(decoded.metadata.into_bytes().unwrap(), br#"{"a":1}"#);
        let json = keel_domain::event::payload_to_json(&bytes).unwrap();
        assert_eq!(json["revision"], 7);
        assert_eq!(json["metadata"]["utf8"], r#"{"a":1}"#);
        assert_eq!(json["data"]["base64"], "AJ+Slv8=");
    }
}
