//! What reports read from a tenant's audit trail over a range: how often each action was taken,
//! by whom, and the records of chosen actions (member and key changes).
//!
//! The audit trail already holds one record per event with its actor, action, entity and
//! values, indexed by tenant and time, so these are plain queries over `audit_records`.

use super::range::ReportRange;
use crate::audit::record::{AuditRow, COLUMNS};
use crate::audit::AuditRecord;
use crate::db::{fetch_all, micros, Param};
use crate::error::ProjectionError;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::BTreeMap;

/// One actor's share of a tenant's activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorActivity {
    /// `api_key`, `user` or `system`.
    pub actor_kind: String,
    /// The key id, user id or component name.
    pub actor_id: String,
    /// Audit records it caused in the range.
    pub actions: u64,
}

fn scope(tenant: TenantId, range: &ReportRange) -> Vec<Param> {
    vec![
        Param::Text(tenant.to_string()),
        Param::Int(micros(range.from)),
        Param::Int(micros(range.to)),
    ]
}

const IN_RANGE: &str = "tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3";

/// How many records of each action the tenant's trail has in `range`.
pub async fn action_counts(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
) -> Result<BTreeMap<String, u64>, ProjectionError> {
    let rows: Vec<(String, i64)> = fetch_all(
        db,
        &format!("SELECT action, COUNT(*) FROM audit_records WHERE {IN_RANGE} GROUP BY action"),
        &scope(tenant, range),
    )
    .await?;
    Ok(rows.into_iter().map(|(a, n)| (a, n as u64)).collect())
}

/// Every actor of the tenant's records in `range`, most active first.
pub async fn actor_activity(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
) -> Result<Vec<ActorActivity>, ProjectionError> {
    let rows: Vec<(String, String, i64)> = fetch_all(
        db,
        &format!(
            "SELECT actor_kind, actor_id, COUNT(*) FROM audit_records WHERE {IN_RANGE} \
             GROUP BY actor_kind, actor_id ORDER BY COUNT(*) DESC, actor_kind, actor_id"
        ),
        &scope(tenant, range),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|(actor_kind, actor_id, n)| ActorActivity {
            actor_kind,
            actor_id,
            actions: n as u64,
        })
        .collect())
}

/// Up to `limit` records of `actions` in `range`, in chain order, and whether there were more.
pub async fn records(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
    actions: &[&str],
    limit: usize,
) -> Result<(Vec<AuditRecord>, bool), ProjectionError> {
    let mut params = scope(tenant, range);
    let mut placeholders = Vec::new();
    for action in actions {
        params.push(Param::Text((*action).to_owned()));
        placeholders.push(format!("${}", params.len()));
    }
    let mut rows: Vec<AuditRow> = fetch_all(
        db,
        &format!(
            "SELECT {COLUMNS} FROM audit_records WHERE {IN_RANGE} AND action IN ({}) \
             ORDER BY seq LIMIT {}",
            placeholders.join(", "),
            limit + 1
        ),
        &params,
    )
    .await?;
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows.into_iter().map(AuditRecord::from).collect(), truncated))
}
