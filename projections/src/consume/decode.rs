//! A relayed message back into the event the store holds: the inverse of
//! [`published::message::outgoing`](crate::published::message::outgoing).
//!
//! Every field of [`RecordedEvent`] comes from a header, and the payload is the body, byte for
//! byte. That needs the MessagePack body format: a JSON body is the payload's JSON view, and
//! MessagePack re-encoded from it is not always the stored bytes (integer widths, floats, binary
//! strings, map order), so such a message is refused rather than folded approximately.

use crate::published::message::headers;
use async_nats::HeaderMap;
use chrono::{DateTime, Utc};
use keel_domain::{Actor, TenantId};
use keel_log::{EventMetadata, RecordedEvent};
use std::str::FromStr;

/// The `Content-Type` of a body that is the stored payload.
const MSGPACK: &str = "application/msgpack";

/// The stored event a message carries, or why it carries none.
pub fn decode(headers: Option<&HeaderMap>, body: &[u8]) -> Result<RecordedEvent, String> {
    let headers = headers.ok_or("it has no headers")?;
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| v.as_str())
            .ok_or_else(|| format!("the header {name} is missing (a relay older than this consumer publishes no {name}; rebuild from the database)"))
    };
    let content_type = text(headers::CONTENT_TYPE)?;
    if content_type != MSGPACK {
        return Err(format!(
            "its body is {content_type}, not the stored MessagePack: publish with nats_body_format = msgpack (MessagePack re-encoded from JSON is not always the stored bytes)"
        ));
    }
    let actor: Actor = serde_json::from_str(text(headers::ACTOR)?)
        .map_err(|e| format!("the header {} is not an actor: {e}", headers::ACTOR))?;
    let causation_id = match headers.get(headers::CAUSATION_ID) {
        Some(value) => Some(parse(headers::CAUSATION_ID, value.as_str())?),
        None => None,
    };
    let source_ip = match headers.get(headers::SOURCE_IP) {
        Some(value) => Some(parse(headers::SOURCE_IP, value.as_str())?),
        None => None,
    };
    Ok(RecordedEvent {
        event_id: parse(headers::ID, text(headers::ID)?)?,
        stream_id: text(headers::SUBJECT)?.to_owned(),
        stream_version: parse(headers::STREAM_VERSION, text(headers::STREAM_VERSION)?)?,
        global_position: position(Some(headers))?,
        event_type: text(headers::TYPE)?.to_owned(),
        schema_version: parse(headers::SCHEMA_VERSION, text(headers::SCHEMA_VERSION)?)?,
        payload: body.to_vec(),
        metadata: EventMetadata {
            tenant_id: TenantId(parse(headers::TENANT_ID, text(headers::TENANT_ID)?)?),
            actor,
            correlation_id: parse(headers::CORRELATION_ID, text(headers::CORRELATION_ID)?)?,
            causation_id,
            occurred_at: time(headers::TIME, text(headers::TIME)?)?,
            source_ip,
        },
        recorded_at: time(headers::RECORDED_AT, text(headers::RECORDED_AT)?)?,
    })
}

/// The global position a message carries (all the consumer needs to find where to start).
pub fn position(headers: Option<&HeaderMap>) -> Result<u64, String> {
    let value = headers
        .and_then(|h| h.get(headers::GLOBAL_POSITION))
        .ok_or_else(|| format!("the header {} is missing", headers::GLOBAL_POSITION))?;
    parse(headers::GLOBAL_POSITION, value.as_str())
}

fn parse<T: FromStr>(name: &str, text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| format!("the header {name} (`{text}`) is invalid: {e}"))
}

fn time(name: &str, text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("the header {name} (`{text}`) is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::published::message::outgoing;
    use crate::published::BodyFormat;
    use uuid::Uuid;

    fn stored(causation: Option<Uuid>) -> RecordedEvent {
        let now = Utc::now();
        // The store keeps microseconds; so do the headers.
        let micros = |t: DateTime<Utc>| DateTime::from_timestamp_micros(t.timestamp_micros());
        let mut metadata = EventMetadata::new(
            TenantId(uuid::Uuid::now_v7()),
            Actor::ApiKey("key-1".into()),
        );
        metadata.causation_id = causation;
        metadata.source_ip = causation.map(|_| "203.0.113.9".parse().unwrap());
        metadata.occurred_at = micros(now - chrono::Duration::seconds(3)).unwrap();
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream_id: "tenant-7".into(),
            stream_version: 9,
            global_position: 1234,
            event_type: "tenant.renamed".into(),
            schema_version: 2,
            payload: keel_domain::event::encode_payload(
                &serde_json::json!({"name": "Acme", "n": 300}),
            )
            .unwrap(),
            metadata,
            recorded_at: micros(now).unwrap(),
        }
    }

    #[test]
    fn a_relayed_message_decodes_to_the_stored_event_exactly() {
        for causation in [None, Some(Uuid::now_v7())] {
            let event = stored(causation);
            let message = outgoing("keel.events", BodyFormat::MessagePack, &event);
            assert_eq!(
                decode(Some(&message.headers), &message.body).unwrap(),
                event
            );
        }
    }

    #[test]
    fn an_actor_with_characters_headers_cannot_carry_round_trips() {
        let mut event = stored(None);
        event.metadata.actor = Actor::User("line\r\nbreak \"quoted\" é".into());
        let message = outgoing("k", BodyFormat::MessagePack, &event);
        assert_eq!(
            decode(Some(&message.headers), &message.body).unwrap(),
            event
        );
    }

    #[test]
    fn json_bodies_and_missing_headers_are_refused_with_the_reason() {
        let event = stored(None);
        let json = outgoing("k", BodyFormat::Json, &event);
        let error = decode(Some(&json.headers), &json.body).unwrap_err();
        assert!(error.contains("nats_body_format = msgpack"), "{error}");

        let mut message = outgoing("k", BodyFormat::MessagePack, &event);
        message.headers = {
            let mut copy = HeaderMap::new();
            for (name, values) in message.headers.iter() {
                if name.to_string() != headers::RECORDED_AT {
                    for value in values {
                        copy.insert(name.clone(), value.clone());
                    }
                }
            }
            copy
        };
        let error = decode(Some(&message.headers), &message.body).unwrap_err();
        assert!(error.contains("Keel-Recorded-At is missing"), "{error}");
        assert_eq!(decode(None, b"").unwrap_err(), "it has no headers");
    }
}
