//! Appending client events to a gRPC stream: the expected-revision check, idempotent
//! re-appends, deleted streams. Shared by `Append`, `BatchAppend` and the deletion markers.
//!
//! The client's expectation is checked here against the stream's state, then the append goes
//! to the store expecting the exact Keel version that state was read at. A concurrent writer
//! in between makes the store refuse it, and the state is read again: so a write never lands
//! after a tombstone, and `any` appends never fail for a race. Re-appending events whose ids
//! are stored is recognised by the store and answered with the first append's result.
//! Writers of one stream in this process take turns (a striped lock), so they do not spend
//! their retries racing each other; races with other processes are retried. The state an
//! append leaves a stream in is remembered, so a writer's next append needs no read first.

use super::expected::Expected;
use super::state::StreamState;
use crate::grpc::error::GrpcError;
use crate::grpc::payload::{self, ClientPayload, Stored, CLIENT_TYPE_PREFIX};
use keel_domain::{Actor, TenantId};
use keel_store::{EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError};
use lru::LruCache;
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// How often an append whose expectation held is retried after losing a race (to another
/// process: writers in this one take turns).
const RACE_RETRIES: usize = 50;

/// Lock stripes of the writers in this process, by stream.
const STRIPES: usize = 256;

/// Streams whose state is remembered after a write, at most.
const REMEMBERED: usize = 16_384;

/// A short random pause before retrying a lost race, so racing processes spread out.
async fn back_off(attempt: usize) {
    let most = 1 + (attempt as u64).min(20);
    let millis = rand::random::<u64>() % most;
    tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
}

/// Writes client events to one store's gRPC streams.
///
/// It remembers the state each append leaves a stream in, so the next append to it need not
/// read the stream first. A remembered state may be stale (another process wrote since), which
/// is safe: every append expects the exact Keel version the state was read at, so the store
/// refuses it then, and the state is read again. A refused expectation is answered only from a
/// freshly read state.
pub struct Appender {
    store: Arc<dyn EventStore>,
    stripes: Vec<tokio::sync::Mutex<()>>,
    remembered: Mutex<LruCache<String, StreamState>>,
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
pub struct AppendScope {
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

impl Appender {
    /// Writes to `store`.
    pub fn new(store: Arc<dyn EventStore>) -> Appender {
        Appender {
            store,
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            remembered: Mutex::new(LruCache::new(
                NonZeroUsize::new(REMEMBERED).expect("not zero"),
            )),
        }
    }

    /// The lock writers of `stream_id` in this process take turns on.
    fn stripe(&self, stream_id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(stream_id);
        &self.stripes[(hash % STRIPES as u64) as usize]
    }

    /// The stream's state: the remembered one unless `fresh` is asked for.
    async fn state(&self, stream_id: &str, fresh: bool) -> Result<StreamState, GrpcError> {
        if !fresh {
            if let Some(state) = self.remembered().get(stream_id) {
                return Ok(*state);
            }
        }
        // On an error, `append` and `mark` forget what was remembered.
        let state = StreamState::load(self.store.as_ref(), stream_id).await?;
        self.remembered().put(stream_id.to_owned(), state);
        Ok(state)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, LruCache<String, StreamState>> {
        // A panic while holding it left at worst a stale state, which appends recover from.
        self.remembered.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `events` to the writer's stream if it is at `expected`.
    pub async fn append(
        &self,
        writer: &AppendScope,
        expected: Expected,
        events: &[Proposed],
    ) -> Result<Appended, GrpcError> {
        let stream_id = writer.stream_id.as_str();
        let _turn = self.stripe(stream_id).lock().await;
        let appended = self.append_in_turn(writer, expected, events).await;
        if !matches!(appended, Ok(Appended::Done { .. })) {
            self.remembered().pop(stream_id);
        }
        appended
    }

    async fn append_in_turn(
        &self,
        writer: &AppendScope,
        expected: Expected,
        events: &[Proposed],
    ) -> Result<Appended, GrpcError> {
        let store = self.store.as_ref();
        // An empty append answers with the current revision: read it.
        let mut fresh = events.is_empty();
        for attempt in 0..RACE_RETRIES {
            let state = self.state(&writer.stream_id, fresh).await?;
            if state == StreamState::Tombstoned {
                return Err(GrpcError::StreamDeleted(writer.name.clone()));
            }
            let current = state.current_revision();
            let accepted = expected.accepts(current);
            if !accepted && !fresh {
                fresh = true;
                continue;
            }
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
                    if accepted
                        && result.stream_version == state.version() + events.len() as u64 =>
                {
                    let last_revision = first_revision + events.len() as u64 - 1;
                    self.remembered().put(
                        writer.stream_id.clone(),
                        StreamState::Live {
                            version: result.stream_version,
                            last_revision,
                            epoch,
                        },
                    );
                    return Ok(Appended::Done {
                        revision: Some(last_revision),
                        position: Some(result.global_position),
                    });
                }
                Ok(result) => {
                    // A replay of an earlier append: its revision is the one stored then.
                    self.remembered().pop(&writer.stream_id);
                    let revision =
                        stored_revision(store, &writer.stream_id, result.stream_version).await?;
                    return Ok(Appended::Done {
                        revision: Some(revision),
                        position: Some(result.global_position),
                    });
                }
                Err(StoreError::WrongExpectedVersion { .. }) if accepted => {
                    // Another writer got there first, or the remembered state was stale.
                    if fresh {
                        back_off(attempt).await;
                    }
                    fresh = true;
                }
                Err(
                    StoreError::WrongExpectedVersion { .. }
                    | StoreError::IdempotencyConflict { .. },
                ) => {
                    return Ok(Appended::WrongExpectedVersion { current });
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(too_many_writers(writer))
    }

    /// Appends a deletion marker if the stream is at `expected`; the position of the marker,
    /// or `None` when there was nothing to delete.
    pub async fn mark(
        &self,
        writer: &AppendScope,
        expected: Expected,
        marker: Marker,
    ) -> Result<Option<u64>, GrpcError> {
        let _turn = self.stripe(&writer.stream_id).lock().await;
        // Rare enough to read the state every time; the next append reads it again.
        let marked = self.mark_in_turn(writer, expected, marker).await;
        self.remembered().pop(&writer.stream_id);
        marked
    }

    async fn mark_in_turn(
        &self,
        writer: &AppendScope,
        expected: Expected,
        marker: Marker,
    ) -> Result<Option<u64>, GrpcError> {
        let store = self.store.as_ref();
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
        Err(too_many_writers(writer))
    }
}

fn too_many_writers(writer: &AppendScope) -> GrpcError {
    GrpcError::Store(StoreError::InvalidAppend(format!(
        "too many concurrent writers on `{}`; try again",
        writer.name
    )))
}

impl AppendScope {
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

#[cfg(test)]
mod tests {
    //! Two appenders on one store stand for two server processes: each remembers the states its
    //! own appends left, which the other's writes make stale.
    use super::*;
    use keel_store::{open, StoreOptions};

    /// Two appenders on one new store (the directory holds it), and a writer of one stream.
    async fn two_processes() -> (tempfile::TempDir, Appender, Appender, AppendScope) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/keel.db", dir.path().display());
        let store = open(&url, &StoreOptions::default()).await.unwrap();
        let (one, two) = (Appender::new(store.clone()), Appender::new(store));
        (dir, one, two, writer())
    }

    fn writer() -> AppendScope {
        let tenant = TenantId(uuid::Uuid::now_v7());
        AppendScope {
            stream_id: format!("kurrent-{tenant}:orders"),
            name: "orders".into(),
            tenant,
            actor: Actor::System("test".into()),
            source_ip: None,
        }
    }

    fn event() -> Proposed {
        Proposed {
            id: Uuid::now_v7(),
            event_type: "OrderPlaced".into(),
            content_type: "application/json".into(),
            data: b"{}".to_vec(),
            metadata: Vec::new(),
        }
    }

    async fn append(
        appender: &Appender,
        writer: &AppendScope,
        expected: Expected,
    ) -> Result<Appended, GrpcError> {
        appender.append(writer, expected, &[event()]).await
    }

    fn revision(appended: Appended) -> Option<u64> {
        match appended {
            Appended::Done { revision, .. } => revision,
            Appended::WrongExpectedVersion { .. } => panic!("refused: {appended:?}"),
        }
    }

    #[tokio::test]
    async fn a_state_made_stale_by_another_process_is_read_again() {
        let (_dir, one, two, writer) = two_processes().await;
        assert_eq!(
            revision(append(&one, &writer, Expected::NoStream).await.unwrap()),
            Some(0)
        );
        assert_eq!(
            revision(append(&two, &writer, Expected::Exact(0)).await.unwrap()),
            Some(1)
        );
        // `one` remembers revision 0: its `any` append is refused by the store, and retried.
        assert_eq!(
            revision(append(&one, &writer, Expected::Any).await.unwrap()),
            Some(2)
        );
        assert_eq!(
            revision(append(&two, &writer, Expected::Any).await.unwrap()),
            Some(3)
        );
        // An expectation the remembered state refuses is checked against the stored one.
        assert_eq!(
            revision(append(&one, &writer, Expected::Exact(3)).await.unwrap()),
            Some(4)
        );
        // A refusal names the stored revision, not a remembered one.
        append(&two, &writer, Expected::Any).await.unwrap();
        assert_eq!(
            append(&one, &writer, Expected::NoStream).await.unwrap(),
            Appended::WrongExpectedVersion { current: Some(5) }
        );
    }

    #[tokio::test]
    async fn a_stream_tombstoned_by_another_process_refuses_every_write() {
        let (_dir, one, two, writer) = two_processes().await;
        one.append(&writer, Expected::Any, &[event()])
            .await
            .unwrap();
        two.mark(&writer, Expected::Any, Marker::Tombstoned)
            .await
            .unwrap();
        let error = one
            .append(&writer, Expected::Any, &[event()])
            .await
            .unwrap_err();
        assert!(matches!(error, GrpcError::StreamDeleted(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_stream_deleted_by_another_process_goes_on_from_the_next_revision() {
        let (_dir, one, two, writer) = two_processes().await;
        one.append(&writer, Expected::Any, &[event(), event()])
            .await
            .unwrap();
        two.mark(&writer, Expected::Exact(1), Marker::Deleted)
            .await
            .unwrap();
        // `one` remembers revision 1 live; after the delete the stream has no current revision.
        assert_eq!(
            one.append(&writer, Expected::Exact(1), &[event()])
                .await
                .unwrap(),
            Appended::WrongExpectedVersion { current: None }
        );
        let appended = one
            .append(&writer, Expected::NoStream, &[event()])
            .await
            .unwrap();
        assert_eq!(revision(appended), Some(2));
    }
}
