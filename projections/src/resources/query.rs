//! A tenant's resources of one kind, read from the `resources` read model. Every query names
//! the tenant it serves.

use super::project::NAME;
use super::ResourceKind;
use crate::error::ProjectionError;
use keel_domain::TenantId;
use keel_log::Database;
use uuid::Uuid;

/// A tenant's aggregates of one kind as the read model holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Their ids, oldest first.
    pub ids: Vec<Uuid>,
    /// The read model is complete up to this global position: aggregates created by later
    /// events are not in `ids` yet (some may be).
    pub through: u64,
}

/// `tenant`'s aggregates of `kind`, and the position the list is complete up to.
///
/// The checkpoint and the rows come from one statement, hence one snapshot: the rows are those
/// of the checkpoint read or of a later one, never of an earlier one, so the events after
/// `through` hold every aggregate the list lacks.
pub async fn list(
    db: &Database,
    tenant: TenantId,
    kind: ResourceKind,
) -> Result<Listing, ProjectionError> {
    let rows: Vec<(i64, Option<String>)> = crate::with_pool!(db, pool => {
        sqlx::query_as(
            "SELECT c.position, r.aggregate_id \
             FROM projection_state s \
             JOIN projection_checkpoints c ON c.name = s.name AND c.generation = s.active_generation \
             LEFT JOIN resources r ON r.tenant_id = $2 AND r.kind = $3 \
             WHERE s.name = $1 \
             ORDER BY r.position",
        )
        .bind(NAME)
        .bind(tenant.to_string())
        .bind(kind.as_str())
        .fetch_all(pool)
        .await?
    });
    let through = rows
        .first()
        .map(|(position, _)| *position as u64)
        .ok_or_else(|| {
            ProjectionError::InvalidState(format!("projection `{NAME}` is not set up"))
        })?;
    let ids = rows
        .into_iter()
        .filter_map(|(_, id)| id)
        .map(|id| {
            id.parse().map_err(|_| {
                ProjectionError::InvalidState(format!("`resources` holds a bad id `{id}`"))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Listing { ids, through })
}
