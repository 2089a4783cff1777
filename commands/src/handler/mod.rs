//! Command handling: from a command to stored events.
//!
//! [`CommandHandler::execute`] loads the aggregate (its snapshot plus the events after it, kept
//! in an in-memory cache), calls the pure `decide`, and appends the events expecting the stream
//! version it decided on. Commands for the same aggregate queue in process: whichever arrives
//! while another is being appended is decided right after it, on the new state, and all queued
//! commands share the next append ([`decide`]). A conflict with another process reloads the
//! state and decides again, a bounded number of times. The result says the stream version and
//! global position each command reached, so a later query can wait for that position.
//!
//! The cache is only an optimisation: an append always expects the version it decided on, so a
//! stale cached state can cause a retry, never a wrong write. Refusals decided on cached state
//! are re-checked against the stream's stored version before they are reported.

mod claims;
pub mod decide;
pub mod error;
pub mod load;
mod run;

pub use error::{CommandError, Conflict};
pub use load::Loaded;

use keel_domain::{Aggregate, AggregateId};
use keel_store::{EventMetadata, EventStore, StoreError};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tracing::Instrument;

/// Tuning for a [`CommandHandler`].
#[derive(Debug, Clone)]
pub struct HandlerConfig {
    /// Aggregates whose state is kept in memory.
    pub cache_capacity: usize,
    /// Take a snapshot whenever a stream has grown by this many events since the last one.
    pub snapshot_every: u64,
    /// How often a command is decided again after losing to a concurrent write.
    pub max_attempts: usize,
}

impl Default for HandlerConfig {
    fn default() -> Self {
        HandlerConfig {
            cache_capacity: 10_000,
            snapshot_every: 100,
            max_attempts: 5,
        }
    }
}

/// Where a command's events landed, and the state after it.
#[derive(Debug, Clone)]
pub struct CommandOutcome<A: Aggregate> {
    /// The aggregate's stream.
    pub stream_id: String,
    /// The stream version after this command.
    pub stream_version: u64,
    /// The global position of this command's last event; `None` if it produced no events.
    pub global_position: Option<u64>,
    /// The events it produced.
    pub events: Vec<A::Event>,
    /// The aggregate's state right after this command.
    pub state: A,
}

type Reply<A> = oneshot::Sender<Result<CommandOutcome<A>, CommandError<<A as Aggregate>::Error>>>;

/// A command waiting for its aggregate.
struct Pending<A: Aggregate> {
    command: A::Command,
    metadata: EventMetadata,
    expected: Option<u64>,
    reply: Reply<A>,
}

/// One aggregate's queue and cached state.
struct Slot<A: Aggregate> {
    queue: Mutex<Vec<Pending<A>>>,
    loaded: tokio::sync::Mutex<Option<Loaded<A>>>,
}

struct Inner<A: Aggregate> {
    store: Arc<dyn EventStore>,
    slots: Mutex<LruCache<String, Arc<Slot<A>>>>,
    config: HandlerConfig,
}

/// Executes commands of one aggregate kind. Cheap to clone; clones share the cache.
pub struct CommandHandler<A: Aggregate> {
    inner: Arc<Inner<A>>,
}

impl<A: Aggregate> Clone for CommandHandler<A> {
    fn clone(&self) -> Self {
        CommandHandler {
            inner: self.inner.clone(),
        }
    }
}

impl<A: Aggregate> CommandHandler<A> {
    /// A handler over `store`.
    pub fn new(store: Arc<dyn EventStore>, config: HandlerConfig) -> Self {
        let capacity = NonZeroUsize::new(config.cache_capacity.max(1)).expect("at least 1");
        CommandHandler {
            inner: Arc::new(Inner {
                store,
                slots: Mutex::new(LruCache::new(capacity)),
                config,
            }),
        }
    }

    /// The store this handler appends to.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.inner.store
    }

    /// Decides `command` on aggregate `id` and appends its events.
    ///
    /// `expected_version`: if given, the command is refused with
    /// [`Conflict::ExpectedVersion`] unless the stream is at exactly that version (and is then
    /// never retried). Otherwise a conflict with a concurrent writer is retried on fresh state.
    ///
    /// Cancel-safe: the work runs in its own task, so dropping the returned future (a client
    /// that disconnects) never leaves a command half-handled.
    pub async fn execute(
        &self,
        id: AggregateId,
        command: A::Command,
        metadata: EventMetadata,
        expected_version: Option<u64>,
    ) -> Result<CommandOutcome<A>, CommandError<A::Error>>
    where
        A::Command: 'static,
    {
        let stream_id = id.stream_id(A::KIND);
        let slot = self.slot(&stream_id);
        let (reply, result) = oneshot::channel();
        slot.queue
            .lock()
            .expect("queue lock is never held across a panic")
            .push(Pending {
                command,
                metadata,
                expected: expected_version,
                reply,
            });
        let inner = self.inner.clone();
        // The work runs in a task of its own; its span keeps it under the caller's (the
        // request's, with its id) for debug logging.
        let span = tracing::debug_span!("command", aggregate = A::KIND, %stream_id);
        tokio::spawn(async move { run::drain(&inner, &stream_id, &slot).await }.instrument(span));
        result
            .await
            .unwrap_or_else(|_| Err(StoreError::WriterStopped.into()))
    }

    /// The aggregate's current state and stream version (version 0: it does not exist).
    pub async fn state(&self, id: AggregateId) -> Result<Loaded<A>, StoreError> {
        let stream_id = id.stream_id(A::KIND);
        let slot = self.slot(&stream_id);
        let mut loaded = slot.loaded.lock().await;
        run::refresh(&self.inner, &stream_id, &mut loaded).await?;
        Ok(loaded.clone().expect("refresh leaves the state loaded"))
    }

    /// The current states of several aggregates, in the order given: their stored versions
    /// are read in one query and each cached state at its version is kept, so a list of
    /// aggregates costs one query plus a load for each one not cached.
    pub async fn states(&self, ids: &[AggregateId]) -> Result<Vec<Loaded<A>>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let stream_ids: Vec<String> = ids.iter().map(|id| id.stream_id(A::KIND)).collect();
        let versions = self.inner.store.stream_versions(&stream_ids).await?;
        let loads = stream_ids
            .iter()
            .zip(versions)
            .map(|(stream_id, version)| async move {
                let slot = self.slot(stream_id);
                let mut loaded = slot.loaded.lock().await;
                run::refresh_to(&self.inner, stream_id, &mut loaded, version).await?;
                Ok::<_, StoreError>(loaded.clone().expect("refresh leaves the state loaded"))
            });
        futures::future::try_join_all(loads).await
    }

    /// The aggregate's state as it was at stream version `version`, replayed from its events.
    pub async fn state_at(&self, id: AggregateId, version: u64) -> Result<Loaded<A>, StoreError> {
        load::load_at(&*self.inner.store, &id.stream_id(A::KIND), version).await
    }

    fn slot(&self, stream_id: &str) -> Arc<Slot<A>> {
        let mut slots = self
            .inner
            .slots
            .lock()
            .expect("slot map lock is never held across a panic");
        // An evicted slot still in use lives on through its Arc; a second slot for the same
        // stream is harmless, as appends expect versions and the loser retries.
        slots
            .get_or_insert(stream_id.to_owned(), || {
                Arc::new(Slot {
                    queue: Mutex::new(Vec::new()),
                    loaded: tokio::sync::Mutex::new(None),
                })
            })
            .clone()
    }
}
