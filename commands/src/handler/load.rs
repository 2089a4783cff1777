//! Loading an aggregate: its latest snapshot plus the events after it.
//!
//! Loading cost is therefore bounded by the snapshot interval, not the stream's length. A
//! snapshot written by another `SNAPSHOT_VERSION` of the state, or one that does not decode, is
//! ignored and the state is rebuilt from the events: snapshots are a cache, never the truth.

use keel_domain::{Aggregate, DomainEvent};
use keel_store::{EventStore, Snapshot, StoreError};

/// Events read per round trip while loading.
const PAGE: usize = 1000;

/// An aggregate's state at a stream version.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    /// The folded state.
    pub state: A,
    /// The stream version it includes (0 = the stream does not exist).
    pub version: u64,
    /// The version of the last snapshot stored or loaded.
    pub snapshot_version: u64,
}

impl<A: Aggregate> Loaded<A> {
    /// The state of a stream that does not exist yet.
    pub fn empty() -> Self {
        Loaded {
            state: A::default(),
            version: 0,
            snapshot_version: 0,
        }
    }
}

/// Loads a stream's current state from its snapshot (if usable) plus the events after it.
pub async fn load<A: Aggregate>(
    store: &dyn EventStore,
    stream_id: &str,
) -> Result<Loaded<A>, StoreError> {
    let mut loaded = match store.load_snapshot(stream_id).await? {
        Some(snapshot) => from_snapshot(&snapshot).unwrap_or_else(Loaded::empty),
        None => Loaded::empty(),
    };
    catch_up(store, stream_id, &mut loaded, u64::MAX).await?;
    Ok(loaded)
}

/// Replays a stream from scratch up to `version` (inclusive), ignoring snapshots: the state as
/// it was at that moment.
pub async fn load_at<A: Aggregate>(
    store: &dyn EventStore,
    stream_id: &str,
    version: u64,
) -> Result<Loaded<A>, StoreError> {
    let mut loaded = Loaded::empty();
    catch_up(store, stream_id, &mut loaded, version).await?;
    Ok(loaded)
}

/// Folds the events after `loaded.version`, up to `until` (inclusive), into `loaded`.
pub async fn catch_up<A: Aggregate>(
    store: &dyn EventStore,
    stream_id: &str,
    loaded: &mut Loaded<A>,
    until: u64,
) -> Result<(), StoreError> {
    while loaded.version < until {
        let page = store
            .read_stream(stream_id, loaded.version + 1, PAGE)
            .await?;
        for recorded in page.iter().take_while(|e| e.stream_version <= until) {
            let event = A::Event::decode(
                &recorded.event_type,
                recorded.schema_version,
                &recorded.payload,
            )?;
            loaded.state.apply(&event);
            loaded.version = recorded.stream_version;
        }
        if page.len() < PAGE {
            break;
        }
    }
    Ok(())
}

/// The snapshot of a state, for [`EventStore::save_snapshot`].
pub fn to_snapshot<A: Aggregate>(stream_id: &str, loaded: &Loaded<A>) -> Option<Snapshot> {
    let payload = keel_domain::event::encode_payload(&loaded.state).ok()?;
    Some(Snapshot {
        stream_id: stream_id.to_owned(),
        stream_version: loaded.version,
        snapshot_version: A::SNAPSHOT_VERSION,
        payload,
    })
}

fn from_snapshot<A: Aggregate>(snapshot: &Snapshot) -> Option<Loaded<A>> {
    if snapshot.snapshot_version != A::SNAPSHOT_VERSION {
        return None;
    }
    let state = keel_domain::event::decode_msgpack(&snapshot.payload).ok()?;
    Some(Loaded {
        state,
        version: snapshot.stream_version,
        snapshot_version: snapshot.stream_version,
    })
}
