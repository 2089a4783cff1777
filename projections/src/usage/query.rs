//! Usage queries: a meter's usage over a time range at a granularity, a month's usage of every
//! meter, and quota status.

use super::meters::{
    bucket_start, kept_end, kept_granularity, meter, period_sql, Aggregation, METERS,
};
use super::project::stored_plan;
use crate::db::{from_micros, micros};
use crate::error::ProjectionError;
use chrono::{DateTime, Utc};
use keel_domain::billing::Catalogue;
use keel_domain::shared::Plan;
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One period's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsagePoint {
    /// The period's start.
    pub start: DateTime<Utc>,
    /// The aggregated value (count, sum, max, distinct count or latest).
    pub value: i64,
    /// Samples folded into it.
    pub events: i64,
}

/// A tenant's usage of `meter` in periods of `granularity` (`hour`, `day`, `month`) starting
/// in `[from, to)`, oldest first. Days are folded from their hours (see
/// [`KEPT_GRANULARITIES`](super::meters::KEPT_GRANULARITIES)).
pub async fn usage(
    db: &Database,
    tenant: TenantId,
    meter_name: &str,
    granularity: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<UsagePoint>, ProjectionError> {
    let aggregation = meter(meter_name).map_or(Aggregation::Sum, |m| m.aggregation);
    let kept = kept_granularity(granularity);
    let (tenant_id, first, end) = (
        tenant.to_string(),
        micros(bucket_start(granularity, from)),
        kept_end(granularity, to),
    );
    let rows: Vec<(i64, i64, i64, i64)> = crate::with_pool!(db, pool => {
        sqlx::query_as("SELECT bucket, value, events, latest_at FROM usage_totals WHERE tenant_id = $1 AND meter = $2 AND granularity = $3 AND bucket >= $4 AND bucket < $5 ORDER BY bucket")
            .bind(&tenant_id)
            .bind(meter_name)
            .bind(kept)
            .bind(first)
            .bind(end)
            .fetch_all(pool)
            .await?
    });
    // (point, the latest sample time folded into it)
    let mut points: Vec<(UsagePoint, i64)> = Vec::new();
    for (bucket, value, events, latest_at) in rows {
        let start = bucket_start(granularity, from_micros(bucket));
        match points.last_mut() {
            Some((point, latest)) if point.start == start => {
                point.events += events;
                point.value = match aggregation {
                    Aggregation::Count | Aggregation::Sum => point.value.saturating_add(value),
                    Aggregation::Max => point.value.max(value),
                    Aggregation::Latest if latest_at >= *latest => value,
                    // Distinct counts are counted again below; a gauge keeps its latest value.
                    Aggregation::Latest | Aggregation::UniqueCount(_) => point.value,
                };
                *latest = (*latest).max(latest_at);
            }
            _ => points.push((
                UsagePoint {
                    start,
                    value,
                    events,
                },
                latest_at,
            )),
        }
    }
    let mut points: Vec<UsagePoint> = points.into_iter().map(|(point, _)| point).collect();
    if matches!(aggregation, Aggregation::UniqueCount(_)) && kept != granularity {
        // Distinct values of the period, not the sum of its hours' distinct values.
        let sql = format!(
            "SELECT {period} AS period, COUNT(DISTINCT value) FROM usage_unique WHERE tenant_id = $1 AND meter = $2 AND granularity = $3 AND bucket >= $4 AND bucket < $5 GROUP BY {period}",
            period = period_sql(granularity)
        );
        let distinct: HashMap<i64, i64> = crate::with_pool!(db, pool => {
            sqlx::query_as::<_, (i64, i64)>(&sql).bind(&tenant_id).bind(meter_name).bind(kept).bind(first).bind(end).fetch_all(pool).await?
        })
        .into_iter()
        .collect();
        for point in &mut points {
            point.value = distinct.get(&micros(point.start)).copied().unwrap_or(0);
        }
    }
    Ok(points)
}

/// A meter's quota for a tenant in the billing month.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
