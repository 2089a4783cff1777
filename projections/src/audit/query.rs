//! Audit queries: one tenant's records, filtered, in chain order, cursor-paginated.

use super::record::{AuditRecord, AuditRow, COLUMNS};
use crate::db::{fetch_all, micros, Param};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;

/// Which records to return. The tenant is required: every read says whose data it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditFilter {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Only this actor (its id).
    pub actor_id: Option<String>,
    /// Only this entity type.
    pub entity_type: Option<String>,
    /// Only this entity id.
    pub entity_id: Option<String>,
    /// Only this action (event type).
    pub action: Option<String>,
    /// Only records that happened at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only records that happened before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only records after this chain number (the cursor).
    pub after_seq: Option<u64>,
}

impl AuditFilter {
    /// Everything of one tenant.
    pub fn tenant(tenant_id: TenantId) -> Self {
        AuditFilter {
            tenant_id,
            actor_id: None,
            entity_type: None,
            entity_id: None,
            action: None,
            from: None,
            to: None,
            after_seq: None,
        }
    }

    /// The `WHERE` clause (with `$n` placeholders) and its parameters.
    pub(crate) fn where_clause(&self) -> (String, Vec<Param>) {
        let mut conditions = vec!["tenant_id = $1".to_owned()];
        let mut params = vec![Param::Text(self.tenant_id.to_string())];
        let mut add = |condition: &str, param: Param| {
            params.push(param);
            conditions.push(format!("{condition} ${}", params.len()));
        };
        if let Some(actor) = &self.actor_id {
            add("actor_id =", Param::Text(actor.clone()));
        }
        if let Some(kind) = &self.entity_type {
            add("entity_type =", Param::Text(kind.clone()));
        }
        if let Some(id) = &self.entity_id {
            add("entity_id =", Param::Text(id.clone()));
        }
        if let Some(action) = &self.action {
            add("action =", Param::Text(action.clone()));
        }
        if let Some(from) = self.from {
            add("occurred_at >=", Param::Int(micros(from)));
        }
        if let Some(to) = self.to {
            add("occurred_at <", Param::Int(micros(to)));
        }
        if let Some(after) = self.after_seq {
            add("seq >", Param::Int(after as i64));
        }
        (conditions.join(" AND "), params)
    }
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    /// The records, in chain order.
    pub items: Vec<AuditRecord>,
    /// Pass as the cursor (`after_seq`) for the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

/// Up to `limit` records matching `filter`, in chain order.
pub async fn query(
    db: &Database,
    filter: &AuditFilter,
    limit: usize,
) -> Result<AuditPage, ProjectionError> {
    let (condition, params) = filter.where_clause();
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_records WHERE {condition} ORDER BY seq LIMIT {}",
        limit.max(1)
    );
    let rows: Vec<AuditRow> = fetch_all(db, &sql, &params).await?;
    let next_cursor = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.seq as u64))
        .flatten();
    Ok(AuditPage {
        items: rows.into_iter().map(AuditRecord::from).collect(),
        next_cursor,
    })
}
