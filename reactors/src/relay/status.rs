//! What the relay reports about itself, for `/metrics` and `/readyz`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Shared, lock-free counters the relay updates and the API reads.
#[derive(Debug, Default)]
pub struct RelayStatus {
    position: AtomicU64,
    published: AtomicU64,
    duplicates: AtomicU64,
    failures: AtomicU64,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// A consistent-enough copy of [`RelayStatus`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySnapshot {
    /// Global position of the last event JetStream acknowledged (the checkpoint).
    pub position: u64,
    /// Events acknowledged as stored, since start.
    pub published: u64,
    /// Events the stream already held when the relay came to them (published before a
    /// restart, the checkpoint not yet written), so not published again.
    pub duplicates: u64,
    /// Batches that failed and were retried from the checkpoint.
    pub failures: u64,
    /// Whether the last batch or stream check reached JetStream.
    pub connected: bool,
    /// The last failure, if the relay is currently failing.
    pub last_error: Option<String>,
}

impl RelayStatus {
    /// A status at `position`, not yet connected.
    pub fn new(position: u64) -> Self {
        let status = RelayStatus::default();
        status.position.store(position, Ordering::Relaxed);
        status
    }

    /// The position of the last acknowledged event.
    pub fn position(&self) -> u64 {
        self.position.load(Ordering::Acquire)
    }

    /// Records acknowledged events up to `position`.
    pub(crate) fn advanced(&self, position: u64, stored: u64, duplicates: u64) {
        self.position.store(position, Ordering::Release);
        self.published.fetch_add(stored, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
    }

    /// Records that JetStream answered.
    pub(crate) fn healthy(&self) {
        self.connected.store(true, Ordering::Relaxed);
        *self
            .last_error
            .lock()
            .expect("never poisoned: no panics while held") = None;
    }

    /// Records a failure.
    pub(crate) fn failed(&self, error: &str) {
        self.connected.store(false, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        *self
            .last_error
            .lock()
            .expect("never poisoned: no panics while held") = Some(error.to_owned());
    }

    /// A copy of every field.
    pub fn snapshot(&self) -> RelaySnapshot {
        RelaySnapshot {
            position: self.position(),
            published: self.published.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            connected: self.connected.load(Ordering::Relaxed),
            last_error: self
                .last_error
                .lock()
                .expect("never poisoned: no panics while held")
                .clone(),
        }
    }
}
