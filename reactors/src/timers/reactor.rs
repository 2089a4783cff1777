//! The timers reactor: follows the log into the `timers` table and fires what is due.
//!
//! Each round it takes the log's new events into account ([`super::feed`]), the timer changes
//! of a batch and the batch's checkpoint in one transaction fenced by the lease, then fires the
//! timers due now ([`super::fire`]) and removes them. It then sleeps until the earliest timer
//! is due, the log's head moves (a new timer, perhaps an earlier one), [`POLL`] passes or it is
//! cancelled. A timer therefore fires within milliseconds of its due time while this process
//! holds the lease, and a timer set while no process held it fires as soon as one takes it.
//!
//! A batch without timer changes records its checkpoint at most every [`CHECKPOINT_EVERY`]:
//! under a steady write load a write per commit would cost more than the reactor does, and a
//! restart that reads a second of the log again sets the same timers again (see the feed).

use super::feed::{change_of, Change};
use super::fire::{fire, Fired, KINDS};
use super::store::TimerStore;
use super::REACTOR;
use crate::error::ReactorError;
use crate::lease::Lease;
use chrono::Utc;
use keel_commands::handler::{CommandHandler, HandlerConfig};
use keel_domain::tenant::Tenant;
use keel_projections::db::Tx;
use keel_store::EventStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The longest the reactor sleeps: a fallback for timers set by a writer it does not hear of.
pub const POLL: Duration = Duration::from_secs(1);
/// How often a checkpoint without timer changes is written while the log moves.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// Events read per batch.
const BATCH: usize = 1000;
/// Timers fired per round.
const FIRE_BATCH: usize = 100;

/// The timers reactor of one process.
pub struct TimersReactor {
    store: Arc<dyn EventStore>,
    timers: TimerStore,
    tenants: CommandHandler<Tenant>,
}

/// Where the feed is: the position read up to and what of it is recorded.
struct Progress {
    read: u64,
    saved: u64,
    saved_at: Instant,
}

impl TimersReactor {
    /// The reactor on `store`'s log and database.
    pub fn new(store: Arc<dyn EventStore>) -> TimersReactor {
        TimersReactor {
            timers: TimerStore::new(store.database()),
            // A handler of its own: firing must not evict the API's cache.
            tenants: CommandHandler::new(store.clone(), HandlerConfig::default()),
            store,
        }
    }

    /// Feeds and fires under `lease` until `cancel` fires (between rounds; a round cut short
    /// is done again: its batches are repeatable and its firings refused a second time).
    pub async fn run(&self, lease: Lease, cancel: CancellationToken) -> Result<(), ReactorError> {
        let mut head = self.store.watch_head();
        let position = self.timers.checkpoint(REACTOR).await?;
        let mut progress = Progress {
            read: position,
            saved: position,
            saved_at: Instant::now(),
        };
        while !cancel.is_cancelled() {
            head.borrow_and_update();
            while self.feed(&lease, &mut progress).await? {}
            self.fire_due(&lease).await?;
            let wait = match self.timers.next_due(KINDS).await? {
                Some(at) => (at - Utc::now()).to_std().unwrap_or_default().min(POLL),
                None => POLL,
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = head.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        if progress.saved < progress.read {
            self.record(&lease, &[], &mut progress).await?;
        }
        Ok(())
    }

    /// Takes one batch of new events into account; whether there may be more.
    async fn feed(&self, lease: &Lease, progress: &mut Progress) -> Result<bool, ReactorError> {
        let events = self.store.read_all(progress.read, BATCH).await?;
        let Some(last) = events.last() else {
            return Ok(false);
        };
        progress.read = last.global_position;
        let mut changes = Vec::new();
        for event in &events {
            changes.extend(change_of(event)?);
        }
        if !changes.is_empty() || progress.saved_at.elapsed() >= CHECKPOINT_EVERY {
            self.record(lease, &changes, progress).await?;
        }
        Ok(events.len() == BATCH)
    }

    /// Applies `changes` and records the position read, in one transaction under `lease`.
    async fn record(
        &self,
        lease: &Lease,
        changes: &[Change],
        progress: &mut Progress,
    ) -> Result<(), ReactorError> {
        let mut tx = Tx::begin(&self.store.database()).await?;
        lease.check(&mut tx).await?;
        for change in changes {
            match change {
                Change::Set(timer) => TimerStore::set(&mut tx, timer).await?,
                Change::Delete(id) => TimerStore::delete(&mut tx, *id).await?,
            }
        }
        TimerStore::save_checkpoint(&mut tx, REACTOR, progress.read).await?;
        tx.commit().await?;
        progress.saved = progress.read;
        progress.saved_at = Instant::now();
        Ok(())
    }

    /// Fires every timer due now, then removes it.
    async fn fire_due(&self, lease: &Lease) -> Result<(), ReactorError> {
        loop {
            let due = self.timers.due(KINDS, Utc::now(), FIRE_BATCH).await?;
            let mut all_removed = true;
            for timer in &due {
                match fire(&self.tenants, timer).await? {
                    Fired::Acted => {
                        tracing::info!(tenant = %timer.tenant_id, kind = timer.kind, "timer fired")
                    }
                    Fired::Moot(refusal) => {
                        tracing::debug!(tenant = %timer.tenant_id, kind = timer.kind, %refusal, "timer had nothing left to do")
                    }
                }
                all_removed &= self.timers.remove_fired(timer, lease).await?;
            }
            // A timer not removed was moved meanwhile, or the lease was lost (which the
            // renewal notices): the next round sees which, rather than this loop again.
            if due.len() < FIRE_BATCH || !all_removed {
                return Ok(());
            }
        }
    }
}
