//! How one stored event becomes one NATS message: subject, headers and body.
//!
//! Messages follow the CloudEvents 1.0 NATS protocol binding in binary mode: the attributes are
//! `ce-*` headers, `datacontenttype` is the `Content-Type` header, the body is the event's data.
//! Keel adds its own headers for what a consumer needs to order and trace events, and
//! `Nats-Msg-Id` (the event id) so JetStream absorbs a republished event. Headers and body
//! together carry every field of the stored event, so a consumer can rebuild it exactly
//! ([`crate::consume::decode`] does, for `keel project --from-nats`), except the secret fields
//! of the secret-bearing event types, which never leave Keel (`keel_domain::redact`): their
//! body is the payload without them, every other body is the stored payload byte for byte.

use super::config::BodyFormat;
use async_nats::header::HeaderName;
use async_nats::HeaderMap;
use bytes::Bytes;
use keel_log::RecordedEvent;

/// The header names Keel sets on every message.
pub mod headers {
    /// CloudEvents spec version, always `1.0`.
    pub const SPECVERSION: &str = "ce-specversion";
    /// The event id.
    pub const ID: &str = "ce-id";
    /// `/keel/tenants/<tenant_id>`: the context the event happened in.
    pub const SOURCE: &str = "ce-source";
    /// The stored event type, e.g. `tenant.suspended`.
    pub const TYPE: &str = "ce-type";
    /// The stream id, e.g. `tenant-0190...`.
    pub const SUBJECT: &str = "ce-subject";
    /// When the fact happened (RFC 3339).
    pub const TIME: &str = "ce-time";
    /// `application/msgpack` or `application/json` (CloudEvents `datacontenttype`).
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// The event's version in its stream (1 for the first).
    pub const STREAM_VERSION: &str = "Keel-Stream-Version";
    /// The event's position in Keel's global log.
    pub const GLOBAL_POSITION: &str = "Keel-Global-Position";
    /// The tenant whose data the event is.
    pub const TENANT_ID: &str = "Keel-Tenant-Id";
    /// The schema version of the payload.
    pub const SCHEMA_VERSION: &str = "Keel-Schema-Version";
    /// Ties together everything one request caused.
    pub const CORRELATION_ID: &str = "Keel-Correlation-Id";
    /// The event or command that directly caused this one; absent when unknown.
    pub const CAUSATION_ID: &str = "Keel-Causation-Id";
    /// The client address the causing request came from; absent for events Keel caused itself.
    pub const SOURCE_IP: &str = "Keel-Source-Ip";
    /// Who caused the event, as JSON: `{"kind":"api_key","id":"..."}` (`kind` is `api_key`,
    /// `user` or `system`). JSON escapes every character a header cannot carry.
    pub const ACTOR: &str = "Keel-Actor";
    /// When the store committed the event (RFC 3339, microseconds).
    pub const RECORDED_AT: &str = "Keel-Recorded-At";
    /// JetStream's de-duplication key: the event id.
    pub const MSG_ID: &str = "Nats-Msg-Id";
}

/// A message ready to publish.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `<prefix>.<tenant_id>.<aggregate>.<fact>`.
    pub subject: String,
    /// CloudEvents, Keel and JetStream headers.
    pub headers: HeaderMap,
    /// The payload in the configured format.
    pub body: Bytes,
}

/// Builds the message for `event`.
pub fn outgoing(prefix: &str, format: BodyFormat, event: &RecordedEvent) -> Outgoing {
    Outgoing {
        subject: subject(prefix, event),
        headers: event_headers(format, event),
        body: body(format, event),
    }
}

/// `<prefix>.<tenant_id>.<aggregate>.<fact>`: the stored type `tenant.suspended` gives the
/// last two tokens, so wildcards select a tenant (`keel.events.<id>.>`), an aggregate kind
/// (`keel.events.*.tenant.>`) or one event type (`keel.events.*.tenant.suspended`).
pub fn subject(prefix: &str, event: &RecordedEvent) -> String {
    let (aggregate, fact) = event
        .event_type
        .split_once('.')
        .unwrap_or((event.event_type.as_str(), "_"));
    format!(
        "{prefix}.{}.{}.{}",
        event.metadata.tenant_id,
        token(aggregate),
        token(fact)
    )
}

/// A subject token: characters NATS gives a meaning to (`.`, `*`, `>`, white space) become `_`,
/// so an unusual event type can never widen or split a subject.
fn token(text: &str) -> String {
    if text.is_empty() {
        return "_".into();
    }
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn event_headers(format: BodyFormat, event: &RecordedEvent) -> HeaderMap {
    use headers::*;
    // Names made once: a `&str` name is copied into a new header name on every insert.
    const fn name(text: &'static str) -> HeaderName {
        HeaderName::from_static(text)
    }
    let meta = &event.metadata;
    let id = event.event_id.to_string();
    let tenant = meta.tenant_id.to_string();
    let mut map = HeaderMap::new();
    map.insert(name(SPECVERSION), "1.0");
    map.insert(name(SOURCE), format!("/keel/tenants/{tenant}"));
    map.insert(name(TYPE), event.event_type.as_str());
    map.insert(name(SUBJECT), event.stream_id.as_str());
    map.insert(name(TIME), rfc3339_micros(meta.occurred_at));
    map.insert(name(CONTENT_TYPE), format.content_type());
    map.insert(name(STREAM_VERSION), event.stream_version.to_string());
    map.insert(name(GLOBAL_POSITION), event.global_position.to_string());
    map.insert(name(SCHEMA_VERSION), event.schema_version.to_string());
    map.insert(name(CORRELATION_ID), meta.correlation_id.to_string());
    if let Some(causation) = meta.causation_id {
        map.insert(name(CAUSATION_ID), causation.to_string());
    }
    if let Some(ip) = meta.source_ip {
        map.insert(name(SOURCE_IP), ip.to_string());
    }
    map.insert(
        name(ACTOR),
        serde_json::to_string(&meta.actor).expect("an actor always serializes"),
    );
    map.insert(name(RECORDED_AT), rfc3339_micros(event.recorded_at));
    map.insert(name(TENANT_ID), tenant);
    map.insert(name(MSG_ID), id.as_str());
    map.insert(name(ID), id);
    map
}

/// A time as the headers carry it: RFC 3339 in UTC with microseconds, the store's precision,
/// so it reads back exactly.
fn rfc3339_micros(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn body(format: BodyFormat, event: &RecordedEvent) -> Bytes {
    match format {
        // The stored bytes (secret fields removed): consumers decode what Keel decodes.
        BodyFormat::MessagePack => Bytes::from(event.outward_payload().into_owned()),
        BodyFormat::Json => {
            let data = event.outward_json().data;
            Bytes::from(serde_json::to_vec(&data).expect("a JSON value always serializes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use keel_domain::{Actor, TenantId};
    use keel_log::EventMetadata;
    use uuid::Uuid;

    fn event(event_type: &str) -> RecordedEvent {
        RecordedEvent {
            event_id: Uuid::now_v7(),
            stream_id: "tenant-1".into(),
            stream_version: 3,
            global_position: 42,
            event_type: event_type.into(),
            schema_version: 2,
            payload: keel_domain::event::encode_payload(&serde_json::json!({"name": "Acme"}))
                .unwrap(),
            metadata: EventMetadata::new(
                TenantId(uuid::Uuid::now_v7()),
                Actor::System("test".into()),
            ),
            recorded_at: Utc::now(),
        }
    }

    #[test]
    fn subject_has_tenant_aggregate_and_fact_tokens() {
        let e = event("tenant.suspended");
        assert_eq!(
            subject("keel.events", &e),
            format!("keel.events.{}.tenant.suspended", e.metadata.tenant_id)
        );
    }

    #[test]
    fn odd_event_types_cannot_add_tokens_or_wildcards() {
        let e = event("weird.a.b *>");
        let s = subject("p", &e);
        assert_eq!(s, format!("p.{}.weird.a_b___", e.metadata.tenant_id));
        let e = event("plain");
        assert_eq!(
            subject("p", &e),
            format!("p.{}.plain._", e.metadata.tenant_id)
        );
    }

    #[test]
    fn headers_carry_cloudevents_and_keel_attributes() {
        let mut e = event("tenant.renamed");
        e.metadata.causation_id = Some(Uuid::now_v7());
        let m = outgoing("keel.events", BodyFormat::MessagePack, &e);
        let get = |name: &str| m.headers.get(name).map(|v| v.as_str().to_owned());
        assert_eq!(get(headers::SPECVERSION).as_deref(), Some("1.0"));
        assert_eq!(get(headers::ID), Some(e.event_id.to_string()));
        assert_eq!(get(headers::MSG_ID), Some(e.event_id.to_string()));
        assert_eq!(get(headers::TYPE).as_deref(), Some("tenant.renamed"));
        assert_eq!(get(headers::SUBJECT).as_deref(), Some("tenant-1"));
        assert_eq!(get(headers::STREAM_VERSION).as_deref(), Some("3"));
        assert_eq!(get(headers::GLOBAL_POSITION).as_deref(), Some("42"));
        assert_eq!(get(headers::SCHEMA_VERSION).as_deref(), Some("2"));
        assert_eq!(
            get(headers::TENANT_ID),
            Some(e.metadata.tenant_id.to_string())
        );
        assert_eq!(
            get(headers::CAUSATION_ID),
            Some(e.metadata.causation_id.unwrap().to_string())
        );
        assert_eq!(
            get(headers::CONTENT_TYPE).as_deref(),
            Some("application/msgpack")
        );
        assert_eq!(
            get(headers::ACTOR).as_deref(),
            Some(r#"{"kind":"system","id":"test"}"#)
        );
        assert_eq!(
            get(headers::RECORDED_AT),
            Some(rfc3339_micros(e.recorded_at))
        );
        assert_eq!(&m.body[..], &e.payload[..]);
    }

    #[test]
    fn json_body_is_the_payloads_json_view() {
        let e = event("tenant.renamed");
        let m = outgoing("k", BodyFormat::Json, &e);
        let body: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(body, serde_json::json!({"name": "Acme"}));
        assert!(m.headers.get(headers::CAUSATION_ID).is_none());
    }
}
