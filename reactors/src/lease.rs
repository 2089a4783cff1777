//! Leases: which process runs a reactor, so that several `keel serve` processes on one
//! PostgreSQL database never run the same reactor at once (on SQLite, one process per file).
//!
//! A lease is a row of `reactor_leases` (created by the store's migrations): its owner, an
//! expiry by the database's clock, and a fencing token that grows by one each time the lease
//! changes hands. A process takes a free or expired lease ([`Leases::try_acquire`]), renews it
//! well before it expires ([`Lease::renew`]), and gives it up on a clean stop
//! ([`Lease::release`]) so another process takes over at once rather than after the expiry.
//!
//! Guarantee: a reactor records its progress only in a transaction that first locks its lease
//! row and finds its own token there ([`Lease::check`]). A holder that was paused (or cut off)
//! past its expiry and whose lease another process took meanwhile therefore cannot commit
//! anything afterwards, however late it wakes up: its token is gone. Effects that have no
//! progress row (commands with derived ids, facts with derived ids) are idempotent instead, so
//! a second process repeating one changes nothing.

use crate::error::ReactorError;
use keel_log::Database;
use keel_projections::db::{turn_for_a_write, Backend, Tx};
use keel_projections::with_pool;
use std::time::Duration;
use uuid::Uuid;

/// Takes leases for one process.
#[derive(Debug, Clone)]
pub struct Leases {
    db: Database,
    owner: String,
    ttl: Duration,
}

impl Leases {
    /// Leases on `db` lasting `ttl` unless renewed, owned by this process (its id and a random
    /// part: a restarted process is a new owner).
    pub fn new(db: Database, ttl: Duration) -> Leases {
        let owner = format!("pid {} / {}", std::process::id(), Uuid::now_v7());
        Leases { db, owner, ttl }
    }

    /// Who this process is in `reactor_leases.owner`.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long a lease lasts unless renewed.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Takes the lease of `reactor` if no one holds it or its holder let it expire; `None` if
    /// another process holds it.
    pub async fn try_acquire(&self, reactor: &'static str) -> Result<Option<Lease>, ReactorError> {
        let ttl = self.ttl.as_micros() as i64;
        let now = now_sql(&self.db);
        let sql = format!(
            "INSERT INTO reactor_leases (reactor, owner, token, expires_at) \
             VALUES ($1, $2, 1, {now} + $3) \
             ON CONFLICT (reactor) DO UPDATE SET owner = excluded.owner, \
               token = reactor_leases.token + 1, expires_at = excluded.expires_at \
             WHERE reactor_leases.expires_at < {now} \
             RETURNING token"
        );
        let _turn = turn_for_a_write(&self.db).await;
        let token: Option<i64> = with_pool!(&self.db, pool => {
            sqlx::query_scalar(&sql)
                .bind(reactor)
                .bind(&self.owner)
                .bind(ttl)
                .fetch_optional(pool)
                .await?
        });
        Ok(token.map(|token| Lease {
            db: self.db.clone(),
            reactor,
            token,
            ttl,
        }))
    }

    /// Who holds the lease of `reactor` now (unexpired), if anyone.
    pub async fn holder(&self, reactor: &str) -> Result<Option<(String, i64)>, ReactorError> {
        let sql = format!(
            "SELECT owner, token FROM reactor_leases WHERE reactor = $1 AND expires_at >= {}",
            now_sql(&self.db)
        );
        Ok(with_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(reactor).fetch_optional(pool).await?
        }))
    }
}

/// The database's clock in microseconds since the Unix epoch, as SQL. The database's clock,
/// not the processes': every process then compares expiries on one clock.
fn now_sql(db: &Database) -> &'static str {
    match db {
        Database::Sqlite(_) => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
        Database::Postgres(_) => "(extract(epoch from clock_timestamp()) * 1000000)::bigint",
    }
}

/// A lease held: the right to run one reactor until it expires or moves.
#[derive(Debug, Clone)]
pub struct Lease {
    db: Database,
    reactor: &'static str,
    token: i64,
    /// Microseconds.
    ttl: i64,
}

impl Lease {
    /// The reactor it is for.
    pub fn reactor(&self) -> &'static str {
        self.reactor
    }

    /// The fencing token: larger for every later holder.
    pub fn token(&self) -> i64 {
        self.token
    }

    /// Extends the lease by its length from now; `false` if it moved to another process.
    pub async fn renew(&self) -> Result<bool, ReactorError> {
        let updated = self.set_expiry(self.ttl, true).await?;
        Ok(updated)
    }

    /// Gives the lease up (it expires now) so another process can take it at once.
    pub async fn release(&self) -> Result<(), ReactorError> {
        self.set_expiry(0, false).await?;
        Ok(())
    }

    /// Sets the expiry to now + `micros` (or to the epoch when `from_now` is false); whether
    /// this holder still had the lease.
    async fn set_expiry(&self, micros: i64, from_now: bool) -> Result<bool, ReactorError> {
        let expiry = if from_now { now_sql(&self.db) } else { "0" };
        let sql = format!(
            "UPDATE reactor_leases SET expires_at = {expiry} + $3 WHERE reactor = $1 AND token = $2"
        );
        let _turn = turn_for_a_write(&self.db).await;
        let rows = with_pool!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(self.reactor)
                .bind(self.token)
                .bind(micros)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    /// The fence as an SQL condition, for progress written by one statement (atomic by
    /// itself, and safe to cancel at any point): true only while this lease is held, its row
    /// locked against a takeover until the statement's transaction ends (PostgreSQL). It
    /// binds [`Lease::reactor`] and [`Lease::token`] as parameters `$first` and `$first + 1`;
    /// a statement that writes nothing under it found the lease gone.
    pub fn held_sql(backend: Backend, first: usize) -> String {
        let lock = match backend {
            Backend::Postgres => " FOR SHARE",
            // A statement of SQLite's runs alone: no other writer of the file between its
            // check and its write.
            Backend::Sqlite => "",
        };
        format!(
            "EXISTS (SELECT 1 FROM reactor_leases WHERE reactor = ${first} AND token = ${}{lock})",
            first + 1
        )
    }

    /// The fence: locks the lease row in `tx` and fails with [`ReactorError::LeaseLost`] if
    /// another process has taken the lease since this one was granted. Call it in the
    /// transaction that records the reactor's progress, before committing: the lock holds off
    /// a takeover until that transaction ends, so progress is only ever recorded by the
    /// current holder.
    pub async fn check(&self, tx: &mut Tx) -> Result<(), ReactorError> {
        // SQLite's write transactions already exclude every other writer of the file.
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!("SELECT token FROM reactor_leases WHERE reactor = $1{lock}");
        let token: Option<i64> = keel_projections::with_tx!(&mut *tx, conn => {
            sqlx::query_scalar(&sql)
                .bind(self.reactor)
                .fetch_optional(conn)
                .await?
        });
        if token == Some(self.token) {
            Ok(())
        } else {
            Err(ReactorError::LeaseLost(self.reactor))
        }
    }
}
