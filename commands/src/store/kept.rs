//! A PostgreSQL connection kept between uses by one long-lived task (a group-commit writer, the
//! cross-process signal), instead of being given back to the pool after each.
//!
//! Why: sqlx tests every connection given back to its pool with a round trip to the server,
//! whatever `test_before_acquire` says, so a writer that took a pooled connection per group
//! commit paid an extra round trip per group. Kept connections must still let the pool close:
//! `Pool::close` waits for every connection out of the pool, so a kept connection is dropped
//! as soon as the pool starts closing.

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use std::sync::{Arc, Mutex, MutexGuard};

/// At most one connection, kept between uses; none once the pool closes.
pub(crate) struct KeptConnection {
    pool: PgPool,
    slot: Arc<Mutex<Option<PoolConnection<Postgres>>>>,
}

impl KeptConnection {
    /// Nothing kept yet; what is kept later is dropped when `pool` starts closing.
    pub(crate) fn new(pool: PgPool) -> KeptConnection {
        let slot: Arc<Mutex<Option<PoolConnection<Postgres>>>> = Arc::default();
        let closed = pool.close_event();
        let released = slot.clone();
        tokio::spawn(async move {
            closed.await;
            drop(lock(&released).take());
        });
        KeptConnection { pool, slot }
    }

    /// The kept connection, or else one from the pool.
    pub(crate) async fn take(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        let kept = lock(&self.slot).take();
        match kept {
            Some(connection) => Ok(connection),
            None => self.pool.acquire().await,
        }
    }

    /// Keeps `connection` for the next use, unless the pool is closing. Only a connection whose
    /// last use succeeded should come back: any other goes back to the pool, which tests it.
    pub(crate) fn keep(&self, connection: PoolConnection<Postgres>) {
        *lock(&self.slot) = Some(connection);
        // The pool may have started closing after the closing task looked: then give it back
        // here (`close` marks the pool closed before it tells the task).
        if self.pool.is_closed() {
            drop(lock(&self.slot).take());
        }
    }
}

fn lock(
    slot: &Mutex<Option<PoolConnection<Postgres>>>,
) -> MutexGuard<'_, Option<PoolConnection<Postgres>>> {
    // A panic while holding it left at worst a connection or none, both fine.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}
