//! Checksums of a projection's tables, and a check that a fresh rebuild matches them.
//!
//! Rows are read as text in key order, so a checksum depends only on the rows' contents:
//! two builds of the same log give the same checksum (on the same backend).

use super::batch::GenerationTarget;
use super::checkpoint::{self, create_generation, drop_generation, Indexes};
use super::rebuild::{fill, next_generation};
use crate::db::Tx;
use crate::error::ProjectionError;
use crate::projection::{table_name, Projection, TableSpec};
use futures::TryStreamExt;
use keel_log::{Database, EventLog};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::sync::Arc;

/// SHA-256 (hex) of every row of the projection's serving tables.
pub async fn projection_checksum(
    projection: &dyn Projection,
    db: &Database,
) -> Result<String, ProjectionError> {
    let mut hasher = Sha256::new();
    for table in projection.tables() {
        hasher.update(table.base.as_bytes());
        hasher.update([0xff]);
        let sql = table.rows_as_text_sql(table.base);
        crate::with_pool!(db, pool => {
            let mut rows = sqlx::query(&sql).fetch(pool);
            while let Some(row) = rows.try_next().await? {
                for i in 0..table.columns.len() {
                    hash_field(&mut hasher, row.try_get::<Option<String>, _>(i)?.as_deref());
                }
            }
        });
    }
    Ok(hex::encode(hasher.finalize()))
}

fn hash_field(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => hasher.update([0u8]),
        Some(text) => {
            hasher.update([1u8]);
            hasher.update((text.len() as u64).to_be_bytes());
            hasher.update(text.as_bytes());
        }
    }
}

/// The result of [`check_projection`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    /// The position both builds were compared at.
    pub position: u64,
    /// Rows compared.
    pub rows: u64,
    /// The first difference, if any: table, and the two rows as text.
    pub first_difference: Option<String>,
}

/// Rebuilds the projection into scratch tables up to the serving generation's checkpoint,
/// compares them row by row with the serving tables, names the first difference, and drops
/// the scratch tables. Run it while no live worker advances the projection (or expect a
/// difference caused by the live tables moving on).
pub async fn check_projection(
    projection: &Arc<dyn Projection>,
    store: &Arc<dyn EventLog>,
    batch: usize,
) -> Result<CheckReport, ProjectionError> {
    let db = store.database();
    let name = projection.name();
    checkpoint::ensure(&db, projection.as_ref()).await?;
    let active = checkpoint::generations(&db, name).await?.active;
    let position = checkpoint::checkpoint(&db, name, active).await?.position;
    let mut tx = Tx::begin(&db).await?;
    let scratch = next_generation(&mut tx, name).await?;
    create_generation(&mut tx, projection.as_ref(), scratch, Indexes::Now).await?;
    tx.commit().await?;
    let target = GenerationTarget {
        generation: scratch,
        must_be_active: false,
        up_to: Some(position),
    };
    let compared = match fill(projection, store, target, batch, position, &mut |_| {}).await {
        Ok(_) => compare(projection.tables(), &db, scratch).await,
        Err(error) => Err(error),
    };
    let mut tx = Tx::begin(&db).await?;
    drop_generation(&mut tx, projection.as_ref(), scratch).await?;
    tx.commit().await?;
    let (rows, first_difference) = compared?;
    Ok(CheckReport {
        position,
        rows,
        first_difference,
    })
}

async fn compare(
    tables: &[TableSpec],
    db: &Database,
    scratch: i64,
) -> Result<(u64, Option<String>), ProjectionError> {
    let mut rows = 0u64;
    for table in tables {
        let live_sql = table.rows_as_text_sql(table.base);
        let scratch_sql = table.rows_as_text_sql(&table_name(table.base, scratch));
        let width = table.columns.len();
        let difference = crate::with_pool!(db, pool => {
            let mut live = sqlx::query(&live_sql).fetch(pool);
            let mut rebuilt = sqlx::query(&scratch_sql).fetch(pool);
            loop {
                let a = live.try_next().await?.map(|r| row_text(&r, width)).transpose()?;
                let b = rebuilt.try_next().await?.map(|r| row_text(&r, width)).transpose()?;
                match (a, b) {
                    (None, None) => break None,
                    (a, b) if a == b => rows += 1,
                    (a, b) => break Some(format!(
                        "table {}: incremental row {:?}, rebuilt row {:?}", table.base, a, b
                    )),
                }
            }
        });
        if difference.is_some() {
            return Ok((rows, difference));
        }
    }
    Ok((rows, None))
}

fn row_text<R: Row>(row: &R, width: usize) -> Result<Vec<Option<String>>, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    (0..width)
        .map(|i| row.try_get::<Option<String>, _>(i))
        .collect()
}
