//! The `timers` table and the `reactor_checkpoints` row of a reactor that follows the log
//! (both created by the store's migrations).
//!
//! Setting and deleting happen in a transaction the caller opened and fenced with
//! [`Lease::check`], together with the checkpoint of the events they came from, so a crash
//! never keeps one without the other. Removing a fired timer is one statement fenced by the
//! lease, and removes it only if it is still the one fired: a timer moved meanwhile (its
//! tenant rescheduled) stays, to fire at its new time.

use super::Timer;
use crate::error::ReactorError;
use crate::lease::Lease;
use chrono::{DateTime, Utc};
use keel_domain::TenantId;
use keel_log::Database;
use keel_projections::db::{from_micros, micros, turn_for_a_write, Backend, Tx};
use keel_projections::{with_pool, with_tx, ProjectionError};
use uuid::Uuid;

/// A row of `timers` as stored.
type Row = (String, String, String, i64, String);

/// The timers of one database.
#[derive(Debug, Clone)]
pub struct TimerStore {
    db: Database,
}

impl TimerStore {
    /// The timers stored in `db`.
    pub fn new(db: Database) -> TimerStore {
        TimerStore { db }
    }

    /// Sets `timer` in `tx`: adds it, or moves the timer of that id to its due time and
    /// payload.
    pub async fn set(tx: &mut Tx, timer: &Timer) -> Result<(), ReactorError> {
        let payload = timer.payload.to_string();
        with_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO timers (id, tenant_id, kind, due_at, payload) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (id) DO UPDATE SET tenant_id = excluded.tenant_id, \
                   kind = excluded.kind, due_at = excluded.due_at, payload = excluded.payload",
            )
            .bind(timer.id.to_string())
            .bind(timer.tenant_id.to_string())
            .bind(&timer.kind)
            .bind(micros(timer.due_at))
            .bind(&payload)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }

    /// Deletes the timer `id` in `tx`, if there is one.
    pub async fn delete(tx: &mut Tx, id: Uuid) -> Result<(), ReactorError> {
        with_tx!(tx, conn => {
            sqlx::query("DELETE FROM timers WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *conn)
                .await?;
        });
        Ok(())
    }

    /// Up to `limit` timers of `kinds` due at `now`, earliest first.
    pub async fn due(
        &self,
        kinds: &[&str],
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Timer>, ReactorError> {
        let sql = format!(
            "SELECT id, tenant_id, kind, due_at, payload FROM timers \
             WHERE kind IN ({}) AND due_at <= $1 ORDER BY due_at, id LIMIT {limit}",
            placeholders(2, kinds.len())
        );
        let rows: Vec<Row> = with_pool!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql).bind(micros(now));
            for kind in kinds {
                query = query.bind(*kind);
            }
            query.fetch_all(pool).await?
        });
        rows.into_iter().map(timer_of).collect()
    }

    /// When the earliest timer of `kinds` is due, if there is one.
    pub async fn next_due(&self, kinds: &[&str]) -> Result<Option<DateTime<Utc>>, ReactorError> {
        let sql = format!(
            "SELECT MIN(due_at) FROM timers WHERE kind IN ({})",
            placeholders(1, kinds.len())
        );
        let next: Option<i64> = with_pool!(&self.db, pool => {
            let mut query = sqlx::query_scalar(&sql);
            for kind in kinds {
                query = query.bind(*kind);
            }
            query.fetch_one(pool).await?
        });
        Ok(next.map(from_micros))
    }

    /// Removes `timer` once it has fired, unless it was moved meanwhile, and only while
    /// `lease` is held: a holder whose lease moved removes nothing (the new holder fires the
    /// timer again, and the aggregate refuses the repeat). Whether it was removed.
    pub async fn remove_fired(&self, timer: &Timer, lease: &Lease) -> Result<bool, ReactorError> {
        let sql = format!(
            "DELETE FROM timers WHERE id = $1 AND due_at = $2 AND {}",
            Lease::held_sql(Backend::of(&self.db), 3)
        );
        let _turn = turn_for_a_write(&self.db).await;
        let removed = with_pool!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(timer.id.to_string())
                .bind(micros(timer.due_at))
                .bind(lease.reactor())
                .bind(lease.token())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(removed == 1)
    }

    /// The position up to which `reactor` has taken the log into account; 0 before its first
    /// batch.
    pub async fn checkpoint(&self, reactor: &str) -> Result<u64, ReactorError> {
        let position: Option<i64> = with_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT position FROM reactor_checkpoints WHERE reactor = $1")
                .bind(reactor)
                .fetch_optional(pool)
                .await?
        });
        Ok(position.unwrap_or(0) as u64)
    }

    /// Records in `tx` that `reactor` has taken the log into account up to `position`.
    pub async fn save_checkpoint(
        tx: &mut Tx,
        reactor: &str,
        position: u64,
    ) -> Result<(), ReactorError> {
        with_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO reactor_checkpoints (reactor, position) VALUES ($1, $2) \
                 ON CONFLICT (reactor) DO UPDATE SET position = excluded.position",
            )
            .bind(reactor)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
        });
        Ok(())
    }
}

/// `$first, $first + 1, ...`: `count` placeholders.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn timer_of((id, tenant, kind, due_at, payload): Row) -> Result<Timer, ReactorError> {
    let invalid = |what: &str| {
        ReactorError::ReadModel(ProjectionError::InvalidState(format!(
            "bad {what} in timers row {id}"
        )))
    };
    Ok(Timer {
        id: id.parse().map_err(|_| invalid("id"))?,
        tenant_id: tenant
            .parse::<Uuid>()
            .map(TenantId)
            .map_err(|_| invalid("tenant id"))?,
        due_at: from_micros(due_at),
        payload: serde_json::from_str(&payload).map_err(|_| invalid("payload"))?,
        kind,
    })
}
