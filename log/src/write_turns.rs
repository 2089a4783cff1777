//! Turns at a SQLite file's write lock for the writers of one process.
//!
//! SQLite lets one connection write at a time. A connection that finds the lock taken sleeps
//! in its busy handler and tries again 1, 2, 5, 10, ... and at last 100 ms later, so the lock
//! can sit free while every waiter sleeps. Keel's event writer and its projection workers share
//! one file: with the workers running, the event writer spent 40% of its time in those sleeps
//! (docs/BENCHMARKS.md). So every writer of the process (the event writer, read-model
//! transactions, and the autocommit writes: idempotency records, snapshots, relay checkpoints,
//! a projection marked failed, alerts marked published) first queues here, and each is handed
//! the lock as soon as the previous one is done; the event writer goes first. Writers of other
//! processes still meet the busy handler.
//!
//! A turn is waited for at most [`TURN_WAIT`]: a writer that waits longer goes ahead without
//! one and leaves it to the busy handler, so a mistake (a transaction begun while another of
//! the same task holds its turn) fails as SQLite would have failed it, instead of hanging.

use sqlx::SqlitePool;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{Notify, OwnedMutexGuard};
use tracing::warn;

/// The longest a writer waits for its turn (as long as the busy timeout it would meet next).
pub const TURN_WAIT: Duration = Duration::from_secs(10);

/// The write queue of one file.
#[derive(Default)]
pub struct Turns {
    /// Held for the length of a turn; tokio's mutex hands it on in arrival order.
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Event writers waiting for a turn: read models let them go first.
    events_waiting: AtomicUsize,
    /// Told when no event writer waits any more.
    events_served: Notify,
}

/// Who asks for a turn. Commands wait for the event writer, while the other writes are read
/// models and bookkeeping that only lag behind it, so the event writer goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// The event store's group-commit writer.
    Events,
    /// Any other write: a read-model transaction, an idempotency record, a snapshot, a relay
    /// checkpoint.
    Other,
}

/// One queue per database file of this process. SQLite's lock is the file's, so the queue is
/// too: two stores opened on one file in one process share it.
static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Weak<Turns>>>> = LazyLock::new(Mutex::default);

/// A writer's turn: the lock is its own until the turn is dropped (after its commit or
/// rollback).
pub struct WriteTurn {
    _held: Option<OwnedMutexGuard<()>>,
}

/// The queue of the file at `path`.
pub fn turns_of(path: &Path) -> Arc<Turns> {
    let mut queues = QUEUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(turns) = queues.get(path).and_then(Weak::upgrade) {
        return turns;
    }
    // Queues whose stores are gone are forgotten as new ones come.
    queues.retain(|_, turns| turns.strong_count() > 0);
    let turns = Arc::new(Turns::default());
    queues.insert(path.to_owned(), Arc::downgrade(&turns));
    turns
}

/// Waits for a turn in `turns` (see the module doc for the bound).
pub async fn take_turn(turns: &Turns, writer: Writer) -> WriteTurn {
    let waited = match writer {
        Writer::Events => {
            turns.events_waiting.fetch_add(1, Ordering::SeqCst);
            let held = tokio::time::timeout(TURN_WAIT, turns.lock.clone().lock_owned()).await;
            if turns.events_waiting.fetch_sub(1, Ordering::SeqCst) == 1 {
                turns.events_served.notify_waiters();
            }
            held
        }
        Writer::Other => tokio::time::timeout(TURN_WAIT, after_the_event_writer(turns)).await,
    };
    match waited {
        Ok(held) => WriteTurn { _held: Some(held) },
        Err(_) => {
            warn!("waited {TURN_WAIT:?} for a turn at SQLite's write lock; going ahead without");
            WriteTurn { _held: None }
        }
    }
}

/// Any other writer's turn: taken while no event writer waits, and handed on if one came
/// while it queued. It steps aside once at most, so that under any write load the read models
/// keep their share and wait at most about two of the event writer's transactions longer.
async fn after_the_event_writer(turns: &Turns) -> OwnedMutexGuard<()> {
    while_the_event_writer_waits(turns).await;
    let held = turns.lock.clone().lock_owned().await;
    if turns.events_waiting.load(Ordering::SeqCst) == 0 {
        return held;
    }
    drop(held);
    while_the_event_writer_waits(turns).await;
    turns.lock.clone().lock_owned().await
}

/// Returns once no event writer waits for a turn.
async fn while_the_event_writer_waits(turns: &Turns) {
    let served = turns.events_served.notified();
    tokio::pin!(served);
    // Registered before the count is read, so a notification in between is not missed.
    served.as_mut().enable();
    if turns.events_waiting.load(Ordering::SeqCst) > 0 {
        served.await;
    }
}

/// Waits for a turn at the write lock of the file `pool` opens: what a read-model transaction
/// does before `BEGIN IMMEDIATE`, and any other write on the pool before its statement.
pub async fn write_turn(pool: &SqlitePool) -> WriteTurn {
    let turns = turns_of(pool.connect_options().get_filename());
    take_turn(&turns, Writer::Other).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn turns_of_one_file_are_taken_one_at_a_time() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let path = std::env::temp_dir().join(format!("turns-{}.db", uuid::Uuid::now_v7()));
        let turns = turns_of(&path);
        assert!(Arc::ptr_eq(&turns, &turns_of(&path)));
        let first = take_turn(&turns, Writer::Other).await;
        let (inside, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let waiters: Vec<_> = (0..8)
            .map(|i| {
                let writer = [Writer::Events, Writer::Other][i % 2];
                let (turns, inside, done) = (turns_of(&path), inside.clone(), done.clone());
                tokio::spawn(async move {
                    let _turn = take_turn(&turns, writer).await;
                    assert!(!inside.swap(true, Ordering::SeqCst), "two turns at once");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    inside.store(false, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            done.load(Ordering::SeqCst),
            0,
            "nobody writes during another's turn"
        );
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 8);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_event_writer_goes_before_read_models_that_queued_earlier() {
        let path = std::env::temp_dir().join(format!("turns-{}.db", uuid::Uuid::now_v7()));
        let turns = turns_of(&path);
        let first = take_turn(&turns, Writer::Other).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let spawn = |writer: Writer| {
            let (turns, order) = (turns.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = take_turn(&turns, writer).await;
                order.lock().unwrap().push(writer);
                tokio::time::sleep(Duration::from_millis(1)).await;
            })
        };
        let mut waiters = vec![spawn(Writer::Other), spawn(Writer::Other)];
        tokio::time::sleep(Duration::from_millis(20)).await;
        waiters.push(spawn(Writer::Events));
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(order, [Writer::Events, Writer::Other, Writer::Other]);
    }

    #[test]
    fn another_file_has_another_queue() {
        let a = turns_of(Path::new("/tmp/keel-turns-a.db"));
        let b = turns_of(Path::new("/tmp/keel-turns-b.db"));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
