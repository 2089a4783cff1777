//! Appending client events to a gRPC stream: the expected-revision check, idempotent
//! re-appends, deleted streams. Shared by `Append`, `BatchAppend` and the deletion markers.
//!
//! The client's expectation is checked here against the stream's state, then the append goes
//! to the store expecting the exact Keel version that state was read at. A concurrent writer
//! in between makes the store refuse it, and the state is read again: so a write never lands
//! after a tombstone, and `any` appends never fail for a race. Re-appending events whose ids
//! are stored is recognised by the store and answered with the first append's result.
//! Writers of one stream in this process take turns (a striped lock), so they do not spend
//! their retries racing each other; races with other processes are retried.

use super::expected::Expected;
use super::state::StreamState;
use crate::grpc::error::GrpcError;
use crate::grpc::payload::{self, ClientPayload, Stored, CLIENT_TYPE_PREFIX};
use keel_commands::store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError};
use keel_domain::{Actor, TenantId};
use std::net::IpAddr;
use std::sync::OnceLock;
use uuid::Uuid;

/// How often an append whose expectation held is retried after losing a race (to another
/// process: writers in this one take turns).
const RACE_RETRIES: usize = 50;

/// Lock stripes of the writers in this process, by stream.
const STRIPES: usize = 256;

/// The lock writers of `stream_id` in this process take turns on.
fn stripe(stream_id: &str) -> &'static tokio::sync::Mutex<()> {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    static LOCKS: OnceLock<Vec<tokio::sync::Mutex<()>>> = OnceLock::new();
    let locks = LOCKS.get_or_init(|| (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect());
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(stream_id);
    &locks[(hash % STRIPES as u64) as usize]
}

/// A short random pause before retrying a lost race, so racing processes spread out.
async fn back_off(attempt: usize) {
    let most = 1 + (attempt as u64).min(20);
    let millis = rand::random::<u64>() % most;
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// One event as the client proposed it.
#[derive(Debug, Clone)]
pub struct Proposed {
    /// The client's event id.
    pub id: Uuid,
    /// The client's event type.
    pub event_type: String,
    /// The content type.
    pub content_type: String,
    /// The data.
    pub data: Vec<u8>,
    /// The custom metadata.
    pub metadata: Vec<u8>,
}

/// Who appends, where.
#[derive(Debug, Clone)]
pub struct Writer {
    /// The Keel stream id.
    pub stream_id: String,
    /// The client's name for it (for errors).
    pub name: String,
    /// The tenant the events belong to.
    pub tenant: TenantId,
    /// The caller.
    pub actor: Actor,
    /// The client's address.
    pub source_ip: Option<IpAddr>,
}

/// How an append ended (other than with an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored (or already stored by an earlier identical append): the stream's revision after
    /// it and the global position of its last event (`None` for an empty append).
    Done {
        /// The stream's revision after the append (`None`: still no stream).
        revision: Option<u64>,
        /// The global position of the last event.
        position: Option<u64>,
    },
    /// The stream was not at the expected revision; nothing was written.
    WrongExpectedVersion {
        /// The stream's current revision (`None` = no stream).
        current: Option<u64>,
    },
}

/// What a marker append writes.
pub enum Marker {
    /// Soft delete.
    Deleted,
    /// Tombstone.
    Tombstoned,
}

/// Appends `events` to the writer's stream if it is at `expected`.
pub async fn append(
    store: &dyn EventStore,
    writer: &Writer,
    expected: Expected,
    events: &[Proposed],
) -> Result<Appended, GrpcError> {
    let _turn = stripe(&writer.stream_id).lock().await;
    for attempt in 0..RACE_RETRIES {
        let state = StreamState::load(store, &writer.stream_id).await?;
        if state == StreamState::Tombstoned {
            return Err(GrpcError::StreamDeleted(writer.name.clone()));
        }
        let current = state.current_revision();
        let accepted = expected.accepts(current);
        if events.is_empty() {
            return Ok(if accepted {
                Appended::Done {
                    revision: current,
                    position: None,
                }
            } else {
                Appended::WrongExpectedVersion { current }
            });
        }
        let (first_revision, epoch) = state.next();
        let new_events = events
            .iter()
            .enumerate()
            .map(|(i, event)| NewEvent {
                event_id: event.id,
                event_type: format!("{CLIENT_TYPE_PREFIX}{}", event.event_type),
                schema_version: 1,
                payload: payload::encode(&ClientPayload {
                    content_type: event.content_type.clone(),
                    data: payload::Body::new(event.data.clone()),
                    metadata: payload::Body::new(event.metadata.clone()),
                    revision: first_revision + i as u64,
                    epoch,
                }),
                metadata: writer.metadata(),
            })
            .collect();
        // When the expectation failed, the store is still asked, expecting what cannot be:
        // it answers an identical re-append (ids already stored) with the first result, and
        // anything else with a wrong version.
        let store_expected = if accepted {
            ExpectedVersion::Exact(state.version())
        } else if state.version() == 0 {
            ExpectedVersion::StreamExists
        } else {
            ExpectedVersion::NoStream
        };
        match store
            .append(&writer.stream_id, store_expected, new_events)
            .await
        {
            Ok(result)
                if accepted && result.stream_version == state.version() + events.len() as u64 =>
            {
                return Ok(Appended::Done {
                    revision: Some(first_revision + events.len() as u64 - 1),
                    position: Some(result.global_position),
                });
            }
            Ok(result) => {
                // A replay of an earlier append: its revision is the one stored then.
                let revision =
                    stored_revision(store, &writer.stream_id, result.stream_version).await?;
                return Ok(Appended::Done {
                    revision: Some(revision),
                    position: Some(result.global_position),
                });
            }
            Err(StoreError::WrongExpectedVersion { .. }) if accepted => back_off(attempt).await,
            Err(
                StoreError::WrongExpectedVersion { .. } | StoreError::IdempotencyConflict { .. },
            ) => {
                return Ok(Appended::WrongExpectedVersion { current });
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(GrpcError::Store(StoreError::InvalidAppend(format!(
        "too many concurrent writers on `{}`; try again",
        writer.name
    ))))
}

/// Appends a deletion marker if the stream is at `expected`; the position of the marker, or
/// `None` when there was nothing to delete.
pub async fn mark(
    store: &dyn EventStore,
    writer: &Writer,
    expected: Expected,
    marker: Marker,
) -> Result<Option<u64>, GrpcError> {
    let _turn = stripe(&writer.stream_id).lock().await;
    for attempt in 0..RACE_RETRIES {
        let state = StreamState::load(store, &writer.stream_id).await?;
        if state == StreamState::Tombstoned {
            return Err(GrpcError::StreamDeleted(writer.name.clone()));
        }
        let current = state.current_revision();
        if !expected.accepts(current) {
            return Err(GrpcError::WrongExpectedVersion {
                stream: writer.name.clone(),
                expected: expected.describe(),
                actual: super::expected::describe_current(current),
            });
        }
        let (event_type, payload) = match marker {
            // Deleting what is not there (never written, already deleted) changes nothing.
            Marker::Deleted if current.is_none() => return Ok(None),
            Marker::Deleted => (
                payload::DELETED_TYPE,
                payload::encode(&payload::DeletedPayload {
                    next_revision: state.next().0,
                }),
            ),
            Marker::Tombstoned => (payload::TOMBSTONED_TYPE, payload::encode(&())),
        };
        let event = NewEvent {
            event_id: Uuid::now_v7(),
            event_type: event_type.to_owned(),
            schema_version: 1,
            payload,
            metadata: writer.metadata(),
        };
        match store
            .append(
                &writer.stream_id,
                ExpectedVersion::Exact(state.version()),
                vec![event],
            )
            .await
        {
            Ok(result) => return Ok(Some(result.global_position)),
            Err(StoreError::WrongExpectedVersion { .. }) => back_off(attempt).await,
            Err(error) => return Err(error.into()),
        }
    }
    Err(GrpcError::Store(StoreError::InvalidAppend(format!(
        "too many concurrent writers on `{}`; try again",
        writer.name
    ))))
}

impl Writer {
    fn metadata(&self) -> EventMetadata {
        EventMetadata {
            source_ip: self.source_ip,
            ..EventMetadata::new(self.tenant, self.actor.clone())
        }
    }
}

/// The revision stored with the event at Keel `version` of a stream.
async fn stored_revision(
    store: &dyn EventStore,
    stream_id: &str,
    version: u64,
) -> Result<u64, GrpcError> {
    let events = store.read_stream(stream_id, version, 1).await?;
    match events.first().and_then(Stored::decode) {
        Some(Stored::Event(_, payload)) => Ok(payload.revision),
        _ => Ok(version.saturating_sub(1)),
    }
}
