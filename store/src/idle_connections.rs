//! Database connections kept between uses by the store (its group-commit writers, the
//! cross-process signal, its reads), instead of being given back to the pool after each.
//!
//! Why: sqlx tests every connection given back to its pool with a round trip to the server
//! (on SQLite, to the connection's worker thread), whatever `test_before_acquire` says, so a
//! writer that took a pooled connection per group commit paid an extra round trip per group,
//! and every read one more than its query. Kept connections must still let the pool close:
//! `Pool::close` waits for every connection out of the pool, so kept connections are dropped as
//! soon as the pool starts closing.

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool};
use std::sync::{Arc, Mutex, MutexGuard};

/// Up to `capacity` idle connections, kept between uses; none once the pool closes.
pub(crate) struct KeptConnections<DB: Database> {
    pool: Pool<DB>,
    capacity: usize,
    idle: Arc<Mutex<Vec<PoolConnection<DB>>>>,
}

impl<DB: Database> KeptConnections<DB> {
    /// Nothing kept yet; at most `capacity` connections are kept later, and they are dropped
    /// when `pool` starts closing. The pool counts kept connections as in use, so its size
    /// must leave room for them.
    pub(crate) fn new(pool: Pool<DB>, capacity: usize) -> KeptConnections<DB> {
        let idle: Arc<Mutex<Vec<PoolConnection<DB>>>> = Arc::default();
        let closed = pool.close_event();
        let released = idle.clone();
        tokio::spawn(async move {
            closed.await;
            lock(&released).clear();
        });
        KeptConnections {
            pool,
            capacity,
            idle,
        }
    }

    /// A kept connection, or else one from the pool.
    pub(crate) async fn take(&self) -> Result<PoolConnection<DB>, sqlx::Error> {
        let kept = lock(&self.idle).pop();
        match kept {
            Some(connection) => Ok(connection),
            None => self.pool.acquire().await,
        }
    }

    /// Keeps `connection` for a next use, unless enough are kept already or the pool is
    /// closing (then it goes back to the pool). Only a connection whose last use succeeded
    /// should come back: any other is dropped, so that the pool tests it.
    pub(crate) fn keep(&self, connection: PoolConnection<DB>) {
        let returned = {
            let mut idle = lock(&self.idle);
            if idle.len() < self.capacity {
                idle.push(connection);
                None
            } else {
                Some(connection)
            }
        };
        // Dropped outside the lock: giving a connection back to the pool spawns its test.
        drop(returned);
        // The pool may have started closing after the closing task looked: then give them back
        // here (`close` marks the pool closed before it tells the task).
        if self.pool.is_closed() {
            lock(&self.idle).clear();
        }
    }
}

fn lock<C>(idle: &Mutex<Vec<C>>) -> MutexGuard<'_, Vec<C>> {
    // A panic while holding it left at worst a connection more or fewer, both fine.
    idle.lock().unwrap_or_else(|e| e.into_inner())
}
