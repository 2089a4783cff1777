//! Opening an event store from a database URL.

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::EventStore;
use keel_log::StoreError;
use std::sync::Arc;

/// Tuning for [`open`]; the defaults suit a single server.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Pooled connections for reads and read models. The store's own long-held connections
    /// (its writers', on PostgreSQL its notifications', and a few idle readers it keeps) come
    /// on top, so they never leave the pool's other users without one.
    pub connections: u32,
    /// Concurrent group-commit transactions (PostgreSQL only; SQLite has one writer). One is
    /// the default: positions are taken in a serialised step anyway, and a single writer makes
    /// the largest groups (measured in docs/BENCHMARKS.md).
    pub writers: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connections: 16,
            writers: 1,
        }
    }
}

/// Opens the store a URL names: `sqlite://path/to/file.db` or `postgres://...`.
/// Creates the SQLite file if missing and applies pending migrations on either backend.
pub async fn open(url: &str, options: &StoreOptions) -> Result<Arc<dyn EventStore>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect(url, options.connections).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            PostgresStore::connect(url, options.connections, options.writers).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
