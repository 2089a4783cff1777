//! The resources projection (`resources`): one row per aggregate a tenant created, of the kinds
//! [`ResourceKind`] names, keyed by tenant, kind and id and ordered by the position of the
//! event that created it.
//!
//! Every row is inserted once, from its aggregate's first event, and never changed: the handler
//! reads nothing, so a rebuild writes exactly the rows the incremental build did.

use super::ResourceKind;
use crate::db::{insert_rows, Param, Tx};
use crate::error::ProjectionError;
use crate::projection::{ColumnType as C, Projection, TableSpec, Tables};
use async_trait::async_trait;
use keel_log::RecordedEvent;

/// The projection's name (checkpoints, `keel replay resources`).
pub const NAME: &str = "resources";

static TABLES: &[TableSpec] = &[TableSpec {
    base: "resources",
    columns: &[
        // The owner: a tenant, or the nil id for platform-wide policies.
        ("tenant_id", C::Text),
        ("kind", C::Text),
        ("aggregate_id", C::Text),
        // The global position of the creating event: the list's order.
        ("position", C::Int),
    ],
    key: &["tenant_id", "kind", "aggregate_id"],
    indexes: &[&["tenant_id", "kind", "position"]],
    updated_in_place: false,
}];

/// The resources projection (`resources`).
pub struct ResourcesProjection;

#[async_trait]
impl Projection for ResourcesProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn handles(&self, event_type: &str) -> bool {
        ResourceKind::created_by(event_type).is_some()
    }

    fn tables(&self) -> &'static [TableSpec] {
        TABLES
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        tables: Tables,
        events: &[RecordedEvent],
    ) -> Result<(), ProjectionError> {
        let rows = events
            .iter()
            .filter_map(|event| row(event).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        insert_rows(
            tx,
            &tables.name("resources"),
            &["tenant_id", "kind", "aggregate_id", "position"],
            &rows,
            "",
        )
        .await
    }
}

/// The row an event adds, if it creates a resource.
fn row(event: &RecordedEvent) -> Result<Option<Vec<Param>>, ProjectionError> {
    let Some(kind) = ResourceKind::created_by(&event.event_type) else {
        return Ok(None);
    };
    let id = kind.id_in(&event.stream_id).ok_or_else(|| {
        ProjectionError::InvalidState(format!(
            "{} event {} is in stream {}, not in a {} stream",
            event.event_type,
            event.event_id,
            event.stream_id,
            kind.as_str()
        ))
    })?;
    Ok(Some(vec![
        Param::Text(event.metadata.tenant_id.to_string()),
        Param::Text(kind.as_str().to_owned()),
        Param::Text(id.to_string()),
        Param::Int(event.global_position as i64),
    ]))
}
