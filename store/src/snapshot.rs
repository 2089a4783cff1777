//! Snapshots: an aggregate's folded state at a stream version, so that loading it costs the
//! snapshot plus the events after it instead of the whole stream.

/// A stored snapshot of one stream's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The stream it summarises.
    pub stream_id: String,
    /// The stream version the state includes.
    pub stream_version: u64,
    /// The aggregate's `SNAPSHOT_VERSION` when it was taken; a different one is ignored.
    pub snapshot_version: u16,
    /// The state, as MessagePack.
    pub payload: Vec<u8>,
}
