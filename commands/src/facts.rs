//! Facts: events that record what happened outside any aggregate's decision (a usage sample a
//! client reported, the API calls counted in an interval, the access denials of an interval, a
//! quota threshold the usage read model saw crossed).
//!
//! No aggregate guards these streams, so there is no state to load and no version to expect;
//! what must still hold is that a repeat (a retried request, a flush retried after a failed
//! append that did commit, a reactor that crashed between appending and recording its
//! progress) never stores a fact twice. [`append_facts`] is the one place such events are
//! built and appended: each fact carries an id its caller derives from what caused it
//! ([`derived_id`]), and appending an id again is an idempotent re-append in the store.

use keel_domain::DomainEvent;
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError, StreamAppend};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use uuid::Uuid;

/// One fact to append: its id, the event and its envelope.
#[derive(Debug, Clone)]
pub struct Fact<E> {
    /// The event id: derived from the cause ([`derived_id`]) wherever the cause can repeat.
    pub id: Uuid,
    /// What happened.
    pub event: E,
    /// Who, why and when.
    pub metadata: EventMetadata,
}

/// An event id derived from `cause`, a text naming what caused a fact uniquely (`keel usage/
/// <tenant>/<idempotency key>`): the same cause gives the same id, so the store keeps the fact
/// once however often it is appended.
pub fn derived_id(cause: &str) -> Uuid {
    let digest = Sha256::digest(cause.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Appends `facts` to `stream_id`; a fact whose id is already stored is accepted and not stored
/// again, and an id given twice in `facts` is appended once. Returns the highest global
/// position of the facts (new or stored earlier), 0 for none.
pub async fn append_facts<E: DomainEvent>(
    store: &dyn EventStore,
    stream_id: &str,
    facts: Vec<Fact<E>>,
) -> Result<u64, StoreError> {
    let mut seen = HashSet::with_capacity(facts.len());
    let mut events = Vec::with_capacity(facts.len());
    for fact in facts {
        if !seen.insert(fact.id) {
            continue;
        }
        events.push(NewEvent {
            event_id: fact.id,
            event_type: fact.event.event_type().to_owned(),
            schema_version: fact.event.schema_version(),
            payload: fact.event.encode()?,
            metadata: fact.metadata,
        });
    }
    if events.is_empty() {
        return Ok(0);
    }
    // The common case, nothing repeated: one append. With a repeat among new facts the store
    // refuses the append as a whole, so each fact is appended alone (a repeat alone is an
    // idempotent re-append).
    match store
        .append(stream_id, ExpectedVersion::Any, events.clone())
        .await
    {
        Ok(result) => Ok(result.global_position),
        Err(StoreError::IdempotencyConflict { .. }) => {
            let appends = events.into_iter().map(|event| {
                store.append_streams(vec![StreamAppend {
                    stream_id: stream_id.to_owned(),
                    expected: ExpectedVersion::Any,
                    events: vec![event],
                }])
            });
            let mut position = 0;
            for result in futures::future::join_all(appends).await {
                position = position.max(result?[0].global_position);
            }
            Ok(position)
        }
        Err(other) => Err(other),
    }
}
