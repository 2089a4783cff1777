//! A tenant's recorded access denials over a range, from `report_denials` and
//! `report_denial_batches`.
//!
//! Denials kept in full are placed by their decision time. Those only counted (beyond
//! [`MAX_DENIALS_PER_BATCH`](keel_domain::access::MAX_DENIALS_PER_BATCH) in one interval) have
//! no time of their own: they are counted in the range holding their batch's last decision.

use super::range::ReportRange;
use crate::db::{fetch_all, from_micros, micros, Param};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;

/// One denied request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Denial {
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
    /// The instant it was decided for.
    pub requested_at: DateTime<Utc>,
    /// The API key that asked.
    pub asked_by: String,
    /// Whom the request was for, when the caller said.
    pub subject: Option<String>,
    /// The principal's role.
    pub role: String,
    /// What it wanted to do.
    pub action: String,
    /// What on.
    pub resource: String,
    /// Where from, when known.
    pub ip: Option<String>,
    /// The violations: `[{code, policy_id, version}]`.
    pub reasons: serde_json::Value,
}

/// The denials of a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenialSummary {
    /// Every denial in the range: kept in full plus only counted.
    pub total: u64,
    /// Those only counted (a busy interval's surplus).
    pub omitted: u64,
    /// The denials kept in full, oldest first, at most the report's limit.
    pub items: Vec<Denial>,
    /// Whether more were kept in full than `items` lists.
    pub truncated: bool,
}

type DenialRow = (
    i64,
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// The denials of `tenant` in `range`, listing at most `limit`.
pub async fn denials(
    db: &Database,
    tenant: TenantId,
    range: &ReportRange,
    limit: usize,
) -> Result<DenialSummary, ProjectionError> {
    let params = [
        Param::Text(tenant.to_string()),
        Param::Int(micros(range.from)),
        Param::Int(micros(range.to)),
    ];
    let kept: Vec<(i64,)> = fetch_all(
        db,
        "SELECT COUNT(*) FROM report_denials \
         WHERE tenant_id = $1 AND decided_at >= $2 AND decided_at < $3",
        &params,
    )
    .await?;
    let omitted: Vec<(Option<i64>,)> = fetch_all(
        db,
        "SELECT CAST(SUM(omitted) AS BIGINT) FROM report_denial_batches \
         WHERE tenant_id = $1 AND to_at >= $2 AND to_at < $3",
        &params,
    )
    .await?;
    let rows: Vec<DenialRow> = fetch_all(
        db,
        &format!(
            "SELECT decided_at, requested_at, asked_by, subject, role, action, resource, ip, \
             reasons FROM report_denials \
             WHERE tenant_id = $1 AND decided_at >= $2 AND decided_at < $3 \
             ORDER BY decided_at, position, idx LIMIT {limit}"
        ),
        &params,
    )
    .await?;
    let kept = kept.first().map_or(0, |r| r.0) as u64;
    let omitted = omitted.first().and_then(|r| r.0).unwrap_or(0) as u64;
    let items: Vec<Denial> = rows
        .into_iter()
        .map(
            |(decided, requested, asked_by, subject, role, action, resource, ip, reasons)| Denial {
                decided_at: from_micros(decided),
                requested_at: from_micros(requested),
                asked_by,
                subject,
                role,
                action,
                resource,
                ip,
                reasons: serde_json::from_str(&reasons).unwrap_or(serde_json::Value::Null),
            },
        )
        .collect();
    Ok(DenialSummary {
        total: kept + omitted,
        omitted,
        truncated: (items.len() as u64) < kept,
        items,
    })
}
