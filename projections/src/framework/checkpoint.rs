//! The framework's rows: which generation serves, and each generation's checkpoint.

use crate::db::{now_micros, Backend, Tx};
use crate::error::ProjectionError;
use crate::projection::Projection;
use keel_log::Database;
use sqlx::Row;

/// A generation's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The generation.
    pub generation: i64,
    /// The position of the last event applied (or deliberately passed over).
    pub position: u64,
    /// Whether the projection stopped on a failing event.
    pub failed: Option<Failure>,
}

/// The event a projection stopped on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The failing event's global position.
    pub position: u64,
    /// The handler's error.
    pub error: String,
}

/// Which generation serves and which is being rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generations {
    /// Serves queries (the views point at it).
    pub active: i64,
    /// Being filled by a blue/green rebuild.
    pub building: Option<i64>,
}

/// Creates the projection's first generation (tables, views, checkpoint) unless it exists,
/// and replaces the serving tables by empty ones of the new shape when the projection's
/// [`Projection::version`] is higher than the one they were written by: the worker then folds
/// the whole log into them again (queries see the read model fill up meanwhile).
pub async fn ensure(db: &Database, projection: &dyn Projection) -> Result<(), ProjectionError> {
    // The common case, set up already, takes no lock (status queries call this too).
    if stored_version(db, projection.name())
        .await
        .is_ok_and(|v| v >= projection.version())
    {
        return Ok(());
    }
    let mut tx = Tx::begin(db).await?;
    if tx.backend() == Backend::Postgres {
        // Two servers starting at once must not both create (or upgrade) the tables.
        crate::with_tx!(&mut tx, conn => {
            sqlx::query("LOCK TABLE projection_state IN EXCLUSIVE MODE").execute(&mut *conn).await?;
        });
    }
    let name = projection.name();
    let version: Option<i64> = crate::with_tx!(&mut tx, conn => {
        sqlx::query_scalar("SELECT version FROM projection_state WHERE name = $1")
            .bind(name).fetch_optional(&mut *conn).await?
    });
    match (generations_in(&mut tx, name, false).await?, version) {
        (Some(_), Some(v)) if v >= projection.version() => return Ok(()),
        (Some(generations), _) => {
            tracing::warn!(
                projection = name,
                version = projection.version(),
                "the projection's tables were written by an older version: folding the log into new ones"
            );
            drop_views(&mut tx, projection).await?;
            if let Some(building) = generations.building {
                drop_generation(&mut tx, projection, building).await?;
            }
            create_generation(&mut tx, projection, generations.active, Indexes::Now).await?;
            point_views(&mut tx, projection, generations.active).await?;
            crate::with_tx!(&mut tx, conn => {
                sqlx::query("UPDATE projection_state SET building_generation = NULL, version = $1 WHERE name = $2")
                    .bind(projection.version()).bind(name).execute(&mut *conn).await?;
                sqlx::query("DELETE FROM projection_dead_letters WHERE name = $1")
                    .bind(name).execute(&mut *conn).await?;
            });
        }
        (None, _) => {
            create_generation(&mut tx, projection, 1, Indexes::Now).await?;
            point_views(&mut tx, projection, 1).await?;
            crate::with_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO projection_state (name, active_generation, version) VALUES ($1, 1, $2)")
                    .bind(name)
                    .bind(projection.version())
                    .execute(&mut *conn)
                    .await?;
            });
        }
    }
    tx.commit().await
}

/// The version of what the projection's serving tables hold.
async fn stored_version(db: &Database, name: &str) -> Result<i64, ProjectionError> {
    let version: Option<i64> = crate::with_pool!(db, pool => {
        sqlx::query_scalar("SELECT version FROM projection_state WHERE name = $1")
            .bind(name).fetch_optional(pool).await?
    });
    version
        .ok_or_else(|| ProjectionError::InvalidState(format!("projection `{name}` is not set up")))
}

/// The generations of `name`, locking the row (PostgreSQL) if `lock`.
pub async fn generations_in(
    tx: &mut Tx,
    name: &str,
    lock: bool,
) -> Result<Option<Generations>, ProjectionError> {
    let sql = format!(
        "SELECT active_generation, building_generation FROM projection_state WHERE name = $1{}",
        if lock { tx.backend().for_update() } else { "" }
    );
    let row: Option<(i64, Option<i64>)> = crate::with_tx!(tx, conn => {
        sqlx::query_as(&sql).bind(name).fetch_optional(&mut *conn).await?
    });
    Ok(row.map(|(active, building)| Generations { active, building }))
}

/// The generations of `name`, outside a transaction.
pub async fn generations(db: &Database, name: &str) -> Result<Generations, ProjectionError> {
    let row: Option<(i64, Option<i64>)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT active_generation, building_generation FROM projection_state WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?
    });
    row.map(|(active, building)| Generations { active, building })
        .ok_or_else(|| ProjectionError::InvalidState(format!("projection `{name}` is not set up")))
}

/// When a new generation gets its secondary indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexes {
    /// With its tables: it serves queries from the start.
    Now,
    /// Once it is filled ([`create_indexes`]): a rebuild writes every row of a table that no
    /// query reads yet, and one index built over all rows costs far less than keeping it up to
    /// date row by row.
    Later,
}

/// Creates a generation's secondary indexes (those already there are kept).
pub async fn create_indexes(
    tx: &mut Tx,
    projection: &dyn Projection,
    generation: i64,
) -> Result<(), ProjectionError> {
    for table in projection.tables() {
        for statement in table.index_sql(generation) {
            tx.execute_raw(&statement).await?;
        }
    }
    Ok(())
}

/// Creates a generation's tables (dropping leftovers of an abandoned attempt) and its
/// checkpoint at position 0.
pub async fn create_generation(
    tx: &mut Tx,
    projection: &dyn Projection,
    generation: i64,
    indexes: Indexes,
) -> Result<(), ProjectionError> {
    drop_generation(tx, projection, generation).await?;
    for table in projection.tables() {
        tx.execute_raw(&table.create_sql(tx.backend(), generation))
            .await?;
    }
    if indexes == Indexes::Now {
        create_indexes(tx, projection, generation).await?;
    }
    crate::with_tx!(tx, conn => {
        sqlx::query("INSERT INTO projection_checkpoints (name, generation, position, status, updated_at) VALUES ($1, $2, 0, 'running', $3)")
            .bind(projection.name())
            .bind(generation)
            .bind(now_micros())
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Drops a generation's tables and checkpoint.
pub async fn drop_generation(
    tx: &mut Tx,
    projection: &dyn Projection,
    generation: i64,
) -> Result<(), ProjectionError> {
    for table in projection.tables() {
        tx.execute_raw(&format!(
            "DROP TABLE IF EXISTS {}",
            crate::projection::table_name(table.base, generation)
        ))
        .await?;
    }
    crate::with_tx!(tx, conn => {
        sqlx::query("DELETE FROM projection_checkpoints WHERE name = $1 AND generation = $2")
            .bind(projection.name())
            .bind(generation)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Points the projection's views at `generation`.
pub async fn point_views(
    tx: &mut Tx,
    projection: &dyn Projection,
    generation: i64,
) -> Result<(), ProjectionError> {
    for table in projection.tables() {
        for statement in table.view_sql(generation) {
            tx.execute_raw(&statement).await?;
        }
    }
    Ok(())
}

/// Drops the projection's views (before their tables can be dropped on PostgreSQL).
pub async fn drop_views(tx: &mut Tx, projection: &dyn Projection) -> Result<(), ProjectionError> {
    for table in projection.tables() {
        tx.execute_raw(&format!("DROP VIEW IF EXISTS {}", table.base))
            .await?;
    }
    Ok(())
}

/// A generation's checkpoint inside a transaction, locked (PostgreSQL) if `lock`.
pub async fn checkpoint_in(
    tx: &mut Tx,
    name: &str,
    generation: i64,
    lock: bool,
) -> Result<Checkpoint, ProjectionError> {
    let sql = format!(
        "SELECT position, status, failed_position, failed_error FROM projection_checkpoints \
         WHERE name = $1 AND generation = $2{}",
        if lock { tx.backend().for_update() } else { "" }
    );
    let row = crate::with_tx!(tx, conn => {
        sqlx::query(&sql).bind(name).bind(generation).fetch_optional(&mut *conn).await?
            .map(|row| checkpoint_from(generation, row.get(0), row.get(1), row.get(2), row.get(3)))
    });
    row.ok_or_else(|| {
        ProjectionError::InvalidState(format!(
            "projection `{name}` has no generation {generation}"
        ))
    })
}

/// A generation's checkpoint.
pub async fn checkpoint(
    db: &Database,
    name: &str,
    generation: i64,
) -> Result<Checkpoint, ProjectionError> {
    let row = crate::with_pool!(db, pool => {
        sqlx::query("SELECT position, status, failed_position, failed_error FROM projection_checkpoints WHERE name = $1 AND generation = $2")
            .bind(name).bind(generation).fetch_optional(pool).await?
            .map(|row| checkpoint_from(generation, row.get(0), row.get(1), row.get(2), row.get(3)))
    });
    row.ok_or_else(|| {
        ProjectionError::InvalidState(format!(
            "projection `{name}` has no generation {generation}"
        ))
    })
}

fn checkpoint_from(
    generation: i64,
    position: i64,
    status: String,
    failed_position: Option<i64>,
    failed_error: Option<String>,
) -> Checkpoint {
    Checkpoint {
        generation,
        position: position as u64,
        failed: (status == "failed").then(|| Failure {
            position: failed_position.unwrap_or(0) as u64,
            error: failed_error.unwrap_or_default(),
        }),
    }
}

/// Moves a generation's checkpoint to `position` (status running).
pub async fn advance_to(
    tx: &mut Tx,
    name: &str,
    generation: i64,
    position: u64,
) -> Result<(), ProjectionError> {
    crate::with_tx!(tx, conn => {
        sqlx::query("UPDATE projection_checkpoints SET position = $1, status = 'running', failed_position = NULL, failed_error = NULL, updated_at = $2 WHERE name = $3 AND generation = $4")
            .bind(position as i64)
            .bind(now_micros())
            .bind(name)
            .bind(generation)
            .execute(&mut *conn)
            .await?;
    });
    Ok(())
}

/// Records that a generation stopped on the event at `failure.position`.
pub async fn record_failure(
    db: &Database,
    name: &str,
    generation: i64,
    failure: &Failure,
) -> Result<(), ProjectionError> {
    let _turn = crate::db::turn_for_a_write(db).await;
    crate::with_pool!(db, pool => {
        sqlx::query("UPDATE projection_checkpoints SET status = 'failed', failed_position = $1, failed_error = $2, updated_at = $3 WHERE name = $4 AND generation = $5")
            .bind(failure.position as i64)
            .bind(&failure.error)
            .bind(now_micros())
            .bind(name)
            .bind(generation)
            .execute(pool)
            .await?;
    });
    Ok(())
}
