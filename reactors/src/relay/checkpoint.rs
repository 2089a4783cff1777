//! The relay's checkpoint, kept beside the events: the position of the last event JetStream
//! acknowledged, one row per relay in `relay_checkpoints`.
//!
//! Its migrations are the relay's own (`reactors/migrations/relay/`) and are recorded in
//! their own table, `keel_relay_migrations`: sqlx's migrator refuses to run when
//! `_sqlx_migrations` holds versions it does not know, so sharing the store's table would stop
//! the store from opening once the relay had run.

use crate::error::ReactorError;
use crate::lease::Lease;
use keel_log::Database;
use keel_projections::db::{turn_for_a_write, Backend};
use sqlx::migrate::Migrator;

static SQLITE: Migrator = sqlx::migrate!("./migrations/relay/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/relay/postgres");

/// A relay's checkpoint row.
#[derive(Debug, Clone)]
pub struct RelayCheckpoint {
    db: Database,
    relay: String,
}

impl RelayCheckpoint {
    /// The checkpoint of the relay named `relay` (its JetStream stream) in `db`, after applying
    /// the relay's migrations.
    pub async fn open(db: Database, relay: &str) -> Result<RelayCheckpoint, sqlx::Error> {
        migrate(&db).await?;
        Ok(RelayCheckpoint {
            db,
            relay: relay.to_owned(),
        })
    }

    /// The stored position; 0 if the relay never published.
    pub async fn load(&self) -> Result<u64, sqlx::Error> {
        let position: Option<i64> = match &self.db {
            Database::Sqlite(pool) => {
                sqlx::query_scalar("SELECT position FROM relay_checkpoints WHERE relay = ?")
                    .bind(&self.relay)
                    .fetch_optional(pool)
                    .await?
            }
            Database::Postgres(pool) => {
                sqlx::query_scalar("SELECT position FROM relay_checkpoints WHERE relay = $1")
                    .bind(&self.relay)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(position.unwrap_or(0) as u64)
    }

    /// Stores `position` if the relay still holds `lease` (else [`ReactorError::LeaseLost`],
    /// and nothing is written), in one statement, so a relay stopped at any point leaves no
    /// transaction open. Callers only move it forward; tests and operators may rewind it to
    /// republish (JetStream absorbs what is still inside the duplicate window).
    pub async fn save(&self, position: u64, lease: &Lease) -> Result<(), ReactorError> {
        let backend = Backend::of(&self.db);
        let now = match backend {
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            Backend::Postgres => "now()",
        };
        let sql = format!(
            "INSERT INTO relay_checkpoints (relay, position) SELECT $1, $2 WHERE {} \
             ON CONFLICT (relay) DO UPDATE SET position = excluded.position, updated_at = {now}",
            Lease::held_sql(backend, 3)
        );
        let _turn = turn_for_a_write(&self.db).await;
        let written = keel_projections::with_pool!(&self.db, pool => {
            sqlx::query(&sql)
                .bind(&self.relay)
                .bind(position as i64)
                .bind(lease.reactor())
                .bind(lease.token())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if written == 1 {
            Ok(())
        } else {
            Err(ReactorError::LeaseLost(lease.reactor()))
        }
    }
}

/// Applies `$migrator`'s pending migrations on `$pool`, each in a transaction with its record
/// in `keel_relay_migrations`; `$lock` (run first in each transaction) serialises servers that
/// start at once. A macro because the two backends differ only in pool type and placeholders.
macro_rules! apply_migrations {
    ($pool:expr, $migrator:expr, $lock:expr, $select:expr, $insert:expr) => {{
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS keel_relay_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
        )
        .execute($pool)
        .await?;
        for migration in $migrator.iter() {
            let mut tx = $pool.begin().await?;
            if let Some(lock) = $lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            let applied: Option<i64> = sqlx::query_scalar($select)
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
            if applied.is_none() {
                sqlx::raw_sql(migration.sql.as_ref())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query($insert)
                    .bind(migration.version)
                    .bind(&*migration.description)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
    }};
}

/// Applies the relay's pending migrations.
async fn migrate(db: &Database) -> Result<(), sqlx::Error> {
    match db {
        // SQLite has one writer at a time; the transaction is lock enough.
        Database::Sqlite(pool) => apply_migrations!(
            pool,
            SQLITE,
            None::<&str>,
            "SELECT version FROM keel_relay_migrations WHERE version = ?",
            "INSERT INTO keel_relay_migrations (version, description) VALUES (?, ?)"
        ),
        Database::Postgres(pool) => apply_migrations!(
            pool,
            POSTGRES,
            Some("SELECT pg_advisory_xact_lock(hashtext('keel_relay_migrations'))"),
            "SELECT version FROM keel_relay_migrations WHERE version = $1",
            "INSERT INTO keel_relay_migrations (version, description) VALUES ($1, $2)"
        ),
    }
    Ok(())
}
