//! The versions this process last saw its recently written streams at.
//!
//! An append that leaves its version open (`Any`, `StreamExists`) does not say where its stream
//! is, so without this the PostgreSQL store had to lock the stream and look (five round trips,
//! five times slower than an exact append). With it, such an append is planned on the version
//! remembered here and written in the one-round-trip compare-and-set like an exact one. The
//! memory is only a guess: another process may have moved the stream since, and then the
//! compare-and-set writes nothing and the append is decided on locked rows, which also
//! corrects the guess. So a stale entry costs one round trip, never a wrong version.

use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// How many streams are remembered; the least recently written are forgotten first.
const CAPACITY: NonZeroUsize = match NonZeroUsize::new(16_384) {
    Some(capacity) => capacity,
    None => unreachable!(),
};

/// Stream id to the version it was at when this process last wrote or locked it.
pub(crate) struct KnownVersions {
    versions: Mutex<LruCache<String, u64>>,
}

impl Default for KnownVersions {
    fn default() -> Self {
        KnownVersions {
            versions: Mutex::new(LruCache::new(CAPACITY)),
        }
    }
}

impl KnownVersions {
    /// The version `stream_id` was last seen at, if it is remembered.
    pub(crate) fn get(&self, stream_id: &str) -> Option<u64> {
        self.lock().get(stream_id).copied()
    }

    /// Remembers the versions streams are now known to be at.
    pub(crate) fn remember<'a>(&self, seen: impl IntoIterator<Item = (&'a str, u64)>) {
        let mut versions = self.lock();
        for (stream_id, version) in seen {
            match versions.get_mut(stream_id) {
                Some(known) => *known = version,
                None => {
                    versions.put(stream_id.to_owned(), version);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<String, u64>> {
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters: every entry is only a guess checked by the database.
        self.versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_latest_version_of_each_stream() {
        let known = KnownVersions::default();
        assert_eq!(known.get("a"), None);
        known.remember([("a", 1), ("b", 4)]);
        known.remember([("a", 3)]);
        assert_eq!((known.get("a"), known.get("b")), (Some(3), Some(4)));
    }
}
