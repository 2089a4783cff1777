//! Usage queries: a meter's usage over a time range at a granularity, a month's usage of every
//! meter, and quota status.

use super::meters::{bucket_start, Aggregation, METERS};
use super::project::stored_plan;
use crate::db::{from_micros, micros};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_commands::store::Database;
use keel_domain::billing::Catalogue;
use keel_domain::tenant::Plan;
use keel_domain::TenantId;
use serde::Serialize;
use std::collections::BTreeMap;

/// One period's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsagePoint {
    /// The period's start.
    pub start: DateTime<Utc>,
    /// The aggregated value (count, sum, max, distinct count or latest).
    pub value: i64,
    /// Samples folded into it.
    pub events: i64,
}

/// A tenant's usage of `meter` in periods of `granularity` (`hour`, `day`, `month`) starting
/// in `[from, to)`, oldest first.
pub async fn usage(
    db: &Database,
    tenant: TenantId,
    meter: &str,
    granularity: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsagePoint>, ProjectionError> {
    let rows: Vec<(i64, i64, i64)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT bucket, value, events FROM usage_totals WHERE tenant_id = $1 AND meter = $2 AND granularity = $3 AND bucket >= $4 AND bucket < $5 ORDER BY bucket")
            .bind(tenant.to_string())
            .bind(meter)
            .bind(granularity)
            .bind(micros(bucket_start(granularity, from)))
            .bind(micros(to))
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .map(|(bucket, value, events)| UsagePoint {
            start: from_micros(bucket),
            value,
            events,
        })
        .collect())
}

/// A meter's quota for a tenant in the billing month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaStatus {
    /// The meter.
    pub meter: &'static str,
    /// The plan's quota, or the tenant's override; `None` when unlimited.
    pub limit: Option<u64>,
    /// Whether `limit` is an override.
    pub overridden: bool,
    /// Used in the month (for gauges such as seats: the latest value).
    pub used: u64,
    /// `limit - used`, never below 0.
    pub remaining: Option<u64>,
    /// `used / limit` in percent, rounded down.
    pub percent: Option<u64>,
}

/// `tenant`'s usage of every meter in the billing month starting at `month` (microseconds):
/// the month's total, or for gauges (seats, stored bytes) the latest value up to that month,
/// since a gauge carries over from month to month. Meters without usage are absent.
pub async fn month_usage(
    db: &Database,
    tenant: TenantId,
    month: DateTime<Utc>,
) -> Result<BTreeMap<&'static str, u64>, ProjectionError> {
    let tenant_id = tenant.to_string();
    let month = micros(bucket_start("month", month));
    let mut usage = BTreeMap::new();
    for declared in METERS {
        let gauge = declared.aggregation == Aggregation::Latest;
        let sql = if gauge {
            "SELECT value FROM usage_totals WHERE tenant_id = $1 AND meter = $2 AND granularity = 'month' AND bucket <= $3 ORDER BY bucket DESC LIMIT 1"
        } else {
            "SELECT value FROM usage_totals WHERE tenant_id = $1 AND meter = $2 AND granularity = 'month' AND bucket = $3"
        };
        let used: Option<i64> = crate::with_pool!(db, pool => {
            sqlx::query_scalar(sql).bind(&tenant_id).bind(declared.name).bind(month).fetch_optional(pool).await?
        });
        if let Some(used) = used {
            usage.insert(declared.name, used.max(0) as u64);
        }
    }
    Ok(usage)
}

/// Quota status of every meter for `tenant` in the billing month containing `at`, with the
/// plans' quotas from `catalogue`.
pub async fn quota_status(
    db: &Database,
    catalogue: &Catalogue,
    tenant: TenantId,
    at: DateTime<Utc>,
) -> Result<Vec<QuotaStatus>, ProjectionError> {
    let tenant_id = tenant.to_string();
    let plan: Option<String> = crate::with_pool!(db, pool => {
        sqlx::query_scalar("SELECT plan FROM usage_tenants WHERE tenant_id = $1").bind(&tenant_id).fetch_optional(pool).await?
    });
    let plan = plan.as_deref().map_or(Plan::Free, stored_plan);
    let overrides: Vec<(String, i64)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT meter, quota FROM usage_overrides WHERE tenant_id = $1").bind(&tenant_id).fetch_all(pool).await?
    });
    let usage = month_usage(db, tenant, at).await?;
    let mut statuses = Vec::new();
    for declared in METERS {
        let used = usage.get(declared.name).copied().unwrap_or(0);
        let override_quota = overrides
            .iter()
            .find(|(m, _)| m == declared.name)
            .map(|(_, q)| *q as u64);
        let limit = override_quota.or_else(|| catalogue.quota(plan, declared.name));
        statuses.push(QuotaStatus {
            meter: declared.name,
            limit,
            overridden: override_quota.is_some(),
            used,
            remaining: limit.map(|l| l.saturating_sub(used)),
            // A quota of 0 is used up from the start.
            percent: limit.map(|l| used.saturating_mul(100).checked_div(l).unwrap_or(100)),
        });
    }
    Ok(statuses)
}
