//! The read side's schema migrations, kept apart from the event store's.
//!
//! sqlx's migrator refuses to run when its table lists a migration it does not know, so two
//! migration sets cannot share `_sqlx_migrations` unless both ignore missing ones; the event
//! store's does not. The read side therefore records its own versions (range
//! 20261201100000-20261201199999) in `keel_projection_migrations`. Pending migrations run in
//! one transaction; on PostgreSQL an advisory lock keeps two servers starting at once from
//! applying the same one twice.

use crate::db::{now_micros, Backend, Tx};
use crate::error::ProjectionError;
use keel_log::Database;

/// One migration: version, description, SQL for SQLite, SQL for PostgreSQL.
type Migration = (i64, &'static str, &'static str, &'static str);

const MIGRATIONS: &[Migration] = &[
    (
        20261201100001,
        "projection framework",
        include_str!("../migrations/sqlite/20261201100001_projection_framework.sql"),
        include_str!("../migrations/postgres/20261201100001_projection_framework.sql"),
    ),
    (
        20261201100002,
        "projection versions and audit salts",
        include_str!("../migrations/sqlite/20261201100002_projection_versions_and_audit_salts.sql"),
        include_str!(
            "../migrations/postgres/20261201100002_projection_versions_and_audit_salts.sql"
        ),
    ),
];

/// An arbitrary constant naming the advisory lock ("keel proj").
const LOCK_KEY: i64 = 0x6b65_656c_7072_6f6a;

/// Applies the read side's pending migrations.
pub async fn migrate(db: &Database) -> Result<(), ProjectionError> {
    if all_applied(db).await {
        return Ok(());
    }
    let backend = Backend::of(db);
    let mut tx = Tx::begin(db).await?;
    if backend == Backend::Postgres {
        crate::with_tx!(&mut tx, conn => {
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *conn).await?;
        });
    }
    tx.execute_raw(
        "CREATE TABLE IF NOT EXISTS keel_projection_migrations (
            version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await?;
    for (version, description, sqlite, postgres) in MIGRATIONS {
        let applied: Option<i64> = crate::with_tx!(&mut tx, conn => {
            sqlx::query_scalar("SELECT version FROM keel_projection_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?
        });
        if applied.is_some() {
            continue;
        }
        tx.execute_raw(match backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        })
        .await?;
        crate::with_tx!(&mut tx, conn => {
            sqlx::query("INSERT INTO keel_projection_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
                .bind(version)
                .bind(description)
                .bind(now_micros())
                .execute(&mut *conn)
                .await?;
        });
    }
    tx.commit().await
}

/// Whether every migration is recorded (no lock taken; an error, such as the table not
/// existing yet, means no).
async fn all_applied(db: &Database) -> bool {
    let applied: Result<Vec<i64>, sqlx::Error> = crate::with_pool!(db, pool => {
        sqlx::query_scalar("SELECT version FROM keel_projection_migrations").fetch_all(pool).await
    });
    applied.is_ok_and(|applied| MIGRATIONS.iter().all(|(v, ..)| applied.contains(v)))
}
