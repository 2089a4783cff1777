//! Usage trends per meter, for one tenant or the whole platform, from the usage read model.
//!
//! Every meter gets a point for every period of the range, 0 where nothing was used, so trends
//! line up in charts and CSV. Counts, sums, maxima and distinct counts are summed over tenants
//! per period (the platform's peak connections are the sum of the tenants' peaks, its active
//! users the sum of each tenant's distinct users). Gauges (`seats`, `storage_bytes`) carry a
//! tenant's latest value forward into periods without a sample, as quota status does, so a
//! month with no member change still counts the tenant's seats.

use super::range::{Granularity, ReportRange};
use crate::db::{fetch_all, from_micros, micros, Param};
use crate::error::ProjectionError;
use crate::usage::meters::{
    bucket_start, kept_end, kept_granularity, period_sql, sql_list, Aggregation, METERS,
};
use chrono::{DateTime, Utc};
use keel_domain::TenantId;
use keel_log::Database;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One period of a meter's trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrendPoint {
    /// The period's start.
    pub start: DateTime<Utc>,
    /// The usage (see the module documentation for how tenants combine).
    pub value: i64,
    /// Samples folded into it.
    pub events: i64,
}

/// A meter's usage over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeterTrend {
    /// The meter.
    pub meter: &'static str,
    /// One point per period, oldest first.
    pub points: Vec<TrendPoint>,
}

/// Every meter's trend over `range`, for `tenant` or (when `None`) every tenant.
pub async fn usage_trend(
    db: &Database,
    tenant: Option<TenantId>,
    range: &ReportRange,
    granularity: Granularity,
) -> Result<Vec<MeterTrend>, ProjectionError> {
    let periods = range.periods(granularity);
    let name = granularity.as_str();
    let (kept, period) = (kept_granularity(name), period_sql(name));
    let first = micros(periods[0]);
    let end = kept_end(name, range.to);
    let kept_param = Param::Text(kept.to_owned());
    let (params, tenant_condition) = scoped(
        tenant,
        vec![kept_param.clone(), Param::Int(first), Param::Int(end)],
    );
    let (baseline_params, baseline_condition) = scoped(tenant, vec![kept_param, Param::Int(first)]);
    let gauges = meter_list(|a| *a == Aggregation::Latest);
    let maxima = meter_list(|a| *a == Aggregation::Max);
    // Per tenant and period first (a tenant's peak in a day is the largest of its hours, not
    // their sum), then summed over tenants.
    let summed: Vec<(String, i64, i64, i64)> = fetch_all(
        db,
        &format!(
            "SELECT meter, period, CAST(SUM(value) AS BIGINT), CAST(SUM(events) AS BIGINT) FROM \
             (SELECT meter, {period} AS period, \
              CASE WHEN meter IN ({maxima}) THEN MAX(value) ELSE SUM(value) END AS value, \
              SUM(events) AS events FROM usage_totals \
              WHERE granularity = $1 AND bucket >= $2 AND bucket < $3 \
              AND meter NOT IN ({gauges}) {tenant_condition} \
              GROUP BY tenant_id, meter, {period}) per_tenant GROUP BY meter, period"
        ),
        &params,
    )
    .await?;
    // A period read from finer buckets counts its distinct values again: the sum of its
    // hours' distinct users would count a user once per hour.
    let distinct: Vec<(String, i64, i64)> = if kept == name {
        Vec::new()
    } else {
        fetch_all(
            db,
            &format!(
                "SELECT meter, period, CAST(SUM(n) AS BIGINT) FROM \
                 (SELECT meter, {period} AS period, COUNT(DISTINCT value) AS n FROM usage_unique \
                  WHERE granularity = $1 AND bucket >= $2 AND bucket < $3 {tenant_condition} \
                  GROUP BY tenant_id, meter, {period}) per_tenant GROUP BY meter, period"
            ),
            &params,
        )
        .await?
    };
    let gauge_rows: Vec<(String, String, i64, i64, i64)> = fetch_all(
        db,
        &format!(
            "SELECT tenant_id, meter, bucket, value, events FROM usage_totals \
             WHERE granularity = $1 AND bucket >= $2 AND bucket < $3 AND meter IN ({gauges}) \
             {tenant_condition} ORDER BY tenant_id, meter, bucket"
        ),
        &params,
    )
    .await?;
    // Each tenant's gauge values before the range: the latest bucket before its start.
    let baselines: Vec<(String, String, i64)> = fetch_all(
        db,
        &format!(
            "SELECT u.tenant_id, u.meter, u.value FROM usage_totals u JOIN \
             (SELECT tenant_id, meter, MAX(bucket) AS bucket FROM usage_totals \
              WHERE granularity = $1 AND bucket < $2 AND meter IN ({gauges}) {baseline_condition} \
              GROUP BY tenant_id, meter) latest \
             ON u.tenant_id = latest.tenant_id AND u.meter = latest.meter AND u.bucket = latest.bucket \
             WHERE u.granularity = $1"
        ),
        &baseline_params,
    )
    .await?;

    let index: HashMap<i64, usize> = periods
        .iter()
        .enumerate()
        .map(|(i, p)| (micros(*p), i))
        .collect();
    let mut totals: BTreeMap<&str, Vec<(i64, i64)>> = METERS
        .iter()
        .map(|m| (m.name, vec![(0, 0); periods.len()]))
        .collect();
    for (meter, period, value, events) in summed {
        if let (Some(series), Some(&i)) = (totals.get_mut(meter.as_str()), index.get(&period)) {
            series[i] = (value, events);
        }
    }
    for (meter, period, value) in distinct {
        if let (Some(series), Some(&i)) = (totals.get_mut(meter.as_str()), index.get(&period)) {
            series[i].0 = value;
        }
    }
    // Gauges: per tenant and meter, the value in force in each period, summed over tenants.
    let mut gauge_series: BTreeMap<(String, String), GaugeSeries> = BTreeMap::new();
    for (tenant, meter, value) in baselines {
        gauge_series.insert((tenant, meter), (value, vec![None; periods.len()]));
    }
    for (tenant, meter, bucket, value, events) in gauge_rows {
        let entry = gauge_series
            .entry((tenant, meter))
            .or_insert_with(|| (0, vec![None; periods.len()]));
        // Buckets in order, so a period's last bucket gives its value; samples add up.
        let start = micros(bucket_start(name, from_micros(bucket)));
        if let Some(&i) = index.get(&start) {
            let earlier = entry.1[i].map_or(0, |(_, events)| events);
            entry.1[i] = Some((value, earlier + events));
        }
    }
    for ((_, meter), (baseline, samples)) in gauge_series {
        let Some(series) = totals.get_mut(meter.as_str()) else {
            continue;
        };
        let mut current = baseline;
        for (i, sample) in samples.into_iter().enumerate() {
            if let Some((value, events)) = sample {
                current = value;
                series[i].1 += events;
            }
            series[i].0 += current;
        }
    }
    Ok(METERS
        .iter()
        .map(|m| MeterTrend {
            meter: m.name,
            points: periods
                .iter()
                .zip(&totals[m.name])
                .map(|(start, (value, events))| TrendPoint {
                    start: *start,
                    value: *value,
                    events: *events,
                })
                .collect(),
        })
        .collect())
}

/// A tenant's gauge: its value before the range, and its (value, samples) in each period
/// that has a sample.
type GaugeSeries = (i64, Vec<Option<(i64, i64)>>);

/// The quoted names of the meters whose aggregation `is`, for `IN (...)`.
fn meter_list(is: impl Fn(&Aggregation) -> bool) -> String {
    sql_list(METERS.iter().filter(|m| is(&m.aggregation)).map(|m| m.name))
}

/// `params` with the tenant appended when there is one, and the condition naming it.
fn scoped(tenant: Option<TenantId>, mut params: Vec<Param>) -> (Vec<Param>, String) {
    match tenant {
        Some(tenant) => {
            params.push(Param::Text(tenant.to_string()));
            let condition = format!("AND tenant_id = ${}", params.len());
            (params, condition)
        }
        None => (params, String::new()),
    }
}
